//! Unit tests of the story view.

use super::*;
use tidewatch_model::{AlertState, Severity};

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_424_714_400 + minute * 60, 0).unwrap()
}

fn story(state: AlertState) -> Story {
    Story {
        story_id: "s1".into(),
        watch: "acme".into(),
        title: "fleet".into(),
        terms: vec!["fleet".into()],
        state,
        severity: Severity::Warning,
        first_post_at: at(0),
        fired_at: at(10),
        last_event_at: at(30),
        posts: 3,
        negative_share: 0.5,
        score: 1.0,
        baseline: 1.0,
        threshold: 1.0,
        first_post_id: "m:2".into(),
        post_ids: vec![],
    }
}

fn post(
    id: &str,
    minute: i64,
    handle: &str,
    followers: u64,
    label: &str,
    source: &str,
) -> StoredPost {
    StoredPost {
        source: source.into(),
        source_id: id.into(),
        kind: "post".into(),
        created_at: at(minute),
        author_handle: Some(handle.into()),
        author_followers: Some(followers),
        text: "fleet".into(),
        lang: Some("en".into()),
        lang_detected: None,
        url: None,
        parent_id: None,
        likes: 0,
        reposts: 0,
        replies: 0,
        rating: None,
        compound: None,
        label: label.into(),
        watches: vec!["acme".into()],
    }
}

#[test]
fn builds_timeline_authors_and_counts() {
    let posts = vec![
        post("1", 1, "@a", 10, "negative", "m"),
        post("2", 2, "@b", 500, "neutral", "m"),
        post("3", 7, "@a", 20, "negative", "b"),
        post("3", 7, "@a", 20, "negative", "b"),
    ];
    let detail = build(story(AlertState::Resolved), posts, vec![], at(40));
    let timeline: Vec<(DateTime<Utc>, u64, u64)> = detail
        .timeline
        .iter()
        .map(|bucket| (bucket.bucket, bucket.posts, bucket.negative))
        .collect();
    // The story spans half an hour: one-minute buckets, the empty ones left out.
    assert_eq!(timeline, [(at(1), 1, 1), (at(2), 1, 0), (at(7), 1, 1)]);
    assert_eq!(detail.timeline[0].negative_share, 1.0);
    assert_eq!(detail.timeline[1].negative_share, 0.0);
    assert_eq!(
        detail.first_post.as_ref().map(StoredPost::key).as_deref(),
        Some("m:2")
    );
    assert_eq!(detail.top_posts[0].source_id, "2", "most followers first");
    let authors: Vec<(&str, u64, u64)> = detail
        .top_authors
        .iter()
        .map(|author| (author.handle.as_str(), author.followers, author.posts))
        .collect();
    assert_eq!(authors, [("@b", 500, 1), ("@a", 20, 2)]);
    assert_eq!(
        detail.sources,
        [
            SourceCount {
                source: "b".into(),
                posts: 1
            },
            SourceCount {
                source: "m".into(),
                posts: 2
            }
        ]
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
    );
    assert_eq!(
        detail.languages,
        [LanguageCount {
            language: "en".into(),
            posts: 3
        }]
    );
}

#[test]
fn widths_follow_the_span_and_open_stories_run_to_now() {
    assert_eq!(timeline_width(Duration::minutes(20)), 60);
    assert_eq!(timeline_width(Duration::hours(1)), 60);
    assert_eq!(timeline_width(Duration::minutes(61)), 300);
    assert_eq!(timeline_width(Duration::hours(2)), 300);
    assert_eq!(timeline_width(Duration::days(2)), 3_600);
    assert_eq!(timeline_width(Duration::days(9)), 86_400);
    assert_eq!(
        story_window_end(&story(AlertState::Resolved), at(100)),
        at(30)
    );
    assert_eq!(
        story_window_end(&story(AlertState::Firing), at(100)),
        at(100)
    );
}
