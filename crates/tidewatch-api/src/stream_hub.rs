//! The one alert-change poller of a process, fanned out to every open alert stream, and the
//! limits on how many streams may be open.
//!
//! Guarantees:
//! * however many streams are open, the process polls the database once per [`POLL_INTERVAL`]
//!   (and not at all while no stream is open); each change is read once and the same event is
//!   handed to every subscriber through a bounded broadcast channel;
//! * a subscriber too slow to keep up with [`HUB_CAPACITY`] events is told so (its stream ends,
//!   the browser reconnects and reloads the list) instead of holding memory for it;
//! * a new connection reads its own catch-up once (the stories changed since its resume point),
//!   never per tick, so a connection costs one query when it opens;
//! * at most `max_streams` streams are open in the process and `max_streams_per_token` per
//!   token; a stream beyond either is refused (the route answers 429) and a permit is returned
//!   when its stream ends, however it ends.
//!
//! The poller sits behind [`AlertChanges`] so its fan-out is tested with paused time and a fake
//! database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::Utc;
use tidewatch_store::PostStore;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::routes::alerts::alert_of_story;

pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How far behind the newest seen version each poll looks again, in microseconds (a write that
/// became visible late is still seen).
pub(crate) const LOOKBACK_MICROS: u64 = 10_000_000;
/// Events the broadcast channel holds for the slowest subscriber.
pub(crate) const HUB_CAPACITY: usize = 1_024;

/// What the stream needs from the database.
#[async_trait::async_trait]
pub(crate) trait AlertChanges: Send + Sync + 'static {
    /// Stories whose events or actions were written after `after` (microseconds), each with the
    /// newest such version.
    async fn changed_stories(&self, after: u64) -> Result<Vec<(String, u64)>, ApiError>;
    /// The alert object of one story as JSON, as the alert routes show it.
    async fn alert_json(&self, story_id: &str) -> Result<String, ApiError>;
}

#[async_trait::async_trait]
impl AlertChanges for PostStore {
    async fn changed_stories(&self, after: u64) -> Result<Vec<(String, u64)>, ApiError> {
        Ok(PostStore::changed_stories(self, after).await?)
    }

    async fn alert_json(&self, story_id: &str) -> Result<String, ApiError> {
        let (alert, _) = alert_of_story(self, story_id, Utc::now()).await?;
        Ok(serde_json::to_string(&alert).unwrap_or_default())
    }
}

/// One changed story, ready to send: `id` is the newest version seen when it was read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlertChange {
    pub(crate) story_id: String,
    pub(crate) version: u64,
    pub(crate) id: u64,
    pub(crate) data: Arc<str>,
}

/// Reads the stories changed after `cursor - LOOKBACK`, skipping versions already in `sent`;
/// advances `cursor` and prunes `sent` to the lookback window. Shared by the hub's poll and a
/// connection's catch-up.
pub(crate) async fn read_changes(
    source: &dyn AlertChanges,
    cursor: &mut u64,
    sent: &mut HashMap<String, u64>,
) -> Vec<AlertChange> {
    let after = cursor.saturating_sub(LOOKBACK_MICROS);
    let changed = match source.changed_stories(after).await {
        Ok(changed) => changed,
        Err(error) => {
            tracing::warn!(%error, "alert stream poll failed; retrying on the next tick");
            return Vec::new();
        }
    };
    let mut changes = Vec::new();
    for (story_id, newest) in changed {
        *cursor = (*cursor).max(newest);
        if sent.get(&story_id).is_some_and(|sent| *sent >= newest) {
            continue;
        }
        match source.alert_json(&story_id).await {
            Ok(alert) => {
                sent.insert(story_id.clone(), newest);
                changes.push(AlertChange {
                    story_id,
                    version: newest,
                    id: *cursor,
                    data: Arc::from(alert),
                });
            }
            Err(error) => tracing::warn!(%error, %story_id, "alert stream could not read a story"),
        }
    }
    let horizon = cursor.saturating_sub(LOOKBACK_MICROS);
    sent.retain(|_, version| *version >= horizon);
    changes
}

