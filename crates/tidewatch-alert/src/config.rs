//! Configuration of the notify stage: the binary's `[[receiver]]`, `[[route]]`, `[[silence]]`
//! and `[alert]` TOML sections.
//!
//! Guarantees:
//! * Every struct refuses unknown keys (`deny_unknown_fields`), so a typo is an error at start,
//!   never a silently ignored setting.
//! * Secrets are never in the file: a receiver names the *environment variable* that holds its
//!   PagerDuty routing key, Slack webhook URL or webhook signing secret
//!   (`routing_key_env`, `webhook_url_env`, `secret_env`); see [`crate::secrets`].
//! * [`NotifyConfig::validate`] names the offending key in every error (`route[1].receivers`,
//!   `receiver[0].url`, …): duplicate or unknown receiver names, a missing secret variable name,
//!   an unparsable URL, a silence without matchers or ending before it starts, zero limits.
//!
//! Routing: routes are checked in file order; the **first** matching route decides the
//! receivers, unless it says `continue = true`, in which case later matching routes add theirs
//! (Alertmanager semantics). A route matches when its `watches` is empty or lists the event's
//! watch, and the event's severity is at least `min_severity`.

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use std::collections::HashSet;
use tidewatch_model::Severity;

use crate::error::ConfigError;

/// PagerDuty's Events API v2 endpoint, the default `url` of a `pagerduty` receiver.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Everything the notify stage reads from the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// `[alert]`
    #[serde(default)]
    pub alert: AlertSettings,
    /// `[[receiver]]`
    #[serde(default)]
    pub receiver: Vec<ReceiverConfig>,
    /// `[[route]]`
    #[serde(default)]
    pub route: Vec<RouteConfig>,
    /// `[[silence]]`
    #[serde(default)]
    pub silence: Vec<SilenceConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverKind {
    Pagerduty,
    Slack,
    Webhook,
}

impl ReceiverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pagerduty => "pagerduty",
            Self::Slack => "slack",
            Self::Webhook => "webhook",
        }
    }
}

/// `[[receiver]]`: where notifications go.
///
/// ```toml
/// [[receiver]]
/// name = "oncall"                       # unique; what routes refer to
/// kind = "pagerduty"                    # pagerduty | slack | webhook
/// routing_key_env = "TIDEWATCH_PD_KEY"  # pagerduty: env var holding the integration key
/// # url = "https://events.pagerduty.com/v2/enqueue"   # pagerduty default; required for webhook
/// dashboard_url = "https://tidewatch.example.com"     # links: {dashboard_url}/#/stories/{story_id}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    pub name: String,
    pub kind: ReceiverKind,
    /// PagerDuty: defaults to [`PAGERDUTY_EVENTS_URL`] (override for tests); webhook: required;
    /// Slack: not allowed (the webhook URL is a secret, see `webhook_url_env`).
    #[serde(default)]
    pub url: Option<String>,
    /// PagerDuty: the env var holding the routing (integration) key.
    #[serde(default)]
    pub routing_key_env: Option<String>,
    /// Slack: the env var holding the incoming-webhook URL.
    #[serde(default)]
    pub webhook_url_env: Option<String>,
    /// Webhook: the env var holding the HMAC-SHA256 signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Base URL of the dashboard, for links to the story.
    #[serde(default)]
    pub dashboard_url: Option<String>,
}

impl ReceiverConfig {
    /// The env var this receiver's secret is read from, and the key that names it.
    pub fn secret_env(&self) -> (&'static str, Option<&str>) {
        match self.kind {
            ReceiverKind::Pagerduty => ("routing_key_env", self.routing_key_env.as_deref()),
            ReceiverKind::Slack => ("webhook_url_env", self.webhook_url_env.as_deref()),
            ReceiverKind::Webhook => ("secret_env", self.secret_env.as_deref()),
        }
    }

    /// The link to a story on the dashboard, when a `dashboard_url` is configured.
    pub fn story_link(&self, story_id: &str) -> Option<String> {
        let base = self.dashboard_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/#/stories/{story_id}"))
    }
}

