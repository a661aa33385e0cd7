//! From the valence list to the four scores: 3.3.2's `_but_check`, CPython's `sum`,
//! `_punctuation_emphasis`, `normalize`, `_sift_sentiment_scores` and `score_valence`.
//!
//! Guarantees: bit-identical unrounded values to vaderSentiment 3.3.2 on CPython 3.12+:
//! * `_but_check` re-finds each value with `list.index` semantics (the FIRST equal slot,
//!   `0.0 == -0.0`), so duplicates before the "but" are reweighted where Python does it;
//! * the sum is CPython's: a leading run of ints added exactly, then Neumaier-compensated;
//! * "!" (up to 4) and "?" (from 2 on) emphasis is counted on the emoji-translated text and
//!   applied to the sum only when the sum is non-zero;
//! * [`py_round`] is Python's `round(x, n)`: the exact binary value rounded half-to-even, the
//!   sign of zero kept.

use crate::rules::Valence;
use std::collections::{BTreeSet, HashMap};

/// Texts with more tokens than this use an indexed `_but_check` instead of the linear one.
const BUT_LINEAR_MAX: usize = 256;

/// 3.3.2's `_but_check`, applied in place when a token is "but" (`bi` = first such index).
pub(crate) fn but_check(bi: usize, s: &mut [Valence]) {
    if s.len() > BUT_LINEAR_MAX {
        return but_check_indexed(bi, s);
    }
    for pos in 0..s.len() {
        let sentiment = s[pos];
        // `sentiments.index(sentiment)`: the first slot equal to it (it is at most `pos`;
        // a NaN equals nothing, but no valence is ever NaN).
        let si = s[..pos]
            .iter()
            .position(|v| v.value == sentiment.value)
            .unwrap_or(pos);
        reweight(bi, si, sentiment, s);
    }
}

#[inline]
fn reweight(bi: usize, si: usize, sentiment: Valence, s: &mut [Valence]) {
    if si < bi {
        s[si] = Valence {
            value: sentiment.value * 0.5,
            int: false,
        };
    } else if si > bi {
        s[si] = Valence {
            value: sentiment.value * 1.5,
            int: false,
        };
    }
}

/// Same result as the linear scan, O(n log n): value classes (Python `==`) to the ordered
/// set of slots holding them.
#[cold]
fn but_check_indexed(bi: usize, s: &mut [Valence]) {
    fn key(v: f64) -> u64 {
        if v == 0.0 {
            0
        } else {
            v.to_bits()
        }
    }
    let mut slots: HashMap<u64, BTreeSet<usize>> = HashMap::new();
    for (pos, v) in s.iter().enumerate() {
        slots.entry(key(v.value)).or_default().insert(pos);
    }
    for pos in 0..s.len() {
        let sentiment = s[pos];
        let si = slots
            .get(&key(sentiment.value))
            .and_then(|set| set.first().copied())
            .unwrap_or(pos);
        if si == bi {
            continue;
        }
        let old = s[si].value;
        reweight(bi, si, sentiment, s);
        if let Some(set) = slots.get_mut(&key(old)) {
            set.remove(&si);
        }
        slots.entry(key(s[si].value)).or_default().insert(si);
    }
}

/// CPython's builtin `sum` over the sentiments: ints of a leading run are added exactly; the
/// first float is added plainly to that total; everything after takes the compensated
/// (Neumaier) step; the compensation is added at the end when non-zero and finite.
pub(crate) fn python_sum(values: &[Valence]) -> f64 {
    let mut it = values.iter();
    let mut int_total = 0.0_f64;
    let (mut f, mut c) = loop {
        match it.next() {
            None => return int_total,
            Some(v) if v.int => int_total += v.value,
            Some(v) => break (int_total + v.value, 0.0_f64),
        }
    };
    for v in it {
        let x = v.value;
        let t = f + x;
        if f.abs() >= x.abs() {
            c += (f - t) + x;
        } else {
            c += (x - t) + f;
        }
        f = t;
    }
    if c != 0.0 && c.is_finite() {
        f += c;
    }
    f
}

