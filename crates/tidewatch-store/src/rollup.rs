//! Exact trend rollups: 5-minute pre-aggregates that never disagree with the raw tables.
//!
//! Guarantees:
//! * a query reads a 5-minute bucket from `trend_rollup` only when the bucket is *clean*: its
//!   latest computation started (server clock, whole seconds) strictly after the bucket's last
//!   change mark; every other part of the range is read from the raw tables with `FINAL`, as
//!   before. So an answer is always what the raw tables say, whether or not the worker is
//!   running, behind, or has never run;
//! * why that is safe: the sink marks a bucket (`rollup_marks`, server `now()`) only after
//!   ClickHouse acknowledged the posts, and a computation takes its start time from the server
//!   before it reads; a start time strictly later (in seconds) than the mark therefore began
//!   after the posts were visible. A change that lands while a computation runs marks the
//!   bucket again at or after the computation's start, which keeps it dirty. Deletes mark the
//!   bucket of the deleted post the same way;
//! * each computation writes a complete generation of a bucket's rows (both scopes) before it
//!   records the generation, and queries read exactly the latest recorded generation's rows
//!   (`trend_rollup` is a plain `MergeTree`: nothing folds a recorded generation away, so no
//!   `FINAL` is needed), so a half-written, newer-in-progress or older generation is never
//!   counted. Several workers on one database are safe: each writes its own generation;
//! * superseded generations are deleted (mutations, at most once per round) only below the latest
//!   recorded generation of their bucket, so nothing a query can read is ever deleted;
//! * redelivery never changes a rollup: computations read the raw tables with `FINAL` and
//!   without deleted posts, exactly like the raw query;
//! * [`plan_range`] is pure: every second of a range is covered exactly once, by a clean rollup
//!   bucket or by one of at most `max_raw_spans` raw spans.

use std::collections::HashMap;

use clickhouse::Row;
use serde::Deserialize;

use crate::error::StoreError;
use crate::schema::BACKFILL_ROLLUP_MARKS;
use crate::store::PostStore;

/// Width of a rollup bucket, in seconds. Trends at 5 minutes or coarser read the rollup; 1-minute
/// trends read the raw tables.
pub(crate) const ROLLUP_SECONDS: u32 = 300;

/// Most raw spans one query reads; more are merged across their smallest gaps (the buckets in a
/// closed gap are then read raw), so the statement stays small and the index stays useful.
pub(crate) const MAX_RAW_SPANS: usize = 8;

/// Marks buckets as changed; binds the bucket starts (seconds).
pub(crate) const MARK_BUCKETS: &str = "
INSERT INTO rollup_marks (bucket, marked_at)
SELECT toDateTime(arrayJoin(?)), now()";

/// Marks the buckets of the deleted posts; binds their `(source, source_id)` keys. The lookup
/// is by the primary key of `posts`, so its cost follows the batch, not the table.
pub(crate) const MARK_DELETED_POST_BUCKETS: &str = "
INSERT INTO rollup_marks (bucket, marked_at)
SELECT DISTINCT toDateTime(intDiv(toUInt32(created_at), 300) * 300), now()
FROM posts
WHERE (source, source_id) IN (
    SELECT tupleElement(deleted, 1), tupleElement(deleted, 2)
    FROM (SELECT arrayJoin(?) AS deleted)
)";

/// The server's clock, the time base of marks and generations.
pub(crate) const SERVER_NOW: &str = "SELECT toUInt32(now())";

/// Buckets changed since their last computation whose end is at least the bound number of
/// seconds in the past (the still-filling present is left to the raw path), oldest first. A
/// bucket computed in the current second waits for the next one: a mark in the same second
/// keeps it dirty (whole-second clocks), and computing it again within that second could not
/// make it clean.
pub(crate) const DIRTY_BUCKETS: &str = "
SELECT toUInt32(bucket) AS dirty_bucket
FROM (
    SELECT bucket, marked_at AS marked, toDateTime(0) AS started FROM rollup_marks
    UNION ALL
    SELECT bucket, toDateTime(0) AS marked, started_at AS started FROM rollup_generations
)
GROUP BY bucket
HAVING max(marked) >= max(started) AND max(started) < now()
   AND toUInt32(bucket) + 300 + ? <= toUInt32(now())
