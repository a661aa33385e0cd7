//! Near-duplicate detection of post texts with SimHash.
//!
//! Guarantees: a post's signature depends only on its cleaned tokens (order-insensitive); two
//! posts whose signatures differ in at most `max_distance` bits are near-duplicates. The window
//! of remembered signatures has a fixed capacity (oldest forgotten first), so memory is bounded
//! and the answer depends only on the sequence of posts seen.

use serde::{Deserialize, Serialize};

#[cfg(test)]
use crate::tokens::stable_hash;

/// Fewest tokens a post needs before it is compared at all: short texts collide by chance.
pub(crate) const MIN_DEDUP_TOKENS: usize = 3;

/// The 64-bit SimHash of a set of tokens (each token weighs 1).
#[cfg(test)]
pub(crate) fn simhash<S: AsRef<str>>(tokens: &[S]) -> u64 {
    let hashes: Vec<u64> = tokens
        .iter()
        .map(|token| stable_hash(token.as_ref().as_bytes()))
        .collect();
    simhash_of_hashes(&hashes)
}

/// The 64-bit SimHash of a set of tokens given by their [`stable_hash`](crate::tokens::stable_hash)es:
/// bit `b` is set when more than half of the hashes have bit `b` set (each token votes +1 or −1).
pub(crate) fn simhash_of_hashes(hashes: &[u64]) -> u64 {
    if hashes.len() > MAX_BYTE_COUNTED_TOKENS {
        return simhash_by_votes(hashes);
    }
    // Bit-sliced counting: byte `j` of `ones[k]` counts the hashes with bit `8j + k` set.
    const BYTES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let mut ones = [0u64; 8];
    for hash in hashes {
        for (shift, counts) in ones.iter_mut().enumerate() {
            *counts += (hash >> shift) & BYTES;
        }
    }
    // More than half: a count of at least `least`; every count is below 128 and `least` at most
    // 64, so adding 128 to each byte and subtracting `least` never borrows across bytes and
    // leaves a byte's top bit set exactly when its count reaches `least`.
    let least = (hashes.len() / 2 + 1) as u64;
    ones.iter()
        .enumerate()
        .fold(0u64, |signature, (shift, counts)| {
            let reached = ((counts | TOPS) - BYTES * least) & TOPS;
            signature | reached >> (7 - shift)
        })
}

/// Most tokens [`simhash_of_hashes`] counts in bytes (their counts stay below 128).
const MAX_BYTE_COUNTED_TOKENS: usize = 64;

/// SimHash by one vote per token and bit (any number of tokens).
fn simhash_by_votes(hashes: &[u64]) -> u64 {
    let mut votes = [0i64; 64];
    for hash in hashes {
        for (bit, vote) in votes.iter_mut().enumerate() {
            if hash >> bit & 1 == 1 {
                *vote += 1;
            } else {
                *vote -= 1;
            }
        }
    }
    votes
        .iter()
        .enumerate()
        .filter(|(_, vote)| **vote > 0)
        .fold(0u64, |signature, (bit, _)| signature | 1 << bit)
}

/// Non-zero exactly when one of the four 16-bit quarters of `bits` is zero (SWAR).
fn zero_quarters(bits: u64) -> u64 {
    const LOW: u64 = 0x0001_0001_0001_0001;
    const HIGH: u64 = 0x8000_8000_8000_8000;
    bits.wrapping_sub(LOW) & !bits & HIGH
}

/// The near-duplicate cluster of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cluster {
    /// The signature of the cluster's first post.
    pub(crate) representative: u64,
    /// Whether the post is a copy of an earlier one (false: it starts its own cluster).
    pub(crate) copy: bool,
    /// The story the post it copies was counted in (the `seq` of a story of the watch).
    pub(crate) story: Option<u64>,
    /// Where the post is remembered, for [`DedupWindow::claim`].
    pub(crate) slot: usize,
}

/// A ring of recent signatures, each with the signature of its cluster's first post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "DedupWindowWire", from = "DedupWindowWire")]
pub(crate) struct DedupWindow {
    capacity: usize,
    max_distance: u32,
    next: usize,
    /// The remembered posts' signatures (apart, so that scanning them is fast).
    signatures: Vec<u64>,
    /// For each signature: (cluster representative, story the post was counted in).
    clusters: Vec<(u64, Option<u64>)>,
}

