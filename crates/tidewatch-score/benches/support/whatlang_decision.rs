//! The language decision as it was before the fast one (tidewatch 2633183): whatlang after a
//! cheap English check. Kept only as the baseline that the benchmark
//! (`benches/language.rs`) and the accuracy report (`examples/language_accuracy.rs`) measure
//! the current rule against, in the same run; nothing in the stage uses it. Its rule, in
//! short: clean names and links; a non-Latin script is foreign (whatlang's answer if
//! reliable); under 20 letters is unknown; "plainly English" by function words; else
//! whatlang if reliable; else the declared `lang`, or unknown (scored as English).
#![allow(dead_code)]

use whatlang::{detect_script, Detector, Lang, Script};

/// Texts with fewer letters than this (after cleaning) are not detected; see step 2.
pub(crate) const MIN_LETTERS: usize = 20;
/// How much of a text (after cleaning) detection reads, in bytes.
pub(crate) const DETECT_BYTES: usize = 600;

/// What the score stage needs to know about a post's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WhatlangDecision {
    /// ISO 639-1 code, or `None` when unknown.
    pub(crate) lang_detected: Option<String>,
    /// True if VADER scores the post (English, or unknown in Latin script or none).
    pub(crate) scored: bool,
}

/// Detects languages with reused buffers; one per stage instance.
#[derive(Debug, Clone, Default)]
pub(crate) struct WhatlangDetector {
    detector: Detector,
    cleaned: String,
}

impl WhatlangDetector {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The language of `text`, given the language the source declared (`lang`), if any.
    pub(crate) fn decide(&mut self, text: &str, declared: Option<&str>) -> WhatlangDecision {
        let declared = declared
            .map(|tag| tag.trim().split(['-', '_']).next().unwrap_or_default())
            .filter(|primary| !primary.is_empty())
            .map(str::to_ascii_lowercase);
        let declared_english = declared.as_deref() == Some("en");
        let (lang_detected, scored) = match self.detect(text, declared_english) {
            Detection::Confident(code) => (Some(code.to_string()), code == "en"),
            Detection::ForeignScript(guess) => (
                guess
                    .map(str::to_string)
                    .or_else(|| declared.filter(|code| code != "en")),
                false,
            ),
            Detection::Unknown => {
                let scored = declared.as_deref().is_none_or(|code| code == "en");
                (declared, scored)
            }
        };
        WhatlangDecision {
            lang_detected,
            scored,
        }
    }

    /// Steps 1–4.
    fn detect(&mut self, text: &str, declared_english: bool) -> Detection {
        self.cleaned.clear();
        for token in text.split_whitespace() {
            if self.cleaned.len() >= DETECT_BYTES {
                break;
            }
            if is_name_or_link(token) {
                continue;
            }
            if !self.cleaned.is_empty() {
                self.cleaned.push(' ');
            }
            self.cleaned.push_str(token);
        }
        let mut end = self.cleaned.len().min(DETECT_BYTES);
        while !self.cleaned.is_char_boundary(end) {
            end -= 1;
        }
        let cleaned = &self.cleaned[..end];
        let letters = cleaned.chars().filter(|c| c.is_alphabetic()).count();
        if letters == 0 {
            return Detection::Unknown;
        }
        let latin = detect_script(cleaned).is_none_or(|script| script == Script::Latin);
        if !latin {
            // Not written in Latin letters: not English, however short.
            let guess = self.detector.detect(cleaned);
            let reliable = guess.filter(|info| info.is_reliable() && info.lang() != Lang::Eng);
            return Detection::ForeignScript(reliable.map(|info| iso_639_1(info.lang())));
        }
        if letters < MIN_LETTERS {
            return Detection::Unknown;
        }
        if plainly_english(cleaned, declared_english) {
            return Detection::Confident("en");
        }
        match self.detector.detect(cleaned) {
            Some(info) if info.is_reliable() => Detection::Confident(iso_639_1(info.lang())),
            _ => Detection::Unknown,
        }
    }
}

