//! The per-token valence rules of vaderSentiment 3.3.2 (`polarity_scores`' loop,
//! `sentiment_valence`, `scalar_inc_dec`, `_negation_check`, `_special_idioms_check`,
//! `_least_check`), over pre-looked-up tokens.
//!
//! Guarantees: the same floating-point operations in the same order as the reference, so the
//! valences are bit-identical, including where Python holds an `int` (the `0` of a skipped or
//! non-lexicon token, an untouched integer idiom value such as "the shit": 3), which CPython's
//! `sum` treats differently from a float. Every comparison with a word is an exact match of
//! the lowercased token (ids from the word table), never a substring test; the only substring
//! rule of the reference, "n't", is a token flag. Non-lexicon tokens cost one branch; the
//! booster, negation and idiom windows run only around lexicon words.

use crate::lexicon::{id, WordInfo, BOOSTER, IN_LEXICON};
use crate::tokens::{NEGATED, UPPER};

/// 3.3.2's `C_INCR`.
const C_INCR: f64 = 0.733;
/// 3.3.2's `N_SCALAR`.
pub(crate) const N_SCALAR: f64 = -0.74;
/// The `B_DECR` value of the two-token boosters "kind of", "sort of", "just enough".
const B_DECR: f64 = -0.293;

/// One entry of the reference's `sentiments` list.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Valence {
    pub(crate) value: f64,
    /// Python holds an `int` here (see the module header).
    pub(crate) int: bool,
}

impl Valence {
    pub(crate) const INT_ZERO: Valence = Valence {
        value: 0.0,
        int: true,
    };
}

#[inline]
fn in_lex(t: &WordInfo) -> bool {
    t.flags & IN_LEXICON != 0
}

/// Appends the valence of every token to `out` (cleared first).
pub(crate) fn sentiments(toks: &[WordInfo], cap_diff: bool, out: &mut Vec<Valence>) {
    out.clear();
    out.reserve(toks.len());
    for (i, t) in toks.iter().enumerate() {
        // Boosters, "kind" of "kind of", and words outside the lexicon append Python's int 0.
        let skip = t.flags & BOOSTER != 0
            || !in_lex(t)
            || (t.id == id::KIND && toks.get(i + 1).is_some_and(|n| n.id == id::OF));
        let v = if skip {
            Valence::INT_ZERO
        } else {
            valence(toks, i, cap_diff)
        };
        out.push(v);
    }
}

/// `scalar_inc_dec` for the token `w` before the scored word.
#[inline]
fn scalar_inc_dec(w: &WordInfo, valence: f64, cap_diff: bool) -> f64 {
    let mut scalar = 0.0;
    if w.flags & BOOSTER != 0 {
        scalar = w.booster();
        if valence < 0.0 {
            scalar *= -1.0;
        }
        if w.flags & UPPER != 0 && cap_diff {
            if valence > 0.0 {
                scalar += C_INCR;
            } else {
                scalar -= C_INCR;
            }
        }
    }
    scalar
}

#[inline]
fn is_so_or_this(t: &WordInfo) -> bool {
    t.id == id::SO || t.id == id::THIS
}

