//! Reddit listing parser against the project's own fixtures.

mod common;

use common::{assert_all_valid, fixture};
use tidewatch_collect::reddit;
use tidewatch_model::PostKind;

#[test]
fn listing_posts_comments_deletes_and_after() {
    let batch = reddit::parse_listing(&fixture("reddit_listing.json")).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!(batch.cursor.as_deref(), Some("t1_c3"));
    assert_eq!(batch.posts.len(), 4, "{:?}", batch.rejected);

    let post = &batch.posts[0];
    assert_eq!(post.source, "reddit");
    assert_eq!(post.source_id, "t3_p1");
    assert_eq!(post.kind, PostKind::Post);
    assert_eq!(
        post.text,
        "Acme Air support is useless\n\nThey lost my bags & nobody answers."
    );
    assert_eq!(
        post.url.as_deref(),
        Some("https://www.reddit.com/r/flying/comments/p1/acme_air_support_is_useless/")
    );
    assert_eq!(post.author.as_ref().unwrap().id.as_deref(), Some("t2_aa"));
    assert_eq!(post.metrics.unwrap().likes, 57);
    assert_eq!(post.created_at.timestamp(), 1_763_632_800);

    let comment = &batch.posts[1];
    assert_eq!(comment.kind, PostKind::Comment);
    assert_eq!(comment.parent_id.as_deref(), Some("t3_p1"));
    assert_eq!(comment.created_at.timestamp_millis(), 1_763_632_900_500);

    let removed = &batch.posts[2];
    assert_eq!(removed.kind, PostKind::Delete);
    assert_eq!(removed.source_id, "t1_c2");
    assert!(removed.text.is_empty() && removed.author.is_none());

    let removed_link = &batch.posts[3];
    assert_eq!(
        (removed_link.source_id.as_str(), removed_link.kind),
        ("t3_p9", PostKind::Delete)
    );

    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].index, 3);
    assert_eq!(
        batch.rejected[0].error.to_string(),
        "`data.children[3].data.created_utc` is missing"
    );
}

#[test]
fn comments_endpoint_walks_nested_replies() {
    let batch = reddit::parse_listing(&fixture("reddit_comments.json")).unwrap();
    assert_all_valid(&batch.posts);
    let ids: Vec<_> = batch
        .posts
        .iter()
        .map(|post| post.source_id.as_str())
        .collect();
    assert_eq!(ids, ["t3_p2", "t1_d1", "t1_d2"]);
    assert_eq!(batch.posts[0].text, "Bags lost");
    assert_eq!(batch.posts[2].kind, PostKind::Delete);
    assert_eq!(batch.cursor, None);
}

#[test]
fn bad_payloads() {
    let wrong = reddit::parse_listing(br#"{"kind":"t3","data":{}}"#).unwrap_err();
    assert_eq!(wrong.kind(), "invalid_field");
    let missing = reddit::parse_listing(br#"{"kind":"Listing","data":{}}"#).unwrap_err();
    assert_eq!(missing.to_string(), "`data.children` is missing");
    let html =
        reddit::parse_listing(b"<!doctype html><title>Too Many Requests</title>").unwrap_err();
    assert_eq!(html.kind(), "not_json");
}
