//! Webhook ingest: `POST /ingest` with one canonical post (a JSON object) or a batch (a JSON
//! array of them), for systems that push instead of being polled.
//!
//! Guarantees:
//! * **Auth first**, before the body is parsed: either `Authorization: Bearer <token>`, or
//!   `X-Tidewatch-Timestamp: <unix seconds>` with `X-Tidewatch-Signature: sha256=<hex>` where
//!   the hex is HMAC-SHA256 over `"{timestamp}.{body}"` with the shared secret. A timestamp more
//!   than `max_skew_secs` (300) away from now is stale. Missing, bad or stale → 401. Secrets
//!   are compared in constant time and come from environment variables named in the config.
//! * A body over `max_body_bytes` → 413 (refused while it streams in); more than `max_batch`
//!   posts → 413.
//! * **202 only once the posts are durable**: the handler returns after `PostSink::publish`
//!   returned `Ok`. A sink failure → 503 (retry later), and nothing is claimed.
//! * **Batches with bad items (documented choice): the good items are accepted.** Every item is
//!   checked with the model's own gate (`Post::from_json_bytes`). When some are bad, the good
//!   ones are still published, the bad ones are dead-lettered, and the answer is 400 with
//!   `{"accepted": n, "rejected": [{"index", "reason_kind", "reason"}]}`, so the sender can fix
//!   and resend just those; resending the whole batch is harmless (posts are keyed by
//!   `source:source_id` and repeats collapse). A body that is not JSON, or neither an object nor
//!   an array, is 400 with `{"error"}`; an item of a batch that is not an object (an array, a
//!   number) is a bad item like any other.
//! * A dead letter keeps **the sender's exact bytes** of the item (the body's JSON text for a
//!   single post; the item's own text, as sent, for an item of a batch), never a re-serialised
//!   copy.
//! * The `Bearer` scheme is matched case-insensitively (`bearer`, `BEARER`), as on the API.
//! * Every request counts in `tidewatch_collect_requests_total{source,outcome}` (`accepted`,
//!   `partial`, `unauthorized`, `bad_request`, `too_large`, `sink_error`).

use crate::config::{secret, MissingSecret, WebhookSource};
use crate::poll::STAGE;
use crate::reporter::HealthReporter;
use crate::sink::{PostSink, SinkError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use tidewatch_model::{DeadLetter, Post};
use tokio::time::Instant;

pub const TIMESTAMP_HEADER: &str = "x-tidewatch-timestamp";
pub const SIGNATURE_HEADER: &str = "x-tidewatch-signature";

/// The resolved settings of one webhook (secrets read).
#[derive(Debug, Clone)]
pub struct IngestSettings {
    pub name: String,
    pub hmac_secret: Option<Vec<u8>>,
    pub bearer_token: Option<String>,
    pub max_body_bytes: usize,
    pub max_skew: Duration,
    pub max_batch: usize,
    /// Where successes are recorded (posts per hour, last success), if anywhere.
    pub health: Option<HealthReporter>,
}

impl IngestSettings {
    /// Reads the secrets named by `source`; the error names the missing variable.
    pub fn from_source(source: &WebhookSource) -> Result<Self, MissingSecret> {
        let hmac_secret = match &source.hmac_secret_env {
            Some(variable) => Some(secret(&source.name, "hmac_secret_env", variable)?.into_bytes()),
            None => None,
        };
        let bearer_token = match &source.bearer_token_env {
            Some(variable) => Some(secret(&source.name, "bearer_token_env", variable)?),
            None => None,
        };
        Ok(IngestSettings {
            name: source.name.clone(),
            hmac_secret,
            bearer_token,
            max_body_bytes: source.max_body_bytes,
            max_skew: Duration::from_secs(source.max_skew_secs),
            max_batch: source.max_batch,
            health: None,
        })
    }
}

/// Why a request was not authenticated (all answered 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing credentials: a bearer token or a signature is required")]
    Missing,
    #[error("the bearer token is wrong")]
    BadToken,
    #[error("the signature timestamp is not unix seconds")]
    BadTimestamp,
    #[error("the signature timestamp is stale (more than the allowed skew from now)")]
    Stale,
    #[error("the signature does not match (expected sha256=<hex of HMAC-SHA256 over \"{{timestamp}}.{{body}}\">)")]
    BadSignature,
}

/// The signature header value of `body` at `timestamp` (what a sender computes).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

/// Checks the credentials of a request at `now_unix` (pure: no clock, no IO).
pub fn authenticate(
    settings: &IngestSettings,
    headers: &HeaderMap,
    body: &[u8],
    now_unix: i64,
) -> Result<(), AuthError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let (Some(expected), Some(given)) = (&settings.bearer_token, header("authorization")) {
        let token = match given.trim().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => "",
        };
        return match bool::from(token.as_bytes().ct_eq(expected.as_bytes())) {
            true => Ok(()),
            false => Err(AuthError::BadToken),
        };
    }
    let Some(secret) = &settings.hmac_secret else {
        return Err(AuthError::Missing);
    };
    let (Some(timestamp), Some(signature)) = (header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER))
    else {
        return Err(AuthError::Missing);
    };
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| AuthError::BadTimestamp)?;
    let skew = i64::try_from(settings.max_skew.as_secs()).unwrap_or(i64::MAX);
    if now_unix.saturating_sub(seconds).saturating_abs() > skew {
        return Err(AuthError::Stale);
    }
    let expected = sign(secret, timestamp.trim(), body);
    match bool::from(signature.trim().as_bytes().ct_eq(expected.as_bytes())) {
        true => Ok(()),
        false => Err(AuthError::BadSignature),
    }
}

