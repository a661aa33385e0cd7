//! The one error type of the parsers. Every variant names what was wrong and where (a JSON path
//! such as `hits[3].created_at_i`, or an XML element), so that a dead letter explains itself.
//! Retrying the same bytes gives the same error: the caller dead-letters and goes on.

/// What was wrong with a payload, or with one item of it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("payload is empty")]
    Empty,
    #[error("payload is truncated: {0}")]
    Truncated(String),
    #[error("payload is not valid JSON: {0}")]
    NotJson(String),
    #[error("payload is not valid XML: {0}")]
    NotXml(String),
    #[error("`{0}` is missing")]
    Missing(String),
    #[error("`{path}` has the wrong type: expected {expected}, found {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("`{path}` is invalid: {reason}")]
    Invalid { path: String, reason: String },
    #[error("unsupported payload: {0}")]
    Unsupported(String),
    #[error("post {source_id:?} would not pass the canonical post gate: {reason}")]
    InvalidPost { source_id: String, reason: String },
}

impl ParseError {
    /// A short, stable name for metrics labels and dead-letter reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty",
            ParseError::Truncated(_) => "truncated",
            ParseError::NotJson(_) => "not_json",
            ParseError::NotXml(_) => "not_xml",
            ParseError::Missing(_) => "missing_field",
            ParseError::WrongType { .. } => "wrong_type",
            ParseError::Invalid { .. } => "invalid_field",
            ParseError::Unsupported(_) => "unsupported",
            ParseError::InvalidPost { .. } => "invalid_post",
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> ParseError {
        ParseError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// One item of a good payload that could not become a post.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Position of the item in the payload (0-based).
    pub index: usize,
    pub error: ParseError,
}
