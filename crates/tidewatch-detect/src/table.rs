//! SigniTrend's fixed-size hashed table of term and pair statistics.
//!
//! Guarantees: the table has exactly `2^bits` buckets from construction on, whatever keys are
//! fed to it (memory independent of vocabulary); each key maps to `hashes` buckets and its
//! estimates are the least significant of those (count-min style, so collisions only ever make
//! a key look less unusual); epoch closing updates each bucket's EWMA and EW variance with
//! the epoch's count and clears the counts. Significance is
//! `(x − max(ewma, β)) / (sqrt(ewmvar) + β)`.
//!
//! Two time scales share the buckets: the epoch's count (fast: a sudden burst) and an
//! exponentially decayed count over several epochs (slow: a story that builds at a post every
//! few minutes never stands out in one epoch). Each scale has its own EWMA and EW variance;
//! the slow significance is rescaled by `fast threshold / slow threshold`, so one number (in
//! units of the firing threshold) says how unusual a key is on either scale. A frozen bucket
//! (a young candidate story's) learns nothing on either scale when the epoch closes.

use serde::{Deserialize, Serialize};

use crate::tokens::mix;

/// How unusual a key's count is in the current epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Significance {
    pub(crate) score: f64,
    /// The expected count per epoch (EWMA) of the key.
    pub(crate) baseline: f64,
    pub(crate) count: f64,
    /// The fast scale's significance alone (a burst within one epoch; `score` ≥ `burst`).
    pub(crate) burst: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SigTable {
    bits: u32,
    hashes: u32,
    alpha: f64,
    beta: f64,
    count: Vec<f32>,
    ewma: Vec<f32>,
    ewmvar: Vec<f32>,
    /// What the decayed count keeps of itself from one epoch to the next.
    slow_keep: f64,
    /// `fast threshold / slow threshold`: the factor that puts slow significance in fast units.
    slow_gain: f64,
    slow_count: Vec<f32>,
    slow_ewma: Vec<f32>,
    slow_ewmvar: Vec<f32>,
    /// Buckets that learn nothing when the current epoch closes.
    frozen: Vec<bool>,
    /// The watch's own posts on both scales: [fast count, fast EWMA, slow count, slow EWMA].
    volume: [f64; 4],
    /// Whether expected counts scale with how much busier than usual the watch is.
    relative_to_volume: bool,
}

/// The two time scales of a [`SigTable`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scales {
    /// EWMA weight of a new epoch in the baselines.
    pub(crate) alpha: f64,
    pub(crate) beta: f64,
    /// Half-life of the slow (decayed) count, in epochs.
    pub(crate) slow_half_life: f64,
    /// `threshold / slow_threshold` (0: the slow scale is off).
    pub(crate) slow_gain: f64,
    /// Judge keys against their usual share of the watch's posts.
    pub(crate) relative_to_volume: bool,
}

impl SigTable {
    pub(crate) fn new(bits: u32, hashes: u32, scales: Scales) -> SigTable {
        let size = 1usize << bits;
        SigTable {
            bits,
            hashes,
            alpha: scales.alpha,
            beta: scales.beta,
            count: vec![0.0; size],
            ewma: vec![0.0; size],
            ewmvar: vec![0.0; size],
            slow_keep: 0.5f64.powf(1.0 / scales.slow_half_life),
            slow_gain: scales.slow_gain,
            slow_count: vec![0.0; size],
            slow_ewma: vec![0.0; size],
            slow_ewmvar: vec![0.0; size],
            frozen: vec![false; size],
            volume: [0.0; 4],
            relative_to_volume: scales.relative_to_volume,
        }
    }

    /// Counts one post of the watch (whatever its keys), so that keys are judged against the
    /// share of the watch's posts they usually have.
    pub(crate) fn count_post(&mut self) {
        self.volume[0] += 1.0;
        self.volume[2] += 1.0;
    }

    /// How much busier than usual the watch is now, on the fast and the slow scale (at least
    /// 1: a quiet hour, or the first posts of an epoch, never make keys look more unusual).
    fn volume_ratios(&self) -> (f64, f64) {
        if !self.relative_to_volume {
            return (1.0, 1.0);
        }
        let ratio = |now: f64, usual: f64| (now / usual.max(self.beta)).max(1.0);
        (
            ratio(self.volume[0], self.volume[1]),
            ratio(self.volume[2], self.volume[3]),
        )
    }

