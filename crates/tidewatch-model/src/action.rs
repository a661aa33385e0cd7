//! Alert actions (`alerts.actions` topic): what a person did to a story's alert through the API
//! or the dashboard (acknowledge, resolve, snooze, unsnooze). The alert stage forwards them to the
//! receivers (PagerDuty acknowledge / resolve with the story's dedup key), and the store keeps them
//! as alert history. `at` is wall-clock time of the action; `by` names the API token that did it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertActionKind {
    Ack,
    Resolve,
    Snooze,
    Unsnooze,
}

impl AlertActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Resolve => "resolve",
            Self::Snooze => "snooze",
            Self::Unsnooze => "unsnooze",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertAction {
    pub v: u32,
    /// A unique id for this action (the API makes one), so a redelivered action is applied once.
    pub action_id: String,
    pub story_id: String,
    pub watch: String,
    pub action: AlertActionKind,
    /// Who did it: the API token's name.
    pub by: String,
    #[serde(with = "crate::post::timestamp_serde")]
    pub at: DateTime<Utc>,
    /// For `snooze`: until when notifications for this story are held back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let line = r#"{"v":1,"action_id":"a1","story_id":"s1","watch":"acme-air","action":"snooze",
            "by":"alice","at":"2026-11-23T10:00:00Z","until":"2026-11-23T11:00:00Z"}"#;
        let action: AlertAction = serde_json::from_str(line).unwrap();
        assert_eq!(action.action, AlertActionKind::Snooze);
        assert_eq!(action.action.as_str(), "snooze");
        let again: AlertAction =
            serde_json::from_str(&serde_json::to_string(&action).unwrap()).unwrap();
        assert_eq!(again, action);
    }
}
