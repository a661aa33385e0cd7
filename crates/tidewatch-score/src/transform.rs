//! Scoring one raw record: validate, detect the language, score with VADER, match watches
//! (the post's own, plus those inherited from a remembered parent), emit.
//!
//! Guarantees of [`ScoreTransform`]:
//! * **Typed.** A post that arrives typed (the in-process bus) is used as it is; one that
//!   arrives as JSON (Kafka) is parsed and validated once. Outputs are typed values: the
//!   in-process bus hands them on, the Kafka producer writes their JSON.
//! * **Output.** For each accepted post: one `posts.watched` record per matched watch, keyed by
//!   the watch name, then one `posts.scored` record keyed `source:source_id`, carrying all the
//!   watches. Invalid records are rejected with the reason (the stage dead-letters them).
//! * **Unwatched posts.** When at least one watch is configured, a post that matches none is
//!   counted (`tidewatch_posts_unwatched_total`, and [`ScoreStats::unwatched`]) and produces no
//!   record: only watched posts are stored. With no watches configured, every post is stored.
//! * **Deletes** always go to `posts.scored` (the store needs them), unscored and unwatched.
//! * **Language** (rule in `crate::language`): posts in English, or in no language we can
//!   tell, get VADER scores and a label; other languages get `sentiment: null`, label
//!   `unscored` (counted in `tidewatch_posts_unscored_total{lang}`), and are still matched
//!   and stored. A watch's `languages` filter sees `lang_detected`, or "en" when that is
//!   unknown and the post was scored (such posts are treated as English throughout).
//! * **Inheritance.** A post whose `parent_id` names a remembered watched post (looked up as
//!   `source:parent_id`; see `crate::memory`) belongs to that post's watches too, subject to
//!   their `languages` and `none` clauses; chains of replies inherit transitively.
//! * **Cost.** One sentiment engine, one language detector and one match scratch per transform,
//!   reused for every post. A post no watch could want (in any language) is dropped right
//!   after the watch search, without language detection or VADER.

use std::sync::Arc;

use tidewatch_bus::transform::{Rejection, Transform};
use tidewatch_bus::{OutRecord, Record};
use tidewatch_model::{Label, Post, PostKind, ScoredPost, Sentiment, Topics, WatchedPost};
use tidewatch_sentiment::SentimentEngine;

use crate::language::LanguageDetector;
use crate::memory::ParentMemory;
use crate::{MatchScratch, WatchMatcher};

/// Counts of what a transform did since it was built.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ScoreStats {
    /// Valid posts seen, deletes included.
    pub posts: u64,
    /// Posts given a VADER score.
    pub scored: u64,
    /// Posts not scored because of their language.
    pub unscored: u64,
    /// Posts that matched no watch while watches are configured (not forwarded).
    pub unwatched: u64,
    /// Posts whose parent was remembered with watches.
    pub inherited: u64,
}

pub struct ScoreTransform {
    engine: SentimentEngine,
    language: LanguageDetector,
    watches: WatchMatcher,
    scratch: MatchScratch,
    matched: Vec<u32>,
    inherited: Vec<u32>,
    memory: ParentMemory,
    parent_key: String,
    topics: Topics,
    stats: ScoreStats,
}

impl ScoreTransform {
    /// A transform with the default parent memory
    /// ([`DEFAULT_PARENT_MEMORY`](crate::DEFAULT_PARENT_MEMORY) watched posts).
    pub fn new(watches: WatchMatcher, topics: Topics) -> Self {
        Self {
            engine: SentimentEngine::new(),
            language: LanguageDetector::new(),
            watches,
            scratch: MatchScratch::default(),
            matched: Vec::new(),
            inherited: Vec::new(),
            memory: ParentMemory::default(),
            parent_key: String::new(),
            topics,
            stats: ScoreStats::default(),
        }
    }

    /// Remembers up to `capacity` watched posts for replies to inherit from (0 disables).
    pub fn with_parent_memory(mut self, capacity: usize) -> Self {
        self.memory = ParentMemory::new(capacity);
        self
    }

    pub fn stats(&self) -> ScoreStats {
        self.stats
    }

    /// Scores a validated post: language, sentiment, watches (remembering them for replies).
    /// Always returns the full result, also for a post no watch wants.
    pub fn score(&mut self, post: Post) -> ScoredPost {
        let key = post.key();
        self.score_keyed(post, &key, false)
            .expect("scoring without skipping always gives a post")
    }