    fn bucket(&self, key: u64, round: u32) -> usize {
        let hash = mix(key ^ u64::from(round).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        (hash >> (64 - self.bits)) as usize
    }

    /// SigniTrend's significance, with the expected count and its deviation scaled by how busy
    /// the watch is (`ratio`): a key is unusual when its share of the posts is.
    fn scale_score(&self, count: f32, ewma: f32, ewmvar: f32, ratio: f64) -> f64 {
        let (count, ewma) = (f64::from(count), f64::from(ewma) * ratio);
        let deviation = f64::from(ewmvar).max(0.0).sqrt() * ratio;
        (count - ewma.max(self.beta)) / (deviation + self.beta)
    }

    /// The bucket's significance: the more unusual of its two scales (slow in fast units).
    fn score_of(&self, bucket: usize) -> Significance {
        let (fast_ratio, slow_ratio) = self.volume_ratios();
        if self.slow_gain <= 0.0 {
            // The slow scale is off: SigniTrend's single scale.
            let fast = self.scale_score(
                self.count[bucket],
                self.ewma[bucket],
                self.ewmvar[bucket],
                fast_ratio,
            );
            return Significance {
                score: fast,
                baseline: f64::from(self.ewma[bucket]),
                count: f64::from(self.count[bucket]),
                burst: fast,
            };
        }
        let fast = self.scale_score(
            self.count[bucket],
            self.ewma[bucket],
            self.ewmvar[bucket],
            fast_ratio,
        );
        let slow = self.slow_gain
            * self.scale_score(
                self.slow_count[bucket],
                self.slow_ewma[bucket],
                self.slow_ewmvar[bucket],
                slow_ratio,
            );
        // The baseline and count stay per epoch (what a story's posts per epoch compare with);
        // only the score says which scale is more unusual.
        let score = if self.slow_gain > 0.0 {
            fast.max(slow)
        } else {
            fast
        };
        Significance {
            score,
            baseline: f64::from(self.ewma[bucket]),
            count: f64::from(self.count[bucket]),
            burst: fast,
        }
    }

    /// Adds one occurrence of `key` to the current epoch; returns its new significance.
    pub(crate) fn add(&mut self, key: u64) -> Significance {
        let slow_on = self.slow_gain > 0.0;
        for round in 0..self.hashes {
            let bucket = self.bucket(key, round);
            self.count[bucket] += 1.0;
            if slow_on {
                self.slow_count[bucket] += 1.0;
            }
        }
        self.significance(key)
    }

    /// The significance of `key` in the current epoch, without counting anything.
    pub(crate) fn significance(&self, key: u64) -> Significance {
        (0..self.hashes)
            .map(|round| self.score_of(self.bucket(key, round)))
            .min_by(|a, b| a.score.total_cmp(&b.score))
            .expect("a table has at least one hash")
    }

    /// Closing the current epoch will not learn from `key`'s buckets on either scale (used
    /// while the key is a young candidate story's). Colliding keys share it.
    pub(crate) fn freeze(&mut self, key: u64) {
        for round in 0..self.hashes {
            let bucket = self.bucket(key, round);
            self.frozen[bucket] = true;
        }
    }

    /// Folds the current epoch's counts into the EWMA and EW variance, and clears them.
    pub(crate) fn close_epoch(&mut self) {
        let alpha = self.alpha as f32;
        let keep = self.slow_keep as f32;
        let slow_on = self.slow_gain > 0.0;
        let learn = |count: f32, ewma: &mut f32, ewmvar: &mut f32| {
            let delta = count - *ewma;
            *ewma += alpha * delta;
            *ewmvar = (1.0 - alpha) * (*ewmvar + alpha * delta * delta);
        };
        for bucket in 0..self.count.len() {
            let frozen = std::mem::take(&mut self.frozen[bucket]);
            // A frozen bucket counts as having seen its usual count (as SigniTrend's own
            // "do not learn from a burst" does); its slow scale learns nothing.
            let count = if frozen {
                self.ewma[bucket]
            } else {
                self.count[bucket]
            };
            learn(count, &mut self.ewma[bucket], &mut self.ewmvar[bucket]);
            if !frozen && slow_on {
                learn(
                    self.slow_count[bucket],
                    &mut self.slow_ewma[bucket],
                    &mut self.slow_ewmvar[bucket],
                );
            }
            self.count[bucket] = 0.0;
            if slow_on {
                self.slow_count[bucket] *= keep;
            }
        }
        let [fast, fast_usual, slow, slow_usual] = &mut self.volume;
        *fast_usual += self.alpha * (*fast - *fast_usual);
        *slow_usual += self.alpha * (*slow - *slow_usual);
        *fast = 0.0;
        *slow *= self.slow_keep;
    }

    /// Bytes held by the table's buckets (fixed at construction).
    pub(crate) fn memory_bytes(&self) -> usize {
        let floats = self.count.capacity()
            + self.ewma.capacity()
            + self.ewmvar.capacity()
            + self.slow_count.capacity()
            + self.slow_ewma.capacity()
            + self.slow_ewmvar.capacity();
        floats * std::mem::size_of::<f32>() + self.frozen.capacity()
    }

    /// Bytes a table of `2^bits` buckets holds (what [`SigTable::memory_bytes`] reports).
    pub(crate) fn bytes_for(bits: u32) -> usize {
        (6 * std::mem::size_of::<f32>() + 1) << bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DetectorConfig;

    fn table() -> SigTable {
        // A slow scale that never wins, so these tests see SigniTrend's single scale.
        let scales = Scales {
            alpha: DetectorConfig::alpha(4.0),
            beta: 1.0,
            slow_half_life: 6.0,
            slow_gain: 0.0,
            relative_to_volume: false,
        };
        SigTable::new(12, 2, scales)
    }

    #[test]
    fn a_new_key_burst_is_significant() {
        let mut table = table();
        let mut last = table.significance(42);
        assert_eq!(last.score, -1.0);
        for _ in 0..7 {
            last = table.add(42);
        }
        assert_eq!(last.count, 7.0);
        assert!((last.score - 6.0).abs() < 1e-9, "{last:?}");
    }

    #[test]
    fn a_steady_key_is_not_significant() {
        let mut table = table();
        for _ in 0..200 {
            for _ in 0..20 {
                table.add(7);
            }
            table.close_epoch();
        }
        let mut now = table.significance(7);
        for _ in 0..22 {
            now = table.add(7);
        }
        assert!((now.baseline - 20.0).abs() < 0.01, "{now:?}");
        assert!(now.score < 3.0, "{now:?}");
        // ... but a doubling is.
        for _ in 0..20 {
            now = table.add(7);
        }
        assert!(now.score > 6.0, "{now:?}");
    }

    #[test]
    fn a_frozen_key_keeps_its_baseline() {
        let mut table = table();
        for _ in 0..5 {
            for _ in 0..5 {
                table.add(9);
            }
            table.freeze(9);
            table.close_epoch();
        }
        let now = table.significance(9);
        assert_eq!((now.baseline, now.count), (0.0, 0.0));
    }

    #[test]
    fn memory_does_not_grow_with_keys() {
        let mut table = table();
        let before = table.memory_bytes();
        for key in 0..100_000u64 {
            table.add(key);
        }
        table.close_epoch();
        assert_eq!(table.memory_bytes(), before);
        assert_eq!(before, SigTable::bytes_for(12));
    }

    #[test]
    fn a_slow_build_stands_out_on_the_slow_scale_only() {
        let scales = Scales {
            alpha: DetectorConfig::alpha(24.0),
            beta: 1.0,
            slow_half_life: 6.0,
            slow_gain: 2.0,
            relative_to_volume: true,
        };
        let mut table = SigTable::new(12, 2, scales);
        // Background: key 5 once every other epoch; key 9 (the story) never.
        for epoch in 0..300 {
            if epoch % 2 == 0 {
                table.add(5);
            }
            table.close_epoch();
        }
        // The story: one post per epoch for 8 epochs, never more than 1 in an epoch: no burst,
        // but a build-up (the decayed count reaches about 5.5 against a usual 0.6).
        let mut last = table.significance(9);
        for _ in 0..8 {
            last = table.add(9);
            assert!(last.burst <= 0.0, "{last:?}");
            table.close_epoch();
        }
        assert!(last.score > 3.0, "{last:?}");
        assert_eq!(last.count, 1.0, "{last:?}");
        let steady = table.add(5);
        assert!(steady.score < 2.0, "{steady:?}");
    }
}
