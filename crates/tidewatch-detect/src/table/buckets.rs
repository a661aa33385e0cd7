//! A fixed-size set of bucket indexes, one bit per bucket.
//!
//! Guarantees: holds exactly the indexes inserted since the last clear (or removal); its size
//! is fixed at construction (`size` bits, rounded up to whole 64-bit words), whatever is
//! inserted; iteration is in ascending index order.

/// A set of bucket indexes below a fixed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BucketSet {
    words: Vec<u64>,
}

impl BucketSet {
    pub(crate) fn new(size: usize) -> BucketSet {
        BucketSet {
            words: vec![0; size.div_ceil(64)],
        }
    }

    pub(crate) fn insert(&mut self, bucket: usize) {
        self.words[bucket / 64] |= 1 << (bucket % 64);
    }

    pub(crate) fn remove(&mut self, bucket: usize) {
        self.words[bucket / 64] &= !(1 << (bucket % 64));
    }

    pub(crate) fn contains(&self, bucket: usize) -> bool {
        self.words[bucket / 64] & (1 << (bucket % 64)) != 0
    }

    pub(crate) fn clear(&mut self) {
        self.words.fill(0);
    }

    /// Number of 64-bit words (bucket `b` is bit `b % 64` of word `b / 64`).
    pub(crate) fn word_count(&self) -> usize {
        self.words.len()
    }

    /// The word holding buckets `64 × index ..` (see [`bits_of`]).
    pub(crate) fn word(&self, index: usize) -> u64 {
        self.words[index]
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// The indexes of the set bits of `word`, offset by `base`, in ascending order.
pub(crate) fn bits_of(base: usize, mut word: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if word == 0 {
            return None;
        }
        let bit = word.trailing_zeros() as usize;
        word &= word - 1;
        Some(base + bit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        #[test]
        fn holds_what_was_inserted(
            operations in proptest::collection::vec((0usize..300, any::<bool>()), 0..200),
        ) {
            let mut set = BucketSet::new(300);
            let mut reference = BTreeSet::new();
            for (bucket, insert) in operations {
                if insert {
                    set.insert(bucket);
                    reference.insert(bucket);
                } else {
                    set.remove(bucket);
                    reference.remove(&bucket);
                }
            }
            let listed: Vec<usize> = (0..set.word_count())
                .flat_map(|index| bits_of(index * 64, set.word(index)))
                .collect();
            prop_assert_eq!(listed, reference.iter().copied().collect::<Vec<_>>());
            for bucket in 0..300 {
                prop_assert_eq!(set.contains(bucket), reference.contains(&bucket));
            }
            prop_assert_eq!(set.memory_bytes(), 5 * 8);
            set.clear();
            prop_assert!((0..set.word_count()).all(|index| set.word(index) == 0));
        }
    }
}
