//! Restarting the service from its state file neither pages again nor loses a pending delivery.

mod support;

use support::{event, settle, wait_for, Harness, Running};
use tidewatch_alert::{AlertError, AlertService};
use tidewatch_model::{AlertState, Severity};

#[tokio::test(start_paused = true)]
async fn a_restart_resumes_pending_deliveries_and_never_pages_twice() {
    let harness = Harness::start().await;
    // First life: PagerDuty is down; the trigger is attempted, fails, and the process stops.
    harness.pagerduty.push(503, &[]);
    let firing = event("story-1", AlertState::Firing, Severity::Critical, 60);
    {
        let service = harness.service();
        service
            .handle_event(&firing, support::ts(60))
            .await
            .unwrap();
        let running = Running::start(&service);
        wait_for("the failed attempt", || {
            harness.pagerduty.requests().len() == 1
        })
        .await;
        running.stop().await;
        assert_eq!(
            service.status().await.pending_deliveries,
            1,
            "trigger still pending"
        );
    }
    // Second life: the same event comes again (offsets were not stored): no new notification;
    // the pending trigger goes out.
    {
        let service = harness.service();
        let again = service
            .handle_event(&firing, support::ts(120))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert!(again.notifications.is_empty());
        let running = Running::start(&service);
        wait_for("the accepted trigger", || {
            harness.pagerduty.accepted().len() == 1
        })
        .await;
        settle().await;
        running.stop().await;
        assert_eq!(service.status().await.pending_deliveries, 0);
    }
    // Third life: a redelivery still pages nobody; the resolve uses the same dedup_key.
    {
        let service = harness.service();
        assert!(
            service
                .handle_event(&firing, support::ts(180))
                .await
                .unwrap()
                .duplicate
        );
        let resolved = event("story-1", AlertState::Resolved, Severity::Critical, 900);
        service
            .handle_event(&resolved, support::ts(900))
            .await
            .unwrap();
        let running = Running::start(&service);
        wait_for("the resolve", || harness.pagerduty.requests().len() == 3).await;
        settle().await;
        running.stop().await;
    }
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
    assert_eq!(
        actions,
        ["trigger", "trigger", "resolve"],
        "one failed, one accepted trigger"
    );
    assert!(bodies.iter().all(|b| b["dedup_key"] == "story-1"));
    assert_eq!(
        harness.pagerduty.accepted().len(),
        2,
        "one trigger and one resolve accepted"
    );
    assert_eq!(
        harness.slack.requests().len(),
        2,
        "fired, resolved: nothing twice"
    );
}

#[tokio::test]
async fn a_corrupt_state_file_stops_the_start() {
    let harness = Harness::start().await;
    std::fs::write(&harness.config.alert.state_path, b"{not json").unwrap();
    let env = harness.env.clone();
    let error =
        AlertService::new(harness.config.clone(), move |name| env.get(name).cloned()).unwrap_err();
    assert!(matches!(error, AlertError::CorruptState { .. }), "{error}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_missing_secret_stops_the_start_naming_the_variable() {
    let harness = Harness::start().await;
    let error = AlertService::new(harness.config.clone(), |name| {
        (name != "TEST_HOOK_SECRET").then(|| "http://127.0.0.1:9/x".to_string())
    })
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "config: receiver[2].secret_env: environment variable TEST_HOOK_SECRET is not set or empty"
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_is_durable_once_it_returns() {
    let harness = Harness::start().await;
    let firing = event("story-1", AlertState::Firing, Severity::Warning, 60);
    let repeated = vec![
        firing.clone(),
        firing.clone(),
        event("story-2", AlertState::Firing, Severity::Info, 70),
    ];
    {
        let service = harness.service();
        let decisions = service
            .handle_events(&repeated, support::ts(80))
            .await
            .unwrap();
        let duplicates: Vec<bool> = decisions.iter().map(|d| d.duplicate).collect();
        assert_eq!(duplicates, [false, true, false]);
    }
    let service = harness.service();
    let pending = service.pending_deliveries().await;
    let stories: Vec<&str> = pending
        .iter()
        .map(|p| p.notification.story_id.as_str())
        .collect();
    assert_eq!(
        stories,
        ["story-1", "story-1", "story-1", "story-2", "story-2"],
        "story-2 is in the cooldown: no page"
    );
    assert!(
        service
            .handle_event(&firing, support::ts(90))
            .await
            .unwrap()
            .duplicate
    );
}
