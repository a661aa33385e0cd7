//! Canonical posts (`posts.raw`) and scored posts (`posts.scored`).
//!
//! A canonical post is what every collector produces and what replay files hold, one JSON object
//! per line. [`Post::from_json_bytes`] is the one gate every stage uses to read one: it checks
//! the size before parsing (so a 10 MB line costs nothing), then UTF-8, JSON, required fields,
//! timestamps, and the text limit, and reports the first problem precisely.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The version written in the `v` field of every record.
pub const WIRE_VERSION: u32 = 1;

/// Largest post text accepted, in UTF-8 bytes (64 KiB). Longer than any real post on the
/// supported sources (Reddit self-posts stop at 40,000 characters); a longer text is a bug or
/// an attack, and goes to the dead-letter topic.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Largest serialised record accepted, in bytes (256 KiB): the text limit plus room for the
/// other fields. Checked before the JSON is parsed.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;

/// What went wrong with an input record. Every variant is fatal for that record (retrying the
/// same bytes gives the same error), so the caller dead-letters it and moves on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PostError {
    #[error("record is {bytes} bytes, over the {limit}-byte limit")]
    RecordTooLarge { bytes: usize, limit: usize },
    #[error("invalid UTF-8 at byte {valid_up_to}")]
    InvalidUtf8 { valid_up_to: usize },
    #[error("not valid JSON: {0}")]
    InvalidJson(String),
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("field `{field}` is not an RFC 3339 timestamp: {value:?}")]
    BadTimestamp { field: &'static str, value: String },
    #[error(
        "field `{field}` is {value:?}, outside the storable range {} to {}",
        EARLIEST_TIMESTAMP,
        LATEST_TIMESTAMP
    )]
    TimestampOutOfRange { field: &'static str, value: String },
    #[error("text is {bytes} bytes, over the {limit}-byte limit")]
    TextTooLong { bytes: usize, limit: usize },
    #[error("unsupported wire version {0}")]
    UnsupportedVersion(u64),
}

impl PostError {
    /// A short, stable name for metrics labels and dead-letter reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            PostError::RecordTooLarge { .. } => "record_too_large",
            PostError::InvalidUtf8 { .. } => "invalid_utf8",
            PostError::InvalidJson(_) => "invalid_json",
            PostError::MissingField(_) => "missing_field",
            PostError::InvalidField { .. } => "invalid_field",
            PostError::BadTimestamp { .. } => "bad_timestamp",
            PostError::TimestampOutOfRange { .. } => "timestamp_out_of_range",
            PostError::TextTooLong { .. } => "text_too_long",
            PostError::UnsupportedVersion(_) => "unsupported_version",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    #[default]
    Post,
    Reply,
    Repost,
    Comment,
    Review,
    Delete,
}

impl PostKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Post => "post",
            PostKind::Reply => "reply",
            PostKind::Repost => "repost",
            PostKind::Comment => "comment",
            PostKind::Review => "review",
            PostKind::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Author {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PostMetrics {
    #[serde(default)]
    pub likes: u64,
    #[serde(default)]
    pub reposts: u64,
    #[serde(default)]
    pub replies: u64,
}

/// A canonical post, valid by construction when it comes from [`Post::from_json_bytes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    pub v: u32,
    pub source: String,
    pub source_id: String,
    pub kind: PostKind,
    #[serde(with = "timestamp_serde")]
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
    /// Empty for a delete.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<PostMetrics>,
    #[serde(default)]
    pub rating: Option<f32>,
}

/// The earliest `created_at` accepted, in RFC 3339 (ClickHouse `DateTime` starts at the epoch).
pub const EARLIEST_TIMESTAMP: &str = "1970-01-01T00:00:00Z";
/// The latest `created_at` accepted, in RFC 3339. ClickHouse `DateTime` is 32-bit seconds (up to
/// 2106-02-07T06:28:15Z), but 18.16's date functions (partitions by day, buckets) are exact
/// only through 2105, and just past the top a value wraps round to 1970.
pub const LATEST_TIMESTAMP: &str = "2105-12-31T23:59:59Z";
/// [`EARLIEST_TIMESTAMP`] and [`LATEST_TIMESTAMP`] in seconds since the epoch.
const STORABLE_SECONDS: std::ops::RangeInclusive<i64> = 0..=4_291_747_199;

/// The lenient shape a record is first parsed into, so that a missing or wrong field can be
/// named instead of surfacing as a generic serde message.
#[derive(Deserialize)]
struct LoosePost {
    v: Option<u64>,
    source: Option<serde_json::Value>,
    source_id: Option<serde_json::Value>,
    kind: Option<String>,
    created_at: Option<serde_json::Value>,
    author: Option<Author>,
    text: Option<String>,
    lang: Option<String>,
    url: Option<String>,
    parent_id: Option<String>,
    metrics: Option<PostMetrics>,
    rating: Option<f32>,
}

impl Post {
    /// Parses and validates one canonical post.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Post, PostError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(PostError::RecordTooLarge {
                bytes: bytes.len(),
                limit: MAX_RECORD_BYTES,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|error| PostError::InvalidUtf8 {
            valid_up_to: error.valid_up_to(),
        })?;
        // Why: serde reads a struct from an array too, by position, so `["mastodon","1",…]`
        // would pass as a post.
        if text.trim_start().starts_with('[') {
            return Err(PostError::InvalidJson(
                "expected a JSON object, found an array".to_string(),
            ));
        }
        let loose: LoosePost = serde_json::from_str(text)
            .map_err(|error| PostError::InvalidJson(error.to_string()))?;
        loose.validate()
    }

    /// The Kafka key of this post: `source:source_id`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.source, self.source_id)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a post always serialises")
    }
}

