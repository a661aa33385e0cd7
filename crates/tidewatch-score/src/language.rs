//! Which language a post is in, and whether VADER may score it: a decision of about a
//! microsecond (it used to take 50–100 µs with whatlang, two thirds of the pipeline's CPU).
//!
//! VADER is English-only, so a post in another language must get no score rather than a
//! misleading English one. The rule, applied by [`LanguageDetector::decide`]:
//!
//! 1. **Clean.** @handles, #hashtags, URLs and HTML entities are left out: they are names, not
//!    language. Only the first [`DETECT_BYTES`] bytes are looked at.
//! 2. **Script** (`crate::script`). A text with more letters in other scripts than in Latin
//!    (Cyrillic, Han, Kana, Hangul, Arabic, …) is not English, however short: it is not
//!    scored, and `lang_detected` is the source's `lang` when that language is written in the
//!    script found, else the script's language (kana → ja, Han → zh, Hangul → ko, Cyrillic →
//!    ru unless letters only Ukrainian, Serbian, … use say otherwise), else unknown.
//!    A Latin-script text under [`MIN_LETTERS`] letters is too short to tell: step 5.
//! 3. **Plainly English**, when either at least 3 distinct English function words ("the",
//!    "you", "with", …; none of them common words of other Latin-script languages) make up at
//!    least 25% of the words, or the source declares English, every letter is ASCII and such
//!    a function word occurs.
//! 4. **Evidence.** Each Latin-script language with a function-word list
//!    (`crate::function_words`: en, es, fr, de, it, pt, nl, sv, tr, pl, id, vi) collects
//!    points: [`FUNCTION_WORD_WEIGHT`] (4) per distinct function word of it in the text, and
//!    for its own letters (Polish ł, Turkish ş, Vietnamese ư, …); [`SHARED_WORD_WEIGHT`] (1)
//!    per function word on three or more lists ("de", "que"); [`DECLARED_WEIGHT`] (2) if the
//!    source declares it; [`NGRAM_WEIGHT`] (4) if Quickwit's
//!    [whichlang](https://crates.io/crates/whichlang) names it (a letter n-gram model: it
//!    always names one of its 16 languages and gives no confidence). The language with the
//!    most points, strictly, wins if it has at least [`ENGLISH_MINIMUM`] (4) points for
//!    English, one piece of evidence, or [`FOREIGN_MINIMUM`] (6) for another language, two
//!    pieces, since that verdict withdraws the score; else step 5. whichlang is asked only
//!    when its vote could change the verdict: not when the leader has its minimum and leads
//!    by more than a vote, nor when English has its minimum and no other language could reach
//!    its own with the vote (an n-gram vote alone does not unseat English function words).
//!    So most English posts never reach whichlang.
//! 5. **Otherwise** the post's own `lang` field (its primary subtag, lowercase: "en-US" → "en")
//!    when the source sent one, or else unknown.
//!
//! `lang_detected` is the ISO 639-1 code (e.g. "en", "es", "zh") that these steps give, or null
//! when unknown. The post is **scored** when that language is English, or unknown for a text
//! without foreign script: a short or ambiguous text that nothing says is foreign is scored as
//! English (most of what the sources carry is, and VADER gives words it does not know no
//! weight; emoji, which VADER scores, count as no script). Every other post is stored and
//! counted with sentiment null and label `unscored`.
//!
//! Accuracy and speed against the whatlang rule it replaced are measured, in one run, by
//! `cargo run --release -p tidewatch-score --example language_accuracy` and
//! `cargo bench -p tidewatch-score --bench language` (the README has the table).

use crate::function_words::{self, Latin, WordTally};
use crate::script::foreign_script_language;

/// Texts with fewer letters than this (after cleaning) are not detected; see step 2.
pub const MIN_LETTERS: usize = 20;
/// How much of a text (after cleaning) detection reads, in bytes.
pub const DETECT_BYTES: usize = 600;
/// Points per distinct function word of a language, or for its own letters (step 4).
pub const FUNCTION_WORD_WEIGHT: u16 = 4;
/// Points per distinct function word on three or more languages' lists ("de", "que").
pub const SHARED_WORD_WEIGHT: u16 = 1;
/// Points for the language whichlang names (step 4).
pub const NGRAM_WEIGHT: u16 = 4;
/// Points for the language the source declares (step 4).
pub const DECLARED_WEIGHT: u16 = 2;
/// The least points an English winner needs: one piece of evidence.
pub const ENGLISH_MINIMUM: u16 = 4;
/// The least points another language needs: two pieces of evidence (whichlang and the
/// declaration, or a function word and either), since that verdict withdraws the score.
pub const FOREIGN_MINIMUM: u16 = 6;

