//! Store maintenance, run beside the store stage: the trend rollup worker and retention.
//!
//! Guarantees: the worker computes changed 5-minute buckets (oldest first, a bounded number per
//! round, at once again while a backlog remains, otherwise every `rollup_interval_ms`), so
//! trends over settled time read the rollup; once an hour it deletes superseded rollup
//! generations, and retention drops whole daily partitions older than `retention_days`. Neither ever stops the stage: a failed round is logged and
//! counted and tried again next round (queries stay exact meanwhile, they read raw). Both stop
//! promptly when cancelled, between statements.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::store::PostStore;

/// Buckets one round computes at most: a day, so a round stays well under a minute.
const BUCKETS_PER_ROUND: usize = 288;
/// How often retention and the deletion of superseded rollup generations run.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(3_600);
/// Buckets whose superseded generations one housekeeping round deletes.
const SUPERSEDED_PER_ROUND: usize = 10_000;

/// What the maintenance loop does and how often; from `[clickhouse]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaintenanceSettings {
    /// `None`: no rollup worker.
    pub rollup_interval: Option<Duration>,
    pub rollup_settle_seconds: u32,
    pub retention_days: Option<u32>,
}

impl MaintenanceSettings {
    pub fn from_config(config: &crate::StoreConfig) -> Self {
        Self {
            rollup_interval: (config.rollup_interval_ms > 0)
                .then(|| Duration::from_millis(config.rollup_interval_ms)),
            rollup_settle_seconds: config.rollup_settle_seconds,
            retention_days: config.retention_days,
        }
    }

    fn is_idle(&self) -> bool {
        self.rollup_interval.is_none() && self.retention_days.is_none()
    }
}

/// Runs until `cancel`; see the module docs.
pub async fn run_maintenance(
    store: PostStore,
    settings: MaintenanceSettings,
    cancel: CancellationToken,
) {
    if settings.is_idle() {
        return;
    }
    let round_interval = settings.rollup_interval.unwrap_or(HOUSEKEEPING_INTERVAL);
    let mut next_housekeeping = tokio::time::Instant::now();
    loop {
        let mut backlog = false;
        if settings.rollup_interval.is_some() {
            backlog = refresh_rollups_once(&store, &settings).await;
        }
        if tokio::time::Instant::now() >= next_housekeeping {
            if settings.rollup_interval.is_some() {
                delete_superseded_rollups(&store).await;
            }
            if let Some(days) = settings.retention_days {
                apply_retention(&store, days).await;
            }
            next_housekeeping = tokio::time::Instant::now() + HOUSEKEEPING_INTERVAL;
        }
        let pause = if backlog {
            Duration::ZERO
        } else {
            round_interval
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// One rollup round; true when a backlog remains.
async fn refresh_rollups_once(store: &PostStore, settings: &MaintenanceSettings) -> bool {
    match store
        .refresh_rollups(settings.rollup_settle_seconds, BUCKETS_PER_ROUND)
        .await
    {
        Ok(refresh) => refresh.more_waiting,
        Err(error) => {
            metrics::counter!("tidewatch_store_maintenance_errors_total", "task" => "rollup")
                .increment(1);
            tracing::warn!(%error, retryable = error.is_retryable(), "trend rollup round failed");
            false
        }
    }
}

async fn delete_superseded_rollups(store: &PostStore) {
    match store.delete_superseded_rollups(SUPERSEDED_PER_ROUND).await {
        Ok(0) => {}
        Ok(buckets) => tracing::info!(buckets, "deleting superseded trend rollup generations"),
        Err(error) => {
            metrics::counter!("tidewatch_store_maintenance_errors_total", "task" => "rollup_cleanup")
                .increment(1);
            tracing::warn!(%error, "deleting superseded trend rollups failed");
        }
    }
}

async fn apply_retention(store: &PostStore, days: u32) {
    match store
        .drop_partitions_older_than(days, Utc::now().date_naive())
        .await
    {
        Ok(dropped) if !dropped.is_empty() => {
            tracing::info!(days, dropped = dropped.len(), "retention dropped old days");
        }
        Ok(_) => {}
        Err(error) => {
            metrics::counter!("tidewatch_store_maintenance_errors_total", "task" => "retention")
                .increment(1);
            tracing::warn!(%error, "retention round failed");
        }
    }
}
