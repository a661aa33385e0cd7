//! The score stage: `posts.raw` → `posts.scored` (one record per post, keyed `source:source_id`)
//! and `posts.watched` (one record per matched watch, keyed by watch name).
//!
//! [`ScoreTransform`] is pure: bytes in, records out, no IO and no clock, so it is unit tested
//! here and run on either bus by `tidewatch_bus::transform::run_transform`.

mod transform;
mod watch;

pub use transform::ScoreTransform;
pub use watch::{WatchConfig, WatchError, WatchMatcher};
