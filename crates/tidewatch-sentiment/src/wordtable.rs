//! The word table: an open-addressing hash table from exact lowercased token bytes to the
//! [`WordInfo`] the rules need, built once from the lexicon data.
//!
//! Guarantees: lookups are exact byte-string matches (no prefixes, no substrings, no case
//! folding of their own); keys of up to 16 bytes (all but 25 lexicon words) are held inline
//! as two zero-padded words with their length, so a probe compares integers; longer keys (up
//! to 32 bytes) are in a sorted list; anything longer is absent. The hash is a fixed
//! folded multiply: fast, not DoS resistant, which a read-only table does not need.

use crate::lexicon::{BOOSTER_DECR, B_DECR, B_INCR};

/// Everything the rules need to know about one lowercased word (16 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct WordInfo {
    pub(crate) valence: f64,
    pub(crate) id: u8,
    pub(crate) flags: u8,
}

impl WordInfo {
    /// The `BOOSTER_DICT` value of a booster word.
    #[inline]
    pub(crate) fn booster(&self) -> f64 {
        if self.flags & BOOSTER_DECR != 0 {
            B_DECR
        } else {
            B_INCR
        }
    }
}

/// Longest key the table can hold; longer tokens are known absent without hashing.
pub(crate) const MAX_KEY: usize = 32;
/// Keys up to this length are stored inline as two little-endian words, zero-padded.
pub(crate) const SHORT_KEY: usize = 16;

/// A short key as two zero-padded little-endian words.
#[inline]
pub(crate) fn short_key(b: &[u8]) -> (u64, u64) {
    let mut buf = [0u8; SHORT_KEY];
    buf[..b.len()].copy_from_slice(b);
    (word_at(&buf, 0), word_at(&buf, 8))
}

#[inline]
fn word_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

#[inline]
fn fold_mul(x: u64, y: u64) -> u64 {
    let full = u128::from(x) * u128::from(y);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Hash of a short key (folded multiply; not DoS resistant, the table is fixed).
#[inline]
fn hash_short(k0: u64, k1: u64, len: usize) -> u64 {
    fold_mul(
        k0 ^ 0x243f_6a88_85a3_08d3,
        k1 ^ 0x1319_8a2e_0370_7344 ^ (len as u64),
    )
}

/// One short key and its info, packed into 32 bytes.
#[derive(Clone, Copy)]
struct Entry {
    k0: u64,
    k1: u64,
    valence: f64,
    id: u8,
    flags: u8,
    len: u8,
}

impl Entry {
    #[inline]
    fn info(&self) -> WordInfo {
        WordInfo {
            valence: self.valence,
            id: self.id,
            flags: self.flags,
        }
    }
}

/// Open-addressing hash table from exact key bytes to [`WordInfo`], built once. Keys of up
/// to 16 bytes (all but 25 lexicon words) compare as two integers; longer keys sit in a
/// sorted list.
pub(crate) struct WordTable {
    /// `tag << 16 | (entry index + 1)`; 0 marks an empty slot.
    slots: Vec<u32>,
    entries: Vec<Entry>,
    long: Vec<(&'static [u8], WordInfo)>,
    mask: usize,
}

impl WordTable {
    pub(crate) fn build(words: Vec<(&'static str, WordInfo)>) -> WordTable {
        let short = words.iter().filter(|(k, _)| k.len() <= SHORT_KEY).count();
        let capacity = (short * 4).next_power_of_two().max(16);
        assert!(short < 0xffff, "word table index must fit 16 bits");
        let mut table = WordTable {
            slots: vec![0; capacity],
            entries: Vec::new(),
            long: Vec::new(),
            mask: capacity - 1,
        };
        for (key, info) in words {
            let b = key.as_bytes();
            if b.len() > SHORT_KEY {
                table.long.push((b, info));
                continue;
            }
            let (k0, k1) = short_key(b);
            let h = hash_short(k0, k1, b.len());
            let mut i = (h as usize) & table.mask;
            while table.slots[i] != 0 {
                i = (i + 1) & table.mask;
            }
            let (valence, id, flags, len) = (info.valence, info.id, info.flags, b.len() as u8);
            table.entries.push(Entry {
                k0,
                k1,
                valence,
                id,
                flags,
                len,
            });
            table.slots[i] = (((h >> 48) as u32) << 16) | table.entries.len() as u32;
        }
        table.long.sort_by(|a, b| a.0.cmp(b.0));
        table
    }

    /// The info for a short key given as [`short_key`] words and its length (≤ 16).
    #[inline]
    pub(crate) fn get_short(&self, k0: u64, k1: u64, len: usize) -> Option<WordInfo> {
        let h = hash_short(k0, k1, len);
        let tag = ((h >> 48) as u32) << 16;
        let mut i = (h as usize) & self.mask;
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return None;
            }
            if slot & 0xffff_0000 == tag {
                let e = &self.entries[(slot & 0xffff) as usize - 1];
                if e.k0 == k0 && e.k1 == k1 && usize::from(e.len) == len {
                    return Some(e.info());
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The info for exactly these (already lowercased) bytes, if the word is known.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<WordInfo> {
        if key.len() <= SHORT_KEY {
            let (k0, k1) = short_key(key);
            self.get_short(k0, k1, key.len())
        } else if key.len() <= MAX_KEY {
            self.long
                .binary_search_by(|(k, _)| (*k).cmp(key))
                .ok()
                .map(|i| self.long[i].1)
        } else {
            None
        }
    }

    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<(&'static [u8], WordInfo)> {
        let mut v = self.long.clone();
        for e in &self.entries {
            let mut key = [e.k0.to_le_bytes(), e.k1.to_le_bytes()].concat();
            key.truncate(usize::from(e.len));
            v.push((Vec::leak(key), e.info()));
        }
        v
    }
}
