//! Integration tests against the real local ClickHouse (`deploy/local/services up`, or any server
//! at `TIDEWATCH_TEST_CLICKHOUSE_URL`, default `http://127.0.0.1:8123`).
//!
//! What they show: migrations are idempotent and safe concurrently; a post delivered two or three
//! times counts once in every count, before and after merges, against expectations computed
//! here from the test's own seed; deletes remove a post from every count, whatever the order of
//! arrival; the latest delivery wins; retention drops only old daily partitions; unscored posts
//! store NULL sentiment; every column round-trips; errors are classified as the store promises.
//!
//! Each test owns a uniquely named database, dropped when the test ends (even on failure). When
//! no ClickHouse answers, each test prints a skip message and passes, unless `CI=true`.

mod support;

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use clickhouse::Row;
use serde::Deserialize;
use support::{delete_of, scored_post, seeded_posts, TestDatabase, WATCH_NAMES};
use tidewatch_store::{latest_schema_version, PostStore, StoreConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_is_idempotent_sequentially_and_concurrently() {
    let Some(database) = TestDatabase::create("migrate").await else {
        return;
    };
    let store = database.store();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let expected_versions: Vec<u32> = (1..=latest_schema_version()).collect();
    assert_eq!(store.applied_migrations().await.unwrap(), expected_versions);

    let Some(raced) = TestDatabase::create("migrate_race").await else {
        return;
    };
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let racer = raced.store().clone();
        racers.spawn(async move { racer.migrate().await });
    }
    while let Some(outcome) = racers.join_next().await {
        outcome.unwrap().unwrap();
    }
    raced.store().migrate().await.unwrap();
    assert_eq!(
        raced.store().applied_migrations().await.unwrap(),
        expected_versions
    );
    let post = scored_post("mastodon", "m/1", 0, &["acme"], Some(-0.5));
    raced.store().insert_posts(&[post]).await.unwrap();
    assert_eq!(raced.store().count_posts().await.unwrap(), 1);
}

#[tokio::test]
async fn redelivered_posts_count_once_in_every_count() {
    let Some(database) = TestDatabase::create("redelivery").await else {
        return;
    };
    let store = database.store();
    store.migrate().await.unwrap();
    let posts = seeded_posts(10_000, 0x7157_0001);
    let (expected_by_watch, expected_by_label) = expected_counts(&posts);

    for batch in posts.chunks(2_500) {
        store.insert_posts(batch).await.unwrap();
    }
    let mut redelivery = posts.clone();
    redelivery.extend(posts.iter().step_by(20).cloned());
    assert_eq!(redelivery.len(), 10_500);
    store.insert_posts(&redelivery).await.unwrap();
    store.insert_posts(&[]).await.unwrap();

    let stored_rows: u64 = store
        .client()
        .query("SELECT count() FROM posts")
        .fetch_one()
        .await
        .unwrap();
    println!("posts holds {stored_rows} physical rows for 10,000 posts before OPTIMIZE");

    for moment in ["before merges", "after OPTIMIZE FINAL"] {
        assert_eq!(store.count_posts().await.unwrap(), 10_000, "{moment}");
        assert_eq!(
            store.count_posts_by_watch().await.unwrap(),
            expected_by_watch,
            "{moment}"
        );
        assert_eq!(
            store.count_posts_by_label().await.unwrap(),
            expected_by_label,
            "{moment}"
        );
        store
            .client()
            .query("OPTIMIZE TABLE posts FINAL")
            .execute()
            .await
            .unwrap();
    }
}

/// `(name, distinct live posts)`, sorted by name: what the count queries return.
type CountsByName = Vec<(String, u64)>;

/// Expected per-watch and per-label counts, computed from the seed data alone.
fn expected_counts(posts: &[tidewatch_model::ScoredPost]) -> (CountsByName, CountsByName) {
    let mut by_watch: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_label: BTreeMap<String, u64> = BTreeMap::new();
    for post in posts {
        let distinct_watches: std::collections::BTreeSet<&String> = post.watches.iter().collect();
        for watch in distinct_watches {
            *by_watch.entry(watch.clone()).or_default() += 1;
        }
        *by_label.entry(post.label.as_str().to_string()).or_default() += 1;
    }
    assert!(
        by_watch.len() == WATCH_NAMES.len() && by_label.len() == 4,
        "seed too narrow"
    );
    (
        by_watch.into_iter().collect(),
        by_label.into_iter().collect(),
    )
}

