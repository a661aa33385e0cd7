//! App Store customer reviews: the iTunes RSS feed
//! (`/{cc}/rss/customerreviews/page={n}/id={app}/sortby=mostrecent/{json|xml}`) → reviews.
//!
//! Guarantees:
//! * Every entry with a star rating (`im:rating`) is a post of kind `review` with that rating;
//!   an entry without one (the app metadata entry that old feeds put first on page 1) gives
//!   nothing. `feed.entry` may be an array, a single object (one review) or absent (no reviews).
//! * `source_id` is the review id (`id.label`), the same in the JSON and the Atom feed, so the
//!   two shapes dedupe against each other. The text is the title, then the review body.
//!   The author handle is the reviewer's name and its id the reviewer's profile URL; helpful
//!   votes (`im:voteSum`) become likes.
//! * Both JSON shapes: with a per-entry `updated.label` it is `created_at`; the older shape has
//!   no per-entry date, and then `created_at` is the `fallback` the caller passes (the time it
//!   first saw the review: a parser has no clock, and the feed's own `updated` is the fetch
//!   time, not the review's). A broken per-entry date also falls back.
//! * The cursor of the JSON feed is the page number of its `next` link, when there is one
//!   (the feed stops at page 10).

use crate::json::{self, as_obj, Obj};
use crate::rss::{self, parse_rating};
use crate::{finish, Batch, ParseError};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tidewatch_model::{Author, Post, PostKind, PostMetrics, WIRE_VERSION};

pub const SOURCE: &str = "appstore";

/// The JSON feed. The cursor is the next page number.
pub fn parse_reviews_json(body: &[u8], fallback: DateTime<Utc>) -> Result<Batch<u32>, ParseError> {
    let value = json::parse(body)?;
    let root = as_obj(&value, "")?;
    let feed = root.obj("feed")?;
    let mut batch = Batch {
        cursor: next_page(&feed)?,
        ..Batch::default()
    };
    let entries: Vec<&Value> = match feed.get("entry") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries.iter().collect(),
        Some(entry @ Value::Object(_)) => vec![entry],
        Some(other) => return Err(json::wrong(feed.at("entry"), "array of entries", other)),
    };
    for (index, entry) in entries.into_iter().enumerate() {
        let outcome = as_obj(entry, format!("feed.entry[{index}]"))
            .and_then(|entry| entry_to_post(&entry, fallback));
        batch.push(index, outcome);
    }
    Ok(batch)
}

/// The Atom (XML) feed of the same reviews. It has no cursor here: the caller pages by number.
pub fn parse_reviews_atom(xml: &[u8], fallback: DateTime<Utc>) -> Result<Batch<u32>, ParseError> {
    let feed = rss::read_feed(xml)?;
    let mut batch = Batch::default();
    for (index, item) in feed.items.iter().enumerate() {
        let outcome = (|| {
            let Some(rating) = parse_rating(item.rating.as_deref())? else {
                return Ok(None);
            };
            let id = item
                .id
                .as_deref()
                .ok_or_else(|| ParseError::Missing(format!("entry[{index}].id")))?;
            finish(Post {
                v: WIRE_VERSION,
                source: SOURCE.to_string(),
                source_id: id.to_string(),
                kind: PostKind::Review,
                created_at: item.date().unwrap_or(fallback),
                author: item.author(),
                text: item.text(),
                lang: None,
                url: item.link.clone(),
                parent_id: None,
                metrics: None,
                rating: Some(rating),
            })
            .map(Some)
        })();
        batch.push(index, outcome);
    }
    Ok(batch)
}

/// `{"label": "…"}` at `key`, the shape of every value in this feed.
fn label<'a>(object: &Obj<'a>, key: &str) -> Result<Option<&'a str>, ParseError> {
    match object.opt_obj(key)? {
        Some(inner) => inner.opt_str("label"),
        None => Ok(None),
    }
}

fn entry_to_post(entry: &Obj<'_>, fallback: DateTime<Utc>) -> Result<Option<Post>, ParseError> {
    let Some(rating) = label(entry, "im:rating")? else {
        return Ok(None);
    };
    let rating = parse_rating(Some(rating)).map_err(|_| {
        ParseError::invalid(
            entry.at("im:rating.label"),
            format!("{rating:?} is not a number"),
        )
    })?;
    let id = label(entry, "id")?
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| ParseError::Missing(entry.at("id.label")))?;
    let created_at = label(entry, "updated")?
        .and_then(json::parse_rfc3339)
        .unwrap_or(fallback);
    let author = match entry.opt_obj("author")? {
        Some(author) => Some(Author {
            id: label(&author, "uri")?.map(str::to_string),
            handle: label(&author, "name")?.map(str::to_string),
            followers: None,
        }),
        None => None,
    };
    let likes = label(entry, "im:voteSum")?
        .and_then(|votes| votes.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let url = match entry.get("link") {
        Some(link @ Value::Object(_)) => as_obj(link, entry.at("link"))?
            .opt_obj("attributes")?
            .map(|attributes| attributes.opt_str("href"))
            .transpose()?
            .flatten()
            .map(str::to_string),
        _ => None,
    };
    let text = crate::text::join_title(
        label(entry, "title")?,
        label(entry, "content")?.unwrap_or(""),
    );
    finish(Post {
        v: WIRE_VERSION,
        source: SOURCE.to_string(),
        source_id: id.to_string(),
        kind: PostKind::Review,
        created_at,
        author,
        text,
        lang: None,
        url,
        parent_id: None,
        metrics: Some(PostMetrics {
            likes,
            reposts: 0,
            replies: 0,
        }),
        rating,
    })
    .map(Some)
}

/// The page number in the feed's `rel="next"` link (`…/page=3/…`).
fn next_page(feed: &Obj<'_>) -> Result<Option<u32>, ParseError> {
    let links: Vec<&Value> = match feed.get("link") {
        Some(Value::Array(links)) => links.iter().collect(),
        Some(link @ Value::Object(_)) => vec![link],
        _ => return Ok(None),
    };
    for link in links {
        let Some(attributes) = link.get("attributes") else {
            continue;
        };
        if attributes.get("rel").and_then(Value::as_str) != Some("next") {
            continue;
        }
        let href = attributes.get("href").and_then(Value::as_str).unwrap_or("");
        let page = href
            .split('/')
            .find_map(|part| part.strip_prefix("page="))
            .and_then(|number| number.parse::<u32>().ok());
        return Ok(page);
    }
    Ok(None)
}
