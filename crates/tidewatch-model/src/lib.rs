//! The tidewatch wire format, shared by every stage.
//!
//! Guarantees: every record type here serialises to the JSON documented in DESIGN.md (version
//! field `v` = 1), and [`Post::from_json_bytes`] either returns a post that satisfies every
//! invariant the later stages rely on, or a [`PostError`] that names exactly what is wrong.
//! Nothing here does IO or reads a clock.

mod action;
mod alert;
mod dead_letter;
mod post;
pub mod readiness;
pub mod retry;
mod topics;

pub use action::{AlertAction, AlertActionKind};
pub use alert::{AlertEvent, AlertState, Severity};
pub use dead_letter::{DeadLetter, DEAD_LETTER_ORIGINAL_CAP};
pub use post::{
    format_timestamp, Author, Label, Post, PostError, PostKind, PostMetrics, ScoredPost, Sentiment,
    WatchedPost, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_RECORD_BYTES, MAX_TEXT_BYTES,
    WIRE_VERSION,
};
pub use readiness::{Readiness, ReadinessHandle, ReadinessReport};
pub use topics::Topics;
