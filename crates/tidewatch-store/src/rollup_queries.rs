//! The trend statements that read the rollup: clean 5-minute buckets from `trend_rollup` (or,
//! for the common unfiltered 5-minute trends, from `trend_rollup_totals`) joined with raw spans
//! of the base tables, for the parts of a range the rollup does not cover.
//!
//! Guarantees: the same columns, groups and numbers as the raw statements in `trends.rs` (the
//! raw parts use the same tables, filters and fold; the rollup parts were computed by the same
//! expressions); every value is bound, groupings come from closed enums; each rollup part reads
//! exactly the recorded generation of its clean buckets (see `rollup.rs`).

use crate::filters::{bind_filter, filter_condition, PostFilter, TrendGroupBy};
use crate::rollup::{RangePlan, ROLLUP_SECONDS};
use crate::trends::{columns_of, group_expression, trend_measures_sql, TrendQuery, TrendSource};

/// The rollup column a grouping reads (the rollup stores language already resolved).
fn rollup_group_column(group_by: TrendGroupBy) -> &'static str {
    match group_by {
        TrendGroupBy::Watch => "watch",
        TrendGroupBy::Source => "source",
        TrendGroupBy::Language => "language",
        TrendGroupBy::Label => "label",
    }
}

/// Clean rollup buckets `UNION ALL` the raw spans folded into the same 5-minute parts, each part
/// carrying counts, the compound sum, posts without an author and the authors' `uniqExact`
/// state. The rollup part reads exactly the recorded generation of each clean bucket (see
/// `rollup.rs` for why no `FINAL` is needed). With `raw_spans` 0 there is no raw part. Binds:
/// rollup bucket range (2), buckets, generations, [watches], the three filters (2 each); then per raw span (2),
/// [watches], the three filters (2 each).
fn rollup_parts_sql(source: TrendSource, group_by: TrendGroupBy, raw_spans: usize) -> String {
    let columns = columns_of(source);
    let scope = if source == TrendSource::Posts { 0 } else { 1 };
    let rollup_part = format!(
        "SELECT toUInt32(bucket) AS part_bucket, {group} AS grp, label AS part_label,
           posts AS part_posts, compound_units AS part_compound_units, scored AS part_scored,
           anonymous AS part_anonymous, authors AS part_authors
    FROM trend_rollup
    WHERE scope = {scope} AND bucket >= toDateTime(?) AND bucket < toDateTime(?)
      AND generation = transform(toUInt32(bucket), ?, ?, toUInt64(0)){watch_filter}
      AND {source_filter} AND (? = 0 OR has(?, language)) AND {label_filter}",
        group = rollup_group_column(group_by),
        watch_filter = columns.watch_filter,
        source_filter = filter_condition!("source"),
        label_filter = filter_condition!("label"),
    );
    if raw_spans == 0 {
        return rollup_part;
    }
    format!(
        "{rollup_part}
    UNION ALL
    SELECT toUInt32(intDiv(toUInt32(created_at), 300) * 300) AS part_bucket, {group} AS grp,
           label AS part_label, count() AS part_posts,
           sum(toInt64(round(ifNull(compound, 0.) * 10000))) AS part_compound_units,
           toUInt64(countIf(isNotNull(compound))) AS part_scored,
           toUInt64(countIf({author} = '')) AS part_anonymous,
           uniqExactState(cityHash64({author})) AS part_authors
    FROM {table} FINAL
    WHERE ({spans}){watch_filter}
      AND {source_filter} AND (? = 0 OR has(?, {language})) AND {label_filter}
      AND (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY part_bucket, grp, part_label",
        group = group_expression(columns, group_by),
        author = columns.author,
        table = columns.table,
        spans = raw_spans_condition(raw_spans),
        watch_filter = columns.watch_filter,
        source_filter = filter_condition!("source"),
        language = columns.language,
        label_filter = filter_condition!("label"),
    )
}

/// The trend statement that reads clean buckets from the rollup and `raw_spans` spans raw; the
/// same columns as [`trend_sql`]. Binds: width (2), then [`rollup_parts_sql`]'s.
pub(crate) fn rollup_trend_sql(
    source: TrendSource,
    group_by: TrendGroupBy,
    raw_spans: usize,
) -> String {
    format!(
        "SELECT toUInt32(intDiv(part_bucket, ?) * ?) AS bucket, grp,
       sum(part_posts) AS posts,
       sumIf(part_posts, part_label = 'negative') AS negative,
       sumIf(part_posts, part_label = 'neutral') AS neutral,
       sumIf(part_posts, part_label = 'positive') AS positive,
       sum(part_compound_units) AS compound_units,
       sum(part_scored) AS scored,
       toUInt64(uniqExactMerge(part_authors) - if(sum(part_anonymous) > 0, 1, 0)) AS authors
FROM (
    {parts}
)
GROUP BY bucket, grp
ORDER BY bucket, grp",
        parts = rollup_parts_sql(source, group_by, raw_spans),
    )
}

/// Share of voice from the rollup and `raw_spans` raw spans; the same columns as
/// [`share_of_voice_sql`]. Binds: [`rollup_parts_sql`]'s for all watches.
pub(crate) fn rollup_share_of_voice_sql(raw_spans: usize) -> String {
    format!(
        "SELECT grp AS watch, sum(part_posts) AS posts,
       sumIf(part_posts, part_label = 'negative') AS negative
FROM (
    {parts}
)
GROUP BY watch
ORDER BY posts DESC, watch",
        parts = rollup_parts_sql(TrendSource::WatchPosts, TrendGroupBy::Watch, raw_spans),
    )
}

/// The filter values a trend or share-of-voice statement binds after its range.
pub(crate) struct BoundFilters<'a> {
    watches: Option<&'a [String]>,
    sources: &'a [String],
    languages: &'a [String],
    labels: &'a [String],
}

