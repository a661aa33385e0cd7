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
            // Status 4 is posted as the client connects: the catch-up after the connection
            // has it, and its `update` on the stream is then a repeat, dropped.
            let mut all = on_server.lock().unwrap();
            all.push(status(4, "streamed"));
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
        _ => {
            // Posted while the client was away: the catch-up after reconnecting has it.
            on_server
                .lock()
                .unwrap()
                .push(status(5, "posted while away"));
            (Vec::new(), End::Hold)
        }
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
    wait_until("five posts", limit, || sink.posts().len() >= 5).await;
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

/// A whole instance on one server: the timeline (`min_id`, `max_id`, or the newest page),
/// `GET /api/v1/statuses/:id` (404 once deleted), the SSE stream (`sse` frames, then the
/// connection ends), and a WebSocket endpoint that refuses every upgrade (503).
async fn full_instance(
    initial: Vec<Value>,
    sse: Arc<Mutex<Vec<String>>>,
) -> (std::net::SocketAddr, Statuses, server::Script) {
    let statuses: Statuses = Arc::new(Mutex::new(initial));
    let served = statuses.clone();
    let (addr, script) = serve(move |request| {
        let path = request.path.as_str();
        if path == "/api/v1/streaming/public" {
            let body: String = sse.lock().unwrap().drain(..).collect();
            return server::Reply {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body: body.into_bytes(),
            };
        }
        if path == "/api/v1/streaming" {
            return server::Reply {
                status: 503,
                headers: Vec::new(),
                body: b"stream down".to_vec(),
            };
        }
        if let Some(id) = path.strip_prefix("/api/v1/statuses/") {
            let all = served.lock().unwrap();
            return match all.iter().find(|s| s["id"] == id) {
                Some(found) => found.to_string().into_bytes().into(),
                None => server::Reply {
                    status: 404,
                    headers: Vec::new(),
                    body: b"{\"error\":\"Record not found\"}".to_vec(),
                },
            };
        }
        assert_eq!(path, "/api/v1/timelines/public");
        let max_id = request
            .query
            .iter()
            .find(|(k, _)| k == "max_id")
            .map(|(_, v)| v.clone());
        match max_id {
            None => timeline(&served, &request.query).into(),
            Some(max) => {
                let limit: usize = request
                    .query
                    .iter()
                    .find(|(k, _)| k == "limit")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap();
                let mut older: Vec<Value> = served
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|s| s["id"].as_str().unwrap() < max.as_str())
                    .cloned()
                    .collect();
                older.reverse();
                older.truncate(limit);
                Value::Array(older).to_string().into_bytes().into()
            }
        }
    })
    .await;
    (addr, statuses, script)
}

fn sse_frame(event: &str, data: &str) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// The SSE transport carries `update`, `status.update` and `delete` like the WebSocket one
/// (heartbeat comments skipped, a bad frame dead-lettered), with the bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_over_server_sent_events() {
    std::env::set_var("TIDEWATCH_TEST_MASTODON_SSE_TOKEN", "tok-sse");
    let sse = Arc::new(Mutex::new(vec![
        ":thump\n\n".to_string(),
        sse_frame("update", &status(4, "over sse").to_string()),
        sse_frame("status.update", &status(3, "old, edited").to_string()),
        sse_frame("delete", &id(2)),
        sse_frame("update", "{\"id\": "),
    ]));
    let (addr, _statuses, script) =
        full_instance((1..=3).map(|n| status(n, "old")).collect(), sse).await;
    let config = json!({"kind": "mastodon", "name": "masto-sse", "base_url": format!("http://{addr}"),
                        "limit": 2, "streaming": true, "streaming_transport": "sse",
                        "token_env": "TIDEWATCH_TEST_MASTODON_SSE_TOKEN"});
    let sources = vec![serde_json::from_value::<SourceConfig>(config).unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let (sink, cancel) = (MemorySink::new(), CancellationToken::new());
    let run = tokio::spawn(run_sources(
        sources,
        RunOptions::new(dir.path()),
        Arc::new(sink.clone()),
        HealthReporter::new(),
        cancel.clone(),
    ));
    wait_until("five posts", Duration::from_secs(20), || {
        sink.posts().len() >= 5
    })
    .await;
    cancel.cancel();
    run.await.unwrap().unwrap();
    let at = |n| format!("127.0.0.1/{}", id(n));
    let summary: Vec<(String, PostKind, String)> = sink
        .posts()
        .iter()
        .map(|p| (p.source_id.clone(), p.kind, p.text.clone()))
        .collect();
    assert_eq!(
        summary[..5],
        [
            (at(2), PostKind::Post, "old".to_string()),
            (at(3), PostKind::Post, "old".to_string()),
            (at(4), PostKind::Post, "over sse".to_string()),
            (at(3), PostKind::Post, "old, edited".to_string()),
            (at(2), PostKind::Delete, String::new()),
        ]
    );
    assert_eq!(sink.dead_letters().len(), 1, "the truncated update");
    let streams: Vec<server::Request> = script
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/streaming/public")
        .collect();
    assert_eq!(streams[0].header("authorization"), Some("Bearer tok-sse"));
    assert_eq!(streams[0].header("accept"), Some("text/event-stream"));
}

