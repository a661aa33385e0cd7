//! Hacker News through the Algolia search API (`/api/v1/search_by_date`): hits → canonical posts.
//!
//! Guarantees:
//! * A hit tagged `comment` is a `comment` whose text is `comment_text` as plain text and whose
//!   `parent_id` is the parent item id; any other hit (story, ask, show, poll, job) is a `post`
//!   whose text is the title, then `story_text` as plain text.
//! * `source_id` is the item id (`objectID`); the URL is the story's link when it has one, else
//!   the item's page on news.ycombinator.com. `points` become likes, `num_comments` replies.
//! * `created_at` is `created_at_i` (epoch seconds), else `created_at`; a hit with neither is
//!   rejected on its own. The cursor is the largest `created_at_i` of the page, for the next
//!   `numericFilters=created_at_i>…` request; the caller keeps its old cursor when it is `None`.
//! * A hit without any text (a deleted comment) is rejected, with the reason.

use crate::json::{self, as_obj, from_epoch_seconds, Obj};
use crate::text::{html_to_text, join_title};
use crate::{finish, Batch, ParseError};
use serde_json::Value;
use tidewatch_model::{Author, Post, PostKind, PostMetrics, WIRE_VERSION};

pub const SOURCE: &str = "hackernews";

/// Paging values of a search response besides the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paging {
    /// `page` of this response (0-based) and `nbPages`, when present.
    pub page: Option<u64>,
    pub pages: Option<u64>,
}

/// One search response. The batch cursor is the largest `created_at_i` seen.
pub fn parse_search(body: &[u8]) -> Result<(Batch<i64>, Paging), ParseError> {
    let value = json::parse(body)?;
    let response = as_obj(&value, "")?;
    let hits = response
        .opt_array("hits")?
        .ok_or_else(|| ParseError::Missing("hits".to_string()))?;
    let paging = Paging {
        page: response.opt_count("page")?,
        pages: response.opt_count("nbPages")?,
    };
    let mut batch = Batch::default();
    for (index, hit) in hits.iter().enumerate() {
        if let Some(Value::Number(seconds)) = hit.get("created_at_i") {
            if let Some(seconds) = seconds.as_i64() {
                batch.cursor = Some(
                    batch
                        .cursor
                        .map_or(seconds, |cursor: i64| cursor.max(seconds)),
                );
            }
        }
        let path = format!("hits[{index}]");
        let outcome = as_obj(hit, path).and_then(|hit| hit_to_post(&hit));
        batch.push(index, outcome.map(Some));
    }
    Ok((batch, paging))
}

fn hit_to_post(hit: &Obj<'_>) -> Result<Post, ParseError> {
    let id = match hit.get("objectID") {
        Some(Value::Number(number)) => number.to_string(),
        _ => hit.id("objectID")?.to_string(),
    };
    let created_at = match hit.opt_i64("created_at_i")? {
        Some(seconds) => from_epoch_seconds(seconds as f64)
            .ok_or_else(|| ParseError::invalid(hit.at("created_at_i"), "is out of range"))?,
        None => hit
            .opt_time("created_at")?
            .ok_or_else(|| ParseError::Missing(hit.at("created_at_i")))?,
    };
    let is_comment = match hit.opt_array("_tags")? {
        Some(tags) => tags.iter().any(|tag| tag.as_str() == Some("comment")),
        None => hit.get("comment_text").is_some(),
    };
    let (kind, text, parent_id) = if is_comment {
        let text = html_to_text(hit.opt_str("comment_text")?.unwrap_or(""));
        let parent = match hit.get("parent_id") {
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => return Err(json::wrong(hit.at("parent_id"), "number", other)),
            None => None,
        };
        (PostKind::Comment, text, parent)
    } else {
        let body = html_to_text(hit.opt_str("story_text")?.unwrap_or(""));
        (
            PostKind::Post,
            join_title(hit.opt_str("title")?, &body),
            None,
        )
    };
    if text.trim().is_empty() {
        return Err(ParseError::invalid(
            hit.path.clone(),
            "has no text (deleted or dead item?)",
        ));
    }
    let url = match hit.opt_str("url")? {
        Some(url) if !is_comment && !url.is_empty() => url.to_string(),
        _ => format!("https://news.ycombinator.com/item?id={id}"),
    };
    finish(Post {
        v: WIRE_VERSION,
        source: SOURCE.to_string(),
        source_id: id,
        kind,
        created_at,
        author: hit.opt_str("author")?.map(|handle| Author {
            id: Some(handle.to_string()),
            handle: Some(handle.to_string()),
            followers: None,
        }),
        text,
        lang: None,
        url: Some(url),
        parent_id,
        metrics: Some(PostMetrics {
            likes: hit.opt_count("points")?.unwrap_or(0),
            reposts: 0,
            replies: hit.opt_count("num_comments")?.unwrap_or(0),
        }),
        rating: None,
    })
}
