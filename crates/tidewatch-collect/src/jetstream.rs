//! The Bluesky collector: a Jetstream WebSocket subscription to `app.bsky.feed.post`, resumed
//! from the checkpointed `time_us`.
//!
//! Guarantees:
//! * The cursor (`time_us` of the last event handed over) is saved only after its batch is
//!   durable ([`crate::stream`]); a reconnect or a restart subscribes from the cursor minus
//!   `safety_margin_secs`, and the events seen again are dropped by their key
//!   (`<time_us> <source_id>`, remembered in the checkpoint's bounded seen ids): no gap, and no
//!   repeat within the window the seen ids cover.
//! * Jetstream keeps about `lookback_hours` (36) of events. A checkpoint older than that is not
//!   replayed (the server would start from its oldest event or loop on an unusable cursor): the
//!   source starts from now, says so in its health note and the
//!   `tidewatch_collect_cursor_expired_total` counter, and does not try again.
//! * A post's `createdAt` is the client's claim: an implausible one (see
//!   [`crate::bluesky::TimeRule`], `max_future_skew_secs` / `max_claim_age_secs`) is replaced by
//!   the network's `time_us`, counted in `tidewatch_collect_implausible_times_total{direction}`.
//! * create / update give a post (an update has the same `source_id`: a new version), delete a
//!   post of kind `delete`; a message that is not a valid event is a dead letter (once per
//!   distinct payload) and the stream goes on.
//! * Reconnects back off (1 s doubling to 60 s, jittered), reset once a session delivered.

use crate::bluesky::{self, TimeRule};
use crate::config::BlueskySource;
use crate::cursor::{Checkpoint, CheckpointStore};
use crate::outlet::{record_error, Cycle, Outlet};
use crate::poll::STAGE;
use crate::reporter::HealthReporter;
use crate::stream::{connect, session, websocket, BatchLimits, Ended, Reconnect, StreamState};
use chrono::Utc;
use std::time::Duration;
use tidewatch_model::DeadLetter;
use tokio_util::sync::CancellationToken;

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// From this `time_us` (the checkpoint minus the safety margin).
    From(i64),
    /// Live, from now: no checkpoint yet.
    Live,
    /// Live, from now, because the checkpoint is older than the lookback window.
    Expired { checkpoint_us: i64 },
}

/// Where to subscribe from, given the checkpoint and the wall clock (microseconds).
pub fn resume_from(
    checkpoint_us: Option<i64>,
    now_us: i64,
    margin: Duration,
    lookback: Duration,
) -> Resume {
    let Some(checkpoint_us) = checkpoint_us else {
        return Resume::Live;
    };
    let micros = |duration: Duration| i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
    if now_us.saturating_sub(checkpoint_us) > micros(lookback) {
        return Resume::Expired { checkpoint_us };
    }
    Resume::From(checkpoint_us.saturating_sub(micros(margin)).max(0))
}

/// The subscription URL.
pub fn subscribe_url(base_url: &str, cursor: Option<i64>) -> String {
    let mut url = format!(
        "{}/subscribe?wantedCollections={}",
        base_url.trim_end_matches('/'),
        bluesky::POST_COLLECTION
    );
    if let Some(cursor) = cursor {
        url.push_str(&format!("&cursor={cursor}"));
    }
    url
}

/// One Jetstream source with its committed checkpoint.
#[derive(Debug)]
pub(crate) struct Jetstream {
    config: BlueskySource,
    checkpoint: Checkpoint,
    store: CheckpointStore,
    outlet: Outlet,
}

impl Jetstream {
    pub(crate) fn new(
        config: BlueskySource,
        checkpoint: Option<Checkpoint>,
        store: CheckpointStore,
        outlet: Outlet,
    ) -> Self {
        let mut checkpoint = checkpoint.unwrap_or_default();
        if checkpoint.seen.capacity() != config.seen_capacity {
            checkpoint.seen.set_capacity(config.seen_capacity);
        }
        Jetstream {
            config,
            checkpoint,
            store,
            outlet,
        }
    }

