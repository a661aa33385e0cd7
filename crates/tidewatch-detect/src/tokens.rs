//! Token cleaning and stable hashing.
//!
//! Guarantees: [`clean_tokens`] is a pure function of its input; it lowercases, drops URLs,
//! @handles, stopwords (a built-in English list), numbers, tokens shorter than the minimum
//! or longer than [`MAX_TOKEN_CHARS`], folds regular plurals ([`fold_plural`]),
//! keeps a hashtag's word, removes duplicates keeping first-appearance order, and returns at most
//! `max_tokens` tokens. [`stable_hash`] is the same on every platform and every run (FNV-1a with
//! a SplitMix64 finaliser), so hashed tables and story ids are reproducible.

/// Longer tokens (in characters) are dropped: they are junk, and they would make memory depend
/// on the input.
pub const MAX_TOKEN_CHARS: usize = 40;

/// A built-in English stopword list (function words, contractions without apostrophes, and the
/// chat filler that carries no story), sorted for binary search.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "about", "above", "after", "again", "against", "all", "also", "amp", "and", "any", "are",
    "aren", "arent", "because", "been", "before", "being", "below", "between", "both", "but",
    "can", "cant", "could", "couldnt", "did", "didnt", "does", "doesnt", "doing", "dont", "down",
    "during", "each", "even", "ever", "few", "for", "from", "further", "get", "got", "had",
    "hadnt", "has", "hasnt", "have", "havent", "having", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "im", "into", "isnt", "its", "itself", "ive", "just", "let", "lol",
    "many", "more", "most", "much", "must", "mustnt", "myself", "nor", "not", "now", "off", "once",
    "one", "only", "other", "our", "ours", "ourselves", "out", "over", "own", "really", "rt",
    "same", "shant", "she", "should", "shouldnt", "some", "still", "such", "than", "that", "thats",
    "the", "their", "theirs", "them", "themselves", "then", "there", "theres", "these", "they",
    "theyre", "this", "those", "through", "too", "under", "until", "upon", "very", "via", "was",
    "wasnt", "way", "were", "werent", "what", "whats", "when", "where", "which", "while", "who",
    "whom", "why", "will", "with", "wont", "would", "wouldnt", "yet", "you", "youd", "youll",
    "your", "youre", "yours", "yourself", "yourselves", "youve",
];

/// Shortest and longest stopword, in bytes: anything outside is not one (no lookup needed).
const STOPWORD_BYTES: (usize, usize) = stopword_lengths();

/// Slots of the stopword hash set (a power of two, a few times the number of stopwords).
const STOPWORD_SLOTS: usize = 1024;

/// Open-addressing hash set of the stopwords, built at compile time: each slot holds the index
/// of a stopword plus one (0: empty). Same answers as a binary search of [`STOPWORDS`].
const STOPWORD_SET: [u8; STOPWORD_SLOTS] = stopword_set();

const fn stopword_lengths() -> (usize, usize) {
    let (mut shortest, mut longest) = (usize::MAX, 0);
    let mut index = 0;
    while index < STOPWORDS.len() {
        let len = STOPWORDS[index].len();
        if len < shortest {
            shortest = len;
        }
        if len > longest {
            longest = len;
        }
        index += 1;
    }
    (shortest, longest)
}

/// The first slot of `word` in [`STOPWORD_SET`] (32-bit FNV-1a, top bits).
const fn stopword_slot(word: &[u8]) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    let mut index = 0;
    while index < word.len() {
        hash ^= word[index] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        index += 1;
    }
    (hash >> (32 - STOPWORD_SLOTS.trailing_zeros())) as usize
}

const fn stopword_set() -> [u8; STOPWORD_SLOTS] {
    assert!(STOPWORDS.len() < u8::MAX as usize && STOPWORDS.len() * 4 <= STOPWORD_SLOTS);
    let mut set = [0u8; STOPWORD_SLOTS];
    let mut index = 0;
    while index < STOPWORDS.len() {
        let mut slot = stopword_slot(STOPWORDS[index].as_bytes());
        while set[slot] != 0 {
            slot = (slot + 1) % STOPWORD_SLOTS;
        }
        set[slot] = (index + 1) as u8;
        index += 1;
    }
    set
}

