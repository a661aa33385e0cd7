//! The anchors' alerting rules, run by the harness on the same watched posts as the detector.
//!
//! Guarantees: both rules are pure (event time only, posts in time order per watch) and keep
//! bounded state per watch. [`HuginnPeak`]: Huginn's PeakDetector on the post count per bucket
//! (15 minutes): fires when the running count of the current bucket exceeds mean + 3σ of the
//! previous buckets of a 14-day history (the peaks stay in the history, as in Huginn), at most
//! once per bucket and at least `min_spacing` apart, after `min_history` buckets.
//! [`MeltwaterSpike`]: fires when the posts of the last hour are at least 3× the hourly mean of
//! the 12 hours before it and at least 10, once per crossing (it re-arms when the condition is
//! false again), after 13 hours of history.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

/// A rule's alert: the watch, when it fired, and since when it had been counting the posts
/// that made it fire (what the alert is about).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleAlert {
    pub watch: String,
    pub at: DateTime<Utc>,
    pub window_start: DateTime<Utc>,
}

/// A rule that sees one watch's posts in time order.
pub trait SpikeRule {
    /// Counts a post at `at`; `Some(window start)` when the rule fires on it.
    fn observe(&mut self, at: DateTime<Utc>) -> Option<DateTime<Utc>>;
}

/// Huginn's PeakDetector on counts per bucket.
#[derive(Debug, Clone)]
pub struct HuginnPeak {
    bucket_seconds: i64,
    history_buckets: usize,
    min_history: usize,
    std_multiple: f64,
    min_spacing_seconds: i64,
    history: VecDeque<f64>,
    bucket: Option<i64>,
    count: u64,
    fired_in_bucket: bool,
    last_peak: Option<i64>,
}

impl Default for HuginnPeak {
    /// 15-minute buckets, 14 days of history, 3σ, peaks at least an hour apart, 4 hours of
    /// history before the first peak.
    fn default() -> HuginnPeak {
        HuginnPeak::new(900, 14 * 96, 16, 3.0, 3600)
    }
}

impl HuginnPeak {
    pub fn new(
        bucket_seconds: i64,
        history_buckets: usize,
        min_history: usize,
        std_multiple: f64,
        min_spacing_seconds: i64,
    ) -> HuginnPeak {
        HuginnPeak {
            bucket_seconds,
            history_buckets,
            min_history,
            std_multiple,
            min_spacing_seconds,
            history: VecDeque::new(),
            bucket: None,
            count: 0,
            fired_in_bucket: false,
            last_peak: None,
        }
    }

    fn push_history(&mut self, count: f64) {
        if self.history.len() >= self.history_buckets {
            self.history.pop_front();
        }
        self.history.push_back(count);
    }

    fn threshold(&self) -> f64 {
        let n = self.history.len() as f64;
        let mean = self.history.iter().sum::<f64>() / n;
        let variance = self.history.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        mean + self.std_multiple * variance.sqrt()
    }
}

impl SpikeRule for HuginnPeak {
    fn observe(&mut self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let bucket = at.timestamp().div_euclid(self.bucket_seconds);
        match self.bucket {
            Some(current) if current < bucket => {
                self.push_history(self.count as f64);
                // Empty buckets in between are history too (bounded by the history length).
                let empty = (bucket - current - 1).min(self.history_buckets as i64);
                for _ in 0..empty {
                    self.push_history(0.0);
                }
                (self.count, self.fired_in_bucket) = (0, false);
            }
            None => self.bucket = Some(bucket),
            _ => {}
        }
        self.bucket = Some(bucket);
        self.count += 1;
        if self.fired_in_bucket || self.history.len() < self.min_history {
            return None;
        }
        let spaced = self
            .last_peak
            .is_none_or(|last| at.timestamp() - last >= self.min_spacing_seconds);
        if spaced && self.count as f64 > self.threshold() {
            self.fired_in_bucket = true;
            self.last_peak = Some(at.timestamp());
            return DateTime::from_timestamp(bucket * self.bucket_seconds, 0);
        }
        None
    }
}

/// Meltwater-style spike alert: last hour against the hourly mean of the previous 12 hours.
#[derive(Debug, Clone)]
pub struct MeltwaterSpike {
    ratio: f64,
    min_posts: u64,
    /// (minute, posts in it), the last 13 hours.
    minutes: VecDeque<(i64, u64)>,
    first_minute: Option<i64>,
    armed: bool,
}

impl Default for MeltwaterSpike {
    /// 3× the previous 12 hours' hourly mean, and at least 10 posts in the hour.
    fn default() -> MeltwaterSpike {
        MeltwaterSpike::new(3.0, 10)
    }
}

const HOUR_MINUTES: i64 = 60;
const HISTORY_MINUTES: i64 = 13 * 60;