    /// Subscribes, reads, reconnects, until cancelled or the sink refuses.
    pub(crate) async fn run(mut self, health: HealthReporter, cancel: CancellationToken) {
        let cycle = Cycle {
            store: self.store.clone(),
            outlet: self.outlet.clone(),
            health: health.clone(),
        };
        let name = self.config.name.clone();
        let limits = BatchLimits {
            batch_size: self.config.batch_size.max(1),
            max_wait: Duration::from_millis(self.config.batch_max_wait_ms),
        };
        let mut reconnect = Reconnect::default();
        while !cancel.is_cancelled() {
            let resume = resume_from(
                self.checkpoint.time_us,
                Utc::now().timestamp_micros(),
                Duration::from_secs(self.config.safety_margin_secs),
                Duration::from_secs(self.config.lookback_hours * 3600),
            );
            let cursor = match resume {
                Resume::From(cursor) => Some(cursor),
                Resume::Live => None,
                Resume::Expired { checkpoint_us } => {
                    let note = format!(
                        "checkpoint time_us {checkpoint_us} is older than the {} h Jetstream \
                         lookback: resumed from now, posts in between were not collected",
                        self.config.lookback_hours
                    );
                    tracing::warn!(source = %name, checkpoint_us, "jetstream cursor expired, starting from now");
                    metrics::counter!("tidewatch_collect_cursor_expired_total", "source" => name.clone())
                        .increment(1);
                    health.set_note(&name, Some(note));
                    self.checkpoint.time_us = None;
                    None
                }
            };
            let url = subscribe_url(&self.config.base_url, cursor);
            let connected = connect(&url, None).await;
            let outcome = if connected.is_ok() {
                "connected"
            } else {
                "connect_failed"
            };
            crate::outlet::record_request(&name, outcome);
            let ended = match connected {
                Ok(mut socket) => {
                    tracing::info!(source = %name, cursor, "jetstream connected");
                    let mut state = StreamState::new(self.checkpoint.clone());
                    let origin = format!("{name} {url}");
                    let rule = self.config.time_rule();
                    let accept = |message: &[u8], state: &mut StreamState| {
                        accept_event(message, state, (&origin, &name), &rule);
                    };
                    let messages = websocket(&mut socket);
                    let ended =
                        session(messages, &mut state, accept, &cycle, limits, &cancel).await;
                    let _ = socket.close(None).await;
                    self.checkpoint = state.committed;
                    ended
                }
                Err(reason) => Ended::Dropped {
                    reason,
                    delivered: false,
                },
            };
            let Ended::Dropped { reason, delivered } = ended else {
                return;
            };
            let dropped = (reason.as_str(), delivered);
            if !reconnect
                .after_drop("jetstream", &name, dropped, &health, &cancel)
                .await
            {
                return;
            }
        }
    }
}

/// Adds one Jetstream message to the session: a post (unless already seen), or a dead letter.
fn accept_event(
    message: &[u8],
    state: &mut StreamState,
    (origin, name): (&str, &str),
    rule: &TimeRule,
) {
    match bluesky::parse_event(message) {
        Ok(event) => {
            let pending = &mut state.pending;
            pending.time_us = Some(pending.time_us.unwrap_or(0).max(event.time_us));
            if let Some(mut post) = event.post {
                if let Some(off) = rule.apply(&mut post, event.time_us) {
                    metrics::counter!("tidewatch_collect_implausible_times_total", "source" => name.to_string(), "direction" => off.as_str())
                        .increment(1);
                    tracing::debug!(source = name, post = %post.source_id, direction = off.as_str(), "createdAt implausible, dated by time_us");
                }
                if pending
                    .seen
                    .insert(&format!("{} {}", event.time_us, post.source_id))
                {
                    state.posts.push(post);
                } else {
                    metrics::counter!("tidewatch_collect_repeats_dropped_total", "source" => name.to_string())
                        .increment(1);
                }
            }
        }
        Err(error) => {
            let letter = DeadLetter::new(
                STAGE,
                error.kind(),
                error.to_string(),
                origin.to_string(),
                message,
            );
            record_error(name, error.kind());
            if state
                .pending
                .seen
                .insert(&format!("dead:{}", letter.original_sha256))
            {
                state.dead_letters.push(letter);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_applies_margin_and_lookback() {
        let hour = Duration::from_secs(3600);
        let now = 1_800_000_000_000_000;
        let margin = Duration::from_secs(5);
        assert_eq!(resume_from(None, now, margin, 36 * hour), Resume::Live);
        assert_eq!(
            resume_from(Some(now - 1_000_000), now, margin, 36 * hour),
            Resume::From(now - 6_000_000)
        );
        let old = now - 37 * 3600 * 1_000_000;
        assert_eq!(
            resume_from(Some(old), now, margin, 36 * hour),
            Resume::Expired { checkpoint_us: old }
        );
        assert_eq!(
            resume_from(Some(3), 1_000_000, margin, 36 * hour),
            Resume::From(0)
        );
        assert_eq!(
            subscribe_url("wss://j.example/", Some(7)),
            "wss://j.example/subscribe?wantedCollections=app.bsky.feed.post&cursor=7"
        );
    }
}
