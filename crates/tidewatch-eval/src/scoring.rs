//! Scores a rule's alerts against the labelled stories: per story detected or not, first alert,
//! delay from the story's start, lead fraction; and the alerts that match no story, per watch
//! per day.
//!
//! Guarantees: only first alerts count (the detector's `firing` events; `updated` and
//! `resolved` are lifecycle). A detector alert is about a story when at least half of the
//! distinct posts it pages with (its first post and evidence at firing time) are the story's
//! tweets; a baseline
//! rule's alert (it has no posts) when the story has a tweet in the window the rule counted and
//! the alert is on one of the story's watches (more lenient than the detector's rule, so the
//! comparison never favours tidewatch). An alert before the story's start or after its
//! end is not about it. Lead fraction = the story's tweets posted up to the alert ÷ its tweets
//! in the first 3 hours. The result is a pure function of its inputs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use tidewatch_model::{AlertEvent, AlertState};

use crate::baselines::RuleAlert;
use crate::stories::Story;

/// How long after its start a story must be detected, and over which span its lead fraction is
/// measured.
pub const LEAD_WINDOW_HOURS: i64 = 3;

/// An alert reduced to what scoring needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredAlert {
    pub watch: String,
    pub at: DateTime<Utc>,
    pub about: About,
}

/// What an alert says it is about.
#[derive(Debug, Clone, PartialEq)]
pub enum About {
    /// Post ids (the detector's evidence).
    Posts(Vec<String>),
    /// The posts the rule counted, since this time (baseline rules).
    Window(DateTime<Utc>),
}

impl ScoredAlert {
    /// The first alerts of the detector's events (its `firing` events).
    pub fn from_events(events: &[AlertEvent]) -> Vec<ScoredAlert> {
        let firing = events
            .iter()
            .filter(|event| event.state == AlertState::Firing);
        firing
            .map(|event| {
                let mut posts = vec![event.first_post_id.clone()];
                posts.extend(event.post_ids.iter().cloned());
                ScoredAlert {
                    watch: event.watch.clone(),
                    at: event.fired_at,
                    about: About::Posts(posts),
                }
            })
            .collect()
    }

    pub fn from_rule(alerts: &[RuleAlert]) -> Vec<ScoredAlert> {
        alerts
            .iter()
            .map(|alert| ScoredAlert {
                watch: alert.watch.clone(),
                at: alert.at,
                about: About::Window(alert.window_start),
            })
            .collect()
    }

    fn is_about(&self, story: &Story) -> bool {
        if self.at < story.start || self.at > story.end || !story.watches.contains(&self.watch) {
            return false;
        }
        match &self.about {
            About::Posts(ids) => is_mostly_story(ids, story),
            About::Window(since) => story.tweets_between(*since, self.at) > 0,
        }
    }
}

/// At least half of the distinct posts an alert pages with are the story's tweets. Why not
/// "any": a noise alert about a common word ("flight") whose evidence happens to include one
/// story tweet would otherwise count as detecting the story.
fn is_mostly_story(ids: &[String], story: &Story) -> bool {
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    let of_story = distinct
        .iter()
        .filter(|id| story.tweet_ids.contains(id.as_str()))
        .count();
    of_story > 0 && 2 * of_story >= distinct.len()
}

/// One story's result.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryResult {
    pub id: String,
    pub lead_time_valid: bool,
    /// The first alert about the story, if any.
    pub first_alert: Option<DateTime<Utc>>,
    pub delay: Option<Duration>,
    pub lead_fraction: Option<f64>,
}

impl StoryResult {
    /// Detected within [`LEAD_WINDOW_HOURS`] of its start.
    pub fn detected_in_time(&self) -> bool {
        self.delay
            .is_some_and(|delay| delay <= Duration::hours(LEAD_WINDOW_HOURS))
    }
}

/// Alerts that match no story on one watch.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchNoise {
    pub watch: String,
    pub alerts: usize,
    /// Days between the watch's first and last post (at least 1).
    pub days: f64,
}

impl WatchNoise {
    pub fn per_day(&self) -> f64 {
        self.alerts as f64 / self.days
    }
}

/// A rule's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub rule: String,
    pub stories: Vec<StoryResult>,
    pub noise: Vec<WatchNoise>,
}

/// The first and last post time of each watch.
pub type WatchSpans = BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)>;

