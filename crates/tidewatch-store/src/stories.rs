//! Stories and their alerts, derived from alert events and actions.
//!
//! Guarantees:
//! * a story is the fold of its alert events: its latest values come from the event with the
//!   greatest `(fired_at, state rank resolved > updated > firing, posts)`, `fired_at` is its first
//!   event and `last_event_at` its last; min, max and argMax are unchanged by duplicate rows, so a
//!   redelivered event never changes a story;
//! * an alert's status is computed by [`alert_status`], a pure function of the story, its actions
//!   and `now`: open, unless a later action or a resolved event changed it; a snooze that has run
//!   out reads as the status before it.

use chrono::{DateTime, Utc};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tidewatch_model::{AlertAction, AlertActionKind, AlertState, Severity};

use crate::alerts::{parse_severity, parse_state, severity_name, state_name};
use crate::error::StoreError;
use crate::filters::{
    bind_filter, serialize_optional_time, serialize_time, time_of_seconds, TimeRange,
};
use crate::store::PostStore;

pub(crate) const LIST_STORIES: &str = "
SELECT story_id,
       argMax(watch, event_key) AS story_watch,
       argMax(title, event_key) AS story_title,
       argMax(terms, event_key) AS story_terms,
       argMax(state, event_key) AS story_state,
       argMax(severity, event_key) AS story_severity,
       min(first_post_at) AS story_first_post_at,
       min(fired_at) AS story_fired_at,
       max(fired_at) AS story_last_event_at,
       argMax(posts, event_key) AS story_posts,
       argMax(negative_share, event_key) AS story_negative_share,
       argMax(score, event_key) AS story_score,
       argMax(baseline, event_key) AS story_baseline,
       argMax(threshold, event_key) AS story_threshold,
       argMax(first_post_id, event_key) AS story_first_post_id,
       argMax(post_ids, event_key) AS story_post_ids
FROM (
    SELECT story_id, watch, title, terms, state, severity, first_post_at, fired_at, posts,
           negative_share, score, baseline, threshold, first_post_id, post_ids,
           (toUInt64(fired_at) * 4 + multiIf(state = 'resolved', 2, state = 'updated', 1, 0))
               * 1048576 + least(posts, 1048575) AS event_key
    FROM alert_events
    WHERE (? = 0 OR has(?, story_id)) AND (? = 0 OR has(?, watch))
)
GROUP BY story_id
HAVING story_last_event_at >= ? AND story_fired_at < ?
   AND (? = 0 OR has(?, story_state)) AND (? = 0 OR has(?, story_severity))
ORDER BY story_last_event_at DESC, story_id
LIMIT ?";

#[derive(Debug, Row, Deserialize)]
struct StoryRow {
    story_id: String,
    watch: String,
    title: String,
    terms: Vec<String>,
    state: String,
    severity: String,
    first_post_at: u32,
    fired_at: u32,
    last_event_at: u32,
    posts: u64,
    negative_share: f64,
    score: f64,
    baseline: f64,
    threshold: f64,
    first_post_id: String,
    post_ids: Vec<String>,
}

/// A story: the latest state of its alert events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    pub story_id: String,
    pub watch: String,
    pub title: String,
    pub terms: Vec<String>,
    pub state: AlertState,
    pub severity: Severity,
    #[serde(serialize_with = "serialize_time")]
    pub first_post_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub fired_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub last_event_at: DateTime<Utc>,
    pub posts: u64,
    pub negative_share: f64,
    pub score: f64,
    pub baseline: f64,
    pub threshold: f64,
    pub first_post_id: String,
    /// Evidence post keys of the latest event (not in the API's story object).
    #[serde(skip)]
    pub post_ids: Vec<String>,
}

impl From<StoryRow> for Story {
    fn from(row: StoryRow) -> Self {
        Story {
            state: parse_state(&row.state),
            severity: parse_severity(&row.severity),
            first_post_at: time_of_seconds(row.first_post_at),
            fired_at: time_of_seconds(row.fired_at),
            last_event_at: time_of_seconds(row.last_event_at),
            story_id: row.story_id,
            watch: row.watch,
            title: row.title,
            terms: row.terms,
            posts: row.posts,
            negative_share: row.negative_share,
            score: row.score,
            baseline: row.baseline,
            threshold: row.threshold,
            first_post_id: row.first_post_id,
            post_ids: row.post_ids,
        }
    }
}

/// Which stories to list: every list is an exact-match filter, empty for any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryQuery {
    pub story_ids: Vec<String>,
    pub watches: Vec<String>,
    /// `firing`, `updated`, `resolved`.
    pub states: Vec<String>,
    /// `info`, `warning`, `critical`.
    pub severities: Vec<String>,
    /// Stories with an event in this range.
    pub range: TimeRange,
    pub limit: u32,
}

pub(crate) fn bind_stories(
    query: clickhouse::query::Query,
    request: &StoryQuery,
) -> clickhouse::query::Query {
    let (from, to) = request.range.as_clickhouse_seconds();
    let query = bind_filter(query, &request.story_ids);
    let query = bind_filter(query, &request.watches).bind(from).bind(to);
    let query = bind_filter(query, &request.states);
    bind_filter(query, &request.severities).bind(request.limit)
}

/// Where an alert stands for the people handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Snoozed,
    Resolved,
}

