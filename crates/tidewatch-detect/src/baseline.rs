//! Whole-watch signals: volume against an hour-of-day baseline, and negativity against the
//! watch's own usual level.
//!
//! Guarantees: the volume baseline has one EWMA / EW variance per UTC hour of day (24 slots,
//! fixed memory), so a busy evening compares with past evenings, not with the night before it;
//! negativity (share of negative posts, mean compound) is compared with the watch's own EWMA,
//! so a mostly-neutral watch and a usually-angry one are each judged by their own normal.
//! Everything advances only when an epoch of event time closes.

use serde::{Deserialize, Serialize};
use tidewatch_model::Label;

use crate::config::DetectorConfig;
use crate::story::Usual;

const HOURS: usize = 24;

/// The whole-watch signals of the current epoch, each with its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WatchSignals {
    /// Posts in the current epoch.
    pub posts: u64,
    /// SigniTrend significance of `posts` against the same hour of day.
    pub volume_score: f64,
    /// Usual posts per epoch at this hour of day.
    pub volume_baseline: f64,
    /// Share of scored posts in the current epoch that are negative.
    pub negative_share: f64,
    pub negative_share_baseline: f64,
    /// Mean compound of scored posts in the current epoch.
    pub mean_compound: f64,
    pub compound_baseline: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WatchBaseline {
    slot_alpha: f64,
    alpha: f64,
    beta: f64,
    slot_ewma: Vec<f64>,
    slot_ewmvar: Vec<f64>,
    /// Whether each hour's slot has been seeded by a first epoch.
    slot_seeded: Vec<bool>,
    negative_share: f64,
    compound: f64,
    /// Whether `negative_share` and `compound` have been seeded by a first epoch with posts.
    seeded: bool,
    posts: u64,
    scored: u64,
    negatives: u64,
    compound_sum: f64,
}

impl WatchBaseline {
    pub(crate) fn new(config: &DetectorConfig) -> WatchBaseline {
        let epochs_per_hour = 3600.0 / config.epoch_seconds as f64;
        let epochs_per_day = 86_400.0 / config.epoch_seconds as f64;
        WatchBaseline {
            slot_alpha: DetectorConfig::alpha(config.seasonal_half_life_days * epochs_per_hour),
            alpha: DetectorConfig::alpha(epochs_per_day),
            beta: config.beta,
            slot_ewma: vec![0.0; HOURS],
            slot_ewmvar: vec![0.0; HOURS],
            slot_seeded: vec![false; HOURS],
            negative_share: 0.0,
            compound: 0.0,
            seeded: false,
            posts: 0,
            scored: 0,
            negatives: 0,
            compound_sum: 0.0,
        }
    }

    pub(crate) fn observe(&mut self, label: Label, compound: Option<f64>) {
        self.posts += 1;
        if let (Some(compound), true) = (compound, label != Label::Unscored) {
            self.scored += 1;
            self.compound_sum += compound;
            if label == Label::Negative {
                self.negatives += 1;
            }
        }
    }

    /// The watch's usual negativity, and whether its volume now (in the epoch that started at
    /// `epoch_start`) is significant against the same hour of day (`threshold`).
    pub(crate) fn usual(&self, epoch_start: i64, threshold: f64) -> Usual {
        Usual {
            negative_share: self.negative_share,
            compound: self.compound,
            volume_surge: self.signals(epoch_start).volume_score >= threshold,
        }
    }

    /// The current epoch's signals; `epoch_start` is the epoch's start, seconds since 1970.
    pub(crate) fn signals(&self, epoch_start: i64) -> WatchSignals {
        let slot = hour_of_day(epoch_start);
        let ewma = self.slot_ewma[slot];
        let posts = self.posts as f64;
        let (negative_share, mean_compound) = if self.scored == 0 {
            (self.negative_share, self.compound)
        } else {
            let scored = self.scored as f64;
            (self.negatives as f64 / scored, self.compound_sum / scored)
        };
        WatchSignals {
            posts: self.posts,
            volume_score: (posts - ewma.max(self.beta))
                / (self.slot_ewmvar[slot].max(0.0).sqrt() + self.beta),
            volume_baseline: ewma,
            negative_share,
            negative_share_baseline: self.negative_share,
            mean_compound,
            compound_baseline: self.compound,
        }
    }

