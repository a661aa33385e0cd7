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
//! * errors say whether retrying can help ([`StoreError::is_retryable`]).
//!
//! All values in SQL are bound client-side (`?` and `.bind()`): 18.16 has no server-side
//! `{name:Type}` parameters.

mod config;
mod error;
mod migrate;
mod queries;
mod schema;
mod sink;
pub mod stage;
mod store;

pub use config::{StoreConfig, DEFAULT_CLICKHOUSE_URL, DEFAULT_DATABASE, DEFAULT_USER};
pub use error::StoreError;
pub use queries::{all_query_sql, migration_sql, StatementSql, NOT_DELETED_CONDITION};
pub use schema::{
    latest_schema_version, Migration, MIGRATIONS, POSTS_TABLE, POST_DELETES_TABLE,
    SCHEMA_MIGRATIONS_TABLE,
};
pub use store::PostStore;