/// What detection found.
enum Detection {
    /// A language whatlang (or the English check) is sure of.
    Confident(&'static str),
    /// A non-Latin script: certainly not English; the language if whatlang is sure of it.
    ForeignScript(Option<&'static str>),
    /// Too short, or unsure.
    Unknown,
}

/// @handles, #hashtags, URLs and HTML entities (`&amp;`), even behind opening punctuation.
fn is_name_or_link(token: &str) -> bool {
    let start = token.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '#');
    start.starts_with(['@', '#'])
        || token.contains("://")
        || start.starts_with("www.")
        || (token.starts_with('&') && token.ends_with(';'))
}

/// Step 3: ≥ 3 distinct English function words making ≥ 25% of the words; or, when the
/// source declares English, all letters ASCII and at least one function word.
fn plainly_english(text: &str, declared_english: bool) -> bool {
    let mut words = 0_usize;
    let mut hits = 0_usize;
    let mut distinct: u128 = 0;
    let mut all_ascii = true;
    let mut lower = [0_u8; 8];
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’')) {
        if !word.chars().any(char::is_alphabetic) {
            continue;
        }
        words += 1;
        if !word.is_ascii() {
            all_ascii = false;
            continue;
        }
        if word.len() > lower.len() {
            continue;
        }
        for (slot, byte) in lower.iter_mut().zip(word.bytes()) {
            *slot = byte.to_ascii_lowercase();
        }
        if let Some(index) = function_word(&lower[..word.len()]) {
            hits += 1;
            distinct |= 1 << index;
        }
    }
    (distinct.count_ones() >= 3 && hits * 4 >= words)
        || (declared_english && all_ascii && distinct != 0)
}

/// Index of an English function word that is rare as a word in other Latin-script
/// languages (so "is", "in", "was", "die", "de" are not here).
fn function_word(word: &[u8]) -> Option<u32> {
    const WORDS: [&[u8]; 86] = [
        b"the", b"and", b"you", b"your", b"with", b"this", b"that", b"have", b"has", b"what",
        b"just", b"are", b"were", b"would", b"should", b"could", b"they", b"their", b"there",
        b"from", b"about", b"when", b"why", b"how", b"who", b"which", b"not", b"but", b"our",
        b"it's", b"i'm", b"don't", b"can't", b"thanks", b"please", b"because", b"been", b"will",
        b"my", b"it", b"doesn't", b"didn't", b"isn't", b"won't", b"wasn't", b"i've", b"you're",
        b"that's", b"we're", b"they're", b"know", b"get", b"got", b"than", b"then", b"them",
        b"some", b"any", b"only", b"very", b"really", b"after", b"where", b"while", b"let's",
        b"i'll", b"you'll", b"we'll", b"can", b"into", b"his", b"her", b"him", b"she", b"these",
        b"those", b"does", b"did", b"had", b"never", b"always", b"again", b"still", b"anyone",
        b"going", b"ever",
    ];
    WORDS
        .iter()
        .position(|candidate| *candidate == word)
        .map(|index| index as u32)
}

/// whatlang's ISO 639-3 languages as ISO 639-1 codes.
#[rustfmt::skip]
pub(crate) fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo", Lang::Eng => "en", Lang::Rus => "ru", Lang::Cmn => "zh",
        Lang::Spa => "es", Lang::Por => "pt", Lang::Ita => "it", Lang::Ben => "bn",
        Lang::Fra => "fr", Lang::Deu => "de", Lang::Ukr => "uk", Lang::Kat => "ka",
        Lang::Ara => "ar", Lang::Hin => "hi", Lang::Jpn => "ja", Lang::Heb => "he",
        Lang::Yid => "yi", Lang::Pol => "pl", Lang::Amh => "am", Lang::Jav => "jv",
        Lang::Kor => "ko", Lang::Nob => "nb", Lang::Dan => "da", Lang::Swe => "sv",
        Lang::Fin => "fi", Lang::Tur => "tr", Lang::Nld => "nl", Lang::Hun => "hu",
        Lang::Ces => "cs", Lang::Ell => "el", Lang::Bul => "bg", Lang::Bel => "be",
        Lang::Mar => "mr", Lang::Kan => "kn", Lang::Ron => "ro", Lang::Slv => "sl",
        Lang::Hrv => "hr", Lang::Srp => "sr", Lang::Mkd => "mk", Lang::Lit => "lt",
        Lang::Lav => "lv", Lang::Est => "et", Lang::Tam => "ta", Lang::Vie => "vi",
        Lang::Urd => "ur", Lang::Tha => "th", Lang::Guj => "gu", Lang::Uzb => "uz",
        Lang::Pan => "pa", Lang::Aze => "az", Lang::Ind => "id", Lang::Tel => "te",
        Lang::Pes => "fa", Lang::Mal => "ml", Lang::Ori => "or", Lang::Mya => "my",
        Lang::Nep => "ne", Lang::Sin => "si", Lang::Khm => "km", Lang::Tuk => "tk",
        Lang::Aka => "ak", Lang::Zul => "zu", Lang::Sna => "sn", Lang::Afr => "af",
        Lang::Lat => "la", Lang::Slk => "sk", Lang::Cat => "ca", Lang::Tgl => "tl",
        Lang::Hye => "hy",
    }
}
