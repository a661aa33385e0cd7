//! Post search (newest first, paged by an opaque cursor) and a story's posts.
//!
//! Guarantees:
//! * each post appears once, with the values of its latest delivery (`argMax(…, version)` over
//!   its deliveries, NULLs included: nullable columns are folded through a sentinel so an
//!   unscored redelivery is not masked by an older scored one); deleted posts never appear;
//! * the text search is a case-insensitive substring match (`positionCaseInsensitiveUTF8`) on a
//!   bound needle: `%`, `_`, quotes and backslashes are literal characters, never patterns or SQL;
//! * paging is keyset paging on `(created_at, source, source_id)` descending, so a page never
//!   repeats or skips a post that existed when the first page was read; the cursor is opaque
//!   (hex) and a malformed one is a [`CursorError`], not a query.

use chrono::{DateTime, Utc};
use clickhouse::Row;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::filters::{
    bind_filter, filter_condition, serialize_time, time_of_seconds, PostFilter, TimeRange,
};
use crate::store::PostStore;

/// Latest delivery of each post; the caller appends the WHERE of the deliveries and GROUP BY.
const FOLDED_POSTS: &str = "
    SELECT source, source_id,
           argMax(kind, version) AS latest_kind,
           argMax(created_at, version) AS latest_created_at,
           argMax(author_handle, version) AS latest_author_handle,
           argMax(ifNull(author_followers, 18446744073709551615), version) AS latest_followers,
           argMax(text, version) AS latest_text,
           argMax(lang, version) AS latest_lang,
           argMax(lang_detected, version) AS latest_lang_detected,
           argMax(url, version) AS latest_url,
           argMax(parent_id, version) AS latest_parent_id,
           argMax(likes, version) AS latest_likes,
           argMax(reposts, version) AS latest_reposts,
           argMax(replies, version) AS latest_replies,
           argMax(ifNull(toFloat64(rating), nan), version) AS latest_rating,
           argMax(ifNull(compound, nan), version) AS latest_compound,
           argMax(label, version) AS latest_label,
           argMax(watches, version) AS latest_watches
    FROM posts";

const POST_COLUMNS: &str =
    "source, source_id, latest_kind, latest_created_at, latest_author_handle,
       latest_followers, latest_text, latest_lang, latest_lang_detected, latest_url,
       latest_parent_id, latest_likes, latest_reposts, latest_replies, latest_rating,
       latest_compound, latest_label, latest_watches";

