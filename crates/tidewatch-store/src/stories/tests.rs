//! Unit tests of the alert status fold.

use super::*;

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_424_714_400 + minute * 60, 0).unwrap()
}

fn story(state: AlertState, last_event_minute: i64) -> Story {
    Story {
        story_id: "s1".into(),
        watch: "acme".into(),
        title: "fleet fleek".into(),
        terms: vec!["fleet".into()],
        state,
        severity: Severity::Warning,
        first_post_at: at(0),
        fired_at: at(1),
        last_event_at: at(last_event_minute),
        posts: 12,
        negative_share: 0.5,
        score: 9.0,
        baseline: 1.0,
        threshold: 6.0,
        first_post_id: "m:1".into(),
        post_ids: vec!["m:1".into()],
    }
}

fn action(kind: AlertActionKind, minute: i64, until_minute: Option<i64>) -> AlertAction {
    AlertAction {
        v: 1,
        action_id: format!("a{minute}"),
        story_id: "s1".into(),
        watch: "acme".into(),
        action: kind,
        by: "alice".into(),
        at: at(minute),
        until: until_minute.map(at),
        note: None,
    }
}

#[test]
fn a_story_without_actions_is_open_until_the_detector_resolves_it() {
    let firing = alert_status(&story(AlertState::Firing, 5), &[], at(10));
    assert_eq!(firing.status, AlertStatus::Open);
    let resolved = alert_status(&story(AlertState::Resolved, 5), &[], at(10));
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.resolved_by.as_deref(), Some(DETECTOR_ACTOR));
    assert_eq!(resolved.resolved_at, Some(at(5)));
}

#[test]
fn ack_then_snooze_then_expiry_returns_to_acknowledged() {
    let actions = [
        action(AlertActionKind::Ack, 6, None),
        action(AlertActionKind::Snooze, 7, Some(67)),
    ];
    let during = alert_status(&story(AlertState::Updated, 5), &actions, at(30));
    assert_eq!(during.status, AlertStatus::Snoozed);
    assert_eq!(during.snoozed_until, Some(at(67)));
    assert_eq!(during.acknowledged_by.as_deref(), Some("alice"));
    let after = alert_status(&story(AlertState::Updated, 5), &actions, at(68));
    assert_eq!(after.status, AlertStatus::Acknowledged);
    assert_eq!(after.snoozed_until, None);
}

#[test]
fn unsnooze_without_ack_reopens_and_resolve_wins_over_later_acks() {
    let actions = [
        action(AlertActionKind::Snooze, 6, Some(600)),
        action(AlertActionKind::Unsnooze, 7, None),
    ];
    let view = alert_status(&story(AlertState::Firing, 5), &actions, at(8));
    assert_eq!(view.status, AlertStatus::Open);
    let actions = [
        action(AlertActionKind::Resolve, 6, None),
        action(AlertActionKind::Ack, 7, None),
        action(AlertActionKind::Snooze, 8, Some(600)),
    ];
    let view = alert_status(&story(AlertState::Updated, 5), &actions, at(9));
    assert_eq!(view.status, AlertStatus::Resolved);
    assert_eq!(view.resolved_by.as_deref(), Some("alice"));
}

#[test]
fn a_firing_event_after_a_manual_resolve_reopens_but_an_update_does_not() {
    let actions = [action(AlertActionKind::Resolve, 6, None)];
    let refired = alert_status(&story(AlertState::Firing, 9), &actions, at(10));
    assert_eq!(refired.status, AlertStatus::Open);
    let updated = alert_status(&story(AlertState::Updated, 9), &actions, at(10));
    assert_eq!(updated.status, AlertStatus::Resolved);
}

#[test]
fn other_stories_actions_are_ignored_and_statuses_parse() {
    let mut foreign = action(AlertActionKind::Resolve, 6, None);
    foreign.story_id = "s2".into();
    let view = alert_status(&story(AlertState::Firing, 5), &[foreign], at(10));
    assert_eq!(view.status, AlertStatus::Open);
    for status in AlertStatus::ALL {
        assert_eq!(AlertStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(AlertStatus::parse("OPEN"), None);
}
