//! Records as stages see them: a payload with its position, independent of the bus.
//!
//! A payload is JSON bytes (what Kafka carries) or, on the in-process bus, the typed value
//! itself ([`BusValue`], shared behind an `Arc`): stages hand values to each other without
//! serialising, and JSON is written only where a record leaves for Kafka (or a dead letter).
//! A stage reads either kind with [`Record::value_or_parse`]-style helpers of its own: take the
//! value when there is one, parse the bytes once otherwise.

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use crate::Ack;

/// A value that can travel on the bus typed, and be written as JSON at a Kafka edge.
pub trait BusValue: Any + Send + Sync {
    fn to_json_bytes(&self) -> Vec<u8>;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<T: serde::Serialize + Send + Sync + 'static> BusValue for T {
    fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a bus value always serialises")
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// A typed payload.
pub type Value = Arc<dyn BusValue>;

/// A consumed record with its position (topic, partition, offset).
#[derive(Clone)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    /// JSON bytes; empty when the record carries a typed `value` instead.
    pub payload: Vec<u8>,
    pub value: Option<Value>,
    /// Settled by the stage driver once the record is durable (see `crate::ack`).
    pub ack: Option<Ack>,
}

impl Record {
    /// A record of bytes, as Kafka delivers them.
    pub fn new(
        topic: &str,
        partition: i32,
        offset: i64,
        key: Option<Vec<u8>>,
        payload: Vec<u8>,
    ) -> Self {
        Self {
            topic: topic.to_string(),
            partition,
            offset,
            key,
            payload,
            value: None,
            ack: None,
        }
    }

    pub fn key_text(&self) -> Option<String> {
        self.key
            .as_ref()
            .map(|key| String::from_utf8_lossy(key).into_owned())
    }

    /// The typed value, when the record carries one of type `T`.
    pub fn value<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let value = self.value.clone()?;
        value.into_any().downcast::<T>().ok()
    }

    /// The payload as JSON bytes (written from the typed value when there is one).
    pub fn payload_bytes(&self) -> Cow<'_, [u8]> {
        match &self.value {
            Some(value) if self.payload.is_empty() => Cow::Owned(value.to_json_bytes()),
            _ => Cow::Borrowed(&self.payload),
        }
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Record")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("key", &self.key_text())
            .field("payload_bytes", &self.payload.len())
            .field("typed", &self.value.is_some())
            .finish()
    }
}

/// A record to produce.
#[derive(Clone)]
pub struct OutRecord {
    pub topic: String,
    pub key: String,
    /// JSON bytes; empty when `value` is set.
    pub payload: Vec<u8>,
    pub value: Option<Value>,
    pub ack: Option<Ack>,
}

impl OutRecord {
    pub fn new(topic: &str, key: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            topic: topic.to_string(),
            key: key.into(),
            payload: payload.into(),
            value: None,
            ack: None,
        }
    }

    /// A typed record: moved as it is on the in-process bus, written as JSON for Kafka.
    pub fn typed(topic: &str, key: impl Into<String>, value: Value) -> Self {
        Self {
            topic: topic.to_string(),
            key: key.into(),
            payload: Vec::new(),
            value: Some(value),
            ack: None,
        }
    }

    pub fn with_ack(mut self, ack: Option<Ack>) -> Self {
        self.ack = ack;
        self
    }

    /// The payload as JSON bytes (written from the typed value when there is one).
    pub fn payload_bytes(&self) -> Cow<'_, [u8]> {
        match &self.value {
            Some(value) if self.payload.is_empty() => Cow::Owned(value.to_json_bytes()),
            _ => Cow::Borrowed(&self.payload),
        }
    }

    /// This record is durable: its share of the acknowledgement is done.
    pub fn settle_ack(&self) {
        if let Some(ack) = &self.ack {
            ack.settle();
        }
    }
}

impl std::fmt::Debug for OutRecord {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OutRecord")
            .field("topic", &self.topic)
            .field("key", &self.key)
            .field("payload_bytes", &self.payload.len())
            .field("typed", &self.value.is_some())
            .finish()
    }
}
