//! The alert policy: pure decisions from alert events, people's actions and time to
//! notification intents. No IO, no clock: `now` is always passed in.
//!
//! Guarantees:
//! * **One page per story per receiver.** A PagerDuty receiver gets at most one trigger that
//!   opens an incident (`opens_incident = true`) per story, ever (also after the story resolves
//!   and fires again). Only with `[alert] pagerduty_severity_updates = true` is a later trigger
//!   with the same `dedup_key` sent when the severity rises, which PagerDuty applies to the open
//!   incident; by default a story gets exactly one trigger.
//! * **Resolve and acknowledge only after a trigger**, each at most once per receiver, and they
//!   are never held back by silences, snoozes, cooldowns or caps (an open page always gets closed).
//! * **Redeliveries have no effect**: a repeated event (see [`crate::incident`]) or action
//!   (same `action_id`) yields `Decision { duplicate: true }` and changes nothing.
//! * **Silences and snoozes** hold back triggers, Slack posts and webhook alerts while active;
//!   each held-back notification is reported in [`Decision::suppressed`] with its reason.
//! * **Cooldown and page cap** apply to pages (the trigger that opens an incident) per watch.
//!   A story held back by them, by a snooze or by a silence is still recorded (Slack and webhooks
//!   get it unless silenced or snoozed) and is paged later by its next event or by
//!   [`AlertPolicy::tick`] once allowed, if it is still firing and no person acknowledged or
//!   resolved it.
//! * Slack gets a message when a story fires, when its severity changes or its post count at
//!   least doubles since the last message, when it fires again after resolving, when it
//!   resolves, and for every person's action. Webhooks get every event and action for the
//!   stories routed to them.
//! * Deterministic: the same inputs in the same order give the same decisions (receivers are
//!   visited in config order, incidents in story-id order).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tidewatch_model::{AlertAction, AlertActionKind, AlertEvent, AlertState};

use crate::config::{AlertSettings, NotifyConfig, ReceiverConfig, ReceiverKind};
use crate::incident::{Incident, IncidentStatus, PageGate, RecentIds, WatchPaging};
use crate::notification::{
    Decision, Message, Notification, PagerDutyAction, SlackMessageKind, Suppressed,
    SuppressionReason, WebhookBody,
};
use crate::routing::{active_silence, routed_receivers};

/// The policy's whole memory; persisted by the service with the outbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertPolicy {
    incidents: BTreeMap<String, Incident>,
    watches: BTreeMap<String, WatchPaging>,
    seen_actions: RecentIds,
}

/// Collects one input's notifications and suppressions.
struct Out<'a> {
    decision: &'a mut Decision,
}

impl Out<'_> {
    fn emit(&mut self, incident: &mut Incident, receiver: &str, message: Message) {
        let id = incident.next_notification_id(receiver);
        self.decision.notifications.push(Notification {
            id,
            receiver: receiver.to_string(),
            story_id: incident.story_id.clone(),
            message,
        });
    }

    fn hold(&mut self, receiver: &str, story_id: &str, what: &str, reason: SuppressionReason) {
        self.decision.suppressed.push(Suppressed {
            receiver: receiver.to_string(),
            story_id: story_id.to_string(),
            what: what.to_string(),
            reason,
        });
    }
}

