//! The tidewatch HTTP API: trends, posts, stories, alerts and their actions, a server-sent-events
//! alert stream, collector health, CSV export, an OpenAPI document, bearer-token auth with roles,
//! the embedded dashboard, and the `tidewatch query` command line.
//!
//! Guarantees, in short (each module says more):
//! * every `/api/v1` route checks a bearer token: 401 without or with an unknown one, 403 for a
//!   role below the route's; `/openapi.json`, `/` and `/assets/*` need none;
//! * every error is JSON `{"error": "message"}`, never a stack trace or SQL (405, 413, 414 and
//!   431 included: see `hardening`), and every answer carries the security headers (CSP without
//!   inline scripts, nosniff, no referrer, no framing);
//! * no user text becomes SQL: every value is bound; ranges and page sizes are bounded (400);
//! * the API holds no state between requests, so replicas can share one ClickHouse (the alert
//!   stream's one poller and its connection counts are per process, by design);
//! * post URLs leave the API only when they are http(s) (`safe_url`).
//!
//! Wiring (the binary does this): build an [`ApiState`] from an [`ApiConfig`], a
//! `tidewatch_store::PostStore` and an [`ActionSink`], then serve [`router`].

mod assets;
mod auth;
mod config;
mod csv;
mod error;
mod hardening;
pub mod openapi;
mod params;
mod query_cli;
mod query_output;
mod routes;
mod safe_url;
mod state;
mod story_detail;
mod stream_hub;
mod stream_ticket;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

