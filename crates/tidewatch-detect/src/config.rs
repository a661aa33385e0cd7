//! Detector configuration (`[detect]` in `tidewatch.toml`).
//!
//! Guarantees: every field has a default (so an empty section is valid), unknown keys are
//! rejected by serde, and [`DetectorConfig::validate`] rejects any value the detector cannot run
//! with, naming the field. Memory per watch is fixed by `table_bits`, `dedup_window`,
//! `recent_posts` and `max_stories_per_watch`, never by the vocabulary of the stream.

use serde::{Deserialize, Serialize};

use crate::table::Scales;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorConfig {
    /// Length of one epoch of event time, in seconds (SigniTrend's unit of counting).
    pub epoch_seconds: u64,
    /// The hashed significance table of each watch has `2^table_bits` buckets.
    pub table_bits: u32,
    /// Buckets per key (count-min style; the least significant estimate wins).
    pub hashes: u32,
    /// Half-life of the term and pair EWMA / EW variance, in epochs.
    pub half_life_epochs: f64,
    /// SigniTrend's β: the floor on the expected count and the variance bias.
    pub beta: f64,
    /// Significance at which a story fires.
    pub threshold: f64,
    /// Half-life, in epochs, of the slow scale's decayed count (a story that builds at a post
    /// every few minutes stands out there, not in any one epoch).
    pub slow_half_life_epochs: f64,
    /// Half-life, in epochs, of the slow scale's baselines (EWMA and EW variance of the decayed
    /// counts). Longer than `half_life_epochs`: a rare word's usual rate is estimated from
    /// the few times it came up, so a short memory makes it look rarer than it is (with
    /// `relative_to_volume`, the day/night cycle is the watch's volume, not the key's share).
    pub slow_baseline_half_life_epochs: f64,
    /// Significance on the slow scale that counts as reaching `threshold` (default 2.0; `0`
    /// turns the slow scale off). A slow-only story fires when one of its words' count stands
    /// out for that word (`slow_min_surprise`, `slow_min_lift`), its posts span
    /// `slow_min_span_epochs`, and it is not a positive story; a key whose slow significance
    /// reaches `threshold` with a count that stands out (a burst cut in two by an epoch's end)
    /// fires a negative story at once. The slow scale is judged only after its own warm-up
    /// (the watch's warm-up, three `slow_half_life_epochs` and two
    /// `slow_baseline_half_life_epochs`: about a day with the defaults), since its baselines
    /// start from zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_threshold: Option<f64>,
    /// A slow-only story fires only when a word's decayed count is this improbable for the
    /// word's usual slow rate and spread (`−log10` of the upper tail of a negative binomial
    /// count, at least as wide as a Poisson one: 4.8 is about one in 60,000). This is what
    /// keeps the slow scale quiet in dense streams, where every common word drifts up a few
    /// times a day. Half of it starts a candidate story.
    pub slow_min_surprise: f64,
    /// A slow-only story also needs its word's count to be at least this many times the
    /// word's usual count: improbable is not enough for a common word (one seen every hour
    /// that comes up six times in half an hour is improbable, and no story).
    pub slow_min_lift: f64,
    /// A slow-only story fires only once its posts span this many epochs (posts bunched in
    /// less time are a burst, for the fast scale to judge).
    pub slow_min_span_epochs: u64,
    /// The least usual slow count assumed for a key (a never-seen word is not infinitely
    /// surprising): `slow_min_surprise` then needs a few posts of a new word.
    pub slow_expected_floor: f64,
    /// Judge each key against its usual share of the watch's posts: its expected count scales
    /// with how much busier than usual the watch is (never below 1×), so common words do not
    /// trend with the day/night cycle. A word that then becomes unusual only because its pair
    /// already is joins the pair's story (a key whose earlier posts are mostly one story's
    /// belongs to that story), so one burst stays one story.
    pub relative_to_volume: bool,
    /// Significance under which an open story counts as quiet (hysteresis; below `threshold`).
    pub clear_threshold: f64,
    /// Significance at which a key starts being tracked as a candidate story.
    pub candidate_threshold: f64,
    /// An open story also stays active while its posts per epoch are at least this fraction of
    /// its busiest epoch (a story that dies down resolves; one that is merely no longer new
    /// does not).
    pub clear_volume_fraction: f64,
    /// For this many epochs after a candidate story is born, its keys' counts are not learned
    /// as normal, so a story that starts slowly still stands out against its pre-story baseline.
    pub candidate_freeze_epochs: u64,
    /// Event time a story must stay quiet before it resolves, in seconds.
    pub min_quiet_seconds: u64,
    /// Epochs of history a watch needs before anything fires.
    pub warmup_epochs: u64,
    /// Distinct authors a story needs before it fires (one account posting again and again is
    /// not a story).
    pub min_authors: usize,
    /// Tokens shorter than this (in characters) are dropped.
    pub min_token_len: usize,
    /// Tokens kept per post (first ones); the post then feeds up to n(n−1)/2 pairs.
    pub max_tokens_per_post: usize,
    /// Recent post signatures remembered per watch for near-duplicate detection.
    pub dedup_window: usize,
    /// Largest SimHash distance (bits) at which two posts are near-duplicates.
    pub dedup_max_distance: u32,
    /// Last posts remembered per watch, so that a new story starts at its true first post.
    /// Why 256: a slow story looks back two slow half-lives (an hour) for its first post, and
    /// 256 posts reach that far on a watch of about 250 posts an hour (64 reached only 60).
    /// Costs 5–8% of throughput (the ring no longer stays in cache) and 180 kB per watch.
    pub recent_posts: usize,
    /// Stories (candidate or open) tracked per watch.
    pub max_stories_per_watch: usize,
    /// Terms kept per story.
    pub max_story_terms: usize,
    /// Evidence post ids per alert (first post, then most reach).
    pub max_evidence: usize,
    /// Half-life of the hour-of-day volume and negativity baselines, in days.
    pub seasonal_half_life_days: f64,
    /// Story reach (followers plus reposts) from which reach counts towards `critical`.
    pub critical_reach: u64,
    /// How far above the watch's usual negative share a story must be to count as negative.
    pub negativity_margin: f64,
    /// Most empty epochs simulated when event time jumps; longer gaps are skipped over.
    pub max_gap_epochs: u64,
}

