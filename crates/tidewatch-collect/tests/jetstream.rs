//! The Bluesky collector through `run_sources` against a local Jetstream look-alike: a server
//! that drops the connection mid-stream (reconnect from the cursor minus the margin, repeats
//! dropped, nothing lost), a restart from the checkpoint file, updates and deletes, a
//! malformed message (dead letter, the stream goes on), and a checkpoint past the lookback.

mod common;
mod ws;

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tidewatch_collect::config::SourceConfig;
use tidewatch_collect::cursor::{Checkpoint, CheckpointStore};
use tidewatch_collect::{run_sources, HealthReporter, MemorySink, RunOptions};
use tidewatch_model::{Post, PostKind};
use tokio_util::sync::CancellationToken;
use ws::{serve_ws, wait_until, End};

const LIMIT: Duration = Duration::from_secs(20);

fn create(time_us: i64, rkey: &str, text: &str) -> String {
    json!({"did": "did:plc:aaaa", "time_us": time_us, "kind": "commit",
           "commit": {"rev": "r", "operation": "create", "collection": "app.bsky.feed.post",
                      "rkey": rkey, "cid": "bafy",
                      "record": {"$type": "app.bsky.feed.post", "langs": ["en"], "text": text,
                                 "createdAt": "2026-11-20T10:00:00.000Z"}}})
    .to_string()
}

fn update(time_us: i64, rkey: &str, text: &str) -> String {
    create(time_us, rkey, text).replace("\"create\"", "\"update\"")
}

fn delete(time_us: i64, rkey: &str) -> String {
    json!({"did": "did:plc:aaaa", "time_us": time_us, "kind": "commit",
           "commit": {"rev": "r", "operation": "delete", "collection": "app.bsky.feed.post",
                      "rkey": rkey}})
    .to_string()
}

/// A minute ago, in microseconds: inside the lookback window.
fn recent_us() -> i64 {
    chrono::Utc::now().timestamp_micros() - 60_000_000
}

fn source(addr: std::net::SocketAddr) -> SourceConfig {
    serde_json::from_value(json!({"kind": "bluesky", "name": "bsky",
        "base_url": format!("ws://{addr}"), "batch_max_wait_ms": 20, "batch_size": 2}))
    .unwrap()
}

fn start(
    sources: Vec<SourceConfig>,
    dir: &std::path::Path,
    sink: &MemorySink,
    health: &HealthReporter,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let cancel = CancellationToken::new();
    let options = RunOptions::new(dir);
    let task = tokio::spawn(run_sources(
        sources,
        options,
        Arc::new(sink.clone()),
        health.clone(),
        cancel.clone(),
    ));
    let handle = tokio::spawn(async move { task.await.unwrap().unwrap() });
    (cancel, handle)
}