/// `[[route]]`: which receivers get which alerts.
///
/// ```toml
/// [[route]]
/// watches = ["jetblue"]          # empty or absent: every watch
/// min_severity = "warning"       # info | warning | critical (default info)
/// receivers = ["oncall", "care"]
/// continue = false               # true: later matching routes add their receivers too
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    #[serde(default)]
    pub watches: Vec<String>,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    pub receivers: Vec<String>,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

fn default_min_severity() -> Severity {
    Severity::Info
}

/// `[[silence]]`: hold back notifications matching every given matcher between two instants.
///
/// ```toml
/// [[silence]]
/// matchers = { watch = "jetblue", severity = "info", title_contains = "wifi" }
/// starts_at = "2026-11-23T10:00:00Z"
/// ends_at = "2026-11-23T18:00:00Z"
/// comment = "known wifi outage, vendor is on it"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceConfig {
    pub matchers: SilenceMatchers,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    pub comment: String,
}

/// Every matcher given must match (absent ones match anything); at least one is required.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SilenceMatchers {
    #[serde(default)]
    pub watch: Option<String>,
    /// Exact severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub story_id: Option<String>,
    /// Case-insensitive substring of the story title.
    #[serde(default)]
    pub title_contains: Option<String>,
}

impl SilenceMatchers {
    pub fn is_empty(&self) -> bool {
        self.watch.is_none()
            && self.severity.is_none()
            && self.story_id.is_none()
            && self.title_contains.is_none()
    }
}

/// `[alert]`: policy limits, retries and the state file.
///
/// ```toml
/// [alert]
/// state_path = "state/alert.json"   # incidents + pending deliveries, written atomically
/// cooldown_minutes = 10             # per watch: no page for a NEW story within this of the last page
/// max_pages_per_watch_per_hour = 6  # per watch, rolling hour
/// outbox_capacity = 10000           # pending deliveries; a full outbox refuses new events (retryable)
/// retry_max_attempts = 8            # attempts per delivery before giving up
/// retry_base_ms = 1000              # backoff: between half and all of base * 2^attempt ...
/// retry_max_ms = 300000             # ... capped here; Retry-After overrides (capped too)
/// request_timeout_ms = 10000
/// incident_retention_hours = 168    # closed incidents are forgotten after this
/// ```
///
/// A story held back by the cooldown or the page cap is still recorded (Slack and webhooks get
/// it) and is paged later, by the next event of the story or [`crate::AlertPolicy::tick`], once
/// the cooldown or the cap allows it, if it is still firing and not acknowledged or resolved.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    pub state_path: String,
    pub cooldown_minutes: u32,
    pub max_pages_per_watch_per_hour: u32,
    pub outbox_capacity: usize,
    pub retry_max_attempts: u32,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub request_timeout_ms: u64,
    pub incident_retention_hours: u32,
    /// Re-send a PagerDuty trigger (same `dedup_key`, so the open incident is updated, never a
    /// second one) when a story's severity rises. Off by default: one trigger per story.
    pub pagerduty_severity_updates: bool,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            state_path: "state/alert.json".to_string(),
            cooldown_minutes: 10,
            max_pages_per_watch_per_hour: 6,
            outbox_capacity: 10_000,
            retry_max_attempts: 8,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
            request_timeout_ms: 10_000,
            incident_retention_hours: 168,
            pagerduty_severity_updates: false,
        }
    }
}

impl NotifyConfig {
    pub fn receiver(&self, name: &str) -> Option<&ReceiverConfig> {
        self.receiver.iter().find(|receiver| receiver.name == name)
    }

