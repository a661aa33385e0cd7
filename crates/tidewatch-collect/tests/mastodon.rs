//! Mastodon parser against the project's own fixtures.

mod common;

use common::{assert_all_valid, assert_valid, fixture, observed_at};
use tidewatch_collect::mastodon::{self, StreamEvent};
use tidewatch_collect::ParseError;
use tidewatch_model::PostKind;

const HOST: &str = "social.example";

#[test]
fn timeline_posts_replies_reposts_and_a_bad_item() {
    let batch = mastodon::parse_timeline(HOST, &fixture("mastodon_timeline.json")).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!(batch.posts.len(), 3);
    assert_eq!(batch.cursor.as_deref(), Some("113000000000000011"));

    let post = &batch.posts[0];
    assert_eq!(post.source, "mastodon");
    assert_eq!(post.source_id, "social.example/113000000000000002");
    assert_eq!(post.kind, PostKind::Post);
    assert_eq!(
        post.text,
        "airline rant\n\nFlight & bags \"lost\" again\n\nsee https://x.example/a\nnever again"
    );
    assert_eq!(post.lang.as_deref(), Some("en"));
    let author = post.author.as_ref().unwrap();
    assert_eq!(author.id.as_deref(), Some("social.example/42"));
    assert_eq!(author.followers, Some(812));
    let metrics = post.metrics.unwrap();
    assert_eq!((metrics.likes, metrics.reposts, metrics.replies), (3, 2, 1));

    let reply = &batch.posts[1];
    assert_eq!(reply.kind, PostKind::Reply);
    assert_eq!(
        reply.parent_id.as_deref(),
        Some("social.example/113000000000000002")
    );
    assert_eq!(reply.text, "@ana same here");
    assert_eq!(
        reply.author.as_ref().unwrap().handle.as_deref(),
        Some("bo@other.example")
    );

    let repost = &batch.posts[2];
    assert_eq!(repost.kind, PostKind::Repost);
    assert_eq!(repost.source_id, "social.example/113000000000000011");
    assert_eq!(
        repost.parent_id.as_deref(),
        Some("social.example/113000000000000002")
    );
    assert_eq!(repost.text, "Flight bags lost again");
    assert_eq!(repost.lang.as_deref(), Some("en"));

    assert_eq!(batch.rejected.len(), 1);
    assert_eq!(batch.rejected[0].index, 3);
    assert_eq!(
        batch.rejected[0].error,
        ParseError::Missing("[3].created_at".into())
    );
}

#[test]
fn sse_stream_update_edit_delete() {
    let body = String::from_utf8(fixture("mastodon_stream.txt")).unwrap();
    let events = mastodon::parse_sse_stream(HOST, &body, observed_at());
    assert_eq!(events.len(), 5, "{events:?}");
    let StreamEvent::Update(first) = events[0].as_ref().unwrap() else {
        panic!("{:?}", events[0])
    };
    let StreamEvent::Edit(edit) = events[1].as_ref().unwrap() else {
        panic!("{:?}", events[1])
    };
    assert_eq!(first.source_id, edit.source_id);
    assert_eq!(first.created_at, edit.created_at);
    assert_eq!(
        (first.text.as_str(), edit.text.as_str()),
        ("first version", "second version")
    );
    let StreamEvent::Delete(delete) = events[2].as_ref().unwrap() else {
        panic!("{:?}", events[2])
    };
    assert_valid(delete);
    assert_eq!(delete.kind, PostKind::Delete);
    assert_eq!(delete.source_id, first.source_id);
    assert_eq!(delete.created_at, observed_at());
    assert_eq!(events[3], Ok(StreamEvent::Ignored("notification".into())));
    assert!(
        matches!(events[4], Err(ParseError::Truncated(_))),
        "{:?}",
        events[4]
    );
}

#[test]
fn websocket_envelope_with_string_payload() {
    let status = r#"{"id":"7","created_at":"2026-11-20T10:00:00Z","content":"<p>hi</p>"}"#;
    let message =
        serde_json::json!({"stream":["public"],"event":"update","payload":status}).to_string();
    let event = mastodon::parse_websocket_message(HOST, message.as_bytes(), observed_at()).unwrap();
    let StreamEvent::Update(post) = event else {
        panic!("{event:?}")
    };
    assert_eq!(
        (post.source_id.as_str(), post.text.as_str()),
        ("social.example/7", "hi")
    );

    let delete = br#"{"stream":["public"],"event":"delete","payload":"7"}"#;
    let event = mastodon::parse_websocket_message(HOST, delete, observed_at()).unwrap();
    assert!(matches!(event, StreamEvent::Delete(ref post) if post.source_id == "social.example/7"));
}

#[test]
fn bad_payloads_are_named_errors() {
    let not_json = mastodon::parse_timeline(HOST, b"<html>502</html>").unwrap_err();
    assert_eq!(not_json.kind(), "not_json");
    let truncated = mastodon::parse_timeline(HOST, br#"[{"id":"1","#).unwrap_err();
    assert_eq!(truncated.kind(), "truncated");
    let wrong = mastodon::parse_timeline(HOST, br#"{"error":"rate limited"}"#).unwrap_err();
    assert_eq!(wrong.kind(), "wrong_type");
    let wrong_id = mastodon::parse_status(HOST, br#"{"id":7,"created_at":"2026-11-20T10:00:00Z"}"#);
    assert_eq!(
        wrong_id.unwrap_err().to_string(),
        "`id` has the wrong type: expected string, found number"
    );
    assert_eq!(
        mastodon::parse_status(HOST, b"").unwrap_err(),
        ParseError::Empty
    );
}
