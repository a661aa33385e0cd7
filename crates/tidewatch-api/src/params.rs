//! Query-string parameters: parsing and bounds, with no IO and no clock (`now` is passed in).
//!
//! Guarantees: times are RFC 3339 (any offset, normalised to UTC); the default range is the last
//! 24 hours; a range must have `from < to` and span at most `max_range_days`; `limit` defaults
//! to 50 and may not exceed `max_page_size`; list filters may repeat (`watch=a&watch=b`) or be
//! comma-separated (`watch=a,b`), at most [`MAX_FILTER_VALUES`] values of at most
//! [`MAX_VALUE_BYTES`] bytes each. Every violation is a [`ApiError::BadRequest`] naming the
//! parameter. Values are only ever bound into SQL, never spliced.

use chrono::{DateTime, Duration, Utc};
use tidewatch_store::{PostFilter, TimeRange};

use crate::error::ApiError;

pub(crate) const DEFAULT_RANGE_HOURS: i64 = 24;
pub(crate) const DEFAULT_LIMIT: u32 = 50;
pub(crate) const MAX_FILTER_VALUES: usize = 100;
pub(crate) const MAX_VALUE_BYTES: usize = 4_096;
/// The values `label` may take.
pub(crate) const LABELS: &[&str] = &["negative", "neutral", "positive"];
/// The values `severity` may take.
pub(crate) const SEVERITIES: &[&str] = &["info", "warning", "critical"];
/// The values a story's `state` may take.
pub(crate) const STORY_STATES: &[&str] = &["firing", "updated", "resolved"];

/// The decoded pairs of a query string, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

/// CSV or JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Json,
    Csv,
}

impl Params {
    pub(crate) fn parse(raw_query: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        Self { pairs }
    }

    /// Parameters given as pairs (the CLI builds its requests this way, so it shares every
    /// bound and message with the API).
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// The last value of `name`, if present and not empty.
    pub(crate) fn single(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let value = self
            .pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty());
        if value.is_some_and(|value| value.len() > MAX_VALUE_BYTES) {
            return Err(ApiError::BadRequest(format!(
                "{name} is longer than {MAX_VALUE_BYTES} bytes"
            )));
        }
        Ok(value)
    }

    /// Every value of `name`, repeated or comma-separated, trimmed, empty ones dropped.
    pub(crate) fn list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let mut values = Vec::new();
        for (_, value) in self.pairs.iter().filter(|(key, _)| key == name) {
            for part in value.split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                if part.len() > MAX_VALUE_BYTES {
                    return Err(ApiError::BadRequest(format!(
                        "a {name} value is longer than {MAX_VALUE_BYTES} bytes"
                    )));
                }
                values.push(part.to_string());
            }
        }
        if values.len() > MAX_FILTER_VALUES {
            return Err(ApiError::BadRequest(format!(
                "at most {MAX_FILTER_VALUES} {name} values"
            )));
        }
        Ok(values)
    }

    /// Every value of `name` (as [`Params::list`]), each of which must be one of `allowed`.
    pub(crate) fn enum_list(&self, name: &str, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
        let values = self.list(name)?;
        if let Some(bad) = values
            .iter()
            .find(|value| !allowed.contains(&value.as_str()))
        {
            return Err(ApiError::BadRequest(format!(
                "{name} must be one of {}, got {bad:?}",
                allowed.join(", ")
            )));
        }
        Ok(values)
    }

    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some(text) = self.single(name)? else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(text)
            .map(|time| Some(time.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::BadRequest(format!(
                    "{name} must be an RFC 3339 time such as 2015-02-23T18:15:31Z"
                ))
            })
    }

    /// `from`/`to`, defaulting to the last 24 hours before `now`, bounded by `max_range_days`.
    pub(crate) fn range(
        &self,
        now: DateTime<Utc>,
        max_range_days: u32,
    ) -> Result<TimeRange, ApiError> {
        let to = self.time("to")?;
        let from = self.time("from")?;
        let to = to.unwrap_or(now);
        let from = from.unwrap_or(to - Duration::hours(DEFAULT_RANGE_HOURS));
        check_range(TimeRange { from, to }, max_range_days)
    }

    pub(crate) fn limit(&self, max_page_size: u32) -> Result<u32, ApiError> {
        let Some(text) = self.single("limit")? else {
            return Ok(DEFAULT_LIMIT.min(max_page_size));
        };
        let limit: u32 = text.parse().map_err(|_| {
            ApiError::BadRequest(format!(
                "limit must be a whole number from 1 to {max_page_size}"
            ))
        })?;
        if limit == 0 || limit > max_page_size {
            return Err(ApiError::BadRequest(format!(
                "limit must be from 1 to {max_page_size}, got {limit}"
            )));
        }
        Ok(limit)
    }

    pub(crate) fn format(&self) -> Result<OutputFormat, ApiError> {
        match self.single("format")? {
            None | Some("json") => Ok(OutputFormat::Json),
            Some("csv") => Ok(OutputFormat::Csv),
            Some(_) => Err(ApiError::BadRequest("format must be json or csv".into())),
        }
    }

    pub(crate) fn post_filter(&self) -> Result<PostFilter, ApiError> {
        Ok(PostFilter {
            watches: self.list("watch")?,
            sources: self.list("source")?,
            languages: self.list("language")?,
            labels: self.enum_list("label", LABELS)?,
        })
    }
}

