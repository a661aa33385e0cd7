//! How a source task hands its batches to the publisher and learns that they are durable
//! ([`Outlet`]), and the loop of the polling sources ([`poll_forever`]).
//!
//! Guarantees:
//! * [`Outlet::deliver`] returns `Ok` only once the publisher says the batch is durable; it
//!   returns [`Stopped`] when the run is ending or the sink refused the batch, and the caller
//!   then leaves its checkpoint where it was.
//! * [`poll_cycle`] saves the proposed checkpoint only after its batch was delivered, then
//!   commits it to the poller (the contract of [`crate::poll`]). A checkpoint that cannot be
//!   written is a health failure; the posts are durable, the poller moves on in memory and the
//!   file is written again after the next cycle (a crash before that re-delivers: a repeat).
//! * Every cycle updates the source's health and the per-source metrics: posts, errors by kind,
//!   last success time, cursor lag (now − newest `created_at` delivered); requests are counted
//!   by the fetcher, one per attempt, with their outcome.

use crate::cursor::{Checkpoint, CheckpointStore};
use crate::poll::{PollError, PollOutcome, Poller};
use crate::reddit_poll::RedditPoller;
use crate::reporter::HealthReporter;
use crate::sink::SinkError;
use chrono::{DateTime, Utc};
use tidewatch_model::{DeadLetter, Post};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One batch of one source for the publisher.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) source: String,
    pub(crate) posts: Vec<Post>,
    pub(crate) dead_letters: Vec<DeadLetter>,
    pub(crate) ack: oneshot::Sender<Result<(), SinkError>>,
}

/// The run is ending (cancelled, or the sink refused a batch): leave the checkpoint as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stopped;

/// One source's end of the channel to the publisher.
#[derive(Debug, Clone)]
pub(crate) struct Outlet {
    source: String,
    sender: mpsc::Sender<Delivery>,
}

impl Outlet {
    pub(crate) fn new(source: &str, sender: mpsc::Sender<Delivery>) -> Self {
        Outlet {
            source: source.to_string(),
            sender,
        }
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Hands `posts` and `dead_letters` over and waits until they are durable.
    pub(crate) async fn deliver(
        &self,
        posts: Vec<Post>,
        dead_letters: Vec<DeadLetter>,
    ) -> Result<(), Stopped> {
        if posts.is_empty() && dead_letters.is_empty() {
            return Ok(());
        }
        let (ack, answer) = oneshot::channel();
        let delivery = Delivery {
            source: self.source.clone(),
            posts,
            dead_letters,
            ack,
        };
        self.sender.send(delivery).await.map_err(|_| Stopped)?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(Stopped),
        }
    }
}

/// Counts a delivered batch in the metrics (posts, last success, cursor lag).
pub(crate) fn record_delivered(source: &str, posts: &[Post], now: DateTime<Utc>) {
    let label = source.to_string();
    metrics::counter!("tidewatch_collect_posts_total", "source" => label.clone())
        .increment(posts.len() as u64);
    metrics::gauge!("tidewatch_collect_last_success_timestamp_seconds", "source" => label.clone())
        .set(now.timestamp() as f64);
    if let Some(newest) = posts.iter().map(|post| post.created_at).max() {
        let lag = (now - newest).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::gauge!("tidewatch_collect_cursor_lag_seconds", "source" => label).set(lag);
    }
}

pub(crate) fn record_error(source: &str, kind: &'static str) {
    metrics::counter!("tidewatch_collect_errors_total", "source" => source.to_string(), "kind" => kind)
        .increment(1);
}

/// One request not made through a [`crate::fetch::Fetcher`] (which counts its own): a webhook
/// call, a stream connection.
pub(crate) fn record_request(source: &str, outcome: &'static str) {
    metrics::counter!("tidewatch_collect_requests_total", "source" => source.to_string(), "outcome" => outcome)
        .increment(1);
}

/// What a source loop needs besides its own state.
#[derive(Debug, Clone)]
pub(crate) struct Cycle {
    pub(crate) store: CheckpointStore,
    pub(crate) outlet: Outlet,
    pub(crate) health: HealthReporter,
}

impl Cycle {
    /// Saves `checkpoint` of this source; a failure is logged and counted (not fatal).
    pub(crate) fn save(&self, checkpoint: &Checkpoint) -> bool {
        let name = self.outlet.source();
        match self.store.save(name, checkpoint) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(source = name, %error, "saving the checkpoint failed");
                record_error(name, "checkpoint");
                let message = format!("saving the checkpoint: {error}");
                let now = Instant::now();
                self.health
                    .record_failure(name, &message, false, now, Utc::now());
                false
            }
        }
    }
}

/// What one poll cycle did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CycleReport {
    /// The cycle worked (posts, if any, are durable and the checkpoint saved).
    pub(crate) ok: bool,
    /// More pages were waiting than the cycle could read.
    pub(crate) truncated: bool,
}