impl AlertPolicy {
    pub fn incident(&self, story_id: &str) -> Option<&Incident> {
        self.incidents.get(story_id)
    }

    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values()
    }

    /// An upper bound of the pages [`Self::tick`] can send: open, still-firing stories with a
    /// routed PagerDuty receiver that has not paged them yet.
    pub fn possible_pages(&self, config: &NotifyConfig) -> usize {
        self.incidents
            .values()
            .filter(|incident| {
                incident.status == IncidentStatus::Open
                    && incident.last_event.state != AlertState::Resolved
            })
            .map(|incident| {
                let routed =
                    routed_receivers(config, &incident.watch, incident.last_event.severity);
                config
                    .receiver
                    .iter()
                    .filter(|receiver| {
                        receiver.kind == ReceiverKind::Pagerduty
                            && routed.contains(&receiver.name.as_str())
                            && !incident
                                .receivers
                                .get(&receiver.name)
                                .is_some_and(|p| p.triggered)
                    })
                    .count()
            })
            .sum()
    }

    /// Applies one detector event received at `now`.
    pub fn apply_event(
        &mut self,
        config: &NotifyConfig,
        event: &AlertEvent,
        now: DateTime<Utc>,
    ) -> Decision {
        let incident = self
            .incidents
            .entry(event.story_id.clone())
            .or_insert_with(|| Incident::new(event, now));
        if incident.is_repeat(event) {
            return Decision::duplicate();
        }
        incident.record(event, now);
        let paging = self.watches.entry(event.watch.clone()).or_default();
        let routed = routed_receivers(config, &event.watch, event.severity);
        let hold = hold_reason(config, incident, now);
        let mut decision = Decision::default();
        let mut out = Out {
            decision: &mut decision,
        };
        for receiver in &config.receiver {
            let is_routed = routed.contains(&receiver.name.as_str());
            let hold = hold.clone();
            match receiver.kind {
                ReceiverKind::Pagerduty => pagerduty_for_event(
                    incident,
                    paging,
                    &config.alert,
                    receiver,
                    is_routed,
                    hold,
                    now,
                    &mut out,
                ),
                ReceiverKind::Slack => {
                    slack_for_event(incident, receiver, is_routed, hold, &mut out)
                }
                ReceiverKind::Webhook => {
                    webhook_for_event(incident, receiver, is_routed, hold, &mut out)
                }
            }
        }
        decision
    }

    /// Applies one action a person took through the API.
    pub fn apply_action(
        &mut self,
        config: &NotifyConfig,
        action: &AlertAction,
        now: DateTime<Utc>,
    ) -> Decision {
        if !self.seen_actions.insert(&action.action_id) {
            return Decision::duplicate();
        }
        let mut decision = Decision::default();
        let mut out = Out {
            decision: &mut decision,
        };
        let Some(incident) = self.incidents.get_mut(&action.story_id) else {
            out.hold(
                "*",
                &action.story_id,
                action.action.as_str(),
                SuppressionReason::UnknownStory,
            );
            return decision;
        };
        incident.touched_at = now;
        let was_closed = incident.status.is_closed();
        match action.action {
            AlertActionKind::Ack if incident.status == IncidentStatus::Open => {
                incident.status = IncidentStatus::Acknowledged;
            }
            AlertActionKind::Resolve => incident.status = IncidentStatus::ResolvedByPerson,
            AlertActionKind::Snooze => {
                let Some(until) = action.until else {
                    let reason = SuppressionReason::InvalidAction {
                        message: "snooze without until".to_string(),
                    };
                    out.hold("*", &action.story_id, "snooze", reason);
                    return decision;
                };
                incident.snoozed_until = Some(until);
            }
            AlertActionKind::Unsnooze => incident.snoozed_until = None,
            AlertActionKind::Ack => {}
        }
        let routed = routed_receivers(config, &incident.watch, incident.last_event.severity);
        for receiver in &config.receiver {
            let is_routed = routed.contains(&receiver.name.as_str());
            forward_action(incident, receiver, is_routed, was_closed, action, &mut out);
        }
        if action.action == AlertActionKind::Unsnooze {
            let paging = self.watches.entry(incident.watch.clone()).or_default();
            page_if_due(config, incident, paging, now, true, &mut out);
        }
        decision
    }

    /// Pages stories whose cooldown, cap, snooze or silence has ended while they still fire,
    /// and forgets incidents untouched for `incident_retention_hours`. Call it every minute or so.
    pub fn tick(&mut self, config: &NotifyConfig, now: DateTime<Utc>) -> Decision {
        let retention = Duration::hours(i64::from(config.alert.incident_retention_hours));
        self.incidents
            .retain(|_, incident| incident.touched_at + retention > now);
        let mut decision = Decision::default();
        let mut out = Out {
            decision: &mut decision,
        };
        for incident in self.incidents.values_mut() {
            let paging = self.watches.entry(incident.watch.clone()).or_default();
            page_if_due(config, incident, paging, now, false, &mut out);
        }
        let cooldown = Duration::minutes(i64::from(config.alert.cooldown_minutes));
        self.watches.retain(|_, paging| {
            paging.forget_before(now);
            let cooling = paging.last_page_at.is_some_and(|at| at + cooldown > now);
            cooling || !paging.pages_last_hour.is_empty()
        });
        decision
    }
}

/// Why notifications about `incident` are held back at `now`, if they are.
fn hold_reason(
    config: &NotifyConfig,
    incident: &Incident,
    now: DateTime<Utc>,
) -> Option<SuppressionReason> {
    if let Some((index, silence)) = active_silence(config, &incident.last_event, now) {
        return Some(SuppressionReason::Silenced {
            silence: index,
            comment: silence.comment.clone(),
        });
    }
    incident
        .snoozed_at(now)
        .map(|until| SuppressionReason::Snoozed { until })
}