/// What the score stage needs to know about a post's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageDecision {
    /// ISO 639-1 code, or `None` when unknown.
    pub lang_detected: Option<String>,
    /// True if VADER scores the post (English, or unknown in Latin script or none).
    pub scored: bool,
}

/// Decides languages with reused buffers; one per stage instance.
#[derive(Debug, Clone, Default)]
pub struct LanguageDetector {
    cleaned: String,
    declared: String,
}

impl LanguageDetector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The language of `text`, given the language the source declared (`lang`), if any.
    pub fn decide(&mut self, text: &str, declared: Option<&str>) -> LanguageDecision {
        let declared = declared.and_then(|tag| primary_subtag(tag, &mut self.declared));
        let (lang_detected, scored) = match detect(text, declared, &mut self.cleaned) {
            Detection::Confident(code) => (Some(code.to_string()), code == "en"),
            Detection::ForeignScript(guess) => (guess, false),
            Detection::Unknown => (
                declared.map(str::to_string),
                declared.is_none_or(|code| code == "en"),
            ),
        };
        LanguageDecision {
            lang_detected,
            scored,
        }
    }
}

/// "en-US" → "en", in `buffer`; `None` for an empty tag.
fn primary_subtag<'a>(tag: &str, buffer: &'a mut String) -> Option<&'a str> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
    if primary.is_empty() {
        return None;
    }
    buffer.clear();
    buffer.extend(primary.chars().map(|c| c.to_ascii_lowercase()));
    Some(buffer)
}

/// What detection found.
enum Detection {
    /// A Latin-script language the evidence (or the English check) settles.
    Confident(&'static str),
    /// Mostly a non-Latin script: certainly not English; the language if the script tells.
    ForeignScript(Option<String>),
    /// Too short, or unsure.
    Unknown,
}

/// Steps 1–4.
fn detect(text: &str, declared: Option<&str>, cleaned: &mut String) -> Detection {
    let cleaned = clean(text, cleaned);
    let (census, tally) = function_words::read(cleaned);
    if census.letters == 0 {
        return Detection::Unknown;
    }
    if census.mostly_foreign_script() {
        return Detection::ForeignScript(foreign_script_language(cleaned, &census, declared));
    }
    if census.letters < MIN_LETTERS {
        return Detection::Unknown;
    }
    if plainly_english(&tally, declared == Some("en")) {
        return Detection::Confident("en");
    }
    let mut points = [0_u16; Latin::ALL.len()];
    for language in Latin::ALL {
        let index = language as usize;
        let shared = u16::from(tally.shared[index]);
        let own = u16::from(tally.distinct[index]) - shared
            + u16::from(tally.own_letters & (1 << language as u16) != 0);
        points[index] = FUNCTION_WORD_WEIGHT * own + SHARED_WORD_WEIGHT * shared;
    }
    if let Some(language) = declared.and_then(Latin::from_code) {
        points[language as usize] += DECLARED_WEIGHT;
    }
    if whichlang_could_change(&points) {
        if let Some(language) = whichlang_latin(whichlang::detect_language(cleaned)) {
            points[language as usize] += NGRAM_WEIGHT;
        }
    }
    match leader(&points) {
        (language, lead) if lead > 0 && points[language as usize] >= minimum(language) => {
            Detection::Confident(language.code())
        }
        _ => Detection::Unknown,
    }
}

/// Step 1: the text without names and links, at most [`DETECT_BYTES`] bytes, in `cleaned`.
/// Tokens are split at ASCII whitespace (bytes, not chars: this runs on every post).
fn clean<'a>(text: &str, cleaned: &'a mut String) -> &'a str {
    cleaned.clear();
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() && cleaned.len() < DETECT_BYTES {
        if bytes[start].is_ascii_whitespace() {
            start += 1;
            continue;
        }
        let end = bytes[start..]
            .iter()
            .position(u8::is_ascii_whitespace)
            .map_or(bytes.len(), |length| start + length);
        // Both ends are at ASCII bytes or the text's ends: char boundaries.
        let token = &text[start..end];
        start = end;
        if is_name_or_link(token) {
            continue;
        }
        if !cleaned.is_empty() {
            cleaned.push(' ');
        }
        cleaned.push_str(token);
    }
    let mut end = cleaned.len().min(DETECT_BYTES);
    while !cleaned.is_char_boundary(end) {
        end -= 1;
    }
    &cleaned[..end]
}

