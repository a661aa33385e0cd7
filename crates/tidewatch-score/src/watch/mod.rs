//! Watches: named queries of terms, phrases, @handles and #hashtags, with `all` and `none`
//! clauses and a language filter, compiled into one Aho-Corasick automaton.
//!
//! Guarantees:
//! * **Words, not substrings.** Matching is case-insensitive (Unicode lowercase) and respects
//!   word boundaries: "ual" does not match "usual". Words are runs of letters, digits and `_`
//!   (see [`text`]); apostrophes separate, so "jetblue" matches "JetBlue's".
//! * **Phrases.** "jet blue" matches the words "jet" then "blue" with any whitespace or
//!   punctuation between them ("Jet   Blue", "jet-blue", "jet, blue").
//! * **Handles and hashtags.** A word written with `@` or `#` in a term matches only that form
//!   ("#jetblue" matches "#JetBlue", not "jetblue" nor "@jetblue"); a bare word also matches
//!   its `@` and `#` forms ("jetblue" matches "@JetBlue" and "#jetblue").
//! * **Clauses.** A watch matches a post when at least one `any` term occurs, every `all` term
//!   occurs, no `none` term occurs, and `languages` is empty or lists the post's language
//!   (compared by primary subtag, case-insensitively: "en-US" counts as "en").
//! * **Cost.** All terms of all watches form one automaton, searched once per post over a
//!   normalised copy of the text kept in a reused [`MatchScratch`]; the work after the search
//!   is proportional to the hits, not to the number of watches. 1,000 watches cost a small
//!   multiple of one (see `benches/watches.rs`).
//!
//! A post's language is whatever the caller passes; the score stage passes the detected one
//! (see `crate::language`).

#[cfg(test)]
mod tests;
mod text;

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::Deserialize;

use text::{Normalized, TermPattern};

/// Up to this many distinct term word sequences, the automaton is a DFA (about 40 MB at most).
const DFA_MAX_PATTERNS: usize = 10_000;

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
    #[error("cannot compile the watches: {0}")]
    Automaton(String),
}

/// The primary language subtag, lowercase: "en-US" → "en", "EN" → "en".
pub(crate) fn primary_language(tag: &str) -> String {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
    primary.to_ascii_lowercase()
}

#[derive(Debug, Clone)]
struct CompiledWatch {
    name: String,
    all: Vec<u32>,
    none: Vec<u32>,
    languages: Vec<String>,
}

#[derive(Debug, Clone)]
struct CompiledTerm {
    pattern: TermPattern,
    /// Watches that have this term in `any`.
    any_of: Vec<u32>,
}

/// All watches of a config, ready to match posts. Immutable once built; share it freely.
#[derive(Debug, Clone, Default)]
pub struct WatchMatcher {
    watches: Vec<CompiledWatch>,
    terms: Vec<CompiledTerm>,
    /// Automaton pattern id → the terms with those words (they differ only in sigils).
    pattern_terms: Vec<Vec<u32>>,
    automaton: Option<AhoCorasick>,
}

/// Reusable per-thread state for [`WatchMatcher::match_into`]: the normalised text and
/// generation stamps, so that matching a post allocates nothing in steady state.
#[derive(Debug, Default, Clone)]
pub struct MatchScratch {
    normalized: Normalized,
    stamp: u32,
    term_stamps: Vec<u32>,
    watch_stamps: Vec<u32>,
    candidates: Vec<u32>,
    spare: Vec<u32>,
}

impl MatchScratch {
    /// Starts a new post: every term and watch is unseen again (in O(1), except on wrap).
    fn begin(&mut self, terms: usize, watches: usize) {
        if self.term_stamps.len() < terms {
            self.term_stamps.resize(terms, 0);
        }
        if self.watch_stamps.len() < watches {
            self.watch_stamps.resize(watches, 0);
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.term_stamps.fill(0);
            self.watch_stamps.fill(0);
            self.stamp = 1;
        }
        self.candidates.clear();
    }

