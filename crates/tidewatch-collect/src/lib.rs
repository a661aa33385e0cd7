//! tidewatch collectors, first part: pure parsers from each source's real payloads to canonical
//! [`Post`]s.
//!
//! Guarantees, for every parser in this crate:
//! * no IO and no clock: every time a payload lacks is passed in by the caller (`observed_at`,
//!   `fallback`), so the same bytes always give the same posts;
//! * never panics, whatever the bytes (a property test feeds arbitrary bytes to each parser);
//! * a payload that is not JSON / XML, is truncated, or has the wrong shape at the top level is a
//!   [`ParseError`] naming the path and what was wrong; one bad item inside a good page is set
//!   aside in [`Batch::rejected`] with its own error, and the other items still come through;
//! * every produced post passes `Post::from_json_bytes(post.to_json())` (checked as each post is
//!   built, in [`finish`]), with text turned from HTML to plain text where the source sends HTML
//!   and clamped to [`tidewatch_model::MAX_TEXT_BYTES`] on a character boundary;
//! * the cursor or paging value of each source is exposed as the source defines it.
//!
//! Second part, the network edge of the polling sources (Hacker News, RSS / Atom, App Store):
//! [`fetch`] (HTTP with allow-list, budget, retries, conditional GET), [`cursor`] (atomic
//! checkpoint files, bounded dedup) and [`poll`] (one poll cycle per source, health status).
//!
//! Third part, the collect run: [`config::SourceConfig`] (the `[[source]]` entries),
//! [`run::run_sources`] (one task per source, a bounded channel to one [`sink::PostSink`],
//! checkpoints saved only after a durable publish), the WebSocket sources ([`jetstream`],
//! Mastodon streaming), [`webhook::ingest_router`], and [`reporter::HealthReporter`].

mod error;
mod json;
mod mastodon_stream;
mod metrics_help;
mod outlet;
mod stream;
mod text;

pub mod appstore;
pub mod bluesky;
pub mod config;
pub mod cursor;
pub mod fetch;
pub mod hackernews;
pub mod health;
pub mod jetstream;
pub mod limits;
pub mod mastodon;
pub mod mastodon_recheck;
pub mod poll;
pub mod reddit;
pub mod reddit_poll;
pub mod relocate;
pub mod reporter;
pub mod rss;
pub mod run;
pub mod simulate;
pub mod sink;
pub mod source;
pub mod webhook;

pub use config::{check_secrets, validate_sources, SourceConfig};
pub use error::{ParseError, Rejected};
pub use limits::RateBudget;
pub use metrics_help::describe_metrics;
pub use reporter::{CollectorsVerdict, FailingSource, HealthReporter, SourceStatus};
pub use run::{run_sources, RunError, RunOptions};
pub use sink::{MemorySink, PostSink, SinkError};
pub use text::{clamp_text, html_to_text};

use tidewatch_model::Post;

/// The posts one payload yielded, the items set aside, and the source's cursor if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<C> {
    pub posts: Vec<Post>,
    /// Items of the payload that could not be turned into a post, with the reason: for the
    /// dead-letter topic. The payload as a whole was still good.
    pub rejected: Vec<Rejected>,
    /// Where to resume, as the source defines it (see each module).
    pub cursor: Option<C>,
}

impl<C> Default for Batch<C> {
    fn default() -> Self {
        Batch {
            posts: Vec::new(),
            rejected: Vec::new(),
            cursor: None,
        }
    }
}

impl<C> Batch<C> {
    /// Adds the outcome of one item: a post, nothing (an item that is not a post, such as an
    /// app metadata entry), or a rejection.
    pub(crate) fn push(&mut self, index: usize, outcome: Result<Option<Post>, ParseError>) {
        match outcome {
            Ok(Some(post)) => self.posts.push(post),
            Ok(None) => {}
            Err(error) => self.rejected.push(Rejected { index, error }),
        }
    }
}

/// The last step of every parser: clamps the text and checks that the post passes the model's
/// own gate, so that nothing this crate returns is refused downstream.
pub fn finish(mut post: Post) -> Result<Post, ParseError> {
    post.text = clamp_text(&post.text);
    Post::from_json_bytes(post.to_json().as_bytes()).map_err(|error| ParseError::InvalidPost {
        source_id: post.source_id.clone(),
        reason: error.to_string(),
    })
}