/// False when the verdict is settled without whichlang: the leader has its minimum and either
/// leads by more than whichlang's vote, or is English while no other language could reach its
/// own minimum with that vote (an n-gram vote alone does not unseat English function words).
fn whichlang_could_change(points: &[u16; Latin::ALL.len()]) -> bool {
    let (language, lead) = leader(points);
    if points[language as usize] < minimum(language) {
        return true;
    }
    if lead > NGRAM_WEIGHT {
        return false;
    }
    language != Latin::En
        || points[1..]
            .iter()
            .any(|&other| other + NGRAM_WEIGHT >= FOREIGN_MINIMUM)
}

/// The least points `language` needs to win.
fn minimum(language: Latin) -> u16 {
    if language == Latin::En {
        ENGLISH_MINIMUM
    } else {
        FOREIGN_MINIMUM
    }
}

/// The language with the most points and its margin over the runner-up (0 on a tie).
fn leader(points: &[u16; Latin::ALL.len()]) -> (Latin, u16) {
    let (mut best, mut best_points, mut second_points) = (Latin::En, 0, 0);
    for language in Latin::ALL {
        let language_points = points[language as usize];
        if language_points > best_points {
            (best, best_points, second_points) = (language, language_points, best_points);
        } else if language_points > second_points {
            second_points = language_points;
        }
    }
    (best, best_points - second_points)
}

/// whichlang's answer, if it is a language of the evidence table.
fn whichlang_latin(lang: whichlang::Lang) -> Option<Latin> {
    use whichlang::Lang;
    Some(match lang {
        Lang::Eng => Latin::En,
        Lang::Spa => Latin::Es,
        Lang::Fra => Latin::Fr,
        Lang::Deu => Latin::De,
        Lang::Ita => Latin::It,
        Lang::Por => Latin::Pt,
        Lang::Nld => Latin::Nl,
        Lang::Swe => Latin::Sv,
        Lang::Tur => Latin::Tr,
        Lang::Vie => Latin::Vi,
        _ => return None,
    })
}

/// @handles, #hashtags, URLs and HTML entities (`&amp;`), even behind opening punctuation.
fn is_name_or_link(token: &str) -> bool {
    let first = token.as_bytes()[0];
    let start = if first.is_ascii_alphanumeric() {
        token // the common case, without the search for where the word starts
    } else {
        token.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '#')
    };
    start.starts_with(['@', '#'])
        || token
            .find(':')
            .is_some_and(|colon| token[colon..].starts_with("://"))
        || start.starts_with("www.")
        || (first == b'&' && token.ends_with(';'))
}

/// Step 3: ≥ 3 distinct English function words making ≥ 25% of the words; or, when the
/// source declares English, all letters ASCII and at least one function word.
fn plainly_english(tally: &WordTally, declared_english: bool) -> bool {
    let distinct = tally.distinct[Latin::En as usize];
    (distinct >= 3 && tally.english_hits * 4 >= tally.words)
        || (declared_english && tally.all_ascii && distinct != 0)
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
    fn a_declared_english_text_that_agrees_is_english_and_one_that_does_not_is_checked() {
        let tally = |text| WordTally::of(text);
        assert!(plainly_english(
            &tally("reading the Globex quarterly report"),
            true
        ));
        assert!(!plainly_english(
            &tally("reading the Globex quarterly report"),
            false
        ));
        assert!(!plainly_english(&tally("le café the noir, très bon"), true));
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
        assert_eq!(decide("Спасибо!", Some("en")), (Some("ru".into()), false));
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
