//! SigniTrend's fixed-size hashed table of term and pair statistics.
//!
//! Guarantees: the table has exactly `2^bits` buckets from construction on, whatever keys are
//! fed to it (memory independent of vocabulary); each key maps to `hashes` buckets and its
//! estimates are the least significant of those (count-min style, so collisions only ever make
//! a key look less unusual); epoch closing updates each bucket's EWMA and EW variance with
//! the epoch's count and clears the counts. Significance is
//! `(x − max(ewma, β)) / (sqrt(ewmvar) + β)`.

use serde::{Deserialize, Serialize};

use crate::tokens::mix;

/// How unusual a key's count is in the current epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Significance {
    pub(crate) score: f64,
    /// The expected count per epoch (EWMA) of the key.
    pub(crate) baseline: f64,
    pub(crate) count: f64,
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
}

impl SigTable {
    pub(crate) fn new(bits: u32, hashes: u32, alpha: f64, beta: f64) -> SigTable {
        let size = 1usize << bits;
        SigTable {
            bits,
            hashes,
            alpha,
            beta,
            count: vec![0.0; size],
            ewma: vec![0.0; size],
            ewmvar: vec![0.0; size],
        }
    }

    fn bucket(&self, key: u64, round: u32) -> usize {
        let hash = mix(key ^ u64::from(round).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        (hash >> (64 - self.bits)) as usize
    }

    fn score_of(&self, bucket: usize) -> Significance {
        let count = f64::from(self.count[bucket]);
        let ewma = f64::from(self.ewma[bucket]);
        let ewmvar = f64::from(self.ewmvar[bucket]).max(0.0);
        Significance {
            score: (count - ewma.max(self.beta)) / (ewmvar.sqrt() + self.beta),
            baseline: ewma,
            count,
        }
    }

    /// Adds one occurrence of `key` to the current epoch; returns its new significance.
    pub(crate) fn add(&mut self, key: u64) -> Significance {
        for round in 0..self.hashes {
            let bucket = self.bucket(key, round);
            self.count[bucket] += 1.0;
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

    /// Makes the current epoch's count of `key` its expected count, so closing the epoch does
    /// not learn from it (used while the key is a candidate story's). Colliding keys share it.
    pub(crate) fn freeze(&mut self, key: u64) {
        for round in 0..self.hashes {
            let bucket = self.bucket(key, round);
            self.count[bucket] = self.ewma[bucket];
        }
    }

    /// Folds the current epoch's counts into the EWMA and EW variance, and clears them.
    pub(crate) fn close_epoch(&mut self) {
        let alpha = self.alpha as f32;
        for ((count, ewma), ewmvar) in self
            .count
            .iter_mut()
            .zip(self.ewma.iter_mut())
            .zip(self.ewmvar.iter_mut())
        {
            let delta = *count - *ewma;
            *ewma += alpha * delta;
            *ewmvar = (1.0 - alpha) * (*ewmvar + alpha * delta * delta);
            *count = 0.0;
        }
    }

    /// Bytes held by the table's buckets (fixed at construction).
    pub(crate) fn memory_bytes(&self) -> usize {
        (self.count.capacity() + self.ewma.capacity() + self.ewmvar.capacity())
            * std::mem::size_of::<f32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DetectorConfig;

    fn table() -> SigTable {
        SigTable::new(12, 2, DetectorConfig::alpha(4.0), 1.0)
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
        assert_eq!(before, 3 * 4096 * 4);
    }
}
