//! Every query-layer statement, rendered with sample values exactly as the store binds them, so
//! the tests can run each one on ClickHouse 18.16 and on current ClickHouse (chdb).
//!
//! Guarantees: every SQL text the query layer can send is here at least once: each trend table ×
//! grouping, raw and from the rollup (with and without raw spans), the rollup worker's and the
//! sink's bookkeeping, and each other statement; samples bind hostile text (quotes, backslashes, `%`,
//! comment markers, non-ASCII) so the escaping is exercised too. Nothing here changes posts;
//! the rollup statements write only rollup bookkeeping for sample buckets.

use std::collections::HashMap;

use chrono::DateTime;

use crate::alerts::{CHANGED_STORIES, LATEST_COLLECTOR_HEALTH, STORY_ACTIONS, STORY_EVENTS};
use crate::filters::{PostFilter, TimeRange, TrendGroupBy, TrendInterval};
use crate::post_search::{
    bind_search, bind_story_posts, search_posts_sql, story_posts_sql, PostCursor, PostQuery,
    StoryPostQuery,
};
use crate::queries::{render, StatementSql};
use crate::rollup::{
    plan_range, RangePlan, CLEAN_BUCKETS, DELETE_SUPERSEDED_GENERATIONS, DELETE_SUPERSEDED_ROLLUPS,
    DELETE_SUPERSEDED_TOTALS, DIRTY_BUCKETS, MARK_BUCKETS, MARK_DELETED_POST_BUCKETS,
    MAX_RAW_SPANS, RECORD_GENERATIONS, ROLLUP_POSTS, ROLLUP_TOTALS, ROLLUP_WATCH_POSTS, SERVER_NOW,
    SUPERSEDED_BUCKETS,
};
use crate::rollup_queries::{
    bind_rollup_share_of_voice, bind_rollup_trend, bind_totals_trend, rollup_share_of_voice_sql,
    rollup_trend_sql, totals_kind, totals_trend_sql,
};
use crate::stories::{bind_stories, StoryQuery, LIST_STORIES};
use crate::trends::{
    bind_share_of_voice, bind_trend, share_of_voice_sql, trend_sql, TrendQuery, TrendSource,
    LIST_WATCHES,
};

/// Text that would break a statement that formatted values instead of binding them.
pub(crate) const HOSTILE_SAMPLE: &str = "' OR 1=1 -- \\ % _ \u{e9}\u{1F600} \"; DROP TABLE posts";

fn sample_range() -> TimeRange {
    TimeRange {
        from: DateTime::from_timestamp(1_424_649_600, 0).unwrap_or_default(),
        to: DateTime::from_timestamp(1_425_254_400, 0).unwrap_or_default(),
    }
}

fn sample_filter(with_values: bool) -> PostFilter {
    if !with_values {
        return PostFilter::default();
    }
    PostFilter {
        watches: vec!["acme".into(), HOSTILE_SAMPLE.into()],
        sources: vec!["mastodon".into()],
        languages: vec!["en".into()],
        labels: vec!["negative".into()],
    }
}

/// A plan reading only the rollup, and one mixing it with raw spans at both edges.
fn sample_plans() -> [RangePlan; 2] {
    let range = sample_range();
    let (from, to) = (range.from.timestamp() as u32, range.to.timestamp() as u32);
    let clean: HashMap<u32, u64> = (from / 300..to / 300)
        .map(|bucket| (bucket * 300, 1_u64))
        .collect();
    let rollup_only = plan_range(from, to, &clean, MAX_RAW_SPANS);
    let mixed = plan_range(from + 10, to - 10, &clean, MAX_RAW_SPANS);
    [rollup_only, mixed]
}

