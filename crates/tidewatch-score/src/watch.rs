//! Watches: named queries of terms, phrases, @handles and #hashtags, with `all` and `none`
//! clauses and a language filter.
//!
//! Matching is case-insensitive and respects word boundaries: "ual" does not match "usual", and
//! "jet blue" matches the words "jet" then "blue" with any whitespace or punctuation between.
//! A term keeps its leading `@` or `#` when it has one ("#jetblue" only matches the hashtag);
//! a bare term also matches the hashtag and handle forms ("jetblue" matches "#jetblue").

use serde::Deserialize;

/// One `[[watch]]` of the config (DESIGN.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    pub name: String,
    pub any: Vec<String>,
    #[serde(default)]
    pub all: Vec<String>,
    #[serde(default)]
    pub none: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
}

/// A watch the config describes wrongly; fatal (the config must be fixed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    #[error("watch.name is empty")]
    EmptyName,
    #[error("watch name {0:?} is used twice")]
    DuplicateName(String),
    #[error("watch {0:?}: `any` needs at least one term")]
    NoTerms(String),
    #[error("watch {0:?}: a term has no letters or digits")]
    EmptyTerm(String),
}

/// A term as a sequence of lowercase words, with an optional required sigil.
#[derive(Debug, Clone)]
struct Term {
    sigil: Option<char>,
    words: Vec<String>,
}

impl Term {
    fn parse(text: &str) -> Option<Term> {
        let trimmed = text.trim();
        let sigil = trimmed
            .chars()
            .next()
            .filter(|first| *first == '@' || *first == '#');
        let words: Vec<String> = tokenize(trimmed).map(|(_, word)| word).collect();
        if words.is_empty() {
            return None;
        }
        Some(Term { sigil, words })
    }

    /// True if the words occur consecutively in `tokens` (sigil respected on the first).
    fn occurs_in(&self, tokens: &[(Option<char>, String)]) -> bool {
        let length = self.words.len();
        if tokens.len() < length {
            return false;
        }
        (0..=tokens.len() - length).any(|start| {
            let sigil_ok = self.sigil.is_none() || tokens[start].0 == self.sigil;
            sigil_ok
                && self
                    .words
                    .iter()
                    .zip(&tokens[start..start + length])
                    .all(|(word, (_, token))| word == token)
        })
    }
}

/// Splits text into lowercase words of letters, digits, `_` and inner `'`, each with the `@` or
/// `#` that immediately precedes it.
fn tokenize(text: &str) -> impl Iterator<Item = (Option<char>, String)> + '_ {
    let mut characters = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let mut sigil = None;
        loop {
            let (_, character) = characters.next()?;
            if character.is_alphanumeric() || character == '_' {
                let mut word: String = character.to_lowercase().collect();
                while let Some(&(_, next)) = characters.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '\'' {
                        word.extend(next.to_lowercase());
                        characters.next();
                    } else {
                        break;
                    }
                }
                return Some((sigil, word));
            }
            sigil = if character == '@' || character == '#' {
                Some(character)
            } else {
                None
            };
        }
    })
}

#[derive(Debug, Clone)]
struct CompiledWatch {
    name: String,
    any: Vec<Term>,
    all: Vec<Term>,
    none: Vec<Term>,
    languages: Vec<String>,
}

/// All watches of a config, ready to match posts.
#[derive(Debug, Clone, Default)]
pub struct WatchMatcher {
    watches: Vec<CompiledWatch>,
}