/// Checks order and span of a range.
pub(crate) fn check_range(range: TimeRange, max_range_days: u32) -> Result<TimeRange, ApiError> {
    if range.from >= range.to {
        return Err(ApiError::BadRequest("from must be before to".into()));
    }
    if range.to - range.from > Duration::days(i64::from(max_range_days)) {
        return Err(ApiError::BadRequest(format!(
            "the range from..to may span at most {max_range_days} days"
        )));
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-02-24T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn defaults_to_the_last_day_and_fifty_posts() {
        let params = Params::parse(None);
        let range = params.range(now(), 90).unwrap();
        assert_eq!(range.to, now());
        assert_eq!(range.to - range.from, Duration::hours(24));
        assert_eq!(params.limit(1000).unwrap(), 50);
        assert_eq!(params.format().unwrap(), OutputFormat::Json);
    }

    #[test]
    fn lists_repeat_or_split_on_commas() {
        let params = Params::parse(Some("watch=a&watch=b,%20c&watch=&source=x"));
        assert_eq!(params.list("watch").unwrap(), ["a", "b", "c"]);
        assert_eq!(params.list("source").unwrap(), ["x"]);
        assert!(params.list("label").unwrap().is_empty());
    }

    #[test]
    fn bounds_are_bad_requests() {
        let cases = [
            "from=2015-01-01T00:00:00Z&to=2015-06-01T00:00:00Z",
            "from=2015-02-02T00:00:00Z&to=2015-02-01T00:00:00Z",
            "from=yesterday",
            "limit=0",
            "limit=1001",
            "limit=-5",
            "format=xml",
            "label=angry",
        ];
        for case in cases {
            let params = Params::parse(Some(case));
            let outcome = params
                .range(now(), 90)
                .and_then(|_| params.limit(1000))
                .and_then(|_| params.format())
                .and_then(|_| params.post_filter());
            assert!(matches!(outcome, Err(ApiError::BadRequest(_))), "{case}");
        }
        let offset = Params::parse(Some("to=2015-02-23T20:00:00%2B02:00"));
        assert_eq!(
            offset.range(now(), 90).unwrap().to,
            DateTime::parse_from_rfc3339("2015-02-23T18:00:00Z").unwrap()
        );
    }

    proptest! {
        #[test]
        fn any_query_string_parses_without_panicking(raw in "\\PC{0,200}") {
            let params = Params::parse(Some(&raw));
            let _ = params.range(now(), 90);
            let _ = params.limit(1000);
            let _ = params.post_filter();
        }
    }
}