/// Pages a still-firing, unacknowledged story on the routed PagerDuty receivers that have not
/// paged it yet, when nothing holds it back. `report` says whether to report what is held back.
fn page_if_due(
    config: &NotifyConfig,
    incident: &mut Incident,
    paging: &mut WatchPaging,
    now: DateTime<Utc>,
    report: bool,
    out: &mut Out<'_>,
) {
    if incident.status != IncidentStatus::Open || incident.last_event.state == AlertState::Resolved
    {
        return;
    }
    let routed = routed_receivers(config, &incident.watch, incident.last_event.severity);
    let hold = hold_reason(config, incident, now);
    for receiver in &config.receiver {
        let pending = receiver.kind == ReceiverKind::Pagerduty
            && routed.contains(&receiver.name.as_str())
            && !incident
                .receivers
                .get(&receiver.name)
                .is_some_and(|p| p.triggered);
        if !pending {
            continue;
        }
        if let Some(reason) = hold.clone() {
            if report {
                out.hold(&receiver.name, &incident.story_id, "trigger", reason);
            }
            continue;
        }
        try_page(
            incident,
            paging,
            &config.alert,
            &receiver.name,
            now,
            report,
            out,
        );
    }
}

/// Sends the trigger that opens the incident, unless the cooldown, the cap or an
/// acknowledgement holds it back.
fn try_page(
    incident: &mut Incident,
    paging: &mut WatchPaging,
    settings: &AlertSettings,
    receiver: &str,
    now: DateTime<Utc>,
    report: bool,
    out: &mut Out<'_>,
) {
    let story_id = incident.story_id.clone();
    if incident.status == IncidentStatus::Acknowledged {
        if report {
            out.hold(
                receiver,
                &story_id,
                "trigger",
                SuppressionReason::Acknowledged,
            );
        }
        return;
    }
    if !incident.paged() {
        let cooldown = Duration::minutes(i64::from(settings.cooldown_minutes));
        let held = match paging.gate(now, cooldown, settings.max_pages_per_watch_per_hour) {
            PageGate::Open => None,
            PageGate::Cooldown(until) => Some(SuppressionReason::Cooldown { until }),
            PageGate::Cap(until) => Some(SuppressionReason::PageCap { until }),
        };
        if let Some(reason) = held {
            if report {
                out.hold(receiver, &story_id, "trigger", reason);
            }
            return;
        }
        paging.record_page(now);
    }
    let event = incident.last_event.clone();
    let progress = incident.progress(receiver);
    progress.triggered = true;
    progress.severity_sent = Some(event.severity);
    let message = Message::PagerDuty {
        action: PagerDutyAction::Trigger,
        opens_incident: true,
        event,
    };
    out.emit(incident, receiver, message);
}

#[allow(clippy::too_many_arguments)]
fn pagerduty_for_event(
    incident: &mut Incident,
    paging: &mut WatchPaging,
    settings: &AlertSettings,
    receiver: &ReceiverConfig,
    is_routed: bool,
    hold: Option<SuppressionReason>,
    now: DateTime<Utc>,
    out: &mut Out<'_>,
) {
    let name = receiver.name.as_str();
    let event = incident.last_event.clone();
    let progress = incident.receivers.get(name).cloned().unwrap_or_default();
    if event.state == AlertState::Resolved {
        if progress.triggered && !progress.resolved {
            incident.progress(name).resolved = true;
            let message = Message::PagerDuty {
                action: PagerDutyAction::Resolve,
                opens_incident: false,
                event,
            };
            out.emit(incident, name, message);
        }
        return;
    }
    if incident.status == IncidentStatus::ResolvedByPerson {
        if is_routed && !progress.triggered {
            let reason = SuppressionReason::ResolvedByPerson;
            out.hold(name, &incident.story_id, "trigger", reason);
        }
        return;
    }
    if progress.triggered {
        let rises = progress
            .severity_sent
            .is_none_or(|sent| event.severity > sent);
        if progress.resolved || !rises || !settings.pagerduty_severity_updates {
            return;
        }
        if let Some(reason) = hold {
            out.hold(name, &incident.story_id, "trigger", reason);
            return;
        }
        incident.progress(name).severity_sent = Some(event.severity);
        let message = Message::PagerDuty {
            action: PagerDutyAction::Trigger,
            opens_incident: false,
            event,
        };
        out.emit(incident, name, message);
        return;
    }
    if !is_routed {
        return;
    }
    if let Some(reason) = hold {
        out.hold(name, &incident.story_id, "trigger", reason);
        return;
    }
    try_page(incident, paging, settings, name, now, true, out);
}

