//! The `detect` stage: `posts.watched` → detector (per input partition) → `alerts`, keyed by
//! story id so each story's events stay in order.
//!
//! Guarantees (see `state.rs` for the snapshot side):
//! * at least once (the stage driver, `tidewatch_bus::driver`, enforces it): a batch's alert
//!   events are acknowledged by the bus before the state that produced them is snapshotted, and
//!   input offsets are stored only once a snapshot covers them; after a crash the stage
//!   restores the last snapshot and re-reads from there;
//! * the detector is deterministic in event time, so re-reading after a crash re-emits the same
//!   events as the uninterrupted run would have; the alert stage and the store collapse those
//!   repeats (one page per story, one row per event);
//! * a record that is not a watched post is dead-lettered with the reason; the stage goes on;
//! * on shutdown the batch in hand is finished, the state saved, and the offsets committed.

mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidewatch_bus::driver::{run_stage, Processed, Processor, StageControl};
use tidewatch_bus::transform::{ProduceDeliverer, Rejection, StageSettings, StageTotals};
use tidewatch_bus::{BusConsumer, BusProducer, OutRecord, Record};
use tidewatch_detect::DetectorConfig;
use tidewatch_model::{AlertEvent, WatchedPost, MAX_RECORD_BYTES};

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

/// The detectors of every input partition, fed one batch at a time on the blocking pool; the
/// driver snapshots them (when every alert they emitted is durable) and then stores offsets.
struct DetectProcessor {
    states: DetectorStates,
    alerts_topic: String,
    snapshot_interval: Duration,
    last_snapshot: Instant,
    unsaved: bool,
}

impl Processor for DetectProcessor {
    type Work = Vec<OutRecord>;

    fn process(&mut self, batch: &[Record]) -> Result<Processed<Vec<OutRecord>>, String> {
        let mut output = Vec::new();
        let mut rejected = Vec::new();
        let mut skipped = 0u64;
        for (index, record) in batch.iter().enumerate() {
            let partition = self
                .states
                .partition(&record.topic, record.partition)
                .map_err(|error| format!("{error:#}"))?;
            if record.offset < partition.next_offset {
                // Already folded into the restored snapshot before a restart.
                skipped += 1;
                continue;
            }
            match parse_watched(record) {
                Ok(watched) => {
                    for event in partition.detector.observe(&watched) {
                        tracing::info!(story_id = %event.story_id, watch = %event.watch, "alert event");
                        output.push(alert_record(&self.alerts_topic, &event));
                    }
                }
                Err(rejection) => rejected.push((index, rejection)),
            }
            partition.next_offset = record.offset + 1;
        }
        if skipped > 0 {
            tracing::info!(skipped, "records already in the restored state skipped");
        }
        self.unsaved = true;
        Ok(Processed {
            work: output,
            rejected,
        })
    }

    fn commits_at_checkpoint(&self) -> bool {
        true
    }

    fn checkpoint_due(&self) -> bool {
        self.unsaved && self.last_snapshot.elapsed() >= self.snapshot_interval
    }

    /// Saves the changed partitions' state; the driver then stores the offsets it covers.
    fn checkpoint(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let saved = self
            .states
            .save_changed()
            .map_err(|error| format!("cannot save the detector state: {error:#}"))?;
        metrics::histogram!("tidewatch_detect_snapshot_seconds")
            .record(started.elapsed().as_secs_f64());
        tracing::debug!(partitions = saved, "detector state saved");
        self.last_snapshot = Instant::now();
        self.unsaved = false;
        Ok(())
    }
}

/// Runs the stage until stopped (or drained, with `upstream_finished`), on the stage driver.
pub(crate) async fn run_detect_stage(
    consumer: BusConsumer,
    producer: BusProducer,
    settings: DetectStageSettings,
    control: StageControl,
) -> anyhow::Result<StageTotals> {
    let states = DetectorStates::new(settings.state_dir.as_deref(), settings.detector.clone())?;
    tracing::info!(state_dir = ?settings.state_dir, "detect stage starting");
    let processor = DetectProcessor {
        states,
        alerts_topic: settings.alerts_topic,
        snapshot_interval: settings.snapshot_interval,
        last_snapshot: Instant::now(),
        unsaved: false,
    };
    let deliverer = ProduceDeliverer {
        producer: producer.clone(),
    };
    Ok(run_stage(
        consumer,
        producer,
        processor,
        deliverer,
        settings.stage,
        control,
    )
    .await?)
}

/// The watched post of a record: typed on the in-process bus, JSON (parsed once) from Kafka.
fn parse_watched(record: &Record) -> Result<Arc<WatchedPost>, Rejection> {
    if let Some(watched) = record.value::<WatchedPost>() {
        return Ok(watched);
    }
    if record.payload.len() > MAX_RECORD_BYTES {
        return Err(Rejection {
            kind: "record_too_large".to_string(),
            reason: format!(
                "record of {} bytes is over the {MAX_RECORD_BYTES}-byte limit",
                record.payload.len()
            ),
        });
    }
    serde_json::from_slice::<WatchedPost>(&record.payload)
        .map(Arc::new)
        .map_err(|error| Rejection {
            kind: "invalid_watched_post".to_string(),
            reason: format!("not a watched post: {error}"),
        })
}

fn alert_record(alerts_topic: &str, event: &AlertEvent) -> OutRecord {
    let payload = serde_json::to_vec(event).expect("an alert event always serialises");
    OutRecord::new(alerts_topic, event.story_id.clone(), payload)
}
