//! API errors: every failure is a JSON body `{"error": "message"}` with a fitting status.
//!
//! Guarantees: a store error is logged with its details and answered as 503 (retryable: the
//! database is unreachable or overloaded) or 500 with a generic message (never SQL, never a
//! stack trace, never the server's exception text); client mistakes are 400 with a message
//! naming the parameter.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tidewatch_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or unknown bearer token")]
    Unauthorized,
    #[error("the {0} role or higher is needed for this")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("could not publish the alert action: {0}")]
    PublishFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::PublishFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(error) if error.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::Store(error) if error.is_retryable() => {
                "the database is unavailable; try again shortly".to_string()
            }
            Self::Store(_) => "internal error while querying the database".to_string(),
            other => other.to_string(),
        }
    }
}

/// The JSON error body.
pub(crate) fn error_body(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Store(error) = &self {
            tracing::error!(%error, retryable = error.is_retryable(), "api query failed");
            metrics::counter!("tidewatch_api_store_errors_total").increment(1);
        }
        error_body(status, &self.public_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_never_leak_their_text() {
        let error = ApiError::Store(StoreError::ClickHouse {
            operation: "trends",
            source: clickhouse_error("Code: 62, e.displayText() = DB::Exception: Syntax error"),
        });
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!error.public_message().contains("Syntax"));
        assert_eq!(ApiError::Unauthorized.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(ApiError::Forbidden("admin").status(), StatusCode::FORBIDDEN);
        assert_eq!(
            ApiError::PublishFailed("down".into()).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    fn clickhouse_error(message: &str) -> tidewatch_store::ClickHouseError {
        tidewatch_store::ClickHouseError::BadResponse(message.to_string())
    }
}