pub(crate) fn search_posts_sql() -> String {
    format!(
        "SELECT {POST_COLUMNS}
FROM ({FOLDED_POSTS}
    WHERE created_at >= ? AND created_at < ? AND {source_filter}
      AND (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY source, source_id)
WHERE (? = 0 OR hasAny(latest_watches, ?))
  AND {label_filter}
  AND (? = 0 OR has(?, if(latest_lang_detected != '', latest_lang_detected, latest_lang)))
  AND (? = '' OR positionCaseInsensitiveUTF8(latest_text, ?) > 0)
  AND (? = 0 OR latest_created_at < ? OR (latest_created_at = ? AND (source < ? OR (source = ? AND source_id < ?))))
ORDER BY latest_created_at DESC, source DESC, source_id DESC
LIMIT ?",
        source_filter = filter_condition!("source"),
        label_filter = filter_condition!("latest_label"),
    )
}

pub(crate) fn story_posts_sql() -> String {
    format!(
        "SELECT {POST_COLUMNS}
FROM ({FOLDED_POSTS}
    WHERE created_at >= ? AND created_at <= ?
      AND (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY source, source_id)
WHERE has(latest_watches, ?)
  AND ((? = 1 AND arrayExists(term -> positionCaseInsensitiveUTF8(latest_text, term) > 0, ?))
       OR has(?, concat(source, ':', source_id)))
ORDER BY latest_created_at, source, source_id
LIMIT ?"
    )
}

#[derive(Debug, Row, Deserialize)]
struct PostOutRow {
    source: String,
    source_id: String,
    kind: String,
    created_at: u32,
    author_handle: String,
    followers: u64,
    text: String,
    lang: String,
    lang_detected: String,
    url: String,
    parent_id: String,
    likes: u64,
    reposts: u64,
    replies: u64,
    rating: f64,
    compound: f64,
    label: String,
    watches: Vec<String>,
}

/// A stored post as the API, the CLI and CSV exports show it. Absent strings are null.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPost {
    pub source: String,
    pub source_id: String,
    pub kind: String,
    #[serde(serialize_with = "serialize_time")]
    pub created_at: DateTime<Utc>,
    pub author_handle: Option<String>,
    pub author_followers: Option<u64>,
    pub text: String,
    pub lang: Option<String>,
    pub lang_detected: Option<String>,
    pub url: Option<String>,
    pub parent_id: Option<String>,
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
    pub rating: Option<f64>,
    pub compound: Option<f64>,
    pub label: String,
    pub watches: Vec<String>,
}

impl StoredPost {
    /// `source:source_id`, the key alert evidence uses.
    pub fn key(&self) -> String {
        format!("{}:{}", self.source, self.source_id)
    }

    /// Followers plus engagement: how far the post likely travelled.
    pub fn reach(&self) -> u64 {
        self.author_followers
            .unwrap_or(0)
            .saturating_add(self.likes)
            .saturating_add(self.reposts)
            .saturating_add(self.replies)
    }
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

impl From<PostOutRow> for StoredPost {
    fn from(row: PostOutRow) -> Self {
        let mut watches = row.watches;
        let mut seen = std::collections::BTreeSet::new();
        watches.retain(|watch| seen.insert(watch.clone()));
        StoredPost {
            source: row.source,
            source_id: row.source_id,
            kind: row.kind,
            created_at: time_of_seconds(row.created_at),
            author_handle: non_empty(row.author_handle),
            author_followers: (row.followers != u64::MAX).then_some(row.followers),
            text: row.text,
            lang: non_empty(row.lang),
            lang_detected: non_empty(row.lang_detected),
            url: non_empty(row.url),
            parent_id: non_empty(row.parent_id),
            likes: row.likes,
            reposts: row.reposts,
            replies: row.replies,
            rating: (!row.rating.is_nan()).then_some(row.rating),
            compound: (!row.compound.is_nan()).then_some(row.compound),
            label: row.label,
            watches,
        }
    }
}

/// Where the next page starts: just after this post in newest-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostCursor {
    pub created_at: u32,
    pub source: String,
    pub source_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this server handed out")]
pub struct CursorError;

impl PostCursor {
    pub fn encode(&self) -> String {
        let plain = format!("{}\n{}\n{}", self.created_at, self.source, self.source_id);
        plain.bytes().map(|byte| format!("{byte:02x}")).collect()
    }

    pub fn decode(opaque: &str) -> Result<Self, CursorError> {
        if !opaque.len().is_multiple_of(2) || opaque.len() > 4_096 {
            return Err(CursorError);
        }
        let bytes = (0..opaque.len())
            .step_by(2)
            .map(|index| {
                let pair = opaque.get(index..index + 2).ok_or(CursorError)?;
                u8::from_str_radix(pair, 16).map_err(|_| CursorError)
            })
            .collect::<Result<Vec<u8>, CursorError>>()?;
        let plain = String::from_utf8(bytes).map_err(|_| CursorError)?;
        let mut parts = plain.splitn(3, '\n');
        let created_at = parts
            .next()
            .ok_or(CursorError)?
            .parse()
            .map_err(|_| CursorError)?;
        let source = parts.next().ok_or(CursorError)?.to_string();
        let source_id = parts.next().ok_or(CursorError)?.to_string();
        Ok(Self {
            created_at,
            source,
            source_id,
        })
    }
}

/// A post search request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostQuery {
    pub range: TimeRange,
    pub filter: PostFilter,
    /// Case-insensitive substring of the text; empty for any.
    pub text: String,
    pub limit: u32,
    pub cursor: Option<PostCursor>,
}

/// One page of posts, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostPage {
    pub posts: Vec<StoredPost>,
    pub next_cursor: Option<String>,
}

pub(crate) fn bind_search(
    query: clickhouse::query::Query,
    request: &PostQuery,
) -> clickhouse::query::Query {
    let (from, to) = request.range.as_clickhouse_seconds();
    let mut query = bind_filter(query.bind(from).bind(to), &request.filter.sources);
    query = bind_filter(query, &request.filter.watches);
    query = bind_filter(query, &request.filter.labels);
    query = bind_filter(query, &request.filter.languages);
    query = query
        .bind(request.text.as_str())
        .bind(request.text.as_str());
    query = match &request.cursor {
        Some(cursor) => query
            .bind(1_u8)
            .bind(cursor.created_at)
            .bind(cursor.created_at)
            .bind(cursor.source.as_str())
            .bind(cursor.source.as_str())
            .bind(cursor.source_id.as_str()),
        None => query
            .bind(0_u8)
            .bind(0_u32)
            .bind(0_u32)
            .bind("")
            .bind("")
            .bind(""),
    };
    query.bind(u64::from(request.limit) + 1)
}

