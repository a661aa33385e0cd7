//! The Mastodon streaming collector: the streaming API over WebSocket
//! (`/api/v1/streaming?stream=public|hashtag…`) or Server-Sent Events
//! (`GET /api/v1/streaming/public[/local]`, `…/hashtag[/local]?tag=…`), with REST catch-up.
//!
//! Guarantees:
//! * After each connection is open, the REST poller pages forward from the checkpoint's `min_id`
//!   until it is current, and only then are the stream's events read (they wait in the
//!   connection meanwhile): what was posted while disconnected (or stopped) is collected, and
//!   nothing posted between the catch-up and the subscription is missed.
//! * **While the stream is down, REST keeps collecting at `interval_secs`**, apart from the
//!   reconnect back-off (1 s doubling to 60 s, jittered, reset once a session delivered): a
//!   failing stream neither polls REST faster than the interval nor leaves it idle longer.
//! * Stream `update`s advance the same cursor (the largest status id handed over) and are
//!   remembered in the same seen ids as the REST polls, so the catch-up after a reconnect does
//!   not hand them over again; `status.update` (an edit, same `source_id`) and `delete` events
//!   always go through. The cursor is saved only after its batch is durable.
//! * Both transports carry the same events (`update`, `status.update`, `delete`); SSE frames are
//!   split on blank lines, `:` heartbeat comments skipped, and a connection silent for
//!   [`SSE_IDLE`] (Mastodon sends a heartbeat every ~15 s) counts as dropped.
//! * The access token (required for streaming since Mastodon 4.2) is sent as
//!   `Authorization: Bearer`; it is read once at start from the variable named in the config.
//! * A message that is not a valid event is a dead letter and the stream goes on.

use crate::fetch::FetchError;
use crate::mastodon::{self, StreamEvent};
use crate::outlet::{poll_cycle, record_error, record_request, Cycle, Stopped};
use crate::poll::{Poller, STAGE};
use crate::source::{MastodonSource, StreamingTransport};
use crate::stream::{connect, session, websocket, BatchLimits, Ended, Incoming, Reconnect};
use crate::stream::{StreamState, CONNECT_TIMEOUT};
use chrono::Utc;
use futures_util::Stream;
use std::time::Duration;
use tidewatch_model::DeadLetter;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// An SSE connection without a byte for this long is dropped and reconnected.
pub(crate) const SSE_IDLE: Duration = Duration::from_secs(90);

/// One streaming Mastodon source.
#[derive(Debug)]
pub(crate) struct MastodonStream {
    config: MastodonSource,
    host: String,
    url: String,
    token: String,
    sse_client: reqwest::Client,
}

/// An open stream of either transport.
enum Connection {
    WebSocket(Box<crate::stream::Socket>),
    Sse(reqwest::Response),
}

impl MastodonStream {
    pub(crate) fn new(config: MastodonSource, token: String) -> Result<Self, FetchError> {
        let host = config.host()?;
        let url = match config.streaming_transport {
            StreamingTransport::Websocket => config.stream_url()?.to_string(),
            StreamingTransport::Sse => config.sse_url()?.to_string(),
        };
        // No overall timeout: the response is the stream.
        let sse_client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|error| FetchError::Network {
                url: url.clone(),
                reason: format!("building the HTTP client: {error}"),
            })?;
        Ok(MastodonStream {
            config,
            host,
            url,
            token,
            sse_client,
        })
    }

    async fn open(&self) -> Result<Connection, String> {
        match self.config.streaming_transport {
            StreamingTransport::Websocket => connect(&self.url, Some(&self.token))
                .await
                .map(|socket| Connection::WebSocket(Box::new(socket))),
            StreamingTransport::Sse => {
                let request = self
                    .sse_client
                    .get(&self.url)
                    .bearer_auth(&self.token)
                    .header(reqwest::header::ACCEPT, "text/event-stream");
                let response = tokio::time::timeout(CONNECT_TIMEOUT, request.send())
                    .await
                    .map_err(|_| format!("connecting timed out after {CONNECT_TIMEOUT:?}"))?
                    .map_err(|error| format!("connecting: {error}"))?;
                if !response.status().is_success() {
                    return Err(format!("the stream answered HTTP {}", response.status()));
                }
                Ok(Connection::Sse(response))
            }
        }
    }

    /// Connect, catch up, stream; while down, poll REST at the interval; until cancelled or
    /// the sink refuses.
    pub(crate) async fn run(self, mut poller: Poller, cycle: Cycle, cancel: CancellationToken) {
        let name = self.config.name.clone();
        let interval = Duration::from_secs(self.config.interval_secs.max(1));
        let limits = BatchLimits {
            batch_size: 200,
            max_wait: Duration::from_secs(1),
        };
        let mut reconnect = Reconnect::default();
        let mut last_poll: Option<Instant> = None;
        loop {
            let opened = self.open().await;
            record_request(
                &name,
                if opened.is_ok() {
                    "connected"
                } else {
                    "connect_failed"
                },
            );
            let ended = match opened {
                Ok(connection) => {
                    tracing::info!(source = %name, url = %self.url, "mastodon stream connected");
                    if catch_up(&mut poller, &cycle, &cancel).await.is_err() {
                        return;
                    }
                    last_poll = Some(Instant::now());
                    self.stream(connection, &mut poller, &cycle, limits, &cancel)
                        .await
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
            let wait = reconnect.record_drop("mastodon", &name, dropped, &cycle.health);
            let reconnect_at = Instant::now() + wait;
            // Down: REST follows `interval_secs` until it is time to reconnect.
            loop {
                let poll_at = last_poll.map_or_else(Instant::now, |at| at + interval);
                let (wake, polls) = if poll_at < reconnect_at {
                    (poll_at, true)
                } else {
                    (reconnect_at, false)
                };
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep_until(wake) => {}
                }
                if !polls {
                    break;
                }
                let report = tokio::select! {
                    () = cancel.cancelled() => return,
                    report = poll_cycle(&mut poller, &cycle) => report,
                };
                if report.is_err() {
                    return;
                }
                last_poll = Some(Instant::now());
            }
        }
    }

    async fn stream(
        &self,
        connection: Connection,
        poller: &mut Poller,
        cycle: &Cycle,
        limits: BatchLimits,
        cancel: &CancellationToken,
    ) -> Ended {
        let name = self.config.name.clone();
        let mut state = StreamState::new(poller.checkpoint().clone());
        let origin = format!("{name} {}", self.url);
        let host = self.host.clone();
        let ended = match connection {
            Connection::WebSocket(mut socket) => {
                let accept = |message: &[u8], state: &mut StreamState| {
                    let event = mastodon::parse_websocket_message(&host, message, Utc::now());
                    accept_event(event, message, state, &origin, &name);
                };
                let messages = websocket(&mut socket);
                let ended = session(messages, &mut state, accept, cycle, limits, cancel).await;
                let _ = socket.close(None).await;
                ended
            }
            Connection::Sse(response) => {
                let accept = |frame: &[u8], state: &mut StreamState| {
                    let text = String::from_utf8_lossy(frame);
                    for event in mastodon::parse_sse_stream(&host, &text, Utc::now()) {
                        accept_event(event, frame, state, &origin, &name);
                    }
                };
                let frames = Box::pin(sse_frames(response));
                session(frames, &mut state, accept, cycle, limits, cancel).await
            }
        };
        poller.commit(state.committed);
        ended
    }
}

