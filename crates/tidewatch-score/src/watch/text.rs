//! Word normalisation, shared by watch terms and post texts so that both sides always agree.
//!
//! Guarantees: [`Normalized::fill`] turns any text into its lowercase words separated by single
//! spaces, and records which words were written with a leading `@` or `#`. A word is a maximal
//! run of Unicode letters, digits and `_`; everything else (spaces, punctuation, apostrophes,
//! emoji, URLs' slashes and dots) separates words. Apostrophes separate too, so "JetBlue's"
//! holds the word "jetblue". A `@` or `#` counts as a sigil only right before a word and not
//! right after one: "@JetBlue" and "#JetBlue" carry it, "me@jetblue.com" does not. Word
//! boundaries in the normalised text are exactly the spaces and its two ends. The buffers are
//! reused: filling allocates only when a text is longer than any before.

/// A normalised text: lowercase words joined by single spaces, and where the sigils were.
#[derive(Debug, Default, Clone)]
pub(crate) struct Normalized {
    /// The words, lowercase, separated by one space each; no leading or trailing space.
    pub(crate) text: String,
    /// `(byte offset of a word in text, b'@' or b'#')` for each word written with a sigil,
    /// in ascending offset order.
    pub(crate) sigils: Vec<(usize, u8)>,
}

fn is_word_char(character: char) -> bool {
    if character.is_ascii() {
        character.is_ascii_alphanumeric() || character == '_'
    } else {
        character.is_alphanumeric()
    }
}

impl Normalized {
    /// Replaces the contents with the normalised form of `input`.
    pub(crate) fn fill(&mut self, input: &str) {
        self.text.clear();
        self.sigils.clear();
        let mut in_word = false;
        let mut sigil = 0_u8;
        for character in input.chars() {
            if is_word_char(character) {
                if !in_word {
                    if !self.text.is_empty() {
                        self.text.push(' ');
                    }
                    if sigil != 0 {
                        self.sigils.push((self.text.len(), sigil));
                    }
                    in_word = true;
                }
                if character.is_ascii() {
                    self.text.push(character.to_ascii_lowercase());
                } else {
                    self.text.extend(character.to_lowercase());
                }
            } else {
                sigil = match character {
                    '@' | '#' if !in_word => character as u8,
                    _ => 0,
                };
                in_word = false;
            }
        }
    }

    /// The sigil of the word starting at byte `offset`, or 0.
    pub(crate) fn sigil_at(&self, offset: usize) -> u8 {
        match self
            .sigils
            .binary_search_by_key(&offset, |&(start, _)| start)
        {
            Ok(index) => self.sigils[index].1,
            Err(_) => 0,
        }
    }

    /// True if `start..end` of the text is a whole run of words (a space or an end each side).
    pub(crate) fn is_whole_words(&self, start: usize, end: usize) -> bool {
        let bytes = self.text.as_bytes();
        (start == 0 || bytes[start - 1] == b' ') && (end == bytes.len() || bytes[end] == b' ')
    }
}

/// A watch term compiled to its normalised words and the sigils it requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TermPattern {
    /// The words, normalised and joined by single spaces: what the automaton searches for.
    pub(crate) words: String,
    /// `(byte offset in words, sigil)` of each word the term writes with `@` or `#`: that
    /// word must carry the same sigil in the post. Words without one match any form.
    pub(crate) sigils: Vec<(usize, u8)>,
}

impl TermPattern {
    /// Compiles a term as written in the config; `None` if it has no word at all.
    pub(crate) fn parse(term: &str) -> Option<TermPattern> {
        let mut normalized = Normalized::default();
        normalized.fill(term);
        if normalized.text.is_empty() {
            return None;
        }
        Some(TermPattern {
            words: normalized.text,
            sigils: normalized.sigils,
        })
    }

    /// True if this term, found at byte `start` of `text`, has the sigils it requires there.
    pub(crate) fn sigils_match(&self, text: &Normalized, start: usize) -> bool {
        self.sigils
            .iter()
            .all(|&(offset, sigil)| text.sigil_at(start + offset) == sigil)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(input: &str) -> Normalized {
        let mut normalized = Normalized::default();
        normalized.fill(input);
        normalized
    }

    #[test]
    fn words_are_lowercased_and_joined_by_single_spaces() {
        let text = normalized("  Flying JetBlue's   A320, again!! Ünïcode_ok ");
        assert_eq!(text.text, "flying jetblue s a320 again ünïcode_ok");
        assert!(text.sigils.is_empty());
        assert_eq!(normalized("?!").text, "");
        assert_eq!(normalized("").text, "");
    }

    #[test]
    fn sigils_are_kept_only_before_a_word_and_not_after_one() {
        let text = normalized("thanks @United #fail me@jetblue.com @@x # y");
        assert_eq!(text.text, "thanks united fail me jetblue com x y");
        let united = text.text.find("united").unwrap();
        let fail = text.text.find("fail").unwrap();
        let jetblue = text.text.find("jetblue").unwrap();
        let x = text.text.find(" x").unwrap() + 1;
        let y = text.text.find(" y").unwrap() + 1;
        assert_eq!(text.sigil_at(united), b'@');
        assert_eq!(text.sigil_at(fail), b'#');
        assert_eq!(text.sigil_at(jetblue), 0);
        assert_eq!(text.sigil_at(x), b'@');
        assert_eq!(text.sigil_at(y), 0);
    }

    #[test]
    fn terms_keep_their_sigils_per_word() {
        let term = TermPattern::parse(" Acme @Support ").unwrap();
        assert_eq!(term.words, "acme support");
        assert_eq!(term.sigils, vec![(5, b'@')]);
        assert!(TermPattern::parse("!!").is_none());
        let text = normalized("ask ACME @support now");
        assert!(term.sigils_match(&text, 4));
        let plain = normalized("ask acme support now");
        assert!(!term.sigils_match(&plain, 4));
    }

    #[test]
    fn whole_words_need_a_space_or_an_end_on_each_side() {
        let text = normalized("the usual ual");
        let usual = text.text.find("ual").unwrap();
        assert!(!text.is_whole_words(usual, usual + 3));
        assert!(text.is_whole_words(10, 13));
        assert!(text.is_whole_words(0, 3));
    }
}
