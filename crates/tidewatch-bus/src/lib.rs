//! tidewatch's message bus: how stages hand records to each other.
//!
//! Two implementations behind one interface ([`BusConsumer`], [`BusProducer`]):
//! * **Kafka** (rdkafka): durable, at least once. A consumer's offsets are stored only when the
//!   stage says the batch's output is durable ([`BusConsumer::commit_batch`]), per partition and
//!   contiguously (a batch is committed whole, after every output of it was acknowledged), and
//!   flushed to the broker by librdkafka's auto-commit and synchronously on shutdown.
//! * **Memory**: bounded in-process channels with the same interface, for `tidewatch run` on one
//!   machine, demos and fast tests. Nothing survives the process: durability needs Kafka.
//!
//! [`driver`] is the one stage driver (pipelined batches, offsets after durability, errors
//! classified as the dependency's or the record's); [`transform`] runs a per-record transform
//! on it, and holds the shared helpers (dead letters, retries).

mod ack;
pub mod driver;
mod error;
mod health;
mod kafka;
mod memory;
mod record;
pub mod transform;

pub use ack::Ack;
pub use error::BusError;
pub use health::{StageHealth, StageHealthSnapshot};
pub use kafka::{
    check_properties, describe_connection_failure, ensure_topics, BrokerProbe, ClientRole,
    KafkaConfig, KafkaConsumer, KafkaProducer, PartitionAssignment, SaslMechanism, Secret,
    SecurityProtocol,
};
pub use memory::{MemoryBus, MemoryConsumer, MemoryProducer};
pub use record::{BusValue, OutRecord, Record, Value};

use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A consumer of one stage: Kafka or in-process.
pub enum BusConsumer {
    Kafka(KafkaConsumer),
    Memory(MemoryConsumer),
}

impl BusConsumer {
    /// Waits for records, then gathers more until `max_records` or `max_wait` has passed.
    /// Returns an empty batch on cancellation or when nothing arrived within `max_wait`.
    pub async fn next_batch(
        &mut self,
        max_records: usize,
        max_wait: Duration,
        cancel: &CancellationToken,
    ) -> Result<Vec<Record>, BusError> {
        match self {
            BusConsumer::Kafka(consumer) => {
                consumer.next_batch(max_records, max_wait, cancel).await
            }
            BusConsumer::Memory(consumer) => {
                consumer.next_batch(max_records, max_wait, cancel).await
            }
        }
    }

    /// Marks a whole batch as processed: call only once all its output is durable.
    pub fn commit_batch(&mut self, batch: &[Record]) -> Result<(), BusError> {
        match self {
            BusConsumer::Kafka(consumer) => consumer.commit_batch(batch),
            BusConsumer::Memory(consumer) => {
                if let Some(highest) = batch.iter().map(|record| record.offset).max() {
                    consumer.commit_offset(highest);
                }
                Ok(())
            }
        }
    }

    /// Stores, per partition, the highest offset done: call only when every record of that
    /// partition up to it is durable.
    pub fn commit_positions(&mut self, positions: &[(&str, i32, i64)]) -> Result<(), BusError> {
        match self {
            BusConsumer::Kafka(consumer) => consumer.commit_positions(positions),
            BusConsumer::Memory(consumer) => {
                for &(_topic, _partition, offset) in positions {
                    consumer.commit_offset(offset);
                }
                Ok(())
            }
        }
    }

    /// Flushes stored offsets to the broker and leaves the group.
    pub fn shutdown(self) -> Result<(), BusError> {
        match self {
            BusConsumer::Kafka(consumer) => consumer.shutdown(),
            BusConsumer::Memory(_) => Ok(()),
        }
    }

    /// True when the consumer has seen the end of every assigned partition (Kafka) or its
    /// channel is empty (memory). Used by tests and `--exit-when-idle`.
    pub fn is_caught_up(&self) -> bool {
        match self {
            BusConsumer::Kafka(consumer) => consumer.is_caught_up(),
            BusConsumer::Memory(consumer) => consumer.is_caught_up(),
        }
    }
}

/// A producer: Kafka or in-process. Cheap to clone.
#[derive(Clone)]
pub enum BusProducer {
    Kafka(KafkaProducer),
    Memory(MemoryProducer),
}

impl BusProducer {
    /// Sends every record and returns once all of them are durable (acknowledged by the broker
    /// with acks=all, or accepted by the in-process channel). On error some may have been sent:
    /// the caller retries the whole batch, which at-least-once delivery allows.
    pub async fn send_all(&self, records: &[OutRecord]) -> Result<(), BusError> {
        match self {
            BusProducer::Kafka(producer) => producer.send_all(records).await,
            BusProducer::Memory(producer) => producer.send_all(records).await,
        }
    }
}
