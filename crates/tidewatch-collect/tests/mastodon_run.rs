//! The Mastodon collector against a local instance look-alike: REST `min_id` paging with the
//! cursor checkpointed and a restart without gap or repeat, 429 with `Retry-After`, and the
//! streaming API (bearer token, `update` / `status.update` / `delete`, a malformed message, a
//! dropped connection) with REST catch-up of what was posted while disconnected.

mod common;
mod server;
mod ws;

use serde_json::{json, Value};
use server::serve;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidewatch_collect::config::SourceConfig;
use tidewatch_collect::cursor::CheckpointStore;
use tidewatch_collect::poll::Poller;
use tidewatch_collect::{run_sources, HealthReporter, MemorySink, RunOptions};
use tidewatch_model::PostKind;
use tokio_util::sync::CancellationToken;
use ws::{serve_ws, wait_until, End};

fn id(n: u64) -> String {
    format!("1130000000000{n:05}")
}

fn status(n: u64, text: &str) -> Value {
    json!({"id": id(n), "created_at": format!("2026-11-20T09:{:02}:00.000Z", n % 60),
           "in_reply_to_id": null, "spoiler_text": "", "language": "en",
           "url": format!("https://social.example/@ana/{}", id(n)),
           "replies_count": 0, "reblogs_count": 0, "favourites_count": n,
           "content": format!("<p>{text}</p>"), "reblog": null,
           "account": {"id": "42", "username": "ana", "acct": "ana", "followers_count": 7}})
}

type Statuses = Arc<Mutex<Vec<Value>>>;

/// `GET /api/v1/timelines/public`: with `min_id`, the `limit` statuses just after it; without,
/// the newest `limit`; newest first either way (as Mastodon answers).
fn timeline(statuses: &Statuses, query: &[(String, String)]) -> Vec<u8> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let limit: usize = param("limit").unwrap().parse().unwrap();
    let all = statuses.lock().unwrap().clone();
    let mut page: Vec<Value> = match param("min_id") {
        Some(min) => all
            .into_iter()
            .filter(|s| s["id"].as_str().unwrap() > min.as_str())
            .take(limit)
            .collect(),
        None => all
            .into_iter()
            .rev()
            .take(limit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    };
    page.reverse();
    Value::Array(page).to_string().into_bytes()
}

async fn instance(initial: Vec<Value>) -> (std::net::SocketAddr, Statuses, server::Script) {
    let statuses: Statuses = Arc::new(Mutex::new(initial));
    let served = statuses.clone();
    let (addr, script) = serve(move |request| {
        assert_eq!(request.path, "/api/v1/timelines/public");
        timeline(&served, &request.query)
    })
    .await;
    (addr, statuses, script)
}

fn ids(posts: &[tidewatch_model::Post]) -> Vec<String> {
    posts.iter().map(|post| post.source_id.clone()).collect()
}

