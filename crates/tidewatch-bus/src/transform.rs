//! The common stage shape: consume a batch → map each record → produce → commit.
//!
//! Guarantees: a batch's input offsets are committed only after every output of the batch,
//! dead letters included, was acknowledged; a record the transform rejects goes to the
//! dead-letter topic with its reason and never stops the stage; transient bus errors are retried
//! with backoff; on cancellation the stage finishes the batch in hand, commits, and leaves.
//! [`run_transform`] runs a [`Transform`] on the one stage driver (`crate::driver`).

use std::time::{Duration, Instant};

use tidewatch_model::DeadLetter;
use tokio_util::sync::CancellationToken;

use crate::driver::{run_stage, Delivered, Deliverer, DeliveryError, Processed, Processor};
use crate::driver::{StageControl, StageError};
use crate::{BusConsumer, BusError, BusProducer, OutRecord, Record, StageHealth};

/// Why a transform refused a record; becomes a dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Short machine-readable kind, e.g. `invalid_json`.
    pub kind: String,
    /// A sentence a person can act on.
    pub reason: String,
}

/// Pure per-record logic of a stage.
pub trait Transform {
    /// Appends this record's outputs to `output`, or rejects it.
    fn process(&mut self, record: &Record, output: &mut Vec<OutRecord>) -> Result<(), Rejection>;
}

#[derive(Debug, Clone)]
pub struct StageSettings {
    pub stage: String,
    pub dead_letter_topic: String,
    pub max_batch: usize,
    pub max_wait: Duration,
    /// When set and cancelled, the stage leaves as soon as its input is drained: used when the
    /// whole pipeline runs in one process (a finite input, or a drain-order shutdown).
    pub upstream_finished: Option<CancellationToken>,
    /// Processed batches that may wait for delivery while the next one is read and processed.
    pub max_in_flight: usize,
    /// The stage's dependency and durability state, for `/healthz` and `/metrics`.
    pub health: StageHealth,
}

impl StageSettings {
    /// Settings with the defaults: no upstream, 4 batches in flight.
    pub fn new(stage: &str, dead_letter_topic: &str, max_batch: usize, max_wait: Duration) -> Self {
        Self {
            stage: stage.to_string(),
            dead_letter_topic: dead_letter_topic.to_string(),
            max_batch,
            max_wait,
            upstream_finished: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            health: StageHealth::new(stage),
        }
    }
}

/// Batches in flight per stage unless configured otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;

/// Counts of what one stage run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StageTotals {
    pub received: u64,
    pub sent: u64,
    pub dead_lettered: u64,
}

pub fn dead_letter_record(
    stage: &str,
    dead_letter_topic: &str,
    record: &Record,
    rejection: &Rejection,
) -> OutRecord {
    let key = record.key_text();
    let letter = DeadLetter::new(
        stage,
        &rejection.kind,
        rejection.reason.clone(),
        record.topic.clone(),
        &record.payload_bytes(),
    )
    .with_position(record.partition, record.offset)
    .with_key(key.clone());
    OutRecord::new(dead_letter_topic, key.unwrap_or_default(), letter.to_json())
}

