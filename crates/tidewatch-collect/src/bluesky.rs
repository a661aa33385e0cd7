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
//! * **`createdAt` is the client's claim** (any client can write any date: clocks are wrong,
//!   posts are backdated or queued offline). The parser keeps it; the collector then applies
//!   [`TimeRule`]: a claim more than `max_future` after the time the network saw the post
//!   (`time_us`), or more than `max_age` before it, is implausible, and the post is dated
//!   `time_us` instead, so that it is ordered and bucketed by when it was actually published.
//!   A plausible claim is kept as it is.
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

/// When a client's `createdAt` is believed (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRule {
    /// A claim later than the network time by more than this is implausible.
    pub max_future: chrono::Duration,
    /// A claim earlier than the network time by more than this is implausible.
    pub max_age: chrono::Duration,
}

/// Which way an implausible claim was off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implausible {
    Future,
    Old,
}

impl Implausible {
    pub fn as_str(self) -> &'static str {
        match self {
            Implausible::Future => "future",
            Implausible::Old => "old",
        }
    }
}

impl TimeRule {
    /// Dates `post` by `time_us` when its claim is implausible; says which way it was off.
    pub fn apply(&self, post: &mut Post, time_us: i64) -> Option<Implausible> {
        let seen = DateTime::from_timestamp_micros(time_us)?;
        let verdict = if post.created_at > seen + self.max_future {
            Implausible::Future
        } else if post.created_at < seen - self.max_age {
            Implausible::Old
        } else {
            return None;
        };
        post.created_at = seen;
        Some(verdict)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implausible_claims_are_dated_by_the_network() {
        let rule = TimeRule {
            max_future: chrono::Duration::minutes(5),
            max_age: chrono::Duration::minutes(5),
        };
        let seen_us = 1_764_000_000_000_000i64;
        let seen = DateTime::from_timestamp_micros(seen_us).unwrap();
        let event = |claim: &str| {
            let message = format!(
                r#"{{"did":"did:plc:a","time_us":{seen_us},"kind":"commit","commit":{{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{{"$type":"app.bsky.feed.post","text":"hi","createdAt":"{claim}"}}}}}}"#
            );
            parse_event(message.as_bytes()).unwrap().post.unwrap()
        };
        let cases = [
            ("2025-11-24T16:06:00Z", Some(Implausible::Future)),
            ("2025-11-24T15:54:00Z", Some(Implausible::Old)),
            ("2025-11-24T16:04:00Z", None),
            ("2025-11-24T15:56:00Z", None),
        ];
        assert_eq!(seen.to_rfc3339(), "2025-11-24T16:00:00+00:00");
        for (claim, expected) in cases {
            let mut post = event(claim);
            let verdict = rule.apply(&mut post, seen_us);
            assert_eq!(verdict, expected, "{claim}");
            let dated = if expected.is_some() {
                seen
            } else {
                post.created_at
            };
            assert_eq!(post.created_at, dated, "{claim}");
        }
        let mut old = event("2020-01-01T00:00:00Z");
        assert_eq!(rule.apply(&mut old, seen_us), Some(Implausible::Old));
        assert_eq!(old.created_at, seen);
    }
}
