//! The live alert stream against the real ClickHouse: its events carry ids, and a client that
//! reconnects with `Last-Event-ID` gets the stories that changed while it was away, which a
//! fresh connection (looking back only a few seconds) does not.

mod support;

use std::time::Duration as StdDuration;

use axum::http::StatusCode;
use chrono::Utc;
use http_body_util::BodyExt;
use support::{story_event, TestApi, VIEWER};
use tidewatch_model::AlertState;

/// Everything the stream sends within `wait` to a viewer, with `Last-Event-ID` when given.
async fn stream_text(api: &TestApi, last_event_id: Option<&str>, wait: StdDuration) -> String {
    let mut request = axum::http::Request::builder()
        .uri("/api/v1/alerts/stream")
        .header("authorization", format!("Bearer {VIEWER}"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let request = request.body(axum::body::Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(api.app.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let deadline = tokio::time::Instant::now() + wait;
    let mut text = String::new();
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    text.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Ok(Some(Err(error))) => panic!("the stream failed: {error}"),
            Ok(None) | Err(_) => return text,
        }
    }
}

#[tokio::test]
async fn a_reconnecting_client_gets_what_changed_while_it_was_away() {
    let Some(api) = TestApi::start("stream_resume").await else {
        return;
    };
    let before = u64::try_from(Utc::now().timestamp_micros()).unwrap();
    api.store
        .insert_alert_events(&[story_event("away-1", AlertState::Firing, 10)])
        .await
        .unwrap();
    // Longer ago than a fresh connection looks back (10 s).
    tokio::time::sleep(StdDuration::from_secs(11)).await;
    let fresh = stream_text(&api, None, StdDuration::from_millis(2500)).await;
    assert!(
        !fresh.contains("away-1"),
        "a fresh connection replayed: {fresh}"
    );

    let resumed = stream_text(
        &api,
        Some(&before.to_string()),
        StdDuration::from_millis(2500),
    )
    .await;
    assert!(resumed.contains("event: alert"), "{resumed}");
    assert!(resumed.contains("\"story_id\":\"away-1\""), "{resumed}");
    let id: u64 = resumed
        .lines()
        .find_map(|line| line.strip_prefix("id:"))
        .expect("the event has an id")
        .trim()
        .parse()
        .expect("the id is a version");
    assert!(id > before, "id {id} is not after {before}");
    // An id from more than an hour ago resumes an hour back, which still covers this story.
    let long_away = (before - 2 * 3_600_000_000).to_string();
    let resumed_long = stream_text(&api, Some(&long_away), StdDuration::from_millis(2500)).await;
    assert!(
        resumed_long.contains("\"story_id\":\"away-1\""),
        "{resumed_long}"
    );
}