ORDER BY dirty_bucket
LIMIT ?";

/// The clean buckets of a range and the generation to read for each.
pub(crate) const CLEAN_BUCKETS: &str = "
SELECT toUInt32(bucket) AS clean_bucket, max(generation) AS latest_generation
FROM (
    SELECT bucket, marked_at AS marked, toDateTime(0) AS started, toUInt64(0) AS generation
    FROM rollup_marks WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?)
    UNION ALL
    SELECT bucket, toDateTime(0) AS marked, started_at AS started, generation
    FROM rollup_generations WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?)
)
GROUP BY bucket
HAVING max(started) > max(marked)
ORDER BY clean_bucket";

/// Computes scope 1 (per watch) rows of the bound buckets. Binds: generation, range from, range
/// to, bucket starts.
pub(crate) const ROLLUP_WATCH_POSTS: &str = "
INSERT INTO trend_rollup (scope, watch, bucket, source, language, label, posts, scored,
    compound_units, anonymous, authors, generation)
SELECT toUInt8(1), watch, toDateTime(intDiv(toUInt32(created_at), 300) * 300) AS rollup_bucket,
       source, language, label, count(), toUInt64(countIf(isNotNull(compound))),
       sum(toInt64(round(ifNull(compound, 0.) * 10000))), toUInt64(countIf(author = '')),
       uniqExactState(cityHash64(author)), toUInt64(?)
