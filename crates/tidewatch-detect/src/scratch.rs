//! Buffers reused from post to post, so that counting a post allocates nothing once warm.
//!
//! Guarantees: a [`Scratch`] carries nothing from one post to the next that changes any result
//! (every buffer is cleared or overwritten before it is read), so it is not state: it is never
//! serialised, a clone starts with empty buffers, and it compares equal to any other. Its size
//! is bounded by the configuration (`max_tokens_per_post` tokens, their keys and one
//! remembered post).

use crate::keys::{KeyOf, RecentPost};
use crate::table::Significance;
use crate::tokens::TokenScratch;

#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) tokens: TokenScratch,
    /// The post being counted: the last post pushed out of a watch's recent posts, refilled.
    pub(crate) post: Option<RecentPost>,
    /// The post's tokens' stable hashes.
    pub(crate) hashes: Vec<u64>,
    pub(crate) keys: Vec<(u64, KeyOf)>,
    pub(crate) scores: Vec<Significance>,
    /// The keys' table buckets.
    pub(crate) buckets: Vec<usize>,
    /// (story `seq`, keys of the post it owns).
    pub(crate) hits: Vec<(u64, usize)>,
}

impl Clone for Scratch {
    fn clone(&self) -> Scratch {
        Scratch::default()
    }
}

impl PartialEq for Scratch {
    fn eq(&self, _: &Scratch) -> bool {
        true
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Scratch")
    }
}
