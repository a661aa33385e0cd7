use super::*;
use crate::config::{SilenceConfig, SilenceMatchers};
use crate::test_support::{config, event, ts};
use proptest::prelude::*;
use tidewatch_model::Severity;
use AlertState::{Firing, Resolved, Updated};
use Severity::{Critical, Info, Warning};

fn action(id: &str, story: &str, kind: AlertActionKind, at: i64) -> AlertAction {
    AlertAction {
        v: 1,
        action_id: id.to_string(),
        story_id: story.to_string(),
        watch: "acme".to_string(),
        action: kind,
        by: "alice".to_string(),
        at: ts(at),
        until: (kind == AlertActionKind::Snooze).then(|| ts(at + 600)),
        note: None,
    }
}

/// Applies story `story`'s event (watch `acme`) in `state` / `severity` at second `at`, as
/// received at that same second.
fn apply(
    policy: &mut AlertPolicy,
    config: &NotifyConfig,
    story: &str,
    state: AlertState,
    severity: Severity,
    at: i64,
) -> Decision {
    policy.apply_event(config, &event(story, "acme", state, severity, at), ts(at))
}

/// `(receiver, what)` of each notification.
fn sent(decision: &Decision) -> Vec<(String, &'static str)> {
    decision
        .notifications
        .iter()
        .map(|n| (n.receiver.clone(), n.what()))
        .collect()
}

fn pairs(items: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    items.iter().map(|(r, w)| (r.to_string(), *w)).collect()
}

#[test]
fn a_firing_delivered_three_times_pages_once() {
    let config = config();
    let mut policy = AlertPolicy::default();
    let firing = event("s1", "acme", AlertState::Firing, Severity::Warning, 60);
    let first = policy.apply_event(&config, &firing, ts(61));
    assert_eq!(
        sent(&first),
        pairs(&[("pd", "trigger"), ("slack", "fired"), ("hook", "alert")])
    );
    assert_eq!(first.notifications[0].id, "s1/pd/1");
    for _ in 0..2 {
        let again = policy.apply_event(&config, &firing, ts(62));
        assert!(again.duplicate);
        assert!(again.notifications.is_empty());
    }
}

#[test]
fn lifecycle_updates_only_on_rising_severity_and_resolves_with_the_same_story() {
    let config = config();
    let mut policy = AlertPolicy::default();
    apply(&mut policy, &config, "s1", Firing, Warning, 60);
    let same = apply(&mut policy, &config, "s1", Updated, Warning, 120);
    assert_eq!(
        sent(&same),
        pairs(&[("hook", "alert")]),
        "no growth, no severity change"
    );
    let rising = apply(&mut policy, &config, "s1", Updated, Critical, 180);
    assert_eq!(
        sent(&rising),
        pairs(&[("pd", "trigger"), ("slack", "updated"), ("hook", "alert")])
    );
    assert!(matches!(
        rising.notifications[0].message,
        Message::PagerDuty {
            opens_incident: false,
            ..
        }
    ));
    let resolved = apply(&mut policy, &config, "s1", Resolved, Critical, 240);
    assert_eq!(
        sent(&resolved),
        pairs(&[("pd", "resolve"), ("slack", "resolved"), ("hook", "alert")])
    );
    assert!(resolved.notifications.iter().all(|n| n.story_id == "s1"));
    let refire = apply(&mut policy, &config, "s1", Firing, Critical, 300);
    assert_eq!(
        sent(&refire),
        pairs(&[("slack", "firing_again"), ("hook", "alert")]),
        "never a second page for a story"
    );
}

#[test]
fn actions_are_forwarded_once_and_close_the_story() {
    let config = config();
    let mut policy = AlertPolicy::default();
    apply(&mut policy, &config, "s1", Firing, Warning, 60);
    let ack = action("a1", "s1", AlertActionKind::Ack, 100);
    let acked = policy.apply_action(&config, &ack, ts(100));
    assert_eq!(
        sent(&acked),
        pairs(&[
            ("pd", "acknowledge"),
            ("slack", "acknowledged"),
            ("hook", "action")
        ])
    );
    assert!(policy.apply_action(&config, &ack, ts(101)).duplicate);
    let resolve = policy.apply_action(
        &config,
        &action("a2", "s1", AlertActionKind::Resolve, 110),
        ts(110),
    );
    assert_eq!(
        sent(&resolve),
        pairs(&[
            ("pd", "resolve"),
            ("slack", "resolved_by_person"),
            ("hook", "action")
        ])
    );
    let later = apply(&mut policy, &config, "s1", Updated, Critical, 200);
    assert_eq!(
        sent(&later),
        pairs(&[("hook", "alert")]),
        "only webhooks hear of it"
    );
    let detector_resolve = apply(&mut policy, &config, "s1", Resolved, Critical, 300);
    assert_eq!(
        sent(&detector_resolve),
        pairs(&[("hook", "alert")]),
        "pagerduty already resolved"
    );
    let unknown = policy.apply_action(
        &config,
        &action("a3", "nope", AlertActionKind::Ack, 310),
        ts(310),
    );
    assert_eq!(
        unknown.suppressed[0].reason,
        SuppressionReason::UnknownStory
    );
}

