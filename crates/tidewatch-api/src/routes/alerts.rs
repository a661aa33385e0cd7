//! Stories and alerts: lists, details, and the actions responders take (ack, resolve, snooze,
//! unsnooze).
//!
//! Guarantees: reads need the viewer role, actions the responder role; an unknown story is 404
//! JSON; an action is stored in ClickHouse first (so every list shows it at once, on every API
//! replica) and then published through the [`crate::ActionSink`]; if publishing fails the answer
//! is 503 JSON (the action stays recorded; repeating it records another action, which the
//! status fold handles). Every action carries a fresh unique id, the token's name and the time.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use tidewatch_model::{AlertAction, AlertActionKind};
use tidewatch_store::{
    alert_status, AlertStatus, AlertView, PostStore, StoryPostQuery, StoryQuery, TimeRange,
};

use crate::auth::authorize;
use crate::config::Role;
use crate::error::ApiError;
use crate::params::{Params, SEVERITIES, STORY_STATES};
use crate::state::ApiState;
use crate::story_detail;

/// Most stories an alert list folds before filtering by status.
pub(crate) const ALERT_SCAN_LIMIT: u32 = 5_000;
/// Most posts a story view reads.
pub(crate) const STORY_POST_LIMIT: u32 = 20_000;
pub(crate) const MAX_SNOOZE_MINUTES: u32 = 7 * 24 * 60;
pub(crate) const MAX_NOTE_BYTES: usize = 2_000;

pub(crate) async fn list_stories(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let params = Params::parse(raw.as_deref());
    let request = StoryQuery {
        story_ids: Vec::new(),
        watches: params.list("watch")?,
        states: params.enum_list("state", STORY_STATES)?,
        severities: params.enum_list("severity", SEVERITIES)?,
        range: params.range(Utc::now(), state.config.max_range_days)?,
        limit: params.limit(state.config.max_page_size)?,
    };
    let stories = state.store.stories(&request).await?;
    Ok(Json(json!({ "stories": stories })).into_response())
}

