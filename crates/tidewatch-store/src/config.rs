//! The `[clickhouse]` section of `tidewatch.toml`.
//!
//! Guarantees: unknown keys are rejected (serde `deny_unknown_fields`, so the config loader can
//! name the offending key); every field has a default that works against the local services
//! (`http://127.0.0.1:8123`, database `tidewatch`, user `default`, no password); the password is
//! never printed by `Debug`; [`StoreConfig::validate`] accepts only database names that are plain
//! identifiers, so a name can never change the meaning of a statement it is spliced into, and
//! reads the TLS files of an `https://` URL, so a missing or unreadable one stops start-up with
//! the key in the message.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::StoreError;

/// Where the ClickHouse HTTP interface is, and which database tidewatch owns there.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// URL of the ClickHouse HTTP interface: `http://127.0.0.1:8123`, or `https://host:8443`
    /// for TLS (the system's CA roots unless `ca_file` is set).
    pub url: String,
    /// The database tidewatch creates and owns (every table lives in it).
    pub database: String,
    pub user: String,
    /// Normally set from the environment (`TIDEWATCH__CLICKHOUSE__PASSWORD`), not the file.
    pub password: Option<String>,
    /// `https://` only: PEM file of the CA(s) to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// `https://` only: client certificate (PEM), with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// `https://` only: the client certificate's private key (PEM, unencrypted).
    pub key_file: Option<PathBuf>,
    /// Keep posts this many days (whole daily partitions older than that are dropped by the
    /// store stage, hourly); absent keeps everything.
    pub retention_days: Option<u32>,
    /// How often the store stage computes the trend rollups of changed buckets, in
    /// milliseconds; 0 turns the rollup worker off (trends are then read raw, still exact).
    pub rollup_interval_ms: u64,
    /// A 5-minute bucket is rolled up only once it ended this many seconds ago (the filling
    /// present is read raw instead of being recomputed on every batch).
    pub rollup_settle_seconds: u32,
    /// Cluster mode: the name of a cluster in the servers' `remote_servers` (with `{shard}` and
    /// `{replica}` macros and ZooKeeper). Absent: one server. See `cluster.rs`.
    pub cluster: Option<String>,
}

pub const DEFAULT_CLICKHOUSE_URL: &str = "http://127.0.0.1:8123";
pub const DEFAULT_DATABASE: &str = "tidewatch";
pub const DEFAULT_USER: &str = "default";

/// Longest database name accepted; ClickHouse itself allows more, nobody needs it.
const MAX_DATABASE_NAME_LEN: usize = 128;

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_CLICKHOUSE_URL.to_string(),
            database: DEFAULT_DATABASE.to_string(),
            user: DEFAULT_USER.to_string(),
            password: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            retention_days: None,
            rollup_interval_ms: 10_000,
            rollup_settle_seconds: 60,
            cluster: None,
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let password_shown = self.password.as_ref().map(|_| "<redacted>");
        formatter
            .debug_struct("StoreConfig")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &password_shown)
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("retention_days", &self.retention_days)
            .field("rollup_interval_ms", &self.rollup_interval_ms)
            .field("rollup_settle_seconds", &self.rollup_settle_seconds)
            .field("cluster", &self.cluster)
            .finish()
    }
}