#[tokio::test]
async fn a_delete_removes_the_post_from_every_count_whatever_the_order() {
    let Some(database) = TestDatabase::create("deletes").await else {
        return;
    };
    let store = database.store();
    store.migrate().await.unwrap();
    let posts = vec![
        scored_post("reddit", "r/1", 0, &["acme"], Some(-0.6)),
        scored_post("reddit", "r/2", 0, &["acme", "globex"], Some(-0.7)),
        scored_post("reddit", "r/3", 1, &["globex"], Some(0.6)),
    ];
    store.insert_posts(&posts).await.unwrap();

    // The delete comes three days later, so it lands in another day than the post.
    store
        .insert_posts(&[delete_of("reddit", "r/2", 3)])
        .await
        .unwrap();
    // A tombstone that arrives before its post, then the post, then the post again.
    store
        .insert_posts(&[delete_of("bluesky", "b/9", 0)])
        .await
        .unwrap();
    let early_deleted = scored_post("bluesky", "b/9", 0, &["acme"], Some(0.9));
    store
        .insert_posts(std::slice::from_ref(&early_deleted))
        .await
        .unwrap();
    // The deleted post is redelivered after its delete.
    store
        .insert_posts(&[posts[1].clone(), early_deleted])
        .await
        .unwrap();

    assert_eq!(store.count_posts().await.unwrap(), 2);
    assert_eq!(
        store.count_posts_by_watch().await.unwrap(),
        vec![("acme".to_string(), 1), ("globex".to_string(), 1)]
    );
    assert_eq!(
        store.count_posts_by_label().await.unwrap(),
        vec![("negative".to_string(), 1), ("positive".to_string(), 1)]
    );
}

#[tokio::test]
async fn the_latest_delivery_of_a_post_wins() {
    let Some(database) = TestDatabase::create("latest").await else {
        return;
    };
    let store = database.store();
    store.migrate().await.unwrap();
    let first = scored_post("mastodon", "m/7", 0, &["acme"], Some(-0.8));
    let rescored = scored_post("mastodon", "m/7", 0, &["globex"], Some(0.8));
    store.insert_posts(&[first]).await.unwrap();
    store.insert_posts(&[rescored]).await.unwrap();
    assert_eq!(store.count_posts().await.unwrap(), 1);
    assert_eq!(
        store.count_posts_by_watch().await.unwrap(),
        vec![("globex".to_string(), 1)]
    );
    assert_eq!(
        store.count_posts_by_label().await.unwrap(),
        vec![("positive".to_string(), 1)]
    );
}

#[tokio::test]
async fn retention_drops_only_whole_old_daily_partitions() {
    let Some(database) = TestDatabase::create("retention").await else {
        return;
    };
    let store = database.store();
    store.migrate().await.unwrap();
    let today = NaiveDate::from_ymd_opt(2024, 3, 20).unwrap();
    let ages_in_days = [10_u64, 8, 7, 1, 0];
    let posts: Vec<_> = ages_in_days
        .iter()
        .map(|age| {
            let source_id = format!("age-{age}");
            support::scored_post_on(today - Days::new(*age), &source_id, Some(0.1))
        })
        .collect();
    store.insert_posts(&posts).await.unwrap();
    // A delete tombstone is not a post partition and must survive retention.
    store
        .insert_posts(&[delete_of("bluesky", "gone", 0)])
        .await
        .unwrap();
    assert_eq!(store.post_partition_days().await.unwrap().len(), 5);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let rolled_up = store.refresh_rollups(0, 100).await.unwrap();
    assert_eq!(rolled_up.buckets, 5);

    let dropped = store.drop_partitions_older_than(7, today).await.unwrap();
    let day = |age: u64| today - Days::new(age);
    assert_eq!(dropped, vec![day(10), day(8)]);
    assert_eq!(
        store.post_partition_days().await.unwrap(),
        vec![day(7), day(1), day(0)]
    );
    assert_eq!(store.count_posts().await.unwrap(), 3);
    for table in ["trend_rollup", "trend_rollup_totals"] {
        let days: Vec<u32> = store
            .client()
            .query("SELECT DISTINCT toUInt32(toYYYYMMDD(bucket)) AS day FROM ? ORDER BY day")
            .bind(clickhouse::sql::Identifier(table))
            .fetch_all()
            .await
            .unwrap();
        let kept: Vec<u32> = [7, 1, 0]
            .iter()
            .map(|age| day(*age).format("%Y%m%d").to_string().parse().unwrap())
            .collect();
        assert_eq!(days, kept, "{table} keeps the same days as posts");
    }
    assert!(store
        .drop_partitions_older_than(7, today)
        .await
        .unwrap()
        .is_empty());
    let tombstones: u64 = store
        .client()
        .query("SELECT count() FROM post_deletes")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(tombstones, 1);
}

