//! Writing scored posts: the row mapping, and the durability point of the store stage.
//!
//! Guarantees of [`PostStore::insert_posts`]:
//! * when it returns `Ok`, ClickHouse has acknowledged every row of the batch (HTTP 200 on the
//!   `INSERT`, which ClickHouse sends only after the data is written), so the caller may then
//!   store the Kafka offsets of these posts;
//! * when it returns `Err`, nothing may be assumed (part of the batch may be stored): the caller
//!   retries the whole batch, or restarts and gets it redelivered. That is safe because writing a
//!   post again never changes any count (see `schema.rs` and `queries.rs`);
//! * posts go to `posts` in one `INSERT` (RowBinary); deletes go to `post_deletes` in one more;
//! * after the rows are acknowledged, the 5-minute buckets they touch (and those of the posts
//!   the deletes remove) are marked as changed, so no rollup computed earlier is read for them;
//!   an empty slice does nothing and touches no server;
//! * all rows of one call share one version, higher than any earlier call of this store, so the
//!   latest delivery of a post is the one queries show.
//!
//! Guarantees of the row mapping: field order and types match the columns created in `schema.rs`
//! exactly (RowBinary has no names, so the order *is* the contract; the integration tests read
//! every column back); rows borrow from the scored posts, so building a batch copies nothing;
//! absent optional strings become `''`, absent numbers that matter become NULL, and an unscored
//! post (no sentiment) stores NULL in all four sentiment columns. Timestamps are whole seconds
//! since the epoch, clamped to what ClickHouse's `DateTime` holds (1970-01-01 to 2106-02-07).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clickhouse::{Row, RowWrite};
use serde::Serialize;
use tidewatch_model::{PostKind, ScoredPost};

use crate::error::StoreError;
use crate::rollup::ROLLUP_SECONDS;
use crate::schema::{POSTS_TABLE, POST_DELETES_TABLE, WATCH_POSTS_TABLE};
use crate::store::PostStore;

/// Longest wait for one chunk of the request body to be sent.
const INSERT_SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for ClickHouse to answer once the whole batch is sent. A timeout is retryable;
/// the batch may or may not have been stored, and storing it again is harmless.
const INSERT_END_TIMEOUT: Duration = Duration::from_secs(120);

impl PostStore {
    /// Stores a batch of scored posts; see the module docs for the guarantees.
    pub async fn insert_posts(&self, scored_posts: &[ScoredPost]) -> Result<(), StoreError> {
        self.insert_post_refs(scored_posts.iter()).await
    }

    /// [`PostStore::insert_posts`] for posts shared with the stage that made them (the
    /// in-process bus hands values on without copying).
    pub async fn insert_shared_posts(
        &self,
        scored_posts: &[Arc<ScoredPost>],
    ) -> Result<(), StoreError> {
        self.insert_post_refs(scored_posts.iter().map(|post| &**post))
            .await
    }