impl MeltwaterSpike {
    pub fn new(ratio: f64, min_posts: u64) -> MeltwaterSpike {
        MeltwaterSpike {
            ratio,
            min_posts,
            minutes: VecDeque::new(),
            first_minute: None,
            armed: true,
        }
    }
}

impl SpikeRule for MeltwaterSpike {
    fn observe(&mut self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let minute = at.timestamp().div_euclid(60);
        let first = *self.first_minute.get_or_insert(minute);
        match self.minutes.back_mut() {
            Some((last, count)) if *last == minute => *count += 1,
            _ => self.minutes.push_back((minute, 1)),
        }
        while self
            .minutes
            .front()
            .is_some_and(|(oldest, _)| *oldest <= minute - HISTORY_MINUTES)
        {
            self.minutes.pop_front();
        }
        let (mut last_hour, mut previous) = (0u64, 0u64);
        for (at_minute, count) in &self.minutes {
            if *at_minute > minute - HOUR_MINUTES {
                last_hour += count;
            } else {
                previous += count;
            }
        }
        let hourly_mean = previous as f64 / 12.0;
        let spiking = last_hour >= self.min_posts && last_hour as f64 >= self.ratio * hourly_mean;
        if !spiking {
            self.armed = true;
            return None;
        }
        if !self.armed || minute - first < HISTORY_MINUTES {
            return None;
        }
        self.armed = false;
        DateTime::from_timestamp((minute - HOUR_MINUTES + 1) * 60, 0)
    }
}

/// Runs a fresh rule per watch over `(watch, time)` pairs in time order.
pub fn run_rule<R: SpikeRule + Clone>(
    template: &R,
    watched: &[(String, DateTime<Utc>)],
) -> Vec<RuleAlert> {
    let mut rules: std::collections::BTreeMap<&str, R> = std::collections::BTreeMap::new();
    let mut alerts = Vec::new();
    for (watch, at) in watched {
        let rule = rules
            .entry(watch.as_str())
            .or_insert_with(|| template.clone());
        if let Some(window_start) = rule.observe(*at) {
            alerts.push(RuleAlert {
                watch: watch.clone(),
                at: *at,
                window_start,
            });
        }
    }
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_424_649_600 + seconds, 0).unwrap()
    }

    /// `per_bucket(i)` posts spread over 15-minute bucket `i`, for `buckets` buckets.
    fn stream(buckets: i64, per_bucket: impl Fn(i64) -> i64) -> Vec<(String, DateTime<Utc>)> {
        let mut posts = Vec::new();
        for bucket in 0..buckets {
            let n = per_bucket(bucket);
            for index in 0..n {
                posts.push(("w".to_string(), at(bucket * 900 + index * 900 / n.max(1))));
            }
        }
        posts
    }

    #[test]
    fn huginn_fires_on_a_peak_once_and_not_on_steady_traffic() {
        let steady = stream(200, |bucket| 5 + bucket % 3);
        assert!(run_rule(&HuginnPeak::default(), &steady).is_empty());
        let spike = stream(
            200,
            |bucket| if bucket == 150 { 40 } else { 5 + bucket % 3 },
        );
        let alerts = run_rule(&HuginnPeak::default(), &spike);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].window_start, at(150 * 900));
        assert!(alerts[0].at > at(150 * 900) && alerts[0].at < at(151 * 900));
    }

    #[test]
    fn huginn_is_blind_to_a_second_peak_after_a_loud_one() {
        // The loud event stays in the history and inflates σ.
        let posts = stream(300, |bucket| match bucket {
            150 => 400,
            250 => 30,
            _ => 5,
        });
        let alerts = run_rule(&HuginnPeak::default(), &posts);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].at < at(151 * 900));
    }

    #[test]
    fn meltwater_needs_three_times_the_hourly_mean_and_ten_posts() {
        // 4 posts an hour, then 12 in one hour: fires once.
        let quiet = stream(80, |bucket| if (60..64).contains(&bucket) { 3 } else { 1 });
        let alerts = run_rule(&MeltwaterSpike::default(), &quiet);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].at >= at(60 * 900) && alerts[0].at < at(64 * 900));
        // 9 posts an hour is under the floor of 10, whatever the ratio.
        let small = stream(80, |bucket| if (60..63).contains(&bucket) { 3 } else { 0 });
        assert!(run_rule(&MeltwaterSpike::default(), &small).is_empty());
        // Nothing fires before 13 hours of history.
        let early = stream(80, |bucket| if bucket < 8 { 10 } else { 1 });
        assert!(run_rule(&MeltwaterSpike::default(), &early).is_empty());
    }

    #[test]
    fn rules_run_per_watch() {
        let mut posts = stream(200, |bucket| if bucket == 150 { 40 } else { 5 });
        posts.extend(
            stream(200, |_| 5)
                .into_iter()
                .map(|(_, at)| ("other".to_string(), at)),
        );
        posts.sort_by_key(|(_, at)| *at);
        let alerts = run_rule(&HuginnPeak::default(), &posts);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].watch, "w");
    }
}