impl StoreConfig {
    /// The same server and credentials, another database (tests use one database each).
    pub fn with_database(&self, database: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            ..self.clone()
        }
    }

    /// Checks what can be checked without a server: an `http://` or `https://` URL (with
    /// readable TLS files for the latter), and a database name made of ASCII letters, digits
    /// and `_`, not starting with a digit.
    pub fn validate(&self) -> Result<(), StoreError> {
        let is_https = self.url.starts_with("https://");
        if !is_https && !self.url.starts_with("http://") {
            return Err(StoreError::InvalidConfig(format!(
                "clickhouse.url must start with http:// or https://, got {:?}",
                self.url
            )));
        }
        let tls_files = [
            ("clickhouse.ca_file", &self.ca_file),
            ("clickhouse.cert_file", &self.cert_file),
            ("clickhouse.key_file", &self.key_file),
        ];
        if let Some((key, _)) = tls_files.iter().find(|(_, value)| value.is_some()) {
            if !is_https {
                return Err(StoreError::InvalidConfig(format!(
                    "{key} is set but clickhouse.url {:?} is not https://",
                    self.url
                )));
            }
        }
        if is_https {
            crate::transport::tls_client_config(self)?;
        }
        if !is_plain_identifier(&self.database) {
            return Err(StoreError::InvalidConfig(format!(
                "clickhouse.database must be 1 to {MAX_DATABASE_NAME_LEN} ASCII letters, digits \
                 or '_', not starting with a digit; got {:?}",
                self.database
            )));
        }
        if self.retention_days == Some(0) {
            return Err(StoreError::InvalidConfig(
                "clickhouse.retention_days must be at least 1 (leave it out to keep everything)"
                    .to_string(),
            ));
        }
        if let Some(cluster) = &self.cluster {
            if !is_plain_identifier(cluster) {
                return Err(StoreError::InvalidConfig(format!(
                    "clickhouse.cluster must be a cluster name of ASCII letters, digits or '_', \
                     not starting with a digit; got {cluster:?}"
                )));
            }
        }
        if self.user.is_empty() {
            return Err(StoreError::InvalidConfig(
                "clickhouse.user must not be empty".to_string(),
            ));
        }
        Ok(())
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let Some(first) = name.chars().next() else {
        return false;
    };
    if name.len() > MAX_DATABASE_NAME_LEN || first.is_ascii_digit() {
        return false;
    }
    name.chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_gives_the_local_defaults() {
        let config: StoreConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, StoreConfig::default());
        assert_eq!(config.url, "http://127.0.0.1:8123");
        assert_eq!(config.database, "tidewatch");
        assert_eq!(config.user, "default");
        assert_eq!(config.password, None);
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let error = serde_json::from_str::<StoreConfig>(r#"{"url":"http://x:1","databse":"a"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("databse"), "{error}");
    }

    #[test]
    fn the_password_never_appears_in_debug_output() {
        let config = StoreConfig {
            password: Some("hunter2".to_string()),
            ..StoreConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn database_names_must_be_plain_identifiers() {
        for good in ["tidewatch", "tw_test_12_34", "_x", "A9"] {
            StoreConfig::default()
                .with_database(good)
                .validate()
                .unwrap();
        }
        let too_long = "a".repeat(MAX_DATABASE_NAME_LEN + 1);
        for bad in [
            "",
            "9lives",
            "a-b",
            "a.b",
            "a`b",
            "x; DROP DATABASE y",
            "é",
            &too_long,
        ] {
            let error = StoreConfig::default()
                .with_database(bad)
                .validate()
                .unwrap_err();
            assert!(!error.is_retryable());
        }
    }

    #[test]
    fn urls_need_an_http_or_https_scheme() {
        let config = StoreConfig {
            url: "127.0.0.1:8123".to_string(),
            ..StoreConfig::default()
        };
        assert!(config.validate().is_err());
        let https = StoreConfig {
            url: "https://clickhouse.example:8443".to_string(),
            ..StoreConfig::default()
        };
        https.validate().unwrap();
    }

    #[test]
    fn tls_files_are_checked_at_validation_naming_the_key() {
        let missing_ca = StoreConfig {
            url: "https://clickhouse.example:8443".to_string(),
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..StoreConfig::default()
        };
        let message = missing_ca.validate().unwrap_err().to_string();
        assert!(
            message.contains("clickhouse.ca_file") && message.contains("/nonexistent/ca.pem"),
            "{message}"
        );
        let ca_over_http = StoreConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..StoreConfig::default()
        };
        let message = ca_over_http.validate().unwrap_err().to_string();
        assert!(message.contains("not https://"), "{message}");
        let half_pair = StoreConfig {
            url: "https://clickhouse.example:8443".to_string(),
            cert_file: Some("/nonexistent/cert.pem".into()),
            ..StoreConfig::default()
        };
        let message = half_pair.validate().unwrap_err().to_string();
        assert!(message.contains("clickhouse.key_file"), "{message}");
    }
}
