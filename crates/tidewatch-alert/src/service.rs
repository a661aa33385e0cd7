//! [`AlertService`]: the IO edge the `tidewatch notify` stage drives.
//!
//! Guarantees:
//! * **Durable on `Ok`**: when [`AlertService::handle_event`], [`AlertService::handle_events`]
//!   (a batch, one write) or [`AlertService::handle_action`] returns `Ok`, the policy state and the notifications it decided are in the state file
//!   (atomic write), so the stage may store the Kafka offset. On `Err` with
//!   [`AlertError::is_retryable`] the stage must retry the same record (a repeat is harmless: it
//!   is recognised and only the pending write is retried).
//! * **Backpressure, no loss**: an event or action is refused with [`AlertError::OutboxFull`]
//!   *before* it is applied when the outbox might not hold its notifications.
//! * **Restart**: [`AlertService::new`] loads the state file, so a restarted stage neither pages
//!   a story again (the policy remembers every trigger) nor loses a pending delivery (they are
//!   retried at once). A corrupt state file stops the start instead of resetting.
//! * [`AlertService::run_deliveries`] is the one delivery task: oldest due delivery first, in
//!   order per story and receiver, retries with backoff (honouring `Retry-After`), gives up after
//!   `retry_max_attempts`, drops on a fatal 4xx; each outcome is counted in
//!   `tidewatch_alert_notifications_total{receiver,kind,outcome}` (outcome = delivered, retried,
//!   rejected, gave_up, suppressed) and `tidewatch_alert_pending_deliveries` tracks the outbox.
//!   It also runs [`AlertPolicy::tick`] every [`TICK_INTERVAL`]. It returns when `cancel` fires,
//!   after saving the state; a delivery interrupted by the cancel stays pending. A delivery can be
//!   sent twice when the process dies between the send and the state write: PagerDuty folds it
//!   by `dedup_key`, webhooks get the same `X-Tidewatch-Delivery`, Slack shows it twice.

use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tidewatch_model::{AlertAction, AlertEvent};
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::NotifyConfig;
use crate::deliver::Deliverer;
use crate::error::{AlertError, DeliveryError};
use crate::notification::{Decision, Notification};
use crate::outbox::{backoff, NextDelivery, Outbox, PendingDelivery};
use crate::policy::AlertPolicy;
use crate::secrets::ReceiverSecrets;
use crate::state_file::{self, StateFile, STATE_VERSION};

/// How often the delivery loop runs the policy's tick (deferred pages, retention).
pub const TICK_INTERVAL: Duration = Duration::from_secs(30);

/// Counts for health checks and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceStatus {
    pub pending_deliveries: usize,
    pub incidents: usize,
}

struct State {
    policy: AlertPolicy,
    outbox: Outbox,
    /// The in-memory state differs from the state file.
    dirty: bool,
}

struct Shared {
    config: NotifyConfig,
    state_path: PathBuf,
    deliverer: Deliverer,
    state: Mutex<State>,
    wake: Notify,
}

/// The alerting service; cheap to clone (one shared state).
#[derive(Clone)]
pub struct AlertService {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AlertService {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AlertService")
            .field("state_path", &self.shared.state_path)
            .finish_non_exhaustive()
    }
}

fn count(receiver: &str, kind: &'static str, outcome: &'static str) {
    metrics::counter!(
        "tidewatch_alert_notifications_total",
        "receiver" => receiver.to_string(),
        "kind" => kind,
        "outcome" => outcome
    )
    .increment(1);
}

