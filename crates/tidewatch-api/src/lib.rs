//! The tidewatch HTTP API: trends, posts, stories, alerts and their actions, a server-sent-events
//! alert stream, collector health, CSV export, an OpenAPI document, bearer-token auth with roles,
//! the embedded dashboard, and the `tidewatch query` command line.
//!
//! Guarantees, in short (each module says more):
//! * every `/api/v1` route checks a bearer token: 401 without or with an unknown one, 403 for a
//!   role below the route's; `/openapi.json`, `/` and `/assets/*` need none;
//! * every error is JSON `{"error": "message"}`, never a stack trace or SQL;
//! * no user text becomes SQL: every value is bound; ranges and page sizes are bounded (400);
//! * the API holds no state between requests, so replicas can share one ClickHouse.
//!
//! Wiring (the binary does this): build an [`ApiState`] from an [`ApiConfig`], a
//! `tidewatch_store::PostStore` and an [`ActionSink`], then serve [`router`].

mod assets;
mod auth;
mod config;
mod csv;
mod error;
pub mod openapi;
mod params;
mod query_cli;
mod query_output;
mod routes;
mod state;
mod story_detail;

use axum::routing::{get, post};
use axum::Router;

pub use assets::asset_names;
pub use config::{
    sha256_hex, ApiConfig, ApiConfigError, Role, TokenConfig, DEFAULT_API_LISTEN,
    DEFAULT_MAX_PAGE_SIZE, DEFAULT_MAX_RANGE_DAYS,
};
pub use error::ApiError;
pub use query_cli::{run_query, QueryArgs, QueryCommand, QueryError, QueryFormat};
pub use routes::analytics::MAX_TREND_BUCKETS;
pub use state::{ActionSink, ActionSinkError, ApiState, LoggingActionSink, Principal};

/// Every route of the API and the dashboard.
pub fn router(state: ApiState) -> Router {
    use routes::{alerts, analytics, health, stream};
    Router::new()
        .route("/api/v1/whoami", get(analytics::whoami))
        .route("/api/v1/watches", get(analytics::watches))
        .route("/api/v1/trends", get(analytics::trends))
        .route("/api/v1/share-of-voice", get(analytics::share_of_voice))
        .route("/api/v1/posts", get(analytics::posts))
        .route("/api/v1/stories", get(alerts::list_stories))
        .route("/api/v1/stories/{story_id}", get(alerts::story_detail))
        .route("/api/v1/alerts", get(alerts::list_alerts))
        .route("/api/v1/alerts/stream", get(stream::alert_stream))
        .route("/api/v1/alerts/{story_id}", get(alerts::alert_detail))
        .route(
            "/api/v1/alerts/{story_id}/{action}",
            post(alerts::act_on_alert),
        )
        .route("/api/v1/health/collectors", get(health::collectors))
        .route("/openapi.json", get(openapi_json))
        .route("/", get(assets::index))
        .route("/assets/{*path}", get(assets::asset))
        .fallback(not_found)
        .with_state(state)
}

async fn openapi_json() -> axum::Json<serde_json::Value> {
    axum::Json(openapi::document())
}

async fn not_found() -> axum::response::Response {
    error::error_body(axum::http::StatusCode::NOT_FOUND, "no such route")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// A router on a store that is never reached: every request below stops at auth or before.
    fn offline_router() -> Router {
        let store = tidewatch_store::PostStore::connect(&tidewatch_store::StoreConfig::default());
        router(ApiState::new(
            ApiConfig::default(),
            store,
            std::sync::Arc::new(LoggingActionSink),
        ))
    }

    #[tokio::test]
    async fn every_documented_route_is_served() {
        for route in openapi::ROUTES {
            let path = route
                .path
                .replace("{story_id}", "s-1")
                .replace("{path}", "index.html");
            let request = Request::builder()
                .method(route.method.to_uppercase().as_str())
                .uri(&path)
                .body(Body::empty())
                .unwrap();
            let response = offline_router().oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let expected = if route.role.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::OK
            };
            assert_eq!(status, expected, "{} {path}: {body:?}", route.method);
        }
        let document = openapi::document();
        assert_eq!(document["openapi"], "3.0.3");
        let documented: usize = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|methods| methods.as_object().unwrap().len())
            .sum();
        assert_eq!(documented, openapi::ROUTES.len());
        assert!(asset_names().iter().any(|name| name == "index.html"));
    }

    #[tokio::test]
    async fn unknown_routes_are_json_404s() {
        let request = Request::builder()
            .uri("/api/v2/nothing")
            .body(Body::empty())
            .unwrap();
        let response = offline_router().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"error":"no such route"}"#);
    }
}
