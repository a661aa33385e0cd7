//! Function words: the short, frequent words ("the", "und", "que") that tell a Latin-script
//! language apart on a text of a dozen words, where letter statistics are weak.
//!
//! Guarantees: [`read`] splits a text into words in one pass (runs of letters, digits and
//! apostrophes), counting its letters by script on the way (`crate::script`); it looks each
//! word up lowercased and counts, per [`Latin`] language, how many **distinct** function
//! words of that language occur. No list holds a word that is common English ("to", "is",
//! "in", "me", "was", "die", "will", "per", …), so English text gives other languages little
//! evidence; a word on several lists ("de", "que") counts for each, and [`WordTally`] says
//! which were on three or more (weak evidence). French and Italian elisions ("l'appli",
//! "dell'hotel") count by their prefix. The English list is the one the "plainly English"
//! check has always used. Lookups do not allocate; the merged table is built once per
//! process.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::script::ScriptCensus;
use std::sync::LazyLock;

/// The Latin-script languages that have a function-word list, in evidence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Latin {
    En,
    Es,
    Fr,
    De,
    It,
    Pt,
    Nl,
    Sv,
    Tr,
    Pl,
    Id,
    Vi,
}

impl Latin {
    pub(crate) const ALL: [Latin; 12] = [
        Latin::En,
        Latin::Es,
        Latin::Fr,
        Latin::De,
        Latin::It,
        Latin::Pt,
        Latin::Nl,
        Latin::Sv,
        Latin::Tr,
        Latin::Pl,
        Latin::Id,
        Latin::Vi,
    ];

    pub(crate) fn code(self) -> &'static str {
        [
            "en", "es", "fr", "de", "it", "pt", "nl", "sv", "tr", "pl", "id", "vi",
        ][self as usize]
    }

    pub(crate) fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|language| language.code() == code)
    }

    fn words(self) -> &'static [&'static str] {
        match self {
            Latin::En => ENGLISH,
            Latin::Es => SPANISH,
            Latin::Fr => FRENCH,
            Latin::De => GERMAN,
            Latin::It => ITALIAN,
            Latin::Pt => PORTUGUESE,
            Latin::Nl => DUTCH,
            Latin::Sv => SWEDISH,
            Latin::Tr => TURKISH,
            Latin::Pl => POLISH,
            Latin::Id => INDONESIAN,
            Latin::Vi => VIETNAMESE,
        }
    }
}