impl Default for DetectorConfig {
    fn default() -> DetectorConfig {
        DetectorConfig {
            epoch_seconds: 300,
            table_bits: 16,
            hashes: 2,
            half_life_epochs: 24.0,
            beta: 1.0,
            threshold: 6.0,
            slow_half_life_epochs: 6.0,
            slow_baseline_half_life_epochs: 144.0,
            slow_threshold: Some(2.0),
            slow_min_surprise: 4.8,
            slow_min_lift: 10.0,
            slow_min_span_epochs: 3,
            slow_expected_floor: 0.1,
            relative_to_volume: true,
            clear_threshold: 3.0,
            candidate_threshold: 2.0,
            clear_volume_fraction: 0.25,
            candidate_freeze_epochs: 6,
            min_quiet_seconds: 1800,
            warmup_epochs: 12,
            min_authors: 3,
            min_token_len: 3,
            max_tokens_per_post: 16,
            dedup_window: 256,
            dedup_max_distance: 3,
            recent_posts: 256,
            max_stories_per_watch: 32,
            max_story_terms: 8,
            max_evidence: 10,
            seasonal_half_life_days: 7.0,
            critical_reach: 100_000,
            negativity_margin: 0.1,
            max_gap_epochs: 288,
        }
    }
}

impl DetectorConfig {
    /// Checks every value; the error names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "detect.{name} must be a positive number, not {value}"
                ))
            }
        };
        if self.epoch_seconds == 0 {
            return Err("detect.epoch_seconds must be at least 1".to_string());
        }
        if !(4..=24).contains(&self.table_bits) {
            return Err(format!(
                "detect.table_bits must be 4..=24, not {}",
                self.table_bits
            ));
        }
        if !(1..=4).contains(&self.hashes) {
            return Err(format!("detect.hashes must be 1..=4, not {}", self.hashes));
        }
        positive("half_life_epochs", self.half_life_epochs)?;
        positive("beta", self.beta)?;
        positive("threshold", self.threshold)?;
        positive("slow_half_life_epochs", self.slow_half_life_epochs)?;
        positive(
            "slow_baseline_half_life_epochs",
            self.slow_baseline_half_life_epochs,
        )?;
        if let Some(slow_threshold) = self.slow_threshold.filter(|slow| *slow != 0.0) {
            positive("slow_threshold", slow_threshold)?;
        }
        positive("slow_min_surprise", self.slow_min_surprise)?;
        positive("slow_min_lift", self.slow_min_lift)?;
        positive("slow_expected_floor", self.slow_expected_floor)?;
        positive("seasonal_half_life_days", self.seasonal_half_life_days)?;
        if !(self.clear_threshold.is_finite() && self.clear_threshold < self.threshold) {
            return Err("detect.clear_threshold must be below detect.threshold".to_string());
        }
        if !(self.candidate_threshold.is_finite() && self.candidate_threshold <= self.threshold) {
            return Err("detect.candidate_threshold must not exceed detect.threshold".to_string());
        }
        if self.max_tokens_per_post < 1 || self.max_tokens_per_post > 64 {
            return Err("detect.max_tokens_per_post must be 1..=64".to_string());
        }
        if self.max_stories_per_watch == 0 || self.max_story_terms == 0 || self.max_evidence == 0 {
            return Err(
                "detect.max_stories_per_watch, max_story_terms and max_evidence must be at least 1"
                    .to_string(),
            );
        }
        if self.min_authors > 64 {
            return Err("detect.min_authors must be at most 64".to_string());
        }
        if !(0.0..=1.0).contains(&self.clear_volume_fraction) {
            return Err("detect.clear_volume_fraction must be within 0..=1".to_string());
        }
        if !(0.0..=1.0).contains(&self.negativity_margin) {
            return Err("detect.negativity_margin must be within 0..=1".to_string());
        }
        Ok(())
    }

    /// The time scales of the significance table.
    pub(crate) fn scales(&self) -> Scales {
        Scales {
            alpha: DetectorConfig::alpha(self.half_life_epochs),
            beta: self.beta,
            slow_half_life: self.slow_half_life_epochs,
            slow_alpha: DetectorConfig::alpha(self.slow_baseline_half_life_epochs),
            slow_gain: self
                .slow_threshold
                .filter(|slow| *slow > 0.0)
                .map_or(0.0, |slow| self.threshold / slow),
            relative_to_volume: self.relative_to_volume,
            slow_warmup: self.slow_warmup_epochs(),
        }
    }

    /// Epochs a slow-scale story looks back for its earlier posts: two of the slow scale's
    /// half-lives (what its decayed count mostly remembers), at least one.
    pub(crate) fn slow_lookback_epochs(&self) -> i64 {
        match self.slow_threshold {
            Some(threshold) if threshold > 0.0 => {
                (2.0 * self.slow_half_life_epochs).ceil().max(1.0) as i64
            }
            _ => 1,
        }
    }

    /// Epochs before the slow scale is judged: the watch's warm-up, plus three slow half-lives
    /// for the decayed counts to build up and two half-lives of their baselines to follow.
    pub(crate) fn slow_warmup_epochs(&self) -> u64 {
        let ramp = 3.0 * self.slow_half_life_epochs + 2.0 * self.slow_baseline_half_life_epochs;
        self.warmup_epochs.saturating_add(ramp.ceil() as u64)
    }

    /// The EWMA weight of a new epoch for a half-life of `half_life` updates.
    pub(crate) fn alpha(half_life: f64) -> f64 {
        1.0 - 0.5f64.powf(1.0 / half_life)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unknown_keys_rejected() {
        DetectorConfig::default().validate().unwrap();
        let empty: DetectorConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, DetectorConfig::default());
        let error = serde_json::from_str::<DetectorConfig>(r#"{"treshold":5}"#).unwrap_err();
        assert!(error.to_string().contains("treshold"), "{error}");
    }

    #[test]
    fn rejects_bad_values_by_name() {
        let config = DetectorConfig {
            clear_threshold: 7.0,
            ..DetectorConfig::default()
        };
        assert!(config.validate().unwrap_err().contains("clear_threshold"));
        let config = DetectorConfig {
            table_bits: 40,
            ..DetectorConfig::default()
        };
        assert!(config.validate().unwrap_err().contains("table_bits"));
        let config = DetectorConfig {
            slow_threshold: Some(-1.0),
            ..DetectorConfig::default()
        };
        assert!(config.validate().unwrap_err().contains("slow_threshold"));
        let off = DetectorConfig {
            slow_threshold: Some(0.0),
            ..DetectorConfig::default()
        };
        off.validate().unwrap();
        assert_eq!(off.scales().slow_gain, 0.0);
        assert_eq!(DetectorConfig::default().scales().slow_gain, 3.0);
        let config = DetectorConfig {
            slow_min_surprise: 0.0,
            ..DetectorConfig::default()
        };
        assert!(config.validate().unwrap_err().contains("slow_min_surprise"));
        // The slow scale waits for its decayed counts and their baselines (about a day).
        assert_eq!(
            DetectorConfig::default().slow_warmup_epochs(),
            12 + 18 + 288
        );
        assert!((DetectorConfig::alpha(1.0) - 0.5).abs() < 1e-12);
    }
}
