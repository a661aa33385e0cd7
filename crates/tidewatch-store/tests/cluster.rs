//! Cluster mode on real processes: the local 2 shards × 2 replicas ClickHouse cluster
//! (`deploy/local/services up cluster`, node 1 on http 127.0.0.1:19511) against the single
//! server (127.0.0.1:8123), fed the same deliveries through the store's sink, the code `tidewatch
//! store` runs for each batch.
//!
//! What it shows: 40,000 posts, 5% of them delivered again (a third of those with a changed
//! label: the later delivery wins) and 1% deleted, written in 2,000-post batches while one
//! replica (node 4, shard 2) is `kill -9`ed after a third of the batches and restarted after two
//! thirds, give the same answer on the cluster as on one server: counts per watch and label,
//! trends in every grouping at several widths (raw, then from the rollup once the worker ran on
//! both), share of voice, post search, stories, every read statement of `all_query_sql`
//! byte for byte, and retention. Each replica ends up with exactly its partner's rows (nothing
//! lost on the killed one) and the two shards add up to the single server.
//!
//! The cluster is optional outside CI (the test prints a skip message); under `CI=true` a
//! missing cluster fails it. `TIDEWATCH_TEST_CLUSTER_URL` points it elsewhere (then the
//! kill/restart of node 4 is skipped unless `.local/run/cluster-node4.pid` is ours).

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use support::{delete_of, seeded_posts, TestDatabase};
use tidewatch_model::{AlertEvent, AlertState, ScoredPost, Severity};
use tidewatch_store::{
    all_query_sql, PostFilter, PostQuery, PostStore, StoryQuery, TimeRange, TrendGroupBy,
    TrendInterval, TrendQuery,
};