fn keys(posts: &[Post]) -> Vec<(String, PostKind, String)> {
    posts
        .iter()
        .map(|post| (post.source_id.clone(), post.kind, post.text.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_resumes_from_the_cursor_without_loss_or_repeat() {
    let base = recent_us();
    let first = vec![
        create(base + 1, "a", "one"),
        create(base + 2, "b", "two"),
        create(base + 3, "c", "three"),
    ];
    let all = vec![
        first[0].clone(),
        first[1].clone(),
        first[2].clone(),
        update(base + 4, "a", "one, edited"),
        "{\"did\": \"did:plc:x\", \"time_us\": ".to_string(),
        delete(base + 5, "b"),
        create(base + 6, "d", "four"),
    ];
    let (addr, connections) = serve_ws(move |n, _| match n {
        0 => (first.clone(), End::Drop),
        // Jetstream replays everything from the cursor on: here all of it (1 ms apart).
        _ => (all.clone(), End::Hold),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (sink, health) = (MemorySink::new(), HealthReporter::new());
    let (cancel, run) = start(vec![source(addr)], dir.path(), &sink, &health);
    wait_until("six posts", LIMIT, || sink.posts().len() >= 6).await;
    let store = CheckpointStore::open(dir.path()).unwrap();
    wait_until("the cursor of the last event", LIMIT, || {
        store.load("bsky").unwrap().and_then(|c| c.time_us) == Some(base + 6)
    })
    .await;
    cancel.cancel();
    run.await.unwrap();

    let posts = sink.posts();
    common::assert_all_valid(&posts);
    // The records claim 2026-11-20, weeks before the network saw them: implausible, so the
    // posts are dated by `time_us`.
    assert_eq!(posts[0].created_at.timestamp_micros(), base + 1);
    let at = |rkey: &str| format!("at://did:plc:aaaa/app.bsky.feed.post/{rkey}");
    assert_eq!(
        keys(&posts),
        [
            (at("a"), PostKind::Post, "one".to_string()),
            (at("b"), PostKind::Post, "two".to_string()),
            (at("c"), PostKind::Post, "three".to_string()),
            (at("a"), PostKind::Post, "one, edited".to_string()),
            (at("b"), PostKind::Delete, String::new()),
            (at("d"), PostKind::Post, "four".to_string()),
        ],
        "no loss, no repeat; the edit is a new version of the same post, the delete a delete"
    );
    let letters = sink.dead_letters();
    assert_eq!(letters.len(), 1, "the truncated message, once");
    assert_eq!(letters[0].reason_kind, "truncated");
    let seen = connections.all();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].param("cursor"), None, "a first run starts live");
    assert_eq!(
        seen[0].param("wantedCollections"),
        Some("app.bsky.feed.post")
    );
    assert_eq!(seen[0].path, "/subscribe");
    let expected = (base + 3 - 5_000_000).to_string();
    assert_eq!(
        seen[1].param("cursor"),
        Some(expected.as_str()),
        "cursor minus 5 s"
    );
    let status = health
        .status("bsky", tokio::time::Instant::now(), chrono::Utc::now())
        .unwrap();
    assert_eq!(status.posts_last_hour, 6);
    assert!(status.last_success.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_checkpoint_file() {
    let base = recent_us();
    let events = vec![create(base + 1, "a", "one"), create(base + 2, "b", "two")];
    let more = vec![
        events[0].clone(),
        events[1].clone(),
        create(base + 3, "c", "three"),
    ];
    let (addr, connections) = serve_ws(move |n, _| match n {
        0 => (events.clone(), End::Hold),
        _ => (more.clone(), End::Hold),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (sink, health) = (MemorySink::new(), HealthReporter::new());
    let (cancel, run) = start(vec![source(addr)], dir.path(), &sink, &health);
    wait_until("two posts", LIMIT, || sink.posts().len() == 2).await;
    cancel.cancel();
    run.await.unwrap();
    let (cancel, run) = start(vec![source(addr)], dir.path(), &sink, &health);
    wait_until("three posts", LIMIT, || sink.posts().len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    cancel.cancel();
    run.await.unwrap();
    let ids: Vec<String> = sink.posts().into_iter().map(|p| p.source_id).collect();
    assert_eq!(ids.len(), 3, "no repeat across the restart: {ids:?}");
    assert!(ids[2].ends_with("/c"));
    let expected = (base + 2 - 5_000_000).to_string();
    assert_eq!(
        connections.all()[1].param("cursor"),
        Some(expected.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_past_the_lookback_starts_from_now_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path()).unwrap();
    let old = chrono::Utc::now().timestamp_micros() - 40 * 3600 * 1_000_000;
    let checkpoint = Checkpoint {
        time_us: Some(old),
        ..Checkpoint::new()
    };
    store.save("bsky", &checkpoint).unwrap();
    let base = recent_us();
    let (addr, connections) =
        serve_ws(move |_, _| (vec![create(base, "z", "live")], End::Hold)).await;
    let (sink, health) = (MemorySink::new(), HealthReporter::new());
    let (cancel, run) = start(vec![source(addr)], dir.path(), &sink, &health);
    wait_until("the live post", LIMIT, || sink.posts().len() == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    cancel.cancel();
    run.await.unwrap();
    let seen = connections.all();
    assert_eq!(seen.len(), 1, "no reconnect loop");
    assert_eq!(
        seen[0].param("cursor"),
        None,
        "an expired cursor is not sent"
    );
    let status = health
        .status("bsky", tokio::time::Instant::now(), chrono::Utc::now())
        .unwrap();
    let note = status.note.unwrap();
    assert!(
        note.contains("36 h") && note.contains(&old.to_string()),
        "{note}"
    );
    assert_eq!(store.load("bsky").unwrap().unwrap().time_us, Some(base));
}