/// English function words that are rare as words in other Latin-script languages (so "is",
/// "in", "was", "die", "de" are not here).
#[rustfmt::skip]
const ENGLISH: &[&str] = &[
    "the", "and", "you", "your", "with", "this", "that", "have", "has", "what", "just", "are",
    "were", "would", "should", "could", "they", "their", "there", "from", "about", "when", "why",
    "how", "who", "which", "not", "but", "our", "it's", "i'm", "don't", "can't", "thanks",
    "please", "because", "been", "will", "my", "it", "doesn't", "didn't", "isn't", "won't",
    "wasn't", "i've", "you're", "that's", "we're", "they're", "know", "get", "got", "than",
    "then", "them", "some", "any", "only", "very", "really", "after", "where", "while", "let's",
    "i'll", "you'll", "we'll", "can", "into", "his", "her", "him", "she", "these", "those",
    "does", "did", "had", "never", "always", "again", "still", "anyone", "going", "ever",
];
#[rustfmt::skip]
const SPANISH: &[&str] = &[
    "el", "la", "los", "las", "del", "de", "que", "y", "por", "para", "con", "una", "un", "pero",
    "muy", "más", "mas", "está", "esta", "este", "esto", "eso", "porque", "cuando", "todo",
    "todos", "nada", "hay", "sin", "también", "ya", "yo", "mi", "tu", "su", "sus", "nos", "les",
    "lo", "le", "al", "como", "qué", "fue", "estoy", "tengo", "hoy", "otra", "vez", "siempre",
    "nunca", "gracias", "hola", "bien", "mucho", "muchas", "aquí", "desde", "hace", "es", "se",
    "en", "o", "alguien", "mejor", "nuevo", "nueva", "ni",
];
#[rustfmt::skip]
const FRENCH: &[&str] = &[
    "le", "la", "les", "des", "du", "de", "une", "un", "est", "et", "pas", "pour", "avec", "dans",
    "sur", "au", "aux", "ce", "cette", "ces", "qui", "que", "je", "tu", "il", "nous", "vous",
    "mon", "ma", "mes", "très", "mais", "ou", "encore", "toujours", "jamais", "merci", "bonjour",
    "aussi", "déjà", "rien", "tout", "tous", "quand", "parce", "ne", "se", "en", "l'", "j'", "d'",
    "qu'", "n'", "c'", "s'", "m'", "ça", "été", "être", "plus", "depuis", "quelqu'un", "si",
];
#[rustfmt::skip]
const GERMAN: &[&str] = &[
    "der", "das", "und", "ist", "nicht", "ich", "mit", "den", "dem", "ein", "eine", "einen",
    "auf", "für", "sich", "auch", "noch", "schon", "wieder", "aber", "wenn", "wie", "bei",
    "nach", "mir", "mich", "uns", "sehr", "kein", "keine", "immer", "nur", "zum", "zur", "vom",
    "jetzt", "heute", "danke", "bitte", "oder", "warum", "seit", "es", "ob", "wird", "sind",
    "habe", "gut", "über", "weiß", "alles", "nie", "jemand", "ganz", "wurde", "zu", "von",
];
#[rustfmt::skip]
const ITALIAN: &[&str] = &[
    "il", "lo", "gli", "della", "del", "di", "che", "è", "con", "non", "una", "un",
    "sono", "mi", "ho", "hanno", "anche", "ancora", "più", "molto", "tutto", "tutti", "questo",
    "questa", "quando", "perché", "mai", "grazie", "oggi", "dopo", "nel", "nella", "alla", "dal",
    "dalla", "ci", "si", "ma", "io", "ti", "se", "sempre", "da", "e", "la", "l'", "dell'",
    "un'", "all'", "nell'", "qualcuno", "stato", "stata", "ieri",
];
#[rustfmt::skip]
const PORTUGUESE: &[&str] = &[
    "o", "os", "da", "das", "dos", "uma", "não", "para", "pra", "por", "mais", "muito", "muita",
    "está", "isso", "isto", "ele", "ela", "eu", "você", "meu", "minha", "já", "foi", "tem",
    "também", "quando", "porque", "sem", "nem", "ainda", "obrigado", "obrigada", "aqui", "hoje",
    "nunca", "sempre", "é", "em", "na", "ao", "à", "de", "que", "e", "se", "alguém", "nesse",
    "nessa", "pelo", "pela",
];
#[rustfmt::skip]
const DUTCH: &[&str] = &[
    "het", "een", "en", "van", "de", "ik", "niet", "dat", "op", "voor", "zijn", "maar", "ook",
    "nog", "al", "bij", "naar", "uit", "wel", "geen", "heb", "heeft", "weer", "mijn", "jij",
    "je", "wat", "waarom", "dit", "deze", "wordt", "bedankt", "altijd", "nooit", "alles", "erg",
    "veel", "zo", "kan", "om", "iemand", "elke", "als", "ze",
];
#[rustfmt::skip]
const SWEDISH: &[&str] = &[
    "och", "att", "det", "som", "en", "är", "på", "för", "med", "jag", "inte", "har", "av",
    "den", "om", "ett", "så", "var", "vi", "kan", "mitt", "hur", "varför", "nu", "mycket",
    "alla", "igen", "tack", "också", "ingen", "något", "någon", "från", "efter", "bara", "de",
];
#[rustfmt::skip]
const TURKISH: &[&str] = &[
    "ve", "bir", "bu", "için", "ile", "çok", "var", "yok", "ama", "daha", "gibi", "kadar", "şey",
    "neden", "hiç", "değil", "bile", "artık", "diye", "mı", "mi", "mu", "mü", "de", "da", "ne",
    "yine", "kimse", "teşekkürler",
];
#[rustfmt::skip]
const POLISH: &[&str] = &[
    "w", "z", "na", "nie", "się", "że", "jest", "po", "jak", "ale", "o", "tak", "za", "od",
    "już", "tylko", "co", "mnie", "być", "był", "była", "ten", "jestem", "dla", "czy", "bardzo",
    "znowu", "wszystko", "nic", "jeszcze", "dziękuję", "nikt", "moją", "mój",
];
#[rustfmt::skip]
const INDONESIAN: &[&str] = &[
    "yang", "dan", "di", "ini", "itu", "dengan", "untuk", "tidak", "dari", "dalam", "akan",
    "pada", "juga", "saya", "ke", "karena", "ada", "sudah", "bisa", "aku", "kamu", "sangat",
    "lagi", "atau", "tapi", "belum", "apa", "terima", "kasih", "banyak", "kami", "mereka",
    "jadi",
];
#[rustfmt::skip]
const VIETNAMESE: &[&str] = &[
    "và", "của", "là", "có", "không", "được", "cho", "này", "những", "một", "các", "người",
    "tôi", "bạn", "với", "đã", "trong", "rất", "cũng", "khi", "thì", "mà", "đi",
];