    fn seen(&self, term: u32) -> bool {
        self.term_stamps[term as usize] == self.stamp
    }
}

impl WatchMatcher {
    pub fn new(configs: &[WatchConfig]) -> Result<Self, WatchError> {
        let mut matcher = WatchMatcher::default();
        let mut term_ids: HashMap<TermPattern, u32> = HashMap::new();
        let mut names: HashMap<&str, ()> = HashMap::new();
        for (index, config) in configs.iter().enumerate() {
            let watch = index as u32;
            if config.name.trim().is_empty() {
                return Err(WatchError::EmptyName);
            }
            if names.insert(&config.name, ()).is_some() {
                return Err(WatchError::DuplicateName(config.name.clone()));
            }
            if config.any.is_empty() {
                return Err(WatchError::NoTerms(config.name.clone()));
            }
            let mut intern = |term: &str| -> Result<u32, WatchError> {
                let pattern = TermPattern::parse(term)
                    .ok_or_else(|| WatchError::EmptyTerm(config.name.clone()))?;
                let next = matcher.terms.len() as u32;
                let id = *term_ids.entry(pattern.clone()).or_insert(next);
                if id == next {
                    matcher.terms.push(CompiledTerm {
                        pattern,
                        any_of: Vec::new(),
                    });
                }
                Ok(id)
            };
            let any = intern_all(&config.any, &mut intern)?;
            let all = intern_all(&config.all, &mut intern)?;
            let none = intern_all(&config.none, &mut intern)?;
            for term in any {
                let any_of = &mut matcher.terms[term as usize].any_of;
                if any_of.last() != Some(&watch) {
                    any_of.push(watch);
                }
            }
            matcher.watches.push(CompiledWatch {
                name: config.name.clone(),
                all,
                none,
                languages: config
                    .languages
                    .iter()
                    .map(|tag| primary_language(tag))
                    .collect(),
            });
        }
        matcher.build_automaton()?;
        Ok(matcher)
    }

