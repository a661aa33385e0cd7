//! RSS 2.0 (and RSS 1.0) and Atom feeds → canonical posts, read with quick-xml.
//!
//! Guarantees:
//! * The root element decides the format: `rss` or `rdf:RDF` → items are `item`; `feed` → items
//!   are `entry`. Anything else is [`ParseError::Unsupported`]; malformed XML is
//!   [`ParseError::NotXml`] with the byte position, and a document that ends inside an element
//!   is [`ParseError::Truncated`].
//! * `source_id` is `<feed key>/<guid>`, with the GUID (RSS `guid`, Atom `id`), else the link;
//!   an item with neither is rejected on its own. GUIDs are unique only within a feed in
//!   practice, so the feed is part of the id; the collector passes [`feed_key`] of the feed URL
//!   (its canonical form), so that renaming a source, or two sources on one feed, or `http`
//!   versus `https`, give the same ids.
//! * The text is the title, then the body as plain text: RSS `content:encoded` or
//!   `description`, Atom `content` (a `type="text"` content wins over an HTML one, then
//!   `summary`). HTML is turned into text, CDATA included.
//! * Dates: RSS `pubDate` (RFC 2822) or `dc:date`, Atom `published` then `updated` (RFC 3339);
//!   a weekday that does not match the date is ignored; date-only and zone-less forms are read
//!   as UTC. **Fallback**: when an item has no date, or
//!   one that none of these forms parse, `created_at` is the `fallback` the caller passes (the
//!   time it first saw the item), since a parser has no clock.
//! * An item with a rating is a `review` with that rating; others are `post`s. A rating is an
//!   element whose local name (whatever its namespace prefix) is `rating`, `memberRating`,
//!   `starRating` or `ratingValue` (App Store `im:rating`, Letterboxd `letterboxd:memberRating`,
//!   `review:rating`, schema.org `ratingValue`), read from its text or, for an empty element,
//!   its `value` / `average` attribute (`<gd:rating value="4"/>`, `<media:starRating
//!   average="4.5"/>`). `lang` is the channel `language` or the feed's `xml:lang`.

use crate::text::{html_to_text, join_title};
use crate::{finish, Batch, ParseError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use tidewatch_model::{Author, Post, PostKind, WIRE_VERSION};

pub const SOURCE: &str = "rss";

/// One feed item as read, before it becomes a post (shared with the App Store Atom reader).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FeedItem {
    pub(crate) id: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) link: Option<String>,
    /// Body and whether it is HTML.
    pub(crate) body: Option<(String, bool)>,
    pub(crate) summary: Option<(String, bool)>,
    pub(crate) published: Option<String>,
    pub(crate) updated: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) author_uri: Option<String>,
    pub(crate) rating: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Feed {
    pub(crate) language: Option<String>,
    pub(crate) items: Vec<FeedItem>,
}

/// The canonical form of a feed URL, the feed part of every `source_id`: no scheme, host in
/// lower case without `www.`, no default port, no fragment, no trailing slash, the query as
/// sent. A URL that does not parse is used as written (trimmed).
pub fn feed_key(feed_url: &str) -> String {
    let Ok(url) = reqwest::Url::parse(feed_url.trim()) else {
        return feed_url.trim().to_string();
    };
    let host = url.host_str().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut key = host.to_string();
    if let Some(port) = url.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push_str(url.path().trim_end_matches('/'));
    if let Some(query) = url.query().filter(|query| !query.is_empty()) {
        key.push('?');
        key.push_str(query);
    }
    key
}

/// Parses one feed document. `feed_key` prefixes each `source_id`; `fallback` dates items
/// whose date is missing or broken.
pub fn parse_feed(
    xml: &[u8],
    feed_key: &str,
    fallback: DateTime<Utc>,
) -> Result<Batch<()>, ParseError> {
    let feed = read_feed(xml)?;
    let mut batch = Batch::default();
    for (index, item) in feed.items.iter().enumerate() {
        let outcome = item_to_post(item, feed_key, feed.language.as_deref(), fallback);
        batch.push(index, outcome.map(Some));
    }
    Ok(batch)
}

fn item_to_post(
    item: &FeedItem,
    feed_key: &str,
    language: Option<&str>,
    fallback: DateTime<Utc>,
) -> Result<Post, ParseError> {
    let guid = item
        .id
        .as_deref()
        .or(item.link.as_deref())
        .ok_or_else(|| ParseError::Missing("item guid, id or link".to_string()))?;
    let rating = parse_rating(item.rating.as_deref())?;
    finish(Post {
        v: WIRE_VERSION,
        source: SOURCE.to_string(),
        source_id: format!("{feed_key}/{guid}"),
        kind: if rating.is_some() {
            PostKind::Review
        } else {
            PostKind::Post
        },
        created_at: item.date().unwrap_or(fallback),
        author: item.author(),
        text: item.text(),
        lang: language.map(str::to_string),
        url: item.link.clone(),
        parent_id: None,
        metrics: None,
        rating,
    })
}

