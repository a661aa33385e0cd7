//! tidewatch storage on ClickHouse: schema and migrations, the idempotent post sink, and the
//! query layer.
//!
//! Guarantees, in short (each module says more):
//! * [`PostStore::migrate`] is versioned and idempotent, safe to run twice or concurrently, and
//!   uses only SQL that runs on ClickHouse 18.16 and on current ClickHouse;
//! * [`PostStore::insert_posts`] returns `Ok` only after ClickHouse acknowledged the batch, the
//!   point after which a Kafka offset may be stored;
//! * a post delivered twice or three times counts once in every query, before and after
//!   ClickHouse merges; a deleted post is in no result;
//! * errors say whether retrying can help ([`StoreError::is_retryable`]);
//! * the query layer (trends, share of voice, post search, stories, alerts, collector health)
//!   keeps these counts exact: trends read `watch_posts` / `posts` with `FINAL`, everything else
//!   folds deliveries with `argMax(…, version)`; filters and group-bys come from closed enums and
//!   bound values, and [`all_query_sql`] lists every statement so the tests run each one on
//!   18.16 and on current ClickHouse (chdb);
//! * alert events, alert actions and collector health are stored idempotently
//!   ([`PostStore::insert_alert_events`], [`PostStore::insert_alert_actions`],
//!   [`PostStore::insert_collector_health`]).
//!
//! All values in SQL are bound client-side (`?` and `.bind()`): 18.16 has no server-side
//! `{name:Type}` parameters.

mod alerts;
mod cluster;
mod config;
mod error;
mod filters;
mod maintenance;
mod migrate;
mod post_search;
mod probe;
mod queries;
mod query_catalog;
mod rollup;
mod rollup_queries;
mod schema;
mod sink;
pub mod stage;
mod store;
mod stories;
#[cfg(feature = "test-support")]
pub mod testing;
mod transport;
mod trends;

pub use alerts::{severity_name, state_name, CollectorHealthRow, CollectorStatus};
pub use clickhouse::error::Error as ClickHouseError;
pub use cluster::{cluster_migration_statements, LOCAL_TABLE_SUFFIX};
pub use config::{StoreConfig, DEFAULT_CLICKHOUSE_URL, DEFAULT_DATABASE, DEFAULT_USER};
pub use error::{Fault, StoreError};
pub use filters::{PostFilter, TimeRange, TrendGroupBy, TrendInterval};
pub use maintenance::{run_maintenance, MaintenanceSettings};
pub use post_search::{CursorError, PostCursor, PostPage, PostQuery, StoredPost, StoryPostQuery};
pub use queries::{all_query_sql, cluster_sql, migration_sql, StatementSql, NOT_DELETED_CONDITION};
pub use rollup::{RollupCoverage, RollupRefresh};
pub use schema::{
    latest_schema_version, Migration, ALERT_ACTIONS_TABLE, ALERT_EVENTS_TABLE,
    COLLECTOR_HEALTH_TABLE, MIGRATIONS, POSTS_TABLE, POST_DELETES_TABLE, ROLLUP_GENERATIONS_TABLE,
    ROLLUP_MARKS_TABLE, SCHEMA_MIGRATIONS_TABLE, TREND_ROLLUP_TABLE, TREND_ROLLUP_TOTALS_TABLE,
    WATCH_POSTS_TABLE,
};
pub use store::PostStore;
pub use stories::{alert_status, AlertStatus, AlertView, Story, StoryQuery, DETECTOR_ACTOR};
pub use trends::{rounded_share, TrendBucket, TrendQuery, WatchShare};
