//! Bearer-token authentication and role checks.
//!
//! Guarantees: a request is authenticated only by a token whose SHA-256 is in the config (the
//! token itself is never stored or logged); no token or an unknown one is 401, a known token
//! whose role is below the route's is 403. A token is never read from the URL (proxies log URLs):
//! the SSE stream, which browsers open without headers, takes a short-lived ticket instead
//! (`crate::stream_ticket`).

use axum::http::HeaderMap;

use crate::config::{sha256_hex, Role};
use crate::error::ApiError;
use crate::state::{ApiState, Principal};

/// The bearer token of the `Authorization` header, if any.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

/// Who sent the request, if the token is known and its role is at least `needed`.
pub(crate) fn authorize(
    state: &ApiState,
    headers: &HeaderMap,
    needed: Role,
) -> Result<Principal, ApiError> {
    let token = bearer_token(headers).ok_or(ApiError::Unauthorized)?;
    let principal = state
        .principals
        .get(&sha256_hex(token))
        .ok_or(ApiError::Unauthorized)?;
    if principal.role < needed {
        metrics::counter!("tidewatch_api_forbidden_total").increment(1);
        return Err(ApiError::Forbidden(needed.as_str()));
    }
    Ok(principal.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_only_bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert("authorization", HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert("authorization", HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
    }
}