/// The rollup worker's and the sink's statements (they write only rollup bookkeeping).
fn rollup_maintenance_sql() -> Vec<StatementSql> {
    let buckets = vec![1_424_649_600_u32, 1_424_649_900];
    vec![
        render("server clock", true, SERVER_NOW, |query| query),
        render("mark rollup buckets", true, MARK_BUCKETS, |query| {
            query.bind(&buckets)
        }),
        render(
            "mark deleted post buckets",
            true,
            MARK_DELETED_POST_BUCKETS,
            |query| query.bind(vec![("mastodon", "m1"), ("bluesky", HOSTILE_SAMPLE)]),
        ),
        render("dirty rollup buckets", true, DIRTY_BUCKETS, |query| {
            query.bind(120_u32).bind(100_u64)
        }),
        render("clean rollup buckets", true, CLEAN_BUCKETS, |query| {
            query
                .bind(buckets[0])
                .bind(buckets[1])
                .bind(buckets[0])
                .bind(buckets[1])
        }),
        render("compute watch rollup", true, ROLLUP_WATCH_POSTS, |query| {
            query
                .bind(2_u64)
                .bind(buckets[0])
                .bind(buckets[1] + 300)
                .bind(&buckets)
        }),
        render("compute posts rollup", true, ROLLUP_POSTS, |query| {
            query
                .bind(2_u64)
                .bind(buckets[0])
                .bind(buckets[1] + 300)
                .bind(&buckets)
        }),
        render("compute rollup totals", true, ROLLUP_TOTALS, |query| {
            query.bind(2_u64).bind(buckets[0]).bind(buckets[1] + 300)
        }),
        render(
            "record rollup generation",
            true,
            RECORD_GENERATIONS,
            |query| query.bind(&buckets).bind(2_u64).bind(buckets[0]),
        ),
        render(
            "superseded rollup buckets",
            true,
            SUPERSEDED_BUCKETS,
            |query| query.bind(100_u64),
        ),
        render(
            "delete superseded rollups",
            true,
            DELETE_SUPERSEDED_ROLLUPS,
            |query| query.bind(&buckets).bind(vec![1_u64, 1]),
        ),
        render(
            "delete superseded rollup totals",
            true,
            DELETE_SUPERSEDED_TOTALS,
            |query| query.bind(&buckets).bind(vec![1_u64, 1]),
        ),
        render(
            "delete superseded generations",
            true,
            DELETE_SUPERSEDED_GENERATIONS,
            |query| query.bind(&buckets).bind(vec![1_u64, 1]),
        ),
    ]
}

