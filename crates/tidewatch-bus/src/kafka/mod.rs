//! Kafka through rdkafka: configuration, topic creation, producer and at-least-once consumer.

mod consumer;
mod probe;
mod producer;

pub use consumer::KafkaConsumer;
pub use probe::BrokerProbe;
pub use producer::KafkaProducer;

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use serde::Deserialize;

use crate::BusError;

/// The `[kafka]` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated bootstrap servers.
    pub brokers: String,
    /// Put in front of every topic name, so several pipelines can share a cluster.
    #[serde(default)]
    pub topic_prefix: String,
    /// Consumer group ids are `<group_prefix>.<stage>`.
    #[serde(default = "default_group_prefix")]
    pub group_prefix: String,
    /// Partitions of the topics tidewatch creates (existing topics are left as they are).
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    #[serde(default = "default_replication_factor")]
    pub replication_factor: i32,
    /// lz4 or gzip or none (snappy does not work with the local tansu broker).
    #[serde(default = "default_compression")]
    pub compression: String,
    /// How long a consumer may be silent before the group gives its partitions to another.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u32,
    /// Static group membership (KIP-345): a stable id per stage instance (e.g. the pod name).
    /// A restarted instance with the same id takes its partitions back at once instead of
    /// waiting for the group to notice that the old one died.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// How a stage's consumer gets its partitions: `group` (Kafka consumer-group rebalancing, to
    /// scale a stage out over several processes) or `all` (this process reads every partition
    /// of its topics; one process per stage; a restart resumes at once from the committed
    /// offsets). Offsets are committed to the stage's group either way.
    #[serde(default)]
    pub assignment: PartitionAssignment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionAssignment {
    #[default]
    Group,
    All,
}

fn default_group_prefix() -> String {
    "tidewatch".to_string()
}
fn default_partitions() -> i32 {
    4
}
fn default_replication_factor() -> i32 {
    1
}
fn default_compression() -> String {
    "lz4".to_string()
}
fn default_session_timeout_ms() -> u32 {
    10_000
}

impl KafkaConfig {
    pub fn new(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_string(),
            topic_prefix: String::new(),
            group_prefix: default_group_prefix(),
            partitions: default_partitions(),
            replication_factor: default_replication_factor(),
            compression: default_compression(),
            session_timeout_ms: default_session_timeout_ms(),
            instance_id: None,
            assignment: PartitionAssignment::Group,
        }
    }

    pub fn validate(&self) -> Result<(), BusError> {
        if self.brokers.trim().is_empty() {
            return Err(BusError::Config("kafka.brokers is empty".into()));
        }
        if self.partitions < 1 {
            return Err(BusError::Config(
                "kafka.partitions must be at least 1".into(),
            ));
        }
        if !matches!(self.compression.as_str(), "lz4" | "gzip" | "zstd" | "none") {
            return Err(BusError::Config(format!(
                "kafka.compression {:?} is not one of lz4, gzip, zstd, none",
                self.compression
            )));
        }
        Ok(())
    }

    fn base_client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        config
    }
}

/// Creates the topics that do not exist yet, with the configured partition count.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[&str]) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = config.base_client_config().create()?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.partitions,
                TopicReplication::Fixed(config.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(new_topics.iter(), &options).await?;
    for result in results {
        match result {
            Ok(name) => {
                tracing::info!(topic = %name, partitions = config.partitions, "created topic")
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(BusError::Config(format!(
                    "cannot create topic {name}: {code}"
                )));
            }
        }
    }
    Ok(())
}