fn required_string(
    value: Option<serde_json::Value>,
    field: &'static str,
) -> Result<String, PostError> {
    match value {
        None | Some(serde_json::Value::Null) => Err(PostError::MissingField(field)),
        Some(serde_json::Value::String(text)) if text.trim().is_empty() => {
            Err(PostError::InvalidField {
                field,
                reason: "is empty".to_string(),
            })
        }
        Some(serde_json::Value::String(text)) => Ok(text),
        Some(other) => Err(PostError::InvalidField {
            field,
            reason: format!("expected a string, found {other}"),
        }),
    }
}

impl LoosePost {
    fn validate(self) -> Result<Post, PostError> {
        let version = self.v.unwrap_or(u64::from(WIRE_VERSION));
        if version != u64::from(WIRE_VERSION) {
            return Err(PostError::UnsupportedVersion(version));
        }
        let source = required_string(self.source, "source")?;
        let source_id = required_string(self.source_id, "source_id")?;
        let kind = match self.kind.as_deref() {
            None => PostKind::Post,
            Some(name) => parse_kind(name)?,
        };
        let created_at_text = required_string(self.created_at, "created_at")?;
        let Some(created_at) = parse_timestamp(&created_at_text) else {
            return Err(PostError::BadTimestamp {
                field: "created_at",
                value: created_at_text,
            });
        };
        if !is_storable(&created_at) {
            return Err(PostError::TimestampOutOfRange {
                field: "created_at",
                value: created_at_text,
            });
        }
        let text = match (self.text, kind) {
            (Some(text), _) => text,
            (None, PostKind::Delete) => String::new(),
            (None, _) => return Err(PostError::MissingField("text")),
        };
        if text.len() > MAX_TEXT_BYTES {
            return Err(PostError::TextTooLong {
                bytes: text.len(),
                limit: MAX_TEXT_BYTES,
            });
        }
        if let Some(rating) = self.rating {
            if !rating.is_finite() {
                return Err(PostError::InvalidField {
                    field: "rating",
                    reason: "is not a finite number".to_string(),
                });
            }
        }
        Ok(Post {
            v: WIRE_VERSION,
            source,
            source_id,
            kind,
            created_at,
            author: self.author,
            text,
            lang: self.lang,
            url: self.url,
            parent_id: self.parent_id,
            metrics: self.metrics,
            rating: self.rating,
        })
    }
}

fn parse_kind(name: &str) -> Result<PostKind, PostError> {
    let kind = match name {
        "post" => PostKind::Post,
        "reply" => PostKind::Reply,
        "repost" => PostKind::Repost,
        "comment" => PostKind::Comment,
        "review" => PostKind::Review,
        "delete" => PostKind::Delete,
        other => {
            return Err(PostError::InvalidField {
                field: "kind",
                reason: format!(
                    "{other:?} is not one of post, reply, repost, comment, review, delete"
                ),
            })
        }
    };
    Ok(kind)
}

fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|timestamp| timestamp.with_timezone(&Utc))
}

/// Whether ClickHouse stores `timestamp` as itself (see [`LATEST_TIMESTAMP`]).
fn is_storable(timestamp: &DateTime<Utc>) -> bool {
    STORABLE_SECONDS.contains(&timestamp.timestamp())
}

/// RFC 3339 in UTC with a `Z`, with fractional seconds only when there are any.
pub fn format_timestamp(timestamp: &DateTime<Utc>) -> String {
    timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub(crate) mod timestamp_serde {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        timestamp: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_timestamp(timestamp))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        let timestamp = super::parse_timestamp(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("not an RFC 3339 timestamp: {text:?}"))
        })?;
        if !super::is_storable(&timestamp) {
            return Err(serde::de::Error::custom(format!(
                "{text:?} is outside the storable range {} to {}",
                super::EARLIEST_TIMESTAMP,
                super::LATEST_TIMESTAMP
            )));
        }
        Ok(timestamp)
    }
}

/// VADER scores, each rounded as Python's `round(x, 4)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub neg: f64,
    pub neu: f64,
    pub pos: f64,
    pub compound: f64,
}

/// negative ≤ −0.05 < neutral < 0.05 ≤ positive; `unscored` when the language is not scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Negative,
    Neutral,
    Positive,
    Unscored,
}

impl Label {
    pub fn from_compound(compound: f64) -> Label {
        if compound <= -0.05 {
            Label::Negative
        } else if compound >= 0.05 {
            Label::Positive
        } else {
            Label::Neutral
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
            Label::Unscored => "unscored",
        }
    }
}

/// A canonical post plus what the score stage adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredPost {
    #[serde(flatten)]
    pub post: Post,
    pub sentiment: Option<Sentiment>,
    pub label: Label,
    pub lang_detected: Option<String>,
    #[serde(default)]
    pub watches: Vec<String>,
}

impl ScoredPost {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a scored post always serialises")
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<ScoredPost, PostError> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(PostError::RecordTooLarge {
                bytes: bytes.len(),
                limit: MAX_RECORD_BYTES,
            });
        }
        serde_json::from_slice(bytes).map_err(|error| PostError::InvalidJson(error.to_string()))
    }
}

#[cfg(test)]
mod tests;

/// A `posts.watched` record: one (watch, post) match, keyed by watch in Kafka so that all posts
/// of one watch reach the same detector instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedPost {
    pub watch: String,
    #[serde(flatten)]
    pub scored: ScoredPost,
}
