//! Alert events, alert actions and collector health: writing them, and reading them back
//! deduplicated.
//!
//! Guarantees:
//! * `insert_*` return `Ok` only after ClickHouse acknowledged the batch (the point after which a
//!   Kafka offset may be stored); an empty slice touches no server;
//! * a redelivered alert event (same story, state, `fired_at` and size) or alert action (same
//!   `action_id`) is written again harmlessly: every read folds duplicates (`GROUP BY` the
//!   identity, `argMax(…, version)` for the rest), before and after merges;
//! * collector health reads the latest check per collector name.

use chrono::{DateTime, Utc};
use clickhouse::Row;
use serde::{Deserialize, Serialize};
use tidewatch_model::{AlertAction, AlertActionKind, AlertEvent, AlertState, Severity};

use crate::error::StoreError;
use crate::filters::{serialize_optional_time, serialize_time, time_of_seconds};
use crate::schema::{ALERT_ACTIONS_TABLE, ALERT_EVENTS_TABLE, COLLECTOR_HEALTH_TABLE};
use crate::sink::clickhouse_datetime;
use crate::store::PostStore;

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub(crate) struct AlertEventRow<'a> {
    story_id: &'a str,
    state: &'static str,
    fired_at: u32,
    posts: u64,
    watch: &'a str,
    severity: &'static str,
    first_post_at: u32,
    title: &'a str,
    terms: &'a [String],
    negative_share: f64,
    score: f64,
    baseline: f64,
    threshold: f64,
    post_ids: &'a [String],
    first_post_id: &'a str,
    version: u64,
}

#[derive(Debug, Clone, PartialEq, Row, Serialize)]
pub(crate) struct AlertActionRow<'a> {
    action_id: &'a str,
    story_id: &'a str,
    watch: &'a str,
    action: &'static str,
    actor: &'a str,
    at: u32,
    until: u32,
    note: &'a str,
    version: u64,
}

/// The health of one collector at one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectorHealthRow {
    pub name: String,
    /// The source kind (mastodon, rss, …).
    pub kind: String,
    pub status: CollectorStatus,
    #[serde(serialize_with = "serialize_optional_time")]
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub posts_last_hour: u64,
    #[serde(serialize_with = "serialize_time")]
    pub checked_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectorStatus {
    Ok,
    Failing,
    RateLimited,
    Silent,
}

