//! The metrics and health of a collect run, seen through a recording metrics backend (one test
//! in this binary, as the recorder is global): a Hacker News source that gets a non-JSON page
//! then good ones, and a webhook served by `run_sources` on its `listen` address, reached over
//! real HTTP with the signature recipe of the README.

mod server;
mod ws;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::json;
use server::serve;
use std::sync::Arc;
use std::time::Duration;
use tidewatch_collect::config::SourceConfig;
use tidewatch_collect::health::Health;
use tidewatch_collect::webhook::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use tidewatch_collect::{run_sources, HealthReporter, MemorySink, RunOptions};
use tokio_util::sync::CancellationToken;
use ws::wait_until;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The value of metric `name` for `source`, if recorded.
fn value(snapshot: &[(String, String, DebugValue)], name: &str, source: &str) -> Option<f64> {
    snapshot
        .iter()
        .find(|(metric, label, _)| metric == name && label == source)
        .map(|(_, _, value)| match value {
            DebugValue::Counter(count) => *count as f64,
            DebugValue::Gauge(gauge) => gauge.into_inner(),
            DebugValue::Histogram(_) => f64::NAN,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_of_a_run() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let snapshot = move || -> Vec<(String, String, DebugValue)> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let key = key.key().clone();
                let source = key
                    .labels()
                    .find(|label| label.key() == "source")
                    .map(|label| label.value().to_string())
                    .unwrap_or_default();
                (key.name().to_string(), source, value)
            })
            .collect()
    };

    let now = chrono::Utc::now().timestamp();
    let (addr, script) = serve(move |_| {
        json!({"hits": [{"title": "Acme", "author": "a", "created_at_i": now - 30,
                         "_tags": ["story"], "objectID": "1"}], "nbPages": 1})
        .to_string()
        .into_bytes()
    })
    .await;
    script.push(200, &[], b"<html>down</html>");
    std::env::set_var("TIDEWATCH_TEST_WEBHOOK_SECRET", "s3cret");
    let port = free_port();
    let sources: Vec<SourceConfig> = vec![
        serde_json::from_value(json!({"kind": "hackernews", "name": "hn", "query": "acme",
            "base_url": format!("http://{addr}"), "interval_secs": 1}))
        .unwrap(),
        serde_json::from_value(json!({"kind": "webhook", "name": "push",
            "listen": format!("127.0.0.1:{port}"), "hmac_secret_env": "TIDEWATCH_TEST_WEBHOOK_SECRET"}))
        .unwrap(),
    ];
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
        health.clone(),
        cancel.clone(),
    ));
    wait_until("the hacker news post", Duration::from_secs(20), || {
        sink.posts().len() == 1
    })
    .await;

    let body = json!({"v": 1, "source": "partner", "source_id": "42", "kind": "post",
                      "created_at": "2026-11-20T10:00:00Z", "text": "hi"})
    .to_string();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/ingest"))
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(
            SIGNATURE_HEADER,
            sign(b"s3cret", &timestamp, body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(sink.posts().len(), 2);
    cancel.cancel();
    run.await.unwrap().unwrap();

    let metrics = snapshot();
    let get = |name: &str, source: &str| value(&metrics, name, source);
    assert_eq!(get("tidewatch_collect_posts_total", "hn"), Some(1.0));
    assert_eq!(get("tidewatch_collect_posts_total", "push"), Some(1.0));
    assert!(get("tidewatch_collect_requests_total", "hn").unwrap() >= 1.0);
    assert_eq!(get("tidewatch_collect_dead_letters_total", "hn"), Some(1.0));
    let errors = metrics
        .iter()
        .filter(|(name, source, _)| name == "tidewatch_collect_errors_total" && source == "hn")
        .count();
    assert_eq!(errors, 1, "one error series: not_json");
    let last = get("tidewatch_collect_last_success_timestamp_seconds", "hn").unwrap();
    assert!((last - now as f64).abs() < 60.0, "{last}");
    let lag = get("tidewatch_collect_cursor_lag_seconds", "hn").unwrap();
    assert!(
        (29.0..120.0).contains(&lag),
        "the post is 30 s old: lag {lag}"
    );

    let statuses = health.snapshot(tokio::time::Instant::now(), chrono::Utc::now());
    let names: Vec<(&str, Health, u64)> = statuses
        .iter()
        .map(|s| (s.name.as_str(), s.health, s.posts_last_hour))
        .collect();
    assert_eq!(names, [("hn", Health::Ok, 1), ("push", Health::Ok, 1)]);
}