/// While the stream cannot connect, REST collects at `interval_secs`: neither at the pace of
/// the reconnect back-off (1 s, 2 s, 4 s …) nor only when a reconnect is tried.
#[tokio::test(start_paused = true)]
async fn while_the_stream_is_down_rest_follows_the_interval() {
    std::env::set_var("TIDEWATCH_TEST_MASTODON_DOWN_TOKEN", "tok");
    let sse = Arc::new(Mutex::new(Vec::new()));
    let (addr, statuses, script) =
        full_instance((1..=3).map(|n| status(n, "old")).collect(), sse).await;
    let config = json!({"kind": "mastodon", "name": "masto-down", "base_url": format!("http://{addr}"),
                        "limit": 40, "streaming": true, "streaming_url": format!("ws://{addr}"),
                        "interval_secs": 30, "token_env": "TIDEWATCH_TEST_MASTODON_DOWN_TOKEN"});
    let sources = vec![serde_json::from_value::<SourceConfig>(config).unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let (sink, cancel) = (MemorySink::new(), CancellationToken::new());
    let run = tokio::spawn(run_sources(
        sources,
        RunOptions::new(dir.path()),
        Arc::new(sink.clone()),
        HealthReporter::new(),
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(100)).await;
    statuses
        .lock()
        .unwrap()
        .push(status(4, "posted while the stream is down"));
    tokio::time::sleep(Duration::from_secs(200)).await;
    cancel.cancel();
    run.await.unwrap().unwrap();

    let requests = script.requests();
    let polls: Vec<tokio::time::Instant> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/timelines/public")
        .map(|r| r.at)
        .collect();
    let attempts = requests
        .iter()
        .filter(|r| r.path == "/api/v1/streaming")
        .count();
    assert!(attempts >= 5, "reconnects keep being tried: {attempts}");
    assert!(
        (9..=11).contains(&polls.len()),
        "about one REST poll per 30 s over 300 s: {}",
        polls.len()
    );
    for pair in polls.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(29) && gap <= Duration::from_secs(31),
            "REST polls {gap:?} apart"
        );
    }
    assert!(
        sink.posts()
            .iter()
            .any(|p| p.text == "posted while the stream is down"),
        "collected over REST while down"
    );
}

/// REST mode has no delete or edit events: every `recheck_secs` the recent statuses are
/// re-read; a deleted one comes once as a delete (confirmed by a 404), an edited one as a new
/// version, and nothing repeats on the next pass.
#[tokio::test(start_paused = true)]
async fn rest_mode_rechecks_recent_statuses_for_deletions_and_edits() {
    let sse = Arc::new(Mutex::new(Vec::new()));
    let (addr, statuses, script) =
        full_instance((1..=5).map(|n| status(n, "first")).collect(), sse).await;
    let config = json!({"kind": "mastodon", "name": "masto", "base_url": format!("http://{addr}"),
                        "limit": 2, "recheck_secs": 600, "recheck_window_secs": 86400 * 3650});
    let SourceConfig::Mastodon(source) = serde_json::from_value(config).unwrap() else {
        panic!()
    };
    let mut poller = Poller::new(
        tidewatch_collect::source::PollSource::Mastodon(source),
        None,
    )
    .unwrap();
    let first = poller.poll(common::observed_at()).await.unwrap();
    assert_eq!(first.posts.len(), 2, "the newest page: 4 and 5");
    assert_eq!(first.checkpoint.recent.len(), 2);
    poller.commit(first.checkpoint);

    {
        let mut all = statuses.lock().unwrap();
        all.retain(|s| s["id"] != id(4).as_str());
        all[3] = status(5, "first, edited");
        all.push(status(6, "new"));
    }
    // Not due yet: only the new status.
    let early = poller.poll(common::observed_at()).await.unwrap();
    let texts: Vec<(PostKind, String)> = early
        .posts
        .iter()
        .map(|p| (p.kind, p.text.clone()))
        .collect();
    assert_eq!(texts, [(PostKind::Post, "new".to_string())]);
    poller.commit(early.checkpoint);

    tokio::time::sleep(Duration::from_secs(600)).await;
    let due = poller.poll(common::observed_at()).await.unwrap();
    let changes: Vec<(String, PostKind, String)> = due
        .posts
        .iter()
        .map(|p| (p.source_id.clone(), p.kind, p.text.clone()))
        .collect();
    let at = |n| format!("127.0.0.1/{}", id(n));
    assert_eq!(
        changes,
        [
            (at(5), PostKind::Post, "first, edited".to_string()),
            (at(4), PostKind::Delete, String::new()),
        ]
    );
    common::assert_all_valid(&due.posts);
    assert!(script
        .requests()
        .iter()
        .any(|r| r.path == format!("/api/v1/statuses/{}", id(4))));
    poller.commit(due.checkpoint);

    tokio::time::sleep(Duration::from_secs(600)).await;
    let again = poller.poll(common::observed_at()).await.unwrap();
    assert!(again.posts.is_empty(), "{:?}", ids(&again.posts));
}