impl AlertService {
    /// Validates `config`, reads every receiver's secret through `env` (for example
    /// `|name| std::env::var(name).ok()`), and loads the state file if there is one.
    pub fn new(
        config: NotifyConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AlertError> {
        config.validate()?;
        let secrets = ReceiverSecrets::from_env(&config, env)?;
        let deliverer = Deliverer::new(&config, &secrets)?;
        let state_path = PathBuf::from(&config.alert.state_path);
        let loaded = state_file::load(&state_path)?.unwrap_or_default();
        let outbox = Outbox::restore(config.alert.outbox_capacity, loaded.pending);
        tracing::info!(
            state_path = %state_path.display(),
            incidents = loaded.policy.incidents().count(),
            pending_deliveries = outbox.len(),
            receivers = config.receiver.len(),
            "alert service started"
        );
        metrics::gauge!("tidewatch_alert_pending_deliveries").set(outbox.len() as f64);
        let state = State {
            policy: loaded.policy,
            outbox,
            dirty: false,
        };
        let shared = Shared {
            config,
            state_path,
            deliverer,
            state: Mutex::new(state),
            wake: Notify::new(),
        };
        Ok(AlertService {
            shared: Arc::new(shared),
        })
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.shared.config
    }

    /// Applies one alert event received at `now`; durable when it returns `Ok`.
    pub async fn handle_event(
        &self,
        event: &AlertEvent,
        now: DateTime<Utc>,
    ) -> Result<Decision, AlertError> {
        let config = &self.shared.config;
        let mut state = self.shared.state.lock().await;
        ensure_room(&state.outbox, config.receiver.len())?;
        let decision = state.policy.apply_event(config, event, now);
        self.absorb(&mut state, &decision);
        self.persist(&mut state).await?;
        Ok(decision)
    }

    /// Applies a batch of alert events (a Kafka poll's worth) with one state-file write: the
    /// same decisions as calling [`Self::handle_event`] for each, in order, but one fsync.
    /// Refused whole ([`AlertError::OutboxFull`], nothing applied) when the outbox might not hold
    /// the batch's notifications; split the batch or wait for deliveries to drain.
    pub async fn handle_events(
        &self,
        events: &[AlertEvent],
        now: DateTime<Utc>,
    ) -> Result<Vec<Decision>, AlertError> {
        let config = &self.shared.config;
        let mut state = self.shared.state.lock().await;
        ensure_room(
            &state.outbox,
            config.receiver.len().saturating_mul(events.len()),
        )?;
        let mut decisions = Vec::with_capacity(events.len());
        for event in events {
            let decision = state.policy.apply_event(config, event, now);
            self.absorb(&mut state, &decision);
            decisions.push(decision);
        }
        self.persist(&mut state).await?;
        Ok(decisions)
    }

    /// Applies one person's action; durable when it returns `Ok`.
    pub async fn handle_action(
        &self,
        action: &AlertAction,
        now: DateTime<Utc>,
    ) -> Result<Decision, AlertError> {
        let config = &self.shared.config;
        let mut state = self.shared.state.lock().await;
        // An unsnooze can page the story as well as forward the action: twice the receivers.
        ensure_room(&state.outbox, config.receiver.len() * 2)?;
        let decision = state.policy.apply_action(config, action, now);
        self.absorb(&mut state, &decision);
        self.persist(&mut state).await?;
        Ok(decision)
    }

    /// Runs the policy's tick at `now` (deferred pages, retention); [`Self::run_deliveries`]
    /// calls it every [`TICK_INTERVAL`]. Skipped while the outbox is too full for its pages.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<Decision, AlertError> {
        let config = &self.shared.config;
        let mut state = self.shared.state.lock().await;
        let possible_pages = state.policy.possible_pages(config);
        ensure_room(&state.outbox, possible_pages)?;
        let decision = state.policy.tick(config, now);
        self.absorb(&mut state, &decision);
        self.persist(&mut state).await?;
        Ok(decision)
    }

    /// Writes the state file if anything changed since the last write.
    pub async fn save_state(&self) -> Result<(), AlertError> {
        let mut state = self.shared.state.lock().await;
        self.persist(&mut state).await
    }

    pub async fn status(&self) -> ServiceStatus {
        let state = self.shared.state.lock().await;
        ServiceStatus {
            pending_deliveries: state.outbox.len(),
            incidents: state.policy.incidents().count(),
        }
    }

    /// The pending deliveries, oldest first (for health pages and tests).
    pub async fn pending_deliveries(&self) -> Vec<PendingDelivery> {
        let state = self.shared.state.lock().await;
        state.outbox.pending().cloned().collect()
    }

    fn absorb(&self, state: &mut State, decision: &Decision) {
        if decision.duplicate {
            tracing::debug!("repeated input ignored");
            return;
        }
        state.dirty = true;
        for suppressed in &decision.suppressed {
            let kind = self
                .shared
                .deliverer
                .receiver_kind(&suppressed.receiver)
                .map_or("any", |kind| kind.as_str());
            count(&suppressed.receiver, kind, "suppressed");
            tracing::info!(
                story_id = %suppressed.story_id,
                receiver = %suppressed.receiver,
                what = %suppressed.what,
                reason = suppressed.reason.as_str(),
                "notification suppressed"
            );
        }
        for notification in &decision.notifications {
            tracing::info!(
                story_id = %notification.story_id,
                receiver = %notification.receiver,
                what = notification.what(),
                id = %notification.id,
                "notification queued"
            );
            if let Err(refused) = state.outbox.push(notification.clone()) {
                // ensure_room reserved the space beforehand, so this is a broken invariant.
                tracing::error!(id = %refused.id, "outbox refused a reserved notification");
                count(
                    &refused.receiver,
                    refused.receiver_kind().as_str(),
                    "gave_up",
                );
            }
        }
        metrics::gauge!("tidewatch_alert_pending_deliveries").set(state.outbox.len() as f64);
        if !decision.notifications.is_empty() {
            self.shared.wake.notify_one();
        }
    }