/// Scores `alerts` (any order) against `stories`.
pub fn score(rule: &str, alerts: &[ScoredAlert], stories: &[Story], spans: &WatchSpans) -> Report {
    let mut unmatched: BTreeMap<&str, usize> = BTreeMap::new();
    for alert in alerts {
        if !stories.iter().any(|story| alert.is_about(story)) {
            *unmatched.entry(alert.watch.as_str()).or_default() += 1;
        }
    }
    let results = stories
        .iter()
        .map(|story| {
            let first = alerts
                .iter()
                .filter(|alert| alert.is_about(story))
                .map(|alert| alert.at)
                .min();
            let window_end = story.start + Duration::hours(LEAD_WINDOW_HOURS);
            let volume = story.tweets_between(story.start, window_end);
            StoryResult {
                id: story.id.clone(),
                lead_time_valid: story.lead_time_valid,
                first_alert: first,
                delay: first.map(|at| at - story.start),
                lead_fraction: first.filter(|_| volume > 0).map(|at| {
                    story.tweets_between(story.start, at.min(window_end)) as f64 / volume as f64
                }),
            }
        })
        .collect();
    let noise = spans
        .iter()
        .map(|(watch, (first, last))| WatchNoise {
            watch: watch.clone(),
            alerts: unmatched.get(watch.as_str()).copied().unwrap_or(0),
            days: ((*last - *first).num_seconds() as f64 / 86_400.0).max(1.0),
        })
        .collect();
    Report {
        rule: rule.to_string(),
        stories: results,
        noise,
    }
}

/// A report's time cell: `YYYY-MM-DD HH:MM:SS`, or `-`.
pub(crate) fn format_time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_string(),
        |at| at.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// A report's delay cell: `[-]HhMMm`, or `-`.
pub(crate) fn format_delay(delay: Option<Duration>) -> String {
    delay.map_or_else(
        || "-".to_string(),
        |delay| {
            let sign = if delay < Duration::zero() { "-" } else { "" };
            let delay = delay.abs();
            format!(
                "{sign}{}h{:02}m",
                delay.num_hours(),
                delay.num_minutes() % 60
            )
        },
    )
}

/// A report's fraction cell: two decimals, or `-`.
pub(crate) fn format_fraction(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |value| format!("{value:.2}"))
}

