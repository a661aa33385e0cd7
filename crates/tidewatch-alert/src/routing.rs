//! Pure matching of routes and silences.
//!
//! Guarantees:
//! * [`routed_receivers`] follows the config order: the first matching route decides, unless it
//!   has `continue = true`; each receiver appears once, in the order first named.
//! * [`active_silence`] returns the first silence (config order) whose every matcher matches
//!   and whose window `[starts_at, ends_at)` contains `now`; `now` is passed in, no clock.

use chrono::{DateTime, Utc};
use tidewatch_model::{AlertEvent, Severity};

use crate::config::{NotifyConfig, RouteConfig, SilenceConfig};

/// The receivers an alert of `watch` at `severity` goes to.
pub fn routed_receivers<'config>(
    config: &'config NotifyConfig,
    watch: &str,
    severity: Severity,
) -> Vec<&'config str> {
    let mut receivers: Vec<&str> = Vec::new();
    for route in &config.route {
        if !route_matches(route, watch, severity) {
            continue;
        }
        for name in &route.receivers {
            if !receivers.contains(&name.as_str()) {
                receivers.push(name);
            }
        }
        if !route.continue_matching {
            break;
        }
    }
    receivers
}

fn route_matches(route: &RouteConfig, watch: &str, severity: Severity) -> bool {
    let watch_matches = route.watches.is_empty() || route.watches.iter().any(|w| w == watch);
    watch_matches && severity >= route.min_severity
}

/// The first silence holding back `event` at `now`, with its index in the config.
pub fn active_silence<'config>(
    config: &'config NotifyConfig,
    event: &AlertEvent,
    now: DateTime<Utc>,
) -> Option<(usize, &'config SilenceConfig)> {
    config
        .silence
        .iter()
        .enumerate()
        .find(|(_, silence)| silence_matches(silence, event, now))
}

fn silence_matches(silence: &SilenceConfig, event: &AlertEvent, now: DateTime<Utc>) -> bool {
    if now < silence.starts_at || now >= silence.ends_at || silence.matchers.is_empty() {
        return false;
    }
    let matchers = &silence.matchers;
    let watch = matchers
        .watch
        .as_ref()
        .is_none_or(|watch| *watch == event.watch);
    let severity = matchers
        .severity
        .is_none_or(|severity| severity == event.severity);
    let story = matchers
        .story_id
        .as_ref()
        .is_none_or(|id| *id == event.story_id);
    let title = matchers
        .title_contains
        .as_ref()
        .is_none_or(|needle| event.title.to_lowercase().contains(&needle.to_lowercase()));
    watch && severity && story && title
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SilenceMatchers;
    use crate::test_support::{event, ts};
    use tidewatch_model::AlertState;

    fn route(watches: &[&str], min: Severity, receivers: &[&str], more: bool) -> RouteConfig {
        RouteConfig {
            watches: watches.iter().map(|w| w.to_string()).collect(),
            min_severity: min,
            receivers: receivers.iter().map(|r| r.to_string()).collect(),
            continue_matching: more,
        }
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let mut config = NotifyConfig {
            route: vec![
                route(&["acme"], Severity::Critical, &["pd"], false),
                route(&["acme"], Severity::Info, &["slack"], false),
                route(&[], Severity::Info, &["hook"], false),
            ],
            ..NotifyConfig::default()
        };
        assert_eq!(
            routed_receivers(&config, "acme", Severity::Critical),
            ["pd"]
        );
        assert_eq!(
            routed_receivers(&config, "acme", Severity::Warning),
            ["slack"]
        );
        assert_eq!(routed_receivers(&config, "other", Severity::Info), ["hook"]);
        config.route[0].continue_matching = true;
        config.route[0].receivers.push("slack".into());
        assert_eq!(
            routed_receivers(&config, "acme", Severity::Critical),
            ["pd", "slack"]
        );
    }

    #[test]
    fn silences_need_every_matcher_and_the_window() {
        let silence = SilenceConfig {
            matchers: SilenceMatchers {
                watch: Some("acme".into()),
                title_contains: Some("WIFI".into()),
                ..SilenceMatchers::default()
            },
            starts_at: ts(100),
            ends_at: ts(200),
            comment: "known outage".into(),
        };
        let config = NotifyConfig {
            silence: vec![silence],
            ..NotifyConfig::default()
        };
        let mut alert = event("s1", "acme", AlertState::Firing, Severity::Warning, 150);
        alert.title = "wifi down again".into();
        assert_eq!(
            active_silence(&config, &alert, ts(150)).map(|(i, _)| i),
            Some(0)
        );
        assert!(active_silence(&config, &alert, ts(99)).is_none());
        assert!(active_silence(&config, &alert, ts(200)).is_none());
        alert.title = "lost bags".into();
        assert!(active_silence(&config, &alert, ts(150)).is_none());
        alert.title = "wifi".into();
        alert.watch = "other".into();
        assert!(active_silence(&config, &alert, ts(150)).is_none());
    }
}