pub(crate) fn unix_micros_now() -> u64 {
    u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0)
}

/// The process's poller and its subscribers.
pub(crate) struct AlertHub {
    source: Arc<dyn AlertChanges>,
    sender: broadcast::Sender<Arc<AlertChange>>,
    started: OnceLock<()>,
    polls: AtomicU64,
}

impl AlertHub {
    pub(crate) fn new(source: Arc<dyn AlertChanges>) -> Arc<Self> {
        let (sender, _) = broadcast::channel(HUB_CAPACITY);
        Arc::new(Self {
            source,
            sender,
            started: OnceLock::new(),
            polls: AtomicU64::new(0),
        })
    }

    pub(crate) fn source(&self) -> &dyn AlertChanges {
        self.source.as_ref()
    }

    /// Every change from now on; starts the poller on first use (it stops with `shutdown` or
    /// when the hub is dropped).
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        shutdown: &CancellationToken,
    ) -> broadcast::Receiver<Arc<AlertChange>> {
        let receiver = self.sender.subscribe();
        self.started.get_or_init(|| {
            tokio::spawn(poll_forever(Arc::downgrade(self), shutdown.clone()));
        });
        receiver
    }

    /// How many times the database was polled (`tidewatch_api_stream_polls_total` counts the same).
    #[cfg(test)]
    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
}

async fn poll_forever(hub: Weak<AlertHub>, shutdown: CancellationToken) {
    let mut cursor = unix_micros_now();
    let mut sent = HashMap::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
        let Some(hub) = hub.upgrade() else { return };
        if hub.sender.receiver_count() == 0 {
            // Why restart from now: a subscriber arriving later must not be sent what changed
            // while nobody listened (its own catch-up covers its resume point).
            cursor = unix_micros_now();
            sent.clear();
            continue;
        }
        hub.polls.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("tidewatch_api_stream_polls_total").increment(1);
        for change in read_changes(hub.source.as_ref(), &mut cursor, &mut sent).await {
            metrics::counter!("tidewatch_api_sse_events_total").increment(1);
            // An error means nobody listens any more: nothing to do.
            let _ = hub.sender.send(Arc::new(change));
        }
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StreamLimitHit {
    #[error("this token already has {0} open alert streams (the most allowed); close one")]
    PerToken(usize),
    #[error("the server already has {0} open alert streams (the most allowed); try again later")]
    Global(usize),
}

/// Counts of open streams, in total and per token name.
#[derive(Debug)]
pub(crate) struct StreamLimits {
    max_total: usize,
    max_per_token: usize,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

/// One open stream; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct StreamPermit {
    limits: Arc<StreamLimits>,
    token_name: String,
}

impl StreamLimits {
    pub(crate) fn new(max_total: usize, max_per_token: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_token,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    pub(crate) fn try_open(
        self: &Arc<Self>,
        token_name: &str,
    ) -> Result<StreamPermit, StreamLimitHit> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (total, per_token) = &mut *open;
        let mine = per_token.get(token_name).copied().unwrap_or(0);
        if mine >= self.max_per_token {
            return Err(StreamLimitHit::PerToken(self.max_per_token));
        }
        if *total >= self.max_total {
            return Err(StreamLimitHit::Global(self.max_total));
        }
        *total += 1;
        per_token.insert(token_name.to_string(), mine + 1);
        metrics::gauge!("tidewatch_api_sse_connections").set(*total as f64);
        Ok(StreamPermit {
            limits: Arc::clone(self),
            token_name: token_name.to_string(),
        })
    }

    /// Streams open now (`tidewatch_api_sse_connections` shows the same).
    #[cfg(test)]
    pub(crate) fn open_streams(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .0
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (total, per_token) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(count) = per_token.get_mut(&self.token_name) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_token.remove(&self.token_name);
            }
        }
        metrics::gauge!("tidewatch_api_sse_connections").set(*total as f64);
    }
}

#[cfg(test)]
mod tests;
