//! Configuration: one TOML file plus `TIDEWATCH__SECTION__KEY` environment overrides.
//!
//! Guarantees: an unknown key anywhere is an error naming its path; secrets (the ClickHouse
//! password) are refused in the file and only read from the environment; watches are compiled
//! and checked at load time, so a bad watch stops start-up with its name in the message.

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

impl Config {
    /// Parses a whole configuration from TOML text plus the environment (used by `demo`).
    pub(crate) fn from_toml(text: &str) -> anyhow::Result<Config> {
        let figment = Figment::new()
            .merge(Toml::string(text))
            .merge(Env::prefixed("TIDEWATCH__").split("__"));
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
        figment = figment.merge(Env::prefixed("TIDEWATCH__").split("__"));
        Self::extract(figment)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(kafka) = &self.kafka {
            kafka.validate().context("invalid [kafka] section")?;
        }
        if self.pipeline.batch_size == 0 {
            bail!("pipeline.batch_size must be at least 1");
        }
        self.watch_matcher()?;
        self.notify_config().validate()?;
        self.api.validate()?;
        let collectors: Vec<tidewatch_collect::SourceConfig> = self
            .sources
            .iter()
            .filter_map(|entry| match entry {
                SourceEntry::Collector(source) => Some(source.clone()),
                SourceEntry::Simulate(_) => None,
            })
            .collect();
        tidewatch_collect::validate_sources(&collectors).context("invalid [[source]]")?;
        Ok(())
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

/// Names the key path of a figment error, e.g. `unknown key kafka.brokerz`.
fn describe_figment_error(error: figment::Error) -> String {
    let path = error.path.join(".");
    match &error.kind {
        figment::error::Kind::UnknownField(field, _) => {
            let full = if path.is_empty() {
                field.clone()
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
    let password_in_file = document
        .get("clickhouse")
        .and_then(|section| section.get("password"))
        .is_some();
    if password_in_file {
        bail!(
            "clickhouse.password must not be in {}: secrets come from the environment (TIDEWATCH__CLICKHOUSE__PASSWORD)",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