/// `_punctuation_emphasis` from the counts of "!" and "?" in the text.
#[inline]
pub(crate) fn punctuation_emphasis(text: &str) -> f64 {
    let (mut ep, mut qm) = (0usize, 0usize);
    for &b in text.as_bytes() {
        ep += usize::from(b == b'!');
        qm += usize::from(b == b'?');
    }
    let ep_amplifier = ep.min(4) as f64 * 0.292;
    let qm_amplifier = match qm {
        0 | 1 => 0.0,
        2 | 3 => qm as f64 * 0.18,
        _ => 0.96,
    };
    ep_amplifier + qm_amplifier
}

/// Unrounded `(neg, neu, pos, compound)` from the (but-checked) sentiments: `score_valence`.
pub(crate) fn score_valence(s: &[Valence], text: &str) -> (f64, f64, f64, f64) {
    if s.is_empty() {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let mut sum_s = python_sum(s);
    let mut pos_sum = 0.0_f64;
    let mut neg_sum = 0.0_f64;
    let mut neu_count = 0.0_f64;
    for v in s {
        let x = v.value;
        if x > 0.0 {
            pos_sum += x + 1.0;
        }
        if x < 0.0 {
            neg_sum += x - 1.0;
        }
        if x == 0.0 {
            neu_count += 1.0;
        }
    }
    let emphasis = if sum_s != 0.0 || pos_sum != neg_sum.abs() {
        punctuation_emphasis(text)
    } else {
        0.0
    };
    if sum_s > 0.0 {
        sum_s += emphasis;
    } else if sum_s < 0.0 {
        sum_s -= emphasis;
    }
    let compound = (sum_s / (sum_s * sum_s + 15.0).sqrt()).clamp(-1.0, 1.0);
    if pos_sum > neg_sum.abs() {
        pos_sum += emphasis;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= emphasis;
    }
    let total = pos_sum + neg_sum.abs() + neu_count;
    (
        (neg_sum / total).abs(),
        (neu_count / total).abs(),
        (pos_sum / total).abs(),
        compound,
    )
}

/// Python's `round(x, digits)` for `digits` in 0..=15: the exact binary value
/// of `x` rounded to `digits` decimals, ties to even, then the nearest double; −0.0 and any
/// value rounding to zero from below stay negative zero.
#[inline]
pub(crate) fn py_round(x: f64, digits: u32) -> f64 {
    let scale = match digits {
        3 => 1e3,
        4 => 1e4,
        _ => 10f64.powi(digits as i32),
    };
    let y = x * scale;
    if !y.is_finite() || y.abs() >= 4.0e15 {
        return round_slow(x, digits);
    }
    // y is x·10^n rounded once; the exact product is y + e. Unless y sits exactly on a
    // half, rounding y decides the same way as rounding the exact product (no half-way
    // point lies strictly between them).
    let r = if (y - y.trunc()).abs() == 0.5 {
        let e = x.mul_add(scale, -y);
        if e == 0.0 {
            y.round_ties_even()
        } else if e > 0.0 {
            y.ceil()
        } else {
            y.floor()
        }
    } else {
        y.round()
    };
    // r and 10^n are exact, so the quotient is the double nearest r / 10^n, which is what
    // CPython's round produces (it parses the rounded decimal string).
    r / scale
}

/// `round` through correctly rounded decimal formatting (ties to even on the exact value).
#[cold]
fn round_slow(x: f64, digits: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.*}", digits as usize).parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fl(v: &[f64]) -> Vec<Valence> {
        v.iter()
            .map(|&value| Valence { value, int: false })
            .collect()
    }

    #[test]
    fn round_matches_python() {
        // Values checked against CPython's round().
        assert_eq!(py_round(0.0625, 3).to_bits(), 0.062_f64.to_bits());
        assert_eq!(
            py_round(0.0375, 3),
            0.037,
            "0.0375 is just below the half in binary"
        );
        assert_eq!(py_round(2.675, 2), 2.67);
        assert_eq!(py_round(0.25, 1), 0.2);
        assert_eq!(py_round(0.75, 1), 0.8);
        assert_eq!(py_round(0.00005, 4), 0.0001);
        assert_eq!(py_round(-0.00004, 3).to_bits(), (-0.0_f64).to_bits());
        assert_eq!(py_round(-0.0, 4).to_bits(), (-0.0_f64).to_bits());
        assert_eq!(py_round(0.0, 4).to_bits(), 0.0_f64.to_bits());
        assert_eq!(py_round(-0.6597, 4), -0.6597);
        assert_eq!(py_round(1.0, 4), 1.0);
        assert_eq!(
            py_round(0.12345, 4),
            0.1235,
            "0.12345 is above the half in binary"
        );
        assert_eq!(py_round(0.5, 0), 0.0);
        assert_eq!(py_round(1.5, 0), 2.0);
    }

    #[test]
    fn round_agrees_with_decimal_formatting() {
        // Rust's `{:.n}` formatting rounds the exact binary value half-to-even, like CPython.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for k in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match k % 3 {
                0 => (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0,
                1 => (x % 20_001) as f64 / 20_000.0 - 0.5,
                _ => (x % 160_001) as f64 / 16.0 / 10_000.0,
            };
            for digits in [3u32, 4] {
                let want: f64 = format!("{v:.*}", digits as usize).parse().unwrap();
                let got = py_round(v, digits);
                assert_eq!(got.to_bits(), want.to_bits(), "{v:e} at {digits}");
            }
        }
    }

    #[test]
    fn but_check_first_equal_slot() {
        let run = |bi, v: &[f64]| {
            let mut s = fl(v);
            but_check(bi, &mut s);
            s.iter().map(|x| x.value).collect::<Vec<_>>()
        };
        assert_eq!(run(2, &[2.0, 1.0, 0.0, 1.0]), vec![0.5, 0.5, 0.0, 1.0]);
        assert_eq!(run(1, &[2.0, 0.0, 2.0]), vec![1.0, 0.0, 3.0]);
        assert_eq!(run(0, &[0.0, 0.5, 0.5]), vec![0.0, 0.75, 0.75]);
    }

    #[test]
    fn but_check_indexed_equals_linear() {
        let palette = [
            2.0, 1.0, -0.0, 0.0, 1.0, 3.0, -1.5, 2.0, 0.5, 1.5, -1.5, 4.5, 0.75,
        ];
        for n in [1usize, 5, 13, 40] {
            for bi in 0..n {
                for shift in 0..palette.len() {
                    let v: Vec<f64> = palette
                        .iter()
                        .cycle()
                        .skip(shift)
                        .take(n)
                        .copied()
                        .collect();
                    let (mut a, mut b) = (fl(&v), fl(&v));
                    but_check(bi, &mut a);
                    but_check_indexed(bi, &mut b);
                    let bits =
                        |s: &[Valence]| s.iter().map(|x| x.value.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "n={n} bi={bi} shift={shift}");
                }
            }
        }
    }

    #[test]
    fn sum_is_cpythons() {
        // sum([1.1, 1.2, 0.0, 1.9]) is exactly 4.2 with compensation (a plain fold is not).
        assert_eq!(python_sum(&fl(&[1.1, 1.2, 0.0, 1.9])), 4.2);
        let int = |value| Valence { value, int: true };
        // sum([9, -2.6, -1.6]) differs from sum([9.0, -2.6, -1.6]) in the last bit.
        let mixed = [
            int(9.0),
            Valence {
                value: -2.6,
                int: false,
            },
            Valence {
                value: -1.6,
                int: false,
            },
        ];
        assert_eq!(python_sum(&mixed).to_bits(), 0x4013_3333_3333_3334);
        assert_eq!(
            python_sum(&fl(&[9.0, -2.6, -1.6])).to_bits(),
            0x4013_3333_3333_3333
        );
        assert_eq!(python_sum(&[]), 0.0);
        assert_eq!(python_sum(&fl(&[-0.0])).to_bits(), 0.0_f64.to_bits());
    }

    #[test]
    fn emphasis_ladder() {
        assert_eq!(punctuation_emphasis("a"), 0.0);
        assert_eq!(punctuation_emphasis("!"), 0.292);
        assert_eq!(punctuation_emphasis("!!!!!!"), 4.0 * 0.292);
        assert_eq!(punctuation_emphasis("?"), 0.0);
        assert_eq!(punctuation_emphasis("??"), 2.0 * 0.18);
        assert_eq!(punctuation_emphasis("???"), 3.0 * 0.18);
        assert_eq!(punctuation_emphasis("????"), 0.96);
    }
}
