//! The score stage: `posts.raw` → `posts.scored` (one record per post, keyed `source:source_id`)
//! and `posts.watched` (one record per matched watch, keyed by watch name).
//!
//! Guarantees: [`ScoreTransform`] is pure (bytes in, records out, no IO and no clock), so it is
//! unit tested here and run on either bus by `tidewatch_bus::transform::run_transform`. It
//! scores English posts with `tidewatch-sentiment` (exact to vaderSentiment 3.3.2), detects
//! languages in about a microsecond ([`language`] has the rule), matches every configured watch with one Aho-Corasick
//! automaton ([`WatchMatcher`]), and lets replies inherit their parent's watches through a
//! bounded memory ([`ParentMemory`]). Each module's header states its own guarantees.

mod function_words;
pub mod language;
mod memory;
mod script;
mod transform;
mod watch;

pub use language::{LanguageDecision, LanguageDetector};
pub use memory::{ParentMemory, DEFAULT_PARENT_MEMORY};
pub use transform::{ScoreStats, ScoreTransform};
pub use watch::{MatchScratch, WatchConfig, WatchError, WatchMatcher};
