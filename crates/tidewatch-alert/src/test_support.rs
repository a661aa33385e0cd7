//! Builders shared by the unit tests: alert events, instants and a small config.

use chrono::{DateTime, TimeZone, Utc};
use tidewatch_model::{AlertEvent, AlertState, Severity};

use crate::config::{NotifyConfig, ReceiverConfig, ReceiverKind, RouteConfig};

/// `seconds` after 2026-11-23T00:00:00Z.
pub(crate) fn ts(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

pub(crate) fn event(
    story_id: &str,
    watch: &str,
    state: AlertState,
    severity: Severity,
    fired_at_seconds: i64,
) -> AlertEvent {
    AlertEvent {
        v: 1,
        story_id: story_id.to_string(),
        watch: watch.to_string(),
        state,
        severity,
        fired_at: ts(fired_at_seconds),
        first_post_at: ts(0),
        title: format!("story {story_id}"),
        terms: vec!["lost".into(), "bags".into()],
        posts: 10,
        negative_share: 0.5,
        score: 9.0,
        baseline: 1.0,
        threshold: 6.0,
        post_ids: vec!["p1".into(), "p2".into()],
        first_post_id: "p1".into(),
    }
}

pub(crate) fn receiver(name: &str, kind: ReceiverKind) -> ReceiverConfig {
    ReceiverConfig {
        name: name.to_string(),
        kind,
        url: match kind {
            ReceiverKind::Webhook => Some("http://127.0.0.1:9/hook".into()),
            _ => None,
        },
        routing_key_env: (kind == ReceiverKind::Pagerduty).then(|| "PD_KEY".into()),
        webhook_url_env: (kind == ReceiverKind::Slack).then(|| "SLACK_URL".into()),
        secret_env: (kind == ReceiverKind::Webhook).then(|| "HOOK_SECRET".into()),
        dashboard_url: Some("https://tidewatch.test".into()),
    }
}

/// Receivers `pd` (PagerDuty), `slack` and `hook`, all routed for every watch and severity.
pub(crate) fn config() -> NotifyConfig {
    NotifyConfig {
        receiver: vec![
            receiver("pd", ReceiverKind::Pagerduty),
            receiver("slack", ReceiverKind::Slack),
            receiver("hook", ReceiverKind::Webhook),
        ],
        route: vec![RouteConfig {
            watches: Vec::new(),
            min_severity: Severity::Info,
            receivers: vec!["pd".into(), "slack".into(), "hook".into()],
            continue_matching: false,
        }],
        alert: crate::config::AlertSettings {
            pagerduty_severity_updates: true,
            ..crate::config::AlertSettings::default()
        },
        ..NotifyConfig::default()
    }
}
