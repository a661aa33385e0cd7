//! Kafka through rdkafka: configuration, topic creation, producer and at-least-once consumer.
//!
//! Every client (admin, producer, consumer) is configured by `KafkaConfig::base_client_config`
//! (brokers, TLS, SASL) and [`KafkaConfig::apply_passthrough`] (the operator's `[kafka.client]`
//! plus `[kafka.producer]` or `[kafka.consumer]`), so all of them connect the same way.
//! [`ensure_topics`], which every Kafka command runs first, also proves that the brokers can be
//! reached with these settings, and fails with a message naming the setting when they cannot.

mod consumer;
mod probe;
mod producer;
mod security;

pub use consumer::KafkaConsumer;
pub use probe::BrokerProbe;
pub use producer::KafkaProducer;
pub use security::{
    check_properties, describe_connection_failure, ClientRole, SaslMechanism, Secret,
    SecurityProtocol,
};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
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
    /// PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.
    #[serde(default)]
    pub security_protocol: SecurityProtocol,
    /// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI (with SASL_* protocols).
    #[serde(default)]
    pub sasl_mechanism: Option<SaslMechanism>,
    #[serde(default)]
    pub sasl_username: Option<String>,
    /// From `TIDEWATCH__KAFKA__SASL_PASSWORD` only (refused in the file).
    #[serde(default)]
    pub sasl_password: Option<Secret>,
    /// PEM file of the CA(s) that signed the brokers' certificates; absent: the system's roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate for mutual TLS (PEM), with `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// From `TIDEWATCH__KAFKA__KEY_PASSWORD` only: the private key's passphrase.
    #[serde(default)]
    pub key_password: Option<Secret>,
    /// How long a command waits at start for the brokers to answer before it gives up with a
    /// message saying why (a misconfiguration such as a wrong CA fails at once).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// `[kafka.client]`: raw librdkafka properties for every client.
    #[serde(default, deserialize_with = "security::deserialize_properties")]
    pub client: BTreeMap<String, String>,
    /// `[kafka.producer]`: raw librdkafka properties for producers only.
    #[serde(default, deserialize_with = "security::deserialize_properties")]
    pub producer: BTreeMap<String, String>,
    /// `[kafka.consumer]`: raw librdkafka properties for consumers only.
    #[serde(default, deserialize_with = "security::deserialize_properties")]
    pub consumer: BTreeMap<String, String>,
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
fn default_connect_timeout_ms() -> u64 {
    15_000
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
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: None,
            sasl_username: None,
            sasl_password: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            key_password: None,
            connect_timeout_ms: default_connect_timeout_ms(),
            client: BTreeMap::new(),
            producer: BTreeMap::new(),
            consumer: BTreeMap::new(),
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
        self.validate_security()?;
        check_properties("kafka.client", &self.client)?;
        for (table, role) in [
            ("kafka.producer", ClientRole::Producer),
            ("kafka.consumer", ClientRole::Consumer),
        ] {
            check_properties(table, self.passthrough_table(role))?;
            // The merged set too: librdkafka checks some properties against each other.
            let mut merged = self.base_client_config();
            self.apply_passthrough(&mut merged, role);
            if let Err(error) = merged.create_native_config() {
                // Named by property, never with its value (the merged set holds the secrets).
                let detail = match error {
                    KafkaError::ClientConfig(_, description, name, _value) => {
                        format!("property `{name}`: {description}")
                    }
                    other => other.to_string(),
                };
                return Err(BusError::Config(format!("{table}: {detail}")));
            }
        }
        Ok(())
    }

    /// Brokers, TLS and SASL: what every client of this config starts from.
    fn base_client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        self.apply_security(&mut config);
        config
    }

    fn passthrough_table(&self, role: ClientRole) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        match role {
            ClientRole::Admin => &EMPTY,
            ClientRole::Producer => &self.producer,
            ClientRole::Consumer => &self.consumer,
        }
    }

    /// Sets the operator's `[kafka.client]` properties, then those of the role's own table.
    /// Call it last, after tidewatch's own tuning, so that the operator's values win (the
    /// properties tidewatch must own are refused by [`KafkaConfig::validate`]).
    pub fn apply_passthrough(&self, client_config: &mut ClientConfig, role: ClientRole) {
        for (name, value) in self.client.iter().chain(self.passthrough_table(role)) {
            client_config.set(name, value);
        }
    }

    /// The exact librdkafka properties a client of `role` gets from this config before
    /// tidewatch's own tuning (for tests and diagnostics; secrets included, so never log it).
    pub fn client_properties(&self, role: ClientRole) -> BTreeMap<String, String> {
        let mut client_config = self.base_client_config();
        self.apply_passthrough(&mut client_config, role);
        client_config
            .config_map()
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }
}

/// Records librdkafka's last error, so a failed start can say why the brokers did not answer.
#[derive(Default)]
struct ConnectionProbeContext {
    last_error: Mutex<Option<String>>,
}

impl ProducerContext for ConnectionProbeContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

impl ClientContext for ConnectionProbeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "kafka connection probe");
        if let Ok(mut last_error) = self.last_error.lock() {
            *last_error = Some(reason.to_string());
        }
    }
}

/// Asks the brokers for their metadata until they answer or `connect_timeout_ms` passes; a
/// misconfiguration (certificate, authentication, TLS mismatch) fails at once.
async fn check_connection(config: &KafkaConfig) -> Result<(), BusError> {
    let config = config.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut client_config = config.base_client_config();
        config.apply_passthrough(&mut client_config, ClientRole::Admin);
        // A producer, because polling it serves librdkafka's error callbacks (an admin client
        // polls only its own queue).
        let probe: BaseProducer<ConnectionProbeContext> =
            client_config.create_with_context(ConnectionProbeContext::default())?;
        let client = probe.client();
        let deadline = std::time::Instant::now() + Duration::from_millis(config.connect_timeout_ms);
        loop {
            let attempt = client.fetch_metadata(None, Duration::from_millis(500));
            probe.poll(Duration::from_millis(100));
            let last_error = client
                .context()
                .last_error
                .lock()
                .ok()
                .and_then(|last_error| last_error.clone());
            match (attempt, last_error) {
                (Ok(_), _) => return Ok(()),
                (Err(_), Some(reason)) if security::is_misconfiguration(&reason) => {
                    return Err(BusError::Config(describe_connection_failure(
                        &config, &reason,
                    )));
                }
                (Err(error), last_error) if std::time::Instant::now() >= deadline => {
                    let reason = last_error.unwrap_or_else(|| error.to_string());
                    return Err(BusError::Config(describe_connection_failure(
                        &config, &reason,
                    )));
                }
                (Err(_), _) => {}
            }
        }
    });
    outcome
        .await
        .map_err(|error| BusError::Config(format!("kafka connection probe failed: {error}")))?
}

/// Creates the topics that do not exist yet, with the configured partition count.
/// Fails first, with a message naming the setting, when the brokers cannot be reached.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[&str]) -> Result<(), BusError> {
    config.validate()?;
    check_connection(config).await?;
    let mut client_config = config.base_client_config();
    config.apply_passthrough(&mut client_config, ClientRole::Admin);
    let admin: AdminClient<ConnectionProbeContext> =
        client_config.create_with_context(ConnectionProbeContext::default())?;
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