FROM watch_posts FINAL
WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?)
  AND has(?, toUInt32(intDiv(toUInt32(created_at), 300) * 300))
  AND (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
GROUP BY watch, rollup_bucket, source, language, label";

/// Computes scope 0 (all posts, each once) rows of the bound buckets; binds as above.
pub(crate) const ROLLUP_POSTS: &str = "
INSERT INTO trend_rollup (scope, watch, bucket, source, language, label, posts, scored,
    compound_units, anonymous, authors, generation)
SELECT toUInt8(0), '', toDateTime(intDiv(toUInt32(created_at), 300) * 300) AS rollup_bucket,
       source, if(lang_detected != '', lang_detected, lang) AS post_language, label, count(),
       toUInt64(countIf(isNotNull(compound))),
       sum(toInt64(round(ifNull(compound, 0.) * 10000))),
       toUInt64(countIf(if(author_id != '', author_id, author_handle) = '')),
       uniqExactState(cityHash64(if(author_id != '', author_id, author_handle))), toUInt64(?)
FROM posts FINAL
WHERE created_at >= toDateTime(?) AND created_at < toDateTime(?)
  AND has(?, toUInt32(intDiv(toUInt32(created_at), 300) * 300))
  AND (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
GROUP BY rollup_bucket, source, post_language, label";

/// Finished per-grouping numbers of one generation, from its `trend_rollup` rows. Binds:
/// generation, range from, range to.
pub(crate) const ROLLUP_TOTALS: &str = "
INSERT INTO trend_rollup_totals (scope, group_kind, watch, bucket, value, posts, negative,
    neutral, positive, scored, compound_units, authors, generation)
SELECT scope, tupleElement(kind, 1) AS total_kind, watch, bucket,
       tupleElement(kind, 2) AS total_value, sum(posts), sumIf(posts, label = 'negative'),
       sumIf(posts, label = 'neutral'), sumIf(posts, label = 'positive'), sum(scored),
       sum(compound_units), toUInt64(uniqExactMerge(authors) - if(sum(anonymous) > 0, 1, 0)),
       generation
FROM trend_rollup
ARRAY JOIN [(toUInt8(1), watch), (toUInt8(2), source), (toUInt8(3), language),
            (toUInt8(4), label)] AS kind
WHERE generation = toUInt64(?) AND bucket >= toDateTime(?) AND bucket < toDateTime(?)
GROUP BY scope, total_kind, watch, bucket, total_value, generation";

/// Records a computation of the bound buckets. Binds: bucket starts, generation, start time.
pub(crate) const RECORD_GENERATIONS: &str = "
INSERT INTO rollup_generations (bucket, generation, started_at)
SELECT toDateTime(arrayJoin(?)), toUInt64(?), toDateTime(?)";

/// Buckets computed more than once, with their latest recorded generation.
pub(crate) const SUPERSEDED_BUCKETS: &str = "
SELECT toUInt32(bucket) AS superseded_bucket, max(generation) AS latest_generation
FROM rollup_generations
GROUP BY bucket
HAVING count() > 1
ORDER BY superseded_bucket
LIMIT ?";

/// Deletes rollup rows older than their bucket's latest recorded generation. Binds: buckets,
/// their latest generations.
pub(crate) const DELETE_SUPERSEDED_ROLLUPS: &str = "
ALTER TABLE trend_rollup DELETE
WHERE generation < transform(toUInt32(bucket), ?, ?, toUInt64(0))";

/// Deletes totals older than their bucket's latest recorded generation; binds as above.
pub(crate) const DELETE_SUPERSEDED_TOTALS: &str = "
ALTER TABLE trend_rollup_totals DELETE
WHERE generation < transform(toUInt32(bucket), ?, ?, toUInt64(0))";

/// Deletes the records of superseded generations; binds as above.
pub(crate) const DELETE_SUPERSEDED_GENERATIONS: &str = "
ALTER TABLE rollup_generations DELETE
WHERE generation < transform(toUInt32(bucket), ?, ?, toUInt64(0))";

/// The deletes of superseded generations, in order, with the operation their errors name.
pub(crate) const SUPERSEDED_DELETES: [(&str, &str); 3] = [
    (DELETE_SUPERSEDED_ROLLUPS, "delete superseded rollups"),
    (DELETE_SUPERSEDED_TOTALS, "delete superseded rollup totals"),
    (
        DELETE_SUPERSEDED_GENERATIONS,
        "delete superseded generations",
    ),
];

/// Retention of the rollup, by the same daily partitions as `posts`.
pub(crate) const DROP_ROLLUP_PARTITION: &str = "ALTER TABLE trend_rollup DROP PARTITION ?";
pub(crate) const DROP_ROLLUP_TOTALS_PARTITION: &str =
    "ALTER TABLE trend_rollup_totals DROP PARTITION ?";

/// Cluster mode: how far behind a replica may be and still be read by a rollup computation,
/// and how much earlier than its real start a computation is recorded (see `compute_rollup_buckets`).
const CLUSTER_REPLICA_LAG_ALLOWANCE_SECONDS: u32 = 5;

/// Buckets computed by one statement pair: six hours, so a week of backlog is 28 rounds.
const BUCKETS_PER_COMPUTATION: usize = 72;

/// How a range is read: clean buckets from the rollup, the rest from the raw tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RangePlan {
    /// Start of each 5-minute bucket read from the rollup, ascending.
    pub(crate) rollup_buckets: Vec<u32>,
    /// The generation to read for each of `rollup_buckets` (same order).
    pub(crate) generations: Vec<u64>,
    /// Half-open `[from, to)` spans of event time read from the raw tables, ascending, disjoint.
    pub(crate) raw_spans: Vec<(u32, u32)>,
}

/// Splits `[from, to)` into clean rollup buckets (whole buckets inside the range whose start is
/// in `clean`) and raw spans (everything else), with at most `max_raw_spans` raw spans.
pub(crate) fn plan_range(
    from: u32,
    to: u32,
    clean: &HashMap<u32, u64>,
    max_raw_spans: usize,
) -> RangePlan {
    let mut plan = RangePlan::default();
    if from >= to {
        return plan;
    }
    let first_whole = from.div_ceil(ROLLUP_SECONDS).saturating_mul(ROLLUP_SECONDS);
    let end_whole = to / ROLLUP_SECONDS * ROLLUP_SECONDS;
    if clean.is_empty() || first_whole >= end_whole {
        plan.raw_spans.push((from, to));
        return plan;
    }
    let mut raw_spans: Vec<(u32, u32)> = Vec::new();
    let mut push_raw = |start: u32, end: u32| match raw_spans.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => raw_spans.push((start, end)),
    };
    if from < first_whole {
        push_raw(from, first_whole);
    }
    let mut bucket = first_whole;
    while bucket < end_whole {
        if !clean.contains_key(&bucket) {
            push_raw(bucket, bucket + ROLLUP_SECONDS);
        }
        bucket += ROLLUP_SECONDS;
    }
    if end_whole < to {
        push_raw(end_whole, to);
    }
    plan.raw_spans = merge_smallest_gaps(raw_spans, max_raw_spans.max(1));
    let mut spans = plan.raw_spans.iter().peekable();
    let mut bucket = first_whole;
    while bucket < end_whole {
        while spans.next_if(|span| span.1 <= bucket).is_some() {}
        let in_raw_span = spans.peek().is_some_and(|span| span.0 <= bucket);
        if let (false, Some(generation)) = (in_raw_span, clean.get(&bucket)) {
            plan.rollup_buckets.push(bucket);
            plan.generations.push(*generation);
        }
        bucket += ROLLUP_SECONDS;
    }
    plan
}

