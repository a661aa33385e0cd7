//! Measures the alert policy (pure, events per second) and the service's durable
//! `handle_event` (state file written atomically on every call) on this machine.
//!
//! `cargo run --release -p tidewatch-alert --example alert_throughput`

use chrono::{Duration, TimeZone, Utc};
use std::time::Instant;
use tidewatch_alert::{
    AlertPolicy, AlertService, NotifyConfig, ReceiverConfig, ReceiverKind, RouteConfig,
};
use tidewatch_model::{AlertEvent, AlertState, Severity};

fn receiver(name: &str, kind: ReceiverKind, env: &str) -> ReceiverConfig {
    ReceiverConfig {
        name: name.to_string(),
        kind,
        url: (kind != ReceiverKind::Slack).then(|| "http://127.0.0.1:9/x".to_string()),
        routing_key_env: (kind == ReceiverKind::Pagerduty).then(|| env.to_string()),
        webhook_url_env: (kind == ReceiverKind::Slack).then(|| env.to_string()),
        secret_env: (kind == ReceiverKind::Webhook).then(|| env.to_string()),
        dashboard_url: None,
    }
}

fn config(state_path: String) -> NotifyConfig {
    let mut config = NotifyConfig {
        receiver: vec![
            receiver("pd", ReceiverKind::Pagerduty, "K"),
            receiver("slack", ReceiverKind::Slack, "S"),
            receiver("hook", ReceiverKind::Webhook, "H"),
        ],
        route: vec![RouteConfig {
            watches: Vec::new(),
            min_severity: Severity::Info,
            receivers: vec!["pd".into(), "slack".into(), "hook".into()],
            continue_matching: false,
        }],
        ..NotifyConfig::default()
    };
    config.alert.state_path = state_path;
    config.alert.outbox_capacity = 1_000_000;
    config
}

/// `count` events over `stories` stories of 20 watches: a firing, then updates.
fn events(count: usize, stories: usize) -> Vec<AlertEvent> {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
    (0..count)
        .map(|index| {
            let story = index % stories;
            let round = index / stories;
            AlertEvent {
                v: 1,
                story_id: format!("story-{story}"),
                watch: format!("watch-{}", story % 20),
                state: if round == 0 {
                    AlertState::Firing
                } else {
                    AlertState::Updated
                },
                severity: if round < 3 {
                    Severity::Warning
                } else {
                    Severity::Critical
                },
                fired_at: start + Duration::seconds(index as i64),
                first_post_at: start,
                title: format!("story {story} about lost bags"),
                terms: vec!["lost".into(), "bags".into()],
                posts: 10 + round as u64 * 7,
                negative_share: 0.4,
                score: 8.0,
                baseline: 1.0,
                threshold: 6.0,
                post_ids: (0..10).map(|p| format!("post-{story}-{p}")).collect(),
                first_post_id: format!("post-{story}-0"),
            }
        })
        .collect()
}

fn main() {
    let folder = tempfile::tempdir().unwrap();
    let config = config(folder.path().join("alert.json").display().to_string());

    let stream = events(200_000, 1_000);
    let mut policy = AlertPolicy::default();
    let mut notifications = 0usize;
    let started = Instant::now();
    for event in &stream {
        notifications += policy
            .apply_event(&config, event, event.fired_at)
            .notifications
            .len();
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "policy: {} events over 1000 stories in {:.3} s = {:.0} events/s ({} notifications)",
        stream.len(),
        elapsed,
        stream.len() as f64 / elapsed,
        notifications
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let service =
            AlertService::new(config.clone(), |_| Some("http://127.0.0.1:9/x".into())).unwrap();
        let stream = events(2_000, 100);
        let started = Instant::now();
        for event in &stream {
            service.handle_event(event, event.fired_at).await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        let status = service.status().await;
        let size = std::fs::metadata(&config.alert.state_path).unwrap().len();
        println!(
            "service: {} durable handle_event calls (100 stories) in {:.3} s = {:.0} events/s, \
             {:.2} ms each; state file {} KiB with {} pending deliveries",
            stream.len(),
            elapsed,
            stream.len() as f64 / elapsed,
            elapsed * 1000.0 / stream.len() as f64,
            size / 1024,
            status.pending_deliveries
        );

        let batched = AlertService::new(
            {
                let mut config = config.clone();
                config.alert.state_path = format!("{}.batched", config.alert.state_path);
                config
            },
            |_| Some("http://127.0.0.1:9/x".into()),
        )
        .unwrap();
        let started = Instant::now();
        for batch in stream.chunks(500) {
            batched.handle_events(batch, batch[0].fired_at).await.unwrap();
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "service: the same {} events in batches of 500 (handle_events) in {:.3} s = {:.0} events/s",
            stream.len(),
            elapsed,
            stream.len() as f64 / elapsed
        );
    });
}
