//! One poll cycle of a polling source: build the requests from the config, fetch, parse with
//! this crate's parsers, drop what was already delivered, and propose the next checkpoint.
//!
//! **The checkpoint contract** (at least once, no gap): [`Poller::poll`] never changes the
//! committed checkpoint. It returns the posts, the dead letters and the checkpoint that would
//! follow them. The caller makes the posts durable (the produce to `posts.raw` is acknowledged),
//! then saves [`PollOutcome::checkpoint`] with [`crate::cursor::CheckpointStore::save`], then
//! calls [`Poller::commit`]. If it crashes or fails before that, the next poller starts from
//! the old checkpoint and fetches the same items again: a repeat that the pipeline collapses by
//! `source_id`, never a gap.
//!
//! Guarantees:
//! * Repeats are dropped by `source_id` against the checkpoint's bounded [`SeenIds`], within a
//!   cycle too (Algolia pages shift while new hits arrive). Posts come out oldest first.
//! * Hacker News asks for `created_at_i >= watermark`, so hits indexed late within the watermark
//!   second are not lost; the ones already delivered are dropped as seen. A cycle reads at most
//!   `max_pages` pages; when more were available [`PollOutcome::truncated`] says so (those
//!   older hits are then not read: a first run starts from the newest hits, by design, and
//!   later cycles only truncate past `max_pages * hits_per_page` hits in one interval).
//! * Mastodon pages forward with `min_id` from the stored cursor (the largest status id
//!   delivered); a first run takes the newest page only.
//! * RSS sends the stored validators; a 304 is [`PollOutcome::not_modified`] with no posts.
//! * App Store reads pages 1, 2, … and stops after the first page holding an already-seen
//!   review, at the feed's last page, or at `max_pages`.
//! * A bad item is a dead letter (once: its hash is remembered with the seen ids, so an item
//!   still in the feed is not dead-lettered again every cycle) and the others still come
//!   through; a bad payload (not JSON or
//!   XML, truncated, wrong shape) fails the cycle with [`PollError::Payload`] carrying its dead
//!   letter, the checkpoint stays where it was, and the next cycle tries again.
//! * Every cycle updates the [`HealthState`].

use crate::cursor::{Checkpoint, SeenIds};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::health::{Health, HealthState};
use crate::source::PollSource;
use crate::{appstore, hackernews, mastodon, rss, ParseError, Rejected};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tidewatch_model::{DeadLetter, Post};
use tokio::time::Instant;

/// The `stage` of the dead letters written by the collectors.
pub const STAGE: &str = "collect";

/// What one cycle brought.
#[derive(Debug, Clone, PartialEq)]
pub struct PollOutcome {
    /// New posts, oldest first.
    pub posts: Vec<Post>,
    /// Items that could not become posts, for the dead-letter topic.
    pub dead_letters: Vec<DeadLetter>,
    /// The checkpoint to save once `posts` are durable (see the module docs).
    pub checkpoint: Checkpoint,
    /// The server answered 304: nothing changed.
    pub not_modified: bool,
    /// More pages were available than `max_pages` allowed.
    pub truncated: bool,
    /// HTTP requests this cycle made successfully.
    pub requests: u32,
    /// The newest `created_at` among `posts`, for the cursor-lag metric.
    pub newest: Option<DateTime<Utc>>,
}

/// Why a cycle failed. The checkpoint did not move; the next cycle retries.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{url}: {error}")]
    Payload {
        url: String,
        error: ParseError,
        /// The payload as a dead letter.
        dead_letter: Box<DeadLetter>,
    },
}

impl PollError {
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, PollError::Fetch(error) if error.is_rate_limited())
    }
}

/// One polling source with its committed checkpoint and health.
#[derive(Debug)]
pub struct Poller {
    source: PollSource,
    fetcher: Fetcher,
    checkpoint: Checkpoint,
    health: HealthState,
}

impl Poller {
    /// A poller resuming from `checkpoint` (as loaded from the store; `None` for a first run).
    pub fn new(source: PollSource, checkpoint: Option<Checkpoint>) -> Result<Self, FetchError> {
        let fetcher = Fetcher::new(source.fetch_config()?)?;
        Ok(Poller::with_fetcher(source, fetcher, checkpoint))
    }

    /// Same with a fetcher configured by the caller (timeouts, retries).
    pub fn with_fetcher(
        source: PollSource,
        fetcher: Fetcher,
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        let mut checkpoint = checkpoint.unwrap_or_default();
        if checkpoint.seen.capacity() != source.seen_capacity() {
            checkpoint.seen.set_capacity(source.seen_capacity());
        }
        Poller {
            source,
            fetcher,
            checkpoint,
            health: HealthState::new(Instant::now()),
        }
    }

    pub fn source(&self) -> &PollSource {
        &self.source
    }

