//! The health of every running source, shared between the collectors (which record) and the
//! binary (which reads it for the store, the API and alerting): [`HealthReporter`].
//!
//! Guarantees:
//! * Cheap to clone (one shared map); recording never blocks on IO and never panics, even if a
//!   holder of the lock panicked.
//! * No clock is read here: every call takes the time (`Instant` for the status, wall time for
//!   what is shown), so tests with a paused clock see exact results.
//! * [`SourceStatus::health`] follows [`HealthState::status`]; `posts_last_hour` counts the posts
//!   delivered in the 60 whole minutes up to `now` ([`MinuteCounts`], bounded memory); `note`
//!   carries a lasting condition a status alone cannot say (the Jetstream checkpoint was past
//!   the lookback window and the source restarted from now).
//! * A source whose request budget is paused by the server (`Retry-After`, Reddit's
//!   `X-Ratelimit-Reset`) is `rate_limited` until the pause ends, whatever its last cycle did,
//!   and `resumes_at` says when ([`HealthReporter::attach_budget`]).
//! * Every status carries `reported_at`, the wall time it was computed for, so a reader of a
//!   stored row can tell a fresh report from the last words of a stopped process.
//! * [`HealthReporter::verdict`] is what `/healthz` asks: the sources that are failing (their last
//!   [`FAILING_AFTER`] attempts or more all failed), named, with their last error.

use crate::health::{Health, HealthState};
use crate::limits::RateBudget;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Posts per wall-clock minute over the last hour: 60 buckets, each tagged with its minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCounts {
    buckets: [(i64, u64); 60],
}

impl Default for MinuteCounts {
    fn default() -> Self {
        // Minute i64::MIN is never "within the last hour" of a real time.
        MinuteCounts {
            buckets: [(i64::MIN, 0); 60],
        }
    }
}

impl MinuteCounts {
    /// Adds `count` posts in the minute of `at`.
    pub fn add(&mut self, at: DateTime<Utc>, count: u64) {
        let minute = at.timestamp().div_euclid(60);
        let slot = &mut self.buckets[minute.rem_euclid(60) as usize];
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        slot.1 = slot.1.saturating_add(count);
    }

    /// Posts in the 60 minutes ending with the minute of `now`.
    pub fn last_hour(&self, now: DateTime<Utc>) -> u64 {
        let minute = now.timestamp().div_euclid(60);
        self.buckets
            .iter()
            .filter(|(at, _)| *at > minute - 60 && *at <= minute)
            .map(|(_, count)| count)
            .sum()
    }
}

/// What the binary shows for one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: String,
    pub health: Health,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub posts_last_hour: u64,
    pub note: Option<String>,
    /// When a rate-limit pause ends (only while `health` is `rate_limited` by a pause).
    pub resumes_at: Option<DateTime<Utc>>,
    /// The wall time this status was computed for.
    pub reported_at: DateTime<Utc>,
}

/// Consecutive failures after which a source counts as failing for `/healthz` (one failed
/// cycle is a hiccup that the next one usually clears).
pub const FAILING_AFTER: u32 = 3;

/// What `/healthz` needs to know about the collectors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectorsVerdict {
    /// No source is failing.
    pub healthy: bool,
    /// How many sources are registered.
    pub sources: usize,
    /// The failing sources, by name.
    pub failing: Vec<FailingSource>,
}

/// One failing source, for the `/healthz` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingSource {
    pub name: String,
    pub kind: String,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: String,
    silent_after: Duration,
    state: HealthState,
    last_success: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_error_at: Option<DateTime<Utc>>,
    posts: MinuteCounts,
    note: Option<String>,
    budget: Option<RateBudget>,
}

/// Shared, cloneable record of every source's health.
#[derive(Debug, Clone, Default)]
pub struct HealthReporter {
    entries: Arc<Mutex<BTreeMap<String, Entry>>>,
    /// Post counts restored before their source registered (see [`HealthReporter::restore_posts`]).
    restored: Arc<Mutex<BTreeMap<String, MinuteCounts>>>,
}

impl HealthReporter {
    pub fn new() -> Self {
        HealthReporter::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Carries a count over a restart: `posts` delivered in the hour before `at` (the last
    /// health row a previous process wrote), counted in the minute of `at` so that they leave
    /// the hour together. Works before or after `name` registers.
    pub fn restore_posts(&self, name: &str, posts: u64, at: DateTime<Utc>) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.posts.add(at, posts);
            return;
        }
        let mut restored = self.restored.lock().unwrap_or_else(PoisonError::into_inner);
        restored.entry(name.to_string()).or_default().add(at, posts);
    }