/// The serialised form of a [`DedupWindow`], as snapshots always held it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DedupWindowWire {
    capacity: usize,
    max_distance: u32,
    next: usize,
    /// (signature, cluster representative, story the post was counted in).
    entries: Vec<(u64, u64, Option<u64>)>,
}

impl From<DedupWindow> for DedupWindowWire {
    fn from(window: DedupWindow) -> DedupWindowWire {
        let entries = window.signatures.iter().zip(&window.clusters);
        DedupWindowWire {
            capacity: window.capacity,
            max_distance: window.max_distance,
            next: window.next,
            entries: entries
                .map(|(signature, (representative, story))| (*signature, *representative, *story))
                .collect(),
        }
    }
}

impl From<DedupWindowWire> for DedupWindow {
    fn from(wire: DedupWindowWire) -> DedupWindow {
        DedupWindow {
            capacity: wire.capacity,
            max_distance: wire.max_distance,
            next: wire.next,
            signatures: wire.entries.iter().map(|entry| entry.0).collect(),
            clusters: wire
                .entries
                .iter()
                .map(|entry| (entry.1, entry.2))
                .collect(),
        }
    }
}

impl DedupWindow {
    pub(crate) fn new(capacity: usize, max_distance: u32) -> DedupWindow {
        DedupWindow {
            capacity,
            max_distance,
            next: 0,
            signatures: Vec::new(),
            clusters: Vec::new(),
        }
    }

    /// Records the post's tokens; returns its cluster (`None` when the post is too short to
    /// compare): the representative of the earlier post it nearly duplicates (then it is spread,
    /// not new vocabulary), or its own signature when it is new.
    #[cfg(test)]
    pub(crate) fn check<S: AsRef<str>>(&mut self, tokens: &[S]) -> Option<Cluster> {
        let hashes: Vec<u64> = tokens
            .iter()
            .map(|token| stable_hash(token.as_ref().as_bytes()))
            .collect();
        self.check_hashes(&hashes)
    }

    /// [`DedupWindow::check`] of a post given by its tokens' [`stable_hash`](crate::tokens::stable_hash)es.
    pub(crate) fn check_hashes(&mut self, hashes: &[u64]) -> Option<Cluster> {
        if self.capacity == 0 || hashes.len() < MIN_DEDUP_TOKENS {
            return None;
        }
        let signature = simhash_of_hashes(hashes);
        // The nearest remembered post within `max_distance` (ties: least representative, then
        // least story; equal candidates are identical).
        let mut found: Option<(u32, u64, Option<u64>)> = None;
        if self.may_be_near(signature) {
            for (seen, (representative, story)) in self.signatures.iter().zip(&self.clusters) {
                let distance = (seen ^ signature).count_ones();
                if distance <= self.max_distance {
                    let candidate = (distance, *representative, *story);
                    if found.is_none_or(|best| candidate < best) {
                        found = Some(candidate);
                    }
                }
            }
        }
        let (representative, story) = match found {
            Some((_, representative, story)) => (representative, story),
            None => (signature, None),
        };
        let slot = self.next;
        if self.signatures.len() < self.capacity {
            self.signatures.push(signature);
            self.clusters.push((representative, story));
        } else {
            self.signatures[slot] = signature;
            self.clusters[slot] = (representative, story);
        }
        self.next = (self.next + 1) % self.capacity;
        Some(Cluster {
            representative,
            copy: found.is_some(),
            story,
            slot,
        })
    }

    /// False when no remembered signature is within `max_distance` of `signature` (true: maybe).
    /// Within 3 bits, one of the four 16-bit quarters is the same (pigeonhole), which is
    /// cheaper to test over the whole window than counting bits.
    fn may_be_near(&self, signature: u64) -> bool {
        if self.max_distance >= 4 {
            return true;
        }
        let zero_quarters = self
            .signatures
            .iter()
            .fold(0, |any, seen| any | zero_quarters(seen ^ signature));
        zero_quarters != 0
    }

    /// Records that the post remembered at `slot` was counted in `story`, so its copies join it.
    pub(crate) fn claim(&mut self, slot: usize, story: u64) {
        if let Some(cluster) = self.clusters.get_mut(slot) {
            cluster.1 = Some(story);
        }
    }

