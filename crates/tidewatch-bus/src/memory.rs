//! The in-process bus: one bounded channel per topic, the same interface as Kafka.
//!
//! Guarantees: records of a topic arrive in the order they were sent; a full channel makes the
//! producer wait (back-pressure, bounded memory); every topic has at most one consumer. A topic
//! must be subscribed before records are sent to it: records sent to a topic nobody subscribed
//! to are counted in `tidewatch_bus_unconsumed_total` and dropped, as they would sit unread in
//! Kafka. Nothing is durable: a crash loses what is in flight. Use Kafka for durability.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{BusError, OutRecord, Record};

struct TopicChannel {
    sender: mpsc::Sender<Record>,
    receiver: Option<mpsc::Receiver<Record>>,
    next_offset: Arc<AtomicI64>,
    /// The next offset to read after the last commit; -1 before any (as Kafka's group offset).
    committed: Arc<AtomicI64>,
}

/// The in-process bus; clone it freely, all clones share the topics.
#[derive(Clone)]
pub struct MemoryBus {
    topics: Arc<Mutex<HashMap<String, TopicChannel>>>,
    capacity: usize,
}

impl MemoryBus {
    /// `capacity` bounds each topic's channel.
    pub fn new(capacity: usize) -> Self {
        Self {
            topics: Arc::new(Mutex::new(HashMap::new())),
            capacity: capacity.max(1),
        }
    }

    /// The one consumer of `topic`.
    pub fn subscribe(&self, topic: &str) -> Result<MemoryConsumer, BusError> {
        let mut topics = self.topics.lock().expect("memory bus lock poisoned");
        let channel = topics.entry(topic.to_string()).or_insert_with(|| {
            let (sender, receiver) = mpsc::channel(self.capacity);
            TopicChannel {
                sender,
                receiver: Some(receiver),
                next_offset: Arc::new(AtomicI64::new(0)),
                committed: Arc::new(AtomicI64::new(-1)),
            }
        });
        let receiver = channel
            .receiver
            .take()
            .ok_or_else(|| BusError::AlreadySubscribed(topic.to_string()))?;
        Ok(MemoryConsumer {
            receiver,
            committed: channel.committed.clone(),
        })
    }

    /// The next offset of `topic` its consumer would resume from (what it committed), if any.
    /// Nothing survives the process; this is for tests and metrics.
    pub fn committed_offset(&self, topic: &str) -> Option<i64> {
        let topics = self.topics.lock().expect("memory bus lock poisoned");
        let committed = topics.get(topic)?.committed.load(Ordering::Acquire);
        (committed >= 0).then_some(committed)
    }

    pub fn producer(&self) -> MemoryProducer {
        MemoryProducer { bus: self.clone() }
    }

    fn sender_for(&self, topic: &str) -> Option<(mpsc::Sender<Record>, Arc<AtomicI64>)> {
        let topics = self.topics.lock().expect("memory bus lock poisoned");
        topics
            .get(topic)
            .map(|channel| (channel.sender.clone(), channel.next_offset.clone()))
    }
}

#[derive(Clone)]
pub struct MemoryProducer {
    bus: MemoryBus,
}

impl MemoryProducer {
    pub async fn send_all(&self, records: &[OutRecord]) -> Result<(), BusError> {
        for record in records {
            let Some((sender, next_offset)) = self.bus.sender_for(&record.topic) else {
                metrics::counter!("tidewatch_bus_unconsumed_total", "topic" => record.topic.clone()).increment(1);
                tracing::debug!(topic = %record.topic, "no in-process consumer for topic; record dropped");
                continue;
            };
            let topic = record.topic.clone();
            let consumed = Record {
                offset: next_offset.fetch_add(1, Ordering::Relaxed),
                topic: topic.clone(),
                partition: 0,
                key: Some(record.key.clone().into_bytes()),
                payload: record.payload.clone(),
                // Typed values are shared, not serialised: the in-process bus moves values.
                value: record.value.clone(),
                ack: record.ack.clone(),
            };
            sender
                .send(consumed)
                .await
                .map_err(|_| BusError::ChannelClosed(topic))?;
        }
        Ok(())
    }
}

pub struct MemoryConsumer {
    receiver: mpsc::Receiver<Record>,
    committed: Arc<AtomicI64>,
}

impl MemoryConsumer {
    pub async fn next_batch(
        &mut self,
        max_records: usize,
        max_wait: Duration,
        cancel: &CancellationToken,
    ) -> Result<Vec<Record>, BusError> {
        let deadline = Instant::now() + max_wait;
        let mut batch = Vec::new();
        let first = tokio::select! {
            _ = cancel.cancelled() => return Ok(batch),
            first = tokio::time::timeout_at(deadline, self.receiver.recv()) => first,
        };
        match first {
            Err(_elapsed) => return Ok(batch),
            // Every producer is gone: nothing more will come.
            Ok(None) => return Ok(batch),
            Ok(Some(record)) => batch.push(record),
        }
        while batch.len() < max_records {
            match self.receiver.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        Ok(batch)
    }

    pub fn is_caught_up(&self) -> bool {
        self.receiver.is_empty()
    }

    /// Records that every offset up to `offset` is done (one partition per topic).
    pub fn commit_offset(&self, offset: i64) {
        self.committed.fetch_max(offset + 1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_with_offsets() {
        let bus = MemoryBus::new(16);
        let mut consumer = bus.subscribe("t").unwrap();
        let records: Vec<OutRecord> = (0..10)
            .map(|index| OutRecord::new("t", format!("k{index}"), vec![index as u8]))
            .collect();
        bus.producer().send_all(&records).await.unwrap();
        let cancel = CancellationToken::new();
        let batch = consumer
            .next_batch(100, Duration::from_millis(10), &cancel)
            .await
            .unwrap();
        assert_eq!(batch.len(), 10);
        assert!(batch
            .iter()
            .enumerate()
            .all(|(index, record)| record.offset == index as i64
                && record.payload == vec![index as u8]));
        assert!(consumer.is_caught_up());
    }

    #[tokio::test]
    async fn one_consumer_per_topic_and_unsubscribed_topics_drop() {
        let bus = MemoryBus::new(4);
        let _consumer = bus.subscribe("t").unwrap();
        assert!(matches!(
            bus.subscribe("t"),
            Err(BusError::AlreadySubscribed(_))
        ));
        bus.producer()
            .send_all(&[OutRecord::new("nobody", "k", b"x".to_vec())])
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn empty_batch_after_max_wait_and_on_cancel() {
        let bus = MemoryBus::new(4);
        let mut consumer = bus.subscribe("t").unwrap();
        let cancel = CancellationToken::new();
        let batch = consumer
            .next_batch(10, Duration::from_secs(5), &cancel)
            .await
            .unwrap();
        assert!(batch.is_empty());
        cancel.cancel();
        let batch = consumer
            .next_batch(10, Duration::from_secs(3600), &cancel)
            .await
            .unwrap();
        assert!(batch.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_channel_applies_back_pressure() {
        let bus = MemoryBus::new(2);
        let mut consumer = bus.subscribe("t").unwrap();
        let producer = bus.producer();
        let send = tokio::spawn(async move {
            let records: Vec<OutRecord> = (0..5)
                .map(|index| OutRecord::new("t", "k", vec![index]))
                .collect();
            producer.send_all(&records).await
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!send.is_finished(), "sender must wait for room");
        let cancel = CancellationToken::new();
        let mut received = 0;
        while received < 5 {
            received += consumer
                .next_batch(10, Duration::from_millis(50), &cancel)
                .await
                .unwrap()
                .len();
        }
        send.await.unwrap().unwrap();
    }
}