    async fn persist(&self, state: &mut State) -> Result<(), AlertError> {
        if !state.dirty {
            return Ok(());
        }
        let file = StateFile {
            v: STATE_VERSION,
            policy: state.policy.clone(),
            pending: state.outbox.pending().cloned().collect(),
        };
        let bytes = serde_json::to_vec(&file).map_err(|error| AlertError::CorruptState {
            path: self.shared.state_path.display().to_string(),
            message: format!("cannot encode state: {error}"),
        })?;
        let path = self.shared.state_path.clone();
        let written =
            tokio::task::spawn_blocking(move || state_file::write_atomically(&path, &bytes))
                .await
                .map_err(|error| AlertError::StateIo {
                    path: self.shared.state_path.display().to_string(),
                    source: std::io::Error::other(error.to_string()),
                })?;
        written?;
        state.dirty = false;
        Ok(())
    }

    /// Delivers the outbox until `cancel` fires; see the module docs.
    pub async fn run_deliveries(&self, cancel: CancellationToken) {
        let mut ticks = tokio::time::interval(TICK_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = self.shared.state.lock().await.outbox.next(Instant::now());
            let wait_until = match next {
                NextDelivery::Due(delivery) => {
                    let sent = tokio::select! {
                        sent = self.shared.deliverer.deliver(&delivery.notification, Utc::now()) => sent,
                        () = cancel.cancelled() => break,
                    };
                    self.settle(&delivery, sent).await;
                    continue;
                }
                NextDelivery::WaitUntil(at) => Some(at),
                NextDelivery::Idle => None,
            };
            let sleep_until = wait_until.unwrap_or_else(|| Instant::now() + TICK_INTERVAL);
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.shared.wake.notified() => {}
                () = tokio::time::sleep_until(sleep_until) => {}
                _ = ticks.tick() => {
                    if let Err(error) = self.tick(Utc::now()).await {
                        tracing::warn!(%error, "alert tick failed");
                    }
                }
            }
        }
        if let Err(error) = self.save_state().await {
            tracing::error!(%error, "saving alert state on shutdown failed");
        }
        tracing::info!("alert deliveries stopped");
    }

    /// Records the outcome of one attempt.
    async fn settle(&self, delivery: &PendingDelivery, sent: Result<(), DeliveryError>) {
        let settings = &self.shared.config.alert;
        let notification: &Notification = &delivery.notification;
        let receiver = notification.receiver.as_str();
        let kind = notification.receiver_kind().as_str();
        let mut state = self.shared.state.lock().await;
        state.dirty = true;
        match sent {
            Ok(()) => {
                state.outbox.complete(&notification.id);
                count(receiver, kind, "delivered");
                tracing::info!(id = %notification.id, receiver, what = notification.what(), "notification delivered");
            }
            Err(DeliveryError::Fatal { reason }) => {
                state.outbox.complete(&notification.id);
                count(receiver, kind, "rejected");
                tracing::error!(id = %notification.id, receiver, %reason, "notification refused, not retried");
            }
            Err(DeliveryError::Retryable {
                reason,
                retry_after,
            }) => {
                let attempts = delivery.attempts + 1;
                if attempts >= settings.retry_max_attempts {
                    state.outbox.complete(&notification.id);
                    count(receiver, kind, "gave_up");
                    tracing::error!(id = %notification.id, receiver, attempts, %reason, "notification given up");
                } else {
                    let max = Duration::from_millis(settings.retry_max_ms);
                    let base = Duration::from_millis(settings.retry_base_ms);
                    let wait = retry_after.map_or_else(
                        || backoff(attempts - 1, base, max, fastrand::f64()),
                        |wait| wait.min(max),
                    );
                    state
                        .outbox
                        .retry_later(&notification.id, Instant::now(), wait);
                    count(receiver, kind, "retried");
                    tracing::warn!(id = %notification.id, receiver, attempts, wait_ms = wait.as_millis() as u64, %reason, "notification will be retried");
                }
            }
        }
        metrics::gauge!("tidewatch_alert_pending_deliveries").set(state.outbox.len() as f64);
        if let Err(error) = self.persist(&mut state).await {
            tracing::warn!(%error, "saving alert state after a delivery failed; will retry");
        }
    }
}

fn ensure_room(outbox: &Outbox, count: usize) -> Result<(), AlertError> {
    if outbox.has_room_for(count) {
        return Ok(());
    }
    Err(AlertError::OutboxFull {
        pending: outbox.len(),
        capacity: outbox.capacity(),
    })
}
