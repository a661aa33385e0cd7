//! What the WebSocket sources (Bluesky Jetstream, Mastodon streaming) share: connecting with a
//! timeout, and one session that batches messages and checkpoints after each durable batch.
//!
//! Guarantees:
//! * A session hands a batch over when it holds `batch_size` posts, or `batch_max_wait` after
//!   its first message, or when the connection ends or the run is cancelled (what was read is
//!   still delivered before leaving).
//! * [`StreamState::pending`] is the checkpoint the messages read so far lead to; it becomes
//!   [`StreamState::committed`] and is saved only after its batch is durable. The caller's
//!   `accept` updates `pending` and pushes posts and dead letters; nothing else is written.
//! * A session reads any stream of [`Incoming`] items: WebSocket messages ([`websocket`]: ping /
//!   pong / raw frames are handled by tungstenite, pongs go out with the next read; only text and
//!   binary messages reach `accept`) or Server-Sent Events frames (Mastodon's SSE transport).
//! * A session never loops on its own: it returns [`Ended`] and the caller reconnects after
//!   [`Reconnect::after_drop`] (failure recorded, jittered backoff).

use crate::cursor::Checkpoint;
use crate::limits::backoff;
use crate::outlet::{record_delivered, record_error, Cycle, Stopped};
use crate::reporter::HealthReporter;
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use std::time::Duration;
use tidewatch_model::{DeadLetter, Post};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// How long a connection attempt (TCP, TLS, upgrade) may take.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `url`, with `Authorization: Bearer <token>` when a token is given.
pub(crate) async fn connect(url: &str, bearer: Option<&str>) -> Result<Socket, String> {
    let mut request = url
        .into_client_request()
        .map_err(|error| format!("invalid stream URL {url}: {error}"))?;
    if let Some(token) = bearer {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the access token is not a valid header value".to_string())?;
        request.headers_mut().insert("authorization", value);
    }
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request)).await {
        Err(_) => Err(format!("connecting timed out after {CONNECT_TIMEOUT:?}")),
        Ok(Err(error)) => Err(format!("connecting: {error}")),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

/// One item of a stream connection.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A message (a WebSocket text / binary message, an SSE frame) for `accept`.
    Message(Vec<u8>),
    /// Nothing for `accept` (a ping, a pong).
    Skip,
    /// The connection ended, for this reason.
    Ended(String),
}

/// The messages of a WebSocket, as [`Incoming`] items.
pub(crate) fn websocket(socket: &mut Socket) -> impl Stream<Item = Incoming> + Unpin + '_ {
    socket.map(|message| match message {
        Ok(Message::Text(text)) => Incoming::Message(text.as_bytes().to_vec()),
        Ok(Message::Binary(bytes)) => Incoming::Message(bytes.to_vec()),
        Ok(Message::Close(Some(frame))) => Incoming::Ended(format!(
            "closed by the server: {} {}",
            frame.code, frame.reason
        )),
        Ok(Message::Close(None)) => Incoming::Ended("closed by the server".to_string()),
        Ok(_) => Incoming::Skip,
        Err(error) => Incoming::Ended(format!("connection failed: {error}")),
    })
}

/// The reconnect policy the WebSocket sources share: after a dropped session, record the
/// failure, then wait a jittered backoff (1 s doubling to 60 s; a session that delivered
/// something starts over at 1 s).
#[derive(Debug, Default)]
pub(crate) struct Reconnect {
    attempt: u32,
}

impl Reconnect {
    /// Records the drop (log, error counter, health) and waits before the next connection;
    /// false when cancelled while waiting.
    pub(crate) async fn after_drop(
        &mut self,
        stream: &'static str,
        name: &str,
        dropped: (&str, bool),
        health: &HealthReporter,
        cancel: &CancellationToken,
    ) -> bool {
        let wait = self.record_drop(stream, name, dropped, health);
        tokio::select! {
            () = cancel.cancelled() => false,
            () = tokio::time::sleep(wait) => true,
        }
    }
}

