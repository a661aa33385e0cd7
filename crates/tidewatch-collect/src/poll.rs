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
//! * Hacker News asks for `created_at_i >= watermark - overlap_secs` (300 s by default), so hits
//!   that Algolia indexed late (after newer ones) within the overlap window are not lost; the
//!   ones already delivered are dropped as seen. A cycle reads at most
//!   `max_pages` pages; when more were available [`PollOutcome::truncated`] says so (those
//!   older hits are then not read: a first run starts from the newest hits, by design, and
//!   later cycles only truncate past `max_pages * hits_per_page` hits in one interval).
//! * Mastodon pages forward with `min_id` from the stored cursor (the largest status id
//!   delivered); a first run takes the newest page only. In REST mode it also re-checks the
//!   recent statuses every `recheck_secs` for deletions and edits ([`crate::mastodon_recheck`]).
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
use crate::{appstore, hackernews, mastodon, mastodon_recheck, rss, ParseError, Rejected};
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
    /// RSS / Atom: none of the items seen before is in this fetch, so items may have come and
    /// gone between two polls (see [`FeedGap`]).
    pub gap: Option<FeedGap>,
}

/// A feed whose window is shorter than the poll interval: none of the items seen before was in
/// the new fetch, so items published and pushed out in between were never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedGap {
    /// How many items the fetch held.
    pub items: usize,
    /// An interval that would have overlapped: half the time the fetched items span (at least
    /// 60 s), or half the current interval when their dates do not tell.
    pub suggested_interval_secs: u64,
}

/// The gap verdict of one feed fetch: a gap when earlier fetches delivered something
/// (`had_history`), none of this fetch's items is among it (`fetched_seen_before` false), and
/// the fetch is not empty; `dates` are the fetched items' dates. Pure.
pub fn feed_gap(
    had_history: bool,
    fetched_seen_before: bool,
    dates: &[DateTime<Utc>],
    interval: Duration,
) -> Option<FeedGap> {
    if !had_history || fetched_seen_before || dates.is_empty() {
        return None;
    }
    let span = match (dates.iter().min(), dates.iter().max()) {
        (Some(oldest), Some(newest)) if dates.len() >= 2 => (*newest - *oldest).num_seconds(),
        _ => 0,
    };
    let suggested = if span > 0 {
        (span as u64 / 2).max(60)
    } else {
        (interval.as_secs() / 2).max(60)
    };
    Some(FeedGap {
        items: dates.len(),
        suggested_interval_secs: suggested,
    })
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
    /// When the Mastodon REST re-check last ran (see [`crate::mastodon_recheck`]).
    last_recheck: Instant,
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
            last_recheck: Instant::now(),
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
            PollSource::Mastodon(source) => {
                let mut result = self.mastodon(&source).await;
                if let Ok(outcome) = &mut result {
                    self.mastodon_changes(&source, outcome, observed_at).await;
                }
                result
            }
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

    /// REST mode: remembers the statuses delivered, and when `recheck_secs` have passed, adds
    /// the deletions and edits of the recent ones ([`crate::mastodon_recheck`]). A failed pass
    /// is logged and tried again next cycle; the cycle's new posts still go out.
    async fn mastodon_changes(
        &mut self,
        source: &crate::source::MastodonSource,
        outcome: &mut PollOutcome,
        observed_at: DateTime<Utc>,
    ) {
        if source.streaming || source.recheck_secs == 0 {
            return;
        }
        // Capped at a century, so that `observed_at - window` cannot overflow.
        let window =
            chrono::Duration::seconds(source.recheck_window_secs.min(3_153_600_000) as i64);
        let checkpoint = &mut outcome.checkpoint;
        mastodon_recheck::remember(checkpoint, &outcome.posts, observed_at - window);
        let due = self.last_recheck + Duration::from_secs(source.recheck_secs);
        if Instant::now() < due {
            return;
        }
        match mastodon_recheck::recheck(&self.fetcher, source, checkpoint, observed_at).await {
            Ok(changes) => {
                self.last_recheck = Instant::now();
                outcome.requests += changes.requests;
                outcome.posts.extend(changes.posts);
            }
            Err(error) => {
                tracing::warn!(source = %source.name, %error, "re-checking recent statuses failed; trying again next cycle");
            }
        }
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
            gap: None,
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
        let watermark_before = self.checkpoint.created_at_i;
        // Late-indexed hits: ask again for the overlap window before the watermark; what was
        // delivered already is dropped by the seen ids below.
        let overlap = i64::try_from(source.overlap_secs).unwrap_or(i64::MAX);
        let since = watermark_before.map(|watermark| watermark.saturating_sub(overlap));
        let mut found = Vec::new();
        let mut watermark = watermark_before;
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
        // The id's feed part is the canonical feed URL, not the source's name: renaming the
        // source, or two sources on one feed, must not re-ingest anything.
        let feed = rss::feed_key(&source.feed_url);
        let batch = rss::parse_feed(&body, &feed, observed_at)
            .map_err(|error| self.payload_error(&url, &body, error))?;
        outcome.dead_letters = self.dead_letters(&url, &body, &batch.rejected, None);
        outcome.checkpoint.validators = validators;
        let seen = &mut outcome.checkpoint.seen;
        let had_history = seen.iter().any(|id| !id.starts_with("dead:"));
        // Checkpoints written before the ids changed hold `<source name>/<guid>`: an item seen
        // under that id is seen (and is remembered under its new id too).
        let legacy = |id: &str| {
            id.strip_prefix(&format!("{feed}/"))
                .map(|guid| format!("{}/{guid}", source.name))
        };
        let seen_before = |seen: &SeenIds, id: &str| {
            seen.contains(id) || legacy(id).is_some_and(|old| seen.contains(&old))
        };
        let fetched_seen_before = batch
            .posts
            .iter()
            .any(|post| seen_before(seen, &post.source_id));
        let dates: Vec<DateTime<Utc>> = batch.posts.iter().map(|post| post.created_at).collect();
        outcome.gap = feed_gap(
            had_history,
            fetched_seen_before,
            &dates,
            source_interval(source),
        );
        // Feeds list the newest first: remember the oldest first so FIFO eviction keeps the
        // newest GUIDs.
        let mut posts: Vec<Post> = batch.posts.into_iter().rev().collect();
        posts.retain(|post| {
            if seen_before(seen, &post.source_id) {
                seen.insert(&post.source_id);
                return false;
            }
            true
        });
        outcome.posts = fresh(posts, seen);
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

fn source_interval(source: &crate::source::RssSource) -> Duration {
    Duration::from_secs(source.interval_secs)
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
