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
//! (a young candidate story's) learns nothing on either scale when the epoch closes. The slow
//! scale's baselines learn with their own (longer) half-life, and the slow scale is judged
//! only once the table has closed `slow_warmup` epochs (before that its decayed counts and
//! baselines are still building up from zero, and a key's score is its fast one).

mod buckets;
mod surprise;
mod wire;

use serde::{Deserialize, Serialize};

use crate::tokens::mix;
use buckets::{bits_of, BucketSet};
use wire::SigTableWire;

/// How unusual a key's count is in the current epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Significance {
    pub(crate) score: f64,
    /// The expected count per epoch (EWMA) of the key.
    pub(crate) baseline: f64,
    pub(crate) count: f64,
    /// The fast scale's significance alone (a burst within one epoch; `score` ≥ `burst`).
    pub(crate) burst: f64,
    /// The slow scale's decayed count, its usual value (EWMA), and how much busier than usual
    /// the watch is on that scale (all 0 while the slow scale is off or warming up).
    pub(crate) slow_count: f64,
    pub(crate) slow_expected: f64,
    pub(crate) slow_ratio: f64,
    /// `1 + keep` of the decayed count (see `slow_count_model`).
    pub(crate) slow_dispersion: f64,
    /// The EW variance of the decayed count (0 while the slow scale is off or warming up).
    pub(crate) slow_variance: f64,
}

impl Significance {
    /// How surprising the slow count is for the key's usual rate: `−log10 P(X ≥ n)` for a
    /// count of the expected value (at least `floor`) whose spread is the key's own usual
    /// spread, and at least a Poisson count's (negative binomial: words come in bursts, so a
    /// common word's usual ups and downs are not news). Unlike SigniTrend's score, whose
    /// floors make three posts of a never-seen word about as unusual as five of a pair that
    /// comes up every hour, this tells a new word's build-up from a common word's noise.
    /// The usual count, its floor and its spread scale with how busy the watch is.
    #[cfg(test)]
    pub(crate) fn slow_surprise(&self, floor: f64) -> f64 {
        let (count, expected, variance) = self.slow_count_model(floor);
        surprise::overdispersed_surprise(count, expected, variance)
    }

    /// Whether the slow count stands out: [`Significance::slow_surprise`] reaches `level`
    /// (improbable) and the count is at least `lift` times the expected one (large). Why both:
    /// a word seen every hour that comes up six times in half an hour can be improbable
    /// without being news; a word seen twice a week that four people use in half an hour is.
    /// Cheap when it is not: the lift, then mostly the tail's first term.
    pub(crate) fn slow_stands_out(&self, floor: f64, level: f64, lift: f64) -> bool {
        let (count, expected, variance) = self.slow_count_model(floor);
        count >= lift * expected
            && surprise::overdispersed_surprise_reaches(count, expected, variance, level)
    }

    /// The slow count (rounded), its expected value and its variance, as a count of posts.
    /// Why the `slow_dispersion` factor: the decayed count of a Poisson stream has a variance
    /// of its mean / (1 + keep) (old posts weigh less than one), so the decayed count and its
    /// mean times (1 + keep) have a Poisson count's spread; without it, a build-up of four
    /// posts of a rare word in half an hour would look like three.
    fn slow_count_model(&self, floor: f64) -> (f64, f64, f64) {
        let dispersion = self.slow_dispersion;
        let expected = self.slow_expected.max(floor) * self.slow_ratio * dispersion;
        // A busier watch multiplies the rate, so the variance of a count scales as its mean.
        let variance = self.slow_variance * self.slow_ratio * dispersion * dispersion;
        ((self.slow_count * dispersion).round(), expected, variance)
    }
}

/// Field order of one bucket's scale: (count, EWMA, EW variance).
const COUNT: usize = 0;
const EWMA: usize = 1;
const EWMVAR: usize = 2;

/// A scale's three numbers of one bucket side by side.
type Cell = [f32; 3];

/// Index of each scale in a bucket's pair.
const FAST: usize = 0;
const SLOW: usize = 1;