/// Largest request body (an alert action's note is at most 2,000 bytes); larger is 413 JSON.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub use assets::asset_names;
pub use config::{
    sha256_hex, ApiConfig, ApiConfigError, Role, TokenConfig, DEFAULT_API_LISTEN,
    DEFAULT_MAX_PAGE_SIZE, DEFAULT_MAX_RANGE_DAYS, DEFAULT_MAX_STREAMS,
    DEFAULT_MAX_STREAMS_PER_TOKEN,
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
        .route("/api/v1/stream-ticket", post(stream::stream_ticket))
        .route("/api/v1/alerts/{story_id}", get(alerts::alert_detail))
        .route(
            "/api/v1/alerts/{story_id}/{action}",
            post(alerts::act_on_alert),
        )
        .route("/api/v1/health/collectors", get(health::collectors))
        .route("/openapi.json", get(openapi_json))
        .route("/", get(assets::index))
        .route("/favicon.ico", get(assets::favicon))
        .route("/assets/{*path}", get(assets::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(hardening::harden))
        .with_state(state)
}

async fn openapi_json(
    axum::extract::State(state): axum::extract::State<ApiState>,
) -> axum::Json<serde_json::Value> {
    axum::Json(openapi::document_for(state.config.max_page_size))
}

async fn not_found() -> axum::response::Response {
    error::error_body(axum::http::StatusCode::NOT_FOUND, "no such route")
}

async fn method_not_allowed() -> axum::response::Response {
    error::error_body(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    const VIEWER_TOKEN: &str = "viewer-token-of-the-unit-tests";
    const OTHER_TOKEN: &str = "other-token-of-the-unit-tests";

    /// A router on a store that is never reached: every request below stops at auth or before
    /// (the stream's catch-up may query it, and logs the failure).
    fn offline_router_with(config: ApiConfig) -> Router {
        let store = tidewatch_store::PostStore::connect(&tidewatch_store::StoreConfig {
            url: "http://127.0.0.1:9".into(),
            ..tidewatch_store::StoreConfig::default()
        });
        router(ApiState::new(
            config,
            store,
            std::sync::Arc::new(LoggingActionSink),
        ))
    }

    fn offline_router() -> Router {
        offline_router_with(ApiConfig::default())
    }

    async fn send(app: &Router, request: Request<Body>) -> axum::response::Response {
        app.clone().oneshot(request).await.unwrap()
    }

    async fn json_of(response: axum::response::Response) -> serde_json::Value {
        let content_type = response.headers()[axum::http::header::CONTENT_TYPE].clone();
        assert!(
            content_type
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{content_type:?}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&body).unwrap()
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
    async fn every_answer_has_the_security_headers() {
        let app = offline_router();
        for uri in [
            "/",
            "/assets/app.js",
            "/api/v1/whoami",
            "/nothing",
            "/openapi.json",
        ] {
            let response = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
            let headers = response.headers();
            let csp = headers["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{uri}: {csp}"
            );
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
            assert_eq!(headers["x-content-type-options"], "nosniff", "{uri}");
            assert_eq!(headers["referrer-policy"], "no-referrer", "{uri}");
            assert_eq!(headers["x-frame-options"], "DENY", "{uri}");
        }
    }

    #[tokio::test]
    async fn errors_made_outside_the_handlers_are_json_too() {
        let app = offline_router();
        // 405: a route that exists, with another method.
        let response = send(
            &app,
            Request::delete("/api/v1/whoami")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(json_of(response).await["error"].is_string());
        // 413: a body over the limit.
        let big = vec![b'x'; MAX_BODY_BYTES + 1];
        let request = Request::post("/api/v1/alerts/s-1/ack")
            .header("content-length", big.len())
            .body(Body::from(big))
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(json_of(response).await["error"].is_string());
        // 414: a URI over the limit.
        let long = format!("/api/v1/posts?q={}", "a".repeat(hardening::MAX_URI_BYTES));
        let response = send(&app, Request::get(long).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
        assert!(json_of(response).await["error"].is_string());
        // 431: headers over the limit.
        let mut request = Request::get("/api/v1/whoami");
        for index in 0..40 {
            request = request.header(format!("x-filler-{index}"), "v".repeat(1_000));
        }
        let response = send(&app, request.body(Body::empty()).unwrap()).await;
        assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        assert!(json_of(response).await["error"].is_string());
    }

    #[tokio::test]
    async fn assets_are_etagged_compressed_and_the_favicon_is_served() {
        let app = offline_router();
        let request = Request::get("/assets/app.js")
            .header("accept-encoding", "gzip, br")
            .body(Body::empty())
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], "gzip");
        assert_eq!(response.headers()["vary"], "Accept-Encoding");
        let etag = response.headers()["etag"].clone();
        let compressed = response.into_body().collect().await.unwrap().to_bytes();
        let mut plain = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&compressed[..]),
            &mut plain,
        )
        .unwrap();
        assert!(
            plain.contains("export async function api"),
            "the gzip body is app.js"
        );
        assert!(compressed.len() < plain.len());
        let revalidate = Request::get("/assets/app.js")
            .header("if-none-match", etag.clone())
            .body(Body::empty())
            .unwrap();
        let response = send(&app, revalidate).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()["etag"], etag);
        assert!(response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .is_empty());
        let response = send(
            &app,
            Request::get("/favicon.ico").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml"));
    }

    fn stream_request(token: &str) -> Request<Body> {
        Request::get("/api/v1/alerts/stream")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn streams_beyond_the_per_token_and_global_limits_are_429_json() {
        let config = ApiConfig {
            tokens: vec![
                TokenConfig::for_token("vera", VIEWER_TOKEN, Role::Viewer),
                TokenConfig::for_token("otto", OTHER_TOKEN, Role::Viewer),
            ],
            max_streams: 3,
            max_streams_per_token: 2,
            ..ApiConfig::default()
        };
        let app = offline_router_with(config);
        let first = send(&app, stream_request(VIEWER_TOKEN)).await;
        let second = send(&app, stream_request(VIEWER_TOKEN)).await;
        assert_eq!(
            (first.status(), second.status()),
            (StatusCode::OK, StatusCode::OK)
        );
        let third = send(&app, stream_request(VIEWER_TOKEN)).await;
        assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(third.headers()["retry-after"], "5");
        assert!(json_of(third).await["error"]
            .as_str()
            .unwrap()
            .contains("this token"));
        let other = send(&app, stream_request(OTHER_TOKEN)).await;
        assert_eq!(other.status(), StatusCode::OK);
        let over_global = send(&app, stream_request(OTHER_TOKEN)).await;
        assert_eq!(over_global.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(json_of(over_global).await["error"]
            .as_str()
            .unwrap()
            .contains("server"));
        // A closed stream frees its place.
        drop(first);
        assert_eq!(
            send(&app, stream_request(OTHER_TOKEN)).await.status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn a_stream_ticket_opens_the_stream_without_the_token_in_the_url() {
        let config = ApiConfig {
            tokens: vec![TokenConfig::for_token("vera", VIEWER_TOKEN, Role::Viewer)],
            ..ApiConfig::default()
        };
        let app = offline_router_with(config);
        let request = Request::post("/api/v1/stream-ticket")
            .header("authorization", format!("Bearer {VIEWER_TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let response = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let ticket = json_of(response).await["ticket"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!ticket.contains(VIEWER_TOKEN));
        let uri = format!("/api/v1/alerts/stream?ticket={ticket}");
        let response = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let uri = format!("/api/v1/alerts/stream?token={VIEWER_TOKEN}");
        let response = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn the_document_declares_what_the_server_enforces() {
        let document = openapi::document_for(250);
        let trends = &document["paths"]["/api/v1/trends"]["get"]["parameters"];
        let parameter = |name: &str| {
            trends
                .as_array()
                .unwrap()
                .iter()
                .find(|parameter| parameter["name"] == name)
                .unwrap()["schema"]
                .clone()
        };
        assert_eq!(
            parameter("interval")["enum"],
            serde_json::json!(["1m", "5m", "15m", "1h", "1d"])
        );
        assert_eq!(parameter("from")["format"], "date-time");
        assert_eq!(
            parameter("label")["items"]["enum"],
            serde_json::json!(["negative", "neutral", "positive"])
        );
        let posts = &document["paths"]["/api/v1/posts"]["get"]["parameters"];
        let limit = posts
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(
            (
                limit["schema"]["minimum"].as_u64(),
                limit["schema"]["maximum"].as_u64()
            ),
            (Some(1), Some(250))
        );
        let snooze = &document["paths"]["/api/v1/alerts/{story_id}/snooze"]["post"]["requestBody"];
        let schema = &snooze["content"]["application/json"]["schema"];
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], serde_json::json!(["minutes"]));
        assert_eq!(schema["properties"]["minutes"]["maximum"], 10_080);
        assert_eq!(
            document["components"]["schemas"]["Error"]["additionalProperties"],
            false
        );
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
