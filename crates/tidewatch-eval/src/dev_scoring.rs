//! Scores alerts against the stories-dev set by its README's rule.
//!
//! Guarantees: only the first `firing` of each story id is an alert (earliest `fired_at`). An
//! alert with post ids matches a story when it shares one with the story and
//! `start − 10 min ≤ fired_at ≤ end` (watch not checked); one without post ids (a peer rule's)
//! when its watch is one of the story's and `start − 10 min ≤ fired_at ≤ start + 6 h`. A story
//! is detected by its earliest matching alert; in time when the delay is at most 3 h and the
//! alert's purity (share of its post ids that are the story's) is at least 0.1. Lead fraction =
//! story posts out at the alert ÷ `vol_3h`, capped at 1; the summary is the median over stories
//! detected in time (lead-time-valid ones). Noise = alerts that match no story and no context
//! story, per day of data (files' spans summed), and the same from 13 h after each file's first
//! post. Pure.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use tidewatch_model::{AlertEvent, AlertState};

use crate::dev::{DevSet, DevStory};
use crate::scoring::{format_delay, format_fraction, format_time};

/// How early before a story's start an alert may be and still be about it.
const EARLY_MINUTES: i64 = 10;
/// How long after its start a story must be detected.
const IN_TIME_HOURS: i64 = 3;
/// Below this purity a detection is incidental.
const MIN_PURITY: f64 = 0.1;
/// Cold start excluded from the second noise figure.
const COLD_START_HOURS: i64 = 13;

/// An alert reduced to what the rule needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DevAlert {
    pub watch: String,
    pub at: DateTime<Utc>,
    /// Empty for a peer rule's alert (it names no posts).
    pub post_ids: Vec<String>,
}

impl DevAlert {
    /// The first firing of each story id (earliest `fired_at`), in time order.
    pub fn from_events(events: &[AlertEvent]) -> Vec<DevAlert> {
        let mut first: BTreeMap<&str, &AlertEvent> = BTreeMap::new();
        for event in events
            .iter()
            .filter(|event| event.state == AlertState::Firing)
        {
            let entry = first.entry(event.story_id.as_str()).or_insert(event);
            if event.fired_at < entry.fired_at {
                *entry = event;
            }
        }
        let mut alerts: Vec<DevAlert> = first
            .values()
            .map(|event| {
                let mut ids = vec![event.first_post_id.clone()];
                for id in &event.post_ids {
                    if !ids.contains(id) {
                        ids.push(id.clone());
                    }
                }
                DevAlert {
                    watch: event.watch.clone(),
                    at: event.fired_at,
                    post_ids: ids,
                }
            })
            .collect();
        alerts.sort_by_key(|alert| alert.at);
        alerts
    }

    fn matches(&self, story: &DevStory) -> bool {
        if self.at < story.start - Duration::minutes(EARLY_MINUTES) {
            return false;
        }
        if self.post_ids.is_empty() {
            return story.watches.contains(&self.watch)
                && self.at <= story.start + Duration::hours(6);
        }
        self.at <= story.end && self.post_ids.iter().any(|id| story.source_ids.contains(id))
    }

    fn purity(&self, story: &DevStory) -> Option<f64> {
        if self.post_ids.is_empty() {
            return None;
        }
        let distinct: HashSet<&String> = self.post_ids.iter().collect();
        let of_story = distinct
            .iter()
            .filter(|id| story.source_ids.contains(**id))
            .count();
        Some(of_story as f64 / distinct.len() as f64)
    }
}

/// One story's result.
#[derive(Debug, Clone, PartialEq)]
pub struct DevStoryResult {
    pub id: String,
    pub lead_time_valid: bool,
    pub first_alert: Option<DateTime<Utc>>,
    pub delay: Option<Duration>,
    pub lead_fraction: Option<f64>,
    pub purity: Option<f64>,
}

impl DevStoryResult {
    pub fn detected_in_time(&self) -> bool {
        self.delay
            .is_some_and(|delay| delay <= Duration::hours(IN_TIME_HOURS))
            && self.purity.is_none_or(|purity| purity >= MIN_PURITY)
    }
}

/// A rule's scores on the set.
#[derive(Debug, Clone, PartialEq)]
pub struct DevReport {
    pub rule: String,
    pub stories: Vec<DevStoryResult>,
    pub alerts: usize,
    pub noise: usize,
    pub noise_after_cold_start: usize,
    pub days: f64,
    pub days_after_cold_start: f64,
}