/// Whether `word` (already lowercase) is in the built-in stopword list.
pub fn is_stopword(word: &str) -> bool {
    let bytes = word.as_bytes();
    if bytes.len() < STOPWORD_BYTES.0 || bytes.len() > STOPWORD_BYTES.1 {
        return false;
    }
    let mut slot = stopword_slot(bytes);
    loop {
        let entry = STOPWORD_SET[slot] as usize;
        if entry == 0 {
            return false;
        }
        if STOPWORDS[entry - 1].as_bytes() == bytes {
            return true;
        }
        slot = (slot + 1) % STOPWORD_SLOTS;
    }
}

/// Whether `word` starts (after leading punctuation) with `http://`, `https://` or `www.`, in
/// any ASCII case.
fn is_url(word: &str) -> bool {
    let rest = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    let starts = |prefix: &str| {
        rest.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    starts("http://") || starts("https://") || starts("www.")
}

/// Reusable buffers for [`clean_tokens_into`], so that cleaning a post allocates nothing once
/// warm. Holds no state between calls that changes any result.
#[derive(Debug, Default)]
pub(crate) struct TokenScratch {
    /// The current word, apostrophes removed and lowercased.
    joined: String,
    /// Token strings no longer used, kept for their capacity.
    spare: Vec<String>,
}

/// Spare token strings kept at most (enough for the largest `max_tokens_per_post`).
const MAX_SPARE_TOKENS: usize = 64;

impl TokenScratch {
    /// Keeps the strings of `tokens` (emptying it) for reuse.
    pub(crate) fn recycle(&mut self, tokens: &mut Vec<String>) {
        let room = MAX_SPARE_TOKENS.saturating_sub(self.spare.len());
        self.spare.extend(tokens.drain(..).take(room));
        tokens.clear();
    }
}

/// Cleans a post text into its content words, in first-appearance order, without duplicates.
pub fn clean_tokens(text: &str, min_len: usize, max_tokens: usize) -> Vec<String> {
    let mut out = Vec::new();
    clean_tokens_into(
        text,
        min_len,
        max_tokens,
        &mut out,
        &mut TokenScratch::default(),
    );
    out
}

/// [`clean_tokens`] into `out` (its previous tokens are recycled), reusing `scratch`'s buffers.
pub(crate) fn clean_tokens_into(
    text: &str,
    min_len: usize,
    max_tokens: usize,
    out: &mut Vec<String>,
    scratch: &mut TokenScratch,
) {
    scratch.recycle(out);
    // Plain ASCII text splits faster on ASCII whitespace, which is the same split as Unicode
    // whitespace there except for the vertical tab (whitespace to Unicode only).
    let words: &mut dyn Iterator<Item = &str> = if text.is_ascii() && !text.contains('\u{b}') {
        &mut text.split_ascii_whitespace()
    } else {
        &mut text.split_whitespace()
    };
    for word in words {
        if out.len() >= max_tokens {
            break;
        }
        if word.starts_with('@') || word.starts_with('\u{ff20}') || is_url(word) {
            continue;
        }
        // Apostrophes join ("can't" → "cant"); any other non-alphanumeric splits.
        let joined = &mut scratch.joined;
        joined.clear();
        if word.is_ascii() {
            joined.extend(
                word.bytes()
                    .filter(|byte| *byte != b'\'')
                    .map(|byte| char::from(byte.to_ascii_lowercase())),
            );
        } else {
            joined.extend(
                word.chars()
                    .filter(|c| *c != '\'' && *c != '\u{2019}')
                    .flat_map(char::to_lowercase),
            );
        }
        for piece in joined.split(|c: char| !c.is_alphanumeric()) {
            if out.len() >= max_tokens {
                break;
            }
            if piece.len() < min_len {
                // Fewer bytes than `min_len` means fewer characters too.
                continue;
            }
            let chars = if piece.is_ascii() {
                piece.len()
            } else {
                piece.chars().count()
            };
            if chars < min_len
                || chars > MAX_TOKEN_CHARS
                || piece.chars().all(|c| c.is_numeric())
                || is_stopword(piece)
                || out.iter().any(|seen| seen == piece)
            {
                continue;
            }
            let mut word = scratch.spare.pop().unwrap_or_default();
            word.clear();
            fold_plural_into(piece, &mut word);
            if out.contains(&word) {
                scratch.spare.push(word);
                continue;
            }
            out.push(word);
        }
    }
}

/// A plural's singular, by the regular English rules only ("computers" → "computer",
/// "delays" → "delay", "stories" → "story"); words of 4 letters or fewer and words ending in
/// "ss", "us", "is" stay as they are ("bus", "crisis", "class").
pub fn fold_plural(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    fold_plural_into(word, &mut out);
    out
}

/// [`fold_plural`], appended to `out`.
fn fold_plural_into(word: &str, out: &mut String) {
    let keep = word.len() <= 4
        || !word.ends_with('s')
        || word.ends_with("ss")
        || word.ends_with("us")
        || word.ends_with("is");
    if keep {
        out.push_str(word);
        return;
    }
    if let Some(stem) = word.strip_suffix("ies") {
        out.push_str(stem);
        out.push('y');
        return;
    }
    out.push_str(&word[..word.len() - 1]);
}

/// A stable 64-bit hash of `bytes`: FNV-1a followed by the SplitMix64 finaliser.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    StableHasher::new().write(bytes).finish()
}