/// Both scales of one bucket side by side (24 bytes), so that a key's lookup touches one cache
/// line, not one per scale.
type BucketCells = [Cell; 2];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "SigTableWire", try_from = "SigTableWire")]
pub(crate) struct SigTable {
    bits: u32,
    hashes: u32,
    alpha: f64,
    beta: f64,
    /// Per bucket, the fast scale (the epoch's count, its EWMA and EW variance) and the slow
    /// scale (the decayed count, its EWMA and EW variance).
    cells: Vec<BucketCells>,
    /// What the decayed count keeps of itself from one epoch to the next.
    slow_keep: f64,
    /// EWMA weight of a new epoch in the slow scale's baselines.
    slow_alpha: f64,
    /// `fast threshold / slow threshold`: the factor that puts slow significance in fast units.
    slow_gain: f64,
    /// Buckets that learn nothing when the current epoch closes.
    frozen: BucketSet,
    /// The watch's own posts on both scales: [fast count, fast EWMA, slow count, slow EWMA].
    volume: [f64; 4],
    /// Whether expected counts scale with how much busier than usual the watch is.
    relative_to_volume: bool,
    /// Epochs closed so far, and how many the slow scale needs before it is judged (its
    /// decayed counts and their EWMA start from zero, so until then every key looks unusual).
    epochs: u64,
    slow_warmup: u64,
    /// Every bucket with a non-zero number on either scale (derived from the cells, not
    /// serialised): a bucket of zeros stays zeros when an epoch closes, so only these change.
    live: BucketSet,
}

impl PartialEq for SigTable {
    /// Equal when every number is (`live` follows from the cells).
    fn eq(&self, other: &SigTable) -> bool {
        self.bits == other.bits
            && self.hashes == other.hashes
            && self.alpha == other.alpha
            && self.beta == other.beta
            && self.cells == other.cells
            && self.slow_keep == other.slow_keep
            && self.slow_alpha == other.slow_alpha
            && self.slow_gain == other.slow_gain
            && self.frozen == other.frozen
            && self.volume == other.volume
            && self.relative_to_volume == other.relative_to_volume
            && self.epochs == other.epochs
            && self.slow_warmup == other.slow_warmup
    }
}

/// Whether every number of a cell is +0.0 (then learning from it changes nothing).
fn is_zero(cell: &Cell) -> bool {
    cell.iter().all(|number| number.to_bits() == 0)
}

/// The two time scales of a [`SigTable`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scales {
    /// EWMA weight of a new epoch in the baselines.
    pub(crate) alpha: f64,
    pub(crate) beta: f64,
    /// Half-life of the slow (decayed) count, in epochs.
    pub(crate) slow_half_life: f64,
    /// EWMA weight of a new epoch in the slow scale's baselines.
    pub(crate) slow_alpha: f64,
    /// `threshold / slow_threshold` (0: the slow scale is off).
    pub(crate) slow_gain: f64,
    /// Judge keys against their usual share of the watch's posts.
    pub(crate) relative_to_volume: bool,
    /// Epochs closed before the slow scale is judged.
    pub(crate) slow_warmup: u64,
}