type FunctionWordTable = HashMap<&'static str, (u16, u16), BuildHasherDefault<Fnv>>;

/// FNV-1a: for words of a few bytes, several times cheaper than the default SipHash (the
/// table's keys are fixed, so its DoS resistance buys nothing here).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// Every function word with the set of languages (bit `Latin as u8`) it belongs to, and its
/// number in the table (for counting distinct words).
static TABLE: LazyLock<FunctionWordTable> = LazyLock::new(|| {
    let mut table = FunctionWordTable::default();
    for language in Latin::ALL {
        for &word in language.words() {
            let next = table.len() as u16;
            table.entry(word).or_insert((0, next)).0 |= 1 << language as u16;
        }
    }
    table
});

/// The longest function word, in bytes, plus room for a multi-byte lowercase.
const LONGEST_WORD: usize = 24;

/// What the words of one text say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct WordTally {
    /// Words with at least one letter.
    pub(crate) words: usize,
    /// Occurrences of English function words (repeats included).
    pub(crate) english_hits: usize,
    /// Distinct function words per language, indexed by `Latin as usize`.
    pub(crate) distinct: [u8; Latin::ALL.len()],
    /// Of those, the words on three or more languages' lists ("de", "que", "en"): weak.
    pub(crate) shared: [u8; Latin::ALL.len()],
    /// Languages (bit `Latin as u8`) whose own letters occur: Polish ą ę ł ś ź ż ń ć,
    /// Turkish ğ ı ş, Vietnamese ơ ư đ and the letters with a dot or hook below.
    pub(crate) own_letters: u16,
    /// True when every word is ASCII.
    pub(crate) all_ascii: bool,
}

impl WordTally {
    /// Splits `text` into words and counts its function words.
    #[cfg(test)]
    pub(crate) fn of(text: &str) -> Self {
        read(text).1
    }

    /// Counts `word` if it is a function word (once per language for a word seen before).
    fn record(&mut self, table: &FunctionWordTable, word: &str, seen: &mut [u64; 16]) -> bool {
        let Some(&(languages, number)) = table.get(word) else {
            return false;
        };
        if languages & 1 != 0 {
            self.english_hits += 1;
        }
        let (slot, bit) = (usize::from(number / 64) % 16, number % 64);
        if seen[slot] & (1 << bit) != 0 {
            return true;
        }
        seen[slot] |= 1 << bit;
        let shared = languages.count_ones() >= 3;
        for language in Latin::ALL {
            if languages & (1 << language as u16) != 0 {
                self.distinct[language as usize] += 1;
                self.shared[language as usize] += u8::from(shared);
            }
        }
        true
    }
}