const CLUSTER_NAME: &str = "tidewatch_cluster";
const DEFAULT_CLUSTER_URL: &str = "http://127.0.0.1:19511";
/// The cluster's nodes (http ports), shard 1 = nodes 1 and 2, shard 2 = nodes 3 and 4.
const NODE_URLS: [&str; 4] = [
    "http://127.0.0.1:19511",
    "http://127.0.0.1:19512",
    "http://127.0.0.1:19513",
    "http://127.0.0.1:19514",
];
const POSTS: usize = 40_000;
const BATCH: usize = 2_000;
const SEED: u64 = 15;
/// The tables whose rows each replica must hold exactly like its partner.
const REPLICATED_TABLES: [&str; 4] = ["posts", "watch_posts", "post_deletes", "alert_events"];

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The deliveries, in order: every post, then 5% again (every third of those with a flipped
/// sign, so its label changes), then 1% deleted.
fn deliveries() -> Vec<ScoredPost> {
    let posts = seeded_posts(POSTS, SEED);
    let mut deliveries = posts.clone();
    for (index, post) in posts.iter().enumerate().step_by(20) {
        let mut again = post.clone();
        if index % 60 == 0 {
            if let Some(sentiment) = again.sentiment.as_mut() {
                sentiment.compound = -sentiment.compound;
                again.label = tidewatch_model::Label::from_compound(sentiment.compound);
            }
        }
        deliveries.push(again);
    }
    for post in posts.iter().step_by(100) {
        deliveries.push(delete_of(&post.post.source, &post.post.source_id, 8));
    }
    deliveries
}

fn alert_events() -> Vec<AlertEvent> {
    let at = |minutes: i64| {
        DateTime::parse_from_rfc3339("2015-02-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::minutes(minutes)
    };
    let mut events = Vec::new();
    for story in 0..30u64 {
        for (step, state) in [
            AlertState::Firing,
            AlertState::Updated,
            AlertState::Resolved,
        ]
        .into_iter()
        .enumerate()
        {
            let step = step as i64;
            events.push(AlertEvent {
                v: 1,
                story_id: format!("story-{story}"),
                watch: ["acme", "globex", "initech"][story as usize % 3].into(),
                state,
                severity: Severity::Warning,
                fired_at: at(story as i64 * 7 + step * 5),
                first_post_at: at(story as i64 * 7),
                title: format!("story {story}"),
                terms: vec!["fleet".into(), format!("t{story}")],
                posts: 10 + story + step as u64,
                negative_share: 0.5,
                score: 8.0,
                baseline: 1.0,
                threshold: 6.0,
                post_ids: vec![format!("mastodon:mastodon-{story}")],
                first_post_id: format!("mastodon:mastodon-{story}"),
            });
        }
    }
    // Redelivered, as a detector restart would.
    events.extend(events[..20].to_vec());
    events
}

/// Stores one batch the way the store stage does: retry while the error is retryable.
async fn store_batch(store: &PostStore, batch: &[ScoredPost]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match store.insert_posts(batch).await {
            Ok(()) => return,
            Err(error) if error.is_retryable() && Instant::now() < deadline => {
                eprintln!("retrying a batch: {error}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => panic!("batch failed: {error}"),
        }
    }
}

/// The pid of node 4 if `deploy/local/services` started it from this repository.
fn node4_pid() -> Option<u32> {
    let pid_file = repository_root().join(".local/run/cluster-node4.pid");
    let pid: u32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&command_line)
        .contains("cluster/node4/config.xml")
        .then_some(pid)
}

fn kill_9(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -9 {pid} failed");
}

fn start_cluster_again() {
    let output = std::process::Command::new(repository_root().join("deploy/local/services"))
        .args(["up", "cluster"])
        .output()
        .expect("deploy/local/services");
    assert!(
        output.status.success(),
        "services up cluster: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One statement's whole answer as TabSeparated text.
async fn answer_text(store: &PostStore, sql: &str) -> Result<String, String> {
    let mut cursor = store
        .client()
        .query(sql)
        .fetch_bytes("TabSeparated")
        .map_err(|error| error.to_string())?;
    let bytes = cursor.collect().await.map_err(|error| error.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Rows (`count() … FINAL`) of `table`'s local table on the node at `url`.
async fn local_rows(url: &str, database: &str, table: &str) -> Result<String, String> {
    let node = PostStore::connect(&tidewatch_store::StoreConfig {
        url: url.to_string(),
        database: database.to_string(),
        ..tidewatch_store::StoreConfig::default()
    });
    answer_text(&node, &format!("SELECT count() FROM {table}_local FINAL")).await
}

/// Waits until every replica holds what its partner holds, for every replicated table; returns
/// the rows per shard of `posts`.
async fn wait_for_replicas_in_step(database: &str) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut in_step = true;
        let mut shard_posts = (0, 0);
        for table in REPLICATED_TABLES {
            let mut rows = Vec::new();
            for url in NODE_URLS {
                rows.push(local_rows(url, database, table).await);
            }
            let same = |a: &Result<String, String>, b: &Result<String, String>| matches!((a, b), (Ok(a), Ok(b)) if a == b);
            in_step &= same(&rows[0], &rows[1]) && same(&rows[2], &rows[3]);
            if table == "posts" && in_step {
                let number = |row: &Result<String, String>| {
                    row.as_ref().unwrap().trim().parse::<u64>().unwrap()
                };
                shard_posts = (number(&rows[0]), number(&rows[2]));
            }
        }
        if in_step {
            return shard_posts;
        }
        assert!(Instant::now() < deadline, "replicas not in step after 90 s");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn whole_week() -> TimeRange {
    TimeRange {
        from: DateTime::parse_from_rfc3339("2015-02-23T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        to: DateTime::parse_from_rfc3339("2015-03-03T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    }
}

/// Every trend, share of voice, search and story answer, from both stores, must be equal.
async fn assert_same_answers(single: &PostStore, cluster: &PostStore, phase: &str) {
    assert_eq!(
        single.count_posts().await.unwrap(),
        cluster.count_posts().await.unwrap(),
        "{phase}: count"
    );
    assert_eq!(
        single.count_posts_by_watch().await.unwrap(),
        cluster.count_posts_by_watch().await.unwrap(),
        "{phase}: by watch"
    );
    assert_eq!(
        single.count_posts_by_label().await.unwrap(),
        cluster.count_posts_by_label().await.unwrap(),
        "{phase}: by label"
    );
    let filters = [
        PostFilter::default(),
        PostFilter {
            watches: vec!["acme".into()],
            ..PostFilter::default()
        },
        PostFilter {
            watches: vec!["acme".into(), "globex".into()],
            labels: vec!["negative".into()],
            ..PostFilter::default()
        },
    ];
    for interval in [
        TrendInterval::FiveMinutes,
        TrendInterval::OneHour,
        TrendInterval::OneDay,
    ] {
        for group_by in TrendGroupBy::ALL {
            for filter in &filters {
                let request = TrendQuery {
                    range: whole_week(),
                    interval,
                    group_by,
                    filter: filter.clone(),
                };
                let expected = single.trends(&request).await.unwrap();
                assert!(!expected.is_empty(), "{phase}: empty trend {request:?}");
                assert_eq!(
                    expected,
                    cluster.trends(&request).await.unwrap(),
                    "{phase}: trend {request:?}"
                );
            }
        }
    }
    assert_eq!(
        single
            .share_of_voice(&whole_week(), &filters[0])
            .await
            .unwrap(),
        cluster
            .share_of_voice(&whole_week(), &filters[0])
            .await
            .unwrap(),
        "{phase}: share of voice"
    );
    let search = PostQuery {
        range: whole_week(),
        filter: filters[1].clone(),
        text: "fleek".into(),
        limit: 50,
        cursor: None,
    };
    let single_page = single.search_posts(&search).await.unwrap();
    assert_eq!(single_page.posts.len(), 50);
    assert_eq!(
        single_page,
        cluster.search_posts(&search).await.unwrap(),
        "{phase}: search"
    );
    let stories = StoryQuery {
        story_ids: Vec::new(),
        watches: Vec::new(),
        states: Vec::new(),
        severities: Vec::new(),
        range: whole_week(),
        limit: 100,
    };
    let single_stories = single.stories(&stories).await.unwrap();
    assert_eq!(single_stories.len(), 30, "{phase}");
    assert_eq!(
        single_stories,
        cluster.stories(&stories).await.unwrap(),
        "{phase}: stories"
    );
}

/// Every read statement the store has, byte for byte (except the partition listing, which
/// cluster mode reads from every shard with other SQL, compared through `post_partition_days`,
/// the server clock, and the changed stories, whose row versions are each store's ingest times).
async fn assert_every_read_statement_agrees(single: &PostStore, cluster: &PostStore) {
    let day = NaiveDate::from_ymd_opt(2015, 2, 20).unwrap();
    let mut compared = 0;
    for statement in all_query_sql(single.database(), day) {
        let is_read = statement.in_database
            && statement.sql.trim_start().starts_with("SELECT")
            && !["list post partitions", "server clock", "changed stories"]
                .contains(&statement.name.as_str());
        if !is_read {
            continue;
        }
        let expected = answer_text(single, &statement.sql).await.unwrap();
        let actual = answer_text(cluster, &statement.sql)
            .await
            .unwrap_or_else(|error| panic!("{} fails on the cluster: {error}", statement.name));
        assert_eq!(expected, actual, "{}", statement.name);
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} statements compared");
    assert_eq!(
        single.post_partition_days().await.unwrap(),
        cluster.post_partition_days().await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_by_two_cluster_answers_like_one_server_through_a_replica_kill() {
    let cluster_url = std::env::var("TIDEWATCH_TEST_CLUSTER_URL")
        .unwrap_or_else(|_| DEFAULT_CLUSTER_URL.to_string());
    let Some(cluster_test) =
        TestDatabase::create_on("cluster", &cluster_url, Some(CLUSTER_NAME)).await
    else {
        eprintln!("(start the cluster with `deploy/local/services up cluster`)");
        return;
    };
    let Some(single_test) = TestDatabase::create("cluster_single").await else {
        return;
    };
    let (single, cluster) = (single_test.store(), cluster_test.store());
    single.migrate().await.unwrap();
    cluster.migrate().await.unwrap();
    cluster.migrate().await.unwrap();
    assert_eq!(
        single.applied_migrations().await.unwrap(),
        cluster.applied_migrations().await.unwrap()
    );

    let deliveries = deliveries();
    let batches: Vec<&[ScoredPost]> = deliveries.chunks(BATCH).collect();
    for batch in &batches {
        store_batch(single, batch).await;
    }
    let killed = (cluster_url == DEFAULT_CLUSTER_URL)
        .then(node4_pid)
        .flatten();
    for (index, batch) in batches.iter().enumerate() {
        if index == batches.len() / 3 {
            if let Some(pid) = killed {
                eprintln!("kill -9 of node 4 (pid {pid}) during the ingest");
                kill_9(pid);
            }
        }
        if index == batches.len() * 2 / 3 && killed.is_some() {
            start_cluster_again();
        }
        store_batch(cluster, batch).await;
    }
    let events = alert_events();
    single.insert_alert_events(&events).await.unwrap();
    cluster.insert_alert_events(&events).await.unwrap();

    let (shard_one, shard_two) = wait_for_replicas_in_step(cluster.database()).await;
    let single_rows: u64 = answer_text(single, "SELECT count() FROM posts FINAL")
        .await
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(shard_one + shard_two, single_rows, "the shards add up");
    assert!(shard_one > single_rows / 3 && shard_two > single_rows / 3);

    assert_same_answers(single, cluster, "raw").await;
    assert_every_read_statement_agrees(single, cluster).await;

    // The rollup worker on both: trends then read the rollup, with the same answers.
    // On the cluster a bucket changed less than the replica lag allowance (5 s) before a
    // computation stays dirty, so the worker runs until the recent ones are computed too.
    while single
        .refresh_rollups(0, 10_000)
        .await
        .unwrap()
        .more_waiting
    {}
    let single_coverage = single.rollup_coverage(&whole_week()).await.unwrap();
    assert!(
        single_coverage.rollup_buckets > 1_000,
        "{single_coverage:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        cluster.refresh_rollups(0, 10_000).await.unwrap();
        let coverage = cluster.rollup_coverage(&whole_week()).await.unwrap();
        if coverage == single_coverage {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{coverage:?} != {single_coverage:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_same_answers(single, cluster, "rollup").await;

    // Retention on every shard: the days before 2015-02-26 go on both.
    let today = NaiveDate::from_ymd_opt(2015, 3, 3).unwrap();
    let dropped = single.drop_partitions_older_than(5, today).await.unwrap();
    assert_eq!(dropped.len(), 3);
    assert_eq!(
        cluster.drop_partitions_older_than(5, today).await.unwrap(),
        dropped
    );
    wait_for_replicas_in_step(cluster.database()).await;
    assert_same_answers(single, cluster, "after retention").await;
}