    fn build_automaton(&mut self) -> Result<(), WatchError> {
        let mut pattern_ids: HashMap<&str, usize> = HashMap::new();
        let mut patterns: Vec<&str> = Vec::new();
        let mut pattern_terms: Vec<Vec<u32>> = Vec::new();
        for (id, term) in self.terms.iter().enumerate() {
            let words = term.pattern.words.as_str();
            let pattern = *pattern_ids.entry(words).or_insert_with(|| {
                patterns.push(words);
                pattern_terms.push(Vec::new());
                patterns.len() - 1
            });
            pattern_terms[pattern].push(id as u32);
        }
        if patterns.is_empty() {
            return Ok(());
        }
        // Overlapping search needs `Standard`. A DFA is the fastest to search and takes about
        // 4 MB per 1,000 watches of 5 terms; past DFA_MAX_PATTERNS the crate picks a compact
        // NFA instead, to keep memory in check.
        let kind = (patterns.len() <= DFA_MAX_PATTERNS).then_some(AhoCorasickKind::DFA);
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(&patterns)
            .map_err(|error| WatchError::Automaton(error.to_string()))?;
        self.automaton = Some(automaton);
        self.pattern_terms = pattern_terms;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    /// How many watches there are.
    pub fn len(&self) -> usize {
        self.watches.len()
    }

    /// Heap bytes of the compiled automaton (about 4 MB for 1,000 watches of 5 terms).
    pub fn automaton_bytes(&self) -> usize {
        self.automaton
            .as_ref()
            .map_or(0, |automaton| automaton.memory_usage())
    }

    /// The name of watch `index` (indices are config order, as [`Self::match_into`] returns).
    pub fn name(&self, index: u32) -> &str {
        &self.watches[index as usize].name
    }

    /// Names of every watch the text matches, in config order. `language` is the post's
    /// language if known; a watch with `languages` set skips posts in other or unknown
    /// languages. Convenience form of [`Self::match_into`] (it allocates a scratch).
    pub fn matching(&self, text: &str, language: Option<&str>) -> Vec<String> {
        let mut scratch = MatchScratch::default();
        let mut matched = Vec::new();
        self.match_into(text, language, &[], &mut scratch, &mut matched);
        matched
            .into_iter()
            .map(|index| self.name(index).to_string())
            .collect()
    }

    /// Puts in `matched` (cleared first) the indices, ascending, of every watch that matches
    /// `text`, plus those of `inherited` (a parent post's watches) that still admit this post:
    /// an inherited watch needs no term of its own but keeps its `languages` and `none`.
    pub fn match_into(
        &self,
        text: &str,
        language: Option<&str>,
        inherited: &[u32],
        scratch: &mut MatchScratch,
        matched: &mut Vec<u32>,
    ) {
        self.run(text, Some(language), inherited, scratch, matched);
    }

    /// True if some watch would match `text` (or some `inherited` watch admit it) in *some*
    /// language: [`Self::match_into`] with the `languages` filters left out. Lets the caller
    /// skip language detection and scoring for the many posts no watch wants.
    pub fn could_match(&self, text: &str, inherited: &[u32], scratch: &mut MatchScratch) -> bool {
        let mut matched = std::mem::take(&mut scratch.spare);
        self.run(text, None, inherited, scratch, &mut matched);
        let any = !matched.is_empty();
        scratch.spare = matched;
        any
    }

    /// `language`: `None` leaves the `languages` filters out; `Some(l)` applies them to `l`.
    fn run(
        &self,
        text: &str,
        language: Option<Option<&str>>,
        inherited: &[u32],
        scratch: &mut MatchScratch,
        matched: &mut Vec<u32>,
    ) {
        matched.clear();
        let Some(automaton) = &self.automaton else {
            return;
        };
        scratch.begin(self.terms.len(), self.watches.len());
        scratch.normalized.fill(text);
        let MatchScratch {
            normalized,
            stamp,
            term_stamps,
            watch_stamps,
            candidates,
            ..
        } = scratch;
        for hit in automaton.find_overlapping_iter(normalized.text.as_str()) {
            if !normalized.is_whole_words(hit.start(), hit.end()) {
                continue;
            }
            for &term in &self.pattern_terms[hit.pattern().as_usize()] {
                let compiled = &self.terms[term as usize];
                if term_stamps[term as usize] == *stamp
                    || !compiled.pattern.sigils_match(normalized, hit.start())
                {
                    continue;
                }
                term_stamps[term as usize] = *stamp;
                for &watch in &compiled.any_of {
                    if watch_stamps[watch as usize] != *stamp {
                        watch_stamps[watch as usize] = *stamp;
                        candidates.push(watch);
                    }
                }
            }
        }
        let scratch = &*scratch;
        let admits = |compiled: &CompiledWatch| {
            language.is_none_or(|language| language_ok(compiled, language))
                && !compiled.none.iter().any(|&term| scratch.seen(term))
        };
        for &watch in &scratch.candidates {
            let compiled = &self.watches[watch as usize];
            if admits(compiled) && compiled.all.iter().all(|&term| scratch.seen(term)) {
                matched.push(watch);
            }
        }
        for &watch in inherited {
            if self.watches.get(watch as usize).is_some_and(admits) {
                matched.push(watch);
            }
        }
        matched.sort_unstable();
        matched.dedup();
    }
}

fn intern_all(
    terms: &[String],
    intern: &mut impl FnMut(&str) -> Result<u32, WatchError>,
) -> Result<Vec<u32>, WatchError> {
    terms.iter().map(|term| intern(term)).collect()
}

fn language_ok(watch: &CompiledWatch, language: Option<&str>) -> bool {
    watch.languages.is_empty()
        || language.is_some_and(|language| {
            let primary = language.trim().split(['-', '_']).next().unwrap_or_default();
            watch
                .languages
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(primary))
        })
}