impl SigTable {
    pub(crate) fn new(bits: u32, hashes: u32, scales: Scales) -> SigTable {
        let size = 1usize << bits;
        SigTable {
            bits,
            hashes,
            alpha: scales.alpha,
            beta: scales.beta,
            cells: vec![[[0.0; 3]; 2]; size],
            slow_keep: 0.5f64.powf(1.0 / scales.slow_half_life),
            slow_alpha: scales.slow_alpha,
            slow_gain: scales.slow_gain,
            frozen: BucketSet::new(size),
            volume: [0.0; 4],
            relative_to_volume: scales.relative_to_volume,
            epochs: 0,
            slow_warmup: scales.slow_warmup,
            live: BucketSet::new(size),
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
    fn scale_score(&self, cell: Cell, ratio: f64) -> f64 {
        let (count, ewma) = (f64::from(cell[COUNT]), f64::from(cell[EWMA]) * ratio);
        let deviation = f64::from(cell[EWMVAR]).max(0.0).sqrt() * ratio;
        (count - ewma.max(self.beta)) / (deviation + self.beta)
    }

    /// The bucket's significance: the more unusual of its two scales (slow in fast units);
    /// `ratios` are [`SigTable::volume_ratios`].
    fn score_of(&self, bucket: usize, (fast_ratio, slow_ratio): (f64, f64)) -> Significance {
        let [cell, slow] = self.cells[bucket];
        let fast = self.scale_score(cell, fast_ratio);
        // The baseline and count stay per epoch (what a story's posts per epoch compare with);
        // only the score says which scale is more unusual.
        let slow_on = self.slow_gain > 0.0 && self.epochs >= self.slow_warmup;
        if !slow_on {
            // The slow scale is off (or warming up): SigniTrend's single scale.
            return Significance {
                score: fast,
                baseline: f64::from(cell[EWMA]),
                count: f64::from(cell[COUNT]),
                burst: fast,
                slow_count: 0.0,
                slow_expected: 0.0,
                slow_ratio: 0.0,
                slow_dispersion: 1.0,
                slow_variance: 0.0,
            };
        }
        Significance {
            score: fast.max(self.slow_gain * self.scale_score(slow, slow_ratio)),
            baseline: f64::from(cell[EWMA]),
            count: f64::from(cell[COUNT]),
            burst: fast,
            slow_count: f64::from(slow[COUNT]),
            slow_expected: f64::from(slow[EWMA]),
            slow_ratio,
            slow_dispersion: 1.0 + self.slow_keep,
            slow_variance: f64::from(slow[EWMVAR]).max(0.0),
        }
    }

    /// Adds one occurrence of `key` to the current epoch; returns its new significance.
    #[cfg(test)]
    pub(crate) fn add(&mut self, key: u64) -> Significance {
        let mut scores = Vec::new();
        self.add_all([key].into_iter(), &mut Vec::new(), &mut scores);
        scores[0]
    }

    /// Adds one occurrence of each key, one after the other, and appends each key's new
    /// significance to `scores` (as calling `add` for each key in turn). `buckets` is scratch.
    pub(crate) fn add_all(
        &mut self,
        keys: impl Iterator<Item = u64>,
        buckets: &mut Vec<usize>,
        scores: &mut Vec<Significance>,
    ) {
        let rounds = self.hashes.max(1) as usize;
        buckets.clear();
        for key in keys {
            buckets.extend((0..rounds as u32).map(|round| self.bucket(key, round)));
        }
        let slow_on = self.slow_gain > 0.0;
        // Read every bucket first: these loads do not depend on each other, so their cache
        // misses overlap, and the dependent adds and scores below find the buckets in cache.
        let touched = buckets.iter().fold(0, |all, bucket| {
            all ^ self.cells[*bucket][FAST][COUNT].to_bits()
        });
        std::hint::black_box(touched);
        let ratios = self.volume_ratios();
        for key_buckets in buckets.chunks(rounds) {
            for bucket in key_buckets {
                let cells = &mut self.cells[*bucket];
                cells[FAST][COUNT] += 1.0;
                if slow_on {
                    cells[SLOW][COUNT] += 1.0;
                }
                self.live.insert(*bucket);
            }
            scores.push(self.least_significant(key_buckets, ratios));
        }
    }

    /// The least significant of a key's buckets (the first of equally significant ones).
    fn least_significant(&self, buckets: &[usize], ratios: (f64, f64)) -> Significance {
        let mut least = self.score_of(buckets[0], ratios);
        for bucket in &buckets[1..] {
            let now = self.score_of(*bucket, ratios);
            if now.score.total_cmp(&least.score).is_lt() {
                least = now;
            }
        }
        least
    }

    /// The significance of `key` in the current epoch, without counting anything.
    pub(crate) fn significance(&self, key: u64) -> Significance {
        let mut buckets = [0; 4];
        let rounds = (self.hashes.max(1) as usize).min(buckets.len());
        for (round, bucket) in buckets[..rounds].iter_mut().enumerate() {
            *bucket = self.bucket(key, round as u32);
        }
        if rounds < self.hashes as usize {
            // More hashes than configurations allow (a hand-made snapshot): no fixed buffer.
            let buckets: Vec<usize> = (0..self.hashes)
                .map(|round| self.bucket(key, round))
                .collect();
            return self.least_significant(&buckets, self.volume_ratios());
        }
        self.least_significant(&buckets[..rounds], self.volume_ratios())
    }

    /// Closing the current epoch will not learn from `key`'s buckets on either scale (used
    /// while the key is a young candidate story's). Colliding keys share it.
    pub(crate) fn freeze(&mut self, key: u64) {
        for round in 0..self.hashes {
            let bucket = self.bucket(key, round);
            self.frozen.insert(bucket);
        }
    }

    /// Folds the current epoch's counts into the EWMA and EW variance, and clears them.
    pub(crate) fn close_epoch(&mut self) {
        let (alpha, slow_alpha) = (self.alpha as f32, self.slow_alpha as f32);
        let keep = self.slow_keep as f32;
        let learn = |count: f32, cell: &mut Cell, alpha: f32| {
            let delta = count - cell[EWMA];
            cell[EWMA] += alpha * delta;
            cell[EWMVAR] = (1.0 - alpha) * (cell[EWMVAR] + alpha * delta * delta);
        };
        let slow_on = self.slow_gain > 0.0;
        // A frozen bucket counts as having seen its usual count (as SigniTrend's own
        // "do not learn from a burst" does); its slow scale learns nothing. A bucket of zeros
        // (not live) learns zeros, so it is skipped.
        for word_index in 0..self.live.word_count() {
            let word = self.live.word(word_index);
            for bucket in bits_of(word_index * 64, word) {
                let frozen = self.frozen.contains(bucket);
                let [cell, slow] = &mut self.cells[bucket];
                let count = if frozen { cell[EWMA] } else { cell[COUNT] };
                learn(count, cell, alpha);
                cell[COUNT] = 0.0;
                if slow_on {
                    if !frozen {
                        learn(slow[COUNT], slow, slow_alpha);
                    }
                    slow[COUNT] *= keep;
                }
                if is_zero(cell) && is_zero(slow) {
                    self.live.remove(bucket);
                }
            }
        }
        self.frozen.clear();
        let [fast, fast_usual, slow, slow_usual] = &mut self.volume;
        *fast_usual += self.alpha * (*fast - *fast_usual);
        *slow_usual += self.slow_alpha * (*slow - *slow_usual);
        *fast = 0.0;
        *slow *= self.slow_keep;
        self.epochs += 1;
    }

    /// Bytes held by the table's buckets (fixed at construction).
    /// The flags (frozen, live) count as one byte per bucket, an upper bound of their two bits.
    pub(crate) fn memory_bytes(&self) -> usize {
        let buckets = self.cells.capacity();
        buckets * std::mem::size_of::<BucketCells>() + buckets
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

    /// A table with the fast scale of half-life 24 epochs and the given slow scale (6-epoch
    /// decayed counts, baselines of `slow_baseline_half_life` epochs).
    fn two_scale_table(
        slow_baseline_half_life: f64,
        slow_gain: f64,
        relative_to_volume: bool,
        slow_warmup: u64,
    ) -> SigTable {
        let scales = Scales {
            alpha: DetectorConfig::alpha(24.0),
            beta: 1.0,
            slow_half_life: 6.0,
            slow_alpha: DetectorConfig::alpha(slow_baseline_half_life),
            slow_gain,
            relative_to_volume,
            slow_warmup,
        };
        SigTable::new(12, 2, scales)
    }

    fn table() -> SigTable {
        // A slow scale that never wins, so these tests see SigniTrend's single scale.
        let scales = Scales {
            alpha: DetectorConfig::alpha(4.0),
            beta: 1.0,
            slow_half_life: 6.0,
            slow_alpha: DetectorConfig::alpha(4.0),
            slow_gain: 0.0,
            relative_to_volume: false,
            slow_warmup: 0,
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
    fn the_slow_scale_is_silent_until_warm_and_scores_surprise_by_volume() {
        let mut table = two_scale_table(24.0, 3.0, true, 20);
        for epoch in 0..40 {
            let now = table.add(9);
            if epoch < 20 {
                assert_eq!(now.score, now.burst, "epoch {epoch}: {now:?}");
                assert_eq!((now.slow_count, now.slow_ratio), (0.0, 0.0), "{now:?}");
            } else {
                assert!(now.slow_count > 1.0 && now.slow_ratio >= 1.0, "{now:?}");
            }
            table.close_epoch();
        }
        // Once warm, a never-seen key's third post in a row is improbable for the floor rate,
        // and less so when the watch is three times busier than usual. The decayed count and
        // its mean are judged as a count of posts: both × (1 + keep), so 3 → 6 against 0.19.
        let mut fresh = table.significance(77);
        for _ in 0..3 {
            fresh = table.add(77);
        }
        let quiet = fresh.slow_surprise(0.1);
        let dispersion = 1.0 + 0.5f64.powf(1.0 / 6.0);
        let expected = surprise::poisson_surprise(6.0, 0.1 * dispersion);
        assert!((quiet - expected).abs() < 1e-9 && quiet > 7.0, "{fresh:?}");
        let busy = Significance {
            slow_ratio: 3.0,
            ..fresh
        };
        assert!(busy.slow_surprise(0.1) < quiet - 1.0, "{busy:?}");
    }

    #[test]
    fn a_slow_build_stands_out_on_the_slow_scale_only() {
        let mut table = two_scale_table(24.0, 2.0, true, 0);
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

    #[test]
    fn a_rare_word_stands_out_where_a_common_one_is_only_improbable() {
        let mut table = two_scale_table(144.0, 3.0, false, 0);
        // Key 5 comes up once an epoch (a common word), key 9 once every 100 epochs (rare).
        for epoch in 0..2000 {
            table.add(5);
            if epoch % 100 == 0 {
                table.add(9);
            }
            table.close_epoch();
        }
        // Half an hour in which key 5 comes up four times as often as usual (four posts an
        // epoch) and key 9 five times in all.
        let (mut common, mut rare) = (table.significance(5), table.significance(9));
        for epoch in 0..6 {
            for _ in 0..4 {
                common = table.add(5);
            }
            if epoch != 3 {
                rare = table.add(9);
            }
            // From its second post on, key 9 is a candidate story's: its baseline is frozen.
            if epoch > 0 {
                table.freeze(9);
            }
            table.close_epoch();
        }
        // Both counts are improbable; only the rare word's is also ten times its usual one.
        assert!(common.slow_surprise(0.1) > 4.8, "{common:?}");
        assert!(!common.slow_stands_out(0.1, 4.8, 10.0), "{common:?}");
        assert!(common.slow_stands_out(0.1, 4.8, 2.0), "{common:?}");
        assert!(rare.slow_stands_out(0.1, 4.8, 10.0), "{rare:?}");
    }
}
