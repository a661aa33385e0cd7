//! Kafka producer: idempotent, acks=all; [`KafkaProducer::send_all`] returns only when every
//! record of the batch is acknowledged, which is what lets a stage commit its input offsets.

use std::collections::VecDeque;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use super::KafkaConfig;
use crate::error::is_transient;
use crate::{BusError, OutRecord};

#[derive(Clone)]
pub struct KafkaProducer {
    producer: FutureProducer,
}

impl KafkaProducer {
    pub fn new(config: &KafkaConfig) -> Result<Self, BusError> {
        config.validate()?;
        let mut client_config = config.base_client_config();
        client_config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", &config.compression)
            .set("linger.ms", "5")
            .set("batch.num.messages", "10000")
            .set("queue.buffering.max.messages", "200000")
            .set("message.timeout.ms", "60000")
            // Stay under the broker's default 1 MB limit; records are at most 256 KiB.
            .set("message.max.bytes", "1000000");
        config.apply_passthrough(&mut client_config, super::ClientRole::Producer);
        let producer: FutureProducer = ClientConfig::create(&client_config)?;
        Ok(Self { producer })
    }

    pub async fn send_all(&self, records: &[OutRecord]) -> Result<(), BusError> {
        let total = records.len();
        let mut pending: VecDeque<DeliveryFuture> = VecDeque::with_capacity(total);
        for record in records {
            let future = self.enqueue(record, &mut pending).await?;
            pending.push_back(future);
        }
        let mut failed = 0;
        let mut first_error = None;
        let mut retryable = true;
        for future in pending {
            let outcome = match future.await {
                Ok(Ok(_delivery)) => continue,
                Ok(Err((error, _message))) => {
                    retryable &= is_transient(&error);
                    error.to_string()
                }
                Err(_canceled) => "producer dropped the delivery".to_string(),
            };
            failed += 1;
            first_error.get_or_insert(outcome);
        }
        match first_error {
            None => Ok(()),
            Some(first_error) => Err(BusError::Delivery {
                failed,
                total,
                first_error,
                retryable,
            }),
        }
    }

    /// Puts one record on librdkafka's queue; when the queue is full, waits for the oldest
    /// pending delivery (bounded memory, and back-pressure instead of an error).
    async fn enqueue(
        &self,
        record: &OutRecord,
        pending: &mut VecDeque<DeliveryFuture>,
    ) -> Result<DeliveryFuture, BusError> {
        // JSON is written here, at the Kafka edge, for records that travel typed in-process.
        let payload = record.payload_bytes();
        loop {
            let future_record = FutureRecord::to(&record.topic)
                .key(&record.key)
                .payload(payload.as_ref());
            match self.producer.send_result(future_record) {
                Ok(future) => return Ok(future),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if pending.is_empty() {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    } else {
                        // Waiting on the oldest delivery frees room in the queue.
                        let Some(oldest) = pending.pop_front() else {
                            continue;
                        };
                        match oldest.await {
                            Ok(Ok(_)) => {}
                            Ok(Err((error, _))) => return Err(BusError::Kafka(error)),
                            Err(_) => {
                                return Err(BusError::Delivery {
                                    failed: 1,
                                    total: 1,
                                    first_error: "producer dropped the delivery".into(),
                                    retryable: true,
                                })
                            }
                        }
                    }
                }
                Err((error, _)) => return Err(BusError::Kafka(error)),
            }
        }
    }

    /// Waits for everything queued to be delivered.
    pub fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        self.producer.flush(timeout)?;
        Ok(())
    }
}
