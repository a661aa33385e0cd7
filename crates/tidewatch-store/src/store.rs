//! The connection to ClickHouse: [`PostStore`].
//!
//! Guarantees: a `PostStore` holds no connection state that can go stale (each call is one HTTP
//! request on a pooled client), so it can be cloned freely and shared across tasks, and it keeps
//! working across server restarts (calls fail with retryable errors while the server is down).
//! Every table statement runs in the configured database; only `ping`, `CREATE DATABASE` and
//! `DROP DATABASE` run outside it, so they work before the database exists. Validation of rows
//! against the server's schema is off (`with_validation(false)`), because ClickHouse 18.16 lacks
//! the `RowBinaryWithNamesAndTypes` format it needs; the tests check the row types against the
//! real tables instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clickhouse::sql::Identifier;
use clickhouse::Client;

use crate::config::StoreConfig;
use crate::error::StoreError;
use crate::queries::{DROP_DATABASE, PING, SERVER_VERSION};

/// Reads and writes tidewatch's tables in one ClickHouse database.
#[derive(Clone)]
pub struct PostStore {
    config: StoreConfig,
    /// No database selected: for `ping`, `CREATE DATABASE`, `DROP DATABASE`.
    server_client: Client,
    /// The configured database selected: for everything else.
    database_client: Client,
    /// The last row version handed out, shared by clones (see [`PostStore::next_row_version`]).
    last_row_version: Arc<AtomicU64>,
}

impl std::fmt::Debug for PostStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PostStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PostStore {
    /// Prepares the clients; does no IO (use [`PostStore::ping`] to check the server, and
    /// [`PostStore::migrate`] to create the schema). An invalid config (see
    /// [`StoreConfig::validate`]) surfaces as an error from the first call that uses it.
    pub fn connect(config: &StoreConfig) -> Self {
        // The TLS files were checked by `StoreConfig::validate` at start; should one have gone
        // since, the crate's plain client makes every call fail naming the https URL.
        let http_client = crate::transport::http_client(config).unwrap_or_else(|error| {
            tracing::error!(%error, "cannot set up the ClickHouse client");
            Client::default()
        });
        let mut server_client = http_client
            .with_url(config.url.as_str())
            .with_user(config.user.as_str())
            .with_validation(false);
        if let Some(password) = &config.password {
            server_client = server_client.with_password(password.as_str());
        }
        if config.cluster.is_some() {
            for (name, value) in crate::cluster::CLUSTER_CLIENT_SETTINGS {
                server_client = server_client.with_setting(*name, *value);
            }
        }
        let database_client = server_client
            .clone()
            .with_database(config.database.as_str());
        Self {
            config: config.clone(),
            server_client,
            database_client,
            last_row_version: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn database(&self) -> &str {
        &self.config.database
    }

    /// The cluster name in cluster mode (see `cluster.rs`), `None` on a single server.
    pub fn cluster(&self) -> Option<&str> {
        self.config.cluster.as_deref()
    }

    /// The client bound to the configured database, for queries this crate does not offer yet.
    /// Bind every value with `?` and `.bind()`: the old server has no `{name:Type}` parameters.
    pub fn client(&self) -> &Client {
        &self.database_client
    }

    pub(crate) fn server_client(&self) -> &Client {
        &self.server_client
    }

    /// Checks that the server answers a query with these credentials.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let answer: u8 = self
            .server_client
            .query(PING)
            .fetch_one()
            .await
            .map_err(StoreError::clickhouse("ping"))?;
        debug_assert_eq!(answer, 1);
        Ok(())
    }

    /// [`PostStore::ping`] at start: a TLS or scheme mismatch (a wrong CA, an `http://` URL
    /// against an HTTPS port, or the reverse) becomes a configuration error naming the setting
    /// (only at start: later, the same symptoms are more likely a restarting server).
    pub async fn check_connection(&self) -> Result<(), StoreError> {
        self.ping()
            .await
            .map_err(|error| crate::transport::explain_transport_error(&self.config, error))
    }

    /// The server's version string, e.g. `18.16.1` (for logs and the health endpoint).
    pub async fn server_version(&self) -> Result<String, StoreError> {
        self.server_client
            .query(SERVER_VERSION)
            .fetch_one()
            .await
            .map_err(StoreError::clickhouse("server version"))
    }

    /// Drops the whole database with every table in it. Tests use it to clean up.
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        self.config.validate()?;
        let statement = match self.cluster() {
            Some(cluster) => crate::cluster::on_cluster(DROP_DATABASE, cluster),
            None => DROP_DATABASE.to_string(),
        };
        self.server_client
            .query(&statement)
            .bind(Identifier(&self.config.database))
            .execute()
            .await
            .map_err(StoreError::clickhouse("drop database"))?;
        tracing::info!(database = %self.config.database, "dropped ClickHouse database");
        Ok(())
    }

    /// A row version for a batch being written now: the wall clock in microseconds, but always
    /// above the previous one handed out by this store, so that a later delivery of a post wins
    /// over an earlier one even when the clock stands still or steps back.
    pub(crate) fn next_row_version(&self) -> u64 {
        let clock_micros = unix_micros_now();
        let previous = self
            .last_row_version
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(clock_micros.max(last + 1))
            })
            .unwrap_or_else(|last| last);
        clock_micros.max(previous + 1)
    }
}

fn unix_micros_now() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_versions_strictly_increase_across_clones() {
        let store = PostStore::connect(&StoreConfig::default());
        let clone = store.clone();
        let mut previous = 0;
        for round in 0..1000 {
            let version = if round % 2 == 0 {
                store.next_row_version()
            } else {
                clone.next_row_version()
            };
            assert!(version > previous, "{version} after {previous}");
            previous = version;
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let config = StoreConfig {
            password: Some("s3cret".to_string()),
            ..StoreConfig::default()
        };
        let shown = format!("{:?}", PostStore::connect(&config));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