/// Closes the smallest gaps between consecutive spans until at most `max_spans` remain.
fn merge_smallest_gaps(spans: Vec<(u32, u32)>, max_spans: usize) -> Vec<(u32, u32)> {
    if spans.len() <= max_spans {
        return spans;
    }
    let mut gaps: Vec<(u32, usize)> = spans
        .windows(2)
        .enumerate()
        .map(|(index, pair)| (pair[1].0 - pair[0].1, index))
        .collect();
    gaps.sort_unstable();
    let mut closed = vec![false; spans.len()];
    for (_, index) in gaps.iter().take(spans.len() - max_spans) {
        closed[*index] = true;
    }
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(max_spans);
    let mut extend_previous = false;
    for (index, span) in spans.iter().enumerate() {
        match merged.last_mut() {
            Some(last) if extend_previous => last.1 = span.1,
            _ => merged.push(*span),
        }
        extend_previous = closed[index];
    }
    merged
}

#[derive(Debug, Row, Deserialize)]
struct CleanBucketRow {
    bucket: u32,
    generation: u64,
}

/// What one [`PostStore::refresh_rollups`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupRefresh {
    /// Buckets computed (both scopes).
    pub buckets: usize,
    /// True when more dirty buckets were waiting than one call computes.
    pub more_waiting: bool,
}

/// How a trend over a range would be read right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupCoverage {
    /// Whole 5-minute buckets read from the rollup.
    pub rollup_buckets: usize,
    /// Spans read from the raw tables.
    pub raw_spans: usize,
    /// Seconds of the range read from the raw tables.
    pub raw_seconds: u64,
}

impl PostStore {
    /// How a trend over `range` (at 5 minutes or coarser) would be read now: for operators
    /// (is the worker keeping up?) and for tests.
    pub async fn rollup_coverage(
        &self,
        range: &crate::TimeRange,
    ) -> Result<RollupCoverage, StoreError> {
        let (from, to) = range.as_clickhouse_seconds();
        let plan = self.plan_rollup_range(from, to).await?;
        Ok(RollupCoverage {
            rollup_buckets: plan.rollup_buckets.len(),
            raw_spans: plan.raw_spans.len(),
            raw_seconds: plan
                .raw_spans
                .iter()
                .map(|(start, end)| u64::from(end - start))
                .sum(),
        })
    }