#[test]
fn silences_hold_back_and_the_tick_pages_once_they_end() {
    let mut config = config();
    config.silence.push(SilenceConfig {
        matchers: SilenceMatchers {
            watch: Some("acme".into()),
            ..SilenceMatchers::default()
        },
        starts_at: ts(0),
        ends_at: ts(1000),
        comment: "maintenance".into(),
    });
    let mut policy = AlertPolicy::default();
    let held = apply(&mut policy, &config, "s1", Firing, Warning, 60);
    assert!(held.notifications.is_empty());
    assert_eq!(held.suppressed.len(), 3);
    assert!(held.suppressed.iter().all(|s| s.reason
        == SuppressionReason::Silenced {
            silence: 0,
            comment: "maintenance".into()
        }));
    assert!(policy.tick(&config, ts(999)).notifications.is_empty());
    let paged = policy.tick(&config, ts(1000));
    assert_eq!(sent(&paged), pairs(&[("pd", "trigger")]));
    assert!(policy.tick(&config, ts(1001)).notifications.is_empty());
}

#[test]
fn resolve_without_a_trigger_sends_no_pagerduty_resolve() {
    let mut config = config();
    config.silence.push(SilenceConfig {
        matchers: SilenceMatchers {
            story_id: Some("s1".into()),
            ..SilenceMatchers::default()
        },
        starts_at: ts(0),
        ends_at: ts(1000),
        comment: String::new(),
    });
    let mut policy = AlertPolicy::default();
    apply(&mut policy, &config, "s1", Firing, Warning, 60);
    let resolved = apply(&mut policy, &config, "s1", Resolved, Warning, 120);
    assert_eq!(sent(&resolved), pairs(&[("hook", "alert")]));
}

#[test]
fn snoozes_hold_back_until_unsnoozed() {
    let config = config();
    let mut policy = AlertPolicy::default();
    apply(&mut policy, &config, "s0", Firing, Info, 0);
    let mut first = event("s1", "other", AlertState::Firing, Severity::Warning, 60);
    first.posts = 5;
    // Snoozing a story we have not heard of is refused as unknown.
    let snooze = action("a1", "s1", AlertActionKind::Snooze, 30);
    assert!(policy
        .apply_action(&config, &snooze, ts(30))
        .notifications
        .is_empty());
    policy.apply_event(&config, &first, ts(60));
    let snooze = action("a2", "s1", AlertActionKind::Snooze, 70);
    let snoozed = policy.apply_action(&config, &snooze, ts(70));
    assert_eq!(
        sent(&snoozed),
        pairs(&[("slack", "snoozed"), ("hook", "action")])
    );
    let mut grown = event("s1", "other", AlertState::Updated, Severity::Critical, 120);
    grown.posts = 50;
    let held = policy.apply_event(&config, &grown, ts(120));
    assert!(held.notifications.is_empty());
    assert!(held
        .suppressed
        .iter()
        .all(|s| s.reason == SuppressionReason::Snoozed { until: ts(670) }));
    let unsnoozed = policy.apply_action(
        &config,
        &action("a3", "s1", AlertActionKind::Unsnooze, 200),
        ts(200),
    );
    assert_eq!(
        sent(&unsnoozed),
        pairs(&[("slack", "unsnoozed"), ("hook", "action")])
    );
}

