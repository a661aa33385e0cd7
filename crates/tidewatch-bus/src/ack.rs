//! End-to-end acknowledgements: how a producer learns that what it sent is durable downstream.
//!
//! On Kafka a record is durable once the broker acknowledged it. On the in-process bus nothing
//! is durable until the last stage has stored it, so a source that checkpoints (a collector)
//! must wait for that. An [`Ack`] travels with the records: the driver attaches the input's
//! handle to every output a transform makes of it, and settles a batch's handles once the
//! batch is durable (stored, produced, dead-lettered, or deliberately dropped as unwatched).
//!
//! Guarantees: [`Ack::new`]'s receiver answers `true` only when every handle ever made from it
//! was settled; a handle dropped unsettled (a stage stopped before the record was durable, a
//! crash of the task) makes it answer `false`. Cloning a handle makes a new, unsettled one:
//! whoever holds a handle is responsible for settling it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

struct AckShared {
    failed: AtomicBool,
    answer: Mutex<Option<oneshot::Sender<bool>>>,
}

impl Drop for AckShared {
    /// The last handle is gone: every handle was settled, or one was not.
    fn drop(&mut self) {
        let answer = self.answer.get_mut().ok().and_then(Option::take);
        if let Some(answer) = answer {
            let _ = answer.send(!self.failed.load(Ordering::Acquire));
        }
    }
}

/// One holder's share of an acknowledgement.
pub struct Ack {
    shared: Arc<AckShared>,
    settled: AtomicBool,
}

impl Ack {
    /// A first handle, and the receiver that says whether everything made from it is durable.
    pub fn new() -> (Ack, oneshot::Receiver<bool>) {
        let (sender, receiver) = oneshot::channel();
        let shared = Arc::new(AckShared {
            failed: AtomicBool::new(false),
            answer: Mutex::new(Some(sender)),
        });
        let ack = Ack {
            shared,
            settled: AtomicBool::new(false),
        };
        (ack, receiver)
    }

    /// This holder's part is durable (or deliberately finished).
    pub fn settle(&self) {
        self.settled.store(true, Ordering::Release);
    }
}

impl Clone for Ack {
    fn clone(&self) -> Self {
        Ack {
            shared: Arc::clone(&self.shared),
            settled: AtomicBool::new(false),
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if !self.settled.load(Ordering::Acquire) {
            self.shared.failed.store(true, Ordering::Release);
        }
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Ack")
            .field("settled", &self.settled.load(Ordering::Relaxed))
            .finish()
    }
}

/// Handles are equal when they acknowledge the same thing.
impl PartialEq for Ack {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Ack {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn durable_only_when_every_handle_is_settled() {
        let (first, answer) = Ack::new();
        let second = first.clone();
        let third = second.clone();
        first.settle();
        drop(first);
        second.settle();
        drop(second);
        third.settle();
        drop(third);
        assert!(answer.await.unwrap());

        let (first, answer) = Ack::new();
        let lost = first.clone();
        first.settle();
        drop(first);
        drop(lost); // a stage stopped before this copy was durable
        assert!(!answer.await.unwrap());
    }
}
