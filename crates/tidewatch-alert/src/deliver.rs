//! HTTP delivery of one notification to its receiver (reqwest + rustls).
//!
//! Guarantees:
//! * One attempt per call, with the configured timeout; retrying is the outbox's job.
//! * A 2xx is delivered. 429, 5xx, timeouts and connection errors are
//!   [`DeliveryError::Retryable`] with the `Retry-After` wait when the receiver sent one (delta
//!   seconds or an HTTP date); any other status is [`DeliveryError::Fatal`]; so is a notification
//!   for a receiver that is no longer configured, or whose kind changed.
//! * Secrets stay out of errors and logs: reqwest errors are stripped of their URL (a Slack
//!   webhook URL is the secret), and response bodies are cut to 200 characters.

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::config::{NotifyConfig, ReceiverConfig, ReceiverKind, PAGERDUTY_EVENTS_URL};
use crate::error::{AlertError, DeliveryError};
use crate::notification::{Message, Notification};
use crate::secrets::{ReceiverSecrets, Secret};
use crate::slack::truncate_chars;
use crate::{pagerduty, slack, webhook};

struct Target {
    config: ReceiverConfig,
    secret: Secret,
}

/// Sends notifications over HTTP.
pub struct Deliverer {
    client: Client,
    targets: BTreeMap<String, Target>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&String> = self.targets.keys().collect();
        formatter
            .debug_struct("Deliverer")
            .field("receivers", &names)
            .finish()
    }
}

/// The `Retry-After` header as a wait: delta seconds, or an HTTP date relative to `now`.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    tidewatch_model::retry::parse_retry_after(value, now)
}

impl Deliverer {
    pub fn new(config: &NotifyConfig, secrets: &ReceiverSecrets) -> Result<Self, AlertError> {
        let client = Client::builder()
            .timeout(Duration::from_millis(config.alert.request_timeout_ms))
            .user_agent(concat!("tidewatch-alert/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| AlertError::HttpClient(error.without_url().to_string()))?;
        let mut targets = BTreeMap::new();
        for receiver in &config.receiver {
            let Some(secret) = secrets.get(&receiver.name) else {
                let (key, variable) = receiver.secret_env();
                return Err(AlertError::Config(crate::ConfigError::MissingEnv {
                    key: format!("receiver {:?} {key}", receiver.name),
                    variable: variable.unwrap_or_default().to_string(),
                }));
            };
            let target = Target {
                config: receiver.clone(),
                secret: secret.clone(),
            };
            targets.insert(receiver.name.clone(), target);
        }
        Ok(Deliverer { client, targets })
    }

    /// One attempt to deliver `notification`; `now` stamps webhook signatures.
    pub async fn deliver(
        &self,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        let Some(target) = self.targets.get(&notification.receiver) else {
            return Err(DeliveryError::Fatal {
                reason: format!(
                    "receiver {:?} is no longer configured",
                    notification.receiver
                ),
            });
        };
        if target.config.kind != notification.receiver_kind() {
            return Err(DeliveryError::Fatal {
                reason: format!(
                    "receiver {:?} is now of kind {}",
                    notification.receiver,
                    target.config.kind.as_str()
                ),
            });
        }
        let link = target.config.story_link(&notification.story_id);
        let request = match &notification.message {
            Message::PagerDuty { action, event, .. } => {
                let url = target.config.url.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL);
                let body =
                    pagerduty::event_body(*action, event, target.secret.expose(), link.as_deref());
                self.client.post(url).json(&body)
            }
            Message::Slack {
                kind,
                event,
                action,
            } => {
                let body = slack::message_body(*kind, event, action.as_ref(), link.as_deref());
                self.client.post(target.secret.expose()).json(&body)
            }
            Message::Webhook { body } => {
                let url = target.config.url.as_deref().unwrap_or_default();
                let bytes = webhook::body_bytes(&notification.id, body, link.as_deref());
                let timestamp = now.timestamp();
                let signature =
                    webhook::signature(target.secret.expose().as_bytes(), timestamp, &bytes);
                self.client
                    .post(url)
                    .header(CONTENT_TYPE, "application/json")
                    .header(webhook::TIMESTAMP_HEADER, timestamp.to_string())
                    .header(webhook::SIGNATURE_HEADER, signature)
                    .header(webhook::DELIVERY_HEADER, notification.id.as_str())
                    .body(bytes)
            }
        };
        let response = request.send().await.map_err(classify_transport_error)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let wait = retry_after(response.headers(), SystemTime::now());
        let text = response.text().await.unwrap_or_default();
        let reason = format!(
            "http {}: {}",
            status.as_u16(),
            truncate_chars(text.trim(), 200)
        );
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(DeliveryError::Retryable {
                reason,
                retry_after: wait,
            });
        }
        Err(DeliveryError::Fatal { reason })
    }

    pub fn receiver_kind(&self, receiver: &str) -> Option<ReceiverKind> {
        self.targets.get(receiver).map(|target| target.config.kind)
    }
}

fn classify_transport_error(error: reqwest::Error) -> DeliveryError {
    let retryable =
        error.is_timeout() || error.is_connect() || error.is_request() || error.is_body();
    let reason = error.without_url().to_string();
    if retryable {
        return DeliveryError::Retryable {
            reason,
            retry_after: None,
        };
    }
    DeliveryError::Fatal { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_the_header_when_present() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