/// One pass over `text`: its letters by script, and its words' function words. Words are
/// runs of letters, digits and apostrophes (’ read as '), looked up lowercased.
pub(crate) fn read(text: &str) -> (ScriptCensus, WordTally) {
    let table = &*TABLE;
    let mut census = ScriptCensus::default();
    let mut tally = WordTally {
        all_ascii: true,
        ..WordTally::default()
    };
    let mut seen = [0_u64; 16];
    // The current word, lowercased; `fits` turns false once it is longer than any entry.
    let mut word = String::with_capacity(LONGEST_WORD + 4);
    let (mut fits, mut has_letter, mut ascii) = (true, false, true);
    let bytes = text.as_bytes();
    let mut at = 0;
    loop {
        let (letter, width) = match bytes.get(at) {
            None => (' ', 1),
            Some(&byte) if byte.is_ascii() => (char::from(byte), 1),
            Some(_) => {
                let letter = text[at..].chars().next().unwrap_or_default();
                (letter, letter.len_utf8())
            }
        };
        let in_word = if letter.is_ascii() {
            let alphabetic = letter.is_ascii_alphabetic();
            census.count_ascii(alphabetic);
            has_letter |= alphabetic;
            if alphabetic || letter.is_ascii_digit() || letter == '\'' {
                if fits {
                    word.push(letter.to_ascii_lowercase());
                }
                true
            } else {
                false
            }
        } else if letter == '’' {
            word.push('\'');
            ascii = false;
            true
        } else if letter.is_alphanumeric() {
            if letter.is_alphabetic() {
                census.count(letter);
                has_letter = true;
                tally.own_letters |= own_letter(letter);
            }
            if fits {
                word.extend(letter.to_lowercase());
            }
            ascii = false;
            true
        } else {
            false
        };
        fits &= word.len() <= LONGEST_WORD;
        if !in_word {
            if has_letter {
                tally.words += 1;
                tally.all_ascii &= ascii;
                if fits {
                    tally.look_up(table, &word, &mut seen);
                }
            }
            word.clear();
            (fits, has_letter, ascii) = (true, false, true);
        }
        at += width;
        if at > bytes.len() {
            break;
        }
    }
    (census, tally)
}

impl WordTally {
    /// Counts `word`, or for an elision ("l'appli") its prefix ("l'"), if a function word.
    fn look_up(&mut self, table: &FunctionWordTable, word: &str, seen: &mut [u64; 16]) {
        if self.record(table, word, seen) {
            return;
        }
        if let Some(apostrophe) = word.find('\'').filter(|&at| at > 0) {
            self.record(table, &word[..=apostrophe], seen);
        }
    }
}

/// The language (bit) whose own letter this is (see [`WordTally::own_letters`]), or 0.
fn own_letter(letter: char) -> u16 {
    match letter {
        'ą' | 'ę' | 'ł' | 'ś' | 'ź' | 'ż' | 'ń' | 'ć' | 'Ą' | 'Ę' | 'Ł' | 'Ś' | 'Ź' | 'Ż' => {
            1 << Latin::Pl as u16
        }
        'ğ' | 'ı' | 'ş' | 'Ğ' | 'İ' | 'Ş' => 1 << Latin::Tr as u16,
        'ơ' | 'ư' | 'đ' | 'Ơ' | 'Ư' | 'Đ' | '\u{1EA0}'..='\u{1EF9}' => 1 << Latin::Vi as u16,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distinct(text: &str, language: Latin) -> u8 {
        WordTally::of(text).distinct[language as usize]
    }

    #[test]
    fn distinct_function_words_are_counted_per_language() {
        let tally = WordTally::of("The flight and THE crew, and you’re late");
        assert_eq!(tally.words, 8);
        assert_eq!(tally.english_hits, 5);
        assert_eq!(tally.distinct[Latin::En as usize], 3);
        assert!(!tally.all_ascii, "’ is not ASCII");
        assert!(WordTally::of("you're late").all_ascii);
        assert_eq!(
            distinct("El vuelo de Iberia se retrasó y nadie", Latin::Es),
            4
        );
        assert_eq!(distinct("Qué día. Está bien", Latin::Es), 3);
        assert_eq!(distinct("l'appli plante dès que j'ouvre", Latin::Fr), 3);
        assert!(!WordTally::of("déjà").all_ascii);
    }

    #[test]
    fn english_text_gives_other_languages_little_evidence() {
        let text = "I was in the lounge to die of boredom, me and my man will go home";
        for language in Latin::ALL.into_iter().skip(1) {
            assert!(distinct(text, language) <= 1, "{language:?}");
        }
    }

    #[test]
    fn no_list_repeats_a_word_and_codes_round_trip() {
        for language in Latin::ALL {
            let words = language.words();
            let unique: std::collections::HashSet<_> = words.iter().collect();
            assert_eq!(unique.len(), words.len(), "{language:?}");
            assert_eq!(Latin::from_code(language.code()), Some(language));
        }
        assert!(TABLE.len() <= 1024, "the seen-set holds 1,024 words");
    }
}
