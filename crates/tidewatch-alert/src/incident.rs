//! Per-story incident state and per-watch paging history: the serialisable memory of the policy.
//!
//! Guarantees:
//! * An [`Incident`] remembers, per receiver, what was already sent (trigger, severity sent,
//!   acknowledge, resolve, Slack post), which is what makes a second trigger impossible.
//! * Redelivered events are recognised: an event older (`fired_at`) than the newest applied for
//!   the story, or equal to one of the story's last [`RECENT_EVENT_KEYS`] keys, is a repeat. The
//!   `alerts` topic is keyed by story id, so a story's events arrive in order and any repeat is
//!   one of these.
//! * [`WatchPaging`] keeps only the page times of the last hour (bounded by the page cap).
//! * [`RecentIds`] keeps the last `capacity` action ids, first in first out.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet, VecDeque};
use tidewatch_model::{AlertEvent, AlertState, Severity};

/// How many recent event keys a story remembers for recognising repeats.
pub const RECENT_EVENT_KEYS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Acknowledged,
    /// The detector sent `resolved`; a later firing of the same story reopens it.
    Resolved,
    /// A person resolved it: closed for good (webhooks still get the detector's events).
    ResolvedByPerson,
}

impl IncidentStatus {
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::ResolvedByPerson)
    }
}

/// What identifies one detector event of a story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventKey {
    pub state: AlertState,
    pub fired_at: DateTime<Utc>,
    pub severity: Severity,
    pub posts: u64,
}

impl EventKey {
    pub fn of(event: &AlertEvent) -> Self {
        EventKey {
            state: event.state,
            fired_at: event.fired_at,
            severity: event.severity,
            posts: event.posts,
        }
    }
}

/// What one receiver has been sent about one story.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverProgress {
    /// PagerDuty: the trigger that opened the incident was decided.
    pub triggered: bool,
    pub severity_sent: Option<Severity>,
    pub acknowledged: bool,
    pub resolved: bool,
    /// Slack / webhook: something about this story was posted.
    pub posted: bool,
    pub posts_sent: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub story_id: String,
    pub watch: String,
    pub status: IncidentStatus,
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The newest detector event applied.
    pub last_event: AlertEvent,
    pub recent_keys: VecDeque<EventKey>,
    pub receivers: BTreeMap<String, ReceiverProgress>,
    /// When the last input touched this incident (for retention).
    pub touched_at: DateTime<Utc>,
    /// Numbering of this story's notifications (for stable ids).
    pub notifications_decided: u64,
}

impl Incident {
    pub fn new(event: &AlertEvent, now: DateTime<Utc>) -> Self {
        Incident {
            story_id: event.story_id.clone(),
            watch: event.watch.clone(),
            status: IncidentStatus::Open,
            snoozed_until: None,
            last_event: event.clone(),
            recent_keys: VecDeque::new(),
            receivers: BTreeMap::new(),
            touched_at: now,
            notifications_decided: 0,
        }
    }

    /// True when `event` was applied before (a redelivery) or is older than the newest applied.
    pub fn is_repeat(&self, event: &AlertEvent) -> bool {
        if self.recent_keys.is_empty() {
            return false;
        }
        event.fired_at < self.last_event.fired_at || self.recent_keys.contains(&EventKey::of(event))
    }

    /// Records `event` as applied and moves the status along the detector's lifecycle.
    pub fn record(&mut self, event: &AlertEvent, now: DateTime<Utc>) {
        self.recent_keys.push_back(EventKey::of(event));
        while self.recent_keys.len() > RECENT_EVENT_KEYS {
            self.recent_keys.pop_front();
        }
        self.last_event = event.clone();
        self.touched_at = now;
        self.status = match (self.status, event.state) {
            (IncidentStatus::ResolvedByPerson, _) => IncidentStatus::ResolvedByPerson,
            (_, AlertState::Resolved) => IncidentStatus::Resolved,
            (IncidentStatus::Resolved, _) => IncidentStatus::Open,
            (status, _) => status,
        };
    }

    pub fn snoozed_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.snoozed_until.filter(|until| now < *until)
    }

    /// True when some receiver got the trigger that opened a PagerDuty incident.
    pub fn paged(&self) -> bool {
        self.receivers.values().any(|progress| progress.triggered)
    }

    pub fn progress(&mut self, receiver: &str) -> &mut ReceiverProgress {
        self.receivers.entry(receiver.to_string()).or_default()
    }

    pub fn next_notification_id(&mut self, receiver: &str) -> String {
        self.notifications_decided += 1;
        format!(
            "{}/{}/{}",
            self.story_id, receiver, self.notifications_decided
        )
    }
}