/// A source polled in cycles that propose a checkpoint ([`Poller`], the Reddit poller).
pub(crate) trait CycleSource: Send {
    fn poll_once(
        &mut self,
        observed_at: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<PollOutcome, PollError>> + Send;
    fn commit_checkpoint(&mut self, checkpoint: Checkpoint);
    fn interval(&self) -> std::time::Duration;
}

impl CycleSource for Poller {
    fn poll_once(
        &mut self,
        observed_at: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<PollOutcome, PollError>> + Send {
        self.poll(observed_at)
    }
    fn commit_checkpoint(&mut self, checkpoint: Checkpoint) {
        self.commit(checkpoint);
    }
    fn interval(&self) -> std::time::Duration {
        self.source().interval()
    }
}

impl CycleSource for RedditPoller {
    fn poll_once(
        &mut self,
        observed_at: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<PollOutcome, PollError>> + Send {
        self.poll(observed_at)
    }
    fn commit_checkpoint(&mut self, checkpoint: Checkpoint) {
        self.commit(checkpoint);
    }
    fn interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.source().interval_secs)
    }
}

/// One cycle: poll, deliver, save, commit (see the module docs).
pub(crate) async fn poll_cycle<S: CycleSource>(
    poller: &mut S,
    cycle: &Cycle,
) -> Result<CycleReport, Stopped> {
    let name = cycle.outlet.source().to_string();
    let outcome = match poller.poll_once(Utc::now()).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let rate_limited = error.is_rate_limited();
            tracing::warn!(source = %name, %error, "poll failed");
            let now = Instant::now();
            let message = error.to_string();
            cycle
                .health
                .record_failure(&name, &message, rate_limited, now, Utc::now());
            let kind = match &error {
                PollError::Fetch(_) if rate_limited => "rate_limited",
                PollError::Fetch(_) => "fetch",
                PollError::Payload { error, .. } => error.kind(),
            };
            record_error(&name, kind);
            if let PollError::Payload { dead_letter, .. } = error {
                cycle.outlet.deliver(Vec::new(), vec![*dead_letter]).await?;
            }
            return Ok(CycleReport {
                ok: false,
                truncated: false,
            });
        }
    };
    for letter in &outcome.dead_letters {
        tracing::warn!(source = %name, reason = %letter.reason, "item dead-lettered");
        record_error(&name, "bad_item");
    }
    report_gap(&name, outcome.gap, poller.interval(), &cycle.health);
    let count = outcome.posts.len();
    let posts = outcome.posts.clone();
    cycle
        .outlet
        .deliver(outcome.posts, outcome.dead_letters)
        .await?;
    let saved = cycle.save(&outcome.checkpoint);
    poller.commit_checkpoint(outcome.checkpoint);
    if saved {
        let wall = Utc::now();
        record_delivered(&name, &posts, wall);
        cycle
            .health
            .record_success(&name, count, Instant::now(), wall);
        tracing::debug!(source = %name, posts = count, "poll cycle delivered");
    }
    Ok(CycleReport {
        ok: saved,
        truncated: outcome.truncated,
    })
}

/// A feed gap (see [`crate::poll::FeedGap`]): a warning with the suggested interval, the
/// `tidewatch_collect_feed_gaps_total` counter and a health note; a cycle without one clears
/// the note.
fn report_gap(
    name: &str,
    gap: Option<crate::poll::FeedGap>,
    interval: std::time::Duration,
    health: &HealthReporter,
) {
    let Some(gap) = gap else {
        health.clear_note_prefixed(name, GAP_NOTE);
        return;
    };
    let (current, suggested) = (interval.as_secs(), gap.suggested_interval_secs);
    tracing::warn!(
        source = name,
        items = gap.items,
        interval_secs = current,
        suggested_interval_secs = suggested,
        "feed gap: none of the items seen before is in this fetch, so items may have been \
         missed; set interval_secs to {suggested} or less"
    );
    metrics::counter!("tidewatch_collect_feed_gaps_total", "source" => name.to_string())
        .increment(1);
    let note = format!(
        "{GAP_NOTE}: none of the {} items fetched was seen before, items may have been missed \
         between polls; interval_secs {current} is too long for this feed, try {suggested}",
        gap.items
    );
    health.set_note(name, Some(note));
}

const GAP_NOTE: &str = "feed gap";

/// Polls every interval until cancelled; a truncated cycle polls again at once.
pub(crate) async fn poll_forever<S: CycleSource>(
    mut poller: S,
    cycle: Cycle,
    cancel: CancellationToken,
) {
    let interval = poller.interval();
    loop {
        let report = tokio::select! {
            () = cancel.cancelled() => return,
            report = poll_cycle(&mut poller, &cycle) => report,
        };
        let Ok(report) = report else {
            return;
        };
        let wait = if report.ok && report.truncated {
            std::time::Duration::ZERO
        } else {
            interval
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
