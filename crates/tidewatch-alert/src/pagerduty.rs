//! PagerDuty Events API v2 request bodies (pure).
//!
//! Guarantees:
//! * `dedup_key` is always the story id, for trigger, acknowledge and resolve alike, so
//!   PagerDuty folds every retry and every update of a story into one incident.
//! * A trigger carries the payload PagerDuty requires (`summary` ≤ 1024 characters, `source`,
//!   `severity`) and the alert's evidence: `timestamp` = `fired_at`, `component` = watch,
//!   `group` = `tidewatch`, `class` = `negative_story`, and `custom_details` with terms, posts,
//!   negative share, score, baseline, threshold, first post and evidence post ids; `links` point
//!   at the story on the dashboard when a `dashboard_url` is configured.
//! * Severity maps one to one: info → info, warning → warning, critical → critical.
//! * Acknowledge and resolve carry only `routing_key`, `event_action` and `dedup_key`, as the
//!   API defines them.
//! * The body contains the routing key: it must never be logged.

use serde_json::{json, Value};
use tidewatch_model::{AlertEvent, Severity};

use crate::notification::PagerDutyAction;
use crate::slack::truncate_chars;

/// PagerDuty's limit on `payload.summary`.
pub const SUMMARY_MAX_CHARS: usize = 1024;

pub fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// One-line description of the story, as PagerDuty shows it.
pub fn summary(event: &AlertEvent) -> String {
    let line = format!(
        "[{}] {} negative story: {} ({} posts, {:.0}% negative)",
        event.watch,
        severity(event.severity),
        event.title,
        event.posts,
        event.negative_share * 100.0
    );
    truncate_chars(&line, SUMMARY_MAX_CHARS)
}

/// The request body for `action` on the story of `event`.
pub fn event_body(
    action: PagerDutyAction,
    event: &AlertEvent,
    routing_key: &str,
    story_link: Option<&str>,
) -> Value {
    if action != PagerDutyAction::Trigger {
        return json!({
            "routing_key": routing_key,
            "event_action": action.as_str(),
            "dedup_key": event.story_id,
        });
    }
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": event.story_id,
        "client": "tidewatch",
        "payload": {
            "summary": summary(event),
            "source": "tidewatch",
            "severity": severity(event.severity),
            "timestamp": event.fired_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "component": event.watch,
            "group": "tidewatch",
            "class": "negative_story",
            "custom_details": {
                "story_id": event.story_id,
                "title": event.title,
                "terms": event.terms,
                "posts": event.posts,
                "negative_share": event.negative_share,
                "score": event.score,
                "baseline": event.baseline,
                "threshold": event.threshold,
                "first_post_id": event.first_post_id,
                "first_post_at": event.first_post_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "post_ids": event.post_ids,
            },
        },
    });
    if let Some(link) = story_link {
        body["client_url"] = json!(link);
        body["links"] = json!([{ "href": link, "text": "Story in tidewatch" }]);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::event;
    use tidewatch_model::AlertState;

    #[test]
    fn trigger_has_the_required_fields_and_evidence() {
        let alert = event("s1", "acme", AlertState::Firing, Severity::Critical, 60);
        let body = event_body(
            PagerDutyAction::Trigger,
            &alert,
            "key",
            Some("https://tw.test/#/stories/s1"),
        );
        assert_eq!(body["routing_key"], "key");
        assert_eq!(body["event_action"], "trigger");
        assert_eq!(body["dedup_key"], "s1");
        assert_eq!(body["payload"]["severity"], "critical");
        assert_eq!(body["payload"]["component"], "acme");
        assert_eq!(body["payload"]["timestamp"], "2026-11-23T00:01:00Z");
        assert_eq!(body["payload"]["custom_details"]["posts"], 10);
        assert_eq!(body["payload"]["custom_details"]["post_ids"][1], "p2");
        assert_eq!(body["links"][0]["href"], "https://tw.test/#/stories/s1");
        assert!(body["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[acme] critical negative story: story s1"));
    }

    #[test]
    fn acknowledge_and_resolve_carry_only_the_dedup_key() {
        let alert = event("s1", "acme", AlertState::Resolved, Severity::Info, 60);
        for action in [PagerDutyAction::Acknowledge, PagerDutyAction::Resolve] {
            let body = event_body(action, &alert, "key", None);
            let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["dedup_key", "event_action", "routing_key"]);
            assert_eq!(body["event_action"], action.as_str());
        }
    }

    #[test]
    fn summary_is_capped_on_a_character_boundary() {
        let mut alert = event("s1", "acme", AlertState::Firing, Severity::Info, 0);
        alert.title = "é".repeat(3000);
        let text = summary(&alert);
        assert_eq!(text.chars().count(), SUMMARY_MAX_CHARS);
        assert!(text.ends_with('…'));
    }
}
