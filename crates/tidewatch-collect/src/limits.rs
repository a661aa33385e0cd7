//! The arithmetic of being a polite client, apart from the HTTP: the request budget (a token
//! bucket), the jittered exponential backoff, and reading `Retry-After`.
//!
//! Guarantees:
//! * The request budget (`Bucket`) holds at most `per_minute` tokens, refilled continuously
//!   at `per_minute` per minute (tokio time); a burst of `per_minute` requests is allowed, then one every
//!   `60 / per_minute` seconds. It says how long to wait instead of sleeping itself.
//! * [`backoff`] and [`retry_after`] are `tidewatch_model::retry`'s (shared with the alert
//!   receivers): jittered, capped, deterministic given the random input; delta seconds or an
//!   HTTP date, `None` when unreadable (the caller then backs off on its own).

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

pub use tidewatch_model::retry::backoff;

/// The `Retry-After` header as a wait: delta seconds, or an HTTP date relative to `now` (a date
/// in the past is no wait). `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    tidewatch_model::retry::parse_retry_after(value, now)
}

#[cfg(test)]
mod tests {
    use super::*;

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
