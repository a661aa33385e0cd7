//! Configuration: one TOML file plus `TIDEWATCH__SECTION__KEY` environment overrides.
//!
//! Guarantees: an unknown key anywhere is an error naming its path (once); secrets (the
//! ClickHouse password, the Kafka SASL password and key passphrase) are refused in the file and
//! only read from the environment, verbatim: never parsed as a number or unquoted (`0042` stays
//! `0042`), never echoed in an error or `Debug` output; watches are compiled and checked at load
//! time, so a bad watch stops start-up with its name in the message; the `[kafka]` security
//! settings, its pass-through librdkafka properties and the `[clickhouse]` TLS files are checked
//! before anything connects; two API tokens with the same hash are an error.

use std::path::Path;

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;
use tidewatch_alert::{AlertSettings, NotifyConfig, ReceiverConfig, RouteConfig, SilenceConfig};
use tidewatch_api::ApiConfig;

use crate::commands::collect::SourceEntry;
use tidewatch_bus::KafkaConfig;
use tidewatch_detect::DetectorConfig;
use tidewatch_model::Topics;
use tidewatch_score::{WatchConfig, WatchMatcher};
use tidewatch_store::StoreConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// Absent: `tidewatch run` uses the in-process bus.
    #[serde(default)]
    pub(crate) kafka: Option<KafkaConfig>,
    #[serde(default)]
    pub(crate) clickhouse: StoreConfig,
    #[serde(default)]
    pub(crate) api: ApiConfig,
    #[serde(default)]
    pub(crate) pipeline: PipelineConfig,
    /// Story detection (see `tidewatch_detect::DetectorConfig` for every key and default).
    #[serde(default)]
    pub(crate) detect: DetectorConfig,
    #[serde(default, rename = "watch")]
    pub(crate) watches: Vec<WatchConfig>,
    /// The notify stage: `[alert]`, `[[receiver]]`, `[[route]]`, `[[silence]]` (see
    /// `tidewatch_alert::NotifyConfig` for every key).
    #[serde(default)]
    pub(crate) alert: AlertSettings,
    #[serde(default)]
    pub(crate) receiver: Vec<ReceiverConfig>,
    #[serde(default)]
    pub(crate) route: Vec<RouteConfig>,
    #[serde(default)]
    pub(crate) silence: Vec<SilenceConfig>,
    /// `[[source]]`: collectors (see tidewatch-collect's README) and simulators.
    #[serde(default, rename = "source")]
    pub(crate) sources: Vec<SourceEntry>,
}

/// The `[pipeline]` section: batching and in-process buffering.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PipelineConfig {
    /// Most records a stage takes at once.
    #[serde(default = "default_batch_size")]
    pub(crate) batch_size: usize,
    /// Longest a stage waits to fill a batch, in milliseconds.
    #[serde(default = "default_batch_wait_ms")]
    pub(crate) batch_wait_ms: u64,
    /// Capacity of each in-process topic (records).
    #[serde(default = "default_channel_capacity")]
    pub(crate) channel_capacity: usize,
    /// How many recent watched posts the score stage remembers so that replies and reposts
    /// inherit their parent's watches (0 turns it off).
    #[serde(default = "default_parent_memory")]
    pub(crate) parent_memory: usize,
    /// Where stages keep local state: the detect stage's snapshots. Shared storage when
    /// several detect processes split the partitions between machines.
    #[serde(default = "default_state_dir")]
    pub(crate) state_dir: std::path::PathBuf,
    /// How often the detect stage snapshots its state and stores its offsets, in milliseconds.
    #[serde(default = "default_snapshot_interval_ms")]
    pub(crate) snapshot_interval_ms: u64,
}

