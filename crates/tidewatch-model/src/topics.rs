//! Kafka topic names. A prefix lets several pipelines (or tests) share one cluster without
//! seeing each other's records.

/// The topic names one pipeline uses; see the data flow in DESIGN.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub posts_raw: String,
    pub posts_scored: String,
    pub posts_watched: String,
    pub alerts: String,
    /// Acknowledge / resolve / snooze actions from the API, keyed by story id.
    pub alert_actions: String,
    pub dead_letter: String,
}

impl Topics {
    /// Topic names with `prefix` in front of each (an empty prefix gives the standard names).
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            posts_raw: format!("{prefix}posts.raw"),
            posts_scored: format!("{prefix}posts.scored"),
            posts_watched: format!("{prefix}posts.watched"),
            alerts: format!("{prefix}alerts"),
            alert_actions: format!("{prefix}alerts.actions"),
            dead_letter: format!("{prefix}tidewatch.dlq"),
        }
    }

    pub fn all(&self) -> [&str; 6] {
        [
            &self.posts_raw,
            &self.posts_scored,
            &self.posts_watched,
            &self.alerts,
            &self.alert_actions,
            &self.dead_letter,
        ]
    }
}

impl Default for Topics {
    fn default() -> Self {
        Self::with_prefix("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_names_match_the_design() {
        let topics = Topics::default();
        assert_eq!(topics.posts_raw, "posts.raw");
        assert_eq!(topics.dead_letter, "tidewatch.dlq");
        let prefixed = Topics::with_prefix("t1.");
        assert_eq!(prefixed.alerts, "t1.alerts");
    }
}