/// `sentiment_valence` for the lexicon word at `i`.
fn valence(toks: &[WordInfo], i: usize, cap_diff: bool) -> Valence {
    let item = &toks[i];
    let lex = item.valence;
    let mut v = lex;
    let p1 = if i >= 1 { Some(&toks[i - 1]) } else { None };
    let p2 = if i >= 2 { Some(&toks[i - 2]) } else { None };
    let p3 = if i >= 3 { Some(&toks[i - 3]) } else { None };

    if item.id == id::NO && toks.get(i + 1).is_some_and(in_lex) {
        v = 0.0;
    }
    let is_no = |t: Option<&WordInfo>| t.is_some_and(|t| t.id == id::NO);
    if is_no(p1)
        || is_no(p2)
        || (is_no(p3) && p1.is_some_and(|t| t.id == id::OR || t.id == id::NOR))
    {
        v = lex * N_SCALAR;
    }
    if item.flags & UPPER != 0 && cap_diff {
        if v > 0.0 {
            v += C_INCR;
        } else {
            v -= C_INCR;
        }
    }

    let mut int = false;
    if let Some(p1) = p1 {
        if !in_lex(p1) {
            let s = scalar_inc_dec(p1, v, cap_diff);
            v += s;
            if p1.flags & NEGATED != 0 {
                v *= N_SCALAR;
            }
        }
        if let Some(p2) = p2 {
            if !in_lex(p2) {
                let mut s = scalar_inc_dec(p2, v, cap_diff);
                if s != 0.0 {
                    s *= 0.95;
                }
                v += s;
                if p2.id == id::NEVER && is_so_or_this(p1) {
                    v *= 1.25;
                } else if p2.id == id::WITHOUT && p1.id == id::DOUBT {
                    // valence = valence
                } else if p2.flags & NEGATED != 0 {
                    v *= N_SCALAR;
                }
            }
            if let Some(p3) = p3 {
                if !in_lex(p3) {
                    let mut s = scalar_inc_dec(p3, v, cap_diff);
                    if s != 0.0 {
                        s *= 0.9;
                    }
                    v += s;
                    // Python's `and` binds tighter than `or`: a bare "so"/"this" right
                    // before the word takes this branch too.
                    if (p3.id == id::NEVER && is_so_or_this(p2)) || is_so_or_this(p1) {
                        v *= 1.25;
                    } else if p3.id == id::WITHOUT && (p2.id == id::DOUBT || p1.id == id::DOUBT) {
                        // valence = valence
                    } else if p3.flags & NEGATED != 0 {
                        v *= N_SCALAR;
                    }
                    (v, int) = special_idioms(v, toks, i);
                }
            }
            // `_least_check`, first branch (i > 1).
            if p1.id == id::LEAST && !in_lex(p1) {
                if p2.id != id::AT && p2.id != id::VERY {
                    return Valence {
                        value: v * N_SCALAR,
                        int: false,
                    };
                }
                return Valence { value: v, int };
            }
        } else if p1.id == id::LEAST && !in_lex(p1) {
            // `_least_check`, `elif` branch: only reachable at i == 1.
            return Valence {
                value: v * N_SCALAR,
                int: false,
            };
        }
    }
    Valence { value: v, int }
}

/// `SPECIAL_CASES` for a two-word sequence: value and whether Python holds it as an int.
#[inline]
fn idiom2(a: u8, b: u8) -> Option<(f64, bool)> {
    use id::*;
    match (a, b) {
        (THE, SHIT) | (THE, BOMB) => Some((3.0, true)),
        (BAD, ASS) => Some((1.5, false)),
        (BUS, STOP) => Some((0.0, false)),
        (YEAH, RIGHT) => Some((-2.0, true)),
        (BEATING, HEART) => Some((3.5, false)),
        _ => None,
    }
}

/// `SPECIAL_CASES` for a three-word sequence.
#[inline]
fn idiom3(a: u8, b: u8, c: u8) -> Option<(f64, bool)> {
    use id::*;
    match (a, b, c) {
        (KISS, OF, DEATH) => Some((-1.5, false)),
        (TO, DIE, FOR) => Some((3.0, true)),
        _ => None,
    }
}

/// The two-token `BOOSTER_DICT` keys ("just enough", "kind of", "sort of").
#[inline]
fn booster2(a: u8, b: u8) -> bool {
    matches!(
        (a, b),
        (id::JUST, id::ENOUGH) | (id::KIND, id::OF) | (id::SORT, id::OF)
    )
}

