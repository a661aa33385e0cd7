//! Running the schema migrations (`tidewatch migrate`).
//!
//! Guarantees: [`PostStore::migrate`] creates the database if needed, then brings the schema to
//! [`crate::latest_schema_version`], running each pending migration's statements in order and
//! recording the version in `schema_migrations` only after all of them succeeded. Running it
//! twice, or from several processes at once, is safe: every statement is idempotent, a version is
//! recorded only after its statements are in place, and the `TABLE_ALREADY_EXISTS` race that
//! ClickHouse reports when two `CREATE … IF NOT EXISTS` meet is retried until the other side has
//! finished. A database at a newer version than this build knows is left alone, with a warning.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use clickhouse::sql::Identifier;
use clickhouse::Row;
use serde::Serialize;

use crate::cluster::cluster_migration_statements;
use crate::error::StoreError;
use crate::queries::{CREATE_DATABASE, READ_SCHEMA_MIGRATIONS};
use crate::schema::{Migration, CREATE_SCHEMA_MIGRATIONS, MIGRATIONS, SCHEMA_MIGRATIONS_TABLE};
use crate::store::PostStore;

/// `Code: 57 TABLE_ALREADY_EXISTS` and `Code: 82 DATABASE_ALREADY_EXISTS`: what a concurrent
/// `CREATE … IF NOT EXISTS` may answer while another session is creating the same object.
const CONCURRENT_CREATE_ERROR_CODES: &[u32] = &[57, 82];
const CONCURRENT_CREATE_ATTEMPTS: u32 = 20;
const CONCURRENT_CREATE_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Row, Serialize)]
struct AppliedMigrationRow<'a> {
    version: u32,
    name: &'a str,
    applied_at: u32,
}

impl PostStore {
    /// Creates or upgrades the schema; see the module docs for what is guaranteed.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.config().validate()?;
        self.check_connection().await?;
        self.create_database_if_missing().await?;
        self.run_schema_statement(CREATE_SCHEMA_MIGRATIONS).await?;
        let applied_versions = self.applied_migrations().await?;
        let newest_applied = applied_versions.iter().copied().max().unwrap_or(0);
        let newest_known = crate::schema::latest_schema_version();
        if newest_applied > newest_known {
            tracing::warn!(
                database = %self.database(),
                newest_applied,
                newest_known,
                "the ClickHouse schema is newer than this build; leaving it as it is"
            );
            return Ok(());
        }
        for migration in MIGRATIONS {
            if applied_versions.contains(&migration.version) {
                continue;
            }
            self.apply_migration(migration).await?;
        }
        Ok(())
    }

    /// The versions recorded in `schema_migrations`, ascending, each once.
    pub async fn applied_migrations(&self) -> Result<Vec<u32>, StoreError> {
        let versions: Vec<u32> = self
            .client()
            .query(READ_SCHEMA_MIGRATIONS)
            .bind(Identifier(SCHEMA_MIGRATIONS_TABLE))
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("read schema_migrations"))?;
        Ok(versions
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect())
    }

    async fn create_database_if_missing(&self) -> Result<(), StoreError> {
        let statement = match self.cluster() {
            Some(cluster) => crate::cluster::on_cluster(CREATE_DATABASE, cluster),
            None => CREATE_DATABASE.to_string(),
        };
        for attempt in 1..=CONCURRENT_CREATE_ATTEMPTS {
            let outcome = self
                .server_client()
                .query(&statement)
                .bind(Identifier(self.database()))
                .execute()
                .await
                .map_err(StoreError::clickhouse("create database"));
            if !should_retry_concurrent_create(&outcome, attempt) {
                return outcome;
            }
            tokio::time::sleep(CONCURRENT_CREATE_BACKOFF).await;
        }
        unreachable!("the last attempt always returns")
    }

    /// A schema statement as written in `schema.rs` on one server; in cluster mode, the
    /// statements `cluster.rs` makes of it.
    async fn run_schema_statement(&self, statement: &str) -> Result<(), StoreError> {
        let Some(cluster) = self.cluster() else {
            return self.run_idempotent_statement(statement).await;
        };
        for clustered in cluster_migration_statements(statement, self.database(), cluster) {
            self.run_idempotent_statement(&clustered).await?;
        }
        Ok(())
    }

    async fn run_idempotent_statement(&self, statement: &str) -> Result<(), StoreError> {
        for attempt in 1..=CONCURRENT_CREATE_ATTEMPTS {
            let outcome = self
                .client()
                .query(statement)
                .execute()
                .await
                .map_err(StoreError::clickhouse("migration statement"));
            if !should_retry_concurrent_create(&outcome, attempt) {
                return outcome;
            }
            tokio::time::sleep(CONCURRENT_CREATE_BACKOFF).await;
        }
        unreachable!("the last attempt always returns")
    }

    async fn apply_migration(&self, migration: &Migration) -> Result<(), StoreError> {
        tracing::info!(
            database = %self.database(),
            version = migration.version,
            name = migration.name,
            "applying ClickHouse migration"
        );
        for statement in migration.statements {
            self.run_schema_statement(statement).await?;
        }
        self.record_migration(migration).await
    }

    async fn record_migration(&self, migration: &Migration) -> Result<(), StoreError> {
        let applied_at = u32::try_from(Utc::now().timestamp()).unwrap_or(u32::MAX);
        let mut insert = self
            .client()
            .insert::<AppliedMigrationRow<'_>>(SCHEMA_MIGRATIONS_TABLE)
            .await
            .map_err(StoreError::clickhouse("record migration"))?;
        insert
            .write(&AppliedMigrationRow {
                version: migration.version,
                name: migration.name,
                applied_at,
            })
            .await
            .map_err(StoreError::clickhouse("record migration"))?;
        insert
            .end()
            .await
            .map_err(StoreError::clickhouse("record migration"))
    }
}

/// True when `outcome` is the concurrent-create race and attempts are left.
fn should_retry_concurrent_create(outcome: &Result<(), StoreError>, attempt: u32) -> bool {
    let Err(error) = outcome else {
        return false;
    };
    let is_race = error
        .server_error_code()
        .is_some_and(|code| CONCURRENT_CREATE_ERROR_CODES.contains(&code));
    if !is_race || attempt >= CONCURRENT_CREATE_ATTEMPTS {
        return false;
    }
    tracing::debug!(attempt, %error, "concurrent schema change, retrying");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(message: &str) -> Result<(), StoreError> {
        Err(StoreError::ClickHouse {
            operation: "migration statement",
            source: clickhouse::error::Error::BadResponse(message.to_string()),
        })
    }

    #[test]
    fn retries_only_the_concurrent_create_race_and_only_while_attempts_remain() {
        let race = server_error(
            "Code: 57, e.displayText() = DB::Exception: Table tw.posts is creating or \
             attaching right now",
        );
        assert!(should_retry_concurrent_create(&race, 1));
        assert!(!should_retry_concurrent_create(
            &race,
            CONCURRENT_CREATE_ATTEMPTS
        ));
        let syntax = server_error("Code: 62, e.displayText() = DB::Exception: Syntax error");
        assert!(!should_retry_concurrent_create(&syntax, 1));
        assert!(!should_retry_concurrent_create(&Ok(()), 1));
    }
}
