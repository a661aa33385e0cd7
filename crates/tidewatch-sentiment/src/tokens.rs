//! Input preparation: emoji translation, whitespace split, punctuation strip, case analysis
//! and the one word-table lookup per token.
//!
//! Guarantees, matching vaderSentiment 3.3.2's `polarity_scores` preamble and `SentiText`:
//! * every character that is a key of the emoji lexicon becomes its description, preceded by
//!   one space when the previously emitted character was not an ASCII space (text after a
//!   description is not separated); text without emoji is used as is, without copying;
//! * tokens are Python `str.split()` pieces (all of `str.isspace()`, U+001C–U+001F included);
//! * a token is replaced by its `strip(string.punctuation)` form only when that form is longer
//!   than two characters, so ":)" and "8-)" survive and no token is ever dropped;
//! * each token carries `isupper()` of that form and the [`WordInfo`] of its `lower()` form,
//!   looked up exactly (":P" lowercases to ":p", a different key), plus whether that lowercase
//!   form is in `NEGATE` or contains "n't".
//!
//! ASCII tokens are lowercased on the stack while the split finds their end (eight bytes at a
//! time), their table lookups are batched after the split so their memory accesses overlap,
//! and only non-ASCII tokens touch the casing tables.

use crate::bytes::{
    has_nt, low_bytes, multibyte_space, strip_range, swar_word_bytes, LOWER, PROP, P_APOS, P_LOWER,
    P_MAYBE_SPACE, P_NONASCII, P_SPACE, P_UPPER,
};
use crate::casing::{py_isupper, py_lower_into};
use crate::lexicon::{Tables, WordInfo, MAX_KEY, NEGATE_WORD, SHORT_KEY};

/// Token flag: Python `isupper()` of the token.
pub(crate) const UPPER: u8 = 8;
/// Token flag: `negated([token])`, i.e. the lowercase form is in `NEGATE` or contains "n't".
pub(crate) const NEGATED: u8 = 16;

/// The emoji walk of 3.3.2's `polarity_scores`. Returns `text` itself when it holds no emoji
/// key (always for ASCII text), else the translated text, built in `out`. The final
/// `strip()` is left out: it changes neither the tokens nor the "!"/"?" counts.
pub(crate) fn translate_emojis<'a>(tables: &Tables, text: &'a str, out: &'a mut String) -> &'a str {
    if text.is_ascii() {
        return text;
    }
    let Some(start) = text
        .char_indices()
        .find(|&(_, c)| tables.emoji(c).is_some())
        .map(|x| x.0)
    else {
        return text;
    };
    out.clear();
    out.push_str(&text[..start]);
    let mut prev_space = start == 0 || text.as_bytes()[start - 1] == b' ';
    for c in text[start..].chars() {
        if let Some(description) = tables.emoji(c) {
            if !prev_space {
                out.push(' ');
            }
            out.push_str(description);
            prev_space = false;
        } else {
            out.push(c);
            prev_space = c == ' ';
        }
    }
    out
}

/// Bytes of an ASCII token lowercased in place during the split; longer tokens are
/// re-read (they can still strip down to a short word).
const INLINE: usize = 64;

