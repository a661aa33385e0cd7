//! Every query-layer statement, rendered with sample values exactly as the store binds them, so
//! the tests can run each one on ClickHouse 18.16 and on current ClickHouse (chdb).
//!
//! Guarantees: every SQL text the query layer can send is here at least once: each trend table ×
//! grouping, and each other statement; samples bind hostile text (quotes, backslashes, `%`,
//! comment markers, non-ASCII) so the escaping is exercised too. Read-only: nothing here changes
//! data.

use chrono::DateTime;

use crate::alerts::{CHANGED_STORIES, LATEST_COLLECTOR_HEALTH, STORY_ACTIONS, STORY_EVENTS};
use crate::filters::{PostFilter, TimeRange, TrendGroupBy, TrendInterval};
use crate::post_search::{
    bind_search, bind_story_posts, search_posts_sql, story_posts_sql, PostCursor, PostQuery,
    StoryPostQuery,
};
use crate::queries::{render, StatementSql};
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
        }
    }
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
        for statement in &statements {
            assert!(!statement.sql.contains('?'), "unbound: {}", statement.name);
        }
    }
}
