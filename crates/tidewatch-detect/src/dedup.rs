//! Near-duplicate detection of post texts with SimHash.
//!
//! Guarantees: a post's signature depends only on its cleaned tokens (order-insensitive); two
//! posts whose signatures differ in at most `max_distance` bits are near-duplicates. The window
//! of remembered signatures has a fixed capacity (oldest forgotten first), so memory is bounded
//! and the answer depends only on the sequence of posts seen.

use serde::{Deserialize, Serialize};

use crate::tokens::stable_hash;

/// Fewest tokens a post needs before it is compared at all: short texts collide by chance.
pub(crate) const MIN_DEDUP_TOKENS: usize = 3;

/// The 64-bit SimHash of a set of tokens (each token weighs 1).
pub(crate) fn simhash<S: AsRef<str>>(tokens: &[S]) -> u64 {
    let mut votes = [0i32; 64];
    for token in tokens {
        let hash = stable_hash(token.as_ref().as_bytes());
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
pub(crate) struct DedupWindow {
    capacity: usize,
    max_distance: u32,
    next: usize,
    /// (signature, cluster representative, story the post was counted in).
    entries: Vec<(u64, u64, Option<u64>)>,
}

impl DedupWindow {
    pub(crate) fn new(capacity: usize, max_distance: u32) -> DedupWindow {
        DedupWindow {
            capacity,
            max_distance,
            next: 0,
            entries: Vec::new(),
        }
    }

    /// Records the post's tokens; returns its cluster (`None` when the post is too short to
    /// compare): the representative of the earlier post it nearly duplicates (then it is spread,
    /// not new vocabulary), or its own signature when it is new.
    pub(crate) fn check<S: AsRef<str>>(&mut self, tokens: &[S]) -> Option<Cluster> {
        if self.capacity == 0 || tokens.len() < MIN_DEDUP_TOKENS {
            return None;
        }
        let signature = simhash(tokens);
        let found = self
            .entries
            .iter()
            .filter(|(seen, _, _)| (seen ^ signature).count_ones() <= self.max_distance)
            .map(|(seen, representative, story)| {
                ((seen ^ signature).count_ones(), *representative, *story)
            })
            .min();
        let entry = match found {
            Some((_, representative, story)) => (signature, representative, story),
            None => (signature, signature, None),
        };
        let slot = self.next;
        if self.entries.len() < self.capacity {
            self.entries.push(entry);
        } else {
            self.entries[slot] = entry;
        }
        self.next = (self.next + 1) % self.capacity;
        Some(Cluster {
            representative: entry.1,
            copy: found.is_some(),
            story: entry.2,
            slot,
        })
    }

    /// Records that the post remembered at `slot` was counted in `story`, so its copies join it.
    pub(crate) fn claim(&mut self, slot: usize, story: u64) {
        if let Some(entry) = self.entries.get_mut(slot) {
            entry.2 = Some(story);
        }
    }

    /// Forgets a story (it resolved), so that later copies start afresh.
    pub(crate) fn release(&mut self, story: u64) {
        for entry in &mut self.entries {
            if entry.2 == Some(story) {
                entry.2 = None;
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
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
