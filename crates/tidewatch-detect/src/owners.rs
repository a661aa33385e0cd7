//! Which story owns each significant key of a watch.
//!
//! Guarantees: [`Owners`] answers exactly as the `BTreeMap` it wraps (it serialises as that map,
//! so snapshots are unchanged, and two are equal when their maps are); a fixed-size bitset in
//! front of the map answers "not owned" for most keys without searching it. The bitset never
//! says "not owned" for an owned key: a key's bit is set when it is inserted, and bits are only
//! cleared by rebuilding the set from the map.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bits of the ownership filter (a power of two): 8× the most keys a watch owns by default
/// (32 stories × 16 keys), so that even a full watch filters most keys out.
const FILTER_BITS: usize = 4096;

/// Significant key → the `seq` of the story that owns it.
#[derive(Debug, Clone)]
pub(crate) struct Owners {
    map: BTreeMap<u64, u64>,
    /// Bit `key % FILTER_BITS` is set for every key in `map` (and maybe for removed keys).
    filter: Box<[u64; FILTER_BITS / 64]>,
}

impl Owners {
    pub(crate) fn new() -> Owners {
        Owners {
            map: BTreeMap::new(),
            filter: Box::new([0; FILTER_BITS / 64]),
        }
    }

    fn bit(key: u64) -> (usize, u64) {
        let bit = key as usize % FILTER_BITS;
        (bit / 64, 1 << (bit % 64))
    }

    fn may_hold(&self, key: u64) -> bool {
        let (word, mask) = Owners::bit(key);
        self.filter[word] & mask != 0
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn get(&self, key: u64) -> Option<u64> {
        if !self.may_hold(key) {
            return None;
        }
        self.map.get(&key).copied()
    }

    pub(crate) fn contains(&self, key: u64) -> bool {
        self.may_hold(key) && self.map.contains_key(&key)
    }

    pub(crate) fn insert(&mut self, key: u64, seq: u64) {
        let (word, mask) = Owners::bit(key);
        self.filter[word] |= mask;
        self.map.insert(key, seq);
    }

    /// Forgets `keys` (a story's, when it is removed), then clears the bits of removed keys.
    pub(crate) fn remove_all(&mut self, keys: &[u64]) {
        for key in keys {
            self.map.remove(key);
        }
        self.rebuild_filter();
    }

    fn rebuild_filter(&mut self) {
        self.filter.fill(0);
        for key in self.map.keys() {
            let (word, mask) = Owners::bit(*key);
            self.filter[word] |= mask;
        }
    }
}

impl PartialEq for Owners {
    fn eq(&self, other: &Owners) -> bool {
        self.map == other.map
    }
}

impl Serialize for Owners {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Owners {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Owners, D::Error> {
        let mut owners = Owners::new();
        owners.map = BTreeMap::deserialize(deserializer)?;
        owners.rebuild_filter();
        Ok(owners)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn answers_as_the_map_it_wraps(
            operations in proptest::collection::vec((0u64..20_000, 0u64..8, any::<bool>()), 0..300),
            probes in proptest::collection::vec(0u64..20_000, 0..100),
        ) {
            let mut owners = Owners::new();
            let mut reference = BTreeMap::new();
            for (key, seq, insert) in operations {
                if insert {
                    owners.insert(key, seq);
                    reference.insert(key, seq);
                } else {
                    // Remove every key of story `seq`, as a removed story does.
                    let keys: Vec<u64> = reference
                        .iter()
                        .filter(|(_, owner)| **owner == seq)
                        .map(|(key, _)| *key)
                        .collect();
                    owners.remove_all(&keys);
                    reference.retain(|_, owner| *owner != seq);
                }
            }
            prop_assert_eq!(owners.len(), reference.len());
            for key in probes.iter().chain(reference.keys()) {
                prop_assert_eq!(owners.get(*key), reference.get(key).copied());
                prop_assert_eq!(owners.contains(*key), reference.contains_key(key));
            }
            let json = serde_json::to_string(&owners).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&reference).unwrap());
            let restored: Owners = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&restored, &owners);
            for key in reference.keys() {
                prop_assert_eq!(restored.get(*key), reference.get(key).copied());
            }
        }
    }
}
