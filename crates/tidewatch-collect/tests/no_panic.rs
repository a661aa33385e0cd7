//! Property tests: no parser panics on any bytes, and whatever a parser accepts passes the
//! canonical post gate. Besides arbitrary bytes, the project's fixtures are cut at every length
//! and corrupted at random positions, which reaches far deeper into each parser.

mod common;

use common::{assert_valid, fixture, observed_at};
use proptest::prelude::*;
use tidewatch_collect::mastodon::StreamEvent;
use tidewatch_collect::{appstore, bluesky, hackernews, html_to_text, mastodon, reddit, rss};
use tidewatch_model::{Post, MAX_TEXT_BYTES};

const FIXTURES: &[&str] = &[
    "mastodon_timeline.json",
    "mastodon_stream.txt",
    "bluesky_events.jsonl",
    "hackernews_search.json",
    "reddit_listing.json",
    "reddit_comments.json",
    "rss2_reviews.xml",
    "atom_feed.xml",
    "appstore_with_updated.json",
    "appstore_without_updated.json",
];

/// Runs every parser on `bytes`, checking every post that comes out.
fn run_all(bytes: &[u8]) {
    let at = observed_at();
    let check = |posts: &[Post]| posts.iter().for_each(assert_valid);
    if let Ok(batch) = mastodon::parse_timeline("h.example", bytes) {
        check(&batch.posts);
    }
    if let Ok(post) = mastodon::parse_status("h.example", bytes) {
        assert_valid(&post);
    }
    let text = String::from_utf8_lossy(bytes);
    let events = mastodon::parse_sse_stream("h.example", &text, at)
        .into_iter()
        .chain(std::iter::once(mastodon::parse_websocket_message(
            "h.example",
            bytes,
            at,
        )));
    for event in events.flatten() {
        if let StreamEvent::Update(post) | StreamEvent::Edit(post) | StreamEvent::Delete(post) =
            event
        {
            assert_valid(&post);
        }
    }
    for line in bytes.split(|byte| *byte == b'\n') {
        if let Ok(event) = bluesky::parse_event(line) {
            event.post.iter().for_each(assert_valid);
        }
    }
    if let Ok((batch, _)) = hackernews::parse_search(bytes) {
        check(&batch.posts);
    }
    if let Ok(batch) = reddit::parse_listing(bytes) {
        check(&batch.posts);
    }
    if let Ok(batch) = rss::parse_feed(bytes, "feed", at) {
        check(&batch.posts);
    }
    if let Ok(batch) = appstore::parse_reviews_json(bytes, at) {
        check(&batch.posts);
    }
    if let Ok(batch) = appstore::parse_reviews_atom(bytes, at) {
        check(&batch.posts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        run_all(&bytes);
    }

    #[test]
    fn cut_fixtures_never_panic(which in 0..FIXTURES.len(), cut in any::<prop::sample::Index>()) {
        let bytes = fixture(FIXTURES[which]);
        run_all(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn corrupted_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = fixture(FIXTURES[which]);
        for (position, byte) in edits {
            let at = position.index(bytes.len());
            bytes[at] = byte;
        }
        run_all(&bytes);
    }

    #[test]
    fn html_to_text_never_panics(html in ".{0,300}") {
        let _ = html_to_text(&html);
    }
}

#[test]
fn huge_text_is_clamped_not_rejected() {
    let content = format!("<p>{}</p>", "é".repeat(MAX_TEXT_BYTES));
    let status =
        serde_json::json!({"id":"1","created_at":"2026-11-20T10:00:00Z","content":content});
    let post = mastodon::parse_status("h.example", status.to_string().as_bytes()).unwrap();
    assert!(post.text.len() <= MAX_TEXT_BYTES);
    assert_valid(&post);
}
