//! Differential test against the `vader-parity` crate (which matches vaderSentiment 3.3.2 on
//! the whole reference set) on generated texts: lexicon words, boosters, negations ("no",
//! "never", "n't", "nor"), "but", "least", idioms, ALL CAPS and mixed case, runs of "!" and
//! "?", emoticons, emoji (in and out of the emoji lexicon), odd Unicode whitespace, non-ASCII
//! letters with special casing, and random punctuation glued to words.
//!
//! 20,000 texts by default; 1,000,000 when `TIDEWATCH_LONG_TESTS=1`. The generator is seeded
//! and deterministic, so a failure names texts that reproduce. All four values must be equal
//! bit for bit.

use tidewatch_sentiment::SentimentEngine;
use vader_parity::SentimentIntensityAnalyzer;

const LEXICON: &str = include_str!("../data/vader_lexicon.txt");
const EMOJI: &str = include_str!("../data/emoji_utf8_lexicon.txt");

const BOOSTERS: &[&str] = &[
    "so",
    "very",
    "really",
    "extremely",
    "totally",
    "most",
    "more",
    "quite",
    "hella",
    "uber",
    "kinda",
    "kindof",
    "kind-of",
    "sorta",
    "sort-of",
    "barely",
    "hardly",
    "less",
    "little",
    "slightly",
    "somewhat",
    "almost",
    "fucking",
    "effing",
    "incredibly",
    "absolutely",
];
const NEGATIONS: &[&str] = &[
    "not",
    "no",
    "never",
    "isn't",
    "don't",
    "dont",
    "can't",
    "cannot",
    "without",
    "nor",
    "or",
    "nothing",
    "despite",
    "uh-uh",
    "wasn't",
    "ain't",
    "Doesn't",
    "NEVER",
    "NO",
    "No",
    "n't",
    "won't",
    "shouldn't",
    "rarely",
    "seldom",
    "none",
    "nope",
    "neither",
    "didn'T",
];
const SPECIAL: &[&str] = &[
    "but",
    "BUT",
    "But",
    "least",
    "at least",
    "very least",
    "the least",
    "kind of",
    "sort of",
    "just enough",
    "the shit",
    "the bomb",
    "bad ass",
    "badass",
    "bus stop",
    "yeah right",
    "kiss of death",
    "to die for",
    "beating heart",
    "never so",
    "never this",
    "without doubt",
    "so",
    "this",
    "THE SHIT",
    "Kind Of",
    "no",
    "or",
    "nor",
];
const FILLER: &[&str] = &[
    "the", "a", "is", "was", "I", "you", "it", "this", "that", "also", "and", "of", "to", "for",
    "at", "my", "we", "they", "flight", "service", "phone", "movie", "plot", "x", "2", "lol", "ok",
    "OK", "kind", "sort", "just", "enough", "yeah", "right", "bus", "heart", "die",
];
const EMOTICONS: &[&str] = &[
    ":)", ":(", ":P", ":p", ":-p", ":D", ":d", "8-)", "<3", ":/", "D:", ";)", ":-(", "xD", "XD",
    ":'(", "=)", "^_^", ">:(", ":|", "(:",
];
const WEIRD: &[&str] = &[
    "café",
    "ÉTÉ",
    "İyi",
    "Σ",
    "ΣΑΣ",
    "ΟΔΟΣ",
    "\u{212a}ind",
    "O\u{212a}",
    "ǅ",
    "straße",
    "ＧＯＯＤ",
    "naïve",
    "ﬁne",
    "GOOD\u{301}",
    "ǈ",
    "ß",
    "ΐ",
    "\u{1e9e}",
    "x\u{200b}y",
    "\u{feff}good",
];
const SPACES: &[&str] = &[
    " ", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u{1c}", "\u{1d}", "\u{1e}", "\u{1f}", "\u{a0}",
    "\u{2003}", "\u{3000}", "\u{85}", "\u{1680}", "\u{2028}", "\u{202f}", "\u{b}", "\u{c}",
    "\u{200b}", "\u{180e}",
];
const PUNCT: &[&str] = &[
    "!", "!!", "!!!", "!!!!!", "?", "??", "???", "????", "?!", "!?!", ".", ",", "...", ";", ":",
    "'", "\"", "(", ")", "-", "--", "*", "#", "@", "~", "_", "&", "$", "%", "[", "]", "/",
];