/// `_special_idioms_check` at `i` (always `i >= 3` here). All keys are single tokens
/// joined by one space and tokens hold no whitespace, so comparing token ids is the same
/// as comparing the joined strings. Returns the valence and its Python int-ness.
#[inline]
fn special_idioms(valence: f64, toks: &[WordInfo], i: usize) -> (f64, bool) {
    let w = |k: usize| toks[k].id;
    let (w3, w2, w1, w0) = (w(i - 3), w(i - 2), w(i - 1), w(i));
    let next1 = toks.get(i + 1).map_or(0, |t| t.id);
    let next2 = toks.get(i + 2).map_or(0, |t| t.id);
    if (w3 | w2 | w1 | w0 | next1 | next2) == 0 {
        return (valence, false);
    }
    let mut v = valence;
    let mut int = false;
    // sequences = [onezero, twoonezero, twoone, threetwoone, threetwo]; first hit wins.
    let hit = idiom2(w1, w0)
        .or_else(|| idiom3(w2, w1, w0))
        .or_else(|| idiom2(w2, w1))
        .or_else(|| idiom3(w3, w2, w1))
        .or_else(|| idiom2(w3, w2));
    if let Some((x, is_int)) = hit {
        (v, int) = (x, is_int);
    }
    if i + 1 < toks.len() {
        if let Some((x, is_int)) = idiom2(w0, next1) {
            (v, int) = (x, is_int);
        }
    }
    if i + 2 < toks.len() {
        if let Some((x, is_int)) = idiom3(w0, next1, next2) {
            (v, int) = (x, is_int);
        }
    }
    // n_grams = [threetwoone, threetwo, twoone] against BOOSTER_DICT (no three-token keys).
    for (a, b) in [(w3, w2), (w2, w1)] {
        if booster2(a, b) {
            v += B_DECR;
            int = false;
        }
    }
    (v, int)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon::TABLES;
    use crate::tokens::tokenize;

    fn vals(text: &str) -> Vec<f64> {
        let mut toks = Vec::new();
        let upper = tokenize(&TABLES, text, &mut toks, &mut Default::default());
        let cap_diff = upper > 0 && upper < toks.len();
        let mut out = Vec::new();
        sentiments(&toks, cap_diff, &mut out);
        out.iter().map(|v| v.value).collect()
    }

    #[test]
    fn boosters_are_whole_words() {
        // "so" boosts; "also" is not "so".
        assert_eq!(vals("so good")[1], 1.9 + 0.293);
        assert_eq!(vals("also good")[1], 1.9);
        // A booster two back is damped by 0.95, three back by 0.9.
        assert_eq!(vals("very x good")[2], 1.9 + 0.293 * 0.95);
        assert_eq!(vals("very x y good")[3], 1.9 + 0.293 * 0.9);
    }

    #[test]
    fn negation_and_no() {
        assert_eq!(vals("not good")[1], 1.9 * N_SCALAR);
        assert_eq!(vals("isn't good")[1], 1.9 * N_SCALAR);
        // "no" before a lexicon word loses its own valence and negates the word.
        assert_eq!(vals("no good"), vec![0.0, 1.9 * N_SCALAR]);
        // "no" at the end keeps its valence.
        assert_eq!(vals("good no"), vec![1.9, -1.2]);
        // "no X or Y": Y negated through the or.
        assert_eq!(vals("no x or good")[3], 1.9 * N_SCALAR);
    }

    #[test]
    fn least_and_idioms() {
        assert_eq!(vals("least good")[1], 1.9 * N_SCALAR);
        assert_eq!(vals("the least good")[2], 1.9 * N_SCALAR);
        assert_eq!(vals("at least good")[2], 1.9);
        // "very least" is exempt from the damping; "very" still boosts from two back.
        assert_eq!(vals("very least good")[2], 1.9 + 0.293 * 0.95);
        assert_eq!(vals("a b the shit")[3], 3.0);
        assert_eq!(vals("x y z bus stop")[4], 0.0);
        assert_eq!(vals("x y sort of good")[4], 1.9 - 0.293);
    }
}
