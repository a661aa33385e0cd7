//! The one stage driver: every consuming stage (score, store, detect, notify) runs on it.
//!
//! A stage is two parts: a [`Processor`] (the CPU work on a batch: parse, score, detect; it
//! owns the stage's state and runs on the blocking pool, off the async workers) and a
//! [`Deliverer`] (what makes a processed batch durable: the produce acknowledgements, the
//! ClickHouse insert, the alert service's state write).
//!
//! Guarantees:
//! * **Pipelined, bounded.** Up to `max_in_flight` processed batches wait for delivery while
//!   the next batch is read and processed; deliveries run one at a time, in input order.
//! * **Offsets follow durability.** A batch's offsets are stored only once it, its dead
//!   letters, and every batch read before it are durable (in-order delivery makes the stored
//!   offsets contiguous per partition). A [`Processor`] that keeps state (detect) asks for
//!   checkpoints: then offsets are stored only once a checkpoint covers them, and a checkpoint
//!   is taken only when every batch folded into the state is durable.
//! * **Errors by what they are about** ([`DeliveryError`]): a failing dependency (credentials,
//!   a missing table, a read-only or overloaded server, the broker down) is retried with
//!   back-off for as long as it lasts, marks the stage unhealthy ([`StageHealth`]) and never
//!   dead-letters anything; only a record the dependency refuses on its own is dead-lettered,
//!   and a batch of two or more records in which *every* record is refused counts as a
//!   dependency failure. A record the processor rejects (unparsable) is dead-lettered.
//! * **Stopping.** `stop` (or the upstream finishing, see [`StageSettings`]) ends the reading;
//!   every batch already read is then delivered and committed before the stage leaves.
//!   `abort` gives up on deliveries still failing: those batches are not committed (they are
//!   redelivered after a restart).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::transform::{finish, poll_input, reject, send_durably, Input, Rejection};
use crate::transform::{StageSettings, StageTotals};
use crate::{BusConsumer, BusError, BusProducer, Record};

/// A record of a batch, by its index in the batch, and why it is refused.
pub type IndexedRejection = (usize, Rejection);

/// What processing a batch came to.
pub struct Processed<Work> {
    pub work: Work,
    /// Records the processor could not take (they become dead letters).
    pub rejected: Vec<IndexedRejection>,
}

/// The CPU side of a stage. Runs on the blocking pool, one batch at a time, in input order.
pub trait Processor: Send + 'static {
    type Work: Send + Sync + 'static;

    /// An error stops the stage (the state cannot go on, e.g. a snapshot cannot be read).
    fn process(&mut self, batch: &[Record]) -> Result<Processed<Self::Work>, String>;

    /// True when offsets may move only with a checkpoint of the processor's state.
    fn commits_at_checkpoint(&self) -> bool {
        false
    }

    /// True when a checkpoint should be taken now (asked after each batch and when idle).
    fn checkpoint_due(&self) -> bool {
        false
    }

    /// Saves the state; called only when every batch processed so far is durable.
    fn checkpoint(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// What delivering a batch's work came to.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Outputs made durable (rows inserted, records produced, events handled).
    pub sent: u64,
    /// Records the dependency refused on their own, by index in the batch: dead-lettered.
    pub refused: Vec<IndexedRejection>,
}

/// Why a delivery failed: the dependency's fault, or a reason to stop the stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The dependency failed (down, wrong credentials, read-only, overloaded…): retried later,
    /// never the records' fault.
    #[error("{0}")]
    Dependency(String),
    /// Nothing can make this work without a person (bad configuration).
    #[error("{0}")]
    Fatal(String),
}

/// The IO side of a stage: makes a processed batch durable. Called again with the same work
/// after a [`DeliveryError::Dependency`], so it must be safe to repeat.
pub trait Deliverer: Send + Sync + 'static {
    type Work: Send + Sync + 'static;

    fn deliver(
        &self,
        work: &Self::Work,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send;
}

/// Why a stage stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("{0}")]
    Fatal(String),
}

/// When a stage stops reading, and when it gives up on deliveries that keep failing.
#[derive(Debug, Clone, Default)]
pub struct StageControl {
    pub stop: CancellationToken,
    pub abort: CancellationToken,
}

