//! Silences and snoozes hold back notifications end to end: nothing reaches the local receivers,
//! and the decision says why.

mod support;

use support::{action, event, settle, wait_for, Harness, Running};
use tidewatch_alert::{SilenceConfig, SilenceMatchers, SuppressionReason};
use tidewatch_model::{AlertActionKind, AlertState, Severity};

#[tokio::test(start_paused = true)]
async fn a_silence_holds_back_every_receiver_until_it_ends() {
    // The delivery loop ticks on the wall clock, so the silence is set around it.
    let now = chrono::Utc::now();
    let mut harness = Harness::start().await;
    harness.config.silence.push(SilenceConfig {
        matchers: SilenceMatchers {
            watch: Some("acme-air".into()),
            title_contains: Some("BAGS".into()),
            ..SilenceMatchers::default()
        },
        starts_at: now - chrono::Duration::hours(1),
        ends_at: now + chrono::Duration::hours(1),
        comment: "baggage system migration".into(),
    });
    let service = harness.service();
    let running = Running::start(&service);
    let firing = event("story-1", AlertState::Firing, Severity::Critical, 60);
    let decision = service.handle_event(&firing, now).await.unwrap();
    assert!(decision.notifications.is_empty());
    let receivers: Vec<&str> = decision
        .suppressed
        .iter()
        .map(|s| s.receiver.as_str())
        .collect();
    assert_eq!(receivers, ["pd", "slack", "hook"]);
    let silenced = SuppressionReason::Silenced {
        silence: 0,
        comment: "baggage system migration".into(),
    };
    assert!(decision.suppressed.iter().all(|s| s.reason == silenced));
    settle().await;
    assert!(harness.pagerduty.requests().is_empty());
    assert!(harness.slack.requests().is_empty());
    assert!(harness.webhook.requests().is_empty());

    // The story still fires after the silence: the tick pages it, once.
    let ends_at = now + chrono::Duration::hours(1);
    let before = service
        .tick(ends_at - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert!(before.notifications.is_empty());
    let after = service.tick(ends_at).await.unwrap();
    assert_eq!(after.notifications.len(), 1);
    let later = service
        .tick(ends_at + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert!(later.notifications.is_empty());
    wait_for("the deferred page", || {
        harness.pagerduty.requests().len() == 1
    })
    .await;
    settle().await;
    running.stop().await;
    assert_eq!(harness.pagerduty.requests().len(), 1);
    assert_eq!(
        harness.pagerduty.requests()[0].json()["dedup_key"],
        "story-1"
    );
}

#[tokio::test(start_paused = true)]
async fn a_snooze_holds_back_updates_until_unsnoozed() {
    let harness = Harness::start().await;
    let service = harness.service();
    let running = Running::start(&service);
    let mut story = event("story-2", AlertState::Firing, Severity::Warning, 60);
    story.posts = 10;
    service.handle_event(&story, support::ts(60)).await.unwrap();
    let snooze = action("act-1", "story-2", AlertActionKind::Snooze, 100);
    service
        .handle_action(&snooze, support::ts(100))
        .await
        .unwrap();
    story.state = AlertState::Updated;
    story.severity = Severity::Critical;
    story.posts = 40;
    story.fired_at = support::ts(200);
    let held = service
        .handle_event(&story, support::ts(200))
        .await
        .unwrap();
    assert!(held.notifications.is_empty());
    let until = support::ts(100 + 3_600);
    assert!(held
        .suppressed
        .iter()
        .all(|s| s.reason == SuppressionReason::Snoozed { until }));
    assert_eq!(held.suppressed.len(), 3);
    wait_for("fired + snoozed on slack", || {
        harness.slack.requests().len() == 2
    })
    .await;
    settle().await;
    assert_eq!(
        harness.pagerduty.requests().len(),
        1,
        "only the first trigger"
    );

    let unsnooze = action("act-2", "story-2", AlertActionKind::Unsnooze, 300);
    service
        .handle_action(&unsnooze, support::ts(300))
        .await
        .unwrap();
    story.posts = 90;
    story.fired_at = support::ts(400);
    service
        .handle_event(&story, support::ts(400))
        .await
        .unwrap();
    wait_for("the severity update", || {
        harness.pagerduty.requests().len() == 2
    })
    .await;
    settle().await;
    running.stop().await;
    let update = harness.pagerduty.requests()[1].json();
    assert_eq!(update["event_action"], "trigger");
    assert_eq!(update["dedup_key"], "story-2");
    assert_eq!(update["payload"]["severity"], "critical");
    let slack_headers: Vec<String> = harness
        .slack
        .requests()
        .iter()
        .map(|r| {
            r.json()["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(slack_headers.len(), 4, "{slack_headers:?}");
    assert!(slack_headers[2].contains("unsnoozed"));
    assert!(slack_headers[3].contains("Story growing"));
}
