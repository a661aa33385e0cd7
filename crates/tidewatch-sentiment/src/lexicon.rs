//! The vaderSentiment 3.3.2 data: lexicon, emoji lexicon, booster and negation lists, idiom
//! words, parsed once into one word table.
//!
//! Guarantees: the two lexicon files are byte-identical copies of the 3.3.2 sdist's
//! `vader_lexicon.txt` and `emoji_utf8_lexicon.txt`, parsed with the reference's own rules
//! (`make_lex_dict` / `make_emoji_dict`: strip the line, split on tab, later duplicates win).
//! The booster and negation lists are transcribed from 3.3.2's `vaderSentiment.py`. Every word
//! the scoring rules ever compare against is in one [`WordTable`] keyed by the lowercased
//! token bytes, so scoring does one lookup per token and compares small integer ids
//! afterwards; keys are exact (no prefix or substring matching).

use crate::casing::is_py_space;
use crate::wordtable::WordTable;
pub(crate) use crate::wordtable::{WordInfo, MAX_KEY, SHORT_KEY};
use std::sync::LazyLock;

/// `vader_lexicon.txt` from the vaderSentiment 3.3.2 sdist (MIT, C.J. Hutto).
const VADER_LEXICON: &str = include_str!("../data/vader_lexicon.txt");
/// `emoji_utf8_lexicon.txt` from the vaderSentiment 3.3.2 sdist (MIT, C.J. Hutto).
const EMOJI_LEXICON: &str = include_str!("../data/emoji_utf8_lexicon.txt");

/// 3.3.2's `B_INCR` and `B_DECR`.
pub(crate) const B_INCR: f64 = 0.293;
pub(crate) const B_DECR: f64 = -0.293;

/// The single-token keys of 3.3.2's `BOOSTER_DICT` with value `B_INCR`. Its three two-token
/// keys ("just enough", "kind of", "sort of", all `B_DECR`) can only match the joined n-grams
/// of `_special_idioms_check`, which the rules test through word ids instead.
const BOOSTERS_INCR: &str = "absolutely amazingly awfully completely considerable considerably \
    decidedly deeply effing enormous enormously entirely especially exceptional exceptionally \
    extreme extremely fabulously flipping flippin frackin fracking fricking frickin frigging \
    friggin fully fuckin fucking fuggin fugging greatly hella highly hugely incredible \
    incredibly intensely major majorly more most particularly purely quite really remarkably \
    so substantially thoroughly total totally tremendous tremendously uber unbelievably \
    unusually utter utterly very";
/// The single-token keys of 3.3.2's `BOOSTER_DICT` with value `B_DECR`.
const BOOSTERS_DECR: &str = "almost barely hardly kinda kindof kind-of less little marginal \
    marginally occasional occasionally partly scarce scarcely slight slightly somewhat sorta \
    sortof sort-of";

/// 3.3.2's `NEGATE` list (membership only; "n't" containment is checked per token).
const NEGATE: &str = "aint arent cannot cant couldnt darent didnt doesnt ain't aren't can't \
    couldn't daren't didn't doesn't dont hadnt hasnt havent isnt mightnt mustnt neither don't \
    hadn't hasn't haven't isn't mightn't mustn't neednt needn't never none nope nor not \
    nothing nowhere oughtnt shant shouldnt uhuh wasnt werent oughtn't shan't shouldn't uh-uh \
    wasn't weren't without wont wouldnt won't wouldn't rarely seldom despite";