#[test]
fn cooldown_and_cap_defer_pages_of_new_stories() {
    let mut config = config();
    config.alert.cooldown_minutes = 10;
    config.alert.max_pages_per_watch_per_hour = 2;
    let mut policy = AlertPolicy::default();
    let fire = |policy: &mut AlertPolicy, story: &str, at: i64| {
        policy.apply_event(
            &config,
            &event(story, "acme", AlertState::Firing, Severity::Warning, at),
            ts(at),
        )
    };
    assert_eq!(
        sent(&fire(&mut policy, "s1", 0))[0],
        ("pd".to_string(), "trigger")
    );
    let cooled = fire(&mut policy, "s2", 60);
    assert_eq!(
        sent(&cooled),
        pairs(&[("slack", "fired"), ("hook", "alert")])
    );
    assert_eq!(
        cooled.suppressed[0].reason,
        SuppressionReason::Cooldown { until: ts(600) }
    );
    assert!(policy.tick(&config, ts(599)).notifications.is_empty());
    assert_eq!(
        sent(&policy.tick(&config, ts(600))),
        pairs(&[("pd", "trigger")])
    );
    let capped = fire(&mut policy, "s3", 1300);
    assert_eq!(
        capped.suppressed[0].reason,
        SuppressionReason::PageCap { until: ts(3600) }
    );
    // s3 resolves before the cap lifts: never paged, nothing to resolve.
    let resolved = apply(&mut policy, &config, "s3", Resolved, Warning, 2000);
    assert_eq!(
        sent(&resolved),
        pairs(&[("slack", "resolved"), ("hook", "alert")])
    );
    assert!(policy.tick(&config, ts(3600)).notifications.is_empty());
}

#[test]
fn an_acknowledged_story_is_not_paged_later() {
    let mut config = config();
    config.alert.cooldown_minutes = 10;
    let mut policy = AlertPolicy::default();
    apply(&mut policy, &config, "s1", Firing, Warning, 0);
    apply(&mut policy, &config, "s2", Firing, Warning, 60);
    let ack = policy.apply_action(
        &config,
        &action("a1", "s2", AlertActionKind::Ack, 70),
        ts(70),
    );
    assert_eq!(
        sent(&ack),
        pairs(&[("slack", "acknowledged"), ("hook", "action")])
    );
    assert!(policy.tick(&config, ts(700)).notifications.is_empty());
}

#[test]
fn retention_forgets_old_incidents() {
    let mut config = config();
    config.alert.incident_retention_hours = 1;
    let mut policy = AlertPolicy::default();
    apply(&mut policy, &config, "s1", Resolved, Info, 0);
    policy.tick(&config, ts(3599));
    assert!(policy.incident("s1").is_some());
    policy.tick(&config, ts(3600));
    assert!(policy.incident("s1").is_none());
}

// ---- property tests ----------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Input {
    Event(AlertEvent),
    Action(AlertAction),
    Tick,
}

fn input_strategy() -> impl Strategy<Value = Vec<(usize, u8, u8, u64)>> {
    prop::collection::vec((0usize..3, 0u8..8, 0u8..3, 1u64..200), 1..40)
}

fn property_config() -> NotifyConfig {
    let mut config = config();
    config.receiver.insert(
        1,
        crate::test_support::receiver("pd2", ReceiverKind::Pagerduty),
    );
    config.route[0].receivers.insert(1, "pd2".into());
    config.route.insert(
        0,
        crate::config::RouteConfig {
            watches: vec!["w1".into()],
            min_severity: Severity::Critical,
            receivers: vec!["pd2".into()],
            continue_matching: true,
        },
    );
    config.alert.cooldown_minutes = 5;
    config.alert.max_pages_per_watch_per_hour = 2;
    config.silence.push(SilenceConfig {
        matchers: SilenceMatchers {
            story_id: Some("s2".into()),
            ..SilenceMatchers::default()
        },
        starts_at: ts(600),
        ends_at: ts(1800),
        comment: String::new(),
    });
    config
}

fn inputs(raw: &[(usize, u8, u8, u64)]) -> Vec<(Input, DateTime<Utc>)> {
    let severities = [Severity::Info, Severity::Warning, Severity::Critical];
    raw.iter()
        .enumerate()
        .map(|(index, &(story, op, severity, posts))| {
            let at = (index as i64 + 1) * 120;
            let story_id = format!("s{story}");
            let watch = if story == 2 { "w1" } else { "w0" };
            let alert_event = |state| {
                let mut alert = event(&story_id, watch, state, severities[severity as usize], at);
                alert.posts = posts;
                Input::Event(alert)
            };
            let kind = |kind| Input::Action(action(&format!("a{index}"), &story_id, kind, at));
            let input = match op {
                0 | 1 => alert_event(AlertState::Firing),
                2 => alert_event(AlertState::Updated),
                3 => alert_event(AlertState::Resolved),
                4 => kind(AlertActionKind::Ack),
                5 => kind(AlertActionKind::Resolve),
                6 => kind(if posts % 2 == 0 {
                    AlertActionKind::Snooze
                } else {
                    AlertActionKind::Unsnooze
                }),
                _ => Input::Tick,
            };
            (input, ts(at))
        })
        .collect()
}

fn run(
    policy: &mut AlertPolicy,
    config: &NotifyConfig,
    input: &Input,
    now: DateTime<Utc>,
) -> Decision {
    match input {
        Input::Event(event) => policy.apply_event(config, event, now),
        Input::Action(action) => policy.apply_action(config, action, now),
        Input::Tick => policy.tick(config, now),
    }
}

