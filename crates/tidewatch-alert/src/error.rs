//! Errors of the alert crate, each saying whether retrying can help.
//!
//! Guarantees:
//! * A [`ConfigError`] always names the config key (or environment variable) at fault and is
//!   fatal: the stage must not start.
//! * [`AlertError::is_retryable`] is true only for conditions that go away by themselves (a full
//!   outbox drains, a state-file write can succeed later); the caller then must not store its
//!   Kafka offsets and should retry the same record.
//! * [`DeliveryError`] separates what the outbox retries (429, 5xx, network) from what it drops
//!   at once (other 4xx, an unbuildable request).

use std::time::Duration;

/// A bad or incomplete configuration. Fatal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    /// The variable named by `key` is not set (the value itself is never shown).
    #[error("{key}: environment variable {variable} is not set or empty")]
    MissingEnv { key: String, variable: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// What the service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// Fatal: fix the config.
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    /// Fatal at start: the state file exists but cannot be read as state (never silently reset,
    /// which could re-page every open story).
    #[error("state file {path}: {message}")]
    CorruptState { path: String, message: String },
    /// Retryable: reading or writing the state file failed.
    #[error("state file {path}: {source}")]
    StateIo {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Retryable: the outbox is full; the event was not applied. Retry after deliveries drain.
    #[error("outbox full: {pending} pending deliveries (capacity {capacity})")]
    OutboxFull { pending: usize, capacity: usize },
    /// Fatal at start: the HTTP client could not be built.
    #[error("http client: {0}")]
    HttpClient(String),
}

impl AlertError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AlertError::StateIo { .. } | AlertError::OutboxFull { .. }
        )
    }
}

/// One failed delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// 429, 5xx, timeout or connection error: the outbox retries, honouring `retry_after`.
    #[error("retryable: {reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Any other 4xx, or a request that cannot be built: retrying would fail the same way.
    #[error("fatal: {reason}")]
    Fatal { reason: String },
}

impl DeliveryError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::Retryable { .. })
    }
}
