//! Generic webhook against a local receiver: signed JSON that verifies with the public helper,
//! and fails to verify once the body, timestamp or secret is changed.

mod support;

use chrono::Utc;
use std::time::Duration;
use support::{action, event, settle, wait_for, Harness, Running, WEBHOOK_SECRET};
use tidewatch_alert::webhook::{self, SignatureError};
use tidewatch_model::{AlertActionKind, AlertEvent, AlertState, Severity};

#[tokio::test(start_paused = true)]
async fn webhook_deliveries_are_signed_and_verifiable() {
    let harness = Harness::start().await;
    let service = harness.service();
    let running = Running::start(&service);
    let firing = event("story-9", AlertState::Firing, Severity::Critical, 60);
    service
        .handle_event(&firing, support::ts(60))
        .await
        .unwrap();
    let snooze = action("act-9", "story-9", AlertActionKind::Snooze, 90);
    service
        .handle_action(&snooze, support::ts(90))
        .await
        .unwrap();
    wait_for("two webhook calls", || {
        harness.webhook.requests().len() == 2
    })
    .await;
    settle().await;
    running.stop().await;

    let requests = harness.webhook.requests();
    assert_eq!(requests.len(), 2);
    let tolerance = Duration::from_secs(300);
    for request in &requests {
        assert_eq!(request.path, "/hooks/tidewatch");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let timestamp = request.header(webhook::TIMESTAMP_HEADER).unwrap();
        let signature = request.header(webhook::SIGNATURE_HEADER).unwrap();
        assert!(signature.starts_with("sha256=") && signature.len() == 7 + 64);
        let verified = webhook::verify_signature(
            WEBHOOK_SECRET.as_bytes(),
            timestamp,
            &request.body,
            signature,
            Utc::now(),
            tolerance,
        );
        assert_eq!(verified, Ok(()));

        let mut tampered = request.body.clone();
        let at = tampered.len() / 2;
        tampered[at] = tampered[at].wrapping_add(1);
        let verify = |secret: &[u8], timestamp: &str, body: &[u8]| {
            webhook::verify_signature(secret, timestamp, body, signature, Utc::now(), tolerance)
        };
        assert_eq!(
            verify(WEBHOOK_SECRET.as_bytes(), timestamp, &tampered),
            Err(SignatureError::Mismatch)
        );
        let shifted = (timestamp.parse::<i64>().unwrap() - 1).to_string();
        assert_eq!(
            verify(WEBHOOK_SECRET.as_bytes(), &shifted, &request.body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"wrong secret", timestamp, &request.body),
            Err(SignatureError::Mismatch)
        );
        let body = request.json();
        assert_eq!(
            request.header(webhook::DELIVERY_HEADER),
            body["delivery_id"].as_str(),
            "the delivery id is in the header and the body"
        );
        assert_eq!(body["link"], "https://tidewatch.test/#/stories/story-9");
    }
    let alert = requests[0].json();
    assert_eq!(alert["type"], "alert");
    let sent: AlertEvent = serde_json::from_value(alert["event"].clone()).unwrap();
    assert_eq!(sent, firing);
    let forwarded = requests[1].json();
    assert_eq!(forwarded["type"], "action");
    assert_eq!(forwarded["action"]["action"], "snooze");
    assert_eq!(forwarded["action"]["by"], "alice");
}
