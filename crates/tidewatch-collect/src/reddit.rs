//! Reddit: listing responses (`/r/<sub>/new`, `/r/<sub>/comments`, `/search`) and the
//! `/comments/<id>` array of two listings → canonical posts.
//!
//! Guarantees:
//! * A `t3` child (submission) is a `post` whose text is the title, then the self text; a `t1`
//!   child (comment) is a `comment` whose `parent_id` is its parent's fullname (`t3_…`/`t1_…`).
//!   Other kinds (`more`, …) give nothing. Replies nested in a comment's `replies` listing are
//!   walked too (depth-first, parents first).
//! * `source_id` is the fullname (`name`, e.g. `t3_48fbm9`), so that `parent_id`s point at
//!   `source_id`s. The author id is `author_fullname` when present; the URL is the permalink.
//! * An item whose body or self text is `[deleted]` or `[removed]`, or a submission with a
//!   `removed_by_category`, is a post of kind `delete` (no text), so that the pipeline removes
//!   what it holds of it. Rejected items are numbered in depth-first order.
//! * Text is taken as sent: the collector requests `raw_json=1`, so no entities are decoded.
//! * `created_at` is `created_utc` (float epoch seconds). `score` becomes likes,
//!   `num_comments` replies.
//! * The cursor is the listing's `after` fullname (of the last listing, for the array form).

use crate::json::{self, as_obj, from_epoch_seconds, Obj};
use crate::text::join_title;
use crate::{finish, Batch, ParseError, Rejected};
use serde_json::Value;
use tidewatch_model::{Author, Post, PostKind, PostMetrics, WIRE_VERSION};

pub const SOURCE: &str = "reddit";

/// How deep nested `replies` are followed; deeper comments are left for their own listing.
const MAX_DEPTH: usize = 64;

/// A listing, or an array of listings (the `/comments/<id>` endpoint).
pub fn parse_listing(body: &[u8]) -> Result<Batch<String>, ParseError> {
    let value = json::parse(body)?;
    let mut batch = Batch::default();
    let mut index = 0;
    match &value {
        Value::Array(listings) => {
            for (position, listing) in listings.iter().enumerate() {
                let listing = as_obj(listing, format!("[{position}]"))?;
                batch.cursor = walk_listing(&listing, &mut batch, &mut index, 0)?;
            }
        }
        other => {
            let listing = as_obj(other, "")?;
            batch.cursor = walk_listing(&listing, &mut batch, &mut index, 0)?;
        }
    }
    Ok(batch)
}

/// Adds the children of one listing to `batch`, returning its `after`.
fn walk_listing(
    listing: &Obj<'_>,
    batch: &mut Batch<String>,
    index: &mut usize,
    depth: usize,
) -> Result<Option<String>, ParseError> {
    match listing.opt_str("kind")? {
        Some("Listing") => {}
        Some(other) => {
            return Err(ParseError::invalid(
                listing.at("kind"),
                format!("{other:?} is not a Listing"),
            ))
        }
        None => return Err(ParseError::Missing(listing.at("kind"))),
    }
    let data = listing.obj("data")?;
    let after = data.opt_str("after")?.map(str::to_string);
    let children = data
        .opt_array("children")?
        .ok_or_else(|| ParseError::Missing(data.at("children")))?;
    for (position, child) in children.iter().enumerate() {
        let path = format!("{}[{position}]", data.at("children"));
        let this = *index;
        *index += 1;
        let child = match as_obj(child, path) {
            Ok(child) => child,
            Err(error) => {
                batch.push(this, Err(error));
                continue;
            }
        };
        batch.push(this, child_to_post(&child));
        // Nested replies: a Listing, or "" when there are none.
        if depth < MAX_DEPTH {
            if let Ok(data) = child.obj("data") {
                if let Some(replies @ Value::Object(_)) = data.get("replies") {
                    let replies = as_obj(replies, data.at("replies"))?;
                    if let Err(error) = walk_listing(&replies, batch, index, depth + 1) {
                        batch.rejected.push(Rejected { index: this, error });
                    }
                }
            }
        }
    }
    Ok(after)
}

fn child_to_post(child: &Obj<'_>) -> Result<Option<Post>, ParseError> {
    let kind = child.str("kind")?;
    let is_comment = match kind {
        "t1" => true,
        "t3" => false,
        _ => return Ok(None),
    };
    let data = child.obj("data")?;
    let name = data.id("name")?;
    let seconds = data
        .opt_f64("created_utc")?
        .ok_or_else(|| ParseError::Missing(data.at("created_utc")))?;
    let created_at = from_epoch_seconds(seconds)
        .ok_or_else(|| ParseError::invalid(data.at("created_utc"), "is out of range"))?;
    let body = if is_comment {
        data.opt_str("body")?.unwrap_or("")
    } else {
        data.opt_str("selftext")?.unwrap_or("")
    };
    let removed_submission = !is_comment && data.get("removed_by_category").is_some();
    let deleted = removed_submission || matches!(body.trim(), "[deleted]" | "[removed]");
    let (post_kind, text) = match (deleted, is_comment) {
        (true, _) => (PostKind::Delete, String::new()),
        (false, true) => (PostKind::Comment, body.to_string()),
        (false, false) => (PostKind::Post, join_title(data.opt_str("title")?, body)),
    };
    let author = match data.opt_str("author")? {
        Some("[deleted]") | None => None,
        Some(handle) => Some(Author {
            id: data.opt_str("author_fullname")?.map(str::to_string),
            handle: Some(handle.to_string()),
            followers: None,
        }),
    };
    let url = match data.opt_str("permalink")? {
        Some(permalink) if permalink.starts_with('/') => {
            Some(format!("https://www.reddit.com{permalink}"))
        }
        Some(permalink) => Some(permalink.to_string()),
        None => data.opt_str("url")?.map(str::to_string),
    };
    let parent_id = if is_comment {
        data.opt_str("parent_id")?.map(str::to_string)
    } else {
        None
    };
    let metrics = PostMetrics {
        likes: data.opt_count("score")?.unwrap_or(0),
        reposts: data.opt_count("num_crossposts")?.unwrap_or(0),
        replies: data.opt_count("num_comments")?.unwrap_or(0),
    };
    finish(Post {
        v: WIRE_VERSION,
        source: SOURCE.to_string(),
        source_id: name.to_string(),
        kind: post_kind,
        created_at,
        author: if deleted { None } else { author },
        text,
        lang: None,
        url,
        parent_id,
        metrics: (!deleted).then_some(metrics),
        rating: None,
    })
    .map(Some)
}