impl BoundFilters<'_> {
    fn bind(&self, mut query: clickhouse::query::Query) -> clickhouse::query::Query {
        if let Some(watches) = self.watches {
            query = query.bind(watches);
        }
        query = bind_filter(query, self.sources);
        query = bind_filter(query, self.languages);
        bind_filter(query, self.labels)
    }
}

/// Binds [`rollup_parts_sql`]'s values for `plan`, in its order.
fn bind_rollup_parts(
    mut query: clickhouse::query::Query,
    plan: &RangePlan,
    filters: &BoundFilters<'_>,
) -> clickhouse::query::Query {
    query = bind_clean_buckets(query, plan);
    query = filters.bind(query);
    if plan.raw_spans.is_empty() {
        return query;
    }
    filters.bind(bind_raw_spans(query, plan))
}

impl TrendQuery {
    pub(crate) fn bound_filters(&self) -> BoundFilters<'_> {
        BoundFilters {
            watches: (self.source() == TrendSource::SelectedWatches)
                .then_some(&self.filter.watches[..]),
            sources: &self.filter.sources,
            languages: &self.filter.languages,
            labels: &self.filter.labels,
        }
    }
}

/// Binds a [`rollup_trend_sql`] statement's values in order.
pub(crate) fn bind_rollup_trend(
    query: clickhouse::query::Query,
    request: &TrendQuery,
    plan: &RangePlan,
) -> clickhouse::query::Query {
    let width = request.interval.seconds();
    bind_rollup_parts(
        query.bind(width).bind(width),
        plan,
        &request.bound_filters(),
    )
}

/// Binds a [`rollup_share_of_voice_sql`] statement's values in order.
pub(crate) fn bind_rollup_share_of_voice(
    query: clickhouse::query::Query,
    plan: &RangePlan,
    filter: &PostFilter,
) -> clickhouse::query::Query {
    let filters = BoundFilters {
        watches: None,
        sources: &filter.sources,
        languages: &filter.languages,
        labels: &[],
    };
    bind_rollup_parts(query, plan, &filters)
}