/// Ids of the words the rules compare tokens against (0 = none of them).
pub(crate) mod id {
    pub(crate) const NO: u8 = 1;
    pub(crate) const BUT: u8 = 2;
    pub(crate) const KIND: u8 = 3;
    pub(crate) const OF: u8 = 4;
    pub(crate) const LEAST: u8 = 5;
    pub(crate) const AT: u8 = 6;
    pub(crate) const VERY: u8 = 7;
    pub(crate) const NEVER: u8 = 8;
    pub(crate) const SO: u8 = 9;
    pub(crate) const THIS: u8 = 10;
    pub(crate) const WITHOUT: u8 = 11;
    pub(crate) const DOUBT: u8 = 12;
    pub(crate) const OR: u8 = 13;
    pub(crate) const NOR: u8 = 14;
    pub(crate) const THE: u8 = 15;
    pub(crate) const SHIT: u8 = 16;
    pub(crate) const BOMB: u8 = 17;
    pub(crate) const BAD: u8 = 18;
    pub(crate) const ASS: u8 = 19;
    pub(crate) const BUS: u8 = 20;
    pub(crate) const STOP: u8 = 21;
    pub(crate) const YEAH: u8 = 22;
    pub(crate) const RIGHT: u8 = 23;
    pub(crate) const KISS: u8 = 24;
    pub(crate) const DEATH: u8 = 25;
    pub(crate) const TO: u8 = 26;
    pub(crate) const DIE: u8 = 27;
    pub(crate) const FOR: u8 = 28;
    pub(crate) const BEATING: u8 = 29;
    pub(crate) const HEART: u8 = 30;
    pub(crate) const JUST: u8 = 31;
    pub(crate) const ENOUGH: u8 = 32;
    pub(crate) const SORT: u8 = 33;

    /// Every word with an id, the id being its position in this list plus one.
    pub(crate) const WORDS: &str = "no but kind of least at very never so this without doubt \
        or nor the shit bomb bad ass bus stop yeah right kiss death to die for beating heart \
        just enough sort";
}

/// The word is a key of the sentiment lexicon ([`WordInfo::valence`] is its valence).
pub(crate) const IN_LEXICON: u8 = 1;
/// The word is a single-token `BOOSTER_DICT` key, with value `B_INCR` ...
pub(crate) const BOOSTER: u8 = 2;
/// ... or, with this bit too, `B_DECR`.
pub(crate) const BOOSTER_DECR: u8 = 32;
/// The word is in the `NEGATE` list.
pub(crate) const NEGATE_WORD: u8 = 4;

/// All parsed data, shared by every engine.
pub(crate) struct Tables {
    pub(crate) words: WordTable,
    /// Single-code-point emoji keys with their descriptions, sorted by code point.
    pub(crate) emojis: Vec<(u32, &'static str)>,
}

/// The tables, parsed on first use.
pub(crate) static TABLES: LazyLock<Tables> = LazyLock::new(Tables::load);

/// Python `line.strip().split('\t')[0:2]`, as a pair when both fields exist.
fn two_fields(line: &str) -> Option<(&str, &str)> {
    let mut fields = line.trim_matches(is_py_space).split('\t');
    Some((fields.next()?, fields.next()?))
}

impl Tables {
    fn load() -> Tables {
        // Insertion order keeps Python's "later duplicate wins" by merging in a map first.
        let mut merged: Vec<(&'static str, WordInfo)> = Vec::with_capacity(8192);
        let mut index = std::collections::HashMap::<&'static str, usize>::new();
        let mut slot = |key: &'static str, merged: &mut Vec<(&'static str, WordInfo)>| -> usize {
            *index.entry(key).or_insert_with(|| {
                merged.push((key, WordInfo::default()));
                merged.len() - 1
            })
        };
        for line in VADER_LEXICON.trim_end_matches('\n').split('\n') {
            if line.is_empty() {
                continue;
            }
            if let Some((word, measure)) = two_fields(line) {
                if let Ok(v) = measure.parse::<f64>() {
                    let k = slot(word, &mut merged);
                    merged[k].1.valence = v;
                    merged[k].1.flags |= IN_LEXICON;
                }
            }
        }
        let boosters = BOOSTERS_INCR.split_whitespace().map(|w| (w, B_INCR));
        for (word, b) in boosters.chain(BOOSTERS_DECR.split_whitespace().map(|w| (w, B_DECR))) {
            let k = slot(word, &mut merged);
            merged[k].1.flags |= if b < 0.0 {
                BOOSTER | BOOSTER_DECR
            } else {
                BOOSTER
            };
        }
        for word in NEGATE.split_whitespace() {
            let k = slot(word, &mut merged);
            merged[k].1.flags |= NEGATE_WORD;
        }
        for (n, word) in id::WORDS.split_whitespace().enumerate() {
            let k = slot(word, &mut merged);
            merged[k].1.id = (n + 1) as u8;
        }
        merged.retain(|(key, _)| key.len() <= MAX_KEY);

        let mut emojis: Vec<(u32, &'static str)> = Vec::with_capacity(1300);
        for line in EMOJI_LEXICON.trim_end_matches('\n').split('\n') {
            if let Some((key, description)) = two_fields(line) {
                let mut chars = key.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    emojis.push((c as u32, description));
                }
            }
        }
        // Stable sort keeps file order among equal keys; keep the last (Python dict semantics).
        emojis.sort_by_key(|&(c, _)| c);
        let mut dedup: Vec<(u32, &'static str)> = Vec::with_capacity(emojis.len());
        for e in emojis {
            match dedup.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => dedup.push(e),
            }
        }
        Tables {
            words: WordTable::build(merged),
            emojis: dedup,
        }
    }

