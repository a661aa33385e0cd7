//! Bluesky Jetstream: one JSON event per WebSocket message → canonical post, delete, or nothing.
//!
//! Guarantees:
//! * Only `kind:"commit"` events of collection `app.bsky.feed.post` become posts: `create` and
//!   `update` give a post (a `reply` when the record has `reply.parent`, with that parent's
//!   `at://` URI as `parent_id`), `delete` gives a post of kind `delete`. Identity, account and
//!   other collections (likes, follows, …) give no post but still advance the cursor.
//! * `source_id` is the record's `at://<did>/app.bsky.feed.post/<rkey>` URI; the author id is
//!   the DID; `lang` is the first of `langs`; the URL is the bsky.app page of the post.
//! * `created_at` is the record's `createdAt` (client-set); when that is missing or not a valid
//!   timestamp, and for deletes (which carry no record), it is the Jetstream receive time
//!   `time_us`. The text is plain already and is clamped to the model's limit.
//! * [`JetstreamEvent::time_us`] is the resume cursor, present on every accepted event.
//! * The pre-v0.1 Jetstream schema (`type:"com"`, `commit.type:"c"`) is rejected as
//!   [`ParseError::Unsupported`], so a collector pointed at an old server says so.

use crate::json::{self, as_obj};
use crate::{finish, ParseError};
use chrono::DateTime;
use serde_json::Value;
use tidewatch_model::{Author, Post, PostKind, WIRE_VERSION};

pub const SOURCE: &str = "bluesky";
pub const POST_COLLECTION: &str = "app.bsky.feed.post";

/// One decoded Jetstream event.
#[derive(Debug, Clone, PartialEq)]
pub struct JetstreamEvent {
    /// Receive time in microseconds since the epoch: the cursor to resume from.
    pub time_us: i64,
    /// The post (or delete) this event carries, `None` for events that are not about posts.
    pub post: Option<Post>,
}

/// Parses one Jetstream message.
pub fn parse_event(message: &[u8]) -> Result<JetstreamEvent, ParseError> {
    let value = json::parse(message)?;
    let event = as_obj(&value, "")?;
    let time_us = event
        .opt_i64("time_us")?
        .ok_or_else(|| ParseError::Missing("time_us".to_string()))?;
    if time_us < 0 {
        return Err(ParseError::invalid("time_us", "is negative"));
    }
    let kind =
        match event.opt_str("kind")? {
            Some(kind) => kind,
            None if event.get("type").is_some() => return Err(ParseError::Unsupported(
                "legacy Jetstream schema (`type` instead of `kind`); the server is older than v0.1"
                    .to_string(),
            )),
            None => return Err(ParseError::Missing("kind".to_string())),
        };
    if kind != "commit" {
        return Ok(JetstreamEvent {
            time_us,
            post: None,
        });
    }
    let did = event.id("did")?;
    let commit = event.obj("commit")?;
    if commit.str("collection")? != POST_COLLECTION {
        return Ok(JetstreamEvent {
            time_us,
            post: None,
        });
    }
    let rkey = commit.id("rkey")?;
    let operation = commit.str("operation")?;
    let received_at = DateTime::from_timestamp_micros(time_us)
        .ok_or_else(|| ParseError::invalid("time_us", "is out of range"))?;
    let mut post = Post {
        v: WIRE_VERSION,
        source: SOURCE.to_string(),
        source_id: format!("at://{did}/{POST_COLLECTION}/{rkey}"),
        kind: PostKind::Delete,
        created_at: received_at,
        author: Some(Author {
            id: Some(did.to_string()),
            handle: None,
            followers: None,
        }),
        text: String::new(),
        lang: None,
        url: Some(format!("https://bsky.app/profile/{did}/post/{rkey}")),
        parent_id: None,
        conversation_id: None,
        metrics: None,
        rating: None,
    };
    match operation {
        "delete" => post.url = None,
        "create" | "update" => {
            let record = commit.obj("record")?;
            post.text = record.opt_str("text")?.unwrap_or("").to_string();
            post.created_at = record
                .opt_time("createdAt")
                .ok()
                .flatten()
                .unwrap_or(received_at);
            post.lang = match record.opt_array("langs")? {
                Some(langs) => match langs.first() {
                    Some(Value::String(lang)) => Some(lang.clone()),
                    Some(other) => return Err(json::wrong(record.at("langs[0]"), "string", other)),
                    None => None,
                },
                None => None,
            };
            post.parent_id = match record.opt_obj("reply")? {
                Some(reply) => Some(reply.obj("parent")?.id("uri")?.to_string()),
                None => None,
            };
            post.conversation_id = match record.opt_obj("reply")?.map(|r| r.opt_obj("root")) {
                Some(Ok(Some(root))) => Some(root.id("uri")?.to_string()),
                Some(Err(error)) => return Err(error),
                _ => None,
            };
            post.kind = if post.parent_id.is_some() {
                PostKind::Reply
            } else {
                PostKind::Post
            };
        }
        other => {
            return Err(ParseError::invalid(
                "commit.operation",
                format!("{other:?} is not create, update or delete"),
            ))
        }
    }
    Ok(JetstreamEvent {
        time_us,
        post: Some(finish(post)?),
    })
}