    /// The committed checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Records that `checkpoint` (from a [`PollOutcome`]) is saved after its posts were made
    /// durable; the next cycle starts from it.
    pub fn commit(&mut self, checkpoint: Checkpoint) {
        self.checkpoint = checkpoint;
    }

    pub fn health_state(&self) -> &HealthState {
        &self.health
    }

    pub fn health(&self, now: Instant, silent_after: Duration) -> Health {
        self.health.status(now, silent_after)
    }

    /// One cycle. `observed_at` dates the items whose payload has no date.
    pub async fn poll(&mut self, observed_at: DateTime<Utc>) -> Result<PollOutcome, PollError> {
        let mut result = match self.source.clone() {
            PollSource::Mastodon(source) => self.mastodon(&source).await,
            PollSource::Hackernews(source) => self.hackernews(&source).await,
            PollSource::Rss(source) => self.rss(&source, observed_at).await,
            PollSource::Appstore(source) => self.appstore(&source, observed_at).await,
        };
        if let Ok(outcome) = &mut result {
            // A bad item still in the feed comes back every cycle: dead-letter it once.
            let seen = &mut outcome.checkpoint.seen;
            let letters = &mut outcome.dead_letters;
            letters.retain(|letter| seen.insert(&format!("dead:{}", letter.original_sha256)));
            outcome.newest = outcome.posts.iter().map(|post| post.created_at).max();
        }
        let now = Instant::now();
        match &result {
            Ok(outcome) => self.health.record_success(now, outcome.posts.len()),
            Err(error) => self.health.record_failure(now, error.is_rate_limited()),
        }
        result
    }

    fn outcome(&self) -> PollOutcome {
        PollOutcome {
            posts: Vec::new(),
            dead_letters: Vec::new(),
            checkpoint: self.checkpoint.clone(),
            not_modified: false,
            truncated: false,
            requests: 0,
            newest: None,
        }
    }

