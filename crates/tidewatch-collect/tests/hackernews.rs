//! Hacker News (Algolia) parser against the project's own fixture.

mod common;

use common::{assert_all_valid, fixture};
use tidewatch_collect::hackernews;
use tidewatch_model::PostKind;

#[test]
fn stories_comments_cursor_and_rejections() {
    let (batch, paging) = hackernews::parse_search(&fixture("hackernews_search.json")).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!(batch.posts.len(), 4, "{:?}", batch.rejected);
    assert_eq!(batch.cursor, Some(1_763_633_220));
    assert_eq!((paging.page, paging.pages), (Some(0), Some(1)));

    let story = &batch.posts[0];
    assert_eq!(story.source, "hackernews");
    assert_eq!(story.source_id, "41000001");
    assert_eq!(story.kind, PostKind::Post);
    assert_eq!(story.text, "Acme Air loses 3,000 bags");
    assert_eq!(story.url.as_deref(), Some("https://news.example/acme"));
    assert_eq!(story.created_at.timestamp(), 1_763_632_800);
    assert_eq!(story.metrics.unwrap().likes, 120);
    assert_eq!(story.metrics.unwrap().replies, 45);

    let ask = &batch.posts[1];
    assert_eq!(
        ask.text,
        "Ask HN: Anyone else stuck?\n\nStuck at JFK & no info.\n\nSecond para"
    );
    assert_eq!(
        ask.url.as_deref(),
        Some("https://news.ycombinator.com/item?id=41000002")
    );

    let comment = &batch.posts[2];
    assert_eq!(comment.kind, PostKind::Comment);
    assert_eq!(comment.parent_id.as_deref(), Some("41000001"));
    assert_eq!(comment.text, "Same here / terrible link");

    // No created_at_i: the ISO created_at is used.
    assert_eq!(batch.posts[3].source_id, "41000005");
    assert_eq!(
        batch.posts[3].created_at.to_rfc3339(),
        "2026-11-20T10:08:00+00:00"
    );

    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].index, 3);
    assert!(batch.rejected[0].error.to_string().contains("has no text"));
}

#[test]
fn bad_payloads() {
    let missing = hackernews::parse_search(br#"{"message":"invalid"}"#).unwrap_err();
    assert_eq!(missing.to_string(), "`hits` is missing");
    let wrong = hackernews::parse_search(br#"{"hits":{}}"#).unwrap_err();
    assert_eq!(wrong.kind(), "wrong_type");
    let item = br#"{"hits":[{"objectID":"1","created_at_i":"yesterday","title":"t"}]}"#;
    let (batch, _) = hackernews::parse_search(item).unwrap();
    assert_eq!(batch.posts.len(), 0);
    assert_eq!(
        batch.rejected[0].error.to_string(),
        "`hits[0].created_at_i` has the wrong type: expected integer, found string"
    );
    assert_eq!(
        hackernews::parse_search(b"{\"hits\":[").unwrap_err().kind(),
        "truncated"
    );
}