/// [`stable_hash`] of several byte strings one after the other, without joining them first:
/// `StableHasher::new().write(a).write(b).finish() == stable_hash(a ++ b)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StableHasher(u64);

impl StableHasher {
    pub(crate) fn new() -> StableHasher {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn write(mut self, bytes: &[u8]) -> StableHasher {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    pub(crate) fn finish(self) -> u64 {
        mix(self.0)
    }
}

/// SplitMix64 finaliser: spreads the bits of `value` over the whole word.
pub(crate) fn mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// The key of an unordered pair of term hashes.
pub(crate) fn pair_key(a: u64, b: u64) -> u64 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    mix(low.rotate_left(17) ^ high.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5041_4952)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopword_list_is_sorted_and_unique() {
        assert!(STOPWORDS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    /// The straightforward cleaning (one string per word, binary-searched stopwords), which
    /// the buffer-reusing [`clean_tokens`] must equal on every input.
    fn clean_tokens_plainly(text: &str, min_len: usize, max_tokens: usize) -> Vec<String> {
        let is_url = |word: &str| {
            let lower = word.trim_start_matches(|c: char| !c.is_alphanumeric());
            let lower = lower.get(..8).unwrap_or(lower).to_ascii_lowercase();
            lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("www.")
        };
        let mut out: Vec<String> = Vec::new();
        for word in text.split_whitespace() {
            if out.len() >= max_tokens {
                break;
            }
            if is_url(word) || word.starts_with('@') || word.starts_with('\u{ff20}') {
                continue;
            }
            let joined: String = word
                .chars()
                .filter(|c| *c != '\'' && *c != '\u{2019}')
                .flat_map(char::to_lowercase)
                .collect();
            for piece in joined.split(|c: char| !c.is_alphanumeric()) {
                if out.len() >= max_tokens {
                    break;
                }
                let chars = piece.chars().count();
                if chars < min_len
                    || chars > MAX_TOKEN_CHARS
                    || piece.chars().all(|c| c.is_numeric())
                    || STOPWORDS.binary_search(&piece).is_ok()
                    || out.iter().any(|seen| seen == piece)
                {
                    continue;
                }
                let word = fold_plural(piece);
                if !out.contains(&word) {
                    out.push(word);
                }
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn cleaning_equals_the_plain_cleaning(
            text in "([a-zA-Z0-9]{1,12}|[ \t\n\u{b}\u{c}\u{a0}\u{3000}]|['’@＠#.,:/!-]|https?://|[Ww][Ww][Ww]\\.|İ|ß|Σ|é|ǅ|Ⅷ|٣|日本|😡|K|the|its|stories|buses|class|dont){0,40}",
            min_len in 0usize..6,
            max_tokens in 0usize..20,
        ) {
            proptest::prop_assert_eq!(
                clean_tokens(&text, min_len, max_tokens),
                clean_tokens_plainly(&text, min_len, max_tokens)
            );
        }

        #[test]
        fn cleaning_equals_the_plain_cleaning_on_any_text(text in "\\PC{0,80}", min_len in 0usize..5) {
            proptest::prop_assert_eq!(clean_tokens(&text, min_len, 16), clean_tokens_plainly(&text, min_len, 16));
        }

        #[test]
        fn stopword_set_answers_as_the_sorted_list(word in "[a-z]{0,11}") {
            proptest::prop_assert_eq!(is_stopword(&word), STOPWORDS.binary_search(&word.as_str()).is_ok());
        }
    }

    #[test]
    fn every_stopword_is_found() {
        assert!(STOPWORDS.iter().all(|word| is_stopword(word)));
        assert!(!is_stopword("flight") && !is_stopword("") && !is_stopword("yourselvesx"));
    }

    #[test]
    fn reused_buffers_give_the_same_tokens() {
        let mut scratch = TokenScratch::default();
        let mut out = Vec::new();
        for text in [
            "delays at the gate again",
            "",
            "Stories of lost bags",
            "gate gate gate",
        ] {
            clean_tokens_into(text, 3, 16, &mut out, &mut scratch);
            assert_eq!(out, clean_tokens_plainly(text, 3, 16), "{text}");
        }
    }

    #[test]
    fn cleans_urls_handles_stopwords_and_short_tokens() {
        let tokens = clean_tokens(
            "@JetBlue My FLIGHT was Cancelled!! again https://t.co/abc #fail it's 2015 ok",
            3,
            16,
        );
        assert_eq!(tokens, vec!["flight", "cancelled", "fail"]);
    }

    #[test]
    fn dedups_and_caps() {
        assert_eq!(
            clean_tokens("delay delay Delay gate", 3, 16),
            vec!["delay", "gate"]
        );
        assert_eq!(
            clean_tokens("alpha beta gamma delta", 3, 2),
            vec!["alpha", "beta"]
        );
        assert!(clean_tokens("", 3, 16).is_empty());
        assert!(clean_tokens(&"x".repeat(41), 3, 16).is_empty());
    }

    #[test]
    fn apostrophes_join_and_punctuation_splits() {
        assert_eq!(clean_tokens("don't stop-gap", 3, 16), vec!["stop", "gap"]);
        assert_eq!(
            clean_tokens("baggage’s lost", 3, 16),
            vec!["baggage", "lost"]
        );
    }

    #[test]
    fn regular_plurals_fold_to_their_singular() {
        assert_eq!(
            clean_tokens(
                "Computers computer systems delays stories bus crisis class",
                3,
                16
            ),
            vec!["computer", "system", "delay", "story", "bus", "crisis", "class"]
        );
    }

    #[test]
    fn hashes_are_stable_and_pairs_unordered() {
        assert_eq!(stable_hash(b"flight"), stable_hash(b"flight"));
        assert_ne!(stable_hash(b"flight"), stable_hash(b"flights"));
        let (a, b) = (stable_hash(b"flight"), stable_hash(b"cancelled"));
        assert_eq!(pair_key(a, b), pair_key(b, a));
        assert_ne!(pair_key(a, b), a);
        // Pinned so that a change of hash (and so of every story id) is noticed.
        assert_eq!(stable_hash(b""), mix(0xcbf2_9ce4_8422_2325));
    }
}
