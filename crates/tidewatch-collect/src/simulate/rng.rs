//! The simulator's random stream: SplitMix64, seeded from (seed, brand, slot).
//!
//! Guarantees: the same seed gives the same sequence on every platform and in every version of
//! this crate (no dependency on an external generator whose algorithm could change), and
//! [`SimRng::for_slot`] gives independent streams per (brand, minute), so the posts of one
//! minute do not depend on which other minutes were generated.

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct SimRng {
    state: u64,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SimRng {
    pub(crate) fn new(seed: u64) -> SimRng {
        SimRng { state: mix(seed) }
    }

    /// The stream of one (seed, stream, slot): e.g. one brand's one minute.
    pub(crate) fn for_slot(seed: u64, stream: u64, slot: i64) -> SimRng {
        let slot = slot as u64;
        SimRng::new(mix(seed ^ mix(stream.wrapping_add(0x5151))) ^ mix(slot ^ 0xa5a5_a5a5))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.state)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..bound` (0 when `bound` is 0).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    pub(crate) fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One of `words`, uniformly.
    pub(crate) fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len() as u64) as usize]
    }

    /// A Poisson draw (Knuth's method; `mean` is small here, at most a few tens).
    pub(crate) fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit && count < 1000 {
            product *= self.unit();
            count += 1;
        }
        count
    }

    /// An index drawn with the given relative weights.
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut target = self.unit() * total;
        for (index, weight) in weights.iter().enumerate() {
            if target < *weight {
                return index;
            }
            target -= weight;
        }
        weights.len().saturating_sub(1)
    }
}

/// A stable hash of a text (FNV-1a, finalised), for per-handle facts such as followers.
pub(crate) fn text_hash(text: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    mix(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let first: Vec<u64> = (0..4)
            .map(|_| SimRng::for_slot(7, 1, 99).next_u64())
            .collect();
        assert!(first.windows(2).all(|pair| pair[0] == pair[1]));
        assert_ne!(
            SimRng::for_slot(7, 1, 99).next_u64(),
            SimRng::for_slot(7, 1, 100).next_u64()
        );
        assert_ne!(
            SimRng::for_slot(7, 1, 99).next_u64(),
            SimRng::for_slot(7, 2, 99).next_u64()
        );
    }

    #[test]
    fn draws_stay_in_range_and_poisson_has_its_mean() {
        let mut rng = SimRng::new(3);
        let mut total = 0;
        for _ in 0..20_000 {
            assert!(rng.below(7) < 7);
            let unit = rng.unit();
            assert!((0.0..1.0).contains(&unit));
            total += rng.poisson(2.5);
        }
        let mean = total as f64 / 20_000.0;
        assert!((mean - 2.5).abs() < 0.1, "{mean}");
        assert_eq!(rng.weighted(&[0.0, 1.0, 0.0]), 1);
    }
}
