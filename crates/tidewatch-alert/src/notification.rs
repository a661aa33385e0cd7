//! What the policy decides: notification intents to deliver, and notifications it held back with
//! the reason.
//!
//! Guarantees:
//! * A [`Notification`] carries everything needed to render and send it (the alert event or the
//!   person's action as they were when decided), so a pending delivery survives a restart
//!   without the policy state it came from.
//! * [`Notification::id`] is `{story_id}/{receiver}/{n}` with `n` counting the story's
//!   notifications, so the same input gives the same ids; webhook receivers get it as
//!   `X-Tidewatch-Delivery` to drop repeats.
//! * Every held-back notification is reported as a [`Suppressed`] with a [`SuppressionReason`]:
//!   nothing is dropped silently.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidewatch_model::{AlertAction, AlertEvent};

use crate::config::ReceiverKind;

/// One message to one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub receiver: String,
    pub story_id: String,
    pub message: Message,
}

impl Notification {
    pub fn receiver_kind(&self) -> ReceiverKind {
        match self.message {
            Message::PagerDuty { .. } => ReceiverKind::Pagerduty,
            Message::Slack { .. } => ReceiverKind::Slack,
            Message::Webhook { .. } => ReceiverKind::Webhook,
        }
    }

    /// A short name of what is sent, for logs and metrics (`trigger`, `fired`, `alert`, …).
    pub fn what(&self) -> &'static str {
        match &self.message {
            Message::PagerDuty { action, .. } => action.as_str(),
            Message::Slack { kind, .. } => kind.as_str(),
            Message::Webhook {
                body: WebhookBody::Alert { .. },
            } => "alert",
            Message::Webhook {
                body: WebhookBody::Action { .. },
            } => "action",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "receiver_kind", rename_all = "snake_case")]
pub enum Message {
    /// PagerDuty Events v2 with `dedup_key` = story id. `opens_incident` is true for the one
    /// trigger that pages; a later trigger (severity increase) only updates the open incident.
    #[serde(rename = "pagerduty")]
    PagerDuty {
        action: PagerDutyAction,
        opens_incident: bool,
        event: AlertEvent,
    },
    Slack {
        kind: SlackMessageKind,
        event: AlertEvent,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        action: Option<AlertAction>,
    },
    Webhook {
        body: WebhookBody,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PagerDutyAction {
    Trigger,
    Acknowledge,
    Resolve,
}

impl PagerDutyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trigger => "trigger",
            Self::Acknowledge => "acknowledge",
            Self::Resolve => "resolve",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlackMessageKind {
    Fired,
    Updated,
    FiringAgain,
    Resolved,
    Acknowledged,
    ResolvedByPerson,
    Snoozed,
    Unsnoozed,
}

impl SlackMessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Updated => "updated",
            Self::FiringAgain => "firing_again",
            Self::Resolved => "resolved",
            Self::Acknowledged => "acknowledged",
            Self::ResolvedByPerson => "resolved_by_person",
            Self::Snoozed => "snoozed",
            Self::Unsnoozed => "unsnoozed",
        }
    }
}

/// The JSON a generic webhook receives (see [`crate::webhook`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WebhookBody {
    Alert { event: AlertEvent },
    Action { action: AlertAction },
}

/// A notification the policy held back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressed {
    pub receiver: String,
    pub story_id: String,
    /// What would have been sent (`trigger`, `fired`, `alert`, …).
    pub what: String,
    pub reason: SuppressionReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SuppressionReason {
    /// A `[[silence]]` matched; `silence` is its index in the config.
    Silenced { silence: usize, comment: String },
    /// A person snoozed the story.
    Snoozed { until: DateTime<Utc> },
    /// Another story of the same watch paged less than `cooldown_minutes` ago.
    Cooldown { until: DateTime<Utc> },
    /// The watch reached `max_pages_per_watch_per_hour`.
    PageCap { until: DateTime<Utc> },
    /// A person acknowledged the story before it was paged.
    Acknowledged,
    /// A person resolved the story: the detector's later events only reach webhooks.
    ResolvedByPerson,
    /// An action for a story this stage has no record of.
    UnknownStory,
    /// A snooze without `until`.
    InvalidAction { message: String },
}

impl SuppressionReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Silenced { .. } => "silenced",
            Self::Snoozed { .. } => "snoozed",
            Self::Cooldown { .. } => "cooldown",
            Self::PageCap { .. } => "page_cap",
            Self::Acknowledged => "acknowledged",
            Self::ResolvedByPerson => "resolved_by_person",
            Self::UnknownStory => "unknown_story",
            Self::InvalidAction { .. } => "invalid_action",
        }
    }
}

/// The outcome of one event, action or tick.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// True when the input was a redelivery (same event or action id seen before): no effect.
    pub duplicate: bool,
    pub notifications: Vec<Notification>,
    pub suppressed: Vec<Suppressed>,
}

impl Decision {
    pub(crate) fn duplicate() -> Self {
        Decision {
            duplicate: true,
            ..Decision::default()
        }
    }
}
