//! Records as stages see them: owned bytes with their position, independent of the bus.

/// A consumed record with its position (topic, partition, offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

impl Record {
    pub fn key_text(&self) -> Option<String> {
        self.key
            .as_ref()
            .map(|key| String::from_utf8_lossy(key).into_owned())
    }
}

/// A record to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRecord {
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
}

impl OutRecord {
    pub fn new(topic: &str, key: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            topic: topic.to_string(),
            key: key.into(),
            payload: payload.into(),
        }
    }
}