    /// Marks the 5-minute buckets of these post times as changed; call after the posts are
    /// acknowledged (see the module docs for why after).
    pub(crate) async fn mark_rollup_buckets(
        &self,
        mut buckets: Vec<u32>,
    ) -> Result<(), StoreError> {
        if buckets.is_empty() {
            return Ok(());
        }
        buckets.sort_unstable();
        buckets.dedup();
        self.client()
            .query(MARK_BUCKETS)
            .bind(buckets)
            .execute()
            .await
            .map_err(StoreError::clickhouse("mark rollup buckets"))
    }

    /// Marks the buckets of the deleted posts `keys` (`(source, source_id)`), wherever they are.
    pub(crate) async fn mark_deleted_post_buckets(
        &self,
        keys: Vec<(&str, &str)>,
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.client()
            .query(MARK_DELETED_POST_BUCKETS)
            .bind(keys)
            .execute()
            .await
            .map_err(StoreError::clickhouse("mark deleted post buckets"))
    }

    /// Computes up to `max_buckets` dirty buckets whose end is `settle_seconds` or more in the
    /// past, oldest first. Safe to run from several processes at once (each computation is a
    /// complete generation; the latest recorded one is read).
    pub async fn refresh_rollups(
        &self,
        settle_seconds: u32,
        max_buckets: usize,
    ) -> Result<RollupRefresh, StoreError> {
        let limit = max_buckets.max(1) as u64;
        let dirty: Vec<u32> = self
            .client()
            .query(DIRTY_BUCKETS)
            .bind(settle_seconds)
            .bind(limit + 1)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("find dirty rollup buckets"))?;
        let more_waiting = dirty.len() as u64 > limit;
        // How far behind the worker is (at most `max_buckets + 1`: "more than a round").
        metrics::gauge!("tidewatch_store_rollup_dirty_buckets").set(dirty.len() as f64);
        let dirty = &dirty[..dirty.len().min(max_buckets.max(1))];
        for chunk in dirty.chunks(BUCKETS_PER_COMPUTATION) {
            self.compute_rollup_buckets(chunk).await?;
        }
        if !dirty.is_empty() {
            metrics::counter!("tidewatch_store_rollup_buckets_total").increment(dirty.len() as u64);
            tracing::debug!(
                buckets = dirty.len(),
                more_waiting,
                "computed trend rollups"
            );
        }
        Ok(RollupRefresh {
            buckets: dirty.len(),
            more_waiting,
        })
    }

    /// One generation of `buckets` (ascending): both scopes, their totals, then the record.
    async fn compute_rollup_buckets(&self, buckets: &[u32]) -> Result<(), StoreError> {
        let (Some(&first), Some(&last)) = (buckets.first(), buckets.last()) else {
            return Ok(());
        };
        // Why the server clock, read before anything else: a bucket counts as clean only when
        // this start is later than its last mark, which the server stamped too.
        let server_now: u32 = self
            .client()
            .query(SERVER_NOW)
            .fetch_one()
            .await
            .map_err(StoreError::clickhouse("read server clock"))?;
        // In cluster mode a replica may not have a part yet that another acknowledged: the
        // computation reads only replicas less than the allowance behind, and records itself as
        // started that much earlier, so a change marked within the allowance keeps the bucket
        // dirty until a later round.
        let started_at = match self.cluster() {
            Some(_) => server_now.saturating_sub(CLUSTER_REPLICA_LAG_ALLOWANCE_SECONDS),
            None => server_now,
        };
        let generation = self
            .next_row_version()
            .max(u64::from(started_at) * 1_000_000);
        let range_end = last.saturating_add(ROLLUP_SECONDS);
        for (statement, operation) in [
            (ROLLUP_WATCH_POSTS, "compute watch rollup"),
            (ROLLUP_POSTS, "compute posts rollup"),
        ] {
            self.rollup_client()
                .with_setting("max_execution_time", "600")
                .query(statement)
                .bind(generation)
                .bind(first)
                .bind(range_end)
                .bind(buckets)
                .execute()
                .await
                .map_err(StoreError::clickhouse(operation))?;
        }
        self.rollup_client()
            .query(ROLLUP_TOTALS)
            .bind(generation)
            .bind(first)
            .bind(range_end)
            .execute()
            .await
            .map_err(StoreError::clickhouse("compute rollup totals"))?;
        self.client()
            .query(RECORD_GENERATIONS)
            .bind(buckets)
            .bind(generation)
            .bind(started_at)
            .execute()
            .await
            .map_err(StoreError::clickhouse("record rollup generation"))
    }

    /// The client a rollup computation reads with: in cluster mode it refuses replicas more
    /// than the allowance behind (no fallback to stale ones: the round fails and is retried).
    fn rollup_client(&self) -> clickhouse::Client {
        let client = self.client().clone();
        if self.cluster().is_none() {
            return client;
        }
        client
            .with_setting(
                "max_replica_delay_for_distributed_queries",
                CLUSTER_REPLICA_LAG_ALLOWANCE_SECONDS.to_string(),
            )
            .with_setting("fallback_to_stale_replicas_for_distributed_queries", "0")
    }

    /// Marks every bucket that has posts as changed, so the worker computes the whole rollup
    /// again (after a fix to the rollup statements, or to check it); queries read raw meanwhile.
    pub async fn mark_every_rollup_bucket(&self) -> Result<(), StoreError> {
        self.client()
            .query(BACKFILL_ROLLUP_MARKS)
            .execute()
            .await
            .map_err(StoreError::clickhouse("mark every rollup bucket"))
    }

    /// Deletes the rows of superseded generations (buckets computed again since), up to
    /// `max_buckets` buckets; returns how many buckets had some. The deletes are mutations that
    /// ClickHouse applies in the background.
    pub async fn delete_superseded_rollups(&self, max_buckets: usize) -> Result<usize, StoreError> {
        let rows: Vec<CleanBucketRow> = self
            .client()
            .query(SUPERSEDED_BUCKETS)
            .bind(max_buckets.max(1) as u64)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("find superseded rollups"))?;
        if rows.is_empty() {
            return Ok(0);
        }
        let buckets: Vec<u32> = rows.iter().map(|row| row.bucket).collect();
        let generations: Vec<u64> = rows.iter().map(|row| row.generation).collect();
        for (statement, operation) in SUPERSEDED_DELETES {
            self.client()
                .query(&self.per_shard_statement(statement))
                .bind(&buckets)
                .bind(&generations)
                .execute()
                .await
                .map_err(StoreError::clickhouse(operation))?;
        }
        Ok(rows.len())
    }

    /// How `[from, to)` (seconds) is read: which buckets are clean, which spans are raw.
    pub(crate) async fn plan_rollup_range(
        &self,
        from: u32,
        to: u32,
    ) -> Result<RangePlan, StoreError> {
        let first_whole = from.div_ceil(ROLLUP_SECONDS).saturating_mul(ROLLUP_SECONDS);
        let end_whole = to / ROLLUP_SECONDS * ROLLUP_SECONDS;
        if first_whole >= end_whole {
            return Ok(plan_range(from, to, &HashMap::new(), MAX_RAW_SPANS));
        }
        let rows: Vec<CleanBucketRow> = self
            .client()
            .query(CLEAN_BUCKETS)
            .bind(first_whole)
            .bind(end_whole)
            .bind(first_whole)
            .bind(end_whole)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("plan rollup range"))?;
        let clean: HashMap<u32, u64> = rows
            .into_iter()
            .map(|row| (row.bucket, row.generation))
            .collect();
        Ok(plan_range(from, to, &clean, MAX_RAW_SPANS))
    }
}

#[cfg(test)]
mod tests;
