//! The store stage: `posts.scored` → ClickHouse `posts`.
//!
//! Guarantees: a batch's offsets are committed only after ClickHouse acknowledged its insert (and
//! its dead letters were produced); transient ClickHouse errors are retried with backoff without
//! committing; a record that cannot be parsed, or that ClickHouse refuses on its own, goes to the
//! dead-letter topic and the stage goes on. The store maintenance (trend rollups, retention; see
//! `maintenance.rs`) runs beside the stage and stops when it stops. Redelivered posts are collapsed by the table (see
//! `schema`), so at-least-once delivery never counts a post twice.

use std::time::Instant;

use tidewatch_bus::transform::{
    finish, poll_input, reject, retry_transient, send_durably, Input, Rejection, StageSettings,
    StageTotals,
};
use tidewatch_bus::{BusConsumer, BusError, BusProducer, OutRecord, Record};
use tidewatch_model::ScoredPost;
use tokio_util::sync::CancellationToken;

use crate::{PostStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StoreStageError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What inserting one batch came to.
enum InsertOutcome {
    Durable,
    Cancelled,
}

/// What inserting a batch that may hold refused posts came to.
enum BatchOutcome {
    /// Everything else is in ClickHouse; this many posts were refused and dead-lettered.
    Durable {
        refused: u64,
    },
    Cancelled,
}

pub async fn run_store_stage(
    mut consumer: BusConsumer,
    producer: BusProducer,
    store: PostStore,
    settings: StageSettings,
    cancel: CancellationToken,
) -> Result<StageTotals, StoreStageError> {
    let stage = settings.stage.as_str();
    let mut totals = StageTotals::default();
    tracing::info!(stage, database = store.database(), "stage started");
    // Rollups and retention run beside the stage and stop with it, however it ends.
    let maintenance_cancel = cancel.child_token();
    let _stop_maintenance = maintenance_cancel.clone().drop_guard();
    let maintenance = tokio::spawn(crate::run_maintenance(
        store.clone(),
        crate::MaintenanceSettings::from_config(store.config()),
        maintenance_cancel.clone(),
    ));
    loop {
        let batch = match poll_input(&mut consumer, &settings, &cancel).await? {
            Input::Batch(batch) => batch,
            Input::Idle => continue,
            Input::Stop => break,
        };
        let started = Instant::now();
        let mut posts = Vec::with_capacity(batch.len());
        let mut positions: Vec<&Record> = Vec::with_capacity(batch.len());
        let mut dead_letters = Vec::new();
        for record in &batch {
            match ScoredPost::from_json_bytes(&record.payload) {
                Ok(post) => {
                    posts.push(post);
                    positions.push(record);
                }
                Err(error) => {
                    let rejection = Rejection {
                        kind: error.kind().to_string(),
                        reason: error.to_string(),
                    };
                    dead_letters.push(reject(&settings, record, &rejection));
                }
            }
        }
        let refused = match insert_durably(
            &store,
            &posts,
            &positions,
            stage,
            &settings,
            &mut dead_letters,
            &cancel,
        )
        .await?
        {
            BatchOutcome::Durable { refused } => refused,
            BatchOutcome::Cancelled => break,
        };
        if !send_durably(&producer, &dead_letters, stage, &cancel).await? {
            break;
        }
        consumer.commit_batch(&batch)?;
        let stored = posts.len() as u64 - refused;
        let dead_lettered = dead_letters.len() as u64;
        totals.add_batch(stage, batch.len() as u64, stored, dead_lettered, started);
    }
    maintenance_cancel.cancel();
    if let Err(error) = maintenance.await {
        tracing::warn!(stage, %error, "store maintenance task failed");
    }
    Ok(finish(consumer, stage, totals)?)
}

/// Inserts the batch, retrying transient errors; if ClickHouse refuses the batch for a reason
/// retrying cannot fix, inserts post by post so that only the offending posts are dead-lettered.
async fn insert_durably(
    store: &PostStore,
    posts: &[ScoredPost],
    positions: &[&Record],
    stage: &str,
    settings: &StageSettings,
    dead_letters: &mut Vec<OutRecord>,
    cancel: &CancellationToken,
) -> Result<BatchOutcome, StoreStageError> {
    match insert_with_retry(store, posts, stage, cancel).await {
        Ok(InsertOutcome::Durable) => return Ok(BatchOutcome::Durable { refused: 0 }),
        Ok(InsertOutcome::Cancelled) => return Ok(BatchOutcome::Cancelled),
        Err(error) => {
            tracing::warn!(stage, %error, posts = posts.len(), "batch refused; inserting one by one");
        }
    }
    let mut refused = 0;
    for (post, record) in posts.iter().zip(positions) {
        match insert_with_retry(store, std::slice::from_ref(post), stage, cancel).await {
            Ok(InsertOutcome::Durable) => {}
            Ok(InsertOutcome::Cancelled) => return Ok(BatchOutcome::Cancelled),
            Err(error) => {
                let rejection = Rejection {
                    kind: "clickhouse_refused".to_string(),
                    reason: format!("ClickHouse refused the post: {error}"),
                };
                dead_letters.push(reject(settings, record, &rejection));
                refused += 1;
            }
        }
    }
    Ok(BatchOutcome::Durable { refused })
}

/// Inserts, retrying transient ClickHouse errors; returns a fatal error as it is.
async fn insert_with_retry(
    store: &PostStore,
    posts: &[ScoredPost],
    stage: &str,
    cancel: &CancellationToken,
) -> Result<InsertOutcome, StoreError> {
    let inserted = retry_transient(stage, "insert", cancel, StoreError::is_retryable, || {
        store.insert_posts(posts)
    })
    .await?;
    Ok(match inserted {
        Some(()) => InsertOutcome::Durable,
        None => InsertOutcome::Cancelled,
    })
}
