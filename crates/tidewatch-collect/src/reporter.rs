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

use crate::health::{Health, HealthState};
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
}

/// Shared, cloneable record of every source's health.
#[derive(Debug, Clone, Default)]
pub struct HealthReporter {
    entries: Arc<Mutex<BTreeMap<String, Entry>>>,
}

impl HealthReporter {
    pub fn new() -> Self {
        HealthReporter::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts tracking `name` (again: a re-registration starts a fresh history).
    pub fn register(&self, name: &str, kind: &str, silent_after: Duration, now: Instant) {
        let entry = Entry {
            kind: kind.to_string(),
            silent_after,
            state: HealthState::new(now),
            last_success: None,
            last_error: None,
            last_error_at: None,
            posts: MinuteCounts::default(),
            note: None,
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

    /// Sets or clears the lasting note of `name`.
    pub fn set_note(&self, name: &str, note: Option<String>) {
        if let Some(entry) = self.lock().get_mut(name) {
            entry.note = note;
        }
    }

    /// Every source, by name.
    pub fn snapshot(&self, now: Instant, wall: DateTime<Utc>) -> Vec<SourceStatus> {
        self.lock()
            .iter()
            .map(|(name, entry)| SourceStatus {
                name: name.clone(),
                kind: entry.kind.clone(),
                health: entry.state.status(now, entry.silent_after),
                last_success: entry.last_success,
                last_error: entry.last_error.clone(),
                last_error_at: entry.last_error_at,
                consecutive_failures: entry.state.consecutive_failures,
                posts_last_hour: entry.posts.last_hour(wall),
                note: entry.note.clone(),
            })
            .collect()
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
