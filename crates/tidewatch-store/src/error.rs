//! Store errors, and which of them are worth retrying.
//!
//! Guarantees: every error says which operation failed; [`StoreError::is_retryable`] is true only
//! for failures that can go away by themselves (network errors, timeouts, HTTP 5xx answers
//! without a ClickHouse exception, and ClickHouse exceptions that mean "overloaded, try later"),
//! and false for anything that repeats on every attempt (SQL and schema errors, unknown database,
//! bad config, a row that does not match the table). A caller that retries only retryable errors
//! therefore never loops forever on a bug, and never gives up on a restart of the server.

/// What went wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The configuration cannot work (bad URL, unsafe database name). Never retryable.
    #[error("invalid ClickHouse configuration: {0}")]
    InvalidConfig(String),
    /// A request to ClickHouse failed; `operation` says which one.
    #[error("ClickHouse {operation} failed: {source}")]
    ClickHouse {
        operation: &'static str,
        #[source]
        source: clickhouse::error::Error,
    },
}

impl StoreError {
    pub(crate) fn clickhouse(
        operation: &'static str,
    ) -> impl FnOnce(clickhouse::error::Error) -> StoreError {
        move |source| StoreError::ClickHouse { operation, source }
    }

    /// True when the same call may succeed if made again later (see the module docs).
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::InvalidConfig(_) => false,
            StoreError::ClickHouse { source, .. } => is_retryable_clickhouse_error(source),
        }
    }

    /// The ClickHouse exception code in the server's answer, if there was one.
    pub fn server_error_code(&self) -> Option<u32> {
        match self {
            StoreError::ClickHouse {
                source: clickhouse::error::Error::BadResponse(message),
                ..
            } => server_error_code(message),
            _ => None,
        }
    }
}

/// ClickHouse exception codes that describe a passing condition rather than a wrong request.
/// Names as in ClickHouse's `ErrorCodes.cpp`.
const RETRYABLE_SERVER_ERROR_CODES: &[u32] = &[
    3,   // UNEXPECTED_END_OF_FILE: the request body was cut off in transit
    23,  // CANNOT_READ_FROM_ISTREAM
    24,  // CANNOT_WRITE_TO_OSTREAM
    32,  // ATTEMPT_TO_READ_AFTER_EOF: truncated request body
    159, // TIMEOUT_EXCEEDED
    160, // TOO_SLOW
    201, // QUOTA_EXCEEDED (quotas refill)
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    236, // ABORTED
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY (replica lost its coordinator session)
    252, // TOO_MANY_PARTS: inserts are too fast for merges, back off
    285, // TOO_FEW_LIVE_REPLICAS
    286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
    319, // UNKNOWN_STATUS_OF_INSERT
    394, // QUERY_WAS_CANCELLED
    425, // SYSTEM_ERROR
    439, // CANNOT_SCHEDULE_TASK
    473, // DEADLOCK_AVOIDED
    999, // KEEPER_EXCEPTION
];

fn is_retryable_clickhouse_error(error: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error;
    match error {
        Error::Network(_) | Error::TimedOut | Error::Decompression(_) => true,
        Error::BadResponse(message) => is_retryable_bad_response(message),
        _ => false,
    }
}

/// A bad response carries either a ClickHouse exception (`Code: 60, e.displayText() = …` on
/// 18.x, `Code: 60. DB::Exception: …` on current servers), or, when something in between
/// answered (a proxy, a load balancer), only an HTTP status line such as `502 Bad Gateway`.
fn is_retryable_bad_response(message: &str) -> bool {
    if let Some(code) = server_error_code(message) {
        return RETRYABLE_SERVER_ERROR_CODES.contains(&code);
    }
    http_status_of_bare_status_line(message).is_some_and(|status| (500..600).contains(&status))
}

/// The number after the first `Code:` in a ClickHouse exception message (the outer exception).
pub(crate) fn server_error_code(message: &str) -> Option<u32> {
    let after_marker = &message[message.find("Code:")? + "Code:".len()..];
    let digits: String = after_marker
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn http_status_of_bare_status_line(message: &str) -> Option<u16> {
    let first_word = message.split_whitespace().next()?;
    if first_word.len() != 3 {
        return None;
    }
    first_word.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickhouse::error::Error;

    fn bad_response(message: &str) -> StoreError {
        StoreError::ClickHouse {
            operation: "test",
            source: Error::BadResponse(message.to_string()),
        }
    }

    #[test]
    fn reads_the_exception_code_of_old_and_new_servers() {
        let old = "Code: 60, e.displayText() = DB::Exception: Table tw.nope doesn't exist., \
                   e.what() = DB::Exception";
        let new = "Code: 60. DB::Exception: Table tw.nope does not exist. (UNKNOWN_TABLE) \
                   (version 24.8.1.1)";
        assert_eq!(server_error_code(old), Some(60));
        assert_eq!(server_error_code(new), Some(60));
        assert_eq!(server_error_code("Code: 241"), Some(241));
        assert_eq!(server_error_code("502 Bad Gateway"), None);
    }

    #[test]
    fn sql_and_schema_errors_are_fatal() {
        for message in [
            "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 1",
            "Code: 60. DB::Exception: Table tw.posts does not exist. (UNKNOWN_TABLE)",
            "Code: 81, e.displayText() = DB::Exception: Database nope doesn't exist",
            "Code: 16. DB::Exception: No such column foo in table posts. (NO_SUCH_COLUMN_IN_TABLE)",
            "400 Bad Request",
            "404 Not Found",
        ] {
            let error = bad_response(message);
            assert!(!error.is_retryable(), "{message}");
        }
        assert!(!StoreError::ClickHouse {
            operation: "insert",
            source: Error::NotEnoughData
        }
        .is_retryable());
        assert!(!StoreError::InvalidConfig("x".into()).is_retryable());
    }

    #[test]
    fn overload_network_and_gateway_errors_are_retryable() {
        for message in [
            "Code: 252, e.displayText() = DB::Exception: Too many parts (300). Merges are \
             processing significantly slower than inserts.",
            "Code: 241. DB::Exception: Memory limit (total) exceeded (MEMORY_LIMIT_EXCEEDED)",
            "Code: 202. DB::Exception: Too many simultaneous queries. Maximum: 100.",
            "Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 5 seconds",
            "502 Bad Gateway",
            "503 Service Unavailable",
        ] {
            let error = bad_response(message);
            assert!(error.is_retryable(), "{message}");
        }
        for source in [Error::TimedOut, Error::Network("connection refused".into())] {
            let error = StoreError::ClickHouse {
                operation: "insert",
                source,
            };
            assert!(error.is_retryable(), "{error}");
        }
    }

    #[test]
    fn the_message_names_the_operation() {
        let error = bad_response("Code: 60, e.displayText() = DB::Exception: no table");
        assert!(
            error.to_string().starts_with("ClickHouse test failed"),
            "{error}"
        );
        assert_eq!(error.server_error_code(), Some(60));
    }
}