    /// GETs `url`; `None` on 304.
    async fn get(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<Option<(Vec<u8>, Validators)>, PollError> {
        match self.fetcher.get(url, validators).await? {
            Fetched::NotModified => Ok(None),
            Fetched::Body {
                bytes, validators, ..
            } => Ok(Some((bytes, validators))),
        }
    }

    fn payload_error(&self, url: &str, body: &[u8], error: ParseError) -> PollError {
        let letter = DeadLetter::new(
            STAGE,
            error.kind(),
            error.to_string(),
            self.origin(url),
            body,
        );
        PollError::Payload {
            url: url.to_string(),
            error,
            dead_letter: Box::new(letter),
        }
    }

    fn origin(&self, url: &str) -> String {
        format!("{} {}", self.source.name(), url)
    }

    /// Dead letters of the rejected items; `pointer` gives the JSON pointer of an item, to
    /// carry the item's own bytes (else the whole payload).
    fn dead_letters(
        &self,
        url: &str,
        body: &[u8],
        rejected: &[Rejected],
        pointer: Option<&dyn Fn(usize) -> String>,
    ) -> Vec<DeadLetter> {
        let parsed: Option<serde_json::Value> = match (pointer, rejected.is_empty()) {
            (Some(_), false) => serde_json::from_slice(body).ok(),
            _ => None,
        };
        rejected
            .iter()
            .map(|item| {
                let own = match (&parsed, pointer) {
                    (Some(value), Some(pointer)) => value
                        .pointer(&pointer(item.index))
                        .map(|item| item.to_string().into_bytes()),
                    _ => None,
                };
                let reason = format!("item {}: {}", item.index, item.error);
                DeadLetter::new(
                    STAGE,
                    item.error.kind(),
                    reason,
                    self.origin(url),
                    own.as_deref().unwrap_or(body),
                )
            })
            .collect()
    }

    /// Pages forward from the checkpoint's `min_id` cursor (a first run takes the newest page
    /// only). Mastodon answers a `min_id` request with the statuses just after it, so each next
    /// page starts after the largest id of the last one (what the `Link` header's `prev` says).
    async fn mastodon(
        &self,
        source: &crate::source::MastodonSource,
    ) -> Result<PollOutcome, PollError> {
        let mut outcome = self.outcome();
        let host = source.host()?;
        let since = self.checkpoint.cursor.clone();
        let mut cursor = since.clone();
        let mut found = Vec::new();
        let last_page = source.max_pages.max(1);
        for page in 0..last_page {
            let url = source.timeline_url(cursor.as_deref())?.to_string();
            let Some((body, _)) = self.get(&url, &Validators::default()).await? else {
                break;
            };
            outcome.requests += 1;
            let batch = mastodon::parse_timeline(&host, &body)
                .map_err(|error| self.payload_error(&url, &body, error))?;
            let pointer = |index: usize| format!("/{index}");
            outcome.dead_letters.extend(self.dead_letters(
                &url,
                &body,
                &batch.rejected,
                Some(&pointer),
            ));
            let items = batch.posts.len() + batch.rejected.len();
            if let Some(newest) = batch.cursor {
                if mastodon::newer(&newest, cursor.as_deref()) {
                    cursor = Some(newest);
                }
            }
            found.extend(batch.posts);
            if since.is_none() || items < source.limit.clamp(1, 40) as usize {
                break;
            }
            if page + 1 == last_page {
                outcome.truncated = true;
            }
        }
        outcome.checkpoint.cursor = cursor;
        outcome.posts = fresh(found, &mut outcome.checkpoint.seen);
        Ok(outcome)
    }

    async fn hackernews(
        &self,
        source: &crate::source::HackerNewsSource,
    ) -> Result<PollOutcome, PollError> {
        let mut outcome = self.outcome();
        let since = self.checkpoint.created_at_i;
        let mut found = Vec::new();
        let mut watermark = since;
        for page in 0..source.max_pages.max(1) {
            let url = source.url(page, since)?.to_string();
            let Some((body, _)) = self.get(&url, &Validators::default()).await? else {
                break;
            };
            outcome.requests += 1;
            let (batch, paging) = hackernews::parse_search(&body)
                .map_err(|error| self.payload_error(&url, &body, error))?;
            let pointer = |index: usize| format!("/hits/{index}");
            outcome.dead_letters.extend(self.dead_letters(
                &url,
                &body,
                &batch.rejected,
                Some(&pointer),
            ));
            watermark = watermark.max(batch.cursor);
            let empty = batch.posts.is_empty() && batch.rejected.is_empty();
            found.extend(batch.posts);
            let last = paging
                .pages
                .is_none_or(|pages| u64::from(page) + 1 >= pages);
            if last || empty {
                break;
            }
            if page + 1 == source.max_pages {
                outcome.truncated = true;
            }
        }
        outcome.checkpoint.created_at_i = watermark;
        outcome.posts = fresh(found, &mut outcome.checkpoint.seen);
        Ok(outcome)
    }

    async fn rss(
        &self,
        source: &crate::source::RssSource,
        observed_at: DateTime<Utc>,
    ) -> Result<PollOutcome, PollError> {
        let mut outcome = self.outcome();
        let url = source.feed_url.clone();
        let Some((body, validators)) = self.get(&url, &self.checkpoint.validators).await? else {
            outcome.not_modified = true;
            return Ok(outcome);
        };
        outcome.requests = 1;
        let batch = rss::parse_feed(&body, &source.name, observed_at)
            .map_err(|error| self.payload_error(&url, &body, error))?;
        outcome.dead_letters = self.dead_letters(&url, &body, &batch.rejected, None);
        outcome.checkpoint.validators = validators;
        // Feeds list the newest first: remember the oldest first so FIFO eviction keeps the
        // newest GUIDs.
        let posts = batch.posts.into_iter().rev().collect();
        outcome.posts = fresh(posts, &mut outcome.checkpoint.seen);
        Ok(outcome)
    }

    async fn appstore(
        &self,
        source: &crate::source::AppStoreSource,
        observed_at: DateTime<Utc>,
    ) -> Result<PollOutcome, PollError> {
        let mut outcome = self.outcome();
        let mut found = Vec::new();
        let last_page = source.max_pages.clamp(1, 10);
        for page in 1..=last_page {
            let url = source.url(page)?.to_string();
            let Some((body, _)) = self.get(&url, &Validators::default()).await? else {
                break;
            };
            outcome.requests += 1;
            let batch = appstore::parse_reviews_json(&body, observed_at)
                .map_err(|error| self.payload_error(&url, &body, error))?;
            let single = !batch.rejected.is_empty() && body_has_single_entry(&body);
            let pointer = move |index: usize| {
                if single {
                    "/feed/entry".to_string()
                } else {
                    format!("/feed/entry/{index}")
                }
            };
            outcome.dead_letters.extend(self.dead_letters(
                &url,
                &body,
                &batch.rejected,
                Some(&pointer),
            ));
            let reached_seen = batch
                .posts
                .iter()
                .any(|post| self.checkpoint.seen.contains(&post.source_id));
            let empty = batch.posts.is_empty() && batch.rejected.is_empty();
            found.extend(batch.posts);
            if reached_seen || empty || batch.cursor.is_none() {
                break;
            }
            if page == last_page {
                outcome.truncated = true;
            }
        }
        // Most recent first across pages: deliver (and remember) the oldest first.
        found.reverse();
        outcome.posts = fresh(found, &mut outcome.checkpoint.seen);
        Ok(outcome)
    }
}

/// Whether `feed.entry` is a single object rather than an array.
fn body_has_single_entry(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .pointer("/feed/entry")
                .map(serde_json::Value::is_object)
        })
        .unwrap_or(false)
}

/// The posts not seen before, oldest first (stable for equal times), each remembered.
fn fresh(mut posts: Vec<Post>, seen: &mut SeenIds) -> Vec<Post> {
    posts.sort_by_key(|post| post.created_at);
    posts.retain(|post| seen.insert(&post.source_id));
    posts
}