/// Which `trend_rollup_totals` rows answer a trend exactly, if any: `(scope, group_kind)`.
/// Totals hold finished 5-minute numbers per scope, watch and grouping, so they answer a
/// 5-minute trend without source, language or label filters that groups by watch (any watches),
/// by another grouping of all posts, or by another grouping of exactly one watch. (Two watches'
/// totals cannot be added: an author in both would count twice.)
pub(crate) fn totals_kind(request: &TrendQuery) -> Option<(u8, u8)> {
    let filter = &request.filter;
    let unfiltered =
        filter.sources.is_empty() && filter.languages.is_empty() && filter.labels.is_empty();
    if request.interval.seconds() != ROLLUP_SECONDS || !unfiltered {
        return None;
    }
    let kind = match request.group_by {
        TrendGroupBy::Watch => 1,
        TrendGroupBy::Source => 2,
        TrendGroupBy::Language => 3,
        TrendGroupBy::Label => 4,
    };
    match request.source() {
        TrendSource::Posts => Some((0, kind)),
        TrendSource::WatchPosts => Some((1, kind)),
        TrendSource::SelectedWatches if kind == 1 || filter.watches.len() == 1 => Some((1, kind)),
        TrendSource::SelectedWatches => None,
    }
}

/// A 5-minute trend from `trend_rollup_totals` for the clean buckets and the raw tables for
/// `raw_spans` spans; the same columns as the raw trend statement. Binds: rollup bucket range
/// (2), buckets, generations, [watches]; then per raw span (2), [watches].
pub(crate) fn totals_trend_sql(
    source: TrendSource,
    group_by: TrendGroupBy,
    (scope, kind): (u8, u8),
    raw_spans: usize,
) -> String {
    let columns = columns_of(source);
    let totals_part = format!(
        "SELECT toUInt32(bucket) AS part_bucket, value AS grp, posts, negative, neutral, positive,
           compound_units, scored, authors
    FROM trend_rollup_totals
    WHERE scope = {scope} AND group_kind = {kind}
      AND bucket >= toDateTime(?) AND bucket < toDateTime(?)
      AND generation = transform(toUInt32(bucket), ?, ?, toUInt64(0)){watch_filter}",
        watch_filter = columns.watch_filter,
    );
    let parts = if raw_spans == 0 {
        totals_part
    } else {
        format!(
            "{totals_part}
    UNION ALL
    SELECT toUInt32(intDiv(toUInt32(created_at), 300) * 300) AS part_bucket, {group} AS grp,
           {measures}
    FROM {table} FINAL
    WHERE ({spans}){watch_filter}
      AND (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY part_bucket, grp",
            group = group_expression(columns, group_by),
            measures = trend_measures_sql(columns),
            table = columns.table,
            spans = raw_spans_condition(raw_spans),
            watch_filter = columns.watch_filter,
        )
    };
    format!(
        "SELECT part_bucket AS bucket, grp, posts, negative, neutral, positive, compound_units,
       scored, authors
FROM (
    {parts}
)
ORDER BY bucket, grp"
    )
}

/// Binds a [`totals_trend_sql`] statement's values in order.
pub(crate) fn bind_totals_trend(
    mut query: clickhouse::query::Query,
    request: &TrendQuery,
    plan: &RangePlan,
) -> clickhouse::query::Query {
    let watches =
        (request.source() == TrendSource::SelectedWatches).then_some(&request.filter.watches);
    query = bind_clean_buckets(query, plan);
    if let Some(watches) = watches {
        query = query.bind(watches);
    }
    if plan.raw_spans.is_empty() {
        return query;
    }
    query = bind_raw_spans(query, plan);
    if let Some(watches) = watches {
        query = query.bind(watches);
    }
    query
}

/// `raw_spans` half-open time spans, each two placeholders, any of which a post may be in. A
/// disjunction of key ranges, which the primary index and partition pruning both use.
fn raw_spans_condition(raw_spans: usize) -> String {
    vec!["(created_at >= toDateTime(?) AND created_at < toDateTime(?))"; raw_spans].join(" OR ")
}

/// Binds each raw span's two bounds.
fn bind_raw_spans(
    mut query: clickhouse::query::Query,
    plan: &RangePlan,
) -> clickhouse::query::Query {
    for (from, to) in &plan.raw_spans {
        query = query.bind(*from).bind(*to);
    }
    query
}

/// Binds the clean buckets' range `[first, end)` (for the primary index), the buckets and
/// their generations.
fn bind_clean_buckets(
    query: clickhouse::query::Query,
    plan: &RangePlan,
) -> clickhouse::query::Query {
    let first = plan.rollup_buckets.first().copied().unwrap_or(0);
    let end = plan
        .rollup_buckets
        .last()
        .map_or(0, |last| last.saturating_add(ROLLUP_SECONDS));
    query
        .bind(first)
        .bind(end)
        .bind(&plan.rollup_buckets)
        .bind(&plan.generations)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::filters::{TimeRange, TrendInterval};

    fn request(interval: TrendInterval, group_by: TrendGroupBy, filter: PostFilter) -> TrendQuery {
        TrendQuery {
            range: TimeRange {
                from: DateTime::from_timestamp(0, 0).unwrap(),
                to: DateTime::from_timestamp(86_400, 0).unwrap(),
            },
            interval,
            group_by,
            filter,
        }
    }

    #[test]
    fn totals_answer_only_unfiltered_five_minute_trends_they_can_add_up_exactly() {
        let five = TrendInterval::FiveMinutes;
        let none = PostFilter::default();
        let watches = |names: &[&str]| PostFilter {
            watches: names.iter().map(|name| name.to_string()).collect(),
            ..PostFilter::default()
        };
        assert_eq!(
            totals_kind(&request(five, TrendGroupBy::Watch, none.clone())),
            Some((1, 1))
        );
        assert_eq!(
            totals_kind(&request(five, TrendGroupBy::Source, none.clone())),
            Some((0, 2))
        );
        assert_eq!(
            totals_kind(&request(five, TrendGroupBy::Label, none.clone())),
            Some((0, 4))
        );
        let one_watch = watches(&["acme"]);
        assert_eq!(
            totals_kind(&request(five, TrendGroupBy::Language, one_watch)),
            Some((1, 3))
        );
        let two_watches = watches(&["acme", "globex"]);
        assert_eq!(
            totals_kind(&request(five, TrendGroupBy::Watch, two_watches.clone())),
            Some((1, 1))
        );
        // An author in both watches would count twice if their totals were added.
        assert_eq!(
            totals_kind(&request(five, TrendGroupBy::Source, two_watches)),
            None
        );
        let negative = PostFilter {
            labels: vec!["negative".into()],
            ..PostFilter::default()
        };
        assert_eq!(
            totals_kind(&request(five, TrendGroupBy::Watch, negative)),
            None
        );
        assert_eq!(
            totals_kind(&request(TrendInterval::OneHour, TrendGroupBy::Watch, none)),
            None
        );
    }

    #[test]
    fn every_placeholder_has_a_bound_value() {
        let plan = RangePlan {
            rollup_buckets: vec![300, 600],
            generations: vec![7, 8],
            raw_spans: vec![(10, 300), (900, 950)],
        };
        let client = clickhouse::Client::default();
        for source in [
            TrendSource::WatchPosts,
            TrendSource::SelectedWatches,
            TrendSource::Posts,
        ] {
            for group_by in TrendGroupBy::ALL {
                let mut filter = PostFilter {
                    sources: vec!["x".into()],
                    ..PostFilter::default()
                };
                if source == TrendSource::SelectedWatches {
                    filter.watches = vec!["acme".into()];
                }
                if source == TrendSource::WatchPosts && group_by != TrendGroupBy::Watch {
                    continue;
                }
                let trend = request(TrendInterval::FifteenMinutes, group_by, filter);
                let sql = rollup_trend_sql(source, group_by, plan.raw_spans.len());
                let bound = bind_rollup_trend(client.query(&sql), &trend, &plan);
                assert!(!bound.sql_display().to_string().contains('?'), "{sql}");
            }
        }
    }
}
