//! Dead letters (`tidewatch.dlq`): what a stage could not parse or process, with the reason, the
//! stage, where it came from, and the original bytes.
//!
//! Why the original is capped: a record can be rejected *because* it is huge (a 10 MB line), and
//! Kafka refuses messages over its size limit, so the first [`DEAD_LETTER_ORIGINAL_CAP`] bytes are
//! kept along with the full length and a SHA-256 of the whole, which identify it exactly.

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How many bytes of the original record a dead letter carries.
pub const DEAD_LETTER_ORIGINAL_CAP: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub v: u32,
    /// The stage that gave up on the record: `replay`, `score`, `store`, …
    pub stage: String,
    /// Why, in words a person can act on.
    pub reason: String,
    /// A short machine-readable reason (`invalid_json`, `missing_field`, …).
    pub reason_kind: String,
    /// Where the record came from: a topic name or a file path with line number.
    pub origin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub original_len: usize,
    pub original_sha256: String,
    pub original_truncated: bool,
    /// The original bytes (up to the cap), base64 because they may not be UTF-8.
    pub original_base64: String,
}

impl DeadLetter {
    pub fn new(
        stage: &str,
        reason_kind: &str,
        reason: String,
        origin: String,
        original: &[u8],
    ) -> Self {
        let kept = &original[..original.len().min(DEAD_LETTER_ORIGINAL_CAP)];
        Self {
            v: crate::WIRE_VERSION,
            stage: stage.to_string(),
            reason,
            reason_kind: reason_kind.to_string(),
            origin,
            partition: None,
            offset: None,
            key: None,
            original_len: original.len(),
            original_sha256: hex(&Sha256::digest(original)),
            original_truncated: kept.len() < original.len(),
            original_base64: base64::engine::general_purpose::STANDARD.encode(kept),
        }
    }

    pub fn with_position(mut self, partition: i32, offset: i64) -> Self {
        self.partition = Some(partition);
        self.offset = Some(offset);
        self
    }

    pub fn with_key(mut self, key: Option<String>) -> Self {
        self.key = key;
        self
    }

    /// The original bytes carried (the first [`DEAD_LETTER_ORIGINAL_CAP`] of them).
    pub fn original_bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.original_base64)
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a dead letter always serialises")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_small_originals_whole_and_caps_large_ones() {
        let small = DeadLetter::new(
            "score",
            "invalid_json",
            "bad".into(),
            "posts.raw".into(),
            b"\xff{",
        );
        assert_eq!(small.original_bytes(), b"\xff{");
        assert!(!small.original_truncated);
        let big = vec![b'a'; 10 * 1024 * 1024];
        let letter = DeadLetter::new(
            "replay",
            "record_too_large",
            "big".into(),
            "f:3".into(),
            &big,
        );
        assert_eq!(letter.original_len, big.len());
        assert!(letter.original_truncated);
        assert_eq!(letter.original_bytes().len(), DEAD_LETTER_ORIGINAL_CAP);
        assert_eq!(letter.original_sha256.len(), 64);
    }
}
