//! The service's metrics: `tidewatch_alert_notifications_total{receiver,kind,outcome}` for each
//! outcome, and the pending-deliveries gauge. Its own test binary, because the recorder is global.

mod support;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use support::{event, settle, wait_for, Harness, Running};
use tidewatch_model::{AlertState, Severity};

/// One snapshot (taking it resets the debugging recorder's values).
type Metrics = Vec<(CompositeKey, DebugValue)>;

fn counter(metrics: &Metrics, receiver: &str, kind: &str, outcome: &str) -> u64 {
    metrics
        .iter()
        .filter(|(key, _)| key.kind() == MetricKind::Counter)
        .filter(|(key, _)| key.key().name() == "tidewatch_alert_notifications_total")
        .filter(|(key, _)| {
            let labels: Vec<(&str, &str)> = key
                .key()
                .labels()
                .map(|label| (label.key(), label.value()))
                .collect();
            labels.contains(&("receiver", receiver))
                && labels.contains(&("kind", kind))
                && labels.contains(&("outcome", outcome))
        })
        .map(|(_, value)| match value {
            DebugValue::Counter(count) => *count,
            other => panic!("not a counter: {other:?}"),
        })
        .sum()
}

fn pending_gauge(metrics: &Metrics) -> Option<f64> {
    metrics
        .iter()
        .find(|(key, _)| key.key().name() == "tidewatch_alert_pending_deliveries")
        .map(|(_, value)| match value {
            DebugValue::Gauge(gauge) => gauge.into_inner(),
            other => panic!("not a gauge: {other:?}"),
        })
}

#[tokio::test(start_paused = true)]
async fn outcomes_are_counted_per_receiver_and_kind() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let mut harness = Harness::start().await;
    harness.config.alert.cooldown_minutes = 60;
    harness.pagerduty.push(500, &[]);
    harness.slack.push(404, &[]);
    let service = harness.service();
    let running = Running::start(&service);
    service
        .handle_event(
            &event("story-1", AlertState::Firing, Severity::Warning, 60),
            support::ts(60),
        )
        .await
        .unwrap();
    // A second story within the cooldown: its page is suppressed.
    service
        .handle_event(
            &event("story-2", AlertState::Firing, Severity::Warning, 120),
            support::ts(120),
        )
        .await
        .unwrap();
    wait_for("the trigger after a retry", || {
        harness.pagerduty.accepted().len() == 1
    })
    .await;
    wait_for("both webhooks", || harness.webhook.accepted().len() == 2).await;
    wait_for("both slack attempts", || {
        harness.slack.requests().len() == 2
    })
    .await;
    settle().await;
    running.stop().await;

    let snapshot: Metrics = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect();
    let metrics = &snapshot;
    assert_eq!(counter(metrics, "pd", "pagerduty", "retried"), 1);
    assert_eq!(counter(metrics, "pd", "pagerduty", "delivered"), 1);
    assert_eq!(counter(metrics, "pd", "pagerduty", "suppressed"), 1);
    assert_eq!(
        counter(metrics, "slack", "slack", "rejected"),
        1,
        "404 is fatal"
    );
    assert_eq!(counter(metrics, "slack", "slack", "delivered"), 1);
    assert_eq!(counter(metrics, "hook", "webhook", "delivered"), 2);
    assert_eq!(pending_gauge(metrics), Some(0.0));
}
