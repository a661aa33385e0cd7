//! Mastodon: REST `Status` entities and timeline arrays, and streaming events (SSE frames and
//! WebSocket envelopes) → canonical posts.
//!
//! Guarantees:
//! * `source_id` is `<instance host>/<status id>`: ids are per instance, so the host the
//!   collector talks to is part of the id. The author id is `<host>/<account id>`.
//! * A status with `reblog` is a `repost` whose text is the reblogged status's text and whose
//!   `parent_id` is the reblogged status's `source_id`; one with `in_reply_to_id` is a `reply`
//!   with that parent. `content` (HTML) becomes plain text; a content warning (`spoiler_text`)
//!   comes first, as its own paragraph.
//! * Streaming `update` is a post, `status.update` (an edit) is a new version of the post with
//!   the same `source_id` ([`StreamEvent::Edit`]), and `delete` is a post of kind `delete` dated
//!   `observed_at` (the event carries only an id). Other events are [`StreamEvent::Ignored`].
//! * The REST cursor is the largest status id of the page (ids are numeric strings ordered by
//!   time), for the next `min_id` request.

use crate::json::{self, as_obj, Obj};
use crate::text::html_to_text;
use crate::{finish, Batch, ParseError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tidewatch_model::{Author, Post, PostKind, PostMetrics, WIRE_VERSION};

pub const SOURCE: &str = "mastodon";

/// One streaming event, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// `update`: a new status.
    Update(Post),
    /// `status.update`: an edited status, a new version with the same `source_id`.
    Edit(Post),
    /// `delete`: a post of kind `delete`.
    Delete(Post),
    /// Any other event (`notification`, `filters_changed`, …), named.
    Ignored(String),
}

/// One `Status` entity (REST body of `GET /api/v1/statuses/:id`).
pub fn parse_status(host: &str, body: &[u8]) -> Result<Post, ParseError> {
    let value = json::parse(body)?;
    status_to_post(host, &value, "")
}

/// A timeline page (`GET /api/v1/timelines/public`, `…/tag/:hashtag`): a JSON array of statuses.
/// The cursor is the largest status id of the page, for the next `min_id`.
pub fn parse_timeline(host: &str, body: &[u8]) -> Result<Batch<String>, ParseError> {
    let value = json::parse(body)?;
    let Value::Array(items) = &value else {
        return Err(json::wrong(
            "(root)".to_string(),
            "array of statuses",
            &value,
        ));
    };
    let mut batch = Batch::default();
    for (index, item) in items.iter().enumerate() {
        let path = format!("[{index}]");
        if let Some(Value::String(id)) = item.get("id") {
            if newer(id, batch.cursor.as_deref()) {
                batch.cursor = Some(id.clone());
            }
        }
        batch.push(index, status_to_post(host, item, &path).map(Some));
    }
    Ok(batch)
}

/// True when status id `id` sorts after `than`: numeric ids compare by length, then digits.
pub fn newer(id: &str, than: Option<&str>) -> bool {
    match than {
        None => !id.is_empty(),
        Some(than) => (id.len(), id) > (than.len(), than),
    }
}

/// One SSE frame already split into its `event` name and `data`.
pub fn parse_sse_event(
    host: &str,
    event: &str,
    data: &str,
    observed_at: DateTime<Utc>,
) -> Result<StreamEvent, ParseError> {
    match event {
        "update" => Ok(StreamEvent::Update(parse_status(host, data.as_bytes())?)),
        "status.update" => Ok(StreamEvent::Edit(parse_status(host, data.as_bytes())?)),
        "delete" => delete(host, data.trim(), observed_at).map(StreamEvent::Delete),
        other => Ok(StreamEvent::Ignored(other.to_string())),
    }
}

