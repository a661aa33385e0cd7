//! The Mastodon streaming collector: REST catch-up from the checkpoint, then the WebSocket stream
//! (`/api/v1/streaming?stream=public|hashtag…`), and catch-up again after every disconnect.
//!
//! Guarantees:
//! * Before each connection the REST poller pages forward from the checkpoint's `min_id` until
//!   it is current, so what was posted while disconnected (or stopped) is collected: no gap.
//! * Stream `update`s advance the same cursor (the largest status id handed over) and are
//!   remembered in the same seen ids as the REST polls, so the catch-up after a reconnect does
//!   not hand them over again; `status.update` (an edit, same `source_id`) and `delete` events
//!   always go through. The cursor is saved only after its batch is durable.
//! * The access token (required for streaming since Mastodon 4.2) is sent as
//!   `Authorization: Bearer`; it is read once at start from the variable named in the config.
//! * A message that is not a valid event is a dead letter and the stream goes on.
//! * Reconnects back off (1 s doubling to 60 s, jittered), reset once a session delivered.

use crate::fetch::FetchError;
use crate::mastodon::{self, StreamEvent};
use crate::outlet::{poll_cycle, record_error, Cycle};
use crate::poll::{Poller, STAGE};
use crate::source::MastodonSource;
use crate::stream::{connect, session, BatchLimits, Ended, Reconnect, StreamState};
use chrono::Utc;
use std::time::Duration;
use tidewatch_model::DeadLetter;
use tokio_util::sync::CancellationToken;

/// One streaming Mastodon source.
#[derive(Debug)]
pub(crate) struct MastodonStream {
    config: MastodonSource,
    host: String,
    url: String,
    token: String,
}

impl MastodonStream {
    pub(crate) fn new(config: MastodonSource, token: String) -> Result<Self, FetchError> {
        let host = config.host()?;
        let url = config.stream_url()?.to_string();
        Ok(MastodonStream {
            config,
            host,
            url,
            token,
        })
    }

    /// Catch up, stream, repeat, until cancelled or the sink refuses.
    pub(crate) async fn run(self, mut poller: Poller, cycle: Cycle, cancel: CancellationToken) {
        let name = self.config.name.clone();
        let limits = BatchLimits {
            batch_size: 200,
            max_wait: Duration::from_secs(1),
        };
        let mut reconnect = Reconnect::default();
        loop {
            // Catch up over REST until a cycle is not truncated.
            loop {
                let report = tokio::select! {
                    () = cancel.cancelled() => return,
                    report = poll_cycle(&mut poller, &cycle) => report,
                };
                match report {
                    Err(_) => return,
                    Ok(report) if report.ok && report.truncated => continue,
                    Ok(_) => break,
                }
            }
            let ended = match connect(&self.url, Some(&self.token)).await {
                Ok(socket) => {
                    tracing::info!(source = %name, "mastodon stream connected");
                    let mut state = StreamState::new(poller.checkpoint().clone());
                    let origin = format!("{name} {}", self.url);
                    let host = self.host.clone();
                    let accept = |message: &[u8], state: &mut StreamState| {
                        accept_event(&host, message, state, &origin, &name);
                    };
                    let ended = session(socket, &mut state, accept, &cycle, limits, &cancel).await;
                    poller.commit(state.committed);
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
            // The next round catches up over REST before it reconnects.
            let dropped = (reason.as_str(), delivered);
            if !reconnect
                .after_drop("mastodon", &name, dropped, &cycle.health, &cancel)
                .await
            {
                return;
            }
        }
    }
}

/// Adds one stream message to the session.
fn accept_event(host: &str, message: &[u8], state: &mut StreamState, origin: &str, name: &str) {
    match mastodon::parse_websocket_message(host, message, Utc::now()) {
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