fn default_batch_size() -> usize {
    5_000
}
fn default_batch_wait_ms() -> u64 {
    200
}
fn default_channel_capacity() -> usize {
    20_000
}
fn default_state_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(".tidewatch/state")
}
fn default_snapshot_interval_ms() -> u64 {
    5_000
}
fn default_parent_memory() -> usize {
    tidewatch_score::DEFAULT_PARENT_MEMORY
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch_size: default_batch_size(),
            batch_wait_ms: default_batch_wait_ms(),
            channel_capacity: default_channel_capacity(),
            parent_memory: default_parent_memory(),
            state_dir: default_state_dir(),
            snapshot_interval_ms: default_snapshot_interval_ms(),
        }
    }
}

/// The prefix of every environment override: `TIDEWATCH__SECTION__KEY`.
const ENV_PREFIX: &str = "TIDEWATCH__";

/// Settings that are text whatever they look like: taken from the environment verbatim rather
/// than parsed (figment's parser turns `0042` into 42, unquotes `"x"`, and refuses `98765432`
/// for a string key with the value in the message).
const VERBATIM_KEYS: &[&str] = &[
    "clickhouse.password",
    "clickhouse.user",
    "kafka.sasl_username",
    "kafka.sasl_password",
    "kafka.key_password",
];

/// Of the verbatim keys, the secrets: environment only, refused in the file.
const SECRET_KEYS: &[&str] = &[
    "clickhouse.password",
    "kafka.sasl_password",
    "kafka.key_password",
];

/// `TIDEWATCH__CLICKHOUSE__PASSWORD` for `clickhouse.password`.
fn environment_variable_of(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// Merges the environment: every `TIDEWATCH__…` variable, the verbatim keys as plain strings.
fn merge_environment(mut figment: Figment) -> anyhow::Result<Figment> {
    let parsed = Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
        !VERBATIM_KEYS
            .iter()
            .any(|verbatim| key.as_str().eq_ignore_ascii_case(verbatim))
    });
    figment = figment.merge(parsed);
    for (key, value) in verbatim_values(std::env::vars_os())? {
        figment = figment.merge((key, value));
    }
    Ok(figment)
}

/// The verbatim keys set in `variables` (the environment), as plain strings.
fn verbatim_values(
    variables: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut values = Vec::new();
    for (name, value) in variables {
        let Some(name) = name.to_str() else {
            continue;
        };
        let Some(key) = VERBATIM_KEYS
            .iter()
            .find(|key| name.eq_ignore_ascii_case(&environment_variable_of(key)))
        else {
            continue;
        };
        // The value is never put in the message: it may be a secret.
        let Some(value) = value.to_str() else {
            bail!("{name} is not valid UTF-8");
        };
        values.push((*key, value.to_string()));
    }
    Ok(values)
}

impl Config {
    /// Parses a whole configuration from TOML text plus the environment (used by `demo`).
    pub(crate) fn from_toml(text: &str) -> anyhow::Result<Config> {
        let figment = merge_environment(Figment::new().merge(Toml::string(text)))?;
        Self::extract(figment)
    }

