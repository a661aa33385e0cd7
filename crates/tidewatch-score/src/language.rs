//! Which language a post is in, and whether VADER may score it.
//!
//! VADER is English-only, so a post in another language must get no score rather than a
//! misleading English one. The rule, applied by [`LanguageDetector::decide`]:
//!
//! 1. **Clean.** @handles, #hashtags, URLs and HTML entities are left out: they are names, not
//!    language, and they made whatlang call plain English tweets French. Only the first
//!    [`DETECT_BYTES`] bytes are looked at.
//! 2. **Script.** A text mostly in a script other than Latin (Cyrillic, Han, Arabic, …) is
//!    not English, however short: it is not scored, and `lang_detected` is whatlang's answer
//!    if reliable, else the source's `lang` unless that says "en", else unknown.
//!    A Latin-script text under [`MIN_LETTERS`] letters is too short to detect: step 5.
//! 3. **Plainly English**, decided without running whatlang, which takes 50–100 µs on a tweet
//!    (more than everything else the stage does together), when either
//!    * at least 3 distinct common English function words ("the", "you", "with", …; none of
//!      them common words of other Latin-script languages) make up at least 25% of the words,
//!      or
//!    * the source declares English, every letter is ASCII, and such a function word occurs:
//!      the text agrees with the declaration, and whatlang would be asked to overrule it on
//!      the evidence of a few trigrams.
//! 4. **whatlang.** A detection whatlang calls reliable gives the language.
//! 5. **Otherwise** the post's own `lang` field (its primary subtag, lowercase: "en-US" → "en")
//!    when the source sent one, or else unknown.
//!
//! `lang_detected` is the ISO 639-1 code (e.g. "en", "es", "zh") that these steps give, or null
//! when unknown. The post is **scored** when that language is English, or unknown for a text
//! without foreign script: a short or ambiguous text that nothing says is foreign is scored as
//! English (most of what the sources carry is, and VADER gives words it does not know no
//! weight; emoji, which VADER scores, count as no script). Every other post is stored and
//! counted with sentiment null and label `unscored`.

use whatlang::{detect_script, Detector, Lang, Script};

/// Texts with fewer letters than this (after cleaning) are not detected; see step 2.
pub const MIN_LETTERS: usize = 20;
/// How much of a text (after cleaning) detection reads, in bytes.
pub const DETECT_BYTES: usize = 600;

/// What the score stage needs to know about a post's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageDecision {
    /// ISO 639-1 code, or `None` when unknown.
    pub lang_detected: Option<String>,
    /// True if VADER scores the post (English, or unknown in Latin script or none).
    pub scored: bool,
}

/// Detects languages with reused buffers; one per stage instance.
#[derive(Debug, Clone, Default)]
pub struct LanguageDetector {
    detector: Detector,
    cleaned: String,
}

impl LanguageDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The language of `text`, given the language the source declared (`lang`), if any.
    pub fn decide(&mut self, text: &str, declared: Option<&str>) -> LanguageDecision {
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
        LanguageDecision {
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
pub fn iso_639_1(lang: Lang) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(text: &str, declared: Option<&str>) -> (Option<String>, bool) {
        let decision = LanguageDetector::new().decide(text, declared);
        (decision.lang_detected, decision.scored)
    }

    #[test]
    fn english_is_detected_and_scored_even_with_names_and_links() {
        for text in [
            "@SouthwestAir do you know that your lost baggage portal http://t.co/hUcLXluV5h doesn't work on mobile?",
            "“@JetBlue: Our fleet's on fleek. http://t.co/LSYbgLF59j” let's keep it professional",
            "The flight was delayed three hours and nobody told us anything at the gate",
        ] {
            assert_eq!(decide(text, Some("fr")), (Some("en".into()), true), "{text}");
        }
    }

    #[test]
    fn other_languages_are_detected_and_not_scored() {
        for (text, code) in [
            (
                "El vuelo de Iberia se retrasó tres horas y nadie nos dio ninguna explicación",
                "es",
            ),
            (
                "Je suis vraiment déçu par le service client, ils ne répondent jamais au téléphone",
                "fr",
            ),
            (
                "Der Zug hat schon wieder Verspätung und die Bahn sagt uns nichts, eine Frechheit",
                "de",
            ),
            (
                "Il volo è stato cancellato e non ci hanno dato nessun rimborso, vergognoso",
                "it",
            ),
        ] {
            assert_eq!(
                decide(text, Some("en")),
                (Some(code.into()), false),
                "{text}"
            );
        }
    }

    #[test]
    fn foreign_scripts_are_never_scored() {
        let (lang, scored) = decide(
            "Рейс задержали на три часа, и никто ничего нам не объяснил",
            Some("en"),
        );
        assert!(!scored);
        assert_ne!(lang.as_deref(), Some("en"));
        assert!(!decide("航班又延误了三个小时，没有人给我们任何解释", None).1);
    }

    #[test]
    fn a_declared_english_text_that_agrees_skips_whatlang_and_one_that_does_not_is_checked() {
        assert!(plainly_english("reading the Globex quarterly report", true));
        assert!(!plainly_english(
            "reading the Globex quarterly report",
            false
        ));
        assert!(!plainly_english("le café the noir, très bon", true));
        let spanish = "Que mal servicio, nunca mas vuelo con ustedes. Llevamos tres horas esperando en el aeropuerto y nadie nos dice nada";
        assert_eq!(decide(spanish, Some("en")), (Some("es".into()), false));
    }

    #[test]
    fn short_texts_follow_the_declared_language_or_are_scored() {
        assert_eq!(decide("worst. airline. ever.", None), (None, true));
        assert_eq!(
            decide("@united thanks!! #fail", Some("en-US")),
            (Some("en".into()), true)
        );
        assert_eq!(
            decide("¡Pésimo servicio!", Some("ES")),
            (Some("es".into()), false)
        );
        assert_eq!(decide("", Some("")), (None, true));
        assert_eq!(decide("😡😡 #fail", None), (None, true));
        assert_eq!(decide("ありがとう", None), (Some("ja".into()), false));
        assert_eq!(decide("Спасибо!", Some("uk")), (Some("uk".into()), false));
        assert_eq!(decide("Спасибо!", Some("en")), (None, false));
    }

    #[test]
    fn names_and_links_are_recognised() {
        assert!(is_name_or_link("@united"));
        assert!(is_name_or_link("“@JetBlue:"));
        assert!(is_name_or_link("#fail"));
        assert!(is_name_or_link("http://t.co/x"));
        assert!(is_name_or_link("&amp;"));
        assert!(!is_name_or_link("me@home"));
        assert!(!is_name_or_link("delayed"));
    }
}
