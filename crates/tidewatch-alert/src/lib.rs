//! tidewatch alerting (issue 7, part 3): from the detector's alert events and people's actions
//! to pages, chat messages and signed webhooks, once per story.
//!
//! Layers, each with its own guarantees (see the modules):
//! * [`config`]: the `[[receiver]]`, `[[route]]`, `[[silence]]` and `[alert]` sections,
//!   validated with errors naming the key; [`secrets`]: receiver secrets from env vars.
//! * [`policy`] (pure, no IO, no clock): per-story incidents, routing, silences, snoozes,
//!   cooldown and page cap → [`Notification`] intents; at most one PagerDuty trigger per story
//!   per receiver, resolve only after a trigger, redeliveries without effect.
//! * [`pagerduty`], [`slack`], [`webhook`] (pure): the request bodies, Block Kit limits, the
//!   HMAC-SHA256 signature and [`webhook::verify_signature`].
//! * [`outbox`] (pure): the bounded queue of pending deliveries, in order per story and
//!   receiver, with jittered exponential backoff and `Retry-After`.
//! * [`deliver`] (IO): HTTP with reqwest + rustls and timeouts, responses classified retryable
//!   or fatal.
//! * [`service`] (IO edge): [`AlertService`], which the `tidewatch notify` stage drives; after
//!   `handle_event` / `handle_events` (a batch, one write) / `handle_action` return `Ok`, their
//!   effects are in the state file.
//!
//! Wiring a stage (consume `alerts` and `alerts.actions`, store an offset only after `Ok`):
//!
//! ```no_run
//! use tidewatch_alert::{AlertError, AlertService, NotifyConfig};
//! use tokio_util::sync::CancellationToken;
//!
//! async fn notify_stage(config: NotifyConfig, records: Vec<Vec<u8>>) -> Result<(), AlertError> {
//!     let service = AlertService::new(config, |name| std::env::var(name).ok())?;
//!     let cancel = CancellationToken::new();
//!     let deliveries = tokio::spawn({
//!         let (service, cancel) = (service.clone(), cancel.clone());
//!         async move { service.run_deliveries(cancel).await }
//!     });
//!     for bytes in records {
//!         let Ok(event) = serde_json::from_slice::<tidewatch_model::AlertEvent>(&bytes) else {
//!             continue; // the stage dead-letters it
//!         };
//!         // Ok: durable, store the offset. Err(e) if e.is_retryable(): retry the same record.
//!         service.handle_event(&event, chrono::Utc::now()).await?;
//!     }
//!     cancel.cancel();
//!     let _ = deliveries.await;
//!     Ok(())
//! }
//! ```

pub mod config;
pub mod deliver;
mod error;
pub mod incident;
pub mod notification;
pub mod outbox;
pub mod pagerduty;
pub mod policy;
pub mod routing;
pub mod secrets;
pub mod service;
pub mod slack;
mod state_file;
pub mod webhook;

#[cfg(test)]
pub(crate) mod test_support;

pub use config::{
    AlertSettings, NotifyConfig, ReceiverConfig, ReceiverKind, RouteConfig, SilenceConfig,
    SilenceMatchers, PAGERDUTY_EVENTS_URL,
};
pub use error::{AlertError, ConfigError, DeliveryError};
pub use notification::{
    Decision, Message, Notification, PagerDutyAction, SlackMessageKind, Suppressed,
    SuppressionReason, WebhookBody,
};
pub use policy::AlertPolicy;
pub use secrets::{ReceiverSecrets, Secret};
pub use service::{AlertService, ServiceStatus};
