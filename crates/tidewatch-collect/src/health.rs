//! Collector health: whether a source is working, apart from whether its stories alert.
//!
//! Guarantees:
//! * The status is a pure function of the recorded times and `now` ([`HealthState::status`]):
//!   no clock is read here, so the same history always gives the same status.
//! * A failure more recent than the last success is `RateLimited` when the source said so
//!   (HTTP 429 after the retries) and `Failing` otherwise; otherwise a source that produced no
//!   post for longer than `silent_after` (since its last post, or since it started) is `Silent`;
//!   otherwise it is `Ok`. A success after failures clears them at once.

use serde::Serialize;
use std::time::Duration;
use tokio::time::Instant;

/// What the API and alerting show for a collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    Failing,
    RateLimited,
    Silent,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Failing => "failing",
            Health::RateLimited => "rate_limited",
            Health::Silent => "silent",
        }
    }
}

/// The history that the status is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthState {
    pub started: Instant,
    pub last_success: Option<Instant>,
    pub last_failure: Option<Instant>,
    /// Whether the last failure was the source limiting us.
    pub last_failure_rate_limited: bool,
    pub consecutive_failures: u32,
    /// The last cycle that brought at least one new post.
    pub last_post: Option<Instant>,
}

impl HealthState {
    pub fn new(started: Instant) -> Self {
        HealthState {
            started,
            last_success: None,
            last_failure: None,
            last_failure_rate_limited: false,
            consecutive_failures: 0,
            last_post: None,
        }
    }

    pub fn record_success(&mut self, at: Instant, new_posts: usize) {
        self.last_success = Some(at);
        self.consecutive_failures = 0;
        if new_posts > 0 {
            self.last_post = Some(at);
        }
    }

    pub fn record_failure(&mut self, at: Instant, rate_limited: bool) {
        self.last_failure = Some(at);
        self.last_failure_rate_limited = rate_limited;
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
    }

    pub fn status(&self, now: Instant, silent_after: Duration) -> Health {
        let failed_last = match (self.last_failure, self.last_success) {
            (Some(failure), Some(success)) => failure > success,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if failed_last {
            return if self.last_failure_rate_limited {
                Health::RateLimited
            } else {
                Health::Failing
            };
        }
        let quiet_since = self.last_post.unwrap_or(self.started);
        if now.saturating_duration_since(quiet_since) > silent_after {
            Health::Silent
        } else {
            Health::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_history() {
        let start = Instant::now();
        let at = |seconds| start + Duration::from_secs(seconds);
        let silent = Duration::from_secs(100);
        let mut state = HealthState::new(start);
        assert_eq!(state.status(at(10), silent), Health::Ok);
        assert_eq!(state.status(at(101), silent), Health::Silent);
        state.record_failure(at(5), false);
        assert_eq!(state.status(at(10), silent), Health::Failing);
        state.record_success(at(20), 3);
        assert_eq!(state.status(at(30), silent), Health::Ok);
        assert_eq!(state.consecutive_failures, 0);
        state.record_failure(at(40), true);
        assert_eq!(state.status(at(41), silent), Health::RateLimited);
        state.record_success(at(50), 0);
        assert_eq!(state.status(at(110), silent), Health::Ok);
        assert_eq!(state.status(at(121), silent), Health::Silent);
        assert_eq!(Health::RateLimited.as_str(), "rate_limited");
    }
}