impl StageControl {
    /// One token for both: stop reading and give up retrying at once.
    pub fn stop_and_abort(cancel: &CancellationToken) -> Self {
        Self {
            stop: cancel.clone(),
            abort: cancel.clone(),
        }
    }
}

struct InFlight<Work> {
    batch: Vec<Record>,
    work: Work,
    rejected: Vec<IndexedRejection>,
    started: Instant,
}

struct Done {
    batch: Vec<Record>,
    sent: u64,
    dead_lettered: u64,
    started: Instant,
}

/// Highest offset per (topic, partition) of batches durable but not yet stored.
#[derive(Default)]
struct Uncommitted {
    highest: HashMap<(String, i32), i64>,
}

impl Uncommitted {
    fn add(&mut self, batch: &[Record]) {
        for record in batch {
            let entry = self
                .highest
                .entry((record.topic.clone(), record.partition))
                .or_insert(record.offset);
            *entry = (*entry).max(record.offset);
        }
    }

    fn commit(&mut self, consumer: &mut BusConsumer) -> Result<(), BusError> {
        let positions: Vec<(&str, i32, i64)> = self
            .highest
            .iter()
            .map(|((topic, partition), offset)| (topic.as_str(), *partition, *offset))
            .collect();
        consumer.commit_positions(&positions)?;
        self.highest.clear();
        Ok(())
    }
}

/// Runs a stage until it is told to stop (or its upstream finished and its input is drained),
/// then delivers what it read, commits and leaves. See the module docs for the guarantees.
pub async fn run_stage<P, D>(
    mut consumer: BusConsumer,
    producer: BusProducer,
    mut processor: P,
    deliverer: D,
    settings: StageSettings,
    control: StageControl,
) -> Result<StageTotals, StageError>
where
    P: Processor,
    D: Deliverer<Work = P::Work>,
{
    let stage = settings.stage.clone();
    let health = settings.health.clone();
    let mut totals = StageTotals::default();
    let mut uncommitted = Uncommitted::default();
    let at_checkpoint = processor.commits_at_checkpoint();
    let (work_sender, work_receiver) = mpsc::channel(settings.max_in_flight.max(1));
    let (done_sender, mut done_receiver) = mpsc::unbounded_channel();
    let worker = tokio::spawn(deliver_in_order(
        work_receiver,
        done_sender,
        Arc::new(deliverer),
        producer,
        settings.clone(),
        control.abort.clone(),
    ));
    let mut in_flight = 0usize;
    tracing::info!(
        stage,
        max_in_flight = settings.max_in_flight,
        "stage started"
    );
    loop {
        while let Ok(done) = done_receiver.try_recv() {
            in_flight -= 1;
            absorb(done, &stage, &mut totals, &mut uncommitted);
        }
        if !at_checkpoint {
            uncommitted.commit(&mut consumer)?;
        } else if processor.checkpoint_due() {
            // Every batch folded into the state must be durable before it is saved.
            while in_flight > 0 {
                let Some(done) = done_receiver.recv().await else {
                    break;
                };
                in_flight -= 1;
                absorb(done, &stage, &mut totals, &mut uncommitted);
            }
            if in_flight > 0 {
                break; // the worker gave up: nothing more is durable
            }
            processor = checkpoint(processor).await?;
            uncommitted.commit(&mut consumer)?;
        }
        health.refresh_age();
        metrics::gauge!("tidewatch_stage_batches_in_flight", "stage" => stage.clone())
            .set(in_flight as f64);
        let batch = match poll_input(&mut consumer, &settings, &control.stop).await? {
            Input::Batch(batch) => batch,
            Input::Idle => continue,
            Input::Stop => break,
        };
        let started = Instant::now();
        let (returned, processed, batch) = tokio::task::spawn_blocking(move || {
            let processed = processor.process(&batch);
            (processor, processed, batch)
        })
        .await
        .map_err(|error| StageError::Fatal(format!("{stage}: processing panicked: {error}")))?;
        processor = returned;
        let processed = processed.map_err(StageError::Fatal)?;
        let item = InFlight {
            batch,
            work: processed.work,
            rejected: processed.rejected,
            started,
        };
        if work_sender.send(item).await.is_err() {
            break; // the worker ended (gave up or failed): its result says why
        }
        in_flight += 1;
    }
    drop(work_sender);
    let delivered = worker
        .await
        .map_err(|error| StageError::Fatal(format!("{stage}: delivery panicked: {error}")));
    while let Ok(done) = done_receiver.try_recv() {
        in_flight -= 1;
        absorb(done, &stage, &mut totals, &mut uncommitted);
    }
    if at_checkpoint && in_flight == 0 {
        processor = checkpoint(processor).await?;
    }
    if !at_checkpoint || in_flight == 0 {
        uncommitted.commit(&mut consumer)?;
    } else {
        tracing::warn!(
            stage,
            batches = in_flight,
            "stopped before every batch was durable; state not saved, offsets not stored"
        );
    }
    drop(processor);
    metrics::gauge!("tidewatch_stage_batches_in_flight", "stage" => stage.clone()).set(0.0);
    delivered??;
    Ok(finish(consumer, &stage, totals)?)
}