    async fn insert_post_refs<'a>(
        &self,
        scored_posts: impl ExactSizeIterator<Item = &'a ScoredPost>,
    ) -> Result<(), StoreError> {
        if scored_posts.len() == 0 {
            return Ok(());
        }
        let stamp = IngestStamp::from_version(self.next_row_version());
        let routed = route_rows(scored_posts, stamp);
        let started = std::time::Instant::now();
        self.insert_rows::<PostDeleteRow<'static>>(
            POST_DELETES_TABLE,
            &routed.deletes,
            "insert post deletes",
        )
        .await?;
        self.insert_rows::<PostRow<'static>>(POSTS_TABLE, &routed.posts, "insert posts")
            .await?;
        self.insert_rows::<WatchPostRow<'static>>(
            WATCH_POSTS_TABLE,
            &routed.watch_posts,
            "insert watch posts",
        )
        .await?;
        // Only now, with the rows acknowledged, may their buckets be marked (see `rollup.rs`).
        let buckets = routed
            .posts
            .iter()
            .map(|post| post.created_at / ROLLUP_SECONDS * ROLLUP_SECONDS)
            .collect();
        self.mark_rollup_buckets(buckets).await?;
        let deleted_keys = routed
            .deletes
            .iter()
            .map(|delete| (delete.source, delete.source_id))
            .collect();
        self.mark_deleted_post_buckets(deleted_keys).await?;
        tracing::debug!(
            posts = routed.posts.len(),
            deletes = routed.deletes.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ClickHouse acknowledged batch"
        );
        Ok(())
    }

    /// One `INSERT INTO table FORMAT RowBinary` carrying all `rows`; returns once acknowledged.
    /// `RowType` names the row type with any lifetime (e.g. `PostRow<'static>`); the rows
    /// themselves may borrow for a shorter one.
    pub(crate) async fn insert_rows<RowType: RowWrite>(
        &self,
        table: &str,
        rows: &[RowType::Value<'_>],
        operation: &'static str,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self
            .client()
            .insert::<RowType>(table)
            .await
            .map_err(StoreError::clickhouse(operation))?
            .with_timeouts(Some(INSERT_SEND_TIMEOUT), Some(INSERT_END_TIMEOUT));
        for row in rows {
            insert
                .write(row)
                .await
                .map_err(StoreError::clickhouse(operation))?;
        }
        insert
            .end()
            .await
            .map_err(StoreError::clickhouse(operation))
    }
}

/// One row of `posts`. Same columns, same order as `CREATE TABLE posts`.
#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub(crate) struct PostRow<'a> {
    pub(crate) source: &'a str,
    pub(crate) source_id: &'a str,
    pub(crate) kind: &'static str,
    pub(crate) created_at: u32,
    pub(crate) author_id: &'a str,
    pub(crate) author_handle: &'a str,
    pub(crate) author_followers: Option<u64>,
    pub(crate) text: &'a str,
    pub(crate) lang: &'a str,
    pub(crate) url: &'a str,
    pub(crate) parent_id: &'a str,
    pub(crate) likes: u64,
    pub(crate) reposts: u64,
    pub(crate) replies: u64,
    pub(crate) rating: Option<f32>,
    pub(crate) neg: Option<f64>,
    pub(crate) neu: Option<f64>,
    pub(crate) pos: Option<f64>,
    pub(crate) compound: Option<f64>,
    pub(crate) label: &'static str,
    pub(crate) lang_detected: &'a str,
    pub(crate) watches: &'a [String],
    pub(crate) ingested_at: u32,
    pub(crate) version: u64,
}

/// One row of `post_deletes`: the tombstone of `(source, source_id)`.
#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub(crate) struct PostDeleteRow<'a> {
    pub(crate) source: &'a str,
    pub(crate) source_id: &'a str,
    pub(crate) deleted_at: u32,
    pub(crate) ingested_at: u32,
    pub(crate) version: u64,
}

/// One row of `watch_posts`: one (watch, post) match. Same columns, same order as its table.
#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub(crate) struct WatchPostRow<'a> {
    pub(crate) watch: &'a str,
    pub(crate) created_at: u32,
    pub(crate) source: &'a str,
    pub(crate) source_id: &'a str,
    pub(crate) author: &'a str,
    pub(crate) label: &'static str,
    pub(crate) compound: Option<f64>,
    pub(crate) language: &'a str,
    pub(crate) version: u64,
}

/// When and as which version a batch is written; the same for every row of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IngestStamp {
    pub(crate) ingested_at: u32,
    pub(crate) version: u64,
}

impl IngestStamp {
    /// `version` is microseconds since the epoch; `ingested_at` is the same instant in seconds.
    pub(crate) fn from_version(version: u64) -> Self {
        let seconds = version / 1_000_000;
        Self {
            ingested_at: u32::try_from(seconds).unwrap_or(u32::MAX),
            version,
        }
    }
}