/// Splits `text` into tokens and appends one [`WordInfo`] per token to `toks` (with the
/// [`UPPER`] and [`NEGATED`] flags set).
/// Returns the number of all-caps tokens.
pub(crate) fn tokenize(
    tables: &Tables,
    text: &str,
    toks: &mut Vec<WordInfo>,
    scratch: &mut TokenScratch,
) -> usize {
    scratch.pending.clear();
    let b = text.as_bytes();
    let n = b.len();
    let mut buf = [0u8; INLINE + SHORT_KEY];
    let mut upper = 0;
    let mut i = 0;
    while i < n {
        let p = PROP[b[i] as usize];
        if p & P_SPACE != 0 {
            i += 1;
            continue;
        }
        if p & P_MAYBE_SPACE != 0 {
            let w = multibyte_space(b, i);
            if w > 0 {
                i += w;
                continue;
            }
        }
        // One token: lowercase ASCII bytes into `buf` while finding its end.
        let start = i;
        let mut acc = 0u8;
        loop {
            // Eight bytes at a time while they are plain word bytes (0x21..=0x7E).
            while i + 8 <= n && i - start + 8 <= INLINE {
                let (k, lowered, props) = swar_word_bytes(&b[i..i + 8]);
                buf[i - start..i - start + 8].copy_from_slice(&lowered);
                acc |= props;
                i += k;
                if k < 8 {
                    break;
                }
            }
            while i < n {
                let c = b[i];
                let p = PROP[c as usize];
                if p & (P_SPACE | P_NONASCII) != 0 {
                    break;
                }
                buf[(i - start) & (INLINE - 1)] = LOWER[c as usize];
                acc |= p;
                i += 1;
            }
            if i >= n || PROP[b[i] as usize] & P_SPACE != 0 {
                break;
            }
            if PROP[b[i] as usize] & P_MAYBE_SPACE != 0 && multibyte_space(b, i) > 0 {
                break;
            }
            acc |= P_NONASCII;
            i += 1;
        }
        let mut deferred = None;
        let info = if acc & P_NONASCII != 0 {
            unicode_token(tables, &text[start..i], &mut scratch.lower)
        } else {
            ascii_token(tables, &b[start..i], &buf, acc, &mut deferred)
        };
        if let Some((k0, k1, len)) = deferred {
            scratch.pending.push(Pending {
                k0,
                k1,
                len,
                at: toks.len() as u32,
            });
        }
        upper += usize::from(info.flags & UPPER != 0);
        toks.push(info);
    }
    // The lookups of short ASCII words, done together: they are independent, so their
    // memory accesses overlap instead of each one waiting behind the scan.
    for p in &scratch.pending {
        if let Some(mut info) = tables.words.get_short(p.k0, p.k1, usize::from(p.len)) {
            let t = &mut toks[p.at as usize];
            info.flags |= t.flags;
            if info.flags & NEGATE_WORD != 0 {
                info.flags |= NEGATED;
            }
            *t = info;
        }
    }
    upper
}

/// Reusable scratch space for [`tokenize`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TokenScratch {
    /// Lowercase form of the current non-ASCII token.
    lower: String,
    /// Short ASCII words waiting for their table lookup.
    pending: Vec<Pending>,
}

/// A short word key and the token it belongs to.
#[derive(Clone, Copy, Debug)]
struct Pending {
    k0: u64,
    k1: u64,
    len: u8,
    at: u32,
}

/// An ASCII token whose lowercase form is in `buf` (when it is at most [`INLINE`] bytes);
/// `acc` is the union of its byte properties.
#[inline]
fn ascii_token(
    tables: &Tables,
    token: &[u8],
    buf: &[u8; INLINE + SHORT_KEY],
    acc: u8,
    deferred: &mut Option<(u64, u64, u8)>,
) -> WordInfo {
    let (mut s, mut e) = strip_range(token);
    if e - s <= 2 {
        (s, e) = (0, token.len());
    }
    let len = e - s;
    let found = if token.len() > INLINE {
        let mut long = [0u8; MAX_KEY];
        if len <= MAX_KEY {
            for (d, c) in long.iter_mut().zip(&token[s..e]) {
                *d = c.to_ascii_lowercase();
            }
            tables.words.get(&long[..len])
        } else {
            None
        }
    } else if len <= SHORT_KEY {
        let mut w0 = [0u8; 8];
        let mut w1 = [0u8; 8];
        w0.copy_from_slice(&buf[s..s + 8]);
        w1.copy_from_slice(&buf[s + 8..s + 16]);
        let k0 = low_bytes(u64::from_le_bytes(w0), len);
        let k1 = low_bytes(u64::from_le_bytes(w1), len.saturating_sub(8));
        *deferred = Some((k0, k1, len as u8));
        None
    } else {
        tables.words.get(&buf[s..e])
    };
    let mut info = found.unwrap_or_default();
    // Punctuation is uncased, so the case of the whole token is the case of its word; and
    // an "n't" is never at a stripped edge.
    if acc & P_UPPER != 0 && acc & P_LOWER == 0 {
        info.flags |= UPPER;
    }
    if info.flags & NEGATE_WORD != 0 || (acc & P_APOS != 0 && has_nt(token)) {
        info.flags |= NEGATED;
    }
    info
}

