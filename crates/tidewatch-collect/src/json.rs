//! Walking parsed JSON with errors that name the path. Each accessor either returns the value
//! or a [`ParseError`] saying which path was missing or had which wrong type; none panics.

use crate::ParseError;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Parses a whole payload, telling apart empty, truncated and otherwise invalid JSON.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, ParseError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    serde_json::from_slice(bytes).map_err(|error| {
        if error.is_eof() {
            ParseError::Truncated(error.to_string())
        } else {
            ParseError::NotJson(error.to_string())
        }
    })
}

pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON object together with its path, for error messages.
#[derive(Clone)]
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: String,
}

pub(crate) fn wrong(path: String, expected: &'static str, found: &Value) -> ParseError {
    ParseError::WrongType {
        path,
        expected,
        found: type_name(found),
    }
}

/// `value` as an object, or a wrong-type error at `path`.
pub(crate) fn as_obj(value: &Value, path: impl Into<String>) -> Result<Obj<'_>, ParseError> {
    let path = path.into();
    match value {
        Value::Object(map) => Ok(Obj { map, path }),
        other => Err(wrong(path, "object", other)),
    }
}

impl<'a> Obj<'a> {
    pub(crate) fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value at `key`, `None` when absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(wrong(self.at(key), "string", other)),
        }
    }

    pub(crate) fn str(&self, key: &str) -> Result<&'a str, ParseError> {
        self.opt_str(key)?
            .ok_or_else(|| ParseError::Missing(self.at(key)))
    }

    /// A non-empty string (ids).
    pub(crate) fn id(&self, key: &str) -> Result<&'a str, ParseError> {
        let text = self.str(key)?;
        if text.trim().is_empty() {
            return Err(ParseError::invalid(self.at(key), "is empty"));
        }
        Ok(text)
    }

    /// A count: a non-negative integer (floats are truncated, negatives become 0).
    pub(crate) fn opt_count(&self, key: &str) -> Result<Option<u64>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(number)) => Ok(number
                .as_u64()
                .or_else(|| number.as_i64().map(|_| 0))
                .or_else(|| number.as_f64().map(|float| float.max(0.0) as u64))),
            Some(other) => Err(wrong(self.at(key), "number", other)),
        }
    }

    pub(crate) fn opt_i64(&self, key: &str) -> Result<Option<i64>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(number)) => match number.as_i64() {
                Some(value) => Ok(Some(value)),
                None => Err(ParseError::invalid(self.at(key), "is not an integer")),
            },
            Some(other) => Err(wrong(self.at(key), "integer", other)),
        }
    }

    pub(crate) fn opt_f64(&self, key: &str) -> Result<Option<f64>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(number)) => Ok(number.as_f64()),
            Some(other) => Err(wrong(self.at(key), "number", other)),
        }
    }

    pub(crate) fn opt_obj(&self, key: &str) -> Result<Option<Obj<'a>>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => as_obj(value, self.at(key)).map(Some),
        }
    }

    pub(crate) fn obj(&self, key: &str) -> Result<Obj<'a>, ParseError> {
        self.opt_obj(key)?
            .ok_or_else(|| ParseError::Missing(self.at(key)))
    }

    pub(crate) fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ParseError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(wrong(self.at(key), "array", other)),
        }
    }

    /// An RFC 3339 timestamp at `key`, if present.
    pub(crate) fn opt_time(&self, key: &str) -> Result<Option<DateTime<Utc>>, ParseError> {
        match self.opt_str(key)? {
            None => Ok(None),
            Some(text) => parse_rfc3339(text).map(Some).ok_or_else(|| {
                ParseError::invalid(
                    self.at(key),
                    format!("{text:?} is not an RFC 3339 timestamp"),
                )
            }),
        }
    }
}

pub(crate) fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Epoch seconds (integer or fractional) as a timestamp, `None` when out of range.
pub(crate) fn from_epoch_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() || seconds.abs() > 1e11 {
        return None;
    }
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos)
}
