//! The `detect` stage: `posts.watched` → detector (per input partition) → `alerts`, keyed by
//! story id so each story's events stay in order.
//!
//! Guarantees (see `state.rs` for the snapshot side):
//! * at least once: a batch's alert events are acknowledged by the bus before the state that
//!   produced them can be snapshotted, and input offsets are stored only once a snapshot covers
//!   them; after a crash the stage restores the last snapshot and re-reads from there;
//! * the detector is deterministic in event time, so re-reading after a crash re-emits the same
//!   events as the uninterrupted run would have; the alert stage and the store collapse those
//!   repeats (one page per story, one row per event);
//! * a record that is not a watched post is dead-lettered with the reason; the stage goes on;
//! * on shutdown the batch in hand is finished, the state saved, and the offsets committed.

mod state;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use tidewatch_bus::transform::{
    finish, poll_input, reject, send_durably, Input, Rejection, StageSettings, StageTotals,
};
use tidewatch_bus::{BusConsumer, BusProducer, OutRecord, Record};
use tidewatch_detect::DetectorConfig;
use tidewatch_model::{AlertEvent, WatchedPost, MAX_RECORD_BYTES};
use tokio_util::sync::CancellationToken;

pub(crate) use state::DetectorStates;

/// Where and how often the detect stage snapshots its state.
#[derive(Debug, Clone)]
pub(crate) struct DetectStageSettings {
    pub(crate) stage: StageSettings,
    pub(crate) alerts_topic: String,
    /// None on the in-process bus: its offsets restart at zero, so there is nothing to resume.
    pub(crate) state_dir: Option<PathBuf>,
    pub(crate) snapshot_interval: Duration,
    pub(crate) detector: DetectorConfig,
}

/// Runs the stage until cancelled (or drained, with `upstream_finished`).
pub(crate) async fn run_detect_stage(
    mut consumer: BusConsumer,
    producer: BusProducer,
    settings: DetectStageSettings,
    cancel: CancellationToken,
) -> anyhow::Result<StageTotals> {
    let stage = settings.stage.stage.as_str();
    let mut states = DetectorStates::new(settings.state_dir.as_deref(), settings.detector.clone())?;
    let mut totals = StageTotals::default();
    let mut output = Vec::new();
    // Positions read and acknowledged downstream but not yet covered by a snapshot.
    let mut uncommitted: Vec<Record> = Vec::new();
    let mut last_snapshot = Instant::now();
    tracing::info!(stage, state_dir = ?settings.state_dir, "stage started");
    loop {
        let batch = match poll_input(&mut consumer, &settings.stage, &cancel).await? {
            Input::Batch(batch) => batch,
            Input::Idle => {
                checkpoint_if_due(
                    &mut states,
                    &mut consumer,
                    &mut uncommitted,
                    &mut last_snapshot,
                    &settings,
                )?;
                continue;
            }
            Input::Stop => break,
        };
        let started = Instant::now();
        output.clear();
        let mut dead_lettered = 0u64;
        let mut skipped = 0u64;
        for record in &batch {
            let partition = states.partition(&record.topic, record.partition)?;
            if record.offset < partition.next_offset {
                // Already folded into the restored snapshot before a restart.
                skipped += 1;
                continue;
            }
            match parse_watched(record) {
                Ok(watched) => {
                    for event in partition.detector.observe(&watched) {
                        output.push(alert_record(&settings.alerts_topic, &event));
                    }
                }
                Err(rejection) => {
                    output.push(reject(&settings.stage, record, &rejection));
                    dead_lettered += 1;
                }
            }
            partition.next_offset = record.offset + 1;
        }
        if !send_durably(&producer, &output, stage, &cancel).await? {
            // The state now holds posts whose alerts are not durable: drop it unsaved, so a
            // restart re-reads them from the last snapshot.
            tracing::warn!(
                stage,
                records = batch.len(),
                "stopped before alerts were durable; state not saved"
            );
            return Ok(totals);
        }
        for event_record in &output {
            if event_record.topic == settings.alerts_topic {
                tracing::info!(stage, story_id = %event_record.key, "alert event sent");
            }
        }
        let sent = output.len() as u64 - dead_lettered;
        totals.add_batch(stage, batch.len() as u64, sent, dead_lettered, started);
        if skipped > 0 {
            tracing::info!(
                stage,
                skipped,
                "records already in the restored state skipped"
            );
        }
        uncommitted.extend(batch.into_iter().map(position_only));
        checkpoint_if_due(
            &mut states,
            &mut consumer,
            &mut uncommitted,
            &mut last_snapshot,
            &settings,
        )?;
    }
    checkpoint(&mut states, &mut consumer, &mut uncommitted)?;
    Ok(finish(consumer, stage, totals)?)
}

fn checkpoint_if_due(
    states: &mut DetectorStates,
    consumer: &mut BusConsumer,
    uncommitted: &mut Vec<Record>,
    last_snapshot: &mut Instant,
    settings: &DetectStageSettings,
) -> anyhow::Result<()> {
    if uncommitted.is_empty() || last_snapshot.elapsed() < settings.snapshot_interval {
        return Ok(());
    }
    *last_snapshot = Instant::now();
    checkpoint(states, consumer, uncommitted)
}

/// Saves the changed partitions' state, then stores the offsets that state covers.
fn checkpoint(
    states: &mut DetectorStates,
    consumer: &mut BusConsumer,
    uncommitted: &mut Vec<Record>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let saved = states
        .save_changed()
        .context("cannot save the detector state")?;
    consumer.commit_batch(uncommitted)?;
    metrics::histogram!("tidewatch_detect_snapshot_seconds")
        .record(started.elapsed().as_secs_f64());
    tracing::debug!(
        partitions = saved,
        records = uncommitted.len(),
        "detector state saved, offsets stored"
    );
    uncommitted.clear();
    Ok(())
}

/// Keeps what committing needs, not the payload.
fn position_only(record: Record) -> Record {
    Record {
        payload: Vec::new(),
        key: None,
        ..record
    }
}

fn parse_watched(record: &Record) -> Result<WatchedPost, Rejection> {
    if record.payload.len() > MAX_RECORD_BYTES {
        return Err(Rejection {
            kind: "record_too_large".to_string(),
            reason: format!(
                "record of {} bytes is over the {MAX_RECORD_BYTES}-byte limit",
                record.payload.len()
            ),
        });
    }
    serde_json::from_slice::<WatchedPost>(&record.payload).map_err(|error| Rejection {
        kind: "invalid_watched_post".to_string(),
        reason: format!("not a watched post: {error}"),
    })
}

fn alert_record(alerts_topic: &str, event: &AlertEvent) -> OutRecord {
    let payload = serde_json::to_vec(event).expect("an alert event always serialises");
    OutRecord::new(alerts_topic, event.story_id.clone(), payload)
}
