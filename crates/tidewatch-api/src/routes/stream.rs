//! `GET /api/v1/alerts/stream`: server-sent events with every alert that changed, and
//! `POST /api/v1/stream-ticket`: the ticket that opens it from a browser.
//!
//! Guarantees: every connection is fed by the process's one poller ([`crate::stream_hub`]), so
//! open streams do not multiply database queries; a connection reads its own catch-up once when
//! it opens; one `alert` event goes out per changed story with the alert object of the alert
//! routes, and a story is sent again only when a newer row appears. A `: keepalive` comment goes
//! out every 15 seconds. The stream ends when the client goes away, when it falls too far behind
//! (the client reconnects and reloads its list), or when the API shuts down.
//! Authentication: a bearer header, or `?ticket=` from `POST /api/v1/stream-ticket` (browsers'
//! `EventSource` cannot send headers; the token itself is never accepted in the URL). A token
//! may hold at most `api.max_streams_per_token` open streams and the process at most
//! `api.max_streams`: beyond either the answer is 429 JSON with `Retry-After`.
//! Every event carries an `id` (the newest row version sent so far, in microseconds); a client
//! that reconnects with `Last-Event-ID` (as `EventSource` does by itself) gets every story that
//! changed since then, as far back as an hour.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::auth::{authorize, bearer_token};
use crate::config::{sha256_hex, Role};
use crate::error::{error_body, ApiError};
use crate::params::Params;
use crate::state::{ApiState, Principal};
use crate::stream_hub::{
    read_changes, unix_micros_now, AlertChange, AlertHub, StreamLimitHit, StreamPermit,
};
use crate::stream_ticket;

pub(crate) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// How far back a `Last-Event-ID` may resume, in microseconds; an older id resumes from here
/// (a client away longer reloads the alert list instead).
pub(crate) const MAX_RESUME_MICROS: u64 = 3_600_000_000;
/// What a refused client is told to wait before trying again.
const RETRY_AFTER_SECONDS: &str = "5";

/// Where a new connection starts: the client's `Last-Event-ID` when it is a version from the
/// last hour (older ones start an hour back, later ones and garbage now), else now.
pub(crate) fn resume_cursor(last_event_id: Option<&str>, now: u64) -> u64 {
    let Some(version) = last_event_id.and_then(|id| id.trim().parse::<u64>().ok()) else {
        return now;
    };
    version.clamp(now.saturating_sub(MAX_RESUME_MICROS), now)
}

/// One open stream: the hub's events, minus what this connection already sent.
struct Connection {
    hub: Arc<AlertHub>,
    changes: broadcast::Receiver<Arc<AlertChange>>,
    /// Where the catch-up starts; taken on the first poll of the stream.
    catch_up_from: Option<u64>,
    sent: HashMap<String, u64>,
    pending: VecDeque<Event>,
    shutdown: CancellationToken,
    _permit: StreamPermit,
}

impl Connection {
    fn queue(&mut self, change: &AlertChange) {
        if self
            .sent
            .get(&change.story_id)
            .is_some_and(|sent| *sent >= change.version)
        {
            return;
        }
        self.sent.insert(change.story_id.clone(), change.version);
        let event = Event::default()
            .event("alert")
            .id(change.id.to_string())
            .data(change.data.as_ref());
        self.pending.push_back(event);
    }

    async fn catch_up(&mut self, from: u64) {
        let mut cursor = from;
        let mut seen = HashMap::new();
        let changes = read_changes(self.hub.source(), &mut cursor, &mut seen).await;
        for change in changes {
            self.queue(&change);
        }
    }

    async fn next_event(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        if let Some(from) = self.catch_up_from.take() {
            self.catch_up(from).await;
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                received = self.changes.recv() => match received {
                    Ok(change) => self.queue(&change),
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "an alert stream fell behind; ending it so the client reloads");
                        return None;
                    }
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// Who opens the stream: a bearer header, else a valid `?ticket=`.
fn stream_principal(
    state: &ApiState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Principal, ApiError> {
    if bearer_token(headers).is_some() {
        return authorize(state, headers, Role::Viewer);
    }
    let ticket = params.single("ticket")?.ok_or(ApiError::Unauthorized)?;
    stream_ticket::verify(ticket, &state.principals, Utc::now().timestamp())
        .cloned()
        .ok_or(ApiError::Unauthorized)
}

fn too_many(hit: &StreamLimitHit) -> Response {
    metrics::counter!("tidewatch_api_sse_refused_total").increment(1);
    let mut response = error_body(StatusCode::TOO_MANY_REQUESTS, &hit.to_string());
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
    );
    response
}

pub(crate) async fn alert_stream(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref());
    let principal = stream_principal(&state, &headers, &params)?;
    let permit = match state.stream_limits.try_open(&principal.name) {
        Ok(permit) => permit,
        Err(hit) => return Ok(too_many(&hit)),
    };
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok());
    let hub = Arc::clone(&state.stream_hub);
    let connection = Connection {
        changes: hub.subscribe(&state.shutdown),
        hub,
        catch_up_from: Some(resume_cursor(last_event_id, unix_micros_now())),
        sent: HashMap::new(),
        pending: VecDeque::new(),
        shutdown: state.shutdown.clone(),
        _permit: permit,
    };
    let events = futures_util::stream::unfold(connection, Connection::next_event);
    let keep_alive = KeepAlive::new()
        .interval(KEEPALIVE_INTERVAL)
        .text(" keepalive");
    Ok(Sse::new(events).keep_alive(keep_alive).into_response())
}

/// `POST /api/v1/stream-ticket`: a ticket for `?ticket=` on the stream, for the bearer's token.
pub(crate) async fn stream_ticket(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let token = bearer_token(&headers).ok_or(ApiError::Unauthorized)?;
    let ticket = stream_ticket::issue(&sha256_hex(token), Utc::now().timestamp());
    let mut response = Json(serde_json::json!({
        "ticket": ticket,
        "expires_in": stream_ticket::TICKET_LIFETIME_SECONDS,
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
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
