//! The readiness probe: can this process write to its ClickHouse database right now?
//!
//! Guarantees: [`PostStore::probe_writable`] returns `Ok` only after ClickHouse accepted a real
//! insert into the configured database, so a wrong password, a read-only user, a missing
//! database, a full disk or a server that is down all show as an error naming the cause. The
//! probe table holds one row per probe name once merged (a `ReplacingMergeTree` keyed by it), so
//! probing every few seconds for years stays a handful of rows.

use crate::{PostStore, StoreError};

/// Why not a migration: the probe must work (and fail usefully) before and independently of
/// the schema version, and it is the probe's own bookkeeping, not data anyone queries.
const CREATE_PROBE_TABLE: &str = "
CREATE TABLE IF NOT EXISTS readiness_probe (probe String, written_at DateTime)
ENGINE = ReplacingMergeTree(written_at) ORDER BY probe";

const WRITE_PROBE_ROW: &str = "INSERT INTO readiness_probe (probe, written_at) SELECT ?, now()";

impl PostStore {
    /// Writes one row under `probe` (e.g. the stage's name) into the configured database.
    pub async fn probe_writable(&self, probe: &str) -> Result<(), StoreError> {
        self.client()
            .query(CREATE_PROBE_TABLE)
            .execute()
            .await
            .map_err(StoreError::clickhouse("create the readiness probe table"))?;
        self.client()
            .query(WRITE_PROBE_ROW)
            .bind(probe)
            .execute()
            .await
            .map_err(StoreError::clickhouse("write the readiness probe row"))?;
        Ok(())
    }
}
