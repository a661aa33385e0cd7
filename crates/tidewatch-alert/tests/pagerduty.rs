//! PagerDuty Events v2 against a local stand-in: one trigger per story, acknowledge and resolve
//! with the same dedup_key, retries after 429 / 500 without a second incident, 4xx not retried.

mod support;

use std::time::Duration;
use support::{action, event, settle, wait_for, Harness, Running, ROUTING_KEY};
use tidewatch_model::{AlertActionKind, AlertState, Severity};

#[tokio::test(start_paused = true)]
async fn a_firing_delivered_three_times_triggers_once() {
    let harness = Harness::start().await;
    let service = harness.service();
    let firing = event("story-1", AlertState::Firing, Severity::Warning, 60);
    let mut queued = 0;
    for delivery in 0..3 {
        let decision = service
            .handle_event(&firing, support::ts(61 + delivery))
            .await
            .unwrap();
        queued += decision.notifications.len();
    }
    assert_eq!(
        queued, 3,
        "one notification per receiver, from the first delivery only"
    );
    let running = Running::start(&service);
    wait_for("the trigger", || harness.pagerduty.requests().len() == 1).await;
    settle().await;
    running.stop().await;

    let requests = harness.pagerduty.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v2/enqueue");
    let body = requests[0].json();
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["dedup_key"], "story-1");
    assert_eq!(body["routing_key"], ROUTING_KEY);
    assert_eq!(body["payload"]["severity"], "warning");
    assert_eq!(body["payload"]["component"], "acme-air");
    assert_eq!(body["payload"]["source"], "tidewatch");
    assert_eq!(body["payload"]["custom_details"]["negative_share"], 0.41);
    assert_eq!(
        body["payload"]["custom_details"]["first_post_id"],
        "mastodon:1"
    );
    assert_eq!(
        body["links"][0]["href"],
        "https://tidewatch.test/#/stories/story-1"
    );
    assert_eq!(service.status().await.pending_deliveries, 0);
}

#[tokio::test(start_paused = true)]
async fn acknowledge_and_resolve_reuse_the_dedup_key() {
    let harness = Harness::start().await;
    let service = harness.service();
    let running = Running::start(&service);
    service
        .handle_event(
            &event("story-1", AlertState::Firing, Severity::Warning, 60),
            support::ts(60),
        )
        .await
        .unwrap();
    let ack = action("act-1", "story-1", AlertActionKind::Ack, 120);
    service.handle_action(&ack, support::ts(120)).await.unwrap();
    service.handle_action(&ack, support::ts(121)).await.unwrap();
    service
        .handle_event(
            &event("story-1", AlertState::Resolved, Severity::Warning, 600),
            support::ts(600),
        )
        .await
        .unwrap();
    wait_for("trigger, acknowledge, resolve", || {
        harness.pagerduty.requests().len() == 3
    })
    .await;
    settle().await;
    running.stop().await;

    let bodies: Vec<serde_json::Value> = harness
        .pagerduty
        .requests()
        .iter()
        .map(|r| r.json())
        .collect();
    let actions: Vec<&str> = bodies
        .iter()
        .map(|b| b["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "acknowledge", "resolve"]);
    assert!(bodies
        .iter()
        .all(|b| b["dedup_key"] == "story-1" && b["routing_key"] == ROUTING_KEY));
}

#[tokio::test(start_paused = true)]
async fn retries_after_429_and_500_make_exactly_one_incident() {
    let mut harness = Harness::start().await;
    harness.config.alert.retry_max_ms = 10_000;
    harness.pagerduty.push(429, &[("Retry-After", "3")]);
    harness.pagerduty.push(500, &[]);
    let service = harness.service();
    let started = tokio::time::Instant::now();
    let running = Running::start(&service);
    let firing = event("story-1", AlertState::Firing, Severity::Critical, 60);
    service
        .handle_event(&firing, support::ts(60))
        .await
        .unwrap();
    wait_for("the accepted trigger", || {
        harness.pagerduty.accepted().len() == 1
    })
    .await;
    // A redelivery while retrying adds nothing.
    service
        .handle_event(&firing, support::ts(70))
        .await
        .unwrap();
    settle().await;
    running.stop().await;

    let requests = harness.pagerduty.requests();
    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 500, 202]);
    assert!(requests.iter().all(|r| r.json()["dedup_key"] == "story-1"));
    assert!(requests
        .iter()
        .all(|r| r.json()["event_action"] == "trigger"));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(3),
        "Retry-After honoured: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "then a short backoff: {elapsed:?}"
    );
    assert_eq!(service.status().await.pending_deliveries, 0);
}

#[tokio::test(start_paused = true)]
async fn a_400_is_not_retried_and_a_lasting_503_is_given_up() {
    let harness = Harness::start().await;
    harness.pagerduty.push(400, &[]);
    for _ in 0..5 {
        harness.pagerduty.push(503, &[]);
    }
    let service = harness.service();
    let running = Running::start(&service);
    service
        .handle_event(
            &event("story-1", AlertState::Firing, Severity::Warning, 60),
            support::ts(60),
        )
        .await
        .unwrap();
    wait_for("the refused trigger", || {
        harness.pagerduty.requests().len() == 1
    })
    .await;
    service
        .handle_event(
            &event("story-2", AlertState::Firing, Severity::Warning, 60),
            support::ts(3_600),
        )
        .await
        .unwrap();
    wait_for("five attempts", || harness.pagerduty.requests().len() == 6).await;
    settle().await;
    running.stop().await;
    let statuses: Vec<u16> = harness
        .pagerduty
        .requests()
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [400, 503, 503, 503, 503, 503],
        "retry_max_attempts = 5"
    );
    assert_eq!(service.status().await.pending_deliveries, 0);
}
