//! Trend query benchmark: seeds N posts (default 10 million) over 7 days server-side with
//! `INSERT … SELECT FROM numbers()` (2% redelivered, 5 watches, 4 sources, 200k authors), then
//! times the 7-day, 5-minute trend query (`/api/v1/trends?interval=5m&group_by=watch`), the
//! same by source (all posts) and one watch by label, printing p50 / p99 / max: first read raw
//! (no rollup: the baseline), then after the rollup worker computed every bucket (timed too),
//! checking that both answers are identical, and printing the speed-up.
//!
//! `cargo run --release -p tidewatch-store --example bench_trends -- [posts] [runs] [database]
//! [reuse]`. The database (default `tw_bench`) is dropped and seeded first, unless the fourth
//! argument is `reuse` (then the seed of an earlier run is timed again); it is kept afterwards.

use std::time::Instant;

use chrono::{DateTime, Utc};
use tidewatch_store::{
    PostFilter, PostStore, StoreConfig, TimeRange, TrendBucket, TrendGroupBy, TrendInterval,
    TrendQuery,
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

async fn time_query(
    store: &PostStore,
    request: &TrendQuery,
    runs: usize,
) -> (Vec<f64>, Vec<TrendBucket>) {
    let mut answer = Vec::new();
    for _ in 0..2 {
        answer = store.trends(request).await.expect("trend query");
    }
    let mut timings = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        store.trends(request).await.expect("trend query");
        timings.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    timings.sort_by(f64::total_cmp);
    (timings, answer)
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
    store.migrate().await?;
    forget_rollups(&store).await?;
    println!("raw (no rollup, the baseline):");
    let raw = time_all(&store, runs).await;
    let started = Instant::now();
    let mut buckets = 0;
    loop {
        let refresh = store.refresh_rollups(0, 100_000).await?;
        buckets += refresh.buckets;
        if !refresh.more_waiting {
            break;
        }
    }
    println!(
        "rollup computed: {buckets} buckets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("from the rollup:");
    let rolled = time_all(&store, runs).await;
    for ((name, raw_p50, raw_answer), (_, rolled_p50, rolled_answer)) in raw.iter().zip(&rolled) {
        assert!(
            raw_answer == rolled_answer,
            "{name}: rollup answer differs from raw"
        );
        println!(
            "{name}: identical answers; p50 {raw_p50:.0} ms raw → {rolled_p50:.0} ms rollup ({:.1}× faster)",
            raw_p50 / rolled_p50
        );
    }
    Ok(())
}

/// Empties the rollup and marks every bucket with posts, so the next queries read raw.
async fn forget_rollups(store: &PostStore) -> Result<(), Box<dyn std::error::Error>> {
    for table in [
        "trend_rollup",
        "trend_rollup_totals",
        "rollup_generations",
        "rollup_marks",
    ] {
        store
            .client()
            .query("TRUNCATE TABLE ?")
            .bind(clickhouse::sql::Identifier(table))
            .execute()
            .await?;
    }
    store.mark_every_rollup_bucket().await?;
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

/// The benchmarked requests over the seeded week, with their names.
fn requests() -> Vec<(String, TrendQuery)> {
    let range = TimeRange {
        from: DateTime::<Utc>::from_timestamp(START, 0).unwrap_or_default(),
        to: DateTime::<Utc>::from_timestamp(START + WEEK, 0).unwrap_or_default(),
    };
    let request = |interval, group_by, filter| TrendQuery {
        range,
        interval,
        group_by,
        filter,
    };
    let five_minutes = TrendInterval::FiveMinutes;
    let acme = PostFilter {
        watches: vec!["acme".into()],
        ..PostFilter::default()
    };
    let negative = PostFilter {
        labels: vec!["negative".into()],
        ..PostFilter::default()
    };
    // The first three read the rollup's finished totals; coarser intervals and filters read
    // its author states.
    vec![
        (
            "trends 7 days × 5 min by watch".to_string(),
            request(five_minutes, TrendGroupBy::Watch, PostFilter::default()),
        ),
        (
            "trends 7 days × 5 min by source".to_string(),
            request(five_minutes, TrendGroupBy::Source, PostFilter::default()),
        ),
        (
            "trends 7 days × 5 min, watch=acme by label".to_string(),
            request(five_minutes, TrendGroupBy::Label, acme),
        ),
        (
            "trends 7 days × 1 hour by watch".to_string(),
            request(
                TrendInterval::OneHour,
                TrendGroupBy::Watch,
                PostFilter::default(),
            ),
        ),
        (
            "trends 7 days × 5 min by watch, label=negative".to_string(),
            request(five_minutes, TrendGroupBy::Watch, negative),
        ),
    ]
}

/// Times each request; returns its name, p50 (ms) and answer.
async fn time_all(store: &PostStore, runs: usize) -> Vec<(String, f64, Vec<TrendBucket>)> {
    let mut results = Vec::new();
    for (name, request) in requests() {
        let (timings, answer) = time_query(store, &request, runs).await;
        println!(
            "  {name}: {} buckets; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {runs} runs",
            answer.len(),
            percentile(&timings, 0.5),
            percentile(&timings, 0.99),
            timings[timings.len() - 1],
        );
        results.push((name, percentile(&timings, 0.5), answer));
    }
    results
}
