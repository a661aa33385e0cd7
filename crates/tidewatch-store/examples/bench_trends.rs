//! Trend query benchmark: seeds N posts (default 10 million) over 7 days server-side with
//! `INSERT … SELECT FROM numbers()` (2% redelivered, 5 watches, 4 sources, 200k authors), then
//! times the 7-day, 5-minute trend query (`/api/v1/trends?interval=5m&group_by=watch`) and the
//! same by source (all posts), printing p50 / p99 / max.
//!
//! `cargo run --release -p tidewatch-store --example bench_trends -- [posts] [runs] [database]
//! [reuse]`. The database (default `tw_bench`) is dropped and seeded first, unless the fourth
//! argument is `reuse` (then the seed of an earlier run is timed again); it is kept afterwards.

use std::time::Instant;

use chrono::{DateTime, Utc};
use tidewatch_store::{
    PostFilter, PostStore, StoreConfig, TimeRange, TrendGroupBy, TrendInterval, TrendQuery,
};

const START: i64 = 1_424_649_600; // 2015-02-23T00:00:00Z
const WEEK: i64 = 7 * 86_400;

const SEED_POSTS: &str = "
INSERT INTO posts (source, source_id, kind, created_at, author_id, author_handle, author_followers,
    text, lang, url, parent_id, likes, reposts, replies, rating, neg, neu, pos, compound, label,
    lang_detected, watches, ingested_at, version)
SELECT arrayElement(['mastodon', 'bluesky', 'reddit', 'hackernews'], number % 4 + 1),
       concat('b', toString(number)), 'post', toDateTime(? + intDiv(number * ?, ?)),
       concat('u', toString(cityHash64(number) % 200000)), '', 100, 'bench text', 'en', '', '',
       0, 0, 0, NULL, 0., 1., 0., c,
       multiIf(c <= -0.05, 'negative', c >= 0.05, 'positive', 'neutral'), 'en',
       [arrayElement(['acme', 'globex', 'initech', 'umbrella', 'hooli'], number % 5 + 1)],
       now(), ?
FROM (SELECT number, toFloat64(cityHash64(number, 1) % 2001) / 1000. - 1. AS c FROM numbers(?))
WHERE number % ? = 0";

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

async fn time_query(store: &PostStore, request: &TrendQuery, runs: usize) -> (Vec<f64>, usize) {
    let mut buckets = 0;
    for _ in 0..2 {
        buckets = store.trends(request).await.expect("trend query").len();
    }
    let mut timings = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        store.trends(request).await.expect("trend query");
        timings.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    timings.sort_by(f64::total_cmp);
    (timings, buckets)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let posts: u64 = args.next().map_or(Ok(10_000_000), |text| text.parse())?;
    let runs: usize = args.next().map_or(Ok(30), |text| text.parse())?;
    let database = args.next().unwrap_or_else(|| "tw_bench".to_string());
    let reuse = args.next().is_some_and(|word| word == "reuse");
    let store = PostStore::connect(&StoreConfig::default().with_database(database.clone()));
    if !reuse {
        seed(&store, posts, &database).await?;
    }
    time_all(&store, runs).await;
    Ok(())
}

async fn seed(
    store: &PostStore,
    posts: u64,
    database: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    store.drop_database().await?;
    store.migrate().await?;
    let started = Instant::now();
    let client = store
        .client()
        .clone()
        .with_setting("max_execution_time", "3600");
    // Every post once, then every 50th again with a newer version (a redelivery).
    for (version, every) in [(1_u64, 1_u64), (2, 50)] {
        client
            .query(SEED_POSTS)
            .bind(START)
            .bind(WEEK)
            .bind(posts)
            .bind(version)
            .bind(posts)
            .bind(every)
            .execute()
            .await?;
    }
    client
        .query(tidewatch_store::MIGRATIONS[1].statements[1])
        .execute()
        .await?;
    println!(
        "seeded {posts} posts (+2% redelivered) into {database} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn time_all(store: &PostStore, runs: usize) {
    let range = TimeRange {
        from: DateTime::<Utc>::from_timestamp(START, 0).unwrap_or_default(),
        to: DateTime::<Utc>::from_timestamp(START + WEEK, 0).unwrap_or_default(),
    };
    for group_by in [TrendGroupBy::Watch, TrendGroupBy::Source] {
        let request = TrendQuery {
            range,
            interval: TrendInterval::FiveMinutes,
            group_by,
            filter: PostFilter::default(),
        };
        let (timings, buckets) = time_query(store, &request, runs).await;
        println!(
            "trends 7 days × 5 min by {:<6}: {buckets} buckets; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {runs} runs",
            group_by.as_str(),
            percentile(&timings, 0.5),
            percentile(&timings, 0.99),
            timings[timings.len() - 1],
        );
    }
    let one_watch = TrendQuery {
        range,
        interval: TrendInterval::FiveMinutes,
        group_by: TrendGroupBy::Label,
        filter: PostFilter {
            watches: vec!["acme".into()],
            ..PostFilter::default()
        },
    };
    let (timings, buckets) = time_query(store, &one_watch, runs).await;
    println!(
        "trends 7 days × 5 min, watch=acme by label: {buckets} buckets; p50 {:.0} ms, p99 {:.0} ms",
        percentile(&timings, 0.5),
        percentile(&timings, 0.99)
    );
}
