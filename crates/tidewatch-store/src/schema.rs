//! The ClickHouse schema, as an ordered list of versioned migrations.
//!
//! Guarantees:
//! * every statement is idempotent on its own (`CREATE … IF NOT EXISTS`), so a migration that
//!   is interrupted, or run by two processes at once, can simply be run again;
//! * every statement runs on the local ClickHouse 18.16 and on current ClickHouse: no TTL,
//!   DateTime64, Map, LowCardinality, CODEC, skip indexes, JSON functions or window functions;
//! * versions only grow, and a released migration is never edited: a schema change is a new
//!   entry at the end of [`MIGRATIONS`].
//!
//! How the tables make counts exact under at-least-once delivery:
//! * `posts` is a `ReplacingMergeTree(version)` ordered by `(source, source_id)`, so merges keep
//!   one row per post, the one with the highest `version` (the ingest time in microseconds, so
//!   the latest delivery wins). Merges happen whenever ClickHouse likes, so queries never rely on
//!   them: they group by `(source, source_id)` and take `argMax(…, version)` (see `queries.rs`).
//! * `posts` is partitioned by `toYYYYMMDD(created_at)`: retention drops whole days.
//! * `post_deletes` holds one tombstone per deleted post, keyed by `(source, source_id)` and not
//!   partitioned by time, because a delete arrives later than the post (another day, another
//!   partition) and may even arrive before it. Queries exclude every key it holds, and retention
//!   never drops it, so a deleted post cannot come back when it is redelivered.
//! * `watch_posts` (migration 2) has one row per (watch, post), written by the sink with the
//!   post, ordered by `(watch, created_at, source, source_id)` and partitioned by day like
//!   `posts`: per-watch trends read one contiguous slice, and duplicates share the whole key;
//! * `trend_rollup` (migration 3) holds exact 5-minute pre-aggregates of both tables, one
//!   complete generation per bucket at a time; `rollup_marks` records when a bucket's posts last
//!   changed and `rollup_generations` when its rollup was last computed, so a query reads a
//!   bucket's rollup only when it was computed after the last change (see `rollup.rs`);
//! * `alert_events` are keyed by `(story_id, state, fired_at, posts)`, `alert_actions` by
//!   `action_id`, `collector_health` by `(name, checked_at)`: redelivery writes the same key.

/// Table names, shared by the migrations, the sink and the queries.
pub const POSTS_TABLE: &str = "posts";
pub const POST_DELETES_TABLE: &str = "post_deletes";
pub const SCHEMA_MIGRATIONS_TABLE: &str = "schema_migrations";
pub const WATCH_POSTS_TABLE: &str = "watch_posts";
pub const ALERT_EVENTS_TABLE: &str = "alert_events";
pub const ALERT_ACTIONS_TABLE: &str = "alert_actions";
pub const COLLECTOR_HEALTH_TABLE: &str = "collector_health";
pub const TREND_ROLLUP_TABLE: &str = "trend_rollup";
pub const ROLLUP_MARKS_TABLE: &str = "rollup_marks";
pub const ROLLUP_GENERATIONS_TABLE: &str = "rollup_generations";
pub const TREND_ROLLUP_TOTALS_TABLE: &str = "trend_rollup_totals";

/// One schema version: statements run in order, each idempotent.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

/// Records which migrations ran. Two migrators racing may both record a version; the engine
/// folds the duplicates and readers use `DISTINCT`, so that is harmless.
pub(crate) const CREATE_SCHEMA_MIGRATIONS: &str = "
CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime
)
ENGINE = ReplacingMergeTree
ORDER BY version";