    /// Folds the epoch that started at `epoch_start` into the baselines and starts a new one.
    pub(crate) fn close_epoch(&mut self, epoch_start: i64) {
        let slot = hour_of_day(epoch_start);
        let delta = self.posts as f64 - self.slot_ewma[slot];
        if self.slot_seeded[slot] {
            self.slot_ewma[slot] += self.slot_alpha * delta;
            self.slot_ewmvar[slot] = (1.0 - self.slot_alpha)
                * (self.slot_ewmvar[slot] + self.slot_alpha * delta * delta);
        } else {
            (self.slot_ewma[slot], self.slot_seeded[slot]) = (self.posts as f64, true);
        }
        if self.scored > 0 {
            let scored = self.scored as f64;
            let share = self.negatives as f64 / scored;
            let compound = self.compound_sum / scored;
            if self.seeded {
                self.negative_share += self.alpha * (share - self.negative_share);
                self.compound += self.alpha * (compound - self.compound);
            } else {
                (self.negative_share, self.compound, self.seeded) = (share, compound, true);
            }
        }
        (self.posts, self.scored, self.negatives, self.compound_sum) = (0, 0, 0, 0.0);
    }
}

fn hour_of_day(seconds: i64) -> usize {
    (seconds.rem_euclid(86_400) / 3600) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_days(baseline: &mut WatchBaseline, days: i64, per_hour: impl Fn(usize) -> u64) -> i64 {
        let mut start = 0;
        for _ in 0..days * 288 {
            for _ in 0..per_hour(hour_of_day(start)) {
                baseline.observe(Label::Neutral, Some(0.0));
            }
            baseline.close_epoch(start);
            start += 300;
        }
        start
    }

    #[test]
    fn a_daily_peak_is_not_unusual_but_a_night_spike_is() {
        let mut baseline = WatchBaseline::new(&DetectorConfig::default());
        let cycle = |hour: usize| if (9..21).contains(&hour) { 40 } else { 2 };
        let start = run_days(&mut baseline, 14, cycle);
        // Next day, 10:00: a usual busy epoch.
        let ten = start + 10 * 3600;
        for _ in 0..40 {
            baseline.observe(Label::Neutral, Some(0.0));
        }
        let busy = baseline.signals(ten);
        assert!(busy.volume_score < 1.0, "{busy:?}");
        assert!((busy.volume_baseline - 40.0).abs() < 1.0, "{busy:?}");
        baseline.close_epoch(ten);
        // 03:00 with daytime volume: unusual.
        for _ in 0..40 {
            baseline.observe(Label::Neutral, Some(0.0));
        }
        let night = baseline.signals(start + 3 * 3600);
        assert!(night.volume_score > 6.0, "{night:?}");
    }

    #[test]
    fn negativity_is_relative_to_the_watch() {
        let mut baseline = WatchBaseline::new(&DetectorConfig::default());
        for epoch in 0..100 {
            for index in 0..10 {
                let label = if index < 3 {
                    Label::Negative
                } else {
                    Label::Neutral
                };
                baseline.observe(label, Some(if index < 3 { -0.5 } else { 0.0 }));
            }
            baseline.observe(Label::Unscored, None);
            baseline.close_epoch(epoch * 300);
        }
        assert!((baseline.usual(0, 6.0).negative_share - 0.3).abs() < 1e-9);
        for _ in 0..10 {
            baseline.observe(Label::Negative, Some(-0.6));
        }
        let now = baseline.signals(100 * 300);
        assert_eq!(now.negative_share, 1.0);
        assert!((now.compound_baseline + 0.15).abs() < 1e-9, "{now:?}");
        assert_eq!(now.posts, 10);
    }
}