/// The query layer's statements, reads only.
pub(crate) fn query_layer_sql() -> Vec<StatementSql> {
    let mut statements = Vec::new();
    let variants = [
        (
            TrendSource::WatchPosts,
            "of watch posts",
            &[TrendGroupBy::Watch][..],
        ),
        (
            TrendSource::SelectedWatches,
            "of selected watches",
            &TrendGroupBy::ALL[..],
        ),
        (
            TrendSource::Posts,
            "of posts",
            &[
                TrendGroupBy::Source,
                TrendGroupBy::Language,
                TrendGroupBy::Label,
            ][..],
        ),
    ];
    for (source, table_name, groupings) in variants {
        for group_by in groupings {
            let mut filter = sample_filter(source == TrendSource::SelectedWatches);
            if source != TrendSource::SelectedWatches {
                filter.watches.clear();
                filter.sources = vec![HOSTILE_SAMPLE.into()];
            }
            let request = TrendQuery {
                range: sample_range(),
                interval: TrendInterval::FiveMinutes,
                group_by: *group_by,
                filter,
            };
            debug_assert_eq!(request.source(), source);
            let name = format!("trends {table_name} by {}", group_by.as_str());
            let sql = trend_sql(source, *group_by);
            statements.push(render(&name, true, &sql, |query| {
                bind_trend(query, &request)
            }));
            for plan in sample_plans() {
                let name = format!(
                    "rollup trends {table_name} by {} with {} raw spans",
                    group_by.as_str(),
                    plan.raw_spans.len()
                );
                let sql = rollup_trend_sql(source, *group_by, plan.raw_spans.len());
                statements.push(render(&name, true, &sql, |query| {
                    bind_rollup_trend(query, &request, &plan)
                }));
                // The same request unfiltered (one watch when selected) reads the totals.
                let mut unfiltered = TrendQuery {
                    filter: PostFilter {
                        watches: request.filter.watches.iter().take(1).cloned().collect(),
                        ..PostFilter::default()
                    },
                    ..request.clone()
                };
                if source != TrendSource::SelectedWatches {
                    unfiltered.filter.watches.clear();
                }
                let kind = totals_kind(&unfiltered).expect("unfiltered 5-minute trends use totals");
                let name = format!(
                    "rollup totals trends {table_name} by {} with {} raw spans",
                    group_by.as_str(),
                    plan.raw_spans.len()
                );
                let sql = totals_trend_sql(source, *group_by, kind, plan.raw_spans.len());
                statements.push(render(&name, true, &sql, |query| {
                    bind_totals_trend(query, &unfiltered, &plan)
                }));
            }
        }
    }
    for plan in sample_plans() {
        let name = format!(
            "rollup share of voice with {} raw spans",
            plan.raw_spans.len()
        );
        let sql = rollup_share_of_voice_sql(plan.raw_spans.len());
        statements.push(render(&name, true, &sql, |query| {
            bind_rollup_share_of_voice(query, &plan, &sample_filter(true))
        }));
    }
    statements.extend(rollup_maintenance_sql());
    statements.push(render(
        "share of voice",
        true,
        &share_of_voice_sql(),
        |query| bind_share_of_voice(query, &sample_range(), &sample_filter(true)),
    ));
    statements.push(render("list watches", true, LIST_WATCHES, |query| query));
    let search = PostQuery {
        range: sample_range(),
        filter: sample_filter(true),
        text: HOSTILE_SAMPLE.into(),
        limit: 50,
        cursor: Some(PostCursor {
            created_at: 1_424_715_331,
            source: "mastodon".into(),
            source_id: HOSTILE_SAMPLE.into(),
        }),
    };
    statements.push(render("search posts", true, &search_posts_sql(), |query| {
        bind_search(query, &search)
    }));
    let story_posts = StoryPostQuery {
        watch: "acme".into(),
        from: sample_range().from,
        to: sample_range().to,
        terms: vec!["fleet".into(), HOSTILE_SAMPLE.into()],
        post_ids: vec!["mastodon:m1".into()],
        limit: 1_000,
    };
    statements.push(render("story posts", true, &story_posts_sql(), |query| {
        bind_story_posts(query, &story_posts)
    }));
    let stories = StoryQuery {
        story_ids: vec![HOSTILE_SAMPLE.into()],
        watches: vec!["acme".into()],
        states: vec!["firing".into(), "updated".into()],
        severities: vec!["warning".into()],
        range: sample_range(),
        limit: 50,
    };
    statements.push(render("list stories", true, LIST_STORIES, |query| {
        bind_stories(query, &stories)
    }));
    statements.push(render("story events", true, STORY_EVENTS, |query| {
        query.bind(HOSTILE_SAMPLE)
    }));
    statements.push(render("story actions", true, STORY_ACTIONS, |query| {
        query.bind(vec!["s1", HOSTILE_SAMPLE])
    }));
    statements.push(render(
        "collector health",
        true,
        LATEST_COLLECTOR_HEALTH,
        |query| query,
    ));
    statements.push(render("changed stories", true, CHANGED_STORIES, |query| {
        query.bind(1_u64).bind(1_u64)
    }));
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_trend_variant_and_binds_every_placeholder() {
        let statements = query_layer_sql();
        let trend_variants = statements
            .iter()
            .filter(|statement| statement.name.starts_with("trends "))
            .count();
        // Every watch by watch; selected watches × 4 groupings; posts × 3 (not by watch).
        assert_eq!(trend_variants, 8);
        let rollup_variants = statements
            .iter()
            .filter(|statement| statement.name.starts_with("rollup trends "))
            .count();
        assert_eq!(rollup_variants, 8 * 2);
        let totals_variants = statements
            .iter()
            .filter(|statement| statement.name.starts_with("rollup totals trends "))
            .count();
        assert_eq!(totals_variants, 8 * 2);
        for statement in &statements {
            assert!(!statement.sql.contains('?'), "unbound: {}", statement.name);
        }
    }
}