impl WatchMatcher {
    pub fn new(configs: &[WatchConfig]) -> Result<Self, WatchError> {
        let mut watches: Vec<CompiledWatch> = Vec::with_capacity(configs.len());
        for config in configs {
            if config.name.trim().is_empty() {
                return Err(WatchError::EmptyName);
            }
            if watches.iter().any(|watch| watch.name == config.name) {
                return Err(WatchError::DuplicateName(config.name.clone()));
            }
            if config.any.is_empty() {
                return Err(WatchError::NoTerms(config.name.clone()));
            }
            let compile = |terms: &[String]| -> Result<Vec<Term>, WatchError> {
                terms
                    .iter()
                    .map(|term| {
                        Term::parse(term).ok_or_else(|| WatchError::EmptyTerm(config.name.clone()))
                    })
                    .collect()
            };
            watches.push(CompiledWatch {
                name: config.name.clone(),
                any: compile(&config.any)?,
                all: compile(&config.all)?,
                none: compile(&config.none)?,
                languages: config
                    .languages
                    .iter()
                    .map(|language| language.to_lowercase())
                    .collect(),
            });
        }
        Ok(Self { watches })
    }

    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    /// Names of every watch the text matches, in config order. `language` is the post's
    /// language if known; a watch with languages set skips posts in other languages.
    pub fn matching(&self, text: &str, language: Option<&str>) -> Vec<String> {
        if self.watches.is_empty() {
            return Vec::new();
        }
        let tokens: Vec<(Option<char>, String)> = tokenize(text).collect();
        self.watches
            .iter()
            .filter(|watch| {
                let language_ok = watch.languages.is_empty()
                    || language.is_some_and(|language| {
                        watch
                            .languages
                            .iter()
                            .any(|wanted| wanted.eq_ignore_ascii_case(language))
                    });
                language_ok
                    && watch.any.iter().any(|term| term.occurs_in(&tokens))
                    && watch.all.iter().all(|term| term.occurs_in(&tokens))
                    && !watch.none.iter().any(|term| term.occurs_in(&tokens))
            })
            .map(|watch| watch.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(name: &str, any: &[&str], none: &[&str]) -> WatchConfig {
        WatchConfig {
            name: name.into(),
            any: any.iter().map(|term| term.to_string()).collect(),
            all: vec![],
            none: none.iter().map(|term| term.to_string()).collect(),
            languages: vec![],
        }
    }

    #[test]
    fn matches_words_phrases_handles_and_hashtags() {
        let matcher = WatchMatcher::new(&[
            watch("jetblue", &["jetblue", "jet blue"], &["jetblue park"]),
            watch("united", &["ual", "@united"], &[]),
        ])
        .unwrap();
        assert_eq!(
            matcher.matching("Flying JetBlue today", None),
            vec!["jetblue"]
        );
        assert_eq!(
            matcher.matching("#jetblue lost my bag", None),
            vec!["jetblue"]
        );
        assert_eq!(
            matcher.matching("on Jet   Blue, again", None),
            vec!["jetblue"]
        );
        assert!(matcher.matching("game at JetBlue Park", None).is_empty());
        assert!(matcher.matching("the usual delay", None).is_empty());
        assert_eq!(matcher.matching("thanks @united!", None), vec!["united"]);
        assert!(matcher.matching("we united the team", None).is_empty());
        assert_eq!(
            matcher.matching("UAL and JetBlue", None),
            vec!["jetblue", "united"]
        );
    }

    #[test]
    fn all_clause_and_languages() {
        let config = WatchConfig {
            name: "acme-outage".into(),
            any: vec!["acme".into()],
            all: vec!["outage".into()],
            none: vec![],
            languages: vec!["en".into()],
        };
        let matcher = WatchMatcher::new(&[config]).unwrap();
        assert!(matcher.matching("acme is great", Some("en")).is_empty());
        assert_eq!(
            matcher.matching("acme outage again", Some("en")),
            vec!["acme-outage"]
        );
        assert!(matcher.matching("acme outage again", Some("de")).is_empty());
    }

    #[test]
    fn rejects_bad_configs() {
        assert_eq!(
            WatchMatcher::new(&[watch("", &["x"], &[])]).unwrap_err(),
            WatchError::EmptyName
        );
        assert_eq!(
            WatchMatcher::new(&[watch("a", &["x"], &[]), watch("a", &["y"], &[])]).unwrap_err(),
            WatchError::DuplicateName("a".into())
        );
        assert_eq!(
            WatchMatcher::new(&[watch("a", &[], &[])]).unwrap_err(),
            WatchError::NoTerms("a".into())
        );
        assert_eq!(
            WatchMatcher::new(&[watch("a", &["!!"], &[])]).unwrap_err(),
            WatchError::EmptyTerm("a".into())
        );
    }
}
