//! CSV export: RFC 4180 quoting, a header row, and protection against spreadsheet formulas.
//!
//! Guarantees: every field that holds a comma, quote, CR or LF is quoted with quotes doubled;
//! a text field starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so that opening
//! an export in a spreadsheet never runs a formula from a post (numbers are written as numbers).
//! Pure: no IO.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use tidewatch_model::format_timestamp;
use tidewatch_store::{StoredPost, TrendBucket};

/// One CSV field from user-controlled text.
pub(crate) fn text_field(text: &str) -> String {
    let needs_guard = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let guarded = if needs_guard {
        format!("'{text}")
    } else {
        text.to_string()
    };
    quoted_if_needed(&guarded)
}

fn quoted_if_needed(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        return format!("\"{}\"", text.replace('"', "\"\""));
    }
    text.to_string()
}

fn optional_number<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

pub(crate) const TREND_HEADER: &[&str] = &[
    "bucket",
    "group",
    "posts",
    "negative",
    "neutral",
    "positive",
    "negative_share",
    "neutral_share",
    "positive_share",
    "mean_compound",
    "distinct_authors",
];

pub(crate) fn trend_row(bucket: &TrendBucket) -> Vec<String> {
    vec![
        format_timestamp(&bucket.bucket),
        text_field(&bucket.group),
        bucket.posts.to_string(),
        bucket.negative.to_string(),
        bucket.neutral.to_string(),
        bucket.positive.to_string(),
        bucket.negative_share.to_string(),
        bucket.neutral_share.to_string(),
        bucket.positive_share.to_string(),
        optional_number(bucket.mean_compound),
        bucket.distinct_authors.to_string(),
    ]
}

pub(crate) const POST_HEADER: &[&str] = &[
    "source",
    "source_id",
    "kind",
    "created_at",
    "author_handle",
    "author_followers",
    "text",
    "lang",
    "lang_detected",
    "url",
    "parent_id",
    "likes",
    "reposts",
    "replies",
    "rating",
    "compound",
    "label",
    "watches",
];

pub(crate) fn post_row(post: &StoredPost) -> Vec<String> {
    let text = |value: &Option<String>| text_field(value.as_deref().unwrap_or(""));
    vec![
        text_field(&post.source),
        text_field(&post.source_id),
        text_field(&post.kind),
        format_timestamp(&post.created_at),
        text(&post.author_handle),
        optional_number(post.author_followers),
        text_field(&post.text),
        text(&post.lang),
        text(&post.lang_detected),
        text(&post.url),
        text(&post.parent_id),
        post.likes.to_string(),
        post.reposts.to_string(),
        post.replies.to_string(),
        optional_number(post.rating),
        optional_number(post.compound),
        text_field(&post.label),
        text_field(&post.watches.join(";")),
    ]
}

/// The whole document: header, then one line per row, CRLF line ends.
pub(crate) fn document(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

pub(crate) fn response(filename: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quotes_and_guards_fields() {
        assert_eq!(text_field("plain"), "plain");
        assert_eq!(text_field("a,b"), "\"a,b\"");
        assert_eq!(text_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(text_field("-1,2"), "\"'-1,2\"");
        assert_eq!(
            document(&["a", "b"], vec![vec!["1".into(), "2".into()]].into_iter()),
            "a,b\r\n1,2\r\n"
        );
    }

    /// Splits one CSV line as a reader would (no newlines inside fields in this property).
    fn split_line(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut in_quotes = false;
        let mut chars = line.chars().peekable();
        while let Some(character) = chars.next() {
            match (character, in_quotes) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    fields.last_mut().unwrap().push('"');
                }
                ('"', _) => in_quotes = !in_quotes,
                (',', false) => fields.push(String::new()),
                (other, _) => fields.last_mut().unwrap().push(other),
            }
        }
        fields
    }

    proptest! {
        #[test]
        fn fields_read_back_as_written(values in proptest::collection::vec("[^\r\n]{0,12}", 1..5)) {
            let line: Vec<String> = values.iter().map(|value| text_field(value)).collect();
            let read = split_line(&line.join(","));
            prop_assert_eq!(read.len(), values.len());
            for (read, value) in read.iter().zip(&values) {
                let unguarded = read.strip_prefix('\'').filter(|_| value.starts_with(['=', '+', '-', '@', '\t'])).unwrap_or(read);
                prop_assert_eq!(unguarded, value.as_str());
            }
        }
    }
}
