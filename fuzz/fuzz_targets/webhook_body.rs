//! The webhook ingest endpoint (`POST /ingest`, authenticated): any body is answered without a
//! 5xx, every post it accepts is canonical, and every dead letter round-trips.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tidewatch_collect::webhook::{ingest_router_with, IngestSettings};
use tidewatch_collect::MemorySink;
use tidewatch_model::DeadLetter;
use tower::ServiceExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let settings = IngestSettings {
        name: "fuzz".into(),
        hmac_secret: None,
        bearer_token: Some("fuzz-token".into()),
        max_body_bytes: 1 << 20,
        max_skew: Duration::from_secs(300),
        max_batch: 100,
        health: None,
    };
    let sink = Arc::new(MemorySink::new());
    let router = ingest_router_with(settings, sink.clone());
    let request = Request::post("/ingest")
        .header("authorization", "Bearer fuzz-token")
        .header("content-type", "application/json")
        .body(Body::from(data.to_vec()))
        .unwrap();
    let response = runtime().block_on(router.oneshot(request)).unwrap();
    assert!(
        !response.status().is_server_error(),
        "the webhook answered {}",
        response.status()
    );
    sink.posts()
        .iter()
        .for_each(common::assert_post_is_canonical);
    for letter in sink.dead_letters() {
        let again: DeadLetter = serde_json::from_str(&letter.to_json()).unwrap();
        assert_eq!(again, letter);
    }
});
