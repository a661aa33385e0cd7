//! The collectors' side of the binary: the `[[source]]` entries, the sink that puts collected
//! posts on `posts.raw` (and unparsable payloads on the dead-letter topic), collector health
//! written to ClickHouse for the API, and the `tidewatch collect` stage.
//!
//! Guarantees: a collector's cursor advances only after the bus acknowledged its posts (the
//! sink returns `Ok` only then); a `[[source]]` entry with an unknown kind or key is a config
//! error naming `source[i]`; collector health reaches ClickHouse every
//! [`HEALTH_INTERVAL`] and once more on shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tidewatch_bus::{Ack, BusProducer, OutRecord};
use tidewatch_collect::simulate::SimulateSource;
use tidewatch_collect::sink::async_trait;
use tidewatch_collect::{HealthReporter, PostSink, RunOptions, SinkError, SourceConfig};
use tidewatch_model::{DeadLetter, Post, Topics};
use tidewatch_store::{CollectorHealthRow, CollectorStatus, PostStore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::simulate::run_simulator;
use crate::config::Config;

/// How often collector health is written to ClickHouse.
pub(crate) const HEALTH_INTERVAL: Duration = Duration::from_secs(30);

/// One `[[source]]` entry: a collector, or the demo's simulator.
#[derive(Debug, Clone)]
pub(crate) enum SourceEntry {
    Collector(SourceConfig),
    Simulate(SimulateSource),
}

impl<'de> Deserialize<'de> for SourceEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(deserializer)?;
        let kind = table
            .get("kind")
            .and_then(toml::Value::as_str)
            .ok_or_else(|| D::Error::custom("missing key `kind` (mastodon, bluesky, hackernews, reddit, rss, appstore, webhook or simulate)"))?
            .to_string();
        if kind == "simulate" {
            table.remove("kind");
            return SimulateSource::deserialize(toml::Value::Table(table))
                .map(SourceEntry::Simulate)
                .map_err(|error| D::Error::custom(format!("simulate source: {error}")));
        }
        SourceConfig::deserialize(toml::Value::Table(table))
            .map(SourceEntry::Collector)
            .map_err(|error| D::Error::custom(format!("{kind} source: {error}")))
    }
}

/// Puts collected posts on `posts.raw` (keyed `source:source_id`) and dead letters on the DLQ.
pub(crate) struct BusPostSink {
    producer: BusProducer,
    topics: Topics,
}

impl BusPostSink {
    pub(crate) fn new(producer: BusProducer, topics: Topics) -> Self {
        Self { producer, topics }
    }

    async fn send(&self, records: Vec<OutRecord>) -> Result<(), SinkError> {
        self.producer.send_all(&records).await.map_err(|error| {
            if error.is_retryable() {
                SinkError::Retryable(error.to_string())
            } else {
                SinkError::Fatal(error.to_string())
            }
        })?;
        // Sent: the copies on the bus now answer for these records.
        records.iter().for_each(OutRecord::settle_ack);
        Ok(())
    }
}

#[async_trait]
impl PostSink for BusPostSink {
    async fn publish(&self, posts: Vec<Post>) -> Result<(), SinkError> {
        // Durable means stored on the in-process bus: the posts carry an acknowledgement that
        // the last stage settles (on Kafka, the broker's acknowledgement settles it at once).
        let (ack, durable) = Ack::new();
        let records: Vec<OutRecord> = posts
            .into_iter()
            .map(|post| {
                OutRecord::typed(&self.topics.posts_raw, post.key(), Arc::new(post))
                    .with_ack(Some(ack.clone()))
            })
            .collect();
        ack.settle();
        drop(ack);
        self.send(records).await?;
        match durable.await {
            Ok(true) => Ok(()),
            _ => Err(SinkError::Retryable(
                "the pipeline stopped before the posts were stored".to_string(),
            )),
        }
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), SinkError> {
        let record = OutRecord::new(
            &self.topics.dead_letter,
            letter.stage.clone(),
            letter.to_json(),
        );
        self.send(vec![record]).await
    }
}

/// Starts every configured source (collectors and simulators) publishing on `producer`.
/// Returns the tasks; each ends when `cancel` fires.
pub(crate) fn start_sources(
    config: &Config,
    producer: &BusProducer,
    store: Option<PostStore>,
    cancel: &CancellationToken,
) -> Vec<JoinHandle<anyhow::Result<()>>> {
    let mut tasks = Vec::new();
    let mut collectors = Vec::new();
    for entry in &config.sources {
        match entry {
            SourceEntry::Collector(source) => collectors.push(source.clone()),
            SourceEntry::Simulate(source) => {
                let task = run_simulator(
                    source.clone(),
                    chrono::Utc::now(),
                    producer.clone(),
                    config.topics(),
                    cancel.clone(),
                );
                tasks.push(tokio::spawn(async move { task.await.map(|_| ()) }));
            }
        }
    }
    if collectors.is_empty() {
        return tasks;
    }
    let reporter = HealthReporter::new();
    let sink = Arc::new(BusPostSink::new(producer.clone(), config.topics()));
    let options = RunOptions::new(config.pipeline_state_dir().join("collectors"));
    let run =
        tidewatch_collect::run_sources(collectors, options, sink, reporter.clone(), cancel.clone());
    tasks.push(tokio::spawn(async move {
        run.await.context("collectors stopped")
    }));
    if let Some(store) = store {
        tasks.push(tokio::spawn(record_health(reporter, store, cancel.clone())));
    }
    tasks
}

/// Writes every source's health to ClickHouse now and then, and once more at shutdown.
async fn record_health(
    reporter: HealthReporter,
    store: PostStore,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let stopping = tokio::select! {
            _ = cancel.cancelled() => true,
            _ = tokio::time::sleep(HEALTH_INTERVAL) => false,
        };
        let now = chrono::Utc::now();
        let rows: Vec<CollectorHealthRow> = reporter
            .snapshot(tokio::time::Instant::now(), now)
            .into_iter()
            .map(|status| CollectorHealthRow {
                status: match status.health {
                    tidewatch_collect::health::Health::Ok => CollectorStatus::Ok,
                    tidewatch_collect::health::Health::Failing => CollectorStatus::Failing,
                    tidewatch_collect::health::Health::RateLimited => CollectorStatus::RateLimited,
                    tidewatch_collect::health::Health::Silent => CollectorStatus::Silent,
                },
                name: status.name,
                kind: status.kind,
                last_success_at: status.last_success,
                last_error: status.last_error.or(status.note),
                posts_last_hour: status.posts_last_hour,
                checked_at: now,
            })
            .collect();
        if !rows.is_empty() {
            if let Err(error) = store.insert_collector_health(&rows).await {
                tracing::warn!(%error, "cannot record collector health");
            }
        }
        if stopping {
            return Ok(());
        }
    }
}