/// Runs `attempt` until it succeeds, retrying errors that `is_retryable` calls transient with
/// capped exponential backoff (100 ms doubling to 10 s). Returns `Ok(None)` if cancelled while
/// waiting to retry, and a fatal error as it is. Each failure counts in
/// `tidewatch_stage_errors_total{stage, kind}`.
pub async fn retry_transient<T, E, Attempt, Outcome>(
    stage: &str,
    kind: &'static str,
    cancel: &CancellationToken,
    is_retryable: impl Fn(&E) -> bool,
    mut attempt: Attempt,
) -> Result<Option<T>, E>
where
    E: std::fmt::Display,
    Attempt: FnMut() -> Outcome,
    Outcome: std::future::Future<Output = Result<T, E>>,
{
    let mut backoff = Duration::from_millis(100);
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(Some(value)),
            Err(error) => error,
        };
        metrics::counter!("tidewatch_stage_errors_total", "stage" => stage.to_string(), "kind" => kind)
            .increment(1);
        if !is_retryable(&error) {
            return Err(error);
        }
        tracing::warn!(stage, kind, %error, retry_in_ms = backoff.as_millis() as u64, "failed, retrying");
        tokio::select! {
            _ = cancel.cancelled() => return Ok(None),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Sends `records`, retrying transient errors. Returns false if cancelled before they were
/// durable (the caller must then not commit).
pub async fn send_durably(
    producer: &BusProducer,
    records: &[OutRecord],
    stage: &str,
    cancel: &CancellationToken,
) -> Result<bool, BusError> {
    let sent = retry_transient(stage, "produce", cancel, BusError::is_retryable, || {
        producer.send_all(records)
    })
    .await;
    match sent {
        Ok(sent) => Ok(sent.is_some()),
        // Shutting down the in-process bus: the downstream stage left first. Not durable, and
        // not a failure either: nothing in memory survives the process anyway.
        Err(BusError::ChannelClosed(_)) if cancel.is_cancelled() => Ok(false),
        Err(error) => Err(error),
    }
}

/// What polling a stage's input came to.
pub enum Input {
    Batch(Vec<Record>),
    /// Nothing arrived within `max_wait`; poll again.
    Idle,
    /// Cancelled, or the upstream finished and everything was read: leave.
    Stop,
}

/// Polls the next batch, retrying transient bus errors.
pub async fn poll_input(
    consumer: &mut BusConsumer,
    settings: &StageSettings,
    cancel: &CancellationToken,
) -> Result<Input, BusError> {
    if cancel.is_cancelled() {
        return Ok(Input::Stop);
    }
    let batch = match consumer
        .next_batch(settings.max_batch, settings.max_wait, cancel)
        .await
    {
        Ok(batch) => batch,
        Err(error) if error.is_retryable() => {
            tracing::warn!(stage = %settings.stage, %error, "consume failed, retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
            return Ok(Input::Idle);
        }
        Err(error) => return Err(error),
    };
    if !batch.is_empty() {
        return Ok(Input::Batch(batch));
    }
    let drained = settings
        .upstream_finished
        .as_ref()
        .is_some_and(|finished| finished.is_cancelled() && consumer.is_caught_up());
    if drained || cancel.is_cancelled() {
        return Ok(Input::Stop);
    }
    Ok(Input::Idle)
}

/// Logs and counts a rejected record, and builds its dead letter.
pub fn reject(settings: &StageSettings, record: &Record, rejection: &Rejection) -> OutRecord {
    let stage = settings.stage.as_str();
    tracing::warn!(stage, topic = %record.topic, partition = record.partition, offset = record.offset,
        reason = %rejection.reason, "record dead-lettered");
    metrics::counter!("tidewatch_stage_dead_lettered_total", "stage" => stage.to_string(), "reason" => rejection.kind.clone())
        .increment(1);
    dead_letter_record(stage, &settings.dead_letter_topic, record, rejection)
}

impl StageTotals {
    /// Adds a committed batch to the totals and to the stage's metrics.
    pub fn add_batch(
        &mut self,
        stage: &str,
        received: u64,
        sent: u64,
        dead_lettered: u64,
        started: Instant,
    ) {
        self.received += received;
        self.sent += sent;
        self.dead_lettered += dead_lettered;
        metrics::counter!("tidewatch_stage_received_total", "stage" => stage.to_string())
            .increment(received);
        metrics::counter!("tidewatch_stage_sent_total", "stage" => stage.to_string())
            .increment(sent);
        metrics::histogram!("tidewatch_stage_batch_seconds", "stage" => stage.to_string())
            .record(started.elapsed().as_secs_f64());
    }
}

/// Commits what was stored and leaves the group; logs the stage's totals.
pub fn finish(
    consumer: BusConsumer,
    stage: &str,
    totals: StageTotals,
) -> Result<StageTotals, BusError> {
    consumer.shutdown()?;
    tracing::info!(
        stage,
        received = totals.received,
        sent = totals.sent,
        dead_lettered = totals.dead_lettered,
        "stage stopped"
    );
    Ok(totals)
}

/// Runs a [`Transform`] on the stage driver: one per record on the blocking pool, the outputs
/// produced (acknowledged) before the batch commits.
struct TransformProcessor<T> {
    transform: T,
}

impl<T: Transform + Send + 'static> Processor for TransformProcessor<T> {
    type Work = Vec<OutRecord>;

    fn process(&mut self, batch: &[Record]) -> Result<Processed<Vec<OutRecord>>, String> {
        let mut output = Vec::with_capacity(batch.len());
        let mut rejected = Vec::new();
        for (index, record) in batch.iter().enumerate() {
            let before = output.len();
            if let Err(rejection) = self.transform.process(record, &mut output) {
                output.truncate(before);
                rejected.push((index, rejection));
                continue;
            }
            // What is made of a record answers for it downstream (see `crate::ack`).
            if let Some(ack) = &record.ack {
                for made in &mut output[before..] {
                    made.ack = Some(ack.clone());
                }
            }
        }
        Ok(Processed {
            work: output,
            rejected,
        })
    }
}

/// Makes records durable by producing them: acknowledged by the broker, or taken by the
/// in-process topic. A broker that cannot take them now is a dependency failure; a record it
/// refuses for good (too large) stops the stage with the reason.
pub struct ProduceDeliverer {
    pub producer: BusProducer,
}

impl Deliverer for ProduceDeliverer {
    type Work = Vec<OutRecord>;

    async fn deliver(&self, work: &Vec<OutRecord>) -> Result<Delivered, DeliveryError> {
        match self.producer.send_all(work).await {
            Ok(()) => {
                // The records downstream now carry the acknowledgements.
                work.iter().for_each(OutRecord::settle_ack);
                Ok(Delivered {
                    sent: work.len() as u64,
                    refused: Vec::new(),
                })
            }
            Err(error) if error.is_retryable() => Err(DeliveryError::Dependency(format!(
                "cannot produce to the bus: {error}"
            ))),
            Err(error) => Err(DeliveryError::Fatal(format!(
                "the bus refused the output: {error}"
            ))),
        }
    }
}

/// Runs a transform stage until cancelled (or, with `upstream_finished`, until drained).
pub async fn run_transform<T: Transform + Send + 'static>(
    consumer: BusConsumer,
    producer: BusProducer,
    transform: T,
    settings: StageSettings,
    control: StageControl,
) -> Result<StageTotals, StageError> {
    let deliverer = ProduceDeliverer {
        producer: producer.clone(),
    };
    run_stage(
        consumer,
        producer,
        TransformProcessor { transform },
        deliverer,
        settings,
        control,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryBus;

    /// Upper-cases payloads; rejects payloads that are not UTF-8.
    struct Shout;

    impl Transform for Shout {
        fn process(
            &mut self,
            record: &Record,
            output: &mut Vec<OutRecord>,
        ) -> Result<(), Rejection> {
            let text = std::str::from_utf8(&record.payload).map_err(|error| Rejection {
                kind: "invalid_utf8".into(),
                reason: error.to_string(),
            })?;
            output.push(OutRecord::new("out", "k", text.to_uppercase()));
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_with_backoff_and_returns_fatal_ones() {
        let cancel = CancellationToken::new();
        let mut attempts = 0;
        let started = tokio::time::Instant::now();
        let outcome = retry_transient(
            "t",
            "test",
            &cancel,
            |error: &&str| *error == "transient",
            || {
                attempts += 1;
                let result = if attempts < 3 {
                    Err("transient")
                } else {
                    Ok(attempts)
                };
                async move { result }
            },
        )
        .await;
        assert_eq!(outcome, Ok(Some(3)));
        // 100 ms, then 200 ms of backoff.
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        let fatal = retry_transient(
            "t",
            "test",
            &cancel,
            |error: &&str| *error == "transient",
            || async { Err::<(), _>("fatal") },
        )
        .await;
        assert_eq!(fatal, Err("fatal"));
        cancel.cancel();
        let cancelled = retry_transient(
            "t",
            "test",
            &cancel,
            |_: &&str| true,
            || async { Err::<(), _>("transient") },
        )
        .await;
        assert_eq!(cancelled, Ok(None));
    }

    #[tokio::test]
    async fn maps_records_and_dead_letters_bad_ones_without_stopping() {
        let bus = MemoryBus::new(64);
        let consumer = BusConsumer::Memory(bus.subscribe("in").unwrap());
        let mut output = bus.subscribe("out").unwrap();
        let mut dead_letters = bus.subscribe("dlq").unwrap();
        let input = vec![
            OutRecord::new("in", "a", b"hello".to_vec()),
            OutRecord::new("in", "b", vec![0xff, 0xfe]),
            OutRecord::new("in", "c", b"world".to_vec()),
        ];
        bus.producer().send_all(&input).await.unwrap();
        let upstream_finished = CancellationToken::new();
        upstream_finished.cancel();
        let mut settings = StageSettings::new("shout", "dlq", 2, Duration::from_millis(20));
        settings.upstream_finished = Some(upstream_finished);
        let producer = BusProducer::Memory(bus.producer());
        let totals = run_transform(consumer, producer, Shout, settings, StageControl::default())
            .await
            .unwrap();
        assert_eq!(
            totals,
            StageTotals {
                received: 3,
                sent: 2,
                dead_lettered: 1
            }
        );
        let cancel = CancellationToken::new();
        let outputs = output
            .next_batch(10, Duration::from_millis(10), &cancel)
            .await
            .unwrap();
        let texts: Vec<_> = outputs
            .iter()
            .map(|record| record.payload.clone())
            .collect();
        assert_eq!(texts, vec![b"HELLO".to_vec(), b"WORLD".to_vec()]);
        let letters = dead_letters
            .next_batch(10, Duration::from_millis(10), &cancel)
            .await
            .unwrap();
        let letter: DeadLetter = serde_json::from_slice(&letters[0].payload).unwrap();
        assert_eq!(letter.stage, "shout");
        assert_eq!(letter.reason_kind, "invalid_utf8");
        assert_eq!(letter.original_bytes(), vec![0xff, 0xfe]);
        assert_eq!(letter.key.as_deref(), Some("b"));
    }
}
