//! Receiver secrets, read from environment variables named in the config.
//!
//! Guarantees:
//! * A secret's value is never printed: [`Secret`]'s `Debug` shows `Secret(<redacted>)`, it has
//!   no `Display` and no `Serialize`, and errors name only the variable.
//! * [`ReceiverSecrets::from_env`] checks every receiver at start and fails on the first
//!   missing or empty variable with the config key that named it, so a stage never starts
//!   half-configured.
//! * The lookup is passed in (`std::env::var` in production, a map in tests): no global state.

use std::collections::BTreeMap;
use std::fmt;

use crate::config::{check_http_url, NotifyConfig, ReceiverKind};
use crate::error::ConfigError;

/// A secret value that never shows up in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(<redacted>)")
    }
}

/// Each receiver's secret by receiver name.
#[derive(Debug, Clone, Default)]
pub struct ReceiverSecrets {
    by_receiver: BTreeMap<String, Secret>,
}

impl ReceiverSecrets {
    /// Reads every receiver's secret through `lookup` (for example
    /// `|name| std::env::var(name).ok()`).
    pub fn from_env(
        config: &NotifyConfig,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut by_receiver = BTreeMap::new();
        for (index, receiver) in config.receiver.iter().enumerate() {
            let (secret_key, variable) = receiver.secret_env();
            let key = format!("receiver[{index}].{secret_key}");
            let Some(variable) = variable else {
                return Err(ConfigError::invalid(key, "missing"));
            };
            let value = lookup(variable).filter(|value| !value.trim().is_empty());
            let Some(value) = value else {
                return Err(ConfigError::MissingEnv {
                    key,
                    variable: variable.to_string(),
                });
            };
            if receiver.kind == ReceiverKind::Slack {
                // The value is a URL; check it without echoing it.
                check_http_url(key.clone(), &value).map_err(|_| {
                    ConfigError::invalid(
                        key.clone(),
                        format!("environment variable {variable} does not hold an http(s) URL"),
                    )
                })?;
            }
            by_receiver.insert(receiver.name.clone(), Secret::new(value));
        }
        Ok(ReceiverSecrets { by_receiver })
    }

    pub fn get(&self, receiver: &str) -> Option<&Secret> {
        self.by_receiver.get(receiver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReceiverConfig;
    use std::collections::HashMap;

    fn slack_config() -> NotifyConfig {
        NotifyConfig {
            receiver: vec![ReceiverConfig {
                name: "care".into(),
                kind: ReceiverKind::Slack,
                url: None,
                routing_key_env: None,
                webhook_url_env: Some("CARE_SLACK_URL".into()),
                secret_env: None,
                dashboard_url: None,
            }],
            ..NotifyConfig::default()
        }
    }

    #[test]
    fn missing_variable_names_key_and_variable_but_not_value() {
        let error = ReceiverSecrets::from_env(&slack_config(), |_| None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "receiver[0].webhook_url_env: environment variable CARE_SLACK_URL is not set or empty"
        );
    }

    #[test]
    fn slack_secret_must_be_a_url_and_is_never_echoed() {
        let env = HashMap::from([("CARE_SLACK_URL".to_string(), "hunter2".to_string())]);
        let error =
            ReceiverSecrets::from_env(&slack_config(), |name| env.get(name).cloned()).unwrap_err();
        assert!(error.to_string().contains("CARE_SLACK_URL"));
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let env = HashMap::from([(
            "CARE_SLACK_URL".to_string(),
            "https://hooks.slack.test/T000/B000/XXXX".to_string(),
        )]);
        let secrets =
            ReceiverSecrets::from_env(&slack_config(), |name| env.get(name).cloned()).unwrap();
        let secret = secrets.get("care").unwrap();
        assert_eq!(secret.expose(), "https://hooks.slack.test/T000/B000/XXXX");
        let printed = format!("{secrets:?}");
        assert!(!printed.contains("XXXX"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }
}
