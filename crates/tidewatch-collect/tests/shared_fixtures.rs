//! Parses the real payload samples in `shared/data/fixtures/` when they are next to the project
//! (each test prints a skip message and passes when they are not).

mod common;

use common::{assert_all_valid, assert_valid, observed_at, shared};
use tidewatch_collect::mastodon::StreamEvent;
use tidewatch_collect::{appstore, bluesky, hackernews, mastodon, reddit, rss, ParseError};
use tidewatch_model::PostKind;

#[test]
fn mastodon_samples() {
    let Some(status) = shared("mastodon/status_entity_example.json") else {
        return;
    };
    let post = mastodon::parse_status("mastodon.social", &status).unwrap();
    assert_valid(&post);
    assert_eq!(post.source_id, "mastodon.social/103270115826048975");
    assert!(post
        .text
        .starts_with("\"I lost my inheritance with one wrong digit on my sort code\""));
    assert!(post.text.ends_with("https://www.theguardian.com/money/2019/dec/07/i-lost-my-193000-inheritance-with-one-wrong-digit-on-my-sort-code"));
    assert_eq!(post.author.as_ref().unwrap().followers, Some(322_930));

    let timeline = shared("mastodon/rest_timeline_statuses_array.json").unwrap();
    let batch = mastodon::parse_timeline("mastodon.social", &timeline).unwrap();
    assert_all_valid(&batch.posts);
    assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
    assert_eq!(batch.posts.len(), 9);
    assert!(batch.posts.iter().all(|post| !post.text.contains('<')));

    for file in [
        "streaming_sse_update_public_local.txt",
        "streaming_sse_public_local_session.txt",
    ] {
        let body = String::from_utf8(shared(&format!("mastodon/{file}")).unwrap()).unwrap();
        let events = mastodon::parse_sse_stream("mastodon.social", &body, observed_at());
        assert!(!events.is_empty());
        for event in events {
            match event.unwrap_or_else(|error| panic!("{file}: {error}")) {
                StreamEvent::Update(post) | StreamEvent::Edit(post) | StreamEvent::Delete(post) => {
                    assert_valid(&post)
                }
                StreamEvent::Ignored(name) => panic!("{file}: unexpected event {name}"),
            }
        }
    }
    let update = shared("mastodon/streaming_websocket_update.json").unwrap();
    let event =
        mastodon::parse_websocket_message("mastodon.social", &update, observed_at()).unwrap();
    assert!(matches!(event, StreamEvent::Update(ref post) if post.kind == PostKind::Reply));
    let delete = shared("mastodon/streaming_websocket_delete.json").unwrap();
    let event =
        mastodon::parse_websocket_message("mastodon.social", &delete, observed_at()).unwrap();
    assert!(
        matches!(event, StreamEvent::Delete(ref post) if post.source_id == "mastodon.social/106692867363994015")
    );
}

#[test]
fn bluesky_samples() {
    let Some(lines) = shared("bluesky_jetstream/jetstream_events_sample.jsonl") else {
        return;
    };
    let events: Vec<_> = lines
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| bluesky::parse_event(line).unwrap())
        .collect();
    assert_eq!(events.len(), 5);
    let posts: Vec<_> = events
        .iter()
        .filter_map(|event| event.post.clone())
        .collect();
    assert_all_valid(&posts);
    assert_eq!(posts.len(), 2);
    assert!(posts
        .iter()
        .all(|post| post.kind == PostKind::Reply && post.lang.as_deref() == Some("en")));
    assert_eq!(
        posts[0].source_id,
        "at://did:plc:yj3sjq3blzpynh27cumnp5ks/app.bsky.feed.post/3lbhtyteurk2y"
    );
    assert_eq!(events[0].time_us, 1_732_206_349_000_167);

    let pretty =
        shared("bluesky_jetstream/jetstream_commit_create_app.bsky.feed.post.json").unwrap();
    assert_eq!(
        bluesky::parse_event(&pretty).unwrap().post,
        Some(posts[0].clone())
    );
    for legacy in [
        "legacy_v0_commit_create_like.json",
        "legacy_v0_commit_delete_follow.json",
    ] {
        let bytes = shared(&format!("bluesky_jetstream/{legacy}")).unwrap();
        assert!(
            matches!(
                bluesky::parse_event(&bytes),
                Err(ParseError::Unsupported(_))
            ),
            "{legacy}"
        );
    }
}

