//! What every response of the API and the dashboard gets, whatever route made it.
//!
//! Guarantees:
//! * security headers on every answer: a Content-Security-Policy that allows scripts, styles,
//!   images and connections from this origin only (no inline script, no inline style, no
//!   `eval`, no framing, no plugins, no `<base>` rewrites), `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer` and `X-Frame-Options: DENY` (for browsers without CSP 2);
//! * every error body is JSON `{"error": "…"}`: answers made outside the handlers (405 from the
//!   router, 413 and 400 from body extractors) are rewritten into that shape;
//! * a URI longer than [`MAX_URI_BYTES`] is 414 and request headers larger than
//!   [`MAX_HEADER_BYTES`] in total are 431, both JSON, before any handler runs. (hyper's own
//!   limits lie far above these; a request beyond them never reaches this code and gets hyper's
//!   empty answer.)

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::error_body;

pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Longest plain-text error from a framework extractor that is kept as the JSON message.
const MAX_KEPT_MESSAGE_BYTES: usize = 300;

pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
     object-src 'none'";

fn header_bytes(request: &Request) -> usize {
    request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// A JSON error in place of a framework's plain-text or empty one, keeping a short message.
async fn as_json_error(response: Response) -> Response {
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("error").to_lowercase();
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    let allow = response.headers().get(header::ALLOW).cloned();
    let text = match axum::body::to_bytes(response.into_body(), MAX_KEPT_MESSAGE_BYTES * 4).await {
        Ok(bytes) if is_text => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    };
    let text = text.trim();
    let message = if text.is_empty() || text.len() > MAX_KEPT_MESSAGE_BYTES {
        reason
    } else {
        format!("{reason}: {text}")
    };
    let mut json = error_body(status, &message);
    if let Some(allow) = allow {
        json.headers_mut().insert(header::ALLOW, allow);
    }
    json
}

/// The middleware: limits first, then the handler, then the headers and JSON errors.
pub(crate) async fn harden(request: Request<Body>, next: Next) -> Response {
    let mut response = if request.uri().to_string().len() > MAX_URI_BYTES {
        error_body(
            StatusCode::URI_TOO_LONG,
            &format!("the URI is longer than {MAX_URI_BYTES} bytes"),
        )
    } else if header_bytes(&request) > MAX_HEADER_BYTES {
        error_body(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &format!("the request headers exceed {MAX_HEADER_BYTES} bytes"),
        )
    } else {
        let response = next.run(request).await;
        let is_error = response.status().is_client_error() || response.status().is_server_error();
        if is_error && !is_json(&response) {
            as_json_error(response).await
        } else {
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
