//! Throughput measurements (ignored by default; run with `--ignored --nocapture`): Jetstream
//! events through `run_sources` into an in-memory sink, and signed webhook batches. They print
//! posts per second and check that every post arrived exactly once.

mod ws;

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tidewatch_collect::config::SourceConfig;
use tidewatch_collect::sink::MemorySink;
use tidewatch_collect::webhook::{
    ingest_router_with, sign, IngestSettings, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use tidewatch_collect::{run_sources, HealthReporter, RunOptions};
use tokio_util::sync::CancellationToken;
use ws::{serve_ws, wait_until, End};

const EVENTS: usize = 50_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn jetstream_events_per_second() {
    let base = chrono::Utc::now().timestamp_micros() - 60_000_000;
    let events: Vec<String> = (0..EVENTS)
        .map(|i| {
            json!({"did": "did:plc:bench", "time_us": base + i as i64, "kind": "commit",
                   "commit": {"rev": "r", "operation": "create", "collection": "app.bsky.feed.post",
                              "rkey": format!("k{i}"), "cid": "c",
                              "record": {"text": format!("post number {i} about acme air and lost bags"),
                                         "langs": ["en"], "createdAt": "2026-11-20T10:00:00.000Z"}}})
            .to_string()
        })
        .collect();
    let (addr, _) = serve_ws(move |_, _| (events.clone(), End::Hold)).await;
    let source: SourceConfig = serde_json::from_value(json!({"kind": "bluesky", "name": "bsky",
        "base_url": format!("ws://{addr}")}))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (sink, cancel) = (MemorySink::new(), CancellationToken::new());
    let started = Instant::now();
    let run = tokio::spawn(run_sources(
        vec![source],
        RunOptions::new(dir.path()),
        Arc::new(sink.clone()),
        HealthReporter::new(),
        cancel.clone(),
    ));
    wait_until("every event", Duration::from_secs(300), || {
        sink.post_count() >= EVENTS
    })
    .await;
    let elapsed = started.elapsed();
    cancel.cancel();
    run.await.unwrap().unwrap();
    let posts = sink.posts();
    let unique: std::collections::HashSet<&str> =
        posts.iter().map(|p| p.source_id.as_str()).collect();
    assert_eq!((posts.len(), unique.len()), (EVENTS, EVENTS));
    println!(
        "jetstream: {EVENTS} events in {:.2} s = {:.0} posts/s (batches of 500, checkpoint per batch)",
        elapsed.as_secs_f64(),
        EVENTS as f64 / elapsed.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn webhook_posts_per_second() {
    let sink = MemorySink::new();
    let settings = IngestSettings {
        name: "push".to_string(),
        hmac_secret: Some(b"s3cret".to_vec()),
        bearer_token: None,
        max_body_bytes: 4 << 20,
        max_skew: Duration::from_secs(300),
        max_batch: 1000,
        health: None,
    };
    let router = ingest_router_with(settings, Arc::new(sink.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::new();
    let batches = EVENTS / 1000;
    let started = Instant::now();
    for batch in 0..batches {
        let posts: Vec<serde_json::Value> = (0..1000)
            .map(|i| {
                json!({"v": 1, "source": "partner", "source_id": format!("{batch}-{i}"),
                            "kind": "post", "created_at": "2026-11-20T10:00:00Z",
                            "text": "post about acme air and lost bags"})
            })
            .collect();
        let body = serde_json::to_vec(&posts).unwrap();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let response = client
            .post(format!("http://{addr}/ingest"))
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, sign(b"s3cret", &timestamp, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    let elapsed = started.elapsed();
    assert_eq!(sink.posts().len(), batches * 1000);
    println!(
        "webhook: {} posts in {batches} signed batches in {:.2} s = {:.0} posts/s",
        batches * 1000,
        elapsed.as_secs_f64(),
        (batches * 1000) as f64 / elapsed.as_secs_f64()
    );
}