pub(crate) async fn story_detail(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(story_id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let story = find_story(&state.store, &story_id).await?;
    let now = Utc::now();
    let mut posts = state
        .store
        .story_posts(&StoryPostQuery {
            watch: story.watch.clone(),
            from: story.first_post_at,
            to: story_detail::story_window_end(&story, now),
            terms: story.terms.clone(),
            post_ids: story.post_ids.clone(),
            limit: STORY_POST_LIMIT,
        })
        .await?;
    crate::safe_url::strip_unsafe_urls(&mut posts);
    let events = state.store.story_events(&story_id).await?;
    Ok(Json(story_detail::build(story, posts, events, now)).into_response())
}

async fn find_story(store: &PostStore, story_id: &str) -> Result<tidewatch_store::Story, ApiError> {
    store
        .story(story_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no story {story_id:?}")))
}

/// Alerts matching the filters, most recently active first (shared with the CLI).
pub(crate) async fn alert_list(
    store: &PostStore,
    statuses: &[AlertStatus],
    watches: Vec<String>,
    severities: Vec<String>,
    range: TimeRange,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Vec<AlertView>, ApiError> {
    let stories = store
        .stories(&StoryQuery {
            story_ids: Vec::new(),
            watches,
            states: Vec::new(),
            severities,
            range,
            limit: ALERT_SCAN_LIMIT,
        })
        .await?;
    let story_ids: Vec<String> = stories.iter().map(|story| story.story_id.clone()).collect();
    let actions = store.story_actions(&story_ids).await?;
    Ok(stories
        .iter()
        .map(|story| alert_status(story, &actions, now))
        .filter(|alert| statuses.is_empty() || statuses.contains(&alert.status))
        .take(limit as usize)
        .collect())
}

pub(crate) fn parse_statuses(values: &[String]) -> Result<Vec<AlertStatus>, ApiError> {
    values
        .iter()
        .map(|value| {
            AlertStatus::parse(value).ok_or_else(|| {
                ApiError::BadRequest(
                    "status must be open, acknowledged, snoozed or resolved".into(),
                )
            })
        })
        .collect()
}

pub(crate) async fn list_alerts(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let params = Params::parse(raw.as_deref());
    let now = Utc::now();
    let statuses = parse_statuses(&params.list("status")?)?;
    let has_range = params.single("from")?.is_some() || params.single("to")?.is_some();
    let range = if has_range {
        params.range(now, state.config.max_range_days)?
    } else {
        // No range: every alert, however old (an open alert stays open), newest first.
        TimeRange {
            from: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            to: DateTime::from_timestamp(i64::from(u32::MAX), 0).unwrap_or_default(),
        }
    };
    let alerts = alert_list(
        &state.store,
        &statuses,
        params.list("watch")?,
        params.enum_list("severity", SEVERITIES)?,
        range,
        params.limit(state.config.max_page_size)?,
        now,
    )
    .await?;
    Ok(Json(json!({ "alerts": alerts })).into_response())
}

/// The alert of one story with its events and actions (shared with the SSE stream).
pub(crate) async fn alert_of_story(
    store: &PostStore,
    story_id: &str,
    now: DateTime<Utc>,
) -> Result<(AlertView, Vec<AlertAction>), ApiError> {
    let story = find_story(store, story_id).await?;
    let actions = store.story_actions(&[story_id.to_string()]).await?;
    Ok((alert_status(&story, &actions, now), actions))
}

pub(crate) async fn alert_detail(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(story_id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let (alert, actions) = alert_of_story(&state.store, &story_id, Utc::now()).await?;
    let events = state.store.story_events(&story_id).await?;
    let actions: Vec<serde_json::Value> = actions.iter().map(action_json).collect();
    Ok(Json(json!({ "alert": alert, "events": events, "actions": actions })).into_response())
}

fn action_json(action: &AlertAction) -> serde_json::Value {
    json!({
        "action_id": action.action_id,
        "action": action.action.as_str(),
        "by": action.by,
        "at": tidewatch_model::format_timestamp(&action.at),
        "until": action.until.as_ref().map(tidewatch_model::format_timestamp),
        "note": action.note,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    minutes: Option<u32>,
}

fn parse_action_body(body: &Bytes) -> Result<ActionBody, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody::default());
    }
    let parsed: ActionBody = serde_json::from_slice(body).map_err(|error| {
        ApiError::BadRequest(format!(
            "body must be JSON like {{\"note\":\"…\"}}: {error}"
        ))
    })?;
    if parsed
        .note
        .as_ref()
        .is_some_and(|note| note.len() > MAX_NOTE_BYTES)
    {
        return Err(ApiError::BadRequest(format!(
            "note is longer than {MAX_NOTE_BYTES} bytes"
        )));
    }
    Ok(parsed)
}

fn action_kind(name: &str) -> Option<AlertActionKind> {
    match name {
        "ack" => Some(AlertActionKind::Ack),
        "resolve" => Some(AlertActionKind::Resolve),
        "snooze" => Some(AlertActionKind::Snooze),
        "unsnooze" => Some(AlertActionKind::Unsnooze),
        _ => None,
    }
}

pub(crate) async fn act_on_alert(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path((story_id, action_name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = action_kind(&action_name)
        .ok_or_else(|| ApiError::NotFound(format!("no alert action {action_name:?}")))?;
    let principal = authorize(&state, &headers, Role::Responder)?;
    let body = parse_action_body(&body)?;
    let now = Utc::now();
    let until = match (kind, body.minutes) {
        (AlertActionKind::Snooze, Some(minutes)) if (1..=MAX_SNOOZE_MINUTES).contains(&minutes) => {
            Some(now + Duration::minutes(i64::from(minutes)))
        }
        (AlertActionKind::Snooze, _) => {
            return Err(ApiError::BadRequest(format!(
                "snooze needs {{\"minutes\": 1 to {MAX_SNOOZE_MINUTES}}}"
            )))
        }
        _ => None,
    };
    let story = find_story(&state.store, &story_id).await?;
    let action = AlertAction {
        v: tidewatch_model::WIRE_VERSION,
        action_id: uuid::Uuid::new_v4().to_string(),
        story_id: story.story_id.clone(),
        watch: story.watch.clone(),
        action: kind,
        by: principal.name.clone(),
        at: now,
        until,
        note: body.note.filter(|note| !note.is_empty()),
    };
    state
        .store
        .insert_alert_actions(std::slice::from_ref(&action))
        .await?;
    metrics::counter!("tidewatch_api_alert_actions_total", "action" => kind.as_str()).increment(1);
    tracing::info!(story_id = %action.story_id, action = kind.as_str(), by = %action.by, "alert action recorded");
    if let Err(error) = state.sink.publish(&action).await {
        tracing::warn!(%error, retryable = error.retryable, story_id = %action.story_id, "alert action not published");
        return Err(ApiError::PublishFailed(error.message));
    }
    let (alert, _) = alert_of_story(&state.store, &story_id, now).await?;
    Ok(Json(json!({ "alert": alert })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_bodies_are_optional_and_bounded() {
        assert!(parse_action_body(&Bytes::from_static(b""))
            .unwrap()
            .note
            .is_none());
        assert_eq!(
            parse_action_body(&Bytes::from_static(br#"{"minutes":60}"#))
                .unwrap()
                .minutes,
            Some(60)
        );
        assert!(parse_action_body(&Bytes::from_static(b"{nope")).is_err());
        assert!(parse_action_body(&Bytes::from_static(br#"{"minutes":60,"x":1}"#)).is_err());
        let long = format!(r#"{{"note":"{}"}}"#, "a".repeat(MAX_NOTE_BYTES + 1));
        assert!(parse_action_body(&Bytes::from(long)).is_err());
        assert_eq!(action_kind("ack"), Some(AlertActionKind::Ack));
        assert_eq!(action_kind("delete"), None);
        assert!(parse_statuses(&["open".into(), "resolved".into()]).is_ok());
        assert!(parse_statuses(&["closed".into()]).is_err());
    }
}
