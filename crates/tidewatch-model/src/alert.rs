//! Alert events (`alerts` topic, and what `tidewatch backtest` prints). `fired_at` is event time,
//! so replaying the same posts gives the same events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Updated,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub v: u32,
    pub story_id: String,
    pub watch: String,
    pub state: AlertState,
    pub severity: Severity,
    #[serde(with = "crate::post::timestamp_serde")]
    pub fired_at: DateTime<Utc>,
    #[serde(with = "crate::post::timestamp_serde")]
    pub first_post_at: DateTime<Utc>,
    pub title: String,
    pub terms: Vec<String>,
    pub posts: u64,
    pub negative_share: f64,
    pub score: f64,
    pub baseline: f64,
    pub threshold: f64,
    /// Evidence: the first post, then the posts with most reach; capped by the detector.
    pub post_ids: Vec<String>,
    pub first_post_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_design_example() {
        let line = r#"{"v":1,"story_id":"s1","watch":"acme-air","state":"firing","severity":"warning",
            "fired_at":"2015-02-23T18:24:00Z","first_post_at":"2015-02-23T18:01:00Z","title":"fleet fleek","terms":["fleet","fleek"],
            "posts":57,"negative_share":0.41,"score":9.3,"baseline":1.2,"threshold":6.0,
            "post_ids":["a"],"first_post_id":"a"}"#;
        let event: AlertEvent = serde_json::from_str(line).unwrap();
        assert_eq!(event.state, AlertState::Firing);
        assert!(Severity::Critical > Severity::Warning);
        let again: AlertEvent =
            serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
        assert_eq!(again, event);
    }
}
