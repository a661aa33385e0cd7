//! Which writing system a text is in, and the language a non-Latin script implies.
//!
//! Guarantees: a [`ScriptCensus`] (filled by `crate::function_words::read` on its one pass
//! over a text) counts every alphabetic character exactly once, into Latin or one of the
//! scripts below (anything else alphabetic is `other`), without allocating.
//! [`foreign_script_language`] never answers "en": a text mostly outside the Latin script is
//! not English. It prefers the source's declared language when that language is written in
//! the script found, so "uk" stays "uk" on a Cyrillic text; otherwise it names the script's
//! main language, or a sibling told apart by letters only it uses (Ukrainian ї, Persian پ,
//! …), or nothing when the script is used by many languages.

/// Letters of a text by script.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScriptCensus {
    pub(crate) letters: usize,
    pub(crate) latin: usize,
    pub(crate) cyrillic: usize,
    pub(crate) greek: usize,
    pub(crate) arabic: usize,
    pub(crate) hebrew: usize,
    pub(crate) devanagari: usize,
    pub(crate) thai: usize,
    pub(crate) hangul: usize,
    pub(crate) kana: usize,
    pub(crate) han: usize,
    pub(crate) georgian: usize,
    pub(crate) armenian: usize,
    pub(crate) other: usize,
}

impl ScriptCensus {
    /// Counts the alphabetic characters of `text` by script.
    #[cfg(test)]
    pub(crate) fn of(text: &str) -> Self {
        crate::function_words::read(text).0
    }

    /// Counts an ASCII character (a letter if `alphabetic`).
    pub(crate) fn count_ascii(&mut self, alphabetic: bool) {
        self.letters += usize::from(alphabetic);
        self.latin += usize::from(alphabetic);
    }

    /// Counts a non-ASCII alphabetic character.
    pub(crate) fn count(&mut self, letter: char) {
        self.letters += 1;
        let slot = match u32::from(letter) {
            0x00C0..=0x024F | 0x1E00..=0x1EFF => &mut self.latin,
            0x0370..=0x03FF | 0x1F00..=0x1FFF => &mut self.greek,
            0x0400..=0x052F => &mut self.cyrillic,
            0x0530..=0x058F => &mut self.armenian,
            0x0590..=0x05FF => &mut self.hebrew,
            0x0600..=0x06FF | 0x0750..=0x077F | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
                &mut self.arabic
            }
            0x0900..=0x097F => &mut self.devanagari,
            0x0E00..=0x0E7F => &mut self.thai,
            0x10A0..=0x10FF => &mut self.georgian,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => &mut self.hangul,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => &mut self.kana,
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF => &mut self.han,
            _ => &mut self.other,
        };
        *slot += 1;
    }

    /// More letters outside the Latin script than in it.
    pub(crate) fn mostly_foreign_script(&self) -> bool {
        self.letters - self.latin > self.latin
    }
}

/// The language of a text mostly in a non-Latin script (see the module header), as an ISO
/// 639-1 code; `declared` is the source's primary language subtag, lowercase.
pub(crate) fn foreign_script_language(
    text: &str,
    census: &ScriptCensus,
    declared: Option<&str>,
) -> Option<String> {
    let declared_if = |codes: &[&str]| declared.filter(|code| codes.contains(code));
    let largest = [
        census.cyrillic,
        census.greek,
        census.arabic,
        census.hebrew,
        census.devanagari,
        census.thai,
        census.hangul,
        census.kana + census.han,
        census.georgian,
        census.armenian,
        census.other,
    ]
    .into_iter()
    .enumerate()
    .max_by_key(|&(_, count)| count)
    .map_or(usize::MAX, |(index, _)| index);
    let code = match largest {
        0 => declared_if(CYRILLIC).unwrap_or_else(|| cyrillic_language(text)),
        1 => "el",
        2 => declared_if(&["ar", "fa", "ur", "ps", "ku", "sd", "ug"])
            .unwrap_or_else(|| arabic_script_language(text)),
        3 => declared_if(&["he", "yi"]).unwrap_or("he"),
        4 => declared_if(&["hi", "mr", "ne", "sa"]).unwrap_or("hi"),
        5 => "th",
        6 => "ko",
        // Kana is Japanese only; Han alone is Chinese unless the source says Japanese.
        7 if census.kana > 0 && census.kana * 8 >= census.han => "ja",
        7 => declared_if(&["ja", "zh"]).unwrap_or("zh"),
        8 => "ka",
        9 => "hy",
        _ => return declared.filter(|code| *code != "en").map(str::to_string),
    };
    Some(code.to_string())
}

