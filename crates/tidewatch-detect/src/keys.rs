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
#[cfg(test)]
use crate::tokens::stable_hash;
use crate::tokens::{mix, pair_key, StableHasher};

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
    // The hash of "thread\u{0}{parent}".
    StableHasher::new()
        .write(b"thread\0")
        .write(parent.as_bytes())
        .finish()
}

/// The keys a post counts under, each with what it stands for in `tokens`.
#[cfg(test)]
pub(crate) fn post_keys(
    tokens: &[String],
    copy_of: Option<u64>,
    parent: Option<&str>,
) -> Vec<(u64, KeyOf)> {
    let hashes: Vec<u64> = tokens
        .iter()
        .map(|token| stable_hash(token.as_bytes()))
        .collect();
    let mut keys = Vec::new();
    post_keys_into(&hashes, copy_of, parent, &mut keys);
    keys
}

/// The keys a post counts under (as `post_keys`), from its tokens' [`stable_hash`](crate::tokens::stable_hash)es, into
/// `keys` (cleared first).
pub(crate) fn post_keys_into(
    hashes: &[u64],
    copy_of: Option<u64>,
    parent: Option<&str>,
    keys: &mut Vec<(u64, KeyOf)>,
) {
    keys.clear();
    match copy_of {
        Some(representative) => keys.push((copy_key(representative), KeyOf::Spread)),
        None => {
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
    /// The `seq` of the story the post was counted in, if any.
    #[serde(default)]
    pub(crate) story: Option<u64>,
}

impl RecentPost {
    /// A post with nothing in it, to be filled in (its buffers are then reused post after post).
    pub(crate) fn empty() -> RecentPost {
        RecentPost {
            id: String::new(),
            at: DateTime::UNIX_EPOCH,
            label: Label::Unscored,
            compound: None,
            reach: 0,
            tokens: Vec::new(),
            keys: Vec::new(),
            author: 0,
            story: None,
        }
    }

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
    // The hash of "{source}\u{0}{name}", or of "post\u{0}{source}\u{0}{source_id}".
    match name {
        Some(name) => StableHasher::new()
            .write(post.source.as_bytes())
            .write(b"\0")
            .write(name.as_bytes())
            .finish(),
        None => StableHasher::new()
            .write(b"post\0")
            .write(post.source.as_bytes())
            .write(b"\0")
            .write(post.source_id.as_bytes())
            .finish(),
    }
}

/// The id cut to at most [`MAX_ID_BYTES`] (on a character boundary).
#[cfg(test)]
pub(crate) fn bounded_id(id: &str) -> String {
    bounded_id_str(id).to_string()
}

/// The id cut to at most [`MAX_ID_BYTES`] (on a character boundary), borrowed.
pub(crate) fn bounded_id_str(id: &str) -> &str {
    let mut end = id.len().min(MAX_ID_BYTES);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    &id[..end]
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