/// Absent optional strings (author, lang, url, parent, detected language) are stored as `''`,
/// absent numbers that matter (followers, rating, sentiment) as NULL. `created_at` has second
/// precision; `watches` holds every watch the post matched.
const CREATE_POSTS: &str = "
CREATE TABLE IF NOT EXISTS posts (
    source String,
    source_id String,
    kind String,
    created_at DateTime,
    author_id String,
    author_handle String,
    author_followers Nullable(UInt64),
    text String,
    lang String,
    url String,
    parent_id String,
    likes UInt64,
    reposts UInt64,
    replies UInt64,
    rating Nullable(Float32),
    neg Nullable(Float64),
    neu Nullable(Float64),
    pos Nullable(Float64),
    compound Nullable(Float64),
    label String,
    lang_detected String,
    watches Array(String),
    ingested_at DateTime,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY (source, source_id)";

/// `deleted_at` is the delete event's own time, `version` its ingest time.
const CREATE_POST_DELETES: &str = "
CREATE TABLE IF NOT EXISTS post_deletes (
    source String,
    source_id String,
    deleted_at DateTime,
    ingested_at DateTime,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, source_id)";

/// One row per (watch, post) match: the narrow table trend queries read. Ordered by
/// `(watch, created_at)` so a watch's time range is one contiguous slice; duplicates of a
/// redelivered post share the whole sorting key, so queries fold them with `argMax(…, version)`
/// grouped by `(watch, source, source_id)`, and merges fold them too. `language` is the detected
/// language when there is one, else the declared one; `author` the author id, else the handle.
const CREATE_WATCH_POSTS: &str = "
CREATE TABLE IF NOT EXISTS watch_posts (
    watch String,
    created_at DateTime,
    source String,
    source_id String,
    author String,
    label String,
    compound Nullable(Float64),
    language String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(created_at)
ORDER BY (watch, created_at, source, source_id)";

/// Fills `watch_posts` from the posts stored before it existed. Running it twice (or from two
/// migrators) only writes duplicates, which every query folds, so it is idempotent in effect.
const BACKFILL_WATCH_POSTS: &str = "
INSERT INTO watch_posts (watch, created_at, source, source_id, author, label, compound, language, version)
SELECT watch, created_at, source, source_id,
       if(author_id != '', author_id, author_handle) AS author,
       label, compound,
       if(lang_detected != '', lang_detected, lang) AS language,
       version
FROM posts
ARRAY JOIN watches AS watch";

/// One row per alert event as the detector sent it; a redelivered event has the same sorting
/// key `(story_id, state, fired_at, posts)`, so merges and queries fold it.
const CREATE_ALERT_EVENTS: &str = "
CREATE TABLE IF NOT EXISTS alert_events (
    story_id String,
    state String,
    fired_at DateTime,
    posts UInt64,
    watch String,
    severity String,
    first_post_at DateTime,
    title String,
    terms Array(String),
    negative_share Float64,
    score Float64,
    baseline Float64,
    threshold Float64,
    post_ids Array(String),
    first_post_id String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(fired_at)
ORDER BY (story_id, state, fired_at, posts)";

/// One row per alert action (ack, resolve, snooze, unsnooze), keyed by its unique `action_id`.
/// `until` is 0 when the action has none.
const CREATE_ALERT_ACTIONS: &str = "
CREATE TABLE IF NOT EXISTS alert_actions (
    action_id String,
    story_id String,
    watch String,
    action String,
    actor String,
    at DateTime,
    until DateTime,
    note String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY action_id";

/// One row per collector health check; queries read the latest per name.
const CREATE_COLLECTOR_HEALTH: &str = "
CREATE TABLE IF NOT EXISTS collector_health (
    name String,
    kind String,
    status String,
    last_success_at DateTime,
    last_error String,
    posts_last_hour UInt64,
    checked_at DateTime
)
ENGINE = ReplacingMergeTree
ORDER BY (name, checked_at)";

/// Exact 5-minute pre-aggregates: `scope` 1 rows come from `watch_posts` (one per watch),
/// scope 0 rows from `posts` (a post counts once whatever its watches; `watch` is `''`). One row
/// per (bucket, source, language, label): counts, the sum of compound in units of 0.0001 (VADER
/// rounds compound to 4 places, so the sum is exact), posts without an author, and the set of
/// authors as a `uniqExact` state of their 64-bit `cityHash64`, so distinct authors add up
/// across buckets and groups (the raw path counts the same hashes, so both agree; two authors
/// whose hashes collide, odds about 1 in 10^7 at a million authors, count once in both).
/// Hashing to 64 bits makes merging states about 4× faster than `uniqExact(String)`.
/// Each recomputation of a bucket writes all its rows with a new, higher `generation`; queries
/// read only the generation `rollup_generations` names for the bucket. A plain `MergeTree`, so
/// merges never remove a recorded generation's rows (a replacing engine could fold them into a
/// newer generation still being computed); the worker deletes superseded generations.
const CREATE_TREND_ROLLUP: &str = "
CREATE TABLE IF NOT EXISTS trend_rollup (
    scope UInt8,
    watch String,
    bucket DateTime,
    source String,
    language String,
    label String,
    posts UInt64,
    scored UInt64,
    compound_units Int64,
    anonymous UInt64,
    authors AggregateFunction(uniqExact, UInt64),
    generation UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (scope, watch, bucket, source, language, label, generation)";

/// Finished numbers per 5-minute bucket for the unfiltered trends: for each scope, watch and
/// bucket, one row per value of each grouping (`group_kind` 1 watch, 2 source, 3 language,
/// 4 label; `value` is the group), with the label counts, sums and the exact number of distinct
/// authors. Computed by the worker from the same generation of `trend_rollup` rows, recorded with
/// them, read the same way (exactly the recorded generation).
const CREATE_TREND_ROLLUP_TOTALS: &str = "
CREATE TABLE IF NOT EXISTS trend_rollup_totals (
    scope UInt8,
    group_kind UInt8,
    watch String,
    bucket DateTime,
    value String,
    posts UInt64,
    negative UInt64,
    neutral UInt64,
    positive UInt64,
    scored UInt64,
    compound_units Int64,
    authors UInt64,
    generation UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(bucket)
ORDER BY (scope, group_kind, watch, bucket, value, generation)";

/// When the posts of a 5-minute bucket last changed (written by the sink after each insert and
/// for each delete, with the server's clock). Merges keep the latest mark per bucket.
const CREATE_ROLLUP_MARKS: &str = "
CREATE TABLE IF NOT EXISTS rollup_marks (
    bucket DateTime,
    marked_at DateTime
)
ENGINE = ReplacingMergeTree(marked_at)
PARTITION BY toYYYYMM(bucket)
ORDER BY bucket";

/// Each computation of a bucket's rollup: its generation and when (server clock, before the
/// computation read anything) it started. Every record is kept until the worker deletes the
/// superseded ones, so a bucket with more than one record has superseded rollup rows.
const CREATE_ROLLUP_GENERATIONS: &str = "
CREATE TABLE IF NOT EXISTS rollup_generations (
    bucket DateTime,
    generation UInt64,
    started_at DateTime
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY bucket";

/// Marks every bucket that already has posts, so the rollup worker computes them. Running it
/// twice only marks them again (later), which is harmless.
pub(crate) const BACKFILL_ROLLUP_MARKS: &str = "
INSERT INTO rollup_marks (bucket, marked_at)
SELECT DISTINCT toDateTime(intDiv(toUInt32(created_at), 300) * 300), now()
FROM posts";

/// Every migration, oldest first. Append only.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "posts and post deletes",
        statements: &[CREATE_POSTS, CREATE_POST_DELETES],
    },
    Migration {
        version: 2,
        name: "watch posts, alert events and actions, collector health",
        statements: &[
            CREATE_WATCH_POSTS,
            BACKFILL_WATCH_POSTS,
            CREATE_ALERT_EVENTS,
            CREATE_ALERT_ACTIONS,
            CREATE_COLLECTOR_HEALTH,
        ],
    },
    Migration {
        version: 3,
        name: "exact trend rollups",
        statements: &[
            CREATE_TREND_ROLLUP,
            CREATE_TREND_ROLLUP_TOTALS,
            CREATE_ROLLUP_MARKS,
            CREATE_ROLLUP_GENERATIONS,
            BACKFILL_ROLLUP_MARKS,
        ],
    },
];

/// The schema version this build expects after [`crate::PostStore::migrate`].
pub fn latest_schema_version() -> u32 {
    MIGRATIONS
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words that mark a construct the local 18.16 server does not have.
    const NOT_ON_CLICKHOUSE_18: &[&str] = &[
        "TTL",
        "DateTime64",
        "Map(",
        "LowCardinality",
        "CODEC",
        "INDEX",
        "JSONExtract",
        " OVER",
        "WITH FILL",
        "toStartOfInterval",
        "Object(",
        "Bool",
    ];

    #[test]
    fn versions_are_unique_and_increasing() {
        let versions: Vec<u32> = MIGRATIONS
            .iter()
            .map(|migration| migration.version)
            .collect();
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "{versions:?}"
        );
        assert_eq!(versions.first(), Some(&1));
        assert_eq!(latest_schema_version(), *versions.last().unwrap());
    }

    #[test]
    fn every_statement_is_idempotent_and_old_server_safe() {
        let all_statements = MIGRATIONS
            .iter()
            .flat_map(|migration| migration.statements.iter())
            .chain(std::iter::once(&CREATE_SCHEMA_MIGRATIONS));
        for statement in all_statements {
            let normalized = statement.split_whitespace().collect::<Vec<_>>().join(" ");
            let is_fold_safe_backfill = normalized.starts_with("INSERT INTO watch_posts ")
                || normalized.starts_with("INSERT INTO rollup_marks ");
            assert!(
                normalized.starts_with("CREATE TABLE IF NOT EXISTS ") || is_fold_safe_backfill,
                "not idempotent: {normalized}"
            );
            for construct in NOT_ON_CLICKHOUSE_18 {
                assert!(
                    !normalized.contains(construct),
                    "{construct} in {normalized}"
                );
            }
            assert!(
                !normalized.contains('?'),
                "would be taken as a bind placeholder"
            );
        }
    }
}