impl Reconnect {
    /// Records the drop (log, error counter, health) and returns how long to wait before the
    /// next connection, without waiting.
    pub(crate) fn record_drop(
        &mut self,
        stream: &'static str,
        name: &str,
        dropped: (&str, bool),
        health: &HealthReporter,
    ) -> Duration {
        let (reason, delivered) = dropped;
        if delivered {
            self.attempt = 0;
        }
        tracing::warn!(source = %name, stream, %reason, "stream disconnected, reconnecting");
        record_error(name, "disconnected");
        health.record_failure(name, reason, false, Instant::now(), Utc::now());
        let wait = backoff(
            self.attempt,
            Duration::from_secs(1),
            Duration::from_secs(60),
            fastrand::f64(),
        );
        self.attempt = self.attempt.saturating_add(1);
        wait
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The run was cancelled, or the sink refused: leave.
    Stop,
    /// The connection closed or failed: reconnect. `delivered` says whether anything came.
    Dropped { reason: String, delivered: bool },
}

/// The checkpoints and the batch of a session.
#[derive(Debug, Clone)]
pub(crate) struct StreamState {
    pub(crate) committed: Checkpoint,
    pub(crate) pending: Checkpoint,
    pub(crate) posts: Vec<Post>,
    pub(crate) dead_letters: Vec<DeadLetter>,
}

impl StreamState {
    pub(crate) fn new(committed: Checkpoint) -> Self {
        StreamState {
            pending: committed.clone(),
            committed,
            posts: Vec::new(),
            dead_letters: Vec::new(),
        }
    }

    fn has_news(&self) -> bool {
        !self.posts.is_empty() || !self.dead_letters.is_empty() || self.pending != self.committed
    }

    /// Delivers the batch, then commits and saves the pending checkpoint.
    pub(crate) async fn flush(&mut self, cycle: &Cycle) -> Result<(), Stopped> {
        if !self.has_news() {
            return Ok(());
        }
        let posts = std::mem::take(&mut self.posts);
        let letters = std::mem::take(&mut self.dead_letters);
        let count = posts.len();
        let name = cycle.outlet.source().to_string();
        let delivered = posts.clone();
        cycle.outlet.deliver(posts, letters).await?;
        self.committed = self.pending.clone();
        if cycle.save(&self.committed) {
            let wall = Utc::now();
            record_delivered(&name, &delivered, wall);
            cycle
                .health
                .record_success(&name, count, Instant::now(), wall);
        }
        Ok(())
    }
}

/// Batching limits of a session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub(crate) batch_size: usize,
    pub(crate) max_wait: Duration,
}

/// Reads `incoming` until it ends or `cancel` fires, batching what `accept` makes of each
/// message. The caller closes the connection afterwards.
pub(crate) async fn session<S, A>(
    mut incoming: S,
    state: &mut StreamState,
    mut accept: A,
    cycle: &Cycle,
    limits: BatchLimits,
    cancel: &CancellationToken,
) -> Ended
where
    S: Stream<Item = Incoming> + Unpin,
    A: FnMut(&[u8], &mut StreamState),
{
    let mut deadline: Option<Instant> = None;
    let mut delivered = false;
    loop {
        let wake = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        let message = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                let _ = state.flush(cycle).await;
                return Ended::Stop;
            }
            () = tokio::time::sleep_until(wake), if deadline.is_some() => None,
            message = incoming.next() => Some(message),
        };
        let ended = match message {
            None => None,
            Some(Some(Incoming::Message(bytes))) => {
                accept(&bytes, state);
                None
            }
            Some(Some(Incoming::Skip)) => None,
            Some(Some(Incoming::Ended(reason))) => Some(reason),
            Some(None) => Some("connection ended".to_string()),
        };
        let due = deadline.is_some_and(|at| Instant::now() >= at);
        if ended.is_some() || due || state.posts.len() >= limits.batch_size {
            let had_posts = !state.posts.is_empty();
            if state.flush(cycle).await.is_err() {
                return Ended::Stop;
            }
            delivered |= had_posts;
            deadline = None;
        } else if deadline.is_none() && state.has_news() {
            deadline = Some(Instant::now() + limits.max_wait);
        }
        if let Some(reason) = ended {
            return Ended::Dropped { reason, delivered };
        }
    }
}
