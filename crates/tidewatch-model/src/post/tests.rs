use super::*;
use proptest::prelude::*;

const GOOD: &str = r#"{"v":1,"source":"mastodon","source_id":"mastodon.social/113","kind":"post","created_at":"2015-02-23T18:15:31Z","author":{"id":"7","handle":"ann","followers":812},"text":"my flight was cancelled","lang":"en","url":"https://example.org/1","parent_id":null,"metrics":{"likes":3,"reposts":1,"replies":0},"rating":null}"#;

#[test]
fn parses_the_design_example() {
    let post = Post::from_json_bytes(GOOD.as_bytes()).unwrap();
    assert_eq!(post.source, "mastodon");
    assert_eq!(post.key(), "mastodon:mastodon.social/113");
    assert_eq!(post.author.as_ref().unwrap().followers, Some(812));
    assert_eq!(format_timestamp(&post.created_at), "2015-02-23T18:15:31Z");
}

#[test]
fn round_trips_through_json() {
    let post = Post::from_json_bytes(GOOD.as_bytes()).unwrap();
    let again = Post::from_json_bytes(post.to_json().as_bytes()).unwrap();
    assert_eq!(post, again);
}

#[test]
fn names_each_missing_required_field() {
    for field in ["source", "source_id", "created_at", "text"] {
        let mut value: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        value.as_object_mut().unwrap().remove(field);
        let error = Post::from_json_bytes(value.to_string().as_bytes()).unwrap_err();
        assert_eq!(error, PostError::MissingField(field), "field {field}");
        assert!(error.to_string().contains(field));
    }
}

#[test]
fn a_delete_needs_no_text() {
    let line = r#"{"source":"bluesky","source_id":"at://x/1","kind":"delete","created_at":"2024-01-01T00:00:00Z"}"#;
    let post = Post::from_json_bytes(line.as_bytes()).unwrap();
    assert_eq!(post.kind, PostKind::Delete);
    assert_eq!(post.text, "");
}

#[test]
fn rejects_bad_timestamps_with_the_value() {
    let line = GOOD.replace("2015-02-23T18:15:31Z", "yesterday at noon");
    let error = Post::from_json_bytes(line.as_bytes()).unwrap_err();
    assert_eq!(
        error,
        PostError::BadTimestamp {
            field: "created_at",
            value: "yesterday at noon".into()
        }
    );
}

#[test]
fn refuses_timestamps_clickhouse_cannot_store() {
    for outside in [
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2106-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1970-01-01T00:30:00+01:00",
    ] {
        let line = GOOD.replace("2015-02-23T18:15:31Z", outside);
        let error = Post::from_json_bytes(line.as_bytes()).unwrap_err();
        assert_eq!(
            error,
            PostError::TimestampOutOfRange {
                field: "created_at",
                value: outside.into()
            },
            "{outside}"
        );
        assert_eq!(error.kind(), "timestamp_out_of_range");
        assert!(error.to_string().contains(LATEST_TIMESTAMP), "{error}");
    }
    for inside in [
        EARLIEST_TIMESTAMP,
        LATEST_TIMESTAMP,
        "2105-12-31T23:59:59.999Z",
    ] {
        let line = GOOD.replace("2015-02-23T18:15:31Z", inside);
        assert!(Post::from_json_bytes(line.as_bytes()).is_ok(), "{inside}");
    }
}

#[test]
fn a_scored_post_out_of_range_is_refused_too() {
    let post = Post::from_json_bytes(GOOD.as_bytes()).unwrap();
    let json = serde_json::to_string(&post)
        .unwrap()
        .replace("2015-02-23T18:15:31Z", "1969-07-20T20:17:40Z");
    let error = serde_json::from_str::<Post>(&json).unwrap_err();
    assert!(error.to_string().contains("storable range"), "{error}");
}

#[test]
fn refuses_a_json_array_where_a_post_object_is_required() {
    // Every field of the post, by position: serde's derive would read it as a post.
    let array = r#" [1,"mastodon","mastodon.social/1","post","2015-02-23T18:15:31Z",null,"hi",null,null,null,null,null]"#;
    let error = Post::from_json_bytes(array.as_bytes()).unwrap_err();
    assert_eq!(error.kind(), "invalid_json");
    assert!(error.to_string().contains("found an array"), "{error}");
}

#[test]
fn rejects_invalid_utf8_with_the_position() {
    let mut bytes = GOOD.as_bytes().to_vec();
    bytes[10] = 0xff;
    assert_eq!(
        Post::from_json_bytes(&bytes).unwrap_err(),
        PostError::InvalidUtf8 { valid_up_to: 10 }
    );
}

#[test]
fn rejects_oversized_records_before_parsing() {
    let huge = format!(r#"{{"text":"{}"}}"#, "a".repeat(10 * 1024 * 1024));
    assert!(matches!(
        Post::from_json_bytes(huge.as_bytes()),
        Err(PostError::RecordTooLarge { .. })
    ));
    let long_text = GOOD.replace(
        "my flight was cancelled",
        &"é".repeat(MAX_TEXT_BYTES / 2 + 1),
    );
    assert!(matches!(
        Post::from_json_bytes(long_text.as_bytes()),
        Err(PostError::TextTooLong { .. })
    ));
}

#[test]
fn rejects_unknown_kinds_and_non_json() {
    let line = GOOD.replace(r#""kind":"post""#, r#""kind":"tweet""#);
    assert!(matches!(
        Post::from_json_bytes(line.as_bytes()),
        Err(PostError::InvalidField { field: "kind", .. })
    ));
    assert_eq!(
        Post::from_json_bytes(b"not json").unwrap_err().kind(),
        "invalid_json"
    );
    assert_eq!(
        Post::from_json_bytes(br#"{"source":7}"#)
            .unwrap_err()
            .kind(),
        "invalid_field"
    );
}

#[test]
fn labels_follow_the_vader_thresholds() {
    assert_eq!(Label::from_compound(-0.05), Label::Negative);
    assert_eq!(Label::from_compound(-0.0499), Label::Neutral);
    assert_eq!(Label::from_compound(0.0499), Label::Neutral);
    assert_eq!(Label::from_compound(0.05), Label::Positive);
}

#[test]
fn scored_posts_flatten_the_post() {
    let post = Post::from_json_bytes(GOOD.as_bytes()).unwrap();
    let scored = ScoredPost {
        post,
        sentiment: Some(Sentiment {
            neg: 0.4,
            neu: 0.6,
            pos: 0.0,
            compound: -0.25,
        }),
        label: Label::Negative,
        lang_detected: Some("en".into()),
        watches: vec!["acme".into()],
    };
    let json: serde_json::Value = serde_json::from_str(&scored.to_json()).unwrap();
    assert_eq!(json["source_id"], "mastodon.social/113");
    assert_eq!(json["label"], "negative");
    assert_eq!(
        ScoredPost::from_json_bytes(scored.to_json().as_bytes()).unwrap(),
        scored
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Post::from_json_bytes(&bytes);
    }

    #[test]
    fn any_text_round_trips(text in "\\PC{0,200}", followers in any::<u64>()) {
        let mut post = Post::from_json_bytes(GOOD.as_bytes()).unwrap();
        post.text = text;
        post.author.as_mut().unwrap().followers = Some(followers);
        prop_assert_eq!(Post::from_json_bytes(post.to_json().as_bytes()).unwrap(), post);
    }
}