impl Report {
    /// Median lead fraction of the lead-time-valid stories (a missed one counts as 1.0).
    pub fn median_lead_fraction(&self) -> Option<f64> {
        let mut leads: Vec<f64> = self
            .stories
            .iter()
            .filter(|story| story.lead_time_valid)
            .map(
                |story| match (story.detected_in_time(), story.lead_fraction) {
                    (true, Some(lead)) => lead,
                    _ => 1.0,
                },
            )
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

    /// The most unlabelled alerts per day of any watch.
    pub fn worst_noise_per_day(&self) -> f64 {
        self.noise
            .iter()
            .map(WatchNoise::per_day)
            .fold(0.0, f64::max)
    }

    /// The targets of issue 7 this report misses (empty: all met): every lead-time-valid story
    /// detected within 3 hours, median lead fraction ≤ 0.3, ≤ 1 unlabelled alert per watch
    /// per day.
    pub fn missed_targets(&self) -> Vec<String> {
        let mut missed = Vec::new();
        for story in self.stories.iter().filter(|story| story.lead_time_valid) {
            if !story.detected_in_time() {
                missed.push(format!("{} not detected within 3 h", story.id));
            }
        }
        if let Some(median) = self.median_lead_fraction().filter(|median| *median > 0.3) {
            missed.push(format!("median lead fraction {median:.2} > 0.30"));
        }
        let worst = self.worst_noise_per_day();
        if worst > 1.0 {
            missed.push(format!(
                "{worst:.2} unlabelled alerts per watch per day > 1"
            ));
        }
        missed
    }

    /// The report as a plain-text table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "== {} ==", self.rule);
        let _ = writeln!(
            out,
            "{:<5} {:<9} {:<8} {:<20} {:>9} {:>6}",
            "story", "lead-time", "detected", "first alert (UTC)", "delay", "lead"
        );
        for story in &self.stories {
            let (first, delay) = (format_time(story.first_alert), format_delay(story.delay));
            let lead = format_fraction(story.lead_fraction);
            let _ = writeln!(
                out,
                "{:<5} {:<9} {:<8} {:<20} {:>9} {:>6}",
                story.id,
                if story.lead_time_valid { "valid" } else { "no" },
                if story.detected_in_time() {
                    "yes"
                } else {
                    "no"
                },
                first,
                delay,
                lead
            );
        }
        let _ = writeln!(out, "unlabelled alerts per watch per day:");
        for noise in &self.noise {
            let _ = writeln!(
                out,
                "  {:<14} {:>4} alerts / {:>4.1} days = {:.2}/day",
                noise.watch,
                noise.alerts,
                noise.days,
                noise.per_day()
            );
        }
        let median = self
            .median_lead_fraction()
            .map_or_else(|| "-".to_string(), |median| format!("{median:.2}"));
        let missed = self.missed_targets();
        let verdict = if missed.is_empty() {
            "all targets met".to_string()
        } else {
            format!("missed: {}", missed.join("; "))
        };
        let _ = writeln!(
            out,
            "median lead fraction (valid stories, missed = 1.0): {median}; worst watch {:.2}/day; {verdict}",
            self.worst_noise_per_day()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stories::parse_utc;

    fn at(text: &str) -> DateTime<Utc> {
        parse_utc(text).unwrap()
    }

    /// A story of 10 tweets, one every 10 minutes from 12:00, on watch `w`.
    fn story() -> Story {
        let times: Vec<DateTime<Utc>> = (0..10)
            .map(|index| at("2015-02-22 12:00:00") + Duration::minutes(10 * index))
            .collect();
        Story {
            id: "S1".to_string(),
            title: "test".to_string(),
            start: times[0],
            end: at("2015-02-22 20:00:00"),
            lead_time_valid: true,
            watches: vec!["w".to_string()],
            tweet_ids: (0..10).map(|index| format!("t{index}")).collect(),
            times,
        }
    }

    fn alert(watch: &str, when: &str, posts: &[&str]) -> ScoredAlert {
        ScoredAlert {
            watch: watch.to_string(),
            at: at(when),
            about: About::Posts(posts.iter().map(|id| id.to_string()).collect()),
        }
    }

    fn spans() -> WatchSpans {
        let span = (at("2015-02-20 00:00:00"), at("2015-02-24 00:00:00"));
        [("w".to_string(), span), ("v".to_string(), span)].into()
    }

    #[test]
    fn first_matching_alert_gives_delay_and_lead_fraction() {
        let alerts = vec![
            alert("w", "2015-02-22 12:25:00", &["t0", "t2"]),
            alert("w", "2015-02-22 12:45:00", &["t4"]),
            // Not about the story: other posts (or mostly other posts), another watch, or
            // before its start.
            alert("w", "2015-02-22 12:05:00", &["x1"]),
            alert("w", "2015-02-22 12:10:00", &["x1", "x2", "t0"]),
            alert("v", "2015-02-22 12:06:00", &["t0"]),
            alert("w", "2015-02-22 11:00:00", &["t0"]),
        ];
        let report = score("rule", &alerts, &[story()], &spans());
        let result = &report.stories[0];
        assert_eq!(result.first_alert, Some(at("2015-02-22 12:25:00")));
        assert_eq!(result.delay, Some(Duration::minutes(25)));
        // 3 of the 10 tweets of the first 3 hours were posted by 12:25.
        assert_eq!(result.lead_fraction, Some(0.3));
        assert!(result.detected_in_time());
        assert_eq!(report.median_lead_fraction(), Some(0.3));
        let noise: Vec<(String, usize)> = report
            .noise
            .iter()
            .map(|noise| (noise.watch.clone(), noise.alerts))
            .collect();
        assert_eq!(noise, vec![("v".to_string(), 1), ("w".to_string(), 3)]);
        assert_eq!(report.noise[0].days, 4.0);
        assert!(
            report.missed_targets().is_empty(),
            "{:?}",
            report.missed_targets()
        );
        assert!(report.render().contains("all targets met"));
    }

    #[test]
    fn windows_match_baseline_alerts_and_misses_count_as_one() {
        let alerts = ScoredAlert::from_rule(&[RuleAlert {
            watch: "w".to_string(),
            at: at("2015-02-22 15:30:00"),
            window_start: at("2015-02-22 13:00:00"),
        }]);
        let report = score("rule", &alerts, &[story()], &spans());
        // Detected (a story tweet in the window), but after 3 hours.
        assert_eq!(report.stories[0].lead_fraction, Some(1.0));
        assert!(report.stories[0].delay.unwrap() > Duration::hours(3));
        assert!(!report.stories[0].detected_in_time());
        let empty = score("rule", &[], &[story()], &spans());
        assert_eq!(empty.stories[0].first_alert, None);
        assert_eq!(empty.median_lead_fraction(), Some(1.0));
        let missed = empty.missed_targets();
        assert_eq!(missed.len(), 2, "{missed:?}");
    }
}