#[test]
fn hackernews_samples() {
    for (file, hits) in [
        (
            "algolia_search_query_javascript_hitsPerPage5_captured_2021.json",
            5,
        ),
        (
            "algolia_search_numericFilters_points_gt500_captured_2016.json",
            1,
        ),
    ] {
        let Some(body) = shared(&format!("hackernews/{file}")) else {
            return;
        };
        let (batch, _) = hackernews::parse_search(&body).unwrap();
        assert_all_valid(&batch.posts);
        assert!(batch.rejected.is_empty(), "{file}: {:?}", batch.rejected);
        assert_eq!(batch.posts.len(), hits, "{file}");
        assert!(batch.cursor.is_some());
    }
}

#[test]
fn reddit_samples() {
    for (file, after) in [
        ("listing_t3_r_askreddit_new_2016_full.json", true),
        ("listing_t3_r_askreddit_new_2016_3items.json", true),
        ("listing_t1_r_askreddit_comments_2016_full.json", true),
        ("listing_t1_r_askreddit_comments_2016_3items.json", true),
        ("listing_t1_subreddit_comments_2023_5items.json", true),
        ("comments_endpoint_submission_2gmzqe_2016.json", false),
    ] {
        let Some(body) = shared(&format!("reddit/{file}")) else {
            return;
        };
        let batch = reddit::parse_listing(&body).unwrap_or_else(|error| panic!("{file}: {error}"));
        assert_all_valid(&batch.posts);
        assert!(batch.rejected.is_empty(), "{file}: {:?}", batch.rejected);
        assert!(!batch.posts.is_empty(), "{file}");
        assert_eq!(batch.cursor.is_some(), after, "{file}");
    }
}

#[test]
fn appstore_samples() {
    let Some(new) =
        shared("appstore_rss/customerreviews_json_with_entry_updated_captured_2022-06-14.json")
    else {
        return;
    };
    let batch = appstore::parse_reviews_json(&new, observed_at()).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!((batch.posts.len(), batch.rejected.len()), (50, 0));
    assert!(batch
        .posts
        .iter()
        .all(|post| post.created_at != observed_at()));
    assert_eq!(batch.cursor, Some(2));

    let old = shared("appstore_rss/customerreviews_us_id1321994487_json_captured_2021-04-12.json")
        .unwrap();
    let batch = appstore::parse_reviews_json(&old, observed_at()).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!((batch.posts.len(), batch.rejected.len()), (50, 0));
    assert!(batch
        .posts
        .iter()
        .all(|post| post.created_at == observed_at()));

    let atom = shared(
        "appstore_rss/customerreviews_us_id333903271_xml_atom_captured_2021-02-20_wellformed.xml",
    )
    .unwrap();
    let batch = appstore::parse_reviews_atom(&atom, observed_at()).unwrap();
    assert_all_valid(&batch.posts);
    assert_eq!((batch.posts.len(), batch.rejected.len()), (50, 0));
    assert!(batch
        .posts
        .iter()
        .all(|post| post.rating.is_some() && !post.text.contains("<table")));
    assert_eq!(batch.posts[0].source_id, "7012426549");

    // As captured (raw `&` in hrefs): a named XML error, not a panic.
    let broken =
        shared("appstore_rss/customerreviews_us_id333903271_xml_atom_captured_2021-02-20.xml")
            .unwrap();
    let error = appstore::parse_reviews_atom(&broken, observed_at()).unwrap_err();
    assert_eq!(error.kind(), "not_xml", "{error}");
}

#[test]
fn rss_atom_samples() {
    for (file, posts, reviews) in [
        ("rss2_letterboxd_reviews_zaccolley_fixture.xml", 5, 3),
        ("rss2_spec_sample_liftoff_news.xml", 4, 0),
        ("atom_rfc4287_section1.1_example.xml", 1, 0),
        (
            "atom_appstore_customerreviews_reviews_2021-02-20.xml",
            50,
            50,
        ),
    ] {
        let Some(xml) = shared(&format!("rss_atom/{file}")) else {
            return;
        };
        let batch = rss::parse_feed(&xml, "feed", observed_at())
            .unwrap_or_else(|error| panic!("{file}: {error}"));
        assert_all_valid(&batch.posts);
        assert!(batch.rejected.is_empty(), "{file}: {:?}", batch.rejected);
        assert_eq!(batch.posts.len(), posts, "{file}");
        let count = batch
            .posts
            .iter()
            .filter(|post| post.kind == PostKind::Review)
            .count();
        assert_eq!(count, reviews, "{file}");
        assert!(
            batch
                .posts
                .iter()
                .all(|post| post.created_at != observed_at()),
            "{file}"
        );
    }
}