/// The pages (PagerDuty incidents opened) of one watch in the last hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WatchPaging {
    pub last_page_at: Option<DateTime<Utc>>,
    pub pages_last_hour: VecDeque<DateTime<Utc>>,
}

/// Why a new page must wait, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageGate {
    Open,
    Cooldown(DateTime<Utc>),
    Cap(DateTime<Utc>),
}

impl WatchPaging {
    pub fn forget_before(&mut self, now: DateTime<Utc>) {
        while self
            .pages_last_hour
            .front()
            .is_some_and(|at| *at <= now - Duration::hours(1))
        {
            self.pages_last_hour.pop_front();
        }
    }

    pub fn gate(&mut self, now: DateTime<Utc>, cooldown: Duration, max_per_hour: u32) -> PageGate {
        self.forget_before(now);
        if let Some(last) = self.last_page_at {
            if now < last + cooldown {
                return PageGate::Cooldown(last + cooldown);
            }
        }
        if self.pages_last_hour.len() >= max_per_hour as usize {
            let oldest = self.pages_last_hour.front().copied().unwrap_or(now);
            return PageGate::Cap(oldest + Duration::hours(1));
        }
        PageGate::Open
    }

    pub fn record_page(&mut self, now: DateTime<Utc>) {
        self.last_page_at = Some(now);
        self.pages_last_hour.push_back(now);
    }
}

/// The last `capacity` ids, first in first out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RecentIdsFile", into = "RecentIdsFile")]
pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
}

#[derive(Serialize, Deserialize)]
struct RecentIdsFile {
    capacity: usize,
    ids: VecDeque<String>,
}

impl From<RecentIdsFile> for RecentIds {
    fn from(file: RecentIdsFile) -> Self {
        let mut ids = RecentIds::new(file.capacity);
        for id in &file.ids {
            ids.insert(id);
        }
        ids
    }
}

impl From<RecentIds> for RecentIdsFile {
    fn from(ids: RecentIds) -> Self {
        RecentIdsFile {
            capacity: ids.capacity,
            ids: ids.order,
        }
    }
}

impl Default for RecentIds {
    fn default() -> Self {
        RecentIds::new(10_000)
    }
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        RecentIds {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    /// Remembers `id`; `false` when it was already there.
    pub fn insert(&mut self, id: &str) -> bool {
        if !self.set.insert(id.to_string()) {
            return false;
        }
        self.order.push_back(id.to_string());
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.set.remove(&oldest);
            }
        }
        true
    }

    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{event, ts};

    #[test]
    fn repeats_are_recognised_by_key_or_age() {
        let first = event("s1", "acme", AlertState::Firing, Severity::Warning, 100);
        let mut incident = Incident::new(&first, ts(100));
        assert!(!incident.is_repeat(&first));
        incident.record(&first, ts(100));
        assert!(incident.is_repeat(&first));
        let update = event("s1", "acme", AlertState::Updated, Severity::Critical, 200);
        assert!(!incident.is_repeat(&update));
        incident.record(&update, ts(200));
        assert!(incident.is_repeat(&first), "older than the newest applied");
        let resolved = event("s1", "acme", AlertState::Resolved, Severity::Critical, 300);
        incident.record(&resolved, ts(300));
        assert_eq!(incident.status, IncidentStatus::Resolved);
        let again = event("s1", "acme", AlertState::Firing, Severity::Warning, 400);
        incident.record(&again, ts(400));
        assert_eq!(incident.status, IncidentStatus::Open);
    }

    #[test]
    fn gate_applies_cooldown_then_cap() {
        let mut paging = WatchPaging::default();
        let cooldown = Duration::minutes(10);
        assert_eq!(paging.gate(ts(0), cooldown, 2), PageGate::Open);
        paging.record_page(ts(0));
        assert_eq!(
            paging.gate(ts(60), cooldown, 2),
            PageGate::Cooldown(ts(600))
        );
        assert_eq!(paging.gate(ts(600), cooldown, 2), PageGate::Open);
        paging.record_page(ts(600));
        assert_eq!(paging.gate(ts(1200), cooldown, 2), PageGate::Cap(ts(3600)));
        assert_eq!(paging.gate(ts(3600), cooldown, 2), PageGate::Open);
        assert_eq!(paging.pages_last_hour.len(), 1);
    }

    #[test]
    fn recent_ids_are_bounded_and_round_trip() {
        let mut ids = RecentIds::new(2);
        assert!(ids.insert("a"));
        assert!(!ids.insert("a"));
        assert!(ids.insert("b"));
        assert!(ids.insert("c"));
        assert!(!ids.contains("a"));
        let json = serde_json::to_string(&ids).unwrap();
        let again: RecentIds = serde_json::from_str(&json).unwrap();
        assert_eq!(again, ids);
    }
}