    /// With `skip_unwatched`, returns `None` as soon as it is clear that no watch wants the
    /// post (never for deletes, nor when no watch is configured), before language detection
    /// and sentiment: most of a firehose costs only the watch search.
    fn score_keyed(&mut self, post: Post, key: &str, skip_unwatched: bool) -> Option<ScoredPost> {
        self.stats.posts += 1;
        if post.kind == PostKind::Delete {
            return Some(ScoredPost {
                post,
                sentiment: None,
                label: Label::Unscored,
                lang_detected: None,
                watches: Vec::new(),
            });
        }
        let watching = !self.watches.is_empty();
        if watching {
            self.load_inherited(&post);
            if skip_unwatched
                && !self
                    .watches
                    .could_match(&post.text, &self.inherited, &mut self.scratch)
            {
                return None;
            }
        }
        let decision = self.language.decide(&post.text, post.lang.as_deref());
        let sentiment = if decision.scored {
            self.stats.scored += 1;
            let scores = self.engine.polarity_scores(&post.text);
            Some(Sentiment {
                neg: scores.neg,
                neu: scores.neu,
                pos: scores.pos,
                compound: scores.compound,
            })
        } else {
            self.stats.unscored += 1;
            let code = decision.lang_detected.as_deref().unwrap_or_default();
            let label = if code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase()) {
                code.to_string()
            } else {
                "other".to_string()
            };
            metrics::counter!("tidewatch_posts_unscored_total", "lang" => label).increment(1);
            None
        };
        let label = sentiment.map_or(Label::Unscored, |s| Label::from_compound(s.compound));
        let mut watches = Vec::new();
        if watching {
            // Posts scored without a known language are treated as English by watches too.
            let language = decision
                .lang_detected
                .as_deref()
                .or(decision.scored.then_some("en"));
            self.watches.match_into(
                &post.text,
                language,
                &self.inherited,
                &mut self.scratch,
                &mut self.matched,
            );
            self.memory.remember(key, &self.matched);
            watches.extend(
                self.matched
                    .iter()
                    .map(|&index| self.watches.name(index).to_string()),
            );
        }
        Some(ScoredPost {
            post,
            sentiment,
            label,
            lang_detected: decision.lang_detected,
            watches,
        })
    }

    /// Fills `self.inherited` with the watches of the post's remembered parent, if any.
    fn load_inherited(&mut self, post: &Post) {
        self.inherited.clear();
        let Some(parent_id) = &post.parent_id else {
            return;
        };
        self.parent_key.clear();
        self.parent_key.push_str(&post.source);
        self.parent_key.push(':');
        self.parent_key.push_str(parent_id);
        if let Some(watches) = self.memory.get(&self.parent_key) {
            self.stats.inherited += 1;
            self.inherited.extend_from_slice(watches);
        }
    }
}

impl Transform for ScoreTransform {
    fn process(&mut self, record: &Record, output: &mut Vec<OutRecord>) -> Result<(), Rejection> {
        // Typed on the in-process bus (validated where it entered); JSON parsed once from Kafka.
        let post = match record.value::<Post>() {
            Some(post) => Arc::unwrap_or_clone(post),
            None => Post::from_json_bytes(&record.payload).map_err(|error| Rejection {
                kind: error.kind().to_string(),
                reason: error.to_string(),
            })?,
        };
        let key = post.key();
        let scored = match self.score_keyed(post, &key, true) {
            Some(scored)
                if scored.post.kind == PostKind::Delete
                    || !scored.watches.is_empty()
                    || self.watches.is_empty() =>
            {
                scored
            }
            _ => {
                self.stats.unwatched += 1;
                metrics::counter!("tidewatch_posts_unwatched_total").increment(1);
                return Ok(());
            }
        };
        // Typed values: moved on the in-process bus, written as JSON only for Kafka.
        for watch in &scored.watches {
            let watched = WatchedPost {
                watch: watch.clone(),
                scored: scored.clone(),
            };
            output.push(OutRecord::typed(
                &self.topics.posts_watched,
                watch.clone(),
                Arc::new(watched),
            ));
        }
        output.push(OutRecord::typed(
            &self.topics.posts_scored,
            key,
            Arc::new(scored),
        ));
        Ok(())
    }
}

#[cfg(test)]
#[path = "transform_tests.rs"]
mod tests;