/// A whole SSE body: frames separated by blank lines, `event:` and `data:` lines, comment lines
/// (`:thump` heartbeats) skipped. One result per frame that has data.
pub fn parse_sse_stream(
    host: &str,
    body: &str,
    observed_at: DateTime<Utc>,
) -> Vec<Result<StreamEvent, ParseError>> {
    let mut results = Vec::new();
    let mut event = String::new();
    let mut data: Vec<&str> = Vec::new();
    let mut flush = |event: &mut String, data: &mut Vec<&str>| {
        if !data.is_empty() {
            let name = if event.is_empty() {
                "message"
            } else {
                event.as_str()
            };
            results.push(parse_sse_event(host, name, &data.join("\n"), observed_at));
        }
        event.clear();
        data.clear();
    };
    for line in body.lines() {
        if line.is_empty() {
            flush(&mut event, &mut data);
        } else if line.starts_with(':') {
            continue;
        } else if let Some(value) = line.strip_prefix("event:") {
            event = value.trim_start().to_string();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    flush(&mut event, &mut data);
    results
}

/// One WebSocket message: `{"stream":[…],"event":"update","payload":"<status JSON as a string>"}`.
pub fn parse_websocket_message(
    host: &str,
    message: &[u8],
    observed_at: DateTime<Utc>,
) -> Result<StreamEvent, ParseError> {
    let value = json::parse(message)?;
    let envelope = as_obj(&value, "")?;
    let event = envelope.str("event")?;
    let payload = match envelope.get("payload") {
        None => String::new(),
        Some(Value::String(text)) => text.clone(),
        // Tolerate a payload sent as an object rather than a string.
        Some(object @ Value::Object(_)) => object.to_string(),
        Some(other) => return Err(json::wrong("payload".to_string(), "string", other)),
    };
    parse_sse_event(host, event, &payload, observed_at)
}

/// A post of kind `delete` for status `id`, dated `observed_at` (the time it was found gone).
pub fn delete_post(host: &str, id: &str, observed_at: DateTime<Utc>) -> Result<Post, ParseError> {
    delete(host, id, observed_at)
}

fn delete(host: &str, id: &str, observed_at: DateTime<Utc>) -> Result<Post, ParseError> {
    // The data is a bare id; some servers quote it as a JSON string.
    let id = id.trim_matches('"');
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        return Err(ParseError::invalid(
            "delete",
            format!("{id:?} is not a status id"),
        ));
    }
    finish(Post {
        v: WIRE_VERSION,
        source: SOURCE.to_string(),
        source_id: format!("{host}/{id}"),
        kind: PostKind::Delete,
        created_at: observed_at,
        author: None,
        text: String::new(),
        lang: None,
        url: None,
        parent_id: None,
        metrics: None,
        rating: None,
    })
}

fn status_to_post(host: &str, value: &Value, path: &str) -> Result<Post, ParseError> {
    let status = as_obj(value, path)?;
    let id = status.id("id")?;
    let created_at = status
        .opt_time("created_at")?
        .ok_or_else(|| ParseError::Missing(status.at("created_at")))?;
    let (kind, content_of, parent_id) = match status.opt_obj("reblog")? {
        Some(reblog) => {
            let original = format!("{host}/{}", reblog.id("id")?);
            (PostKind::Repost, reblog, Some(original))
        }
        None => match status.opt_str("in_reply_to_id")? {
            Some(parent) => (
                PostKind::Reply,
                status.clone(),
                Some(format!("{host}/{parent}")),
            ),
            None => (PostKind::Post, status.clone(), None),
        },
    };
    let text = status_text(&content_of)?;
    let author = match status.opt_obj("account")? {
        Some(account) => Some(Author {
            id: account.opt_str("id")?.map(|id| format!("{host}/{id}")),
            handle: account.opt_str("acct")?.map(str::to_string),
            followers: account.opt_count("followers_count")?,
        }),
        None => None,
    };
    let metrics = PostMetrics {
        likes: status.opt_count("favourites_count")?.unwrap_or(0),
        reposts: status.opt_count("reblogs_count")?.unwrap_or(0),
        replies: status.opt_count("replies_count")?.unwrap_or(0),
    };
    finish(Post {
        v: WIRE_VERSION,
        source: SOURCE.to_string(),
        source_id: format!("{host}/{id}"),
        kind,
        created_at,
        author,
        text,
        lang: content_of
            .opt_str("language")?
            .or(status.opt_str("language")?)
            .map(str::to_string),
        url: content_of
            .opt_str("url")?
            .or(content_of.opt_str("uri")?)
            .map(str::to_string),
        parent_id,
        metrics: Some(metrics),
        rating: None,
    })
}

/// Content warning, then the HTML content as plain text.
fn status_text(status: &Obj<'_>) -> Result<String, ParseError> {
    let content = html_to_text(status.opt_str("content")?.unwrap_or(""));
    let spoiler = status.opt_str("spoiler_text")?.unwrap_or("").trim();
    Ok(crate::text::join_title(Some(spoiler), &content))
}
