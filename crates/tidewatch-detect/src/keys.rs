//! From a post to the keys it counts under, and what a watch remembers of a post.
//!
//! Guarantees: a post that is not a near-duplicate counts under each of its cleaned terms and
//! each unordered pair of them; a near-duplicate counts only under its copy cluster (spread, not
//! new vocabulary); a reply or repost also counts under its parent's thread. Keys are stable
//! hashes, so they are the same in every run. A remembered post has a bounded size.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidewatch_model::{Label, WatchedPost};

use crate::story::PostFacts;
use crate::tokens::{mix, pair_key, stable_hash};

/// Post ids longer than this are cut when remembered (memory must not depend on the input).
pub(crate) const MAX_ID_BYTES: usize = 256;

const COPY_SALT: u64 = 0x434f_5059_0000_0001;

/// What a key stands for in one post, to name it when it becomes significant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyOf {
    Term(usize),
    Pair(usize, usize),
    /// A near-duplicate copy of an earlier post, or a reply / repost under a parent.
    Spread,
}

/// The key of a near-duplicate cluster, from its representative signature.
pub(crate) fn copy_key(representative: u64) -> u64 {
    mix(representative ^ COPY_SALT)
}

/// The key of the replies and reposts under `parent` (a post id).
pub(crate) fn thread_key(parent: &str) -> u64 {
    stable_hash(format!("thread\u{0}{parent}").as_bytes())
}

/// The keys a post counts under, each with what it stands for in `tokens`.
pub(crate) fn post_keys(
    tokens: &[String],
    copy_of: Option<u64>,
    parent: Option<&str>,
) -> Vec<(u64, KeyOf)> {
    let mut keys: Vec<(u64, KeyOf)> = Vec::new();
    match copy_of {
        Some(representative) => keys.push((copy_key(representative), KeyOf::Spread)),
        None => {
            let hashes: Vec<u64> = tokens
                .iter()
                .map(|token| stable_hash(token.as_bytes()))
                .collect();
            for (i, hash) in hashes.iter().enumerate() {
                keys.push((*hash, KeyOf::Term(i)));
                for (j, other) in hashes.iter().enumerate().skip(i + 1) {
                    keys.push((pair_key(*hash, *other), KeyOf::Pair(i, j)));
                }
            }
        }
    }
    if let Some(parent) = parent {
        keys.push((thread_key(parent), KeyOf::Spread));
    }
    keys
}

/// What a watch remembers of one of its last posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecentPost {
    pub(crate) id: String,
    pub(crate) at: DateTime<Utc>,
    pub(crate) label: Label,
    pub(crate) compound: Option<f64>,
    pub(crate) reach: u64,
    pub(crate) tokens: Vec<String>,
    pub(crate) keys: Vec<u64>,
    pub(crate) author: u64,
}

impl RecentPost {
    pub(crate) fn size(&self) -> usize {
        let tokens: usize = self.tokens.iter().map(|token| 24 + token.len()).sum();
        128 + self.id.len() + tokens + self.keys.len() * 8
    }

    pub(crate) fn facts(&self) -> PostFacts<'_> {
        PostFacts {
            id: &self.id,
            at: self.at,
            label: self.label,
            compound: self.compound,
            reach: self.reach,
            tokens: &self.tokens,
            author: self.author,
        }
    }
}

/// A stable hash of a post's author: its id, else its handle, else (unknown author) the post
/// itself, so that unknown authors never look like one person.
pub(crate) fn author_of(watched: &WatchedPost) -> u64 {
    let post = &watched.scored.post;
    let author = post.author.as_ref();
    let name = author.and_then(|author| author.id.as_deref().or(author.handle.as_deref()));
    match name {
        Some(name) => stable_hash(format!("{}\u{0}{name}", post.source).as_bytes()),
        None => stable_hash(format!("post\u{0}{}\u{0}{}", post.source, post.source_id).as_bytes()),
    }
}

/// The id cut to at most [`MAX_ID_BYTES`] (on a character boundary).
pub(crate) fn bounded_id(id: &str) -> String {
    let mut end = id.len().min(MAX_ID_BYTES);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    id[..end].to_string()
}

/// A post's reach: its author's followers plus its reposts.
pub(crate) fn reach_of(watched: &WatchedPost) -> u64 {
    let post = &watched.scored.post;
    let followers = post
        .author
        .as_ref()
        .and_then(|author| author.followers)
        .unwrap_or(0);
    let reposts = post.metrics.map_or(0, |metrics| metrics.reposts);
    followers.saturating_add(reposts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn terms_and_pairs_or_only_the_copy_cluster() {
        let words = tokens(&["flight", "cancelled", "boston"]);
        let keys = post_keys(&words, None, None);
        assert_eq!(keys.len(), 3 + 3);
        assert_eq!(keys[0].0, stable_hash(b"flight"));
        let reversed = tokens(&["cancelled", "flight"]);
        let pair = |keys: &[(u64, KeyOf)]| {
            keys.iter()
                .find(|(_, of)| matches!(of, KeyOf::Pair(..)))
                .unwrap()
                .0
        };
        assert_eq!(pair(&post_keys(&reversed, None, None)), pair(&keys[..3]));
        let copy = post_keys(&words, Some(99), Some("parent-1"));
        assert_eq!(copy.len(), 2);
        assert!(copy.iter().all(|(_, of)| matches!(of, KeyOf::Spread)));
        assert_ne!(copy[0].0, copy[1].0);
    }

    #[test]
    fn ids_are_cut_on_char_boundaries() {
        assert_eq!(bounded_id("abc"), "abc");
        let long = "é".repeat(200);
        let cut = bounded_id(&long);
        assert!(cut.len() <= MAX_ID_BYTES && long.starts_with(&cut));
    }
}