    /// Forgets a story (it resolved), so that later copies start afresh.
    pub(crate) fn release(&mut self, story: u64) {
        for cluster in &mut self.clusters {
            if cluster.1 == Some(story) {
                cluster.1 = None;
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.signatures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::clean_tokens;

    fn tokens(text: &str) -> Vec<String> {
        clean_tokens(text, 3, 32)
    }

    #[test]
    fn copies_and_light_edits_are_duplicates() {
        let mut window = DedupWindow::new(16, 3);
        let original = tokens("my flight to boston was cancelled and nobody at the gate will help");
        let new = |signature, slot| {
            Some(Cluster {
                representative: signature,
                copy: false,
                story: None,
                slot,
            })
        };
        assert_eq!(window.check(&original), new(simhash(&original), 0));
        window.claim(0, 7);
        let copy = tokens("RT @bob: my flight to boston was cancelled and nobody at the gate will help https://t.co/x");
        let copy_of = Some(Cluster {
            representative: simhash(&original),
            copy: true,
            story: Some(7),
            slot: 1,
        });
        assert_eq!(window.check(&copy), copy_of);
        let other = tokens("loved the snacks and the legroom on my trip to denver today");
        assert_eq!(window.check(&other), new(simhash(&other), 2));
        window.release(7);
        assert_eq!(window.check(&copy).unwrap().story, None);
    }

    #[test]
    fn order_does_not_matter_and_short_posts_are_never_duplicates() {
        assert_eq!(
            simhash(&["alpha", "beta", "gamma"]),
            simhash(&["gamma", "alpha", "beta"])
        );
        let mut window = DedupWindow::new(16, 3);
        assert_eq!(window.check(&["delayed", "again"]), None);
        assert_eq!(window.check(&["delayed", "again"]), None);
    }

    proptest::proptest! {
        #[test]
        fn byte_counted_simhash_is_the_vote(hashes in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..=64)) {
            proptest::prop_assert_eq!(simhash_of_hashes(&hashes), simhash_by_votes(&hashes));
        }

        #[test]
        fn byte_counted_simhash_is_the_vote_on_skewed_bits(
            hashes in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..=64),
            mask: u64,
        ) {
            // Many equal bits, so that counts sit on both sides of the majority.
            let skewed: Vec<u64> = hashes.iter().map(|hash| hash & mask).collect();
            proptest::prop_assert_eq!(simhash_of_hashes(&skewed), simhash_by_votes(&skewed));
            let all_set: Vec<u64> = hashes.iter().map(|hash| hash | mask).collect();
            proptest::prop_assert_eq!(simhash_of_hashes(&all_set), simhash_by_votes(&all_set));
        }

        #[test]
        fn zero_quarter_test_is_exact(bits: u64, clear in 0usize..5) {
            // Clear one quarter (or none) of random bits, then compare with a plain check.
            let bits = match clear {
                4 => bits,
                quarter => bits & !(0xffff << (16 * quarter)),
            };
            let plain = (0..4).any(|quarter| (bits >> (16 * quarter)) & 0xffff == 0);
            proptest::prop_assert_eq!(zero_quarters(bits) != 0, plain);
        }

        #[test]
        fn within_three_bits_a_quarter_is_equal(a: u64, flips in proptest::collection::vec(0u32..64, 0..4)) {
            let b = flips.iter().fold(a, |b, bit| b ^ (1 << bit));
            proptest::prop_assert!((a ^ b).count_ones() <= 3);
            proptest::prop_assert!(zero_quarters(a ^ b) != 0);
        }
    }

    #[test]
    fn snapshots_keep_one_entry_per_post() {
        let mut window = DedupWindow::new(4, 3);
        let words = tokens("alpha beta gamma delta");
        window.check(&words);
        window.claim(0, 5);
        let json = serde_json::to_value(&window).unwrap();
        let signature = simhash(&words);
        let expected = serde_json::json!({
            "capacity": 4, "max_distance": 3, "next": 1, "entries": [[signature, signature, 5]]
        });
        assert_eq!(json, expected);
        let restored: DedupWindow = serde_json::from_value(json).unwrap();
        assert_eq!(restored, window);
    }

    #[test]
    fn window_is_bounded() {
        let mut window = DedupWindow::new(8, 3);
        for index in 0..100 {
            let text = format!("unique{index} words{index} here{index} more{index}");
            window.check(&tokens(&text));
        }
        assert_eq!(window.len(), 8);
    }
}