#[derive(Clone)]
struct Ingest {
    settings: Arc<IngestSettings>,
    sink: Arc<dyn PostSink>,
}

/// Reads the secrets of `source` and builds its router (see [`ingest_router_with`]).
pub fn ingest_router(
    source: &WebhookSource,
    sink: Arc<dyn PostSink>,
) -> Result<Router, MissingSecret> {
    Ok(ingest_router_with(
        IngestSettings::from_source(source)?,
        sink,
    ))
}

/// `POST /ingest` with `settings` (see the module docs).
pub fn ingest_router_with(settings: IngestSettings, sink: Arc<dyn PostSink>) -> Router {
    let limit = settings.max_body_bytes;
    let state = Ingest {
        settings: Arc::new(settings),
        sink,
    };
    Router::new()
        .route("/ingest", post(ingest))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

async fn ingest(State(ingest): State<Ingest>, headers: HeaderMap, body: Bytes) -> Response {
    let settings = &ingest.settings;
    let name = settings.name.as_str();
    if let Err(error) = authenticate(settings, &headers, &body, Utc::now().timestamp()) {
        tracing::warn!(source = name, %error, "webhook request refused");
        crate::outlet::record_error(name, "unauthorized");
        crate::outlet::record_request(name, "unauthorized");
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({ "error": error.to_string() }),
        );
    }
    let items = match items_of(&body) {
        Ok(items) => items,
        Err(error) => {
            crate::outlet::record_request(name, "bad_request");
            return answer(StatusCode::BAD_REQUEST, json!({ "error": error }));
        }
    };
    if items.len() > settings.max_batch {
        let error = format!(
            "{} posts, over the {}-post limit",
            items.len(),
            settings.max_batch
        );
        crate::outlet::record_request(name, "too_large");
        return answer(StatusCode::PAYLOAD_TOO_LARGE, json!({ "error": error }));
    }
    let mut posts = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    let mut letters = Vec::new();
    for (index, bytes) in items.iter().enumerate() {
        let parsed = match bytes.first() {
            Some(b'{') => {
                Post::from_json_bytes(bytes).map_err(|error| (error.kind(), error.to_string()))
            }
            _ => Err(("not_an_object", "a post must be a JSON object".to_string())),
        };
        match parsed {
            Ok(post) => posts.push(post),
            Err((kind, error)) => {
                let reason = format!("item {index}: {error}");
                let origin = format!("{name} POST /ingest");
                letters.push(DeadLetter::new(STAGE, kind, reason, origin, bytes));
                rejected.push(json!({ "index": index, "reason_kind": kind, "reason": error }));
            }
        }
    }
    let accepted = posts.len();
    if let Err(error) = publish(&*ingest.sink, name, posts, letters).await {
        tracing::warn!(source = name, %error, "webhook posts not published");
        crate::outlet::record_error(name, "sink");
        let status = match error {
            SinkError::Retryable(_) => StatusCode::SERVICE_UNAVAILABLE,
            SinkError::Fatal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        crate::outlet::record_request(name, "sink_error");
        return answer(status, json!({ "error": error.to_string() }));
    }
    let now = Utc::now();
    if let Some(health) = &settings.health {
        health.record_success(name, accepted, Instant::now(), now);
    }
    let outcome = if rejected.is_empty() {
        "accepted"
    } else {
        "partial"
    };
    crate::outlet::record_request(name, outcome);
    if rejected.is_empty() {
        answer(StatusCode::ACCEPTED, json!({ "accepted": accepted }))
    } else {
        answer(
            StatusCode::BAD_REQUEST,
            json!({ "accepted": accepted, "rejected": rejected }),
        )
    }
}

/// The items of a body, each as the sender's exact bytes: the body itself for one post (a JSON
/// object), each element's own text for a batch (a JSON array).
fn items_of(body: &[u8]) -> Result<Vec<&[u8]>, String> {
    let raw: &RawValue =
        serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
    match raw.get().as_bytes().first() {
        Some(b'{') => Ok(vec![raw.get().as_bytes()]),
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(raw.get())
                .map_err(|error| format!("the body is not JSON: {error}"))?;
            Ok(items
                .into_iter()
                .map(|item| item.get().as_bytes())
                .collect())
        }
        _ => Err("the body must be a post (JSON object) or an array of posts".to_string()),
    }
}

async fn publish(
    sink: &dyn PostSink,
    name: &str,
    posts: Vec<Post>,
    letters: Vec<DeadLetter>,
) -> Result<(), SinkError> {
    for letter in letters {
        sink.dead_letter(letter).await?;
    }
    if !posts.is_empty() {
        let now = Utc::now();
        let delivered = posts.clone();
        sink.publish(posts).await?;
        crate::outlet::record_delivered(name, &delivered, now);
    }
    Ok(())
}
