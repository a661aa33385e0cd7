//! Retry arithmetic shared by every tidewatch client of another service (collectors, alert
//! receivers): the jittered exponential backoff and reading a `Retry-After` value.
//!
//! Guarantees: pure (the random number and the current time are inputs), so callers stay
//! testable with paused time; [`backoff`] is between half and all of `base * 2^attempt`, never
//! more than `max`, without overflow for any attempt; [`parse_retry_after`] reads delta seconds
//! or an HTTP date (a date in the past is no wait) and gives `None` for anything else, so the
//! caller falls back on its own backoff.

use std::time::{Duration, SystemTime};

/// The wait before retry number `attempt` (0-based): between half and all of `base * 2^attempt`,
/// capped at `max`; `unit` is a random number in `[0, 1)` (the jitter, so that clients that
/// failed together do not retry together).
pub fn backoff(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let full = base
        .saturating_mul(2u32.saturating_pow(attempt.min(30)))
        .min(max);
    full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// A `Retry-After` header value as a wait: delta seconds, or an HTTP date relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(90))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
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

    proptest! {
        #[test]
        fn backoff_stays_within_half_and_all_of_the_capped_exponential(
            attempt in 0u32..100, base_ms in 1u64..10_000, max_ms in 1u64..1_000_000, unit in 0.0f64..1.0,
        ) {
            let base = Duration::from_millis(base_ms);
            let max = Duration::from_millis(max_ms.max(base_ms));
            let wait = backoff(attempt, base, max, unit);
            let full = base.saturating_mul(2u32.saturating_pow(attempt.min(30))).min(max);
            prop_assert!(wait <= full);
            prop_assert!(wait >= full / 2);
        }
    }
}
