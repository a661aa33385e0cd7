//! Shared state of the API handlers, and the port through which alert actions leave the API.
//!
//! Guarantees: [`ApiState`] is cheap to clone (everything behind `Arc`) and holds no per-request
//! state, so any number of API replicas can serve the same ClickHouse; token hashes are indexed
//! once at construction. The only process-wide parts are the alert stream's shared poller and
//! its connection counts (one per process, by design: see `crate::stream_hub`).

use std::collections::HashMap;
use std::sync::Arc;

use tidewatch_model::AlertAction;
use tidewatch_store::PostStore;
use tokio_util::sync::CancellationToken;

use crate::config::{ApiConfig, Role};
use crate::stream_hub::{AlertHub, StreamLimits};

/// Why publishing an alert action failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ActionSinkError {
    pub message: String,
    /// True when trying again later may succeed.
    pub retryable: bool,
}

/// Where alert actions go after they are stored: the binary publishes them to `alerts.actions`
/// for the alert stage (PagerDuty acknowledge / resolve).
#[async_trait::async_trait]
pub trait ActionSink: Send + Sync {
    async fn publish(&self, action: &AlertAction) -> Result<(), ActionSinkError>;
}

/// A sink that only logs: for the dev server and deployments without an alert stage.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoggingActionSink;

#[async_trait::async_trait]
impl ActionSink for LoggingActionSink {
    async fn publish(&self, action: &AlertAction) -> Result<(), ActionSinkError> {
        tracing::info!(
            story_id = %action.story_id,
            action = action.action.as_str(),
            by = %action.by,
            "alert action recorded (no alert stage attached)"
        );
        Ok(())
    }
}

/// Who a request's token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) config: Arc<ApiConfig>,
    pub(crate) store: PostStore,
    pub(crate) sink: Arc<dyn ActionSink>,
    /// SHA-256 hex → principal.
    pub(crate) principals: Arc<HashMap<String, Principal>>,
    /// Cancelled when the API shuts down: ends open SSE streams so shutdown is not held up.
    pub(crate) shutdown: CancellationToken,
    /// The process's one alert-change poller, shared by every open stream.
    pub(crate) stream_hub: Arc<AlertHub>,
    /// Open streams, in total and per token.
    pub(crate) stream_limits: Arc<StreamLimits>,
}

impl ApiState {
    pub fn new(config: ApiConfig, store: PostStore, sink: Arc<dyn ActionSink>) -> Self {
        let principals = config
            .tokens
            .iter()
            .map(|token| {
                (
                    token.sha256.to_ascii_lowercase(),
                    Principal {
                        name: token.name.clone(),
                        role: token.role,
                    },
                )
            })
            .collect();
        let stream_limits = StreamLimits::new(
            config.max_streams as usize,
            config.max_streams_per_token as usize,
        );
        Self {
            config: Arc::new(config),
            stream_hub: AlertHub::new(Arc::new(store.clone())),
            stream_limits,
            store,
            sink,
            principals: Arc::new(principals),
            shutdown: CancellationToken::new(),
        }
    }

    /// Ends open SSE streams when `shutdown` is cancelled (pass the binary's shutdown token).
    pub fn with_shutdown(mut self, shutdown: CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }

    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    pub fn store(&self) -> &PostStore {
        &self.store
    }
}