    /// The description of `c` when it is a key of the emoji lexicon.
    #[inline]
    pub(crate) fn emoji(&self, c: char) -> Option<&'static str> {
        let cp = c as u32;
        if cp < 0xA9 {
            return None;
        }
        self.emojis
            .binary_search_by_key(&cp, |&(k, _)| k)
            .ok()
            .map(|i| self.emojis[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_known_entries() {
        let t = &*TABLES;
        let all = t.words.all();
        let lexicon = all
            .iter()
            .filter(|(_, i)| i.flags & IN_LEXICON != 0)
            .count();
        assert_eq!(lexicon, 7506);
        assert_eq!(t.emojis.len(), 1212);
        let boosters = all.iter().filter(|(_, i)| i.flags & BOOSTER != 0).count();
        assert_eq!(
            boosters, 81,
            "84 BOOSTER_DICT keys less the 3 two-token ones"
        );
        assert_eq!(t.words.get(b"good").map(|i| i.valence), Some(1.9));
        assert_eq!(
            t.words.get(b"no").map(|i| (i.valence, i.id)),
            Some((-1.2, id::NO))
        );
        assert_eq!(t.words.get(b":)").map(|i| i.valence), Some(2.0));
        // ":-p" appears twice (1.2 then 1.5): the later line wins, as in a Python dict.
        assert_eq!(t.words.get(b":-p").map(|i| i.valence), Some(1.5));
        assert_eq!(t.words.get(b":p").map(|i| i.valence), Some(1.0));
        // ":P" is a key (1.4) but lookups lowercase the token, so it is never reached.
        assert_eq!(t.words.get(b":P").map(|i| i.valence), Some(1.4));
        assert_eq!(NEGATE.split_whitespace().count(), 59);
        let ids: Vec<&str> = id::WORDS.split_whitespace().collect();
        assert_eq!(ids.len(), 33);
        for (word, want) in [
            ("no", id::NO),
            ("but", id::BUT),
            ("least", id::LEAST),
            ("sort", id::SORT),
            ("of", id::OF),
            ("nor", id::NOR),
            ("heart", id::HEART),
            ("doubt", id::DOUBT),
        ] {
            assert_eq!(
                t.words.get(word.as_bytes()).map(|i| i.id),
                Some(want),
                "{word}"
            );
        }
        assert_eq!(t.words.get(b"kinda").map(|i| i.booster()), Some(B_DECR));
        assert!(t.words.get(b"also").is_none());
        assert!(t.words.get(b"").is_none());
        assert_eq!(t.emoji('\u{1F496}'), Some("sparkling heart"));
        assert_eq!(t.emoji('a'), None);
    }

    #[test]
    fn every_key_is_found_and_hash_spreads() {
        let t = &*TABLES;
        let all = t.words.all();
        assert!(all.len() > 7506);
        for (k, info) in &all {
            assert_eq!(
                t.words.get(k),
                Some(*info),
                "{}",
                String::from_utf8_lossy(k)
            );
        }
        // Zero padding does not make "good" and "good\0" the same key.
        assert!(t.words.get(b"good\0").is_none());
        assert!(t.words.get(b"intellectualization").is_some());
        // A few unknown words of every length class.
        for w in [
            "a",
            "ab",
            "abc",
            "abcdefgh",
            "abcdefghi",
            "abcdefghijklmnopq",
            "zzzzzzzzzzzz",
        ] {
            assert!(t.words.get(w.as_bytes()).is_none(), "{w}");
        }
    }
}