#[cold]
fn unicode_token(tables: &Tables, token: &str, lower: &mut String) -> WordInfo {
    let (s, e) = strip_range(token.as_bytes());
    let stripped = &token[s..e];
    let w = if stripped.chars().count() > 2 {
        stripped
    } else {
        token
    };
    lower.clear();
    py_lower_into(w, lower);
    let mut info = tables.words.get(lower.as_bytes()).unwrap_or_default();
    if py_isupper(w) {
        info.flags |= UPPER;
    }
    if info.flags & NEGATE_WORD != 0 || has_nt(lower.as_bytes()) {
        info.flags |= NEGATED;
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon::{id, TABLES};

    fn toks(text: &str) -> Vec<WordInfo> {
        let mut out = Vec::new();
        tokenize(&TABLES, text, &mut out, &mut TokenScratch::default());
        out
    }

    #[test]
    fn splits_on_every_python_space() {
        let text =
            "a\u{1c}b\u{1d}c\u{1e}d\u{1f}e\u{85}f\u{a0}g\u{1680}h\u{2000}i\u{200a}j\u{2028}k\
                    \u{2029}l\u{202f}m\u{205f}n\u{3000}o\u{b}p\u{c}q\r\n\tr  s";
        assert_eq!(toks(text).len(), 19);
        // Not spaces: zero-width space, BOM, Mongolian vowel separator, U+00A1.
        assert_eq!(toks("a\u{200b}b\u{feff}c\u{180e}d\u{a1}e").len(), 1);
        assert_eq!(toks("").len(), 0);
        assert_eq!(toks(" \u{3000} ").len(), 0);
    }

    #[test]
    fn strip_rule_and_lookup() {
        let t = toks("good, ((bad)) :) is? n't can't NO. Wasn't x");
        assert_eq!(t[0].valence, 1.9);
        assert_eq!(t[1].valence, -2.5);
        assert_eq!(t[2].valence, 2.0, ":) is kept whole");
        // "is?" strips to "is" (two characters), so the token stays "is?": not "is".
        assert_eq!(t[3], WordInfo::default());
        assert_ne!(t[4].flags & NEGATED, 0, "n't contains n't");
        assert_ne!(t[5].flags & NEGATED, 0);
        // "NO." strips to "NO" (two characters), so the token is "NO." and not the word "no".
        assert_eq!(t[6].id, 0);
        assert_eq!(t[6].flags, UPPER);
        assert_ne!(t[7].flags & NEGATED, 0);
        assert_eq!(t[8].flags, 0);
        assert_eq!(toks("NO")[0].id, id::NO);
    }

    #[test]
    fn emoji_translation_spacing() {
        let mut out = String::new();
        let t = &*TABLES;
        assert_eq!(translate_emojis(t, "plain", &mut out), "plain");
        assert_eq!(translate_emojis(t, "caf\u{e9}", &mut out), "caf\u{e9}");
        assert_eq!(
            translate_emojis(t, "x\u{1F496}", &mut out),
            "x sparkling heart"
        );
        assert_eq!(
            translate_emojis(t, "x \u{1F496}y", &mut out),
            "x sparkling hearty"
        );
        assert_eq!(
            translate_emojis(t, "\u{1F496}\u{1F496}", &mut out),
            "sparkling heart sparkling heart"
        );
        assert_eq!(
            translate_emojis(t, "\u{e9}\u{1F496}", &mut out),
            "\u{e9} sparkling heart"
        );
    }
}