    fn extract(figment: Figment) -> anyhow::Result<Config> {
        let config: Config = figment.extract().map_err(|error| {
            let messages: Vec<String> = error.into_iter().map(describe_figment_error).collect();
            anyhow::anyhow!("invalid configuration: {}", messages.join("; "))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Loads the file (if given) and the environment.
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            refuse_secrets_in_file(&text, path)?;
            figment = figment.merge(Toml::string(&text));
        }
        Self::extract(merge_environment(figment)?)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(kafka) = &self.kafka {
            kafka.validate().context("invalid [kafka] section")?;
        }
        self.clickhouse
            .validate()
            .context("invalid [clickhouse] section")?;
        if self.pipeline.batch_size == 0 {
            bail!("pipeline.batch_size must be at least 1");
        }
        self.watch_matcher()?;
        self.notify_config().validate()?;
        self.api.validate()?;
        refuse_shared_token_hashes(&self.api)?;
        tidewatch_collect::validate_sources(&self.collector_sources())
            .context("invalid [[source]]")?;
        Ok(())
    }

    /// The `[[source]]` entries that are collectors (the demo's simulators left out).
    pub(crate) fn collector_sources(&self) -> Vec<tidewatch_collect::SourceConfig> {
        self.sources
            .iter()
            .filter_map(|entry| match entry {
                SourceEntry::Collector(source) => Some(source.clone()),
                SourceEntry::Simulate(_) => None,
            })
            .collect()
    }

    /// The notify stage's sections. Its state file defaults to `alert.json` in the state
    /// directory of this pipeline (beside the detect snapshots) unless `alert.state_path` is set.
    pub(crate) fn notify_config(&self) -> NotifyConfig {
        let mut alert = self.alert.clone();
        if alert.state_path == AlertSettings::default().state_path {
            alert.state_path = self
                .pipeline_state_dir()
                .join("alert.json")
                .display()
                .to_string();
        }
        NotifyConfig {
            alert,
            receiver: self.receiver.clone(),
            route: self.route.clone(),
            silence: self.silence.clone(),
        }
    }

    /// The state directory of this pipeline: per consumer group with Kafka (the state matches
    /// that group's offsets), `embedded` on the in-process bus.
    pub(crate) fn pipeline_state_dir(&self) -> std::path::PathBuf {
        match &self.kafka {
            Some(kafka) => self.pipeline.state_dir.join(&kafka.group_prefix),
            None => self.pipeline.state_dir.join("embedded"),
        }
    }

    pub(crate) fn watch_matcher(&self) -> anyhow::Result<WatchMatcher> {
        WatchMatcher::new(&self.watches).context("invalid [[watch]]")
    }

    pub(crate) fn topics(&self) -> Topics {
        let prefix = self
            .kafka
            .as_ref()
            .map(|kafka| kafka.topic_prefix.as_str())
            .unwrap_or("");
        Topics::with_prefix(prefix)
    }

    /// The Kafka section, or an error saying how to configure it.
    pub(crate) fn require_kafka(&self) -> anyhow::Result<&KafkaConfig> {
        self.kafka.as_ref().context(
            "this command needs Kafka: set [kafka] brokers in the config or TIDEWATCH__KAFKA__BROKERS",
        )
    }
}

/// Two tokens with one hash would be one token with two names and maybe two roles: which one
/// a request gets would depend on their order.
fn refuse_shared_token_hashes(api: &ApiConfig) -> anyhow::Result<()> {
    let mut names_by_hash = std::collections::HashMap::new();
    for token in &api.tokens {
        let hash = token.sha256.to_ascii_lowercase();
        if let Some(first) = names_by_hash.insert(hash, token.name.as_str()) {
            bail!(
                "api.tokens: {first:?} and {:?} have the same sha256, so they are the same token; \
                 give each its own token",
                token.name
            );
        }
    }
    Ok(())
}

/// Names the key path of a figment error, e.g. `unknown key kafka.brokerz`.
fn describe_figment_error(error: figment::Error) -> String {
    let path = error.path.join(".");
    match &error.kind {
        figment::error::Kind::UnknownField(field, _) => {
            // figment's path sometimes already ends with the unknown key itself.
            let full = if path.is_empty() {
                field.clone()
            } else if error.path.last() == Some(field) {
                path
            } else {
                format!("{path}.{field}")
            };
            format!("unknown key `{full}`")
        }
        _ if path.is_empty() => error.kind.to_string(),
        kind => format!("key `{path}`: {kind}"),
    }
}

fn refuse_secrets_in_file(text: &str, path: &Path) -> anyhow::Result<()> {
    let document: toml::Table = text
        .parse()
        .with_context(|| format!("config file {} is not valid TOML", path.display()))?;
    for key in SECRET_KEYS {
        let (section, name) = key.split_once('.').unwrap_or(("", key));
        let in_file = document
            .get(section)
            .and_then(|table| table.get(name))
            .is_some();
        if in_file {
            bail!(
                "{key} must not be in {}: secrets come from the environment ({})",
                path.display(),
                environment_variable_of(key)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