/// A batch split by destination table: deletes become tombstones, everything else a post row.
#[derive(Debug, Default)]
pub(crate) struct RoutedRows<'a> {
    pub(crate) posts: Vec<PostRow<'a>>,
    pub(crate) deletes: Vec<PostDeleteRow<'a>>,
    pub(crate) watch_posts: Vec<WatchPostRow<'a>>,
}

pub(crate) fn route_rows<'a>(
    scored_posts: impl IntoIterator<Item = &'a ScoredPost>,
    stamp: IngestStamp,
) -> RoutedRows<'a> {
    let mut routed = RoutedRows::default();
    for scored in scored_posts {
        if scored.post.kind == PostKind::Delete {
            routed.deletes.push(delete_row(scored, stamp));
            continue;
        }
        let row = post_row(scored, stamp);
        push_watch_post_rows(&row, &mut routed.watch_posts);
        routed.posts.push(row);
    }
    routed
}

/// One `watch_posts` row per distinct watch of the post (a watch listed twice gives one row).
fn push_watch_post_rows<'a>(post: &PostRow<'a>, out: &mut Vec<WatchPostRow<'a>>) {
    let author = if post.author_id.is_empty() {
        post.author_handle
    } else {
        post.author_id
    };
    let language = if post.lang_detected.is_empty() {
        post.lang
    } else {
        post.lang_detected
    };
    for (index, watch) in post.watches.iter().enumerate() {
        if post.watches[..index].contains(watch) {
            continue;
        }
        out.push(WatchPostRow {
            watch,
            created_at: post.created_at,
            source: post.source,
            source_id: post.source_id,
            author,
            label: post.label,
            compound: post.compound,
            language,
            version: post.version,
        });
    }
}

pub(crate) fn post_row(scored: &ScoredPost, stamp: IngestStamp) -> PostRow<'_> {
    let post = &scored.post;
    let author = post.author.as_ref();
    let metrics = post.metrics.unwrap_or_default();
    let sentiment = scored.sentiment;
    PostRow {
        source: &post.source,
        source_id: &post.source_id,
        kind: post.kind.as_str(),
        created_at: clickhouse_datetime(&post.created_at),
        author_id: author.and_then(|author| author.id.as_deref()).unwrap_or(""),
        author_handle: author
            .and_then(|author| author.handle.as_deref())
            .unwrap_or(""),
        author_followers: author.and_then(|author| author.followers),
        text: &post.text,
        lang: post.lang.as_deref().unwrap_or(""),
        url: post.url.as_deref().unwrap_or(""),
        parent_id: post.parent_id.as_deref().unwrap_or(""),
        likes: metrics.likes,
        reposts: metrics.reposts,
        replies: metrics.replies,
        rating: post.rating,
        neg: sentiment.map(|scores| scores.neg),
        neu: sentiment.map(|scores| scores.neu),
        pos: sentiment.map(|scores| scores.pos),
        compound: sentiment.map(|scores| scores.compound),
        label: scored.label.as_str(),
        lang_detected: scored.lang_detected.as_deref().unwrap_or(""),
        watches: &scored.watches,
        ingested_at: stamp.ingested_at,
        version: stamp.version,
    }
}

pub(crate) fn delete_row(scored: &ScoredPost, stamp: IngestStamp) -> PostDeleteRow<'_> {
    PostDeleteRow {
        source: &scored.post.source,
        source_id: &scored.post.source_id,
        deleted_at: clickhouse_datetime(&scored.post.created_at),
        ingested_at: stamp.ingested_at,
        version: stamp.version,
    }
}

