//! Hand-checked cases: texts written for this project, one per rule DESIGN.md lists as a
//! place where ports go wrong. The comment on a case shows the arithmetic where it is not
//! obvious (compound = s / sqrt(s² + 15) for a valence sum s). Every row also agrees with
//! the `vader-parity` oracle, which the last test checks.

use tidewatch_sentiment::{Scores, SentimentEngine};

/// (text, neg, neu, pos, compound)
const CASES: &[(&str, f64, f64, f64, f64)] = &[
    // good = 1.9 → 1.9 / sqrt(18.61) = 0.4404; pos = 2.9 / (2.9 + 3) = 0.492.
    ("The flight was good.", 0.0, 0.508, 0.492, 0.4404),
    // Boosters are whole words: "also" is not "so".
    ("The crew was also good.", 0.0, 0.58, 0.42, 0.4404),
    // "so" boosts (+0.293), and as the word right before it also takes the ×1.25 branch of
    // the third negation window (Python's and/or grouping): 2.193 × 1.25 = 2.74125 → 0.5777.
    ("The crew was so good.", 0.0, 0.517, 0.483, 0.5777),
    // Negation: 1.9 × −0.74 = −1.406 → −0.3412; "n't" counts as a negation.
    ("The seats were not good.", 0.376, 0.624, 0.0, -0.3412),
    ("The seats weren't good.", 0.445, 0.555, 0.0, -0.3412),
    ("I don't hate it", 0.0, 0.5, 0.5, 0.4585),
    // "no" before a lexicon word scores 0.0 itself and negates the word.
    ("No good deed goes unpunished", 0.376, 0.624, 0.0, -0.3412),
    ("no problem at all", 0.0, 0.571, 0.429, 0.3089),
    // "no" with nothing scoreable after it keeps its own valence (−1.2).
    ("The food was good, no", 0.272, 0.37, 0.358, 0.1779),
    // "no X or Y" / "no X nor Y": the third word is negated through the "or"/"nor".
    ("no snacks or drinks or fun", 0.232, 0.421, 0.347, 0.2732),
    ("no snacks nor fun", 0.341, 0.31, 0.35, 0.0154),
    // "least" negates (fun = 2.3 → −1.702 → −0.4023) unless it is "at least"/"very least".
    ("it was the least fun", 0.403, 0.597, 0.0, -0.4023),
    ("it was at least fun", 0.0, 0.548, 0.452, 0.5106),
    ("least funny", 0.706, 0.294, 0.0, -0.3412),
    // "but": before ×0.5, after ×1.5.
    (
        "The food was great but the service was horrible",
        0.332,
        0.49,
        0.178,
        -0.4939,
    ),
    // `_but_check` rewrites the FIRST slot equal to each value (`list.index`):
    // [2.0, 1.0, 0, 1.0] → [1.0, …] → [0.5, 1.0, …] → [0.5, 0.5, 0, 1.0]; s = 2 → 0.4588
    // (a per-position rule would give 3.0 → 0.6124).
    (":) :p but :p", 0.0, 0.167, 0.833, 0.4588),
    ("good good but good", 0.0, 0.114, 0.886, 0.775),
    // Idioms replace the valence: "the bomb" → 3 (3 / sqrt(24) = 0.6124), "bus stop" → 0.
    ("The new app is the bomb", 0.0, 0.556, 0.444, 0.6124),
    ("waited at the bus stop all day", 0.0, 1.0, 0.0, 0.0),
    // "yeah right" → −2 for both "yeah" (forward bigram) and "great" (backward): −4 → −0.7184.
    ("so the flight, yeah right, great", 0.6, 0.4, 0.0, -0.7184),
    // Idioms are only checked three words in: here "yeah" is word 0 and "great" word 2.
    ("Yeah right, great service", 0.0, 0.241, 0.759, 0.743),
    // "kind of" (n-gram booster, −0.293) and "kinda": 1.8 − 0.293 = 1.507 → 0.3626.
    ("the seats are kind of nice", 0.0, 0.666, 0.334, 0.3626),
    ("the seats are kinda nice", 0.0, 0.615, 0.385, 0.3626),
    // "never so": 2.193 × 1.25 × 1.25 = 3.4265625 → 0.6626.
    ("it was never so good", 0.0, 0.475, 0.525, 0.6626),
    // ALL CAPS among lowercase: great = 3.1 + 0.733 → 0.7034; all-caps text: no increment.
    ("The service was GREAT", 0.0, 0.383, 0.617, 0.7034),
    ("THE SERVICE WAS GREAT", 0.0, 0.423, 0.577, 0.6249),
    // `str.isupper()` on non-ASCII: "ÉTÉ" is upper, so "GREAT" gets no increment here either.
    ("ÉTÉ GREAT day", 0.0, 0.293, 0.707, 0.7034),
    // "!" adds 0.292 each, at most 4: 3.1 + 0.292 = 3.392 → 0.6588; 3.1 + 1.168 → 0.7405.
    ("The service was great!", 0.0, 0.406, 0.594, 0.6588),
    ("The service was great!!!!!!!!", 0.0, 0.363, 0.637, 0.7405),
    ("The service was GREAT!!!", 0.0, 0.344, 0.656, 0.7723),
    // "?" counts from two on: 0.18 each up to three, then 0.96.
    ("Is the service great?", 0.0, 0.423, 0.577, 0.6249),
    ("Is the service great??", 0.0, 0.402, 0.598, 0.6662),
    ("Is the service great????", 0.0, 0.372, 0.628, 0.7236),
    // Zero sum (1.9 − 1.9): no emphasis at all, compound 0, pos = neg = 2.9 / 6.8.
    ("good :( !!!", 0.426, 0.147, 0.426, 0.0),
    // Emoji become their descriptions ("smiling face with heart-eyes", "pouting face"),
    // with a space inserted before a description that follows a non-space.
    ("I love it 😍", 0.0, 0.41, 0.59, 0.802),
    ("flight delayed again😡", 0.322, 0.678, 0.0, -0.2263),
    // Python whitespace includes U+001C–U+001F; a zero-width space is not whitespace.
    ("good\u{1c}bad", 0.547, 0.0, 0.453, -0.1531),
    ("good\u{1f}\u{1f}great", 0.0, 0.0, 1.0, 0.7906),
    ("good\u{200b}great", 0.0, 1.0, 0.0, 0.0),
    // Punctuation is stripped only when more than two characters remain: "ok!!" and "(ok)"
    // stay as they are (not "ok" = 1.2 → 0.296), "GOOD," becomes "GOOD".
    ("ok", 0.0, 0.0, 1.0, 0.296),
    ("ok!!", 0.0, 1.0, 0.0, 0.0),
    ("(ok)", 0.0, 1.0, 0.0, 0.0),
    ("GOOD,", 0.0, 0.0, 1.0, 0.4404),
    // Lookups lowercase the token: ":P" is ":p" (1.0 → 0.25), never the key ":P" (1.4).
    (":P", 0.0, 0.0, 1.0, 0.25),
    ("", 0.0, 0.0, 0.0, 0.0),
    ("!!!", 0.0, 1.0, 0.0, 0.0),
];