/// What [`PostStore::story_posts`] looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryPostQuery {
    pub watch: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub terms: Vec<String>,
    /// `source:source_id` of evidence posts, included whatever their text.
    pub post_ids: Vec<String>,
    pub limit: u32,
}

pub(crate) fn bind_story_posts(
    query: clickhouse::query::Query,
    request: &StoryPostQuery,
) -> clickhouse::query::Query {
    let range = TimeRange {
        from: request.from,
        to: request.to,
    };
    let (from, to) = range.as_clickhouse_seconds();
    let terms: Vec<&str> = request
        .terms
        .iter()
        .map(String::as_str)
        .filter(|term| !term.is_empty())
        .collect();
    let query = query.bind(from).bind(to).bind(request.watch.as_str());
    let query = if terms.is_empty() {
        query.bind(0_u8).bind(vec![""])
    } else {
        query.bind(1_u8).bind(terms)
    };
    let post_ids: Vec<&str> = if request.post_ids.is_empty() {
        vec![""]
    } else {
        request.post_ids.iter().map(String::as_str).collect()
    };
    query.bind(post_ids).bind(request.limit)
}

impl PostStore {
    /// One page of posts matching the request, newest first.
    pub async fn search_posts(&self, request: &PostQuery) -> Result<PostPage, StoreError> {
        let sql = search_posts_sql();
        let rows: Vec<PostOutRow> = bind_search(self.client().query(&sql), request)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("search posts"))?;
        metrics::counter!("tidewatch_store_queries_total", "query" => "search_posts").increment(1);
        let mut posts: Vec<StoredPost> = rows.into_iter().map(StoredPost::from).collect();
        let has_more = posts.len() > request.limit as usize;
        posts.truncate(request.limit as usize);
        let next_cursor = match posts.last() {
            Some(last) if has_more => Some(
                PostCursor {
                    created_at: crate::sink::clickhouse_datetime(&last.created_at),
                    source: last.source.clone(),
                    source_id: last.source_id.clone(),
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(PostPage { posts, next_cursor })
    }

    /// The posts of a story: its watch's posts in the range whose text holds any term, plus the
    /// evidence posts; oldest first, at most `limit`.
    pub async fn story_posts(
        &self,
        request: &StoryPostQuery,
    ) -> Result<Vec<StoredPost>, StoreError> {
        let sql = story_posts_sql();
        let rows: Vec<PostOutRow> = bind_story_posts(self.client().query(&sql), request)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("story posts"))?;
        Ok(rows.into_iter().map(StoredPost::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursors_round_trip(created_at in any::<u32>(), source in "\\PC{0,20}", source_id in "\\PC{0,40}") {
            let cursor = PostCursor { created_at, source, source_id };
            prop_assert_eq!(PostCursor::decode(&cursor.encode()), Ok(cursor));
        }

        #[test]
        fn garbage_is_never_a_cursor_that_panics(text in "\\PC{0,60}") {
            let _ = PostCursor::decode(&text);
        }
    }

    #[test]
    fn malformed_cursors_are_errors() {
        for bad in ["zz", "abc", "' OR 1=1 --", "41", "410a42"] {
            assert_eq!(PostCursor::decode(bad), Err(CursorError), "{bad}");
        }
    }

    #[test]
    fn statements_have_one_placeholder_per_bound_value() {
        assert_eq!(
            search_posts_sql().matches('?').count(),
            2 + 2 * 4 + 2 + 6 + 1
        );
        assert_eq!(story_posts_sql().matches('?').count(), 7);
        let request = PostQuery {
            range: TimeRange {
                from: DateTime::from_timestamp(0, 0).unwrap(),
                to: DateTime::from_timestamp(10, 0).unwrap(),
            },
            filter: PostFilter::default(),
            text: "' OR 1=1 --".into(),
            limit: 5,
            cursor: None,
        };
        let sql = bind_search(
            clickhouse::Client::default().query(&search_posts_sql()),
            &request,
        )
        .sql_display()
        .to_string();
        assert!(sql.contains("'\\' OR 1=1 --'"), "{sql}");
        assert!(sql.ends_with("LIMIT 6"), "{sql}");
    }
}