pub(crate) fn parse_rating(rating: Option<&str>) -> Result<Option<f32>, ParseError> {
    match rating {
        None => Ok(None),
        Some(text) => match text.trim().parse::<f32>() {
            Ok(value) if value.is_finite() => Ok(Some(value)),
            _ => Err(ParseError::invalid(
                "rating",
                format!("{text:?} is not a number"),
            )),
        },
    }
}

impl FeedItem {
    pub(crate) fn text(&self) -> String {
        let body = match self.body.as_ref().or(self.summary.as_ref()) {
            Some((text, true)) => html_to_text(text),
            Some((text, false)) => text.trim().to_string(),
            None => String::new(),
        };
        join_title(self.title.as_deref(), &body)
    }

    pub(crate) fn date(&self) -> Option<DateTime<Utc>> {
        [&self.published, &self.updated]
            .into_iter()
            .flatten()
            .find_map(|text| parse_date(text))
    }

    pub(crate) fn author(&self) -> Option<Author> {
        self.author.as_ref().map(|name| Author {
            id: self.author_uri.clone(),
            handle: Some(name.clone()),
            followers: None,
        })
    }
}

/// RFC 3339, RFC 2822, then date-only and zone-less forms read as UTC.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    if let Ok(time) = DateTime::parse_from_rfc2822(text) {
        return Some(time.with_timezone(&Utc));
    }
    // A weekday that does not match the date ("Sat, 18 Sep 2016" was a Sunday) is common in
    // hand-made feeds: the date itself wins.
    if let Some((_, rest)) = text.split_once(", ").filter(|(day, _)| day.len() <= 9) {
        if let Ok(time) = DateTime::parse_from_rfc2822(rest) {
            return Some(time.with_timezone(&Utc));
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
}

/// Reads the items of an RSS or Atom document.
pub(crate) fn read_feed(xml: &[u8]) -> Result<Feed, ParseError> {
    if xml.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let mut reader = Reader::from_reader(xml);
    let mut feed = Feed::default();
    let mut stack: Vec<String> = Vec::new();
    let mut item: Option<FeedItem> = None;
    let mut item_depth = 0;
    let mut text = String::new();
    let mut content_is_html = false;
    let mut seen_root = false;
    // Depth of an Atom `type="xhtml"` content element being read: its child elements are
    // written back into the text as tags, for the HTML-to-text step.
    let mut xhtml_depth: Option<usize> = None;
    let not_xml = |error: quick_xml::Error, position: u64| {
        ParseError::NotXml(format!("at byte {position}: {error}"))
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|error| not_xml(error, reader.error_position()))?;
        match event {
            Event::Start(start) if xhtml_depth.is_some() => {
                let name = qname(&start);
                text.push_str(&format!("<{name}>"));
                stack.push(name);
            }
            Event::Empty(start) if xhtml_depth.is_some() => {
                text.push_str(&format!("<{}/>", qname(&start)));
            }
            Event::Start(start) => {
                let name = qname(&start);
                if stack.is_empty() {
                    if seen_root {
                        return Err(ParseError::NotXml("a second root element".to_string()));
                    }
                    seen_root = true;
                    check_root(&name)?;
                    feed.language = attribute(&start, b"xml:lang");
                }
                text.clear();
                content_is_html = is_html(&start);
                if item.is_none() && (name == "item" || name == "entry") {
                    item = Some(FeedItem::default());
                    item_depth = stack.len() + 1;
                } else if let Some(item) = item.as_mut() {
                    link(item, &name, &start);
                    rating_attribute(item, &name, &start);
                    if attribute(&start, b"type").as_deref() == Some("xhtml") {
                        xhtml_depth = Some(stack.len() + 1);
                    }
                }
                stack.push(name);
            }
            Event::Empty(start) => {
                if stack.is_empty() {
                    return Err(ParseError::Unsupported(
                        "the document is one empty element".into(),
                    ));
                }
                if let Some(item) = item.as_mut() {
                    let name = qname(&start);
                    link(item, &name, &start);
                    rating_attribute(item, &name, &start);
                }
            }
            Event::Text(content) => {
                text.push_str(
                    &content
                        .decode()
                        .map_err(|error| ParseError::NotXml(error.to_string()))?,
                );
            }
            Event::CData(data) => text.push_str(&String::from_utf8_lossy(&data.into_inner())),
            Event::GeneralRef(reference) => {
                let name = reference
                    .decode()
                    .map_err(|error| ParseError::NotXml(error.to_string()))?;
                match reference.resolve_char_ref() {
                    Ok(Some(letter)) => text.push(letter),
                    _ => match name.as_ref() {
                        "amp" => text.push('&'),
                        "lt" => text.push('<'),
                        "gt" => text.push('>'),
                        "quot" => text.push('"'),
                        "apos" => text.push('\''),
                        // Kept as written; HTML fields decode it later.
                        other => text.push_str(&format!("&{other};")),
                    },
                }
            }
            Event::End(_) => {
                let Some(name) = stack.pop() else {
                    return Err(ParseError::NotXml(
                        "closing tag without an opening one".into(),
                    ));
                };
                if xhtml_depth.is_some_and(|depth| stack.len() >= depth) {
                    text.push_str(&format!("</{name}>"));
                    continue;
                }
                if xhtml_depth.take().is_some() {
                    content_is_html = true;
                }
                let value = std::mem::take(&mut text);
                if stack.len() + 1 == item_depth && item.is_some() {
                    feed.items.extend(item.take());
                } else if let Some(item) = item.as_mut() {
                    let parent = stack.last().map(String::as_str).unwrap_or("");
                    assign(item, &name, parent, value, content_is_html);
                } else if name == "language" && feed.language.is_none() {
                    feed.language = Some(value.trim().to_string()).filter(|lang| !lang.is_empty());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match stack.last() {
        Some(open) => Err(ParseError::Truncated(format!(
            "the document ends inside <{open}>"
        ))),
        None if !seen_root => Err(ParseError::NotXml(
            "no root element: this is not an XML document".to_string(),
        )),
        None => Ok(feed),
    }
}

fn check_root(name: &str) -> Result<(), ParseError> {
    match name {
        "rss" | "rdf:RDF" | "feed" => Ok(()),
        other => Err(ParseError::Unsupported(format!(
            "root element <{other}> is neither an RSS <rss> nor an Atom <feed>"
        ))),
    }
}

fn qname(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.name().as_ref()).into_owned()
}

fn attribute(start: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|attribute| attribute.key.as_ref() == key)
        .and_then(|attribute| {
            attribute
                .unescape_value()
                .ok()
                .map(|value| value.into_owned())
        })
}

fn is_html(start: &BytesStart<'_>) -> bool {
    matches!(
        attribute(start, b"type").as_deref(),
        Some("html" | "xhtml" | "text/html")
    )
}

/// Whether `name` (with any namespace prefix) is a rating element.
fn is_rating(name: &str) -> bool {
    let local = name.rsplit(':').next().unwrap_or(name);
    matches!(
        local,
        "rating" | "memberRating" | "starRating" | "ratingValue"
    )
}

/// `<gd:rating value="4"/>`, `<media:starRating average="4.5"/>`: a rating in an attribute.
fn rating_attribute(item: &mut FeedItem, name: &str, start: &BytesStart<'_>) {
    if item.rating.is_none() && is_rating(name) {
        item.rating = attribute(start, b"value").or_else(|| attribute(start, b"average"));
    }
}

/// Atom `<link href=… rel=…/>`: the alternate (or rel-less) link is the item's URL.
fn link(item: &mut FeedItem, name: &str, start: &BytesStart<'_>) {
    if name == "link" && item.link.is_none() {
        let rel = attribute(start, b"rel");
        if matches!(rel.as_deref(), None | Some("alternate")) {
            item.link = attribute(start, b"href");
        }
    }
}

fn assign(item: &mut FeedItem, name: &str, parent: &str, value: String, html: bool) {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return;
    }
    let owned = || Some(trimmed.to_string());
    match (name, parent) {
        ("name", "author") => item.author = owned(),
        ("uri", "author") => item.author_uri = owned(),
        ("guid" | "id", _) => item.id = owned(),
        ("title", _) => item.title = owned(),
        ("link", _) => item.link = item.link.take().or_else(owned),
        ("content:encoded", _) => item.body = Some((value, true)),
        ("description", _) => item.summary = Some((value, true)),
        // A plain-text content wins over an HTML one (App Store entries carry both).
        ("content", _) if !matches!(item.body, Some((_, false))) => item.body = Some((value, html)),
        ("summary", _) => item.summary = Some((value, html)),
        ("pubDate" | "published" | "dc:date", _) => item.published = owned(),
        ("updated", _) => item.updated = owned(),
        ("dc:creator" | "author", _) => item.author = item.author.take().or_else(owned),
        (rating, _) if is_rating(rating) => item.rating = owned(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn feed_keys_are_canonical() {
        let key = feed_key("https://WWW.Example.com:443/feed.xml/#top");
        assert_eq!(key, "example.com/feed.xml");
        assert_eq!(feed_key("http://example.com/feed.xml"), key);
        assert_eq!(
            feed_key("http://example.com:8080/f?x=1"),
            "example.com:8080/f?x=1"
        );
        assert_eq!(feed_key(" not a url "), "not a url");
    }

    #[test]
    fn ratings_in_any_prefix_and_in_attributes() {
        let xml = br#"<rss xmlns:a="urn:a" xmlns:gd="urn:gd" xmlns:media="urn:m"><channel>
            <item><guid>1</guid><title>t</title><a:rating>4</a:rating></item>
            <item><guid>2</guid><title>t</title><gd:rating value="2.5" max="5"/></item>
            <item><guid>3</guid><title>t</title><media:starRating average="3" count="9"></media:starRating></item>
            <item><guid>4</guid><title>t</title></item>
        </channel></rss>"#;
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let batch = parse_feed(xml, "f", at).unwrap();
        let ratings: Vec<Option<f32>> = batch.posts.iter().map(|post| post.rating).collect();
        assert_eq!(ratings, [Some(4.0), Some(2.5), Some(3.0), None]);
        assert_eq!(batch.posts[0].kind, PostKind::Review);
        assert_eq!(batch.posts[3].kind, PostKind::Post);
    }
}