fn slack_for_event(
    incident: &mut Incident,
    receiver: &ReceiverConfig,
    is_routed: bool,
    hold: Option<SuppressionReason>,
    out: &mut Out<'_>,
) {
    let name = receiver.name.as_str();
    let event = incident.last_event.clone();
    let progress = incident.receivers.get(name).cloned().unwrap_or_default();
    if event.state == AlertState::Resolved {
        if progress.posted && !progress.resolved {
            incident.progress(name).resolved = true;
            let kind = SlackMessageKind::Resolved;
            out.emit(incident, name, slack(kind, event, None));
        }
        return;
    }
    if incident.status == IncidentStatus::ResolvedByPerson {
        if is_routed && !progress.posted {
            let reason = SuppressionReason::ResolvedByPerson;
            out.hold(name, &incident.story_id, "fired", reason);
        }
        return;
    }
    let kind = if !progress.posted {
        if !is_routed {
            return;
        }
        SlackMessageKind::Fired
    } else if progress.resolved {
        SlackMessageKind::FiringAgain
    } else {
        let severity_changed = progress.severity_sent != Some(event.severity);
        let grew = event.posts >= progress.posts_sent.max(1).saturating_mul(2);
        if !severity_changed && !grew {
            return;
        }
        SlackMessageKind::Updated
    };
    if let Some(reason) = hold {
        out.hold(name, &incident.story_id, kind.as_str(), reason);
        return;
    }
    let progress = incident.progress(name);
    progress.posted = true;
    progress.resolved = false;
    progress.severity_sent = Some(event.severity);
    progress.posts_sent = event.posts;
    out.emit(incident, name, slack(kind, event, None));
}

fn webhook_for_event(
    incident: &mut Incident,
    receiver: &ReceiverConfig,
    is_routed: bool,
    hold: Option<SuppressionReason>,
    out: &mut Out<'_>,
) {
    let name = receiver.name.as_str();
    let posted = incident.receivers.get(name).is_some_and(|p| p.posted);
    if !is_routed && !posted {
        return;
    }
    let event = incident.last_event.clone();
    if event.state != AlertState::Resolved {
        if let Some(reason) = hold {
            out.hold(name, &incident.story_id, "alert", reason);
            return;
        }
    }
    incident.progress(name).posted = true;
    let body = WebhookBody::Alert { event };
    out.emit(incident, name, Message::Webhook { body });
}

/// Forwards a person's action: PagerDuty acknowledge / resolve for a sent trigger, a Slack
/// message where the story was posted, the action itself to webhooks.
fn forward_action(
    incident: &mut Incident,
    receiver: &ReceiverConfig,
    is_routed: bool,
    was_closed: bool,
    action: &AlertAction,
    out: &mut Out<'_>,
) {
    let name = receiver.name.as_str();
    let progress = incident.receivers.get(name).cloned().unwrap_or_default();
    let event = incident.last_event.clone();
    match receiver.kind {
        ReceiverKind::Pagerduty => {
            let open_page = progress.triggered && !progress.resolved;
            let pagerduty_action = match action.action {
                AlertActionKind::Ack if open_page && !progress.acknowledged => {
                    incident.progress(name).acknowledged = true;
                    PagerDutyAction::Acknowledge
                }
                AlertActionKind::Resolve if open_page => {
                    incident.progress(name).resolved = true;
                    PagerDutyAction::Resolve
                }
                _ => return,
            };
            let message = Message::PagerDuty {
                action: pagerduty_action,
                opens_incident: false,
                event,
            };
            out.emit(incident, name, message);
        }
        ReceiverKind::Slack => {
            if !progress.posted || was_closed {
                return;
            }
            let kind = match action.action {
                AlertActionKind::Ack => SlackMessageKind::Acknowledged,
                AlertActionKind::Resolve => {
                    incident.progress(name).resolved = true;
                    SlackMessageKind::ResolvedByPerson
                }
                AlertActionKind::Snooze => SlackMessageKind::Snoozed,
                AlertActionKind::Unsnooze => SlackMessageKind::Unsnoozed,
            };
            out.emit(incident, name, slack(kind, event, Some(action.clone())));
        }
        ReceiverKind::Webhook => {
            if !is_routed && !progress.posted {
                return;
            }
            incident.progress(name).posted = true;
            let body = WebhookBody::Action {
                action: action.clone(),
            };
            out.emit(incident, name, Message::Webhook { body });
        }
    }
}

fn slack(kind: SlackMessageKind, event: AlertEvent, action: Option<AlertAction>) -> Message {
    Message::Slack {
        kind,
        event,
        action,
    }
}

#[cfg(test)]
mod tests;
