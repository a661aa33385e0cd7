//! tidewatch's VADER sentiment engine: exact to PyPI vaderSentiment 3.3.2, and fast.
//!
//! Guarantees:
//! * **Exact.** For every `&str`, [`SentimentEngine::polarity_scores`] returns the numbers
//!   vaderSentiment 3.3.2's `SentimentIntensityAnalyzer().polarity_scores(text)` returns on
//!   CPython 3.12+: `neg`, `neu`, `pos` as `round(x, 3)` and `compound` as `round(x, 4)`,
//!   Python's rounding (half-to-even on the exact binary value; −0.0 kept). The unrounded
//!   values are bit-identical to the reference's too ([`SentimentEngine::polarity_scores_unrounded`]).
//!   It uses 3.3.2's own lexicon and emoji lexicon (compiled in) and rules, quirks included;
//!   `tests/reference.rs` checks all 24,065 texts of the shared reference set and
//!   `tests/differential.rs` compares with the `vader-parity` crate on generated texts.
//! * **Pure.** No IO, no clock, no global state beyond the tables parsed once on first use.
//! * **Fast.** One pass to split, strip and look up each token (ASCII on the stack, one hash
//!   probe), rules over small integer word ids, scratch buffers reused across calls: no
//!   allocation per text once the buffers have grown. Score many texts with one engine.
//!
//! ```
//! use tidewatch_sentiment::SentimentEngine;
//!
//! let mut engine = SentimentEngine::new();
//! let s = engine.polarity_scores("VADER is smart, handsome, and funny.");
//! assert_eq!((s.neg, s.neu, s.pos, s.compound), (0.0, 0.254, 0.746, 0.8316));
//! ```
//!
//! The lexicons are vaderSentiment's (MIT, © C.J. Hutto; see `LICENSE-vaderSentiment.txt`).
//! VADER is English-only.

mod bytes;
mod casing;
mod lexicon;
mod rules;
mod score;
mod tokens;
mod wordtable;

use lexicon::{id, Tables, WordInfo, TABLES};
use rules::Valence;

/// The four VADER scores of one text, rounded as vaderSentiment 3.3.2 returns them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scores {
    /// Share of negative weight, `round(x, 3)`, in [0, 1].
    pub neg: f64,
    /// Share of neutral tokens, `round(x, 3)`, in [0, 1].
    pub neu: f64,
    /// Share of positive weight, `round(x, 3)`, in [0, 1].
    pub pos: f64,
    /// Normalised sum of valences, `round(x, 4)`, in [−1, 1].
    pub compound: f64,
}

/// The same four values before rounding, bit-identical to the reference's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UnroundedScores {
    /// Negative share before rounding.
    pub neg: f64,
    /// Neutral share before rounding.
    pub neu: f64,
    /// Positive share before rounding.
    pub pos: f64,
    /// Compound before rounding.
    pub compound: f64,
}

impl UnroundedScores {
    /// Rounds as 3.3.2 does: `round(neg, 3)`, `round(neu, 3)`, `round(pos, 3)`,
    /// `round(compound, 4)`, with Python's `round`.
    #[must_use]
    pub fn rounded(&self) -> Scores {
        Scores {
            neg: py_round(self.neg, 3),
            neu: py_round(self.neu, 3),
            pos: py_round(self.pos, 3),
            compound: py_round(self.compound, 4),
        }
    }
}

/// Python's `round(x, digits)` (`digits` ≤ 15): the exact binary value of `x` rounded to
/// `digits` decimals, ties to even, then the nearest double; the sign of zero is kept.
#[must_use]
pub fn py_round(x: f64, digits: u32) -> f64 {
    score::py_round(x, digits)
}

/// A VADER scorer holding reusable scratch space. Construction is cheap (the tables are
/// shared and parsed once per process); scoring takes `&mut self` so that it never
/// allocates once its buffers have grown to the longest text seen. Use one engine per
/// thread.
#[derive(Clone, Debug, Default)]
pub struct SentimentEngine {
    toks: Vec<WordInfo>,
    sentiments: Vec<Valence>,
    translated: String,
    scratch: tokens::TokenScratch,
}

impl SentimentEngine {
    /// A new engine. The first engine in a process parses the lexicons (about 10 ms).
    #[must_use]
    pub fn new() -> SentimentEngine {
        let _ = tables();
        SentimentEngine::default()
    }

    /// The VADER scores of `text`, exactly as vaderSentiment 3.3.2 returns them.
    pub fn polarity_scores(&mut self, text: &str) -> Scores {
        self.polarity_scores_unrounded(text).rounded()
    }

    /// The scores of `text` before rounding, bit-identical to the reference's values.
    pub fn polarity_scores_unrounded(&mut self, text: &str) -> UnroundedScores {
        let tables = tables();
        let text = tokens::translate_emojis(tables, text, &mut self.translated);
        self.toks.clear();
        let upper = tokens::tokenize(tables, text, &mut self.toks, &mut self.scratch);
        let n = self.toks.len();
        // `allcap_differential`: some but not all tokens are ALL CAPS.
        let cap_diff = upper > 0 && upper < n;
        rules::sentiments(&self.toks, cap_diff, &mut self.sentiments);
        if let Some(bi) = self.toks.iter().position(|t| t.id == id::BUT) {
            score::but_check(bi, &mut self.sentiments);
        }
        let (neg, neu, pos, compound) = score::score_valence(&self.sentiments, text);
        UnroundedScores {
            neg,
            neu,
            pos,
            compound,
        }
    }
}

#[inline]
fn tables() -> &'static Tables {
    &TABLES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_example_and_empty() {
        let mut e = SentimentEngine::new();
        let s = e.polarity_scores("VADER is smart, handsome, and funny.");
        assert_eq!(
            s,
            Scores {
                neg: 0.0,
                neu: 0.254,
                pos: 0.746,
                compound: 0.8316
            }
        );
        assert_eq!(e.polarity_scores(""), Scores::default());
        assert_eq!(e.polarity_scores("   "), Scores::default());
        let s = e.polarity_scores("is?");
        assert_eq!((s.neu, s.compound), (1.0, 0.0));
    }

    #[test]
    fn unrounded_rounds_to_rounded() {
        let mut e = SentimentEngine::new();
        let u = e.polarity_scores_unrounded("Today only kinda sux! But I'll get by, lol");
        assert_eq!(
            u.rounded(),
            e.polarity_scores("Today only kinda sux! But I'll get by, lol")
        );
        assert!(u.compound > 0.0);
    }
}
