//! At-least-once Kafka consumer.
//!
//! Offsets: `enable.auto.commit=true` with `enable.auto.offset.store=false`. The stage calls
//! [`KafkaConsumer::commit_batch`] only after the batch's output is durable; that stores, per
//! partition, the highest offset of the batch (the batch is processed whole, so every lower
//! offset of that partition is done too: stored offsets are contiguous). librdkafka commits stored
//! offsets every second, on rebalance, and on [`KafkaConsumer::shutdown`] synchronously. A crash
//! loses at most the uncommitted tail, which is redelivered: at least once.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::{ClientContext, Offset};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{KafkaConfig, PartitionAssignment};
use crate::{BusError, Record};

/// Reports consumer lag from librdkafka's statistics and logs rebalances.
struct StageContext {
    stage: String,
}

impl ClientContext for StageContext {
    fn stats(&self, statistics: Statistics) {
        for (topic_name, topic) in &statistics.topics {
            for (partition_id, partition) in &topic.partitions {
                // Partition -1 is librdkafka's internal "unassigned" bucket; lag -1 is unknown.
                if *partition_id < 0 || partition.consumer_lag < 0 {
                    continue;
                }
                metrics::gauge!(
                    "tidewatch_consumer_lag",
                    "stage" => self.stage.clone(),
                    "topic" => topic_name.clone(),
                    "partition" => partition_id.to_string()
                )
                .set(partition.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for StageContext {
    fn post_rebalance(
        &self,
        _consumer: &rdkafka::consumer::BaseConsumer<Self>,
        rebalance: &Rebalance<'_>,
    ) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                tracing::info!(stage = %self.stage, partitions = partitions.count(), "partitions assigned")
            }
            Rebalance::Revoke(partitions) => {
                tracing::info!(stage = %self.stage, partitions = partitions.count(), "partitions revoked")
            }
            Rebalance::Error(error) => {
                tracing::warn!(stage = %self.stage, %error, "rebalance error")
            }
        }
    }
}

pub struct KafkaConsumer {
    consumer: StreamConsumer<StageContext>,
    stage: String,
}

impl KafkaConsumer {
    /// Joins the group `<group_prefix>.<stage>` and subscribes to `topics`.
    pub fn new(config: &KafkaConfig, stage: &str, topics: &[&str]) -> Result<Self, BusError> {
        config.validate()?;
        let group_id = format!("{}.{}", config.group_prefix, stage);
        let mut client_config: ClientConfig = config.base_client_config();
        client_config
            .set("group.id", &group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", config.session_timeout_ms.to_string())
            .set(
                "heartbeat.interval.ms",
                (config.session_timeout_ms / 5).max(100).to_string(),
            )
            .set("statistics.interval.ms", "5000");
        if let Some(instance_id) = &config.instance_id {
            client_config.set("group.instance.id", format!("{instance_id}.{stage}"));
        }
        config.apply_passthrough(&mut client_config, super::ClientRole::Consumer);
        let context = StageContext {
            stage: stage.to_string(),
        };
        let consumer: StreamConsumer<StageContext> = client_config.create_with_context(context)?;
        match config.assignment {
            PartitionAssignment::Group => {
                consumer.subscribe(topics)?;
                tracing::info!(stage, group = %group_id, ?topics, "consumer subscribed");
            }
            PartitionAssignment::All => {
                let partitions = all_partitions(&consumer, topics)?;
                consumer.assign(&partitions)?;
                tracing::info!(stage, group = %group_id, ?topics, partitions = partitions.count(), "consumer assigned every partition");
            }
        }
        Ok(Self {
            consumer,
            stage: stage.to_string(),
        })
    }

    pub async fn next_batch(
        &mut self,
        max_records: usize,
        max_wait: Duration,
        cancel: &CancellationToken,
    ) -> Result<Vec<Record>, BusError> {
        let deadline = Instant::now() + max_wait;
        let mut batch = Vec::new();
        while batch.len() < max_records {
            let received = tokio::select! {
                _ = cancel.cancelled() => break,
                received = tokio::time::timeout_at(deadline, self.consumer.recv()) => received,
            };
            let Ok(received) = received else {
                break; // max_wait elapsed
            };
            match received {
                Ok(message) => {
                    batch.push(Record::new(
                        message.topic(),
                        message.partition(),
                        message.offset(),
                        message.key().map(<[u8]>::to_vec),
                        message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(stage = %self.stage, %error, "consumer error");
                    metrics::counter!("tidewatch_stage_errors_total", "stage" => self.stage.clone(), "kind" => "consume")
                        .increment(1);
                    if batch.is_empty() {
                        return Err(BusError::Kafka(error));
                    }
                    break;
                }
            }
        }
        Ok(batch)
    }

    pub fn commit_batch(&mut self, batch: &[Record]) -> Result<(), BusError> {
        let mut highest: HashMap<(&str, i32), i64> = HashMap::new();
        for record in batch {
            let entry = highest
                .entry((record.topic.as_str(), record.partition))
                .or_insert(record.offset);
            *entry = (*entry).max(record.offset);
        }
        let positions: Vec<(&str, i32, i64)> = highest
            .into_iter()
            .map(|((topic, partition), offset)| (topic, partition, offset))
            .collect();
        self.commit_positions(&positions)
    }

    /// Stores `offset + 1` (the next record to read) for each (topic, partition, offset).
    pub fn commit_positions(&mut self, positions: &[(&str, i32, i64)]) -> Result<(), BusError> {
        for &(topic, partition, offset) in positions {
            // store_offset stores offset + 1, the next record to read.
            if let Err(error) = self.consumer.store_offset(topic, partition, offset) {
                // The partition was revoked by a rebalance while we worked: its new owner
                // re-reads from the last commit, which at-least-once allows.
                tracing::debug!(stage = %self.stage, topic, partition, %error, "offset not stored");
            }
        }
        Ok(())
    }

    /// True when every assigned partition has been read up to its high watermark (asks the
    /// broker, so call it only when idle). False while nothing is assigned yet.
    pub fn is_caught_up(&self) -> bool {
        let (Ok(assignment), Ok(positions)) =
            (self.consumer.assignment(), self.consumer.position())
        else {
            return false;
        };
        if assignment.count() == 0 {
            return false;
        }
        positions.elements().iter().all(|element| {
            let Ok((_low, high)) = self.consumer.fetch_watermarks(
                element.topic(),
                element.partition(),
                Duration::from_secs(2),
            ) else {
                return false;
            };
            match element.offset() {
                rdkafka::Offset::Offset(position) => position >= high,
                // Nothing read yet: caught up only if there is nothing to read.
                _ => high == 0,
            }
        })
    }

    pub fn shutdown(self) -> Result<(), BusError> {
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => {}
            // Nothing stored since the last commit.
            Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => return Err(BusError::Kafka(error)),
        }
        self.consumer.unsubscribe();
        tracing::info!(stage = %self.stage, "consumer committed and left the group");
        Ok(())
    }
}

/// Every partition of `topics`, each to start at the group's committed offset (or the earliest
/// one when nothing was committed).
fn all_partitions(
    consumer: &StreamConsumer<StageContext>,
    topics: &[&str],
) -> Result<TopicPartitionList, BusError> {
    let mut partitions = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let count = metadata
            .topics()
            .iter()
            .find(|candidate| candidate.name() == *topic)
            .map(|found| found.partitions().len())
            .unwrap_or(0);
        if count == 0 {
            return Err(BusError::Config(format!(
                "topic {topic} has no partitions (does it exist?)"
            )));
        }
        for partition in 0..count as i32 {
            partitions.add_partition_offset(topic, partition, Offset::Stored)?;
        }
    }
    Ok(partitions)
}