const CYRILLIC: &[&str] = &[
    "ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn", "tg", "tt", "ba",
];

/// Russian unless letters only a sibling uses say otherwise.
fn cyrillic_language(text: &str) -> &'static str {
    for letter in text.chars() {
        match letter {
            'ї' | 'є' | 'ґ' | 'Ї' | 'Є' | 'Ґ' => return "uk",
            'ў' | 'Ў' => return "be",
            'ә' | 'ғ' | 'қ' | 'ң' | 'ө' | 'ұ' | 'Ә' | 'Ғ' | 'Қ' | 'Ң' | 'Ө' | 'Ұ' => {
                return "kk"
            }
            'ѓ' | 'ќ' | 'ѕ' | 'Ѓ' | 'Ќ' | 'Ѕ' => return "mk",
            'ђ' | 'ћ' | 'џ' | 'љ' | 'њ' | 'ј' | 'Ђ' | 'Ћ' | 'Џ' | 'Љ' | 'Њ' | 'Ј' => {
                return "sr"
            }
            _ => {}
        }
    }
    "ru"
}

/// Arabic unless Persian or Urdu letters say otherwise.
fn arabic_script_language(text: &str) -> &'static str {
    for letter in text.chars() {
        match letter {
            'ٹ' | 'ڈ' | 'ڑ' | 'ں' | 'ے' => return "ur",
            'پ' | 'چ' | 'ژ' | 'گ' | 'ی' => return "fa",
            _ => {}
        }
    }
    "ar"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn language(text: &str, declared: Option<&str>) -> Option<String> {
        foreign_script_language(text, &ScriptCensus::of(text), declared)
    }

    #[test]
    fn letters_are_counted_by_script() {
        let census = ScriptCensus::of("Hé 日本 は! 😡 #1");
        assert_eq!(
            (census.letters, census.latin, census.han, census.kana),
            (5, 2, 2, 1)
        );
        assert!(census.mostly_foreign_script());
        assert!(!ScriptCensus::of("déjà vu, 東").mostly_foreign_script());
    }

    #[test]
    fn scripts_name_their_language_and_respect_a_fitting_declaration() {
        assert_eq!(language("Спасибо за помощь", None).as_deref(), Some("ru"));
        assert_eq!(
            language("Спасибо за помощь", Some("bg")).as_deref(),
            Some("bg")
        );
        assert_eq!(
            language("Спасибо за помощь", Some("en")).as_deref(),
            Some("ru")
        );
        assert_eq!(
            language("Дякую, все працює їй", None).as_deref(),
            Some("uk")
        );
        assert_eq!(
            language("荷物をまた無くされた", None).as_deref(),
            Some("ja")
        );
        assert_eq!(language("我的行李又被弄丢了", None).as_deref(), Some("zh"));
        assert_eq!(language("東京駅", Some("ja")).as_deref(), Some("ja"));
        assert_eq!(language("고객센터 최악", None).as_deref(), Some("ko"));
        assert_eq!(language("شكرا على الرد", None).as_deref(), Some("ar"));
        assert_eq!(language("پرواز تاخیر داشت", None).as_deref(), Some("fa"));
        assert_eq!(language("Ευχαριστώ πολύ", None).as_deref(), Some("el"));
        assert_eq!(language("תודה רבה", None).as_deref(), Some("he"));
        assert_eq!(language("ধন্যবাদ", Some("bn")).as_deref(), Some("bn"));
        assert_eq!(language("ধন্যবাদ", Some("en")), None);
    }
}
