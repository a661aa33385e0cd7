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

/// Whether `word` (already lowercase) is in the built-in stopword list.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

fn is_url(word: &str) -> bool {
    let lower = word.trim_start_matches(|c: char| !c.is_alphanumeric());
    let lower = lower.get(..8).unwrap_or(lower).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.")
}

/// Cleans a post text into its content words, in first-appearance order, without duplicates.
pub fn clean_tokens(text: &str, min_len: usize, max_tokens: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        if out.len() >= max_tokens {
            break;
        }
        if is_url(word) || word.starts_with('@') || word.starts_with("\u{ff20}") {
            continue;
        }
        // Apostrophes join ("can't" → "cant"); any other non-alphanumeric splits.
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
                || is_stopword(piece)
                || out.iter().any(|seen| seen == piece)
            {
                continue;
            }
            let word = fold_plural(piece);
            if out.contains(&word) {
                continue;
            }
            out.push(word);
        }
    }
    out
}

/// A plural's singular, by the regular English rules only ("computers" → "computer",
/// "delays" → "delay", "stories" → "story"); words of 4 letters or fewer and words ending in
/// "ss", "us", "is" stay as they are ("bus", "crisis", "class").
pub fn fold_plural(word: &str) -> String {
    let keep = word.len() <= 4
        || !word.ends_with('s')
        || word.ends_with("ss")
        || word.ends_with("us")
        || word.ends_with("is");
    if keep {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    word[..word.len() - 1].to_string()
}

/// A stable 64-bit hash of `bytes`: FNV-1a followed by the SplitMix64 finaliser.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(hash)
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