    /// Starts tracking `name` (again: a re-registration starts a fresh history).
    pub fn register(&self, name: &str, kind: &str, silent_after: Duration, now: Instant) {
        let posts = self
            .restored
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name)
            .unwrap_or_default();
        let entry = Entry {
            kind: kind.to_string(),
            silent_after,
            state: HealthState::new(now),
            last_success: None,
            last_error: None,
            last_error_at: None,
            posts,
            note: None,
            budget: None,
        };
        self.lock().insert(name.to_string(), entry);
    }

    /// A cycle (or a streamed batch) that worked and delivered `posts` new posts.
    pub fn record_success(&self, name: &str, posts: usize, now: Instant, wall: DateTime<Utc>) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.state.record_success(now, posts);
            entry.last_success = Some(wall);
            entry.posts.add(wall, posts as u64);
        }
    }

    /// A failure; `rate_limited` when the source said so (429 after the retries).
    pub fn record_failure(
        &self,
        name: &str,
        error: &str,
        rate_limited: bool,
        now: Instant,
        wall: DateTime<Utc>,
    ) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.state.record_failure(now, rate_limited);
            entry.last_error = Some(error.to_string());
            entry.last_error_at = Some(wall);
        }
    }

    /// Shows the pauses of `budget` (the request budget `name` spends) in `name`'s health.
    pub fn attach_budget(&self, name: &str, budget: RateBudget) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.budget = Some(budget);
        }
    }

    /// Sets or clears the lasting note of `name`.
    pub fn set_note(&self, name: &str, note: Option<String>) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.note = note;
        }
    }

    /// Clears the note of `name` if it starts with `prefix` (a condition that has passed).
    pub fn clear_note_prefixed(&self, name: &str, prefix: &str) {
        if let Some(entry) = self.lock().get_mut(name) {
            if entry
                .note
                .as_deref()
                .is_some_and(|note| note.starts_with(prefix))
            {
                entry.note = None;
            }
        }
    }

    /// Every source, by name.
    pub fn snapshot(&self, now: Instant, wall: DateTime<Utc>) -> Vec<SourceStatus> {
        self.lock()
            .iter()
            .map(|(name, entry)| {
                let paused = entry
                    .budget
                    .as_ref()
                    .and_then(|budget| budget.paused_until(now));
                let resumes_at = paused.and_then(|until| {
                    let wait = until.saturating_duration_since(now);
                    wall.checked_add_signed(chrono::Duration::from_std(wait).ok()?)
                });
                let health = match paused {
                    Some(_) => Health::RateLimited,
                    None => entry.state.status(now, entry.silent_after),
                };
                SourceStatus {
                    name: name.clone(),
                    kind: entry.kind.clone(),
                    health,
                    last_success: entry.last_success,
                    last_error: entry.last_error.clone(),
                    last_error_at: entry.last_error_at,
                    consecutive_failures: entry.state.consecutive_failures,
                    posts_last_hour: entry.posts.last_hour(wall),
                    note: entry.note.clone(),
                    resumes_at,
                    reported_at: wall,
                }
            })
            .collect()
    }

    /// The sources `/healthz` should name: failing, with [`FAILING_AFTER`] or more failures in a
    /// row. Rate-limited and silent sources are not failing (they are waiting, as told).
    pub fn verdict(&self, now: Instant, wall: DateTime<Utc>) -> CollectorsVerdict {
        let statuses = self.snapshot(now, wall);
        let failing: Vec<FailingSource> = statuses
            .iter()
            .filter(|status| {
                status.health == Health::Failing && status.consecutive_failures >= FAILING_AFTER
            })
            .map(|status| FailingSource {
                name: status.name.clone(),
                kind: status.kind.clone(),
                consecutive_failures: status.consecutive_failures,
                last_error: status.last_error.clone(),
                last_error_at: status.last_error_at,
            })
            .collect();
        CollectorsVerdict {
            healthy: failing.is_empty(),
            sources: statuses.len(),
            failing,
        }
    }

    /// One source, if registered.
    pub fn status(&self, name: &str, now: Instant, wall: DateTime<Utc>) -> Option<SourceStatus> {
        self.snapshot(now, wall)
            .into_iter()
            .find(|status| status.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn records_and_reports() {
        let start = Instant::now();
        let wall = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let reporter = HealthReporter::new();
        reporter.register("hn", "hackernews", Duration::from_secs(3600), start);
        reporter.record_success("hn", 3, start, wall);
        reporter.record_failure("hn", "HTTP 429", true, start + Duration::from_secs(5), wall);
        reporter.record_success("unknown", 1, start, wall);
        let status = reporter
            .status("hn", start + Duration::from_secs(6), wall)
            .unwrap();
        assert_eq!(status.health, Health::RateLimited);
        assert_eq!(status.posts_last_hour, 3);
        assert_eq!(status.last_error.as_deref(), Some("HTTP 429"));
        assert_eq!(status.last_success, Some(wall));
        reporter.set_note("hn", Some("restarted from now".into()));
        let later = wall + chrono::Duration::minutes(61);
        let status = reporter.status("hn", start, later).unwrap();
        assert_eq!(status.posts_last_hour, 0);
        assert_eq!(status.note.as_deref(), Some("restarted from now"));
        assert_eq!(reporter.snapshot(start, wall).len(), 1);
        assert_eq!(status.reported_at, later);
    }

    #[test]
    fn counts_survive_a_restart_and_the_verdict_names_failing_sources() {
        let start = Instant::now();
        let wall = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let reporter = HealthReporter::new();
        // The last row of the previous process, written 10 minutes ago, said 42.
        reporter.restore_posts("hn", 42, wall - chrono::Duration::minutes(10));
        reporter.register("hn", "hackernews", Duration::from_secs(3600), start);
        reporter.register("rss", "rss", Duration::from_secs(3600), start);
        reporter.restore_posts("rss", 5, wall);
        reporter.record_success("hn", 1, start, wall);
        let hn = reporter.status("hn", start, wall).unwrap();
        assert_eq!(hn.posts_last_hour, 43);
        let later = wall + chrono::Duration::minutes(55);
        assert_eq!(
            reporter.status("hn", start, later).unwrap().posts_last_hour,
            1
        );
        assert_eq!(
            reporter.status("rss", start, wall).unwrap().posts_last_hour,
            5
        );

        for attempt in 0..FAILING_AFTER {
            let verdict = reporter.verdict(start, wall);
            assert!(verdict.healthy, "{attempt} failures: {verdict:?}");
            let at = start + Duration::from_secs(u64::from(attempt) + 1);
            reporter.record_failure("rss", "HTTP 503", false, at, wall);
        }
        let verdict = reporter.verdict(start + Duration::from_secs(10), wall);
        assert!(!verdict.healthy);
        assert_eq!(verdict.sources, 2);
        assert_eq!(verdict.failing.len(), 1);
        assert_eq!(verdict.failing[0].name, "rss");
        assert_eq!(verdict.failing[0].last_error.as_deref(), Some("HTTP 503"));
        let budget = RateBudget::new(60);
        reporter.attach_budget("hn", budget.clone());
        budget.pause_until(start + Duration::from_secs(90));
        let paused = reporter
            .status("hn", start + Duration::from_secs(30), wall)
            .unwrap();
        assert_eq!(paused.health, Health::RateLimited);
        assert_eq!(
            paused.resumes_at,
            Some(wall + chrono::Duration::seconds(60))
        );
    }

    proptest! {
        /// The hourly count equals a direct count of the events in the window.
        #[test]
        fn last_hour_matches_a_direct_count(
            events in proptest::collection::vec((0i64..10_000, 0u64..5), 0..200),
            after_latest in 0i64..7_200,
        ) {
            let base = 1_800_000_000i64;
            let mut sorted = events.clone();
            sorted.sort();
            let mut counts = MinuteCounts::default();
            for (second, count) in &sorted {
                counts.add(Utc.timestamp_opt(base + second, 0).unwrap(), *count);
            }
            // Time moves forward: "now" is at or after the latest event.
            let now = sorted.last().map_or(0, |(second, _)| *second) + after_latest;
            let now_minute = (base + now).div_euclid(60);
            let expected: u64 = sorted
                .iter()
                .filter(|(second, _)| {
                    let minute = (base + second).div_euclid(60);
                    minute > now_minute - 60 && minute <= now_minute
                })
                .map(|(_, count)| count)
                .sum();
            prop_assert_eq!(counts.last_hour(Utc.timestamp_opt(base + now, 0).unwrap()), expected);
        }
    }
}
