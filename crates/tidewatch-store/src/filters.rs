//! The vocabulary of the query layer: time ranges, trend intervals and groupings, filters, and
//! how they are bound into SQL.
//!
//! Guarantees: no user text ever becomes SQL. Intervals and group-by columns are closed enums
//! whose SQL is a `&'static str` chosen here; every filter value is bound with `?` as a
//! ClickHouse literal by the `clickhouse` crate. A filter list is bound as a flag plus an array
//! (`(? = 0 OR has(?, column))`), so one SQL text serves every combination of present and
//! absent filters, and the chdb test can run every statement. Parsing is pure (no IO, no clock).

use chrono::{DateTime, Utc};
use clickhouse::query::Query;
use serde::Serializer;

/// A half-open time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl TimeRange {
    /// The range in ClickHouse `DateTime` seconds, clamped to what the type holds.
    pub(crate) fn as_clickhouse_seconds(&self) -> (u32, u32) {
        // Why the cap: ClickHouse 18.16 turns a DateTime parameter near u32::MAX (2106) into
        // 1970-01-01 06:28:15, so an open-ended range would match nothing.
        (
            crate::sink::clickhouse_datetime(&self.from).min(LATEST_QUERY_SECONDS),
            crate::sink::clickhouse_datetime(&self.to).min(LATEST_QUERY_SECONDS),
        )
    }
}

/// 2100-01-01T00:00:00Z: the latest time a query range is sent to ClickHouse with.
pub(crate) const LATEST_QUERY_SECONDS: u32 = 4_102_444_800;

/// Trend bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrendInterval {
    OneMinute,
    FiveMinutes,
    FifteenMinutes,
    OneHour,
    OneDay,
}

impl TrendInterval {
    pub const ALL: [TrendInterval; 5] = [
        Self::OneMinute,
        Self::FiveMinutes,
        Self::FifteenMinutes,
        Self::OneHour,
        Self::OneDay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneMinute => "1m",
            Self::FiveMinutes => "5m",
            Self::FifteenMinutes => "15m",
            Self::OneHour => "1h",
            Self::OneDay => "1d",
        }
    }

    pub fn seconds(self) -> u32 {
        match self {
            Self::OneMinute => 60,
            Self::FiveMinutes => 300,
            Self::FifteenMinutes => 900,
            Self::OneHour => 3_600,
            Self::OneDay => 86_400,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|interval| interval.as_str() == text)
    }
}

/// What trend buckets are split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrendGroupBy {
    Watch,
    Source,
    Language,
    Label,
}

impl TrendGroupBy {
    pub const ALL: [TrendGroupBy; 4] = [Self::Watch, Self::Source, Self::Language, Self::Label];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watch => "watch",
            Self::Source => "source",
            Self::Language => "language",
            Self::Label => "label",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|group| group.as_str() == text)
    }
}

/// Exact-match filters; an empty list means "any". Several values mean "any of these".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostFilter {
    pub watches: Vec<String>,
    pub sources: Vec<String>,
    pub languages: Vec<String>,
    pub labels: Vec<String>,
}

/// Binds a filter list as `(flag, array)` for `(? = 0 OR has(?, column))`: flag 0 and a
/// one-element placeholder array when the list is empty (an empty array literal has no element
/// type on old servers).
pub(crate) fn bind_filter(query: Query, values: &[String]) -> Query {
    if values.is_empty() {
        return query.bind(0_u8).bind(vec![""]);
    }
    query.bind(1_u8).bind(values)
}

/// The SQL condition [`bind_filter`] binds, for `column`.
macro_rules! filter_condition {
    ($column:literal) => {
        concat!("(? = 0 OR has(?, ", $column, "))")
    };
}
pub(crate) use filter_condition;

/// Serialises a time as RFC 3339 UTC (`2015-02-23T18:15:31Z`).
pub(crate) fn serialize_time<S: Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&tidewatch_model::format_timestamp(time))
}

/// Serialises an optional time as RFC 3339 UTC or null.
pub(crate) fn serialize_optional_time<S: Serializer>(
    time: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serialize_time(time, serializer),
        None => serializer.serialize_none(),
    }
}

/// A ClickHouse `DateTime` (seconds) as a UTC time.
pub(crate) fn time_of_seconds(seconds: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(seconds), 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_groupings_round_trip_through_their_names() {
        for interval in TrendInterval::ALL {
            assert_eq!(TrendInterval::parse(interval.as_str()), Some(interval));
            assert_eq!(86_400 % interval.seconds(), 0, "buckets align on days");
        }
        for group in TrendGroupBy::ALL {
            assert_eq!(TrendGroupBy::parse(group.as_str()), Some(group));
        }
        for bad in ["", "2m", "1M", "watch ", "' OR 1=1 --"] {
            assert_eq!(TrendInterval::parse(bad), None);
            assert_eq!(TrendGroupBy::parse(bad), None);
        }
    }

    #[test]
    fn filters_bind_as_a_flag_and_an_escaped_array() {
        let template = concat!("SELECT 1 WHERE ", filter_condition!("source"));
        let client = clickhouse::Client::default();
        let empty = bind_filter(client.query(template), &[]);
        assert_eq!(
            empty.sql_display().to_string(),
            "SELECT 1 WHERE (0 = 0 OR has([''], source))"
        );
        let hostile = vec!["' OR 1=1 --".to_string(), "a\\b".to_string()];
        let bound = bind_filter(client.query(template), &hostile)
            .sql_display()
            .to_string();
        assert_eq!(
            bound,
            "SELECT 1 WHERE (1 = 0 OR has(['\\' OR 1=1 --','a\\\\b'], source))"
        );
    }
}
