//! What a running stage tells the outside world about itself: since when its dependency has
//! been failing (ClickHouse refusing the password, the broker down, …) and when it last made a
//! batch durable.
//!
//! Guarantees: [`StageHealth`] is cheap to clone and to read from any thread (atomics and one
//! short lock); the driver marks the dependency failing on the first failed delivery of a batch
//! and healthy again only once a batch is durable. The same state is exported as metrics, each
//! with HELP text:
//! * `tidewatch_stage_dependency_failing{stage}`: 1 while deliveries fail, else 0;
//! * `tidewatch_stage_last_durable_batch_age_seconds{stage}`: seconds since the last durable
//!   batch (since the stage started, before the first one), refreshed whenever the stage polls;
//! * `tidewatch_stage_batches_in_flight{stage}`: batches processed but not yet durable.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A stage's dependency and durability state, shared with the binary's `/healthz`.
#[derive(Clone, Debug)]
pub struct StageHealth {
    inner: Arc<HealthInner>,
}

#[derive(Debug)]
struct HealthInner {
    stage: String,
    started_ms: i64,
    /// Milliseconds since the epoch; 0 = not failing / never.
    failing_since_ms: AtomicI64,
    last_durable_ms: AtomicI64,
    failure: Mutex<Option<String>>,
}

/// A point-in-time copy of [`StageHealth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageHealthSnapshot {
    pub stage: String,
    /// Set while the stage's dependency keeps failing; what it said last.
    pub dependency_failing_since: Option<SystemTime>,
    pub last_failure: Option<String>,
    pub last_durable_batch_at: Option<SystemTime>,
}

impl StageHealthSnapshot {
    pub fn is_healthy(&self) -> bool {
        self.dependency_failing_since.is_none()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

fn from_ms(ms: i64) -> Option<SystemTime> {
    (ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(ms as u64))
}

static DESCRIBE: Once = Once::new();

fn describe_metrics() {
    DESCRIBE.call_once(|| {
        metrics::describe_gauge!(
            "tidewatch_stage_dependency_failing",
            "1 while the stage's dependency (ClickHouse, the broker, a receiver) keeps failing and its batches wait, else 0"
        );
        metrics::describe_gauge!(
            "tidewatch_stage_last_durable_batch_age_seconds",
            "Seconds since the stage last made a batch durable (since it started, before the first)"
        );
        metrics::describe_gauge!(
            "tidewatch_stage_batches_in_flight",
            "Batches the stage has processed whose output is not durable yet"
        );
        metrics::describe_counter!(
            "tidewatch_stage_dependency_failures_total",
            "Failed attempts to make a batch durable because a dependency failed (retried, never dead-lettered)"
        );
    });
}

impl StageHealth {
    pub fn new(stage: &str) -> Self {
        describe_metrics();
        let health = Self {
            inner: Arc::new(HealthInner {
                stage: stage.to_string(),
                started_ms: now_ms(),
                failing_since_ms: AtomicI64::new(0),
                last_durable_ms: AtomicI64::new(0),
                failure: Mutex::new(None),
            }),
        };
        metrics::gauge!("tidewatch_stage_dependency_failing", "stage" => stage.to_string())
            .set(0.0);
        health.refresh_age();
        health
    }

    pub fn stage(&self) -> &str {
        &self.inner.stage
    }

    /// A delivery failed because of a dependency.
    pub fn dependency_failed(&self, failure: &str) {
        let _ = self.inner.failing_since_ms.compare_exchange(
            0,
            now_ms(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        *self.inner.failure.lock().expect("health lock poisoned") = Some(failure.to_string());
        metrics::gauge!("tidewatch_stage_dependency_failing", "stage" => self.inner.stage.clone())
            .set(1.0);
        metrics::counter!("tidewatch_stage_dependency_failures_total", "stage" => self.inner.stage.clone())
            .increment(1);
        self.refresh_age();
    }

    /// A batch is durable: the dependency works.
    pub fn batch_durable(&self) {
        self.inner
            .last_durable_ms
            .store(now_ms(), Ordering::Release);
        if self.inner.failing_since_ms.swap(0, Ordering::AcqRel) != 0 {
            metrics::gauge!("tidewatch_stage_dependency_failing", "stage" => self.inner.stage.clone())
                .set(0.0);
            tracing::info!(stage = %self.inner.stage, "dependency works again");
        }
        self.refresh_age();
    }

    /// Updates the age gauge (the driver calls it whenever it polls).
    pub fn refresh_age(&self) {
        let last = self.inner.last_durable_ms.load(Ordering::Acquire);
        let since = if last > 0 {
            last
        } else {
            self.inner.started_ms
        };
        let age = (now_ms() - since).max(0) as f64 / 1000.0;
        metrics::gauge!("tidewatch_stage_last_durable_batch_age_seconds", "stage" => self.inner.stage.clone())
            .set(age);
    }

    pub fn snapshot(&self) -> StageHealthSnapshot {
        StageHealthSnapshot {
            stage: self.inner.stage.clone(),
            dependency_failing_since: from_ms(self.inner.failing_since_ms.load(Ordering::Acquire)),
            last_failure: self
                .inner
                .failure
                .lock()
                .expect("health lock poisoned")
                .clone(),
            last_durable_batch_at: from_ms(self.inner.last_durable_ms.load(Ordering::Acquire)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_until_a_batch_is_durable() {
        let health = StageHealth::new("t");
        assert!(health.snapshot().is_healthy());
        assert_eq!(health.snapshot().last_durable_batch_at, None);
        health.dependency_failed("Code: 193 wrong password");
        let first = health.snapshot().dependency_failing_since.unwrap();
        health.dependency_failed("again");
        let snapshot = health.snapshot();
        assert_eq!(
            snapshot.dependency_failing_since,
            Some(first),
            "since the first"
        );
        assert_eq!(snapshot.last_failure.as_deref(), Some("again"));
        assert!(!snapshot.is_healthy());
        health.batch_durable();
        let snapshot = health.snapshot();
        assert!(snapshot.is_healthy());
        assert!(snapshot.last_durable_batch_at.is_some());
    }
}
