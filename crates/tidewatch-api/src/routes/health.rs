//! `GET /api/v1/health/collectors`: the latest health check of every collector (admin only).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth::authorize;
use crate::config::Role;
use crate::error::ApiError;
use crate::state::ApiState;

pub(crate) async fn collectors(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&state, &headers, Role::Admin)?;
    let collectors = state.store.collector_health().await?;
    Ok(Json(json!({ "collectors": collectors })).into_response())
}
