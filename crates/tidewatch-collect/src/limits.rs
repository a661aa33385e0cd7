//! The arithmetic of being a polite client, apart from the HTTP: the request budget (a token
//! bucket), the jittered exponential backoff, and reading `Retry-After`.
//!
//! Guarantees:
//! * The request budget (`Bucket`) holds at most `per_minute` tokens, refilled continuously
//!   at `per_minute` per minute (tokio time); a burst of `per_minute` requests is allowed, then one every
//!   `60 / per_minute` seconds. It says how long to wait instead of sleeping itself.
//! * [`backoff`] is deterministic given its random input: between half and all of
//!   `base * 2^attempt`, never more than `max`, without overflow for any attempt.
//! * [`retry_after`] reads delta seconds or an HTTP date; a date in the past is no wait, and an
//!   unreadable value is `None` (the caller then backs off on its own).

use reqwest::header::HeaderMap;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// A token bucket of `capacity` tokens refilled at `capacity` per minute.
#[derive(Debug)]
pub(crate) struct Bucket {
    capacity: f64,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    pub(crate) fn new(per_minute: u32) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Bucket {
            capacity,
            tokens: capacity,
            updated: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is there.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.capacity / 60.0).min(self.capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) * 60.0 / self.capacity,
            ))
        }
    }
}

/// The wait of attempt `attempt` (0-based): between half and all of `base * 2^attempt`, capped
/// at `max`; `unit` is a random number in `[0, 1)`.
pub fn backoff(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let full = base
        .saturating_mul(2u32.saturating_pow(attempt.min(30)))
        .min(max);
    full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// The `Retry-After` header as a wait: delta seconds, or an HTTP date relative to `now` (a date
/// in the past is no wait). `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(120)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(90)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&earlier).unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        assert_eq!(backoff(0, base, max, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(0, base, max, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(2, base, max, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(9, base, max, 1.0), max);
        assert_eq!(
            backoff(u32::MAX, base, max, 0.5),
            Duration::from_millis(750)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_refills_continuously() {
        let mut bucket = Bucket::new(2);
        let start = Instant::now();
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start).is_ok());
        assert_eq!(bucket.take(start), Err(Duration::from_secs(30)));
        assert!(bucket.take(start + Duration::from_secs(30)).is_ok());
    }
}
