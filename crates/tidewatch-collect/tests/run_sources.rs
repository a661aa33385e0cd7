//! `run_sources` end to end with polling sources against local servers: posts reach the sink
//! and the checkpoint is saved after them; a restart neither repeats nor skips; a sink that is
//! down is retried; a sink that fails after taking the posts leaves the checkpoint where it was
//! (the restart re-delivers: at least once, no gap); a malformed payload is a dead letter and
//! the source goes on; health and config errors.

mod common;
mod server;
mod ws;

use serde_json::{json, Value};
use server::serve;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidewatch_collect::config::SourceConfig;
use tidewatch_collect::cursor::CheckpointStore;
use tidewatch_collect::health::Health;
use tidewatch_collect::sink::{async_trait, PostSink, SinkError};
use tidewatch_collect::{run_sources, HealthReporter, MemorySink, RunError, RunOptions};
use tidewatch_model::{DeadLetter, Post};
use tokio_util::sync::CancellationToken;
use ws::wait_until;

const LIMIT: Duration = Duration::from_secs(20);

fn hit(id: u64, at: i64) -> Value {
    json!({"title": format!("Acme story {id}"), "author": "zed", "points": 1, "num_comments": 0,
           "created_at_i": at, "_tags": ["story"], "objectID": id.to_string()})
}

type Hits = Arc<Mutex<Vec<Value>>>;

/// An Algolia look-alike: one page with every hit at or after the `numericFilters` bound.
async fn algolia(hits: Vec<Value>) -> (std::net::SocketAddr, Hits, server::Script) {
    let hits: Hits = Arc::new(Mutex::new(hits));
    let served = hits.clone();
    let (addr, script) = serve(move |request| {
        let since = request
            .query
            .iter()
            .find(|(key, _)| key == "numericFilters")
            .map(|(_, value)| value.trim_start_matches("created_at_i>=").parse::<i64>().unwrap());
        let all = served.lock().unwrap().clone();
        let selected: Vec<Value> = all
            .into_iter()
            .filter(|hit| since.is_none_or(|since| hit["created_at_i"].as_i64().unwrap() >= since))
            .collect();
        json!({"hits": selected, "nbHits": selected.len(), "page": 0, "nbPages": 1, "hitsPerPage": 100})
            .to_string()
            .into_bytes()
    })
    .await;
    (addr, hits, script)
}

fn hackernews(addr: std::net::SocketAddr) -> SourceConfig {
    serde_json::from_value(json!({"kind": "hackernews", "name": "hn", "query": "acme",
        "base_url": format!("http://{addr}"), "interval_secs": 1}))
    .unwrap()
}

struct Running {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), RunError>>,
}

fn start(
    source: SourceConfig,
    dir: &std::path::Path,
    sink: Arc<dyn PostSink>,
    health: &HealthReporter,
) -> Running {
    let cancel = CancellationToken::new();
    let mut options = RunOptions::new(dir);
    options.sink_retry_base = Duration::from_millis(10);
    let task = tokio::spawn(run_sources(
        vec![source],
        options,
        sink,
        health.clone(),
        cancel.clone(),
    ));
    Running { cancel, task }
}

impl Running {
    async fn stop(self) -> Result<(), RunError> {
        self.cancel.cancel();
        self.task.await.unwrap()
    }
}