/// splitmix64: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Pools {
    words: Vec<&'static str>,
    emoji: Vec<&'static str>,
}

fn pools() -> Pools {
    let words = LEXICON
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|w| !w.is_empty());
    let emoji = EMOJI
        .lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|e| !e.is_empty());
    Pools {
        words: words.collect(),
        emoji: emoji.collect(),
    }
}

fn word(rng: &mut Rng, p: &Pools) -> String {
    let w: String = match rng.below(20) {
        0..=6 => rng.pick(&p.words).to_string(),
        7..=8 => rng.pick(BOOSTERS).to_string(),
        9..=10 => rng.pick(NEGATIONS).to_string(),
        11..=12 => rng.pick(SPECIAL).to_string(),
        13..=15 => rng.pick(FILLER).to_string(),
        16 => rng.pick(EMOTICONS).to_string(),
        17 => match rng.below(4) {
            0 => "\u{1F600}\u{200D}\u{1F525}".to_string(),
            1 => "\u{2764}\u{FE0F}".to_string(),
            2 => "\u{1F44D}\u{1F3FD}".to_string(),
            _ => rng.pick(&p.emoji).to_string(),
        },
        18 => rng.pick(WEIRD).to_string(),
        _ => rng.pick(PUNCT).to_string(),
    };
    let mut w = match rng.below(10) {
        0 | 1 => w.to_uppercase(),
        2 => {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        _ => w,
    };
    if rng.chance(15) {
        w.insert_str(0, rng.pick(PUNCT));
    }
    if rng.chance(25) {
        w.push_str(rng.pick(PUNCT));
    }
    w
}

fn text(rng: &mut Rng, p: &Pools) -> String {
    let n = match rng.below(10) {
        0 => rng.below(3),
        1..=6 => 2 + rng.below(10),
        7 | 8 => 10 + rng.below(25),
        // Rarely long enough (over 256 tokens) for the indexed "but" reweighting.
        _ if rng.chance(3) => 250 + rng.below(200),
        _ => 30 + rng.below(90),
    };
    let mut t = String::new();
    if rng.chance(5) {
        t.push_str(rng.pick(SPACES));
    }
    for k in 0..n {
        if k > 0 {
            // Mostly a space; sometimes odd whitespace, sometimes glued or emoji-adjacent.
            match rng.below(20) {
                0..=13 => t.push(' '),
                14..=17 => t.push_str(rng.pick(SPACES)),
                18 => t.push_str(rng.pick(PUNCT)),
                _ => {}
            }
        }
        t.push_str(&word(rng, p));
    }
    if rng.chance(20) {
        t.push_str(rng.pick(PUNCT));
    }
    if rng.chance(3) {
        t = t.to_uppercase();
    }
    t
}

#[test]
fn generated_texts_match_vader_parity() {
    let long = std::env::var("TIDEWATCH_LONG_TESTS").is_ok_and(|v| v == "1");
    let count = if long { 1_000_000 } else { 20_000 };
    let pools = pools();
    let oracle = SentimentIntensityAnalyzer::new();
    let mut engine = SentimentEngine::new();
    let mut rng = Rng(0x7469_6465_7761_7463);
    let mut mismatches = Vec::new();
    let mut scored = 0usize;
    for _ in 0..count {
        let t = text(&mut rng, &pools);
        let got = engine.polarity_scores(&t);
        let want = oracle.polarity_scores(&t);
        scored += usize::from(want.compound != 0.0);
        let same = [
            (got.neg, want.neg),
            (got.neu, want.neu),
            (got.pos, want.pos),
            (got.compound, want.compound),
        ]
        .iter()
        .all(|(g, w)| g.to_bits() == w.to_bits());
        if !same {
            mismatches.push(format!("{t:?}\n   got  {got:?}\n   want {want:?}"));
        }
    }
    for m in mismatches.iter().take(20) {
        println!("MISMATCH {m}");
    }
    println!(
        "differential: {count} generated texts ({scored} with non-zero compound), {} mismatches",
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {count} texts differ from vader-parity",
        mismatches.len()
    );
}