#[tokio::test(start_paused = true)]
async fn rest_pages_forward_with_min_id_and_resumes_after_a_restart() {
    let (addr, statuses, script) = instance((1..=3).map(|n| status(n, "old")).collect()).await;
    let config = json!({"kind": "mastodon", "name": "masto", "base_url": format!("http://{addr}"), "limit": 2});
    let SourceConfig::Mastodon(source) = serde_json::from_value(config).unwrap() else {
        panic!()
    };
    let source = tidewatch_collect::source::PollSource::Mastodon(source);
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path()).unwrap();
    let mut poller = Poller::new(source.clone(), None).unwrap();
    let first = poller.poll(common::observed_at()).await.unwrap();
    let host = format!("127.0.0.1/{}", id(2));
    assert_eq!(
        ids(&first.posts),
        [host, format!("127.0.0.1/{}", id(3))],
        "first run: newest page"
    );
    common::assert_all_valid(&first.posts);
    assert_eq!(first.checkpoint.cursor.as_deref(), Some(id(3).as_str()));
    store.save("masto", &first.checkpoint).unwrap();
    poller.commit(first.checkpoint);

    statuses
        .lock()
        .unwrap()
        .extend((4..=8).map(|n| status(n, "new")));
    // 429 with Retry-After on the first page: obeyed, then the pages follow.
    script.push(429, &[("retry-after", "7")], b"slow down");
    let second = poller.poll(common::observed_at()).await.unwrap();
    let expected: Vec<String> = (4..=8).map(|n| format!("127.0.0.1/{}", id(n))).collect();
    assert_eq!(
        ids(&second.posts),
        expected,
        "oldest first, all five over three pages"
    );
    let requests = script.requests();
    let min_ids: Vec<Option<String>> = requests[1..]
        .iter()
        .map(|r| {
            r.query
                .iter()
                .find(|(k, _)| k == "min_id")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(
        min_ids,
        [Some(id(3)), Some(id(3)), Some(id(5)), Some(id(7))],
        "the 429 retried the same page, then each page starts after the last"
    );
    assert!(requests[2].at - requests[1].at >= Duration::from_secs(7));

    // A crash before saving: a fresh poller from the file fetches the same five again (repeats
    // that collapse by source_id, no gap); after saving, nothing comes back.
    let mut restarted = Poller::new(source.clone(), store.load("masto").unwrap()).unwrap();
    let again = restarted.poll(common::observed_at()).await.unwrap();
    assert_eq!(ids(&again.posts), expected);
    store.save("masto", &again.checkpoint).unwrap();
    let mut restarted = Poller::new(source, store.load("masto").unwrap()).unwrap();
    let nothing = restarted.poll(common::observed_at()).await.unwrap();
    assert!(nothing.posts.is_empty());
    assert_eq!(nothing.checkpoint.cursor.as_deref(), Some(id(8).as_str()));
}

fn envelope(event: &str, payload: &str) -> String {
    json!({"stream": ["public"], "event": event, "payload": payload}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_with_catch_up_after_a_dropped_connection() {
    std::env::set_var("TIDEWATCH_TEST_MASTODON_TOKEN", "tok-abc");
    let (rest, statuses, _script) = instance((1..=3).map(|n| status(n, "old")).collect()).await;
    let on_server = statuses.clone();
    let (stream, connections) = serve_ws(move |n, _| match n {
        0 => {
            // Status 4 arrives on the stream; status 5 is posted while the client is away.
            let mut all = on_server.lock().unwrap();
            all.push(status(4, "streamed"));
            all.push(status(5, "posted while away"));
            let edited = status(3, "old, edited").to_string();
            let messages = vec![
                envelope("update", &status(4, "streamed").to_string()),
                envelope("status.update", &edited),
                envelope("delete", &id(2)),
                envelope("update", "{\"id\": "),
                envelope("notification", "{}"),
            ];
            (messages, End::Drop)
        }
        _ => (Vec::new(), End::Hold),
    })
    .await;
    let config = json!({"kind": "mastodon", "name": "masto", "base_url": format!("http://{rest}"),
                        "limit": 2, "streaming": true, "streaming_url": format!("ws://{stream}"),
                        "token_env": "TIDEWATCH_TEST_MASTODON_TOKEN"});
    let sources = vec![serde_json::from_value::<SourceConfig>(config).unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let (sink, health, cancel) = (
        MemorySink::new(),
        HealthReporter::new(),
        CancellationToken::new(),
    );
    let run = tokio::spawn(run_sources(
        sources,
        RunOptions::new(dir.path()),
        Arc::new(sink.clone()),
        health,
        cancel.clone(),
    ));
    let limit = Duration::from_secs(20);
    wait_until("six posts", limit, || sink.posts().len() >= 6).await;
    wait_until("the second connection", limit, || {
        connections.all().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    run.await.unwrap().unwrap();

    let at = |n| format!("127.0.0.1/{}", id(n));
    let posts = sink.posts();
    common::assert_all_valid(&posts);
    let summary: Vec<(String, PostKind, String)> = posts
        .iter()
        .map(|p| (p.source_id.clone(), p.kind, p.text.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (at(2), PostKind::Post, "old".to_string()),
            (at(3), PostKind::Post, "old".to_string()),
            (at(4), PostKind::Post, "streamed".to_string()),
            (at(3), PostKind::Post, "old, edited".to_string()),
            (at(2), PostKind::Delete, String::new()),
            (at(5), PostKind::Post, "posted while away".to_string()),
        ]
    );
    assert_eq!(sink.dead_letters().len(), 1, "the truncated update");
    let seen = connections.all();
    assert!(seen
        .iter()
        .all(|c| c.headers.get("authorization").unwrap() == "Bearer tok-abc"));
    assert_eq!(seen[0].param("stream"), Some("public"));
    let store = CheckpointStore::open(dir.path()).unwrap();
    assert_eq!(store.load("masto").unwrap().unwrap().cursor, Some(id(5)));
}

#[tokio::test]
async fn a_missing_token_variable_is_named_before_anything_runs() {
    let config = json!({"kind": "mastodon", "name": "masto", "streaming": true,
                        "token_env": "TIDEWATCH_TEST_SURELY_UNSET_TOKEN"});
    let sources = vec![serde_json::from_value::<SourceConfig>(config).unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let error = common::refused_run(sources, dir.path()).await;
    assert!(
        error
            .to_string()
            .contains("TIDEWATCH_TEST_SURELY_UNSET_TOKEN"),
        "{error}"
    );
}