fn ids(posts: &[Post]) -> Vec<String> {
    posts.iter().map(|post| post.source_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_then_checkpoint_and_a_restart_neither_repeats_nor_skips() {
    let (addr, hits, _script) = algolia(vec![hit(1, 100), hit(2, 200), hit(3, 300)]).await;
    let dir = tempfile::tempdir().unwrap();
    let (sink, health) = (MemorySink::new(), HealthReporter::new());
    let run = start(
        hackernews(addr),
        dir.path(),
        Arc::new(sink.clone()),
        &health,
    );
    wait_until("three posts", LIMIT, || sink.posts().len() == 3).await;
    let store = CheckpointStore::open(dir.path()).unwrap();
    wait_until("the checkpoint", LIMIT, || {
        store.load("hn").unwrap().is_some()
    })
    .await;
    let status = health
        .status("hn", tokio::time::Instant::now(), chrono::Utc::now())
        .unwrap();
    assert_eq!((status.health, status.posts_last_hour), (Health::Ok, 3));
    run.stop().await.unwrap();
    assert_eq!(store.load("hn").unwrap().unwrap().created_at_i, Some(300));

    hits.lock().unwrap().push(hit(4, 400));
    let run = start(
        hackernews(addr),
        dir.path(),
        Arc::new(sink.clone()),
        &health,
    );
    wait_until("the new post", LIMIT, || sink.posts().len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    run.stop().await.unwrap();
    assert_eq!(ids(&sink.posts()), ["1", "2", "3", "4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_is_down_is_retried_and_the_posts_arrive_once() {
    let (addr, _hits, _script) = algolia(vec![hit(1, 100), hit(2, 200)]).await;
    let dir = tempfile::tempdir().unwrap();
    let (sink, health) = (MemorySink::new(), HealthReporter::new());
    sink.fail_next(3);
    let run = start(
        hackernews(addr),
        dir.path(),
        Arc::new(sink.clone()),
        &health,
    );
    wait_until("two posts", LIMIT, || sink.posts().len() == 2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    run.stop().await.unwrap();
    assert_eq!(ids(&sink.posts()), ["1", "2"]);
}

/// Takes the posts, then fails fatally: the produce happened but was never acknowledged.
#[derive(Default)]
struct CrashAfterProduce {
    posts: Mutex<Vec<Post>>,
}

#[async_trait]
impl PostSink for CrashAfterProduce {
    async fn publish(&self, posts: Vec<Post>) -> Result<(), SinkError> {
        self.posts.lock().unwrap().extend(posts);
        Err(SinkError::Fatal("broker went away".to_string()))
    }

    async fn dead_letter(&self, _letter: DeadLetter) -> Result<(), SinkError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_sink_error_stops_the_run_and_keeps_the_checkpoint() {
    let (addr, _hits, _script) = algolia(vec![hit(1, 100), hit(2, 200)]).await;
    let dir = tempfile::tempdir().unwrap();
    let health = HealthReporter::new();
    let crashing = Arc::new(CrashAfterProduce::default());
    let run = start(hackernews(addr), dir.path(), crashing.clone(), &health);
    let error = tokio::time::timeout(LIMIT, run.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(error, RunError::Sink(SinkError::Fatal(_))),
        "{error}"
    );
    assert_eq!(crashing.posts.lock().unwrap().len(), 2);
    let store = CheckpointStore::open(dir.path()).unwrap();
    assert_eq!(
        store.load("hn").unwrap(),
        None,
        "no checkpoint without an acknowledged publish"
    );

    let sink = MemorySink::new();
    let run = start(
        hackernews(addr),
        dir.path(),
        Arc::new(sink.clone()),
        &health,
    );
    wait_until("the re-delivery", LIMIT, || sink.posts().len() == 2).await;
    run.stop().await.unwrap();
    assert_eq!(
        ids(&sink.posts()),
        ["1", "2"],
        "no gap: the unacknowledged posts come again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_payload_is_dead_lettered_and_the_source_goes_on() {
    let (addr, _hits, script) = algolia(vec![hit(1, 100)]).await;
    script.push(200, &[], b"<html>maintenance</html>");
    script.push(
        200,
        &[],
        br#"{"hits": [{"objectID": 5, "created_at_i": "soon"}], "nbPages": "#,
    );
    let dir = tempfile::tempdir().unwrap();
    let (sink, health) = (MemorySink::new(), HealthReporter::new());
    let run = start(
        hackernews(addr),
        dir.path(),
        Arc::new(sink.clone()),
        &health,
    );
    wait_until(
        "the post after two bad payloads",
        Duration::from_secs(30),
        || sink.posts().len() == 1,
    )
    .await;
    run.stop().await.unwrap();
    let letters = sink.dead_letters();
    let kinds: Vec<&str> = letters.iter().map(|l| l.reason_kind.as_str()).collect();
    assert_eq!(kinds, ["not_json", "truncated"]);
    assert!(
        letters[0].origin.starts_with("hn http://"),
        "{}",
        letters[0].origin
    );
    assert_eq!(letters[0].original_bytes(), b"<html>maintenance</html>");
    let status = health
        .status("hn", tokio::time::Instant::now(), chrono::Utc::now())
        .unwrap();
    assert_eq!(
        status.health,
        Health::Ok,
        "the success after the failures clears them"
    );
    assert!(
        status.last_error.unwrap().contains("truncated"),
        "the latest failure is kept"
    );
}

#[tokio::test]
async fn config_errors_stop_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let twice: Vec<SourceConfig> = (0..2)
        .map(|_| {
            serde_json::from_value(json!({"kind": "hackernews", "name": "hn", "query": "q"}))
                .unwrap()
        })
        .collect();
    let error = common::refused_run(twice, dir.path()).await;
    assert!(
        matches!(&error, RunError::Config(config) if config.key == "name"),
        "{error}"
    );
    std::fs::write(dir.path().join("hn.json"), b"{torn").unwrap();
    let once =
        vec![
            serde_json::from_value(json!({"kind": "hackernews", "name": "hn", "query": "q"}))
                .unwrap(),
        ];
    let error = common::refused_run(once, dir.path()).await;
    assert!(
        matches!(error, RunError::Checkpoint { .. }),
        "a corrupt checkpoint is never a fresh start: {error}"
    );
}