    /// Checks everything that can be checked without the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_alert_settings()?;
        let mut names = HashSet::new();
        for (index, receiver) in self.receiver.iter().enumerate() {
            validate_receiver(index, receiver)?;
            if !names.insert(receiver.name.as_str()) {
                return Err(ConfigError::invalid(
                    format!("receiver[{index}].name"),
                    format!("duplicate receiver name {:?}", receiver.name),
                ));
            }
        }
        for (index, route) in self.route.iter().enumerate() {
            if route.receivers.is_empty() {
                return Err(ConfigError::invalid(
                    format!("route[{index}].receivers"),
                    "a route needs at least one receiver",
                ));
            }
            if let Some(unknown) = route
                .receivers
                .iter()
                .find(|name| !names.contains(name.as_str()))
            {
                return Err(ConfigError::invalid(
                    format!("route[{index}].receivers"),
                    format!("unknown receiver {unknown:?}"),
                ));
            }
        }
        for (index, silence) in self.silence.iter().enumerate() {
            if silence.matchers.is_empty() {
                return Err(ConfigError::invalid(
                    format!("silence[{index}].matchers"),
                    "a silence needs at least one matcher (watch, severity, story_id, title_contains)",
                ));
            }
            if silence.ends_at <= silence.starts_at {
                return Err(ConfigError::invalid(
                    format!("silence[{index}].ends_at"),
                    "ends_at must be after starts_at",
                ));
            }
        }
        Ok(())
    }

    fn validate_alert_settings(&self) -> Result<(), ConfigError> {
        let settings = &self.alert;
        let positive = [
            (
                "alert.max_pages_per_watch_per_hour",
                settings.max_pages_per_watch_per_hour as u64,
            ),
            ("alert.outbox_capacity", settings.outbox_capacity as u64),
            (
                "alert.retry_max_attempts",
                settings.retry_max_attempts as u64,
            ),
            ("alert.retry_base_ms", settings.retry_base_ms),
            ("alert.request_timeout_ms", settings.request_timeout_ms),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(ConfigError::invalid(*key, "must be greater than zero"));
        }
        if settings.retry_max_ms < settings.retry_base_ms {
            return Err(ConfigError::invalid(
                "alert.retry_max_ms",
                "must be at least alert.retry_base_ms",
            ));
        }
        if settings.state_path.trim().is_empty() {
            return Err(ConfigError::invalid(
                "alert.state_path",
                "must not be empty",
            ));
        }
        Ok(())
    }
}

fn validate_receiver(index: usize, receiver: &ReceiverConfig) -> Result<(), ConfigError> {
    if receiver.name.trim().is_empty() {
        return Err(ConfigError::invalid(
            format!("receiver[{index}].name"),
            "must not be empty",
        ));
    }
    let (secret_key, secret_env) = receiver.secret_env();
    match secret_env {
        Some(var) if !var.trim().is_empty() => {}
        _ => {
            return Err(ConfigError::invalid(
                format!("receiver[{index}].{secret_key}"),
                format!(
                    "a {} receiver needs the name of the environment variable holding its secret",
                    receiver.kind.as_str()
                ),
            ))
        }
    }
    let stray_secret_keys = [
        ("routing_key_env", &receiver.routing_key_env),
        ("webhook_url_env", &receiver.webhook_url_env),
        ("secret_env", &receiver.secret_env),
    ];
    if let Some((key, _)) = stray_secret_keys
        .iter()
        .find(|(key, value)| *key != secret_key && value.is_some())
    {
        return Err(ConfigError::invalid(
            format!("receiver[{index}].{key}"),
            format!("not used by a {} receiver", receiver.kind.as_str()),
        ));
    }
    match (receiver.kind, &receiver.url) {
        (ReceiverKind::Slack, Some(_)) => {
            return Err(ConfigError::invalid(
                format!("receiver[{index}].url"),
                "a slack receiver's webhook URL is a secret: set webhook_url_env instead",
            ))
        }
        (ReceiverKind::Webhook, None) => {
            return Err(ConfigError::invalid(
                format!("receiver[{index}].url"),
                "a webhook receiver needs a url",
            ))
        }
        (_, Some(url)) => check_http_url(format!("receiver[{index}].url"), url)?,
        _ => {}
    }
    if let Some(dashboard_url) = &receiver.dashboard_url {
        check_http_url(format!("receiver[{index}].dashboard_url"), dashboard_url)?;
    }
    Ok(())
}

pub(crate) fn check_http_url(key: String, url: &str) -> Result<(), ConfigError> {
    let parsed =
        Url::parse(url).map_err(|error| ConfigError::invalid(key.clone(), error.to_string()))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(ConfigError::invalid(
            key,
            "only http and https URLs are allowed",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
