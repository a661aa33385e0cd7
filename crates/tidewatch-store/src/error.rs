//! Store errors, and which of them are worth retrying.
//!
//! Guarantees: every error says which operation failed; [`StoreError::is_retryable`] is true only
//! for failures that can go away by themselves (network errors, timeouts, HTTP 5xx answers
//! without a ClickHouse exception, and ClickHouse exceptions that mean "overloaded, try later"),
//! and false for anything that repeats on every attempt (SQL and schema errors, unknown database,
//! bad config, a row that does not match the table). A caller that retries only retryable errors
//! therefore never loops forever on a bug, and never gives up on a restart of the server.
//!
//! A writing stage asks a different question, [`StoreError::fault`]: whose fault is it? Only an
//! error about the row itself (a value the column cannot hold, text it cannot parse) is
//! [`Fault::Record`], the only kind that may dead-letter a post. Everything else — credentials
//! (193, 516), authorization (497), a missing table or database (60, 81), a read-only server
//! (164, 242), too many parts (252), memory (241), the network — is [`Fault::Dependency`]:
//! retried with back-off, never dead-lettered. A configuration that cannot work is
//! [`Fault::Config`].

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

    /// Whose fault the error is, for a stage writing posts (see the module docs).
    pub fn fault(&self) -> Fault {
        use clickhouse::error::Error;
        let source = match self {
            StoreError::InvalidConfig(_) => return Fault::Config,
            StoreError::ClickHouse { source, .. } => source,
        };
        match source {
            Error::BadResponse(message) => match server_error_code(message) {
                Some(code) if RECORD_ERROR_CODES.contains(&code) => Fault::Record,
                _ => Fault::Dependency,
            },
            // Turning one row into RowBinary failed: that row cannot be written as it is.
            Error::SequenceMustHaveLength
            | Error::Custom(_)
            | Error::InvalidUtf8Encoding(_)
            | Error::InvalidTagEncoding(_)
            | Error::VariantDiscriminatorIsOutOfBound(_) => Fault::Record,
            _ => Fault::Dependency,
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

/// Whose fault a write error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The row itself: dead-letter that post, keep the others.
    Record,
    /// The server, the network, credentials, schema: retry later, never dead-letter.
    Dependency,
    /// The configuration cannot work: stop and say so.
    Config,
}

/// ClickHouse exception codes about the data of the rows sent (names as in `ErrorCodes.cpp`).
/// Anything not listed is the dependency's fault.
const RECORD_ERROR_CODES: &[u32] = &[
    6,   // CANNOT_PARSE_TEXT
    26,  // CANNOT_PARSE_QUOTED_STRING
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    33,  // CANNOT_READ_ALL_DATA: a row shorter than its columns
    38,  // CANNOT_PARSE_DATE
    41,  // CANNOT_PARSE_DATETIME
    53,  // TYPE_MISMATCH
    69,  // ARGUMENT_OUT_OF_BOUND
    70,  // CANNOT_CONVERT_TYPE
    72,  // CANNOT_PARSE_NUMBER
    117, // INCORRECT_DATA
    128, // TOO_LARGE_ARRAY_SIZE
    131, // TOO_LARGE_STRING_SIZE
    349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    407, // DECIMAL_OVERFLOW
    691, // UNKNOWN_ELEMENT_OF_ENUM
];

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
    fn only_errors_about_the_row_are_the_records_fault() {
        for message in [
            "Code: 193, e.displayText() = DB::Exception: Wrong password for user default",
            "Code: 516. DB::Exception: default: Authentication failed (AUTHENTICATION_FAILED)",
            "Code: 497. DB::Exception: Not enough privileges (ACCESS_DENIED)",
            "Code: 60. DB::Exception: Table tw.posts does not exist. (UNKNOWN_TABLE)",
            "Code: 81, e.displayText() = DB::Exception: Database tw doesn't exist",
            "Code: 164. DB::Exception: Cannot execute query in readonly mode. (READONLY)",
            "Code: 242, e.displayText() = DB::Exception: Table is in readonly mode",
            "Code: 252, e.displayText() = DB::Exception: Too many parts (300)",
            "Code: 241. DB::Exception: Memory limit (total) exceeded",
            "Code: 62, e.displayText() = DB::Exception: Syntax error",
            "502 Bad Gateway",
            "401 Unauthorized",
        ] {
            assert_eq!(
                bad_response(message).fault(),
                Fault::Dependency,
                "{message}"
            );
        }
        for message in [
            "Code: 27, e.displayText() = DB::Exception: Cannot parse input: expected , before: x",
            "Code: 131. DB::Exception: Too large string size. (TOO_LARGE_STRING_SIZE)",
            "Code: 53, e.displayText() = DB::Exception: Type mismatch",
        ] {
            assert_eq!(bad_response(message).fault(), Fault::Record, "{message}");
        }
        let network = StoreError::ClickHouse {
            operation: "insert",
            source: Error::Network("connection refused".into()),
        };
        assert_eq!(network.fault(), Fault::Dependency);
        let serialisation = StoreError::ClickHouse {
            operation: "insert",
            source: Error::Custom("bad value".into()),
        };
        assert_eq!(serialisation.fault(), Fault::Record);
        assert_eq!(StoreError::InvalidConfig("x".into()).fault(), Fault::Config);
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
