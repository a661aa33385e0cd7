//! The arithmetic of being a polite client, apart from the HTTP: the request budget (a token
//! bucket), the jittered exponential backoff, and reading `Retry-After`.
//!
//! Guarantees:
//! * The request budget (`Bucket`) holds at most `per_minute` tokens, refilled continuously
//!   at `per_minute` per minute (tokio time); a burst of `per_minute` requests is allowed, then one every
//!   `60 / per_minute` seconds. It says how long to wait instead of sleeping itself.
//! * [`RateBudget`] is the budget one credential has, shared by every source that uses it (two
//!   Reddit sources on one client id wait on one budget): the bucket, plus a pause the server
//!   asked for (`Retry-After`, `X-Ratelimit-Reset` with nothing remaining) that holds every
//!   request of every sharer until it ends, and that health reports as `rate_limited` with the
//!   time it resumes. A pause only ever extends, never shortens. `governor` was considered: its
//!   waits run on `futures-timer` and its own clock, not tokio's (tests could not pause time), and
//!   it has no server-imposed pause; the bucket here is 30 lines.
//! * [`backoff`] and [`retry_after`] are `tidewatch_model::retry`'s (shared with the alert
//!   receivers): jittered, capped, deterministic given the random input; delta seconds or an
//!   HTTP date, `None` when unreadable (the caller then backs off on its own).

use reqwest::header::HeaderMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// A request budget shared by every source on one credential (see the module docs).
#[derive(Debug, Clone)]
pub struct RateBudget {
    inner: Arc<Mutex<BudgetState>>,
}

#[derive(Debug)]
struct BudgetState {
    bucket: Bucket,
    paused_until: Option<Instant>,
}

impl RateBudget {
    pub fn new(per_minute: u32) -> Self {
        RateBudget {
            inner: Arc::new(Mutex::new(BudgetState {
                bucket: Bucket::new(per_minute),
                paused_until: None,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds every request on this budget until `until` (extends a pause, never shortens it).
    pub fn pause_until(&self, until: Instant) {
        let mut state = self.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
    }

    /// The end of the pause the server asked for, if it is still running at `now`.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.lock().paused_until.filter(|until| *until > now)
    }

    /// Waits (tokio time) for the pause to end and a token to be there, and takes it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.lock();
                let now = Instant::now();
                match state.paused_until {
                    Some(until) if until > now => Err(until - now),
                    _ => state.bucket.take(now),
                }
            };
            match wait {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

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

/// Reddit-style `X-Ratelimit-Reset` (seconds until the window resets), capped at an hour.
pub fn ratelimit_reset(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("x-ratelimit-reset")?.to_str().ok()?;
    let seconds = value.trim().parse::<f64>().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(3600.0)))
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

    #[tokio::test(start_paused = true)]
    async fn a_shared_budget_holds_every_sharer_until_the_pause_ends() {
        let budget = RateBudget::new(600);
        let other = budget.clone();
        let start = Instant::now();
        budget.pause_until(start + Duration::from_secs(40));
        budget.pause_until(start + Duration::from_secs(10));
        assert_eq!(
            other.paused_until(start),
            Some(start + Duration::from_secs(40))
        );
        other.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(40));
        assert_eq!(budget.paused_until(Instant::now()), None);
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-reset", "42".parse().unwrap());
        assert_eq!(ratelimit_reset(&headers), Some(Duration::from_secs(42)));
    }
}