/// REST catch-up until a cycle is not truncated.
async fn catch_up(
    poller: &mut Poller,
    cycle: &Cycle,
    cancel: &CancellationToken,
) -> Result<(), Stopped> {
    loop {
        let report = tokio::select! {
            () = cancel.cancelled() => return Err(Stopped),
            report = poll_cycle(poller, cycle) => report?,
        };
        if !(report.ok && report.truncated) {
            return Ok(());
        }
    }
}

/// The frames of an SSE response (each the text up to a blank line), as [`Incoming`] items.
fn sse_frames(response: reqwest::Response) -> impl Stream<Item = Incoming> {
    futures_util::stream::unfold(
        (response, Vec::<u8>::new(), false),
        |(mut response, mut buffer, done)| async move {
            if done {
                return None;
            }
            loop {
                if let Some(frame) = next_frame(&mut buffer) {
                    return Some((Incoming::Message(frame), (response, buffer, false)));
                }
                let chunk = tokio::time::timeout(SSE_IDLE, response.chunk()).await;
                let ended = match chunk {
                    Err(_) => format!("no data for {SSE_IDLE:?}"),
                    Ok(Err(error)) => format!("connection failed: {error}"),
                    Ok(Ok(None)) => "connection ended".to_string(),
                    Ok(Ok(Some(bytes))) => {
                        buffer.extend(bytes.iter().filter(|byte| **byte != b'\r'));
                        continue;
                    }
                };
                return Some((Incoming::Ended(ended), (response, buffer, true)));
            }
        },
    )
}

/// Takes the first complete frame (up to a blank line) out of `buffer`.
fn next_frame(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let end = buffer.windows(2).position(|pair| pair == b"\n\n")?;
    let frame = buffer[..end].to_vec();
    buffer.drain(..end + 2);
    Some(frame)
}

/// Adds one decoded stream event to the session.
fn accept_event(
    event: Result<StreamEvent, crate::ParseError>,
    message: &[u8],
    state: &mut StreamState,
    origin: &str,
    name: &str,
) {
    match event {
        Ok(StreamEvent::Update(post)) => {
            let pending = &mut state.pending;
            if let Some(id) = post.source_id.rsplit('/').next() {
                if mastodon::newer(id, pending.cursor.as_deref()) {
                    pending.cursor = Some(id.to_string());
                }
            }
            if pending.seen.insert(&post.source_id) {
                state.posts.push(post);
            }
        }
        Ok(StreamEvent::Edit(post) | StreamEvent::Delete(post)) => state.posts.push(post),
        Ok(StreamEvent::Ignored(event)) => {
            tracing::debug!(source = name, event = %event, "stream event ignored");
        }
        Err(error) => {
            record_error(name, error.kind());
            let letter = DeadLetter::new(
                STAGE,
                error.kind(),
                error.to_string(),
                origin.to_string(),
                message,
            );
            state.dead_letters.push(letter);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_on_blank_lines() {
        let mut buffer = b"event: update\ndata: {}\n\n:thump\n\nevent: del".to_vec();
        assert_eq!(next_frame(&mut buffer).unwrap(), b"event: update\ndata: {}");
        assert_eq!(next_frame(&mut buffer).unwrap(), b":thump");
        assert_eq!(next_frame(&mut buffer), None);
        assert_eq!(buffer, b"event: del");
    }
}
