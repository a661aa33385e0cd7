//! `GET /api/v1/alerts/stream`: server-sent events with every alert that changed.
//!
//! Guarantees: stateless across replicas: each connection polls ClickHouse about once a second
//! for stories whose events or actions were written since it last looked (with a lookback window
//! so a write that became visible late is still seen), and sends one `alert` event per changed
//! story with the alert object of the alert routes; a story is sent again only when a newer row
//! appears. A `: keepalive` comment goes out every 15 seconds. A failing poll is logged and
//! retried on the next tick; the stream ends when the client goes away or the API shuts down.
//! This route alone also accepts `?token=`, because browsers' `EventSource` cannot send headers.
//! Every event carries an `id` (the newest row version sent so far, in microseconds); a client
//! that reconnects with `Last-Event-ID` (as `EventSource` does by itself) gets every story that
//! changed since then, as far back as an hour.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tidewatch_store::PostStore;
use tokio_util::sync::CancellationToken;

use crate::auth::authorize;
use crate::config::Role;
use crate::error::ApiError;
use crate::params::Params;
use crate::routes::alerts::alert_of_story;
use crate::state::ApiState;

pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);
pub(crate) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// How far behind the newest seen version each poll looks again, in microseconds.
pub(crate) const LOOKBACK_MICROS: u64 = 10_000_000;
/// How far back a `Last-Event-ID` may resume, in microseconds; an older id resumes from here
/// (a client away longer reloads the alert list instead).
pub(crate) const MAX_RESUME_MICROS: u64 = 3_600_000_000;

struct StreamPoller {
    store: PostStore,
    /// Newest row version seen so far.
    cursor: u64,
    /// Newest version already sent, per story (pruned to the lookback window).
    sent: HashMap<String, u64>,
    pending: VecDeque<Event>,
    shutdown: CancellationToken,
}

impl StreamPoller {
    async fn poll_once(&mut self) {
        let after = self.cursor.saturating_sub(LOOKBACK_MICROS);
        let changed = match self.store.changed_stories(after).await {
            Ok(changed) => changed,
            Err(error) => {
                tracing::warn!(%error, "alert stream poll failed; retrying");
                return;
            }
        };
        for (story_id, newest) in changed {
            self.cursor = self.cursor.max(newest);
            if self.sent.get(&story_id).is_some_and(|sent| *sent >= newest) {
                continue;
            }
            match alert_of_story(&self.store, &story_id, Utc::now()).await {
                Ok((alert, _)) => {
                    let event = Event::default().event("alert").id(self.cursor.to_string());
                    let Ok(event) = event.json_data(&alert) else {
                        continue;
                    };
                    self.pending.push_back(event);
                    self.sent.insert(story_id, newest);
                    metrics::counter!("tidewatch_api_sse_events_total").increment(1);
                }
                Err(error) => {
                    tracing::warn!(%error, %story_id, "alert stream could not read a story")
                }
            }
        }
        let horizon = self.cursor.saturating_sub(LOOKBACK_MICROS);
        self.sent.retain(|_, version| *version >= horizon);
    }
}

fn unix_micros_now() -> u64 {
    u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0)
}

/// Where a new connection starts: the client's `Last-Event-ID` when it is a version from the
/// last hour (older ones start an hour back, later ones and garbage now), else now.
pub(crate) fn resume_cursor(last_event_id: Option<&str>, now: u64) -> u64 {
    let Some(version) = last_event_id.and_then(|id| id.trim().parse::<u64>().ok()) else {
        return now;
    };
    version.clamp(now.saturating_sub(MAX_RESUME_MICROS), now)
}

pub(crate) async fn alert_stream(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    authorize(&state, &headers, params.single("token")?, Role::Viewer)?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok());
    let poller = StreamPoller {
        store: state.store.clone(),
        cursor: resume_cursor(last_event_id, unix_micros_now()),
        sent: HashMap::new(),
        pending: VecDeque::new(),
        shutdown: state.shutdown.clone(),
    };
    let events = futures_util::stream::unfold(poller, |mut poller| async move {
        loop {
            if let Some(event) = poller.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(event), poller));
            }
            tokio::select! {
                () = poller.shutdown.cancelled() => return None,
                () = tokio::time::sleep(POLL_INTERVAL) => poller.poll_once().await,
            }
        }
    });
    let keep_alive = KeepAlive::new()
        .interval(KEEPALIVE_INTERVAL)
        .text(" keepalive");
    Ok(Sse::new(events).keep_alive(keep_alive).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000_000;

    #[test]
    fn a_connection_resumes_from_a_recent_last_event_id_and_otherwise_starts_now() {
        assert_eq!(resume_cursor(None, NOW), NOW);
        assert_eq!(resume_cursor(Some("not a version"), NOW), NOW);
        assert_eq!(resume_cursor(Some(""), NOW), NOW);
        let a_minute_ago = NOW - 60_000_000;
        assert_eq!(
            resume_cursor(Some(&a_minute_ago.to_string()), NOW),
            a_minute_ago
        );
        assert_eq!(
            resume_cursor(Some(&format!(" {a_minute_ago} ")), NOW),
            a_minute_ago
        );
        // A day away resumes an hour back; an id from the future resumes now.
        let a_day_ago = NOW - 86_400_000_000;
        assert_eq!(
            resume_cursor(Some(&a_day_ago.to_string()), NOW),
            NOW - MAX_RESUME_MICROS
        );
        assert_eq!(resume_cursor(Some(&(NOW + 5).to_string()), NOW), NOW);
    }
}