impl CollectorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failing => "failing",
            Self::RateLimited => "rate_limited",
            Self::Silent => "silent",
        }
    }

    /// Unknown stored values read as `failing`: a status nobody understands is not healthy.
    pub fn parse(text: &str) -> Self {
        match text {
            "ok" => Self::Ok,
            "rate_limited" => Self::RateLimited,
            "silent" => Self::Silent,
            _ => Self::Failing,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
struct CollectorHealthDbRow {
    name: String,
    kind: String,
    status: String,
    last_success_at: u32,
    last_error: String,
    posts_last_hour: u64,
    checked_at: u32,
}

pub fn state_name(state: AlertState) -> &'static str {
    match state {
        AlertState::Firing => "firing",
        AlertState::Updated => "updated",
        AlertState::Resolved => "resolved",
    }
}

pub fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

pub(crate) fn parse_state(text: &str) -> AlertState {
    match text {
        "resolved" => AlertState::Resolved,
        "updated" => AlertState::Updated,
        _ => AlertState::Firing,
    }
}

pub(crate) fn parse_severity(text: &str) -> Severity {
    match text {
        "critical" => Severity::Critical,
        "info" => Severity::Info,
        _ => Severity::Warning,
    }
}

pub(crate) fn parse_action_kind(text: &str) -> Option<AlertActionKind> {
    match text {
        "ack" => Some(AlertActionKind::Ack),
        "resolve" => Some(AlertActionKind::Resolve),
        "snooze" => Some(AlertActionKind::Snooze),
        "unsnooze" => Some(AlertActionKind::Unsnooze),
        _ => None,
    }
}

pub(crate) const STORY_EVENTS: &str = "
SELECT story_id, state, fired_at, posts,
       argMax(watch, version), argMax(severity, version), argMax(first_post_at, version),
       argMax(title, version), argMax(terms, version), argMax(negative_share, version),
       argMax(score, version), argMax(baseline, version), argMax(threshold, version),
       argMax(post_ids, version), argMax(first_post_id, version)
FROM alert_events
WHERE story_id = ?
GROUP BY story_id, state, fired_at, posts
ORDER BY fired_at, posts, state";

pub(crate) const STORY_ACTIONS: &str = "
SELECT action_id, argMax(story_id, version), argMax(watch, version), argMax(action, version),
       argMax(actor, version), argMax(at, version), argMax(until, version), argMax(note, version),
       min(version) AS first_written
FROM alert_actions
WHERE has(?, story_id)
GROUP BY action_id
ORDER BY action_id";

pub(crate) const LATEST_COLLECTOR_HEALTH: &str = "
SELECT name, argMax(kind, checked_at), argMax(status, checked_at),
       argMax(last_success_at, checked_at), argMax(last_error, checked_at),
       argMax(posts_last_hour, checked_at), max(checked_at)
FROM collector_health
GROUP BY name
ORDER BY name";

/// Stories with an event or action written after `version` (microseconds), with the newest
/// version seen for each.
pub(crate) const CHANGED_STORIES: &str = "
SELECT story_id, max(version) AS newest
FROM (
    SELECT story_id, version FROM alert_events WHERE version > ?
    UNION ALL
    SELECT story_id, version FROM alert_actions WHERE version > ?
)
GROUP BY story_id
ORDER BY newest";

#[derive(Debug, Row, Deserialize)]
struct EventDbRow {
    story_id: String,
    state: String,
    fired_at: u32,
    posts: u64,
    watch: String,
    severity: String,
    first_post_at: u32,
    title: String,
    terms: Vec<String>,
    negative_share: f64,
    score: f64,
    baseline: f64,
    threshold: f64,
    post_ids: Vec<String>,
    first_post_id: String,
}

/// The last element is when the action was first written (microseconds): the tiebreak between
/// actions taken in the same second.
type ActionTuple = (
    String,
    String,
    String,
    String,
    String,
    u32,
    u32,
    String,
    u64,
);

fn event_of_row(row: EventDbRow) -> AlertEvent {
    AlertEvent {
        v: tidewatch_model::WIRE_VERSION,
        state: parse_state(&row.state),
        severity: parse_severity(&row.severity),
        fired_at: time_of_seconds(row.fired_at),
        first_post_at: time_of_seconds(row.first_post_at),
        story_id: row.story_id,
        watch: row.watch,
        title: row.title,
        terms: row.terms,
        posts: row.posts,
        negative_share: row.negative_share,
        score: row.score,
        baseline: row.baseline,
        threshold: row.threshold,
        post_ids: row.post_ids,
        first_post_id: row.first_post_id,
    }
}

fn action_of_tuple(tuple: ActionTuple) -> Option<AlertAction> {
    let (action_id, story_id, watch, action, by, at, until, note, _) = tuple;
    Some(AlertAction {
        v: tidewatch_model::WIRE_VERSION,
        action_id,
        story_id,
        watch,
        action: parse_action_kind(&action)?,
        by,
        at: time_of_seconds(at),
        until: (until > 0).then(|| time_of_seconds(until)),
        note: (!note.is_empty()).then_some(note),
    })
}

impl PostStore {
    /// Stores alert events; see the module docs.
    pub async fn insert_alert_events(&self, events: &[AlertEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let version = self.next_row_version();
        let rows: Vec<AlertEventRow<'_>> = events
            .iter()
            .map(|event| AlertEventRow {
                story_id: &event.story_id,
                state: state_name(event.state),
                fired_at: clickhouse_datetime(&event.fired_at),
                posts: event.posts,
                watch: &event.watch,
                severity: severity_name(event.severity),
                first_post_at: clickhouse_datetime(&event.first_post_at),
                title: &event.title,
                terms: &event.terms,
                negative_share: event.negative_share,
                score: event.score,
                baseline: event.baseline,
                threshold: event.threshold,
                post_ids: &event.post_ids,
                first_post_id: &event.first_post_id,
                version,
            })
            .collect();
        self.insert_rows::<AlertEventRow<'static>>(
            ALERT_EVENTS_TABLE,
            &rows,
            "insert alert events",
        )
        .await?;
        metrics::counter!("tidewatch_store_rows_total", "table" => ALERT_EVENTS_TABLE)
            .increment(rows.len() as u64);
        Ok(())
    }

    /// Stores alert actions; see the module docs.
    pub async fn insert_alert_actions(&self, actions: &[AlertAction]) -> Result<(), StoreError> {
        if actions.is_empty() {
            return Ok(());
        }
        let version = self.next_row_version();
        let rows: Vec<AlertActionRow<'_>> = actions
            .iter()
            .map(|action| AlertActionRow {
                action_id: &action.action_id,
                story_id: &action.story_id,
                watch: &action.watch,
                action: action.action.as_str(),
                actor: &action.by,
                at: clickhouse_datetime(&action.at),
                until: action.until.as_ref().map_or(0, clickhouse_datetime),
                note: action.note.as_deref().unwrap_or(""),
                version,
            })
            .collect();
        self.insert_rows::<AlertActionRow<'static>>(
            ALERT_ACTIONS_TABLE,
            &rows,
            "insert alert actions",
        )
        .await?;
        metrics::counter!("tidewatch_store_rows_total", "table" => ALERT_ACTIONS_TABLE)
            .increment(rows.len() as u64);
        Ok(())
    }

    /// Stores collector health checks.
    pub async fn insert_collector_health(
        &self,
        rows: &[CollectorHealthRow],
    ) -> Result<(), StoreError> {
        let rows: Vec<CollectorHealthDbRow> = rows
            .iter()
            .map(|row| CollectorHealthDbRow {
                name: row.name.clone(),
                kind: row.kind.clone(),
                status: row.status.as_str().to_string(),
                last_success_at: row.last_success_at.as_ref().map_or(0, clickhouse_datetime),
                last_error: row.last_error.clone().unwrap_or_default(),
                posts_last_hour: row.posts_last_hour,
                checked_at: clickhouse_datetime(&row.checked_at),
            })
            .collect();
        self.insert_rows::<CollectorHealthDbRow>(
            COLLECTOR_HEALTH_TABLE,
            &rows,
            "insert collector health",
        )
        .await
    }

    /// The latest health check of every collector, by name.
    pub async fn collector_health(&self) -> Result<Vec<CollectorHealthRow>, StoreError> {
        let rows: Vec<CollectorHealthDbRow> = self
            .client()
            .query(LATEST_COLLECTOR_HEALTH)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("collector health"))?;
        Ok(rows
            .into_iter()
            .map(|row| CollectorHealthRow {
                status: CollectorStatus::parse(&row.status),
                last_success_at: (row.last_success_at > 0)
                    .then(|| time_of_seconds(row.last_success_at)),
                last_error: (!row.last_error.is_empty()).then_some(row.last_error),
                checked_at: time_of_seconds(row.checked_at),
                name: row.name,
                kind: row.kind,
                posts_last_hour: row.posts_last_hour,
            })
            .collect())
    }

    /// A story's alert events, each once, oldest first.
    pub async fn story_events(&self, story_id: &str) -> Result<Vec<AlertEvent>, StoreError> {
        let rows: Vec<EventDbRow> = self
            .client()
            .query(STORY_EVENTS)
            .bind(story_id)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("story events"))?;
        Ok(rows.into_iter().map(event_of_row).collect())
    }

    /// The actions on these stories, each once, in the order they were taken.
    pub async fn story_actions(
        &self,
        story_ids: &[String],
    ) -> Result<Vec<AlertAction>, StoreError> {
        if story_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ActionTuple> = self
            .client()
            .query(STORY_ACTIONS)
            .bind(story_ids)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("story actions"))?;
        let mut rows = rows;
        rows.sort_by(|left, right| (left.5, left.8, &left.0).cmp(&(right.5, right.8, &right.0)));
        Ok(rows.into_iter().filter_map(action_of_tuple).collect())
    }

    /// Stories whose events or actions were written after `after_version`, with the newest
    /// version of each (for the SSE poller).
    pub async fn changed_stories(
        &self,
        after_version: u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        self.client()
            .query(CHANGED_STORIES)
            .bind(after_version)
            .bind(after_version)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("changed stories"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in [
            AlertState::Firing,
            AlertState::Updated,
            AlertState::Resolved,
        ] {
            assert_eq!(parse_state(state_name(state)), state);
        }
        for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
            assert_eq!(parse_severity(severity_name(severity)), severity);
        }
        for kind in [
            AlertActionKind::Ack,
            AlertActionKind::Resolve,
            AlertActionKind::Snooze,
            AlertActionKind::Unsnooze,
        ] {
            assert_eq!(parse_action_kind(kind.as_str()), Some(kind));
        }
        for status in [
            CollectorStatus::Ok,
            CollectorStatus::Failing,
            CollectorStatus::RateLimited,
            CollectorStatus::Silent,
        ] {
            assert_eq!(CollectorStatus::parse(status.as_str()), status);
        }
        assert_eq!(CollectorStatus::parse("weird"), CollectorStatus::Failing);
        assert_eq!(parse_action_kind("drop table"), None);
    }

    #[test]
    fn an_action_without_until_or_note_reads_back_as_none() {
        let action = action_of_tuple((
            "a1".into(),
            "s1".into(),
            "acme".into(),
            "ack".into(),
            "alice".into(),
            1_424_715_331,
            0,
            String::new(),
            7,
        ))
        .unwrap();
        assert_eq!(action.until, None);
        assert_eq!(action.note, None);
        assert_eq!(action.by, "alice");
    }
}