fn all_notifications(
    config: &NotifyConfig,
    stream: &[(Input, DateTime<Utc>)],
) -> Vec<Notification> {
    let mut policy = AlertPolicy::default();
    stream
        .iter()
        .flat_map(|(input, now)| run(&mut policy, config, input, *now).notifications)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn deterministic_and_unchanged_by_a_restart_from_the_serialised_state(
        raw in input_strategy(), restart_at in 0usize..40,
    ) {
        let config = property_config();
        let stream = inputs(&raw);
        let once = all_notifications(&config, &stream);
        prop_assert_eq!(&once, &all_notifications(&config, &stream));
        let mut policy = AlertPolicy::default();
        let mut restarted = Vec::new();
        for (index, (input, now)) in stream.iter().enumerate() {
            if index == restart_at {
                let json = serde_json::to_string(&policy).unwrap();
                policy = serde_json::from_str(&json).unwrap();
            }
            restarted.extend(run(&mut policy, &config, input, *now).notifications);
        }
        prop_assert_eq!(once, restarted);
    }

    #[test]
    fn redeliveries_in_any_interleaving_change_nothing(
        raw in input_strategy(), repeats in prop::collection::vec((0usize..40, 0usize..40), 0..30),
    ) {
        let config = property_config();
        let stream = inputs(&raw);
        let mut redelivered: Vec<(Input, DateTime<Utc>)> = Vec::new();
        for (index, item) in stream.iter().enumerate() {
            redelivered.push(item.clone());
            // Redeliver earlier events and actions (never ticks) right after this input.
            for &(after, which) in &repeats {
                if after % stream.len() == index {
                    let (input, _) = &stream[which % (index + 1)];
                    if !matches!(input, Input::Tick) {
                        redelivered.push((input.clone(), item.1));
                    }
                }
            }
        }
        prop_assert_eq!(all_notifications(&config, &stream), all_notifications(&config, &redelivered));
    }

    #[test]
    fn one_page_per_story_per_receiver_and_no_resolve_before_it(raw in input_strategy()) {
        let config = property_config();
        let notifications = all_notifications(&config, &inputs(&raw));
        let mut seen: BTreeMap<(String, String), (usize, Option<Severity>, usize)> = BTreeMap::new();
        for notification in &notifications {
            let Message::PagerDuty { action, opens_incident, event } = &notification.message else {
                continue;
            };
            let key = (notification.story_id.clone(), notification.receiver.clone());
            let (pages, severity, resolves) = seen.entry(key).or_default();
            prop_assert_eq!(&event.story_id, &notification.story_id);
            match action {
                PagerDutyAction::Trigger if *opens_incident => {
                    *pages += 1;
                    prop_assert_eq!(*pages, 1, "second page");
                    *severity = Some(event.severity);
                }
                PagerDutyAction::Trigger => {
                    prop_assert_eq!(*pages, 1, "update before the page");
                    prop_assert_eq!(*resolves, 0, "update after resolve");
                    prop_assert!(Some(event.severity) > *severity, "update without rising severity");
                    *severity = Some(event.severity);
                }
                PagerDutyAction::Acknowledge | PagerDutyAction::Resolve => {
                    prop_assert_eq!(*pages, 1, "acknowledge or resolve before the page");
                    prop_assert_eq!(*resolves, 0, "after resolve");
                    if *action == PagerDutyAction::Resolve {
                        *resolves += 1;
                    }
                }
            }
        }
    }
}

#[test]
fn the_property_inputs_reach_pages_updates_acknowledges_resolves_and_suppressions() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let config = property_config();
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for _ in 0..200 {
        let raw = input_strategy().new_tree(&mut runner).unwrap().current();
        let mut policy = AlertPolicy::default();
        for (input, now) in inputs(&raw) {
            let decision = run(&mut policy, &config, &input, now);
            for notification in &decision.notifications {
                let what = match &notification.message {
                    Message::PagerDuty {
                        opens_incident: false,
                        action: PagerDutyAction::Trigger,
                        ..
                    } => "update",
                    _ => notification.what(),
                };
                *seen.entry(what).or_default() += 1;
            }
            for suppressed in &decision.suppressed {
                *seen.entry(suppressed.reason.as_str()).or_default() += 1;
            }
        }
    }
    for what in [
        "trigger",
        "update",
        "acknowledge",
        "resolve",
        "cooldown",
        "snoozed",
        "silenced",
    ] {
        assert!(
            seen.get(what).copied().unwrap_or(0) > 0,
            "{what} never happens: {seen:?}"
        );
    }
}