/// Every column of `posts`, read back by name; proves the RowBinary field order of the sink.
#[derive(Debug, Row, Deserialize)]
struct StoredPost {
    source: String,
    source_id: String,
    kind: String,
    created_at: u32,
    author_id: String,
    author_handle: String,
    author_followers: Option<u64>,
    text: String,
    lang: String,
    url: String,
    parent_id: String,
    likes: u64,
    reposts: u64,
    replies: u64,
    rating: Option<f32>,
    neg: Option<f64>,
    neu: Option<f64>,
    pos: Option<f64>,
    compound: Option<f64>,
    label: String,
    lang_detected: String,
    watches: Vec<String>,
    ingested_at: u32,
    version: u64,
}

#[tokio::test]
async fn unscored_posts_store_nulls_and_every_column_round_trips() {
    let Some(database) = TestDatabase::create("columns").await else {
        return;
    };
    let store = database.store();
    store.migrate().await.unwrap();
    let scored = scored_post("appstore", "a/1", 0, &["acme", "globex"], Some(-0.3612));
    let unscored = scored_post("appstore", "a/2", 0, &[], None);
    store
        .insert_posts(&[scored.clone(), unscored.clone()])
        .await
        .unwrap();

    let rows: Vec<StoredPost> = store
        .client()
        .query("SELECT ?fields FROM posts ORDER BY source_id")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let (scored_row, unscored_row) = (&rows[0], &rows[1]);
    let sentiment = scored.sentiment.unwrap();
    assert_eq!(scored_row.source, "appstore");
    assert_eq!(scored_row.source_id, "a/1");
    assert_eq!(scored_row.kind, "review");
    assert_eq!(
        i64::from(scored_row.created_at),
        scored.post.created_at.timestamp()
    );
    assert_eq!(scored_row.author_id, "author-a/1");
    assert_eq!(scored_row.author_handle, "@a/1");
    assert_eq!(scored_row.author_followers, Some(812));
    assert_eq!(scored_row.text, scored.post.text);
    assert_eq!(
        (scored_row.lang.as_str(), scored_row.url.as_str()),
        ("en", "https://example.test/a/1")
    );
    assert_eq!(scored_row.parent_id, "");
    assert_eq!(
        (scored_row.likes, scored_row.reposts, scored_row.replies),
        (3, 1, 0)
    );
    assert_eq!(scored_row.rating, Some(2.0));
    assert_eq!(scored_row.neg, Some(sentiment.neg));
    assert_eq!(scored_row.neu, Some(sentiment.neu));
    assert_eq!(scored_row.pos, Some(sentiment.pos));
    assert_eq!(scored_row.compound, Some(-0.3612));
    assert_eq!(scored_row.label, "negative");
    assert_eq!(scored_row.lang_detected, "en");
    assert_eq!(scored_row.watches, ["acme", "globex"]);
    assert!(scored_row.ingested_at > 1_700_000_000 && scored_row.version > 0);

    let nulls = (
        unscored_row.neg,
        unscored_row.neu,
        unscored_row.pos,
        unscored_row.compound,
    );
    assert_eq!(nulls, (None, None, None, None));
    assert_eq!(unscored_row.label, "unscored");
    assert!(unscored_row.watches.is_empty());
    let null_count: u64 = store
        .client()
        .query("SELECT count() FROM posts WHERE isNull(compound) AND isNull(neg)")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(null_count, 1);
}

#[tokio::test]
async fn errors_are_classified_as_retryable_or_fatal() {
    let Some(database) = TestDatabase::create("errors").await else {
        return;
    };
    let store = database.store();
    // No migration ran: the database does not even exist. That is a schema error, fatal.
    let missing_schema = store.count_posts().await.unwrap_err();
    assert!(!missing_schema.is_retryable(), "{missing_schema}");
    store.migrate().await.unwrap();
    let bad_sql = store
        .client()
        .query("SELECT nope FROM posts")
        .execute()
        .await
        .unwrap_err();
    let bad_sql = tidewatch_store::StoreError::ClickHouse {
        operation: "test",
        source: bad_sql,
    };
    assert!(!bad_sql.is_retryable(), "{bad_sql}");

    let nobody_listens = StoreConfig {
        url: "http://127.0.0.1:9".to_string(),
        ..store.config().clone()
    };
    let unreachable = PostStore::connect(&nobody_listens)
        .insert_posts(&[scored_post("rss", "f/1", 0, &[], None)])
        .await
        .unwrap_err();
    assert!(unreachable.is_retryable(), "{unreachable}");
    assert!(PostStore::connect(&nobody_listens)
        .ping()
        .await
        .unwrap_err()
        .is_retryable());
}