#[test]
fn hand_checked_cases() {
    let mut engine = SentimentEngine::new();
    for &(text, neg, neu, pos, compound) in CASES {
        let want = Scores {
            neg,
            neu,
            pos,
            compound,
        };
        assert_eq!(engine.polarity_scores(text), want, "{text:?}");
    }
}

#[test]
fn negative_zero_compound_is_kept() {
    // 2.8 − 1.5 − 1.3 in floating point is −2.2e-16, not 0: compound −5.7e-17, which Python's
    // round(x, 4) turns into −0.0 (and, the sum being non-zero, "!" emphasis would apply).
    let mut engine = SentimentEngine::new();
    let raw = engine
        .polarity_scores_unrounded("lovely eerie odd")
        .compound;
    assert!(raw < 0.0 && raw > -1e-15, "{raw:e}");
    let s = engine.polarity_scores("lovely eerie odd");
    assert_eq!(s.compound.to_bits(), (-0.0_f64).to_bits());
    assert_eq!((s.neg, s.neu, s.pos), (0.558, 0.0, 0.442));
    let o = vader_parity::SentimentIntensityAnalyzer::new().polarity_scores("lovely eerie odd");
    assert_eq!(o.compound.to_bits(), (-0.0_f64).to_bits());
    // Positive zero stays positive.
    assert_eq!(
        engine.polarity_scores("plain words").compound.to_bits(),
        0.0_f64.to_bits()
    );
}

#[test]
fn cases_agree_with_the_oracle() {
    let oracle = vader_parity::SentimentIntensityAnalyzer::new();
    for &(text, neg, neu, pos, compound) in CASES {
        let o = oracle.polarity_scores(text);
        assert_eq!(
            (o.neg, o.neu, o.pos, o.compound),
            (neg, neu, pos, compound),
            "{text:?}"
        );
    }
}