/// Seconds since the epoch, clamped into ClickHouse `DateTime`'s range.
pub(crate) fn clickhouse_datetime(timestamp: &DateTime<Utc>) -> u32 {
    let seconds = timestamp.timestamp().max(0);
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidewatch_model::{Author, Label, Post, PostMetrics, Sentiment};

    fn scored(kind: PostKind, sentiment: Option<Sentiment>) -> ScoredPost {
        let line = format!(
            r#"{{"source":"mastodon","source_id":"m/1","kind":"{}",
               "created_at":"2015-02-23T18:15:31.250Z","text":"hi"}}"#,
            kind.as_str()
        );
        let mut post = Post::from_json_bytes(line.as_bytes()).unwrap();
        post.author = Some(Author {
            id: Some("a1".into()),
            handle: None,
            followers: Some(812),
        });
        post.metrics = Some(PostMetrics {
            likes: 3,
            reposts: 1,
            replies: 0,
        });
        ScoredPost {
            post,
            label: sentiment.map_or(Label::Unscored, |scores| {
                Label::from_compound(scores.compound)
            }),
            sentiment,
            lang_detected: None,
            watches: vec!["acme".into(), "globex".into()],
        }
    }

    const STAMP: IngestStamp = IngestStamp {
        ingested_at: 1_700_000_000,
        version: 1_700_000_000_123_456,
    };

    #[test]
    fn maps_every_field_of_a_scored_post() {
        let sentiment = Sentiment {
            neg: 0.5,
            neu: 0.5,
            pos: 0.0,
            compound: -0.4,
        };
        let post = scored(PostKind::Reply, Some(sentiment));
        let row = post_row(&post, STAMP);
        assert_eq!(row.source, "mastodon");
        assert_eq!(row.kind, "reply");
        assert_eq!(row.created_at, 1_424_715_331, "whole seconds");
        assert_eq!((row.author_id, row.author_handle), ("a1", ""));
        assert_eq!(row.author_followers, Some(812));
        assert_eq!((row.likes, row.reposts, row.replies), (3, 1, 0));
        assert_eq!(row.compound, Some(-0.4));
        assert_eq!(row.label, "negative");
        assert_eq!(row.lang_detected, "");
        assert_eq!(row.watches, ["acme".to_string(), "globex".to_string()]);
        assert_eq!(row.version, STAMP.version);
    }

    #[test]
    fn an_unscored_post_has_null_sentiment() {
        let post = scored(PostKind::Post, None);
        let row = post_row(&post, STAMP);
        assert_eq!(
            (row.neg, row.neu, row.pos, row.compound),
            (None, None, None, None)
        );
        assert_eq!(row.label, "unscored");
    }

    #[test]
    fn deletes_go_to_the_tombstone_table() {
        let batch = vec![
            scored(PostKind::Post, None),
            scored(PostKind::Delete, None),
            scored(PostKind::Review, None),
        ];
        let routed = route_rows(&batch, STAMP);
        assert_eq!(routed.posts.len(), 2);
        assert_eq!(routed.deletes.len(), 1);
        assert_eq!(routed.deletes[0].source_id, "m/1");
        assert_eq!(routed.deletes[0].deleted_at, 1_424_715_331);
        assert_eq!(routed.watch_posts.len(), 4, "two posts, two watches each");
    }

    #[test]
    fn a_watch_listed_twice_gives_one_watch_post_row() {
        let mut post = scored(PostKind::Post, None);
        post.watches = vec!["acme".into(), "globex".into(), "acme".into()];
        post.lang_detected = Some("de".into());
        let routed = route_rows(std::slice::from_ref(&post), STAMP);
        let watches: Vec<&str> = routed.watch_posts.iter().map(|row| row.watch).collect();
        assert_eq!(watches, ["acme", "globex"]);
        assert_eq!(routed.watch_posts[0].language, "de");
        assert_eq!(routed.watch_posts[0].author, "a1");
        assert_eq!(routed.watch_posts[0].created_at, 1_424_715_331);
    }

    #[test]
    fn timestamps_outside_datetime_are_clamped() {
        let before_epoch = DateTime::from_timestamp(-5, 0).unwrap();
        let after_2106 = DateTime::from_timestamp(5_000_000_000, 0).unwrap();
        assert_eq!(clickhouse_datetime(&before_epoch), 0);
        assert_eq!(clickhouse_datetime(&after_2106), u32::MAX);
        assert_eq!(
            IngestStamp::from_version(1_500_000_000_999_999).ingested_at,
            1_500_000_000
        );
    }
}
