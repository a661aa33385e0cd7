//! RSS 2.0 / Atom parser against the project's own fixtures.

mod common;

use common::{assert_all_valid, fixture, observed_at};
use tidewatch_collect::{rss, ParseError};
use tidewatch_model::PostKind;

#[test]
fn rss2_reviews_guid_dates_and_fallback() {
    let batch =
        rss::parse_feed(&fixture("rss2_reviews.xml"), "acme-reviews", observed_at()).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!(batch.posts.len(), 3, "{:?}", batch.rejected);

    let review = &batch.posts[0];
    assert_eq!(review.source, "rss");
    assert_eq!(review.source_id, "acme-reviews/review-1");
    assert_eq!(review.kind, PostKind::Review);
    assert_eq!(review.rating, Some(2.0));
    assert_eq!(
        review.text,
        "Two stars — late again\n\nDelayed four hours & no food.\n\nNever again."
    );
    assert_eq!(review.created_at.to_rfc3339(), "2026-11-19T22:00:00+00:00");
    assert_eq!(review.lang.as_deref(), Some("en-gb"));
    assert_eq!(
        review.author.as_ref().unwrap().handle.as_deref(),
        Some("Ana")
    );
    assert_eq!(
        review.url.as_deref(),
        Some("https://reviews.example/acme/1")
    );

    // No guid: the link is the id; content:encoded wins; the broken date falls back.
    let news = &batch.posts[1];
    assert_eq!(
        news.source_id,
        "acme-reviews/https://reviews.example/news/2"
    );
    assert_eq!(news.kind, PostKind::Post);
    assert_eq!(news.text, "News: new routes\n\nAcme adds three routes.");
    assert_eq!(news.created_at, observed_at());

    assert_eq!(
        batch.posts[2].created_at.to_rfc3339(),
        "2026-11-19T00:00:00+00:00"
    );
    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].index, 2);
}

#[test]
fn atom_entries() {
    let batch = rss::parse_feed(&fixture("atom_feed.xml"), "acme-status", observed_at()).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!(batch.posts.len(), 3);
    let first = &batch.posts[0];
    assert_eq!(first.source_id, "acme-status/urn:uuid:incident-1");
    assert_eq!(first.text, "Baggage delays at JFK\n\nWe are investigating.");
    assert_eq!(
        first.url.as_deref(),
        Some("https://status.example/incidents/1")
    );
    assert_eq!(first.created_at.to_rfc3339(), "2026-11-20T14:00:00+00:00");
    assert_eq!(first.lang.as_deref(), Some("en"));
    let author = first.author.as_ref().unwrap();
    assert_eq!(author.handle.as_deref(), Some("Ops"));
    assert_eq!(author.id.as_deref(), Some("https://status.example/ops"));
    let second = &batch.posts[1];
    assert_eq!(second.text, "Resolved\n\nAll clear.");
    assert_eq!(second.created_at, observed_at());
    let xhtml = &batch.posts[2];
    assert_eq!(
        xhtml.text,
        "Update\n\nBags are moving again.\n\nThanks…\nOps"
    );
}

#[test]
fn bad_documents() {
    let fallback = observed_at();
    assert_eq!(
        rss::parse_feed(b"", "f", fallback).unwrap_err(),
        ParseError::Empty
    );
    let truncated = rss::parse_feed(b"<rss><channel><item><title>x", "f", fallback).unwrap_err();
    assert_eq!(truncated.kind(), "truncated", "{truncated}");
    let mismatched = rss::parse_feed(b"<rss><channel></item></rss>", "f", fallback).unwrap_err();
    assert_eq!(mismatched.kind(), "not_xml", "{mismatched}");
    let html = rss::parse_feed(b"<html><body>502</body></html>", "f", fallback).unwrap_err();
    assert_eq!(html.kind(), "unsupported");
    let json = rss::parse_feed(br#"{"items":[]}"#, "f", fallback).unwrap_err();
    assert!(
        matches!(json.kind(), "not_xml" | "unsupported" | "empty"),
        "{json}"
    );
    let bad_rating =
        br#"<rss><channel><item><guid>1</guid><im:rating>many</im:rating></item></channel></rss>"#;
    let batch = rss::parse_feed(bad_rating, "f", fallback).unwrap();
    assert_eq!(batch.rejected[0].error.kind(), "invalid_field");
}

#[test]
fn date_forms() {
    for (text, expected) in [
        ("Tue, 10 Jun 2003 04:00:00 GMT", "2003-06-10T04:00:00+00:00"),
        (
            "Mon, 29 Jun 2020 01:41:48 +1200",
            "2020-06-28T13:41:48+00:00",
        ),
        ("2021-02-19T00:07:45-07:00", "2021-02-19T07:07:45+00:00"),
        ("2021-02-19 00:07:45", "2021-02-19T00:07:45+00:00"),
        (
            "Sat, 18 Sep 2016 13:23:28 +1200",
            "2016-09-18T01:23:28+00:00",
        ),
    ] {
        assert_eq!(
            rss::parse_date(text).unwrap().to_rfc3339(),
            expected,
            "{text}"
        );
    }
    assert_eq!(rss::parse_date("yesterday"), None);
}
