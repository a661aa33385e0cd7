//! Generic webhook bodies and their HMAC-SHA256 signature (pure).
//!
//! Guarantees:
//! * The body is JSON `{"v":1,"delivery_id":…,"type":"alert","event":{…},"link":…}` or
//!   `{"v":1,"delivery_id":…,"type":"action","action":{…},"link":…}`; `event` and `action` are
//!   the wire formats of `tidewatch-model`.
//! * Every request carries `X-Tidewatch-Timestamp: <unix seconds>` and
//!   `X-Tidewatch-Signature: sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`, plus
//!   `X-Tidewatch-Delivery: <notification id>` (the same on every retry) for receivers to drop
//!   repeats.
//! * [`verify_signature`] compares in constant time, and refuses a timestamp further than
//!   `tolerance` from `now` in either direction (replays), a malformed header, and any change
//!   to the body or timestamp.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::time::Duration;

use crate::notification::WebhookBody;

pub const TIMESTAMP_HEADER: &str = "X-Tidewatch-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Tidewatch-Signature";
pub const DELIVERY_HEADER: &str = "X-Tidewatch-Delivery";

type HmacSha256 = Hmac<Sha256>;

#[derive(Serialize)]
struct Envelope<'a> {
    v: u32,
    delivery_id: &'a str,
    #[serde(flatten)]
    body: &'a WebhookBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
}

/// The JSON body of one webhook delivery.
pub fn body_bytes(delivery_id: &str, body: &WebhookBody, story_link: Option<&str>) -> Vec<u8> {
    let envelope = Envelope {
        v: 1,
        delivery_id,
        body,
        link: story_link,
    };
    // Serialising plain data with string keys cannot fail.
    serde_json::to_vec(&envelope).unwrap_or_default()
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("hmac takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Tidewatch-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("sha256={}", hex::encode(digest))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header is not sha256=<64 hex digits>")]
    MalformedHeader,
    #[error("timestamp is not unix seconds")]
    MalformedTimestamp,
    #[error("timestamp is {seconds} s away from now, more than the tolerance")]
    OutsideTolerance { seconds: i64 },
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a received webhook: `timestamp` and `header` are the `X-Tidewatch-Timestamp` and
/// `X-Tidewatch-Signature` values, `body` the raw request body.
pub fn verify_signature(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    header: &str,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let hex_digest = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::MalformedHeader)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::MalformedHeader)?;
    if expected.len() != 32 {
        return Err(SignatureError::MalformedHeader);
    }
    let sent_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::MalformedTimestamp)?;
    let seconds = now.timestamp().saturating_sub(sent_at);
    let tolerance_seconds = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if seconds.unsigned_abs() > tolerance_seconds.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance { seconds });
    }
    mac(secret, timestamp.trim(), body)
        .verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{event, ts};
    use tidewatch_model::{AlertState, Severity};

    #[test]
    fn matches_the_rfc_4231_hmac_sha256_vector() {
        // RFC 4231 test case 2 (key "Jefe"): the HMAC construction itself is the standard one.
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let body = body_bytes(
            "s1/hook/1",
            &WebhookBody::Alert {
                event: event("s1", "acme", AlertState::Firing, Severity::Warning, 0),
            },
            Some("https://tw.test/#/stories/s1"),
        );
        let now = ts(1_000);
        let stamp = now.timestamp();
        let header = signature(b"secret", stamp, &body);
        let tolerance = Duration::from_secs(300);
        let check = |secret: &[u8], timestamp: &str, body: &[u8], header: &str| {
            verify_signature(secret, timestamp, body, header, now, tolerance)
        };
        assert_eq!(check(b"secret", &stamp.to_string(), &body, &header), Ok(()));
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(
            check(b"secret", &stamp.to_string(), &tampered, &header),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(b"other", &stamp.to_string(), &body, &header),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(b"secret", &(stamp + 1).to_string(), &body, &header),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(b"secret", &stamp.to_string(), &body, "md5=00"),
            Err(SignatureError::MalformedHeader)
        );
        let old = stamp - 301;
        let old_header = signature(b"secret", old, &body);
        assert_eq!(
            check(b"secret", &old.to_string(), &body, &old_header),
            Err(SignatureError::OutsideTolerance { seconds: 301 })
        );
    }

    #[test]
    fn body_has_the_documented_shape() {
        let alert = event("s1", "acme", AlertState::Firing, Severity::Warning, 0);
        let body = body_bytes(
            "s1/hook/1",
            &WebhookBody::Alert {
                event: alert.clone(),
            },
            None,
        );
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["v"], 1);
        assert_eq!(value["type"], "alert");
        assert_eq!(value["delivery_id"], "s1/hook/1");
        let parsed: tidewatch_model::AlertEvent =
            serde_json::from_value(value["event"].clone()).unwrap();
        assert_eq!(parsed, alert);
        assert!(value.get("link").is_none());
    }
}