/// Scores `alerts` against the set.
pub fn score_dev(rule: &str, alerts: &[DevAlert], set: &DevSet) -> DevReport {
    let stories = set
        .stories
        .iter()
        .map(|story| {
            let first = alerts
                .iter()
                .filter(|alert| alert.matches(story))
                .min_by_key(|alert| alert.at);
            let lead = first
                .filter(|_| story.vol_3h > 0)
                .map(|alert| (story.posts_by(alert.at) as f64 / story.vol_3h as f64).min(1.0));
            DevStoryResult {
                id: story.id.clone(),
                lead_time_valid: story.lead_time_valid,
                first_alert: first.map(|alert| alert.at),
                delay: first.map(|alert| alert.at - story.start),
                lead_fraction: lead,
                purity: first.and_then(|alert| alert.purity(story)),
            }
        })
        .collect();
    let file_of = set.file_of_watch();
    let first_post = |watch: &str| {
        let file = file_of.get(watch)?;
        set.files
            .iter()
            .find(|entry| &entry.name == file)
            .map(|entry| entry.first_post)
    };
    let mut noise = 0;
    let mut noise_after = 0;
    for alert in alerts {
        let labelled = set
            .stories
            .iter()
            .chain(&set.context)
            .any(|story| alert.matches(story));
        if labelled {
            continue;
        }
        noise += 1;
        let warm = first_post(&alert.watch)
            .is_none_or(|first| alert.at >= first + Duration::hours(COLD_START_HOURS));
        noise_after += usize::from(warm);
    }
    let days: f64 = set.files.iter().map(|file| file.days()).sum();
    let cold = set.files.len() as f64 * COLD_START_HOURS as f64 / 24.0;
    DevReport {
        rule: rule.to_string(),
        stories,
        alerts: alerts.len(),
        noise,
        noise_after_cold_start: noise_after,
        days,
        days_after_cold_start: (days - cold).max(1.0 / 24.0),
    }
}

impl DevReport {
    pub fn found_in_time(&self) -> usize {
        self.stories
            .iter()
            .filter(|story| story.detected_in_time())
            .count()
    }

    /// Median lead fraction over the lead-time-valid stories detected in time.
    pub fn median_lead_fraction(&self) -> Option<f64> {
        let mut leads: Vec<f64> = self
            .stories
            .iter()
            .filter(|story| story.lead_time_valid && story.detected_in_time())
            .filter_map(|story| story.lead_fraction)
            .collect();
        if leads.is_empty() {
            return None;
        }
        leads.sort_by(f64::total_cmp);
        let middle = leads.len() / 2;
        Some(if leads.len() % 2 == 1 {
            leads[middle]
        } else {
            (leads[middle - 1] + leads[middle]) / 2.0
        })
    }

    pub fn noise_per_day(&self) -> f64 {
        self.noise as f64 / self.days
    }

    pub fn noise_per_day_after_cold_start(&self) -> f64 {
        self.noise_after_cold_start as f64 / self.days_after_cold_start
    }

    /// One summary line: found in time, median lead, unlabelled alerts per day.
    pub fn summary(&self) -> String {
        let median = self
            .median_lead_fraction()
            .map_or_else(|| "-".to_string(), |median| format!("{median:.2}"));
        format!(
            "{:<58} found ≤3h {:>2}/{:<2} median lead {:>4}  unlabelled {:>5.2}/day ({:.2}/day after 13 h)  alerts {}",
            self.rule,
            self.found_in_time(),
            self.stories.len(),
            median,
            self.noise_per_day(),
            self.noise_per_day_after_cold_start(),
            self.alerts
        )
    }

