//! Where the collectors hand their posts: the [`PostSink`] trait (the binary implements it on the
//! bus producer: `posts.raw` keyed `source:source_id`, and the dead-letter topic), and
//! [`MemorySink`], an in-memory implementation for tests and demos.
//!
//! Guarantees of the contract:
//! * `publish` returns `Ok` only once every post of the call is durable (the produce was
//!   acknowledged). The collectors save a cursor only after that `Ok`, so a crash before it
//!   re-delivers (at least once) and never skips.
//! * A [`SinkError`] says whether it is retryable (a broker hiccup: the collectors retry the
//!   same batch with backoff) or fatal (the run stops and reports it).
//! * `dead_letter` carries the reason, the original bytes (capped by the model) and the origin
//!   (`<source name> <url or stream>`), stage [`crate::poll::STAGE`].

use std::sync::{Arc, Mutex};
use tidewatch_model::{DeadLetter, Post};

/// Re-exported so that implementers do not need their own dependency on `async-trait`.
pub use async_trait::async_trait;

/// Why the sink did not take a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Worth trying again with the same batch (broker unavailable, timeout, queue full).
    #[error("sink unavailable (retryable): {0}")]
    Retryable(String),
    /// Trying again cannot help (misconfiguration, authorisation): the run stops.
    #[error("sink failed (fatal): {0}")]
    Fatal(String),
}

impl SinkError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SinkError::Retryable(_))
    }
}

/// The durable destination of collected posts and of the payloads that could not be parsed.
#[async_trait]
pub trait PostSink: Send + Sync {
    /// Makes `posts` durable (in order), keyed `source:source_id`. `Ok` means all of them are.
    async fn publish(&self, posts: Vec<Post>) -> Result<(), SinkError>;

    /// Makes one dead letter durable (the dead-letter topic).
    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), SinkError>;
}

#[derive(Debug, Default)]
struct MemoryInner {
    posts: Vec<Post>,
    dead_letters: Vec<DeadLetter>,
    /// The next `publish` calls that fail (retryably), counted down.
    failures_left: usize,
}

/// Keeps everything in memory; can be told to fail the next `n` publishes (retryably).
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    inner: Arc<Mutex<MemoryInner>>,
}

impl MemorySink {
    pub fn new() -> Self {
        MemorySink::default()
    }

    /// Makes the next `count` calls to `publish` fail with [`SinkError::Retryable`].
    pub fn fail_next(&self, count: usize) {
        self.lock().failures_left = count;
    }

    /// Every post published so far, in publish order.
    pub fn posts(&self) -> Vec<Post> {
        self.lock().posts.clone()
    }

    /// How many posts were published so far (without copying them).
    pub fn post_count(&self) -> usize {
        self.lock().posts.len()
    }

    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.lock().dead_letters.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl PostSink for MemorySink {
    async fn publish(&self, posts: Vec<Post>) -> Result<(), SinkError> {
        let mut inner = self.lock();
        if inner.failures_left > 0 {
            inner.failures_left -= 1;
            return Err(SinkError::Retryable("memory sink told to fail".to_string()));
        }
        inner.posts.extend(posts);
        Ok(())
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Result<(), SinkError> {
        self.lock().dead_letters.push(letter);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_sink_keeps_order_and_fails_when_told() {
        let sink = MemorySink::new();
        let letter = DeadLetter::new("collect", "not_json", "bad".into(), "x".into(), b"{");
        sink.dead_letter(letter.clone()).await.unwrap();
        sink.fail_next(1);
        let error = sink.publish(Vec::new()).await.unwrap_err();
        assert!(error.is_retryable());
        sink.publish(Vec::new()).await.unwrap();
        assert_eq!(sink.dead_letters(), [letter]);
        assert!(sink.posts().is_empty());
        assert_eq!(sink.post_count(), 0);
        assert!(!SinkError::Fatal("no".into()).is_retryable());
    }
}