fn absorb(done: Done, stage: &str, totals: &mut StageTotals, uncommitted: &mut Uncommitted) {
    uncommitted.add(&done.batch);
    totals.add_batch(
        stage,
        done.batch.len() as u64,
        done.sent,
        done.dead_lettered,
        done.started,
    );
}

async fn checkpoint<P: Processor>(mut processor: P) -> Result<P, StageError> {
    let (processor, saved) = tokio::task::spawn_blocking(move || {
        let saved = processor.checkpoint();
        (processor, saved)
    })
    .await
    .map_err(|error| StageError::Fatal(format!("checkpoint panicked: {error}")))?;
    saved.map_err(StageError::Fatal)?;
    Ok(processor)
}

/// Delivers batches one at a time, in order; reports each durable one. Returns when the queue
/// closes, when `abort` fires during a retry (batches left are not durable), or on a fatal error.
async fn deliver_in_order<D: Deliverer>(
    mut queue: mpsc::Receiver<InFlight<D::Work>>,
    done: mpsc::UnboundedSender<Done>,
    deliverer: Arc<D>,
    producer: BusProducer,
    settings: StageSettings,
    abort: CancellationToken,
) -> Result<(), StageError> {
    let stage = settings.stage.as_str();
    while let Some(item) = queue.recv().await {
        let Some(delivered) = deliver_until_durable(&*deliverer, &item, &settings, &abort).await?
        else {
            return Ok(());
        };
        let letters: Vec<_> = item
            .rejected
            .iter()
            .chain(&delivered.refused)
            .map(|(index, rejection)| reject(&settings, &item.batch[*index], rejection))
            .collect();
        if !send_durably(&producer, &letters, stage, &abort).await? {
            return Ok(());
        }
        settings.health.batch_durable();
        for record in &item.batch {
            if let Some(ack) = &record.ack {
                ack.settle();
            }
        }
        let finished = Done {
            batch: item.batch,
            sent: delivered.sent,
            dead_lettered: letters.len() as u64,
            started: item.started,
        };
        if done.send(finished).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Delivers one batch, retrying dependency failures with capped exponential back-off (100 ms
/// doubling to 10 s). `Ok(None)`: aborted before it was durable.
async fn deliver_until_durable<D: Deliverer>(
    deliverer: &D,
    item: &InFlight<D::Work>,
    settings: &StageSettings,
    abort: &CancellationToken,
) -> Result<Option<Delivered>, StageError> {
    let stage = settings.stage.as_str();
    let offered = item.batch.len() - item.rejected.len();
    let mut backoff = Duration::from_millis(100);
    loop {
        let failure = match deliverer.deliver(&item.work).await {
            Ok(delivered) if offered < 2 || delivered.refused.len() < offered => {
                return Ok(Some(delivered))
            }
            Ok(delivered) => format!(
                "every one of the {offered} records was refused, so the dependency is at fault: {}",
                delivered.refused[0].1.reason
            ),
            Err(DeliveryError::Dependency(failure)) => failure,
            // A closed in-process topic while aborting: the downstream stage left first.
            Err(DeliveryError::Fatal(_)) if abort.is_cancelled() => return Ok(None),
            Err(DeliveryError::Fatal(failure)) => return Err(StageError::Fatal(failure)),
        };
        settings.health.dependency_failed(&failure);
        tracing::warn!(stage, %failure, retry_in_ms = backoff.as_millis() as u64,
            records = item.batch.len(), "delivery failed; retrying, not committing");
        tokio::select! {
            _ = abort.cancelled() => return Ok(None),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