    /// The report as a plain-text table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "== {} ==", self.rule);
        let _ = writeln!(
            out,
            "{:<5} {:<8} {:<20} {:>8} {:>6} {:>6}",
            "story", "in time", "first alert (UTC)", "delay", "lead", "purity"
        );
        for story in &self.stories {
            let (first, delay) = (format_time(story.first_alert), format_delay(story.delay));
            let number = format_fraction;
            let _ = writeln!(
                out,
                "{:<5} {:<8} {:<20} {:>8} {:>6} {:>6}",
                story.id,
                if story.detected_in_time() {
                    "yes"
                } else {
                    "no"
                },
                first,
                delay,
                number(story.lead_fraction),
                number(story.purity),
            );
        }
        let _ = writeln!(
            out,
            "unlabelled: {} alerts / {:.2} days = {:.2}/day; after 13 h: {} / {:.2} days = {:.2}/day ({} alerts in all)",
            self.noise,
            self.days,
            self.noise_per_day(),
            self.noise_after_cold_start,
            self.days_after_cold_start,
            self.noise_per_day_after_cold_start(),
            self.alerts
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::DevFile;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn set() -> DevSet {
        let times: Vec<DateTime<Utc>> = (0..10)
            .map(|index| at("2015-01-08T12:00:00Z") + Duration::minutes(10 * index))
            .collect();
        let story = DevStory {
            id: "S1".to_string(),
            title: "t".to_string(),
            file: "f.jsonl".to_string(),
            watches: vec!["w".to_string()],
            start: times[0],
            end: at("2015-01-09T12:00:00Z"),
            source_ids: (0..10).map(|index| format!("s{index}")).collect(),
            vol_3h: 10,
            lead_time_valid: true,
            times,
        };
        let context = DevStory {
            id: "C0".to_string(),
            source_ids: ["c1".to_string()].into(),
            start: at("2015-01-07T00:00:00Z"),
            end: at("2015-01-07T06:00:00Z"),
            ..story.clone()
        };
        DevSet {
            files: vec![DevFile {
                name: "f.jsonl".to_string(),
                first_post: at("2015-01-07T00:00:00Z"),
                last_post: at("2015-01-09T00:00:00Z"),
                watches: Vec::new(),
            }],
            stories: vec![story],
            context: vec![context],
        }
    }

    fn alert(when: &str, ids: &[&str]) -> DevAlert {
        DevAlert {
            watch: "w".to_string(),
            at: at(when),
            post_ids: ids.iter().map(|id| id.to_string()).collect(),
        }
    }

    #[test]
    fn scores_by_the_readme_rule() {
        let mut set = set();
        set.files[0].watches.push(tidewatch_score::WatchConfig {
            name: "w".to_string(),
            any: vec!["x".to_string()],
            all: Vec::new(),
            none: Vec::new(),
            languages: Vec::new(),
        });
        let alerts = vec![
            // Too early to be about S1: noise, but in the cold start.
            alert("2015-01-07T05:00:00Z", &["s1"]),
            // The context story: not noise.
            alert("2015-01-07T01:00:00Z", &["c1"]),
            // Noise after the cold start.
            alert("2015-01-08T06:00:00Z", &["x"]),
            // S1 at 12:25 (3 posts out), one of four posts its own: purity 0.25.
            alert("2015-01-08T12:25:00Z", &["s0", "x1", "x2", "x3"]),
        ];
        let report = score_dev("rule", &alerts, &set);
        let story = &report.stories[0];
        assert_eq!(story.delay, Some(Duration::minutes(25)));
        assert_eq!(story.lead_fraction, Some(0.3));
        assert_eq!(story.purity, Some(0.25));
        assert!(story.detected_in_time());
        assert_eq!((report.noise, report.noise_after_cold_start), (2, 1));
        assert_eq!(report.days, 2.0);
        assert_eq!(report.median_lead_fraction(), Some(0.3));
        // A window alert (no posts) matches by watch within 6 hours of the start.
        let window = score_dev("w", &[alert("2015-01-08T11:55:00Z", &[])], &set);
        assert!(window.stories[0].detected_in_time());
        assert_eq!(window.stories[0].lead_fraction, Some(0.0));
        // Purity under 0.1 is incidental.
        let many: Vec<String> = (0..20).map(|index| format!("x{index}")).collect();
        let mut ids: Vec<&str> = many.iter().map(String::as_str).collect();
        ids.push("s0");
        let incidental = score_dev("i", &[alert("2015-01-08T12:25:00Z", &ids)], &set);
        assert!(!incidental.stories[0].detected_in_time());
    }

    #[test]
    fn only_the_first_firing_of_a_story_counts() {
        let event = |story: &str, when: &str, state: AlertState| AlertEvent {
            v: 1,
            story_id: story.to_string(),
            watch: "w".to_string(),
            state,
            severity: tidewatch_model::Severity::Warning,
            fired_at: at(when),
            first_post_at: at(when),
            title: String::new(),
            terms: Vec::new(),
            posts: 1,
            negative_share: 0.0,
            score: 0.0,
            baseline: 0.0,
            threshold: 0.0,
            post_ids: vec!["a".to_string()],
            first_post_id: "a".to_string(),
        };
        let events = vec![
            event("x", "2015-01-08T12:00:00Z", AlertState::Firing),
            event("x", "2015-01-08T13:00:00Z", AlertState::Updated),
            event("x", "2015-01-08T11:00:00Z", AlertState::Firing),
            event("y", "2015-01-08T14:00:00Z", AlertState::Resolved),
        ];
        let alerts = DevAlert::from_events(&events);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].at, at("2015-01-08T11:00:00Z"));
        assert_eq!(alerts[0].post_ids, vec!["a"]);
    }
}
