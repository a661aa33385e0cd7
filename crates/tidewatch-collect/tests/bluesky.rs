//! Bluesky Jetstream parser against the project's own fixtures.

mod common;

use common::{assert_valid, fixture};
use tidewatch_collect::bluesky::{self, JetstreamEvent};
use tidewatch_collect::ParseError;
use tidewatch_model::PostKind;

fn events() -> Vec<JetstreamEvent> {
    let body = fixture("bluesky_events.jsonl");
    body.split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| bluesky::parse_event(line).unwrap())
        .collect()
}

#[test]
fn create_reply_update_delete_and_other_events() {
    let events = events();
    assert_eq!(events.len(), 6);
    let cursors: Vec<i64> = events.iter().map(|event| event.time_us).collect();
    assert_eq!(cursors[0], 1_763_600_000_000_001);
    assert!(cursors.windows(2).all(|pair| pair[0] < pair[1]));
    for post in events.iter().filter_map(|event| event.post.as_ref()) {
        assert_valid(post);
    }

    let post = events[0].post.as_ref().unwrap();
    assert_eq!(post.source, "bluesky");
    assert_eq!(post.source_id, "at://did:plc:aaaa/app.bsky.feed.post/3kaaa");
    assert_eq!(post.kind, PostKind::Post);
    assert_eq!(post.lang.as_deref(), Some("en"));
    assert_eq!(post.text, "My bags never arrived. Thanks for nothing.");
    assert_eq!(post.created_at.to_rfc3339(), "2026-11-20T10:00:00+00:00");
    assert_eq!(
        post.author.as_ref().unwrap().id.as_deref(),
        Some("did:plc:aaaa")
    );
    assert_eq!(
        post.url.as_deref(),
        Some("https://bsky.app/profile/did:plc:aaaa/post/3kaaa")
    );

    let reply = events[1].post.as_ref().unwrap();
    assert_eq!(reply.kind, PostKind::Reply);
    assert_eq!(reply.parent_id.as_deref(), Some(post.source_id.as_str()));
    // createdAt is broken: the receive time stands in.
    assert_eq!(reply.created_at.timestamp_micros(), 1_763_600_000_000_002);

    let update = events[2].post.as_ref().unwrap();
    assert_eq!(update.source_id, post.source_id);
    assert_eq!(update.text, "My bags arrived after all.");

    let delete = events[3].post.as_ref().unwrap();
    assert_eq!(delete.kind, PostKind::Delete);
    assert_eq!(delete.source_id, post.source_id);
    assert!(delete.text.is_empty());

    assert!(events[4].post.is_none(), "a like is not a post");
    assert!(events[5].post.is_none(), "an identity event is not a post");
}

#[test]
fn legacy_wrong_typed_and_truncated_events() {
    let legacy = br#"{"did":"did:plc:x","time_us":1725516666833633,"type":"com","commit":{"rev":"r","type":"d","collection":"app.bsky.feed.post","rkey":"k"}}"#;
    assert!(matches!(
        bluesky::parse_event(legacy),
        Err(ParseError::Unsupported(_))
    ));
    let wrong = br#"{"did":"did:plc:x","time_us":"soon","kind":"commit"}"#;
    assert_eq!(
        bluesky::parse_event(wrong).unwrap_err().to_string(),
        "`time_us` has the wrong type: expected integer, found string"
    );
    let no_record = br#"{"did":"did:plc:x","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"k"}}"#;
    assert_eq!(
        bluesky::parse_event(no_record).unwrap_err(),
        ParseError::Missing("commit.record".into())
    );
    let truncated = br#"{"did":"did:plc:x","time_us":17"#;
    assert_eq!(
        bluesky::parse_event(truncated).unwrap_err().kind(),
        "truncated"
    );
    let bad_op = br#"{"did":"d","time_us":1,"kind":"commit","commit":{"operation":"move","collection":"app.bsky.feed.post","rkey":"k"}}"#;
    assert_eq!(
        bluesky::parse_event(bad_op).unwrap_err().kind(),
        "invalid_field"
    );
}