impl AlertStatus {
    pub const ALL: [AlertStatus; 4] = [
        Self::Open,
        Self::Acknowledged,
        Self::Snoozed,
        Self::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Snoozed => "snoozed",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A story's alert with its handling status, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    pub story_id: String,
    pub watch: String,
    pub title: String,
    pub severity: Severity,
    pub state: AlertState,
    pub status: AlertStatus,
    #[serde(serialize_with = "serialize_time")]
    pub fired_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub first_post_at: DateTime<Utc>,
    #[serde(serialize_with = "serialize_time")]
    pub last_event_at: DateTime<Utc>,
    pub posts: u64,
    pub negative_share: f64,
    pub score: f64,
    pub baseline: f64,
    pub threshold: f64,
    pub terms: Vec<String>,
    pub acknowledged_by: Option<String>,
    #[serde(serialize_with = "serialize_optional_time")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    #[serde(serialize_with = "serialize_optional_time")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "serialize_optional_time")]
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// Who resolves an alert when the detector's resolved event does.
pub const DETECTOR_ACTOR: &str = "detector";

/// The alert of `story` after `actions` (the story's, in the order taken), at `now`.
pub fn alert_status(story: &Story, actions: &[AlertAction], now: DateTime<Utc>) -> AlertView {
    let mut view = AlertView {
        story_id: story.story_id.clone(),
        watch: story.watch.clone(),
        title: story.title.clone(),
        severity: story.severity,
        state: story.state,
        status: AlertStatus::Open,
        fired_at: story.fired_at,
        first_post_at: story.first_post_at,
        last_event_at: story.last_event_at,
        posts: story.posts,
        negative_share: story.negative_share,
        score: story.score,
        baseline: story.baseline,
        threshold: story.threshold,
        terms: story.terms.clone(),
        acknowledged_by: None,
        acknowledged_at: None,
        resolved_by: None,
        resolved_at: None,
        snoozed_until: None,
    };
    let mut event_applied = false;
    for action in actions
        .iter()
        .filter(|action| action.story_id == story.story_id)
    {
        if !event_applied && action.at >= story.last_event_at {
            apply_latest_event(&mut view, story);
            event_applied = true;
        }
        apply_action(&mut view, action);
    }
    if !event_applied {
        apply_latest_event(&mut view, story);
    }
    let snooze_over = view.snoozed_until.is_some_and(|until| until <= now);
    if view.status == AlertStatus::Snoozed && snooze_over {
        view.status = status_without_snooze(&view);
        view.snoozed_until = None;
    }
    view
}

fn apply_latest_event(view: &mut AlertView, story: &Story) {
    if story.state == AlertState::Resolved {
        view.status = AlertStatus::Resolved;
        view.resolved_by = Some(DETECTOR_ACTOR.to_string());
        view.resolved_at = Some(story.last_event_at);
        return;
    }
    if story.state == AlertState::Firing && view.status == AlertStatus::Resolved {
        view.status = AlertStatus::Open;
    }
}

fn status_without_snooze(view: &AlertView) -> AlertStatus {
    if view.acknowledged_at.is_some() {
        return AlertStatus::Acknowledged;
    }
    AlertStatus::Open
}

fn apply_action(view: &mut AlertView, action: &AlertAction) {
    match action.action {
        AlertActionKind::Ack => {
            view.acknowledged_by = Some(action.by.clone());
            view.acknowledged_at = Some(action.at);
            if view.status != AlertStatus::Resolved {
                view.status = AlertStatus::Acknowledged;
            }
        }
        AlertActionKind::Resolve => {
            view.status = AlertStatus::Resolved;
            view.resolved_by = Some(action.by.clone());
            view.resolved_at = Some(action.at);
            view.snoozed_until = None;
        }
        AlertActionKind::Snooze => {
            if view.status == AlertStatus::Resolved {
                return;
            }
            view.status = AlertStatus::Snoozed;
            view.snoozed_until = action.until;
        }
        AlertActionKind::Unsnooze => {
            if view.status == AlertStatus::Snoozed {
                view.status = status_without_snooze(view);
            }
            view.snoozed_until = None;
        }
    }
}

impl Story {
    pub fn state_name(&self) -> &'static str {
        state_name(self.state)
    }

    pub fn severity_name(&self) -> &'static str {
        severity_name(self.severity)
    }
}

impl PostStore {
    /// Stories matching the request, most recently active first.
    pub async fn stories(&self, request: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        let rows: Vec<StoryRow> = bind_stories(self.client().query(LIST_STORIES), request)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("list stories"))?;
        metrics::counter!("tidewatch_store_queries_total", "query" => "stories").increment(1);
        Ok(rows.into_iter().map(Story::from).collect())
    }

    /// One story by id, whenever its events happened.
    pub async fn story(&self, story_id: &str) -> Result<Option<Story>, StoreError> {
        let request = StoryQuery {
            story_ids: vec![story_id.to_string()],
            watches: Vec::new(),
            states: Vec::new(),
            severities: Vec::new(),
            range: TimeRange {
                from: time_of_seconds(0),
                to: time_of_seconds(u32::MAX),
            },
            limit: 1,
        };
        Ok(self.stories(&request).await?.into_iter().next())
    }
}

#[cfg(test)]
mod tests;
