//! The Hacker News poller against a local Algolia look-alike serving the project's fixture:
//! paging, cursor advance, restart from the checkpoint file (no gap, no duplicate), a crash
//! before the checkpoint (repeats, no gap), 429 with `Retry-After`, 500 then success, a
//! non-JSON body, and health.

mod common;
mod server;

use common::{assert_all_valid, fixture, observed_at};
use serde_json::{json, Value};
use server::{serve, Script};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidewatch_collect::cursor::CheckpointStore;
use tidewatch_collect::health::Health;
use tidewatch_collect::poll::{PollError, Poller};
use tidewatch_collect::source::PollSource;
use tokio::time::Instant;

/// An Algolia `search_by_date` over `hits`: newest first, `numericFilters=created_at_i>=N`,
/// `hitsPerPage`, `page`.
fn search(hits: &[Value], query: &[(String, String)]) -> Vec<u8> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let since = param("numericFilters").map(|filter| {
        filter
            .strip_prefix("created_at_i>=")
            .unwrap()
            .parse::<i64>()
            .unwrap()
    });
    let per_page: usize = param("hitsPerPage").unwrap().parse().unwrap();
    let page: usize = param("page").unwrap().parse().unwrap();
    let mut selected: Vec<&Value> = hits
        .iter()
        .filter(|hit| match (since, hit["created_at_i"].as_i64()) {
            (Some(since), Some(at)) => at >= since,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .collect();
    selected.sort_by_key(|hit| std::cmp::Reverse(hit["created_at_i"].as_i64().unwrap_or(0)));
    let pages = selected.len().div_ceil(per_page).max(1);
    let chunk: Vec<&Value> = selected
        .iter()
        .skip(page * per_page)
        .take(per_page)
        .copied()
        .collect();
    json!({"hits": chunk, "nbHits": selected.len(), "page": page, "nbPages": pages,
           "hitsPerPage": per_page, "query": param("query")})
    .to_string()
    .into_bytes()
}

fn fixture_hits() -> Vec<Value> {
    let value: Value = serde_json::from_slice(&fixture("hackernews_search.json")).unwrap();
    value["hits"].as_array().unwrap().clone()
}

fn story(id: u64, at: i64) -> Value {
    json!({"title": format!("Acme story {id}"), "author": "zed", "points": 1, "num_comments": 0,
           "created_at_i": at, "_tags": ["story"], "objectID": id.to_string()})
}

/// Starts the server; returns the source config pointing at it, the hits it serves and its
/// script of forced responses.
async fn start() -> (PollSource, Arc<Mutex<Vec<Value>>>, Script) {
    let hits = Arc::new(Mutex::new(fixture_hits()));
    let served = hits.clone();
    let (addr, script) =
        serve(move |request| search(&served.lock().unwrap(), &request.query)).await;
    let config = json!({"kind": "hackernews", "name": "hn-acme", "query": "acme",
                        "base_url": format!("http://{addr}/api/v1"), "hits_per_page": 2});
    (serde_json::from_value(config).unwrap(), hits, script)
}

fn ids(posts: &[tidewatch_model::Post]) -> Vec<&str> {
    posts.iter().map(|post| post.source_id.as_str()).collect()
}

#[tokio::test(start_paused = true)]
async fn pages_checkpoints_and_resumes_without_gap_or_duplicate() {
    let (source, hits, script) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path()).unwrap();

    let mut poller = Poller::new(source.clone(), store.load("hn-acme").unwrap()).unwrap();
    let first = poller.poll(observed_at()).await.unwrap();
    assert_eq!(first.requests, 3, "5 hits at 2 per page");
    assert_eq!(
        ids(&first.posts),
        ["41000001", "41000002", "41000003", "41000005"]
    );
    assert_all_valid(&first.posts);
    assert_eq!(first.dead_letters.len(), 1, "the deleted comment");
    assert!(first.dead_letters[0].reason.contains("no text"));
    assert!(
        first.dead_letters[0].original_base64.len() < 1000,
        "the hit, not the page"
    );
    assert!(first
        .dead_letters
        .iter()
        .all(|letter| letter.stage == "collect"));
    assert!(!first.truncated);
    assert_eq!(first.checkpoint.created_at_i, Some(1_763_633_220));
    let requests = script.requests();
    assert!(requests[0]
        .query
        .iter()
        .all(|(key, _)| key != "numericFilters"));

    // The caller made the posts durable, then saves and commits.
    store.save("hn-acme", &first.checkpoint).unwrap();
    poller.commit(first.checkpoint);
    drop(poller);

    // New hits: one indexed late within the watermark second, one later.
    hits.lock().unwrap().push(story(41_000_006, 1_763_633_220));
    hits.lock().unwrap().push(story(41_000_007, 1_763_633_300));

    // A restarted collector resumes from the file.
    let mut poller = Poller::new(source.clone(), store.load("hn-acme").unwrap()).unwrap();
    let second = poller.poll(observed_at()).await.unwrap();
    assert_eq!(ids(&second.posts), ["41000006", "41000007"]);
    assert_eq!(second.checkpoint.created_at_i, Some(1_763_633_300));
    assert_eq!(second.newest.map(|at| at.timestamp()), Some(1_763_633_300));
    let last = script.requests().pop().unwrap();
    assert!(
        last.query.contains(&(
            "numericFilters".to_string(),
            "created_at_i>=1763632920".to_string()
        )),
        "the watermark minus the 300 s overlap window"
    );

    // A crash after fetching but before saving: the next collector gets the same posts again
    // (at least once), never fewer.
    hits.lock().unwrap().push(story(41_000_008, 1_763_633_400));
    let crashed = poller.poll(observed_at()).await.unwrap();
    assert_eq!(ids(&crashed.posts), ["41000006", "41000007", "41000008"]);
    drop(poller);
    let mut poller = Poller::new(source, store.load("hn-acme").unwrap()).unwrap();
    let again = poller.poll(observed_at()).await.unwrap();
    assert_eq!(ids(&again.posts), ids(&crashed.posts));
}

