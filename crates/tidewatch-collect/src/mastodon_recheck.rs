//! Mastodon REST mode: deletions and edits. A REST timeline only lists what exists now; it has
//! no `delete` or `status.update` events. So, every `recheck_secs`, the poller re-reads the
//! statuses it delivered within `recheck_window_secs` and hands over what changed.
//!
//! Guarantees:
//! * The checkpoint keeps, per recent status, its id, `created_at` and a hash of the text
//!   delivered ([`RecentStatus`]); statuses older than the window are forgotten, and at most
//!   [`MAX_RECENT`] are kept (the newest).
//! * A pass pages the timeline backwards (`max_id`) from the newest page until it reaches the
//!   oldest recent status, at most [`MAX_PAGES`] pages. A status still listed with another text
//!   is an edit: a new version of the post, same `source_id`. A recent status no longer listed
//!   (within the part of the window the pages covered) is asked for by id
//!   (`GET /api/v1/statuses/:id`, at most [`MAX_CONFIRMATIONS`] per pass): 404 or 410 is a
//!   deletion, handed over once as a post of kind `delete`; a status that still exists is an
//!   edit if its text changed (an edit can take it off a hashtag timeline), else nothing.
//! * The changes go out with the cycle's other posts, under the same checkpoint contract: a
//!   crash before the checkpoint is saved re-delivers them (repeats collapse downstream).

use crate::cursor::{Checkpoint, RecentStatus};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::mastodon;
use crate::poll::PollError;
use crate::source::MastodonSource;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tidewatch_model::{Post, PostKind};

/// Timeline pages read per pass at most.
pub const MAX_PAGES: u32 = 25;
/// Statuses asked for by id per pass at most.
pub const MAX_CONFIRMATIONS: usize = 20;
/// Recent statuses remembered at most.
pub const MAX_RECENT: usize = 2_000;

/// A short hash of `text`, to notice an edit without keeping the text.
pub fn text_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The status id of a Mastodon `source_id` (`<host>/<id>`).
fn status_id(post: &Post) -> &str {
    post.source_id.rsplit('/').next().unwrap_or(&post.source_id)
}

/// Remembers the posts just delivered (not deletes) in `checkpoint.recent`, and forgets what
/// left the window.
pub fn remember(checkpoint: &mut Checkpoint, posts: &[Post], window_start: DateTime<Utc>) {
    for post in posts.iter().filter(|post| post.kind != PostKind::Delete) {
        let id = status_id(post).to_string();
        let hash = text_hash(&post.text);
        match checkpoint.recent.iter_mut().find(|recent| recent.id == id) {
            Some(recent) => recent.text_hash = hash,
            None => checkpoint.recent.push(RecentStatus {
                id,
                at: post.created_at.timestamp(),
                text_hash: hash,
            }),
        }
    }
    let start = window_start.timestamp();
    checkpoint.recent.retain(|recent| recent.at >= start);
    let excess = checkpoint.recent.len().saturating_sub(MAX_RECENT);
    checkpoint.recent.drain(..excess);
}

/// What a pass found, and the requests it made.
#[derive(Debug, Default)]
pub struct Changes {
    pub posts: Vec<Post>,
    pub requests: u32,
}

/// One pass over `checkpoint.recent` (see the module docs); updates the remembered hashes and
/// forgets the deleted statuses.
pub async fn recheck(
    fetcher: &Fetcher,
    source: &MastodonSource,
    checkpoint: &mut Checkpoint,
    observed_at: DateTime<Utc>,
) -> Result<Changes, PollError> {
    let mut changes = Changes::default();
    let Some(oldest) = checkpoint
        .recent
        .iter()
        .map(|recent| recent.id.clone())
        .min_by(|a, b| (a.len(), a).cmp(&(b.len(), b)))
    else {
        return Ok(changes);
    };
    let host = source.host()?;
    let mut listed: HashMap<String, Post> = HashMap::new();
    let mut max_id: Option<String> = None;
    let mut reached: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let url = source.timeline_url_before(max_id.as_deref())?.to_string();
        let Some(body) = get(fetcher, &url).await? else {
            break;
        };
        changes.requests += 1;
        let batch = mastodon::parse_timeline(&host, &body).map_err(|error| {
            let letter = tidewatch_model::DeadLetter::new(
                crate::poll::STAGE,
                error.kind(),
                error.to_string(),
                format!("{} {url}", source.name),
                &body,
            );
            PollError::Payload {
                url: url.clone(),
                error,
                dead_letter: Box::new(letter),
            }
        })?;
        let smallest = batch
            .posts
            .iter()
            .map(|post| status_id(post).to_string())
            .min_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
        for post in batch.posts {
            listed.insert(status_id(&post).to_string(), post);
        }
        let Some(smallest) = smallest else {
            reached = Some(String::new());
            break;
        };
        reached = Some(smallest.clone());
        if !mastodon::newer(&smallest, Some(&oldest)) {
            break;
        }
        max_id = Some(smallest);
    }
    // Only the statuses the pages covered can be missing from them.
    let covered = |id: &str| match &reached {
        Some(bottom) if !bottom.is_empty() => !mastodon::newer(bottom, Some(id)),
        Some(_) => true,
        None => false,
    };
    let mut missing = Vec::new();
    for recent in &mut checkpoint.recent {
        match listed.get(&recent.id) {
            Some(post) => {
                let hash = text_hash(&post.text);
                if hash != recent.text_hash {
                    recent.text_hash = hash;
                    changes.posts.push(post.clone());
                }
            }
            None if covered(&recent.id) => missing.push(recent.id.clone()),
            None => {}
        }
    }
    let mut deleted = Vec::new();
    for id in missing.into_iter().take(MAX_CONFIRMATIONS) {
        let url = source.status_url(&id)?.to_string();
        changes.requests += 1;
        match fetcher.get(&url, &Validators::default()).await {
            Err(FetchError::Status {
                status: 404 | 410, ..
            }) => {
                let post = mastodon::delete_post(&host, &id, observed_at).map_err(|error| {
                    PollError::Fetch(FetchError::InvalidUrl {
                        url: url.clone(),
                        reason: error.to_string(),
                    })
                })?;
                changes.posts.push(post);
                deleted.push(id);
            }
            Err(error) => return Err(error.into()),
            Ok(Fetched::NotModified) => {}
            Ok(Fetched::Body { bytes, .. }) => {
                // A status that stopped parsing is left alone: the timeline pass decides.
                let Ok(post) = mastodon::parse_status(&host, &bytes) else {
                    continue;
                };
                if let Some(recent) = checkpoint.recent.iter_mut().find(|r| r.id == id) {
                    let hash = text_hash(&post.text);
                    if hash != recent.text_hash {
                        recent.text_hash = hash;
                        changes.posts.push(post);
                    }
                }
            }
        }
    }
    checkpoint
        .recent
        .retain(|recent| !deleted.contains(&recent.id));
    Ok(changes)
}

async fn get(fetcher: &Fetcher, url: &str) -> Result<Option<Vec<u8>>, FetchError> {
    match fetcher.get(url, &Validators::default()).await? {
        Fetched::NotModified => Ok(None),
        Fetched::Body { bytes, .. } => Ok(Some(bytes)),
    }
}
