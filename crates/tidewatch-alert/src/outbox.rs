//! The outbox: a bounded queue of notifications waiting to be delivered (pure; time passed in).
//!
//! Guarantees:
//! * At most `capacity` pending deliveries; [`Outbox::push`] refuses more (the service then
//!   refuses the event as retryable instead of dropping anything).
//! * **In order per story and receiver**: a delivery is handed out only when no earlier pending
//!   delivery has the same receiver and story, so an acknowledge or resolve never overtakes its
//!   trigger, even while the trigger is backing off. Other receivers and stories are not held up.
//! * Retries wait [`backoff`]: between half and all of `base * 2^attempt` (jitter from the
//!   caller's random number), capped at `max`; a `Retry-After` from the receiver replaces it
//!   (capped at `max` too, so one receiver cannot stall its stories for ever).
//! * A delivery is removed only by [`Outbox::complete`] (delivered, refused or given up), so
//!   the pending list persisted with the policy is exactly what still has to go out; the
//!   in-memory `ready_at` is not persisted, so after a restart everything is due at once.

use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

use crate::notification::Notification;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingDelivery {
    pub notification: Notification,
    /// Failed attempts so far.
    pub attempts: u32,
    #[serde(skip)]
    pub ready_at: Option<Instant>,
}

/// What the delivery loop should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum NextDelivery {
    Due(Box<PendingDelivery>),
    WaitUntil(Instant),
    Idle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outbox {
    capacity: usize,
    pending: VecDeque<PendingDelivery>,
}

pub use tidewatch_model::retry::backoff;

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Outbox {
            capacity: capacity.max(1),
            pending: VecDeque::new(),
        }
    }

    /// An outbox holding `pending` (from the state file), due at once. More than `capacity`
    /// are kept; new ones are refused until it drains below.
    pub fn restore(capacity: usize, pending: Vec<PendingDelivery>) -> Self {
        Outbox {
            capacity: capacity.max(1),
            pending: pending.into(),
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Room for `count` more deliveries?
    pub fn has_room_for(&self, count: usize) -> bool {
        self.pending.len().saturating_add(count) <= self.capacity
    }

    pub fn pending(&self) -> impl Iterator<Item = &PendingDelivery> {
        self.pending.iter()
    }

    /// Queues `notification`; `Err` gives it back when the outbox is full.
    pub fn push(&mut self, notification: Notification) -> Result<(), Box<Notification>> {
        if !self.has_room_for(1) {
            return Err(Box::new(notification));
        }
        self.pending.push_back(PendingDelivery {
            notification,
            attempts: 0,
            ready_at: None,
        });
        Ok(())
    }

    /// The oldest delivery that is due at `now` and not behind an earlier one of the same
    /// story and receiver; else when the next one is due.
    pub fn next(&self, now: Instant) -> NextDelivery {
        let mut blocked: HashSet<(&str, &str)> = HashSet::new();
        let mut earliest: Option<Instant> = None;
        for delivery in &self.pending {
            let key = (
                delivery.notification.receiver.as_str(),
                delivery.notification.story_id.as_str(),
            );
            if !blocked.insert(key) {
                continue;
            }
            match delivery.ready_at {
                Some(ready_at) if ready_at > now => {
                    earliest = Some(earliest.map_or(ready_at, |e| e.min(ready_at)));
                }
                _ => return NextDelivery::Due(Box::new(delivery.clone())),
            }
        }
        earliest.map_or(NextDelivery::Idle, NextDelivery::WaitUntil)
    }

    /// Removes the delivery `id` (delivered, refused or given up); `false` if it is not there.
    pub fn complete(&mut self, id: &str) -> bool {
        let before = self.pending.len();
        self.pending
            .retain(|delivery| delivery.notification.id != id);
        self.pending.len() != before
    }

    /// Counts a failed attempt of `id` and makes it wait `wait`; returns the attempts so far.
    pub fn retry_later(&mut self, id: &str, now: Instant, wait: Duration) -> Option<u32> {
        let delivery = self
            .pending
            .iter_mut()
            .find(|delivery| delivery.notification.id == id)?;
        delivery.attempts += 1;
        delivery.ready_at = Some(now + wait);
        Some(delivery.attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notification::{Message, WebhookBody};
    use crate::test_support::event;
    use tidewatch_model::{AlertState, Severity};

    fn note(id: &str, receiver: &str, story: &str) -> Notification {
        Notification {
            id: id.to_string(),
            receiver: receiver.to_string(),
            story_id: story.to_string(),
            message: Message::Webhook {
                body: WebhookBody::Alert {
                    event: event(story, "acme", AlertState::Firing, Severity::Info, 0),
                },
            },
        }
    }

    fn due_id(next: NextDelivery) -> Option<String> {
        match next {
            NextDelivery::Due(delivery) => Some(delivery.notification.id),
            _ => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_backing_off_delivery_holds_back_its_story_only() {
        let mut outbox = Outbox::new(10);
        outbox.push(note("1", "pd", "s1")).unwrap();
        outbox.push(note("2", "pd", "s1")).unwrap();
        outbox.push(note("3", "pd", "s2")).unwrap();
        let now = Instant::now();
        assert_eq!(due_id(outbox.next(now)).as_deref(), Some("1"));
        assert_eq!(
            outbox.retry_later("1", now, Duration::from_secs(5)),
            Some(1)
        );
        assert_eq!(
            due_id(outbox.next(now)).as_deref(),
            Some("3"),
            "2 waits behind 1"
        );
        assert!(outbox.complete("3"));
        assert_eq!(
            outbox.next(now),
            NextDelivery::WaitUntil(now + Duration::from_secs(5))
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(due_id(outbox.next(Instant::now())).as_deref(), Some("1"));
        assert!(outbox.complete("1"));
        assert_eq!(due_id(outbox.next(Instant::now())).as_deref(), Some("2"));
        assert!(outbox.complete("2"));
        assert_eq!(outbox.next(Instant::now()), NextDelivery::Idle);
    }

    #[test]
    fn the_outbox_is_bounded() {
        let mut outbox = Outbox::new(2);
        outbox.push(note("1", "pd", "s1")).unwrap();
        outbox.push(note("2", "pd", "s2")).unwrap();
        assert!(!outbox.has_room_for(1));
        assert_eq!(outbox.push(note("3", "pd", "s3")).unwrap_err().id, "3");
        assert_eq!(outbox.len(), 2);
    }

    #[test]
    fn pending_deliveries_round_trip_without_their_timers() {
        let mut outbox = Outbox::new(4);
        outbox.push(note("1", "pd", "s1")).unwrap();
        outbox.pending[0].attempts = 3;
        let json = serde_json::to_string(&outbox.pending().collect::<Vec<_>>()).unwrap();
        let pending: Vec<PendingDelivery> = serde_json::from_str(&json).unwrap();
        let restored = Outbox::restore(4, pending);
        assert_eq!(restored, outbox);
    }
}