/// Algolia indexes items late: a hit whose `created_at_i` is older than the newest hit already
/// delivered shows up only after it. The overlap window asks for it again; nothing repeats.
#[tokio::test(start_paused = true)]
async fn late_indexed_hits_inside_the_overlap_window_are_collected_once() {
    let (source, hits, _script) = start().await;
    let mut poller = Poller::new(source.clone(), None).unwrap();
    let first = poller.poll(observed_at()).await.unwrap();
    let watermark = first.checkpoint.created_at_i.unwrap();
    poller.commit(first.checkpoint);

    // Indexed after the first poll: one 25 s older than the watermark, one 2 s older, one
    // newer; and one far older than the overlap window (300 s), which stays out of reach.
    hits.lock().unwrap().push(story(42_000_001, watermark - 25));
    hits.lock().unwrap().push(story(42_000_002, watermark - 2));
    hits.lock().unwrap().push(story(42_000_003, watermark + 10));
    hits.lock()
        .unwrap()
        .push(story(42_000_004, watermark - 3_600));
    let second = poller.poll(observed_at()).await.unwrap();
    assert_eq!(ids(&second.posts), ["42000001", "42000002", "42000003"]);
    assert_eq!(second.checkpoint.created_at_i, Some(watermark + 10));
    poller.commit(second.checkpoint);

    // A third cycle re-reads the window and hands over nothing again.
    let third = poller.poll(observed_at()).await.unwrap();
    assert!(third.posts.is_empty(), "{:?}", ids(&third.posts));

    // The window is configurable: with none, a late hit is skipped (the old behaviour).
    let PollSource::Hackernews(mut strict) = source else {
        unreachable!()
    };
    strict.overlap_secs = 0;
    let mut poller = Poller::new(PollSource::Hackernews(strict), Some(third.checkpoint)).unwrap();
    hits.lock().unwrap().push(story(42_000_005, watermark));
    let fourth = poller.poll(observed_at()).await.unwrap();
    assert!(fourth.posts.is_empty(), "{:?}", ids(&fourth.posts));
}

#[tokio::test(start_paused = true)]
async fn obeys_retry_after_on_429() {
    let (source, _, script) = start().await;
    script.push(429, &[("retry-after", "30")], b"slow down");
    let mut poller = Poller::new(source, None).unwrap();
    let started = Instant::now();
    let outcome = poller.poll(observed_at()).await.unwrap();
    assert_eq!(outcome.posts.len(), 4);
    let requests = script.requests();
    assert_eq!(requests.len(), 4, "one 429, then three pages");
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(30));
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert_eq!(
        poller.health(Instant::now(), Duration::from_secs(3600)),
        Health::Ok
    );
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_fails_fast_as_rate_limited() {
    let (source, _, script) = start().await;
    script.push(429, &[("retry-after", "3600")], b"");
    let mut poller = Poller::new(source, None).unwrap();
    let error = poller.poll(observed_at()).await.unwrap_err();
    assert!(error.is_rate_limited(), "{error}");
    assert_eq!(script.requests().len(), 1);
    let health = poller.health(Instant::now(), Duration::from_secs(3600));
    assert_eq!(health, Health::RateLimited);
    assert!(poller.checkpoint().created_at_i.is_none());
}

#[tokio::test(start_paused = true)]
async fn retries_a_500_with_backoff_then_succeeds() {
    let (source, _, script) = start().await;
    script.push(500, &[], b"oops");
    script.push(503, &[], b"oops");
    let mut poller = Poller::new(source, None).unwrap();
    let outcome = poller.poll(observed_at()).await.unwrap();
    assert_eq!(outcome.posts.len(), 4);
    let requests = script.requests();
    assert_eq!(requests.len(), 5);
    // Backoff of 500 ms then 1 s, each jittered to between half and all of it.
    assert!(requests[1].at - requests[0].at >= Duration::from_millis(250));
    assert!(requests[2].at - requests[1].at >= Duration::from_millis(500));
}

#[tokio::test(start_paused = true)]
async fn a_non_json_body_is_a_dead_letter_and_the_poller_goes_on() {
    let (source, _, script) = start().await;
    script.push(
        200,
        &[("content-type", "text/html")],
        b"<html>502 Bad Gateway</html>",
    );
    let mut poller = Poller::new(source, None).unwrap();
    let error = poller.poll(observed_at()).await.unwrap_err();
    let PollError::Payload {
        error, dead_letter, ..
    } = &error
    else {
        panic!("{error}")
    };
    assert_eq!(error.kind(), "not_json");
    assert_eq!(dead_letter.reason_kind, "not_json");
    assert!(dead_letter.origin.starts_with("hn-acme http://127.0.0.1:"));
    let silent = Duration::from_secs(3600);
    assert_eq!(poller.health(Instant::now(), silent), Health::Failing);
    assert!(
        poller.checkpoint().created_at_i.is_none(),
        "cursor did not move"
    );

    let outcome = poller.poll(observed_at()).await.unwrap();
    assert_eq!(outcome.posts.len(), 4);
    assert_eq!(poller.health(Instant::now(), silent), Health::Ok);
}
