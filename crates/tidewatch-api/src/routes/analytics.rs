//! Read routes for analysts: who am I, watches, trends, share of voice, post search (JSON or CSV).
//!
//! Guarantees: every route here needs at least the viewer role; every parameter is parsed and
//! bounded by `params` before any query runs; trend requests may produce at most
//! [`MAX_TREND_BUCKETS`] time buckets, so a 90-day range at one minute is refused with 400
//! instead of producing a response nobody can use.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;
use tidewatch_store::{PostCursor, PostQuery, TrendGroupBy, TrendInterval, TrendQuery};

use crate::auth::authorize;
use crate::config::Role;
use crate::csv;
use crate::error::ApiError;
use crate::params::{OutputFormat, Params};
use crate::state::ApiState;

/// Most time buckets one trend request may span (range ÷ interval).
pub const MAX_TREND_BUCKETS: i64 = 50_000;

pub(crate) async fn whoami(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = authorize(&state, &headers, Role::Viewer)?;
    Ok(Json(json!({ "name": principal.name, "role": principal.role.as_str() })).into_response())
}

pub(crate) async fn watches(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let watches = state.store.watches().await?;
    Ok(Json(json!({ "watches": watches })).into_response())
}

/// Parses and bounds a trend request (shared with the CLI).
pub(crate) fn trend_query(
    params: &Params,
    max_range_days: u32,
    now: chrono::DateTime<Utc>,
) -> Result<TrendQuery, ApiError> {
    let range = params.range(now, max_range_days)?;
    let interval = match params.single("interval")? {
        None => TrendInterval::FiveMinutes,
        Some(text) => TrendInterval::parse(text).ok_or_else(|| {
            ApiError::BadRequest("interval must be one of 1m, 5m, 15m, 1h, 1d".into())
        })?,
    };
    let group_by = match params.single("group_by")? {
        None => TrendGroupBy::Watch,
        Some(text) => TrendGroupBy::parse(text).ok_or_else(|| {
            ApiError::BadRequest("group_by must be one of watch, source, language, label".into())
        })?,
    };
    let buckets = (range.to - range.from).num_seconds() / i64::from(interval.seconds());
    if buckets > MAX_TREND_BUCKETS {
        return Err(ApiError::BadRequest(format!(
            "{buckets} buckets requested; at most {MAX_TREND_BUCKETS}: use a longer interval or a shorter range"
        )));
    }
    Ok(TrendQuery {
        range,
        interval,
        group_by,
        filter: params.post_filter()?,
    })
}

pub(crate) async fn trends(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let params = Params::parse(raw.as_deref());
    let format = params.format()?;
    let request = trend_query(&params, state.config.max_range_days, Utc::now())?;
    let buckets = state.store.trends(&request).await?;
    if format == OutputFormat::Csv {
        let body = csv::document(csv::TREND_HEADER, buckets.iter().map(csv::trend_row));
        return Ok(csv::response("trends.csv", body));
    }
    Ok(Json(json!({
        "interval": request.interval.as_str(),
        "group_by": request.group_by.as_str(),
        "buckets": buckets,
    }))
    .into_response())
}

pub(crate) async fn share_of_voice(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let params = Params::parse(raw.as_deref());
    let range = params.range(Utc::now(), state.config.max_range_days)?;
    let filter = params.post_filter()?;
    let watches = state.store.share_of_voice(&range, &filter).await?;
    Ok(Json(json!({ "watches": watches })).into_response())
}

pub(crate) async fn posts(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Viewer)?;
    let params = Params::parse(raw.as_deref());
    let format = params.format()?;
    let cursor = match params.single("cursor")? {
        None => None,
        Some(text) => Some(
            PostCursor::decode(text).map_err(|error| ApiError::BadRequest(error.to_string()))?,
        ),
    };
    let request = PostQuery {
        range: params.range(Utc::now(), state.config.max_range_days)?,
        filter: params.post_filter()?,
        text: params.single("q")?.unwrap_or("").to_string(),
        limit: params.limit(state.config.max_page_size)?,
        cursor,
    };
    let mut page = state.store.search_posts(&request).await?;
    crate::safe_url::strip_unsafe_urls(&mut page.posts);
    if format == OutputFormat::Csv {
        let body = csv::document(csv::POST_HEADER, page.posts.iter().map(csv::post_row));
        return Ok(csv::response("posts.csv", body));
    }
    Ok(Json(page).into_response())
}
