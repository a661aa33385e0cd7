//! App Store customer reviews parser against the project's own fixtures.

mod common;

use common::{assert_all_valid, fixture, observed_at};
use tidewatch_collect::appstore;
use tidewatch_model::PostKind;

#[test]
fn json_with_per_entry_updated() {
    let batch = appstore::parse_reviews_json(&fixture("appstore_with_updated.json"), observed_at())
        .unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!(batch.cursor, Some(2));
    assert_eq!(batch.posts.len(), 2);
    let review = &batch.posts[0];
    assert_eq!(review.source, "appstore");
    assert_eq!(review.source_id, "10001");
    assert_eq!(review.kind, PostKind::Review);
    assert_eq!(review.rating, Some(2.0));
    assert_eq!(review.text, "Title 1\n\nApp crashes on login, attempt 1.");
    assert_eq!(review.created_at.to_rfc3339(), "2026-11-21T17:25:34+00:00");
    let author = review.author.as_ref().unwrap();
    assert_eq!(author.handle.as_deref(), Some("user1"));
    assert_eq!(
        author.id.as_deref(),
        Some("https://itunes.apple.com/us/reviews/id901")
    );
    assert_eq!(review.metrics.unwrap().likes, 1);
    assert_eq!(batch.posts[1].rating, Some(5.0));
    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].index, 2);
    assert_eq!(
        batch.rejected[0].error.to_string(),
        "`feed.entry[2].im:rating.label` is invalid: \"lots\" is not a number"
    );
}

#[test]
fn json_without_updated_uses_the_fallback_and_skips_app_metadata() {
    let batch =
        appstore::parse_reviews_json(&fixture("appstore_without_updated.json"), observed_at())
            .unwrap();
    assert_all_valid(&batch.posts);
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    let ids: Vec<_> = batch
        .posts
        .iter()
        .map(|post| post.source_id.as_str())
        .collect();
    assert_eq!(ids, ["10004", "10005"]);
    assert!(batch
        .posts
        .iter()
        .all(|post| post.created_at == observed_at()));
    assert_eq!(batch.cursor, None);
}

#[test]
fn single_entry_object_and_empty_feed() {
    let batch = appstore::parse_reviews_json(&fixture("appstore_single_entry.json"), observed_at())
        .unwrap();
    assert_eq!(batch.posts.len(), 1);
    let empty = appstore::parse_reviews_json(br#"{"feed":{"author":{}}}"#, observed_at()).unwrap();
    assert!(empty.posts.is_empty() && empty.rejected.is_empty());
}

#[test]
fn atom_feed_of_reviews() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:im="http://itunes.apple.com/rss" xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>https://itunes.apple.com/us/rss/customerreviews/id=123/xml</id>
  <updated>2026-11-23T04:45:06-07:00</updated>
  <entry>
    <updated>2026-11-22T00:07:45-07:00</updated>
    <id>7012426549</id>
    <title>Crashes</title>
    <content type="text">Crashes &amp; freezes.</content>
    <im:rating>1</im:rating>
    <author><name>dee</name><uri>https://itunes.apple.com/us/reviews/id1</uri></author>
    <link rel="related" href="https://itunes.apple.com/us/review?id=123&amp;type=Purple%20Software"/>
    <content type="html">&lt;table&gt;&lt;tr&gt;&lt;td&gt;HTML copy&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;</content>
  </entry>
  <entry><id>app</id><title>Acme Air</title></entry>
</feed>"#;
    let batch = appstore::parse_reviews_atom(xml, observed_at()).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!(batch.posts.len(), 1);
    let review = &batch.posts[0];
    assert_eq!(review.source_id, "7012426549");
    assert_eq!(review.text, "Crashes\n\nCrashes & freezes.");
    assert_eq!(review.rating, Some(1.0));
    assert_eq!(review.created_at.to_rfc3339(), "2026-11-22T07:07:45+00:00");
}

#[test]
fn bad_payloads() {
    let fallback = observed_at();
    assert_eq!(
        appstore::parse_reviews_json(br#"{"feed":{"entry":"none"}}"#, fallback)
            .unwrap_err()
            .to_string(),
        "`feed.entry` has the wrong type: expected array of entries, found string"
    );
    assert_eq!(
        appstore::parse_reviews_json(br#"{"nofeed":1}"#, fallback)
            .unwrap_err()
            .to_string(),
        "`feed` is missing"
    );
    assert_eq!(
        appstore::parse_reviews_json(br#"{"feed":{"entry":[{"#, fallback)
            .unwrap_err()
            .kind(),
        "truncated"
    );
}
