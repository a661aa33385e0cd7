//! The store stage: `posts.scored` → ClickHouse `posts`, on the one stage driver
//! (`tidewatch_bus::driver`).
//!
//! Guarantees: a batch's offsets are stored only after ClickHouse acknowledged its insert (and
//! its dead letters were produced), in input order, while the next batches are parsed; a
//! failing ClickHouse — down, refusing the password, missing its table, read-only, out of
//! memory, too many parts (see [`StoreError::fault`]) — is retried with back-off for as long as
//! it lasts, marks the stage unhealthy, commits nothing and dead-letters nothing. Only a post
//! ClickHouse refuses on its own account (a value its column cannot hold) is dead-lettered, and
//! only when the rest of the batch is stored; a batch in which every post is refused is a
//! dependency failure. A record that cannot be parsed is dead-lettered and the stage goes on.
//! The store maintenance (trend rollups, retention; see `maintenance.rs`) runs beside the stage
//! and stops when it stops. Redelivered posts are collapsed by the table (see `schema`), so
//! at-least-once delivery never counts a post twice.

use std::sync::Arc;

use tidewatch_bus::driver::{
    run_stage, Delivered, Deliverer, DeliveryError, IndexedRejection, Processed, Processor,
    StageControl, StageError,
};
use tidewatch_bus::transform::{Rejection, StageSettings, StageTotals};
use tidewatch_bus::{BusConsumer, BusProducer, Record};
use tidewatch_model::ScoredPost;

use crate::{Fault, PostStore, StoreError};

/// Parses a batch of `posts.scored` records (on the blocking pool).
struct ParseScored;

/// A parsed batch: the posts, each with its index in the batch.
struct ScoredBatch {
    posts: Vec<Arc<ScoredPost>>,
    indices: Vec<usize>,
}

impl Processor for ParseScored {
    type Work = ScoredBatch;

    fn process(&mut self, batch: &[Record]) -> Result<Processed<ScoredBatch>, String> {
        let mut work = ScoredBatch {
            posts: Vec::with_capacity(batch.len()),
            indices: Vec::with_capacity(batch.len()),
        };
        let mut rejected = Vec::new();
        for (index, record) in batch.iter().enumerate() {
            // Typed on the in-process bus; JSON from Kafka, parsed once here.
            let parsed = match record.value::<ScoredPost>() {
                Some(post) => Ok(post),
                None => ScoredPost::from_json_bytes(&record.payload).map(Arc::new),
            };
            match parsed {
                Ok(post) => {
                    work.posts.push(post);
                    work.indices.push(index);
                }
                Err(error) => rejected.push((
                    index,
                    Rejection {
                        kind: error.kind().to_string(),
                        reason: error.to_string(),
                    },
                )),
            }
        }
        Ok(Processed { work, rejected })
    }
}

/// Inserts parsed batches into ClickHouse.
struct InsertPosts {
    store: PostStore,
}

impl Deliverer for InsertPosts {
    type Work = ScoredBatch;

    async fn deliver(&self, work: &ScoredBatch) -> Result<Delivered, DeliveryError> {
        let error = match self.store.insert_shared_posts(&work.posts).await {
            Ok(()) => {
                return Ok(Delivered {
                    sent: work.posts.len() as u64,
                    refused: Vec::new(),
                })
            }
            Err(error) => error,
        };
        if error.fault() != Fault::Record {
            return Err(as_delivery_error(error));
        }
        tracing::warn!(%error, posts = work.posts.len(), "batch refused; inserting one by one");
        // One by one, so that only the posts ClickHouse refuses are dead-lettered.
        let mut delivered = Delivered::default();
        for (post, index) in work.posts.iter().zip(&work.indices) {
            match self
                .store
                .insert_shared_posts(std::slice::from_ref(post))
                .await
            {
                Ok(()) => delivered.sent += 1,
                Err(error) if error.fault() == Fault::Record => {
                    delivered.refused.push(refusal(*index, &error));
                }
                Err(error) => return Err(as_delivery_error(error)),
            }
        }
        Ok(delivered)
    }
}

/// A post ClickHouse refused on its own account.
pub fn refusal(index: usize, error: &StoreError) -> IndexedRejection {
    let rejection = Rejection {
        kind: "clickhouse_refused".to_string(),
        reason: format!("ClickHouse refused the record: {error}"),
    };
    (index, rejection)
}

/// A store error that is not about a record, as the driver's error: the dependency's fault (retried)
/// or a configuration that cannot work (the stage stops).
pub fn as_delivery_error(error: StoreError) -> DeliveryError {
    match error.fault() {
        Fault::Config => DeliveryError::Fatal(error.to_string()),
        Fault::Record | Fault::Dependency => DeliveryError::Dependency(error.to_string()),
    }
}

/// Runs the store stage until `control.stop` (or its upstream finished and its input drained).
pub async fn run_store_stage(
    consumer: BusConsumer,
    producer: BusProducer,
    store: PostStore,
    settings: StageSettings,
    control: StageControl,
) -> Result<StageTotals, StageError> {
    tracing::info!(stage = %settings.stage, database = store.database(), "store stage starting");
    // Rollups and retention run beside the stage and stop with it, however it ends.
    let maintenance_cancel = control.abort.child_token();
    let _stop_maintenance = maintenance_cancel.clone().drop_guard();
    let maintenance = tokio::spawn(crate::run_maintenance(
        store.clone(),
        crate::MaintenanceSettings::from_config(store.config()),
        maintenance_cancel.clone(),
    ));
    let stage = settings.stage.clone();
    let result = run_stage(
        consumer,
        producer,
        ParseScored,
        InsertPosts { store },
        settings,
        control,
    )
    .await;
    maintenance_cancel.cancel();
    if let Err(error) = maintenance.await {
        tracing::warn!(stage, %error, "store maintenance task failed");
    }
    result
}
