//! Pipelining must not weaken at least once (issue 13): `score` and `store` run with several
//! small batches in flight over a pre-produced backlog and are killed with SIGKILL, three times
//! each. After each kill, while the killed stage is down, the offsets its group committed are
//! checked against what is durable downstream: every input record below a committed offset has
//! its output acknowledged on `posts.scored` (score) or its row in ClickHouse (store). At the
//! end every post is stored, exactly once.

use std::collections::HashSet;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tidewatch_e2e::*;

const POSTS: u64 = 40_000;
const PARTITIONS: i32 = 4;

fn client(group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("cannot create a Kafka client")
}

/// The offsets `group` committed on each partition of `topic` (0 when none).
fn committed(group: &str, topic: &str) -> Vec<i64> {
    let consumer = client(group);
    let mut partitions = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        partitions.add_partition(topic, partition);
    }
    let answer = consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .expect("cannot read committed offsets");
    (0..PARTITIONS)
        .map(|partition| {
            match answer
                .find_partition(topic, partition)
                .map(|element| element.offset())
            {
                Some(Offset::Offset(offset)) => offset,
                _ => 0,
            }
        })
        .collect()
}

/// The keys of the records of `topic`/`partition` from offset 0 up to (not including) `end`.
fn keys_below(topic: &str, partition: i32, end: i64) -> Vec<String> {
    let consumer = client(&unique_name("inflight_reader"));
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut keys = Vec::new();
    let mut next = 0;
    while next < end {
        match consumer.poll(Duration::from_secs(10)) {
            Some(Ok(message)) => {
                next = message.offset() + 1;
                if message.offset() < end {
                    keys.push(
                        String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                    );
                }
            }
            Some(Err(error)) => panic!("cannot read {topic}/{partition}: {error}"),
            None => panic!("{topic}/{partition} ended before offset {end}"),
        }
    }
    keys
}

/// Every key of every record of `topic` (all partitions) up to its current end.
fn all_keys(topic: &str) -> HashSet<String> {
    let ends = topic_high_watermarks(topic);
    (0..ends.len() as i32)
        .flat_map(|partition| keys_below(topic, partition, ends[partition as usize]))
        .collect()
}

/// Score's committed offsets never pass a raw post whose scored record is not acknowledged.
fn check_score_commits(prefix: &str) -> u64 {
    let raw = format!("{prefix}posts.raw");
    let scored = all_keys(&format!("{prefix}posts.scored"));
    let mut covered = 0;
    for (partition, end) in committed(&format!("{prefix}.score"), &raw)
        .into_iter()
        .enumerate()
    {
        for key in keys_below(&raw, partition as i32, end) {
            assert!(
                scored.contains(&key),
                "score committed past {key}, which is not on posts.scored"
            );
            covered += 1;
        }
    }
    covered
}

/// Store's committed offsets never pass a scored post that is not in ClickHouse.
fn check_store_commits(prefix: &str, database: &str) -> u64 {
    let scored = format!("{prefix}posts.scored");
    let stored: HashSet<String> = clickhouse_query(&format!(
        "SELECT concat(source, ':', source_id) FROM {database}.posts FORMAT TSV"
    ))
    .unwrap()
    .lines()
    .map(str::to_string)
    .collect();
    let mut covered = 0;
    for (partition, end) in committed(&format!("{prefix}.store"), &scored)
        .into_iter()
        .enumerate()
    {
        for key in keys_below(&scored, partition as i32, end) {
            assert!(
                stored.contains(&key),
                "store committed past {key}, which is not in ClickHouse"
            );
            covered += 1;
        }
    }
    covered
}

#[test]
fn kill_9_with_batches_in_flight_never_commits_past_an_unacknowledged_record() {
    if !services_available("kill_9_with_batches_in_flight") {
        return;
    }
    let name = unique_name("tw_inflight");
    let prefix = format!("{name}.");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    // Small batches, so that several are in flight; every partition to each stage (see
    // pipeline_faults.rs for why); no watches, so every post is scored and stored.
    let config = write_config_with(&directory, Some(&prefix), &name, "", "assignment = \"all\"");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("batch_size = 5000", "batch_size = 250");
    std::fs::write(&config, text).unwrap();
    let posts_path = directory.join("posts.jsonl");
    generate_posts(&posts_path, POSTS, 29);
    run_tidewatch(&config, &["migrate"]);
    run_tidewatch(
        &config,
        &["replay", "--posts", posts_path.to_str().unwrap()],
    );

    let score_log = directory.join("score.log");
    let store_log = directory.join("store.log");
    let mut score = spawn_tidewatch(&config, &["score"], &score_log);
    let mut store = spawn_tidewatch(&config, &["store"], &store_log);
    let mut random = SmallRng::seed_from_u64(std::process::id() as u64);
    for round in 0..3 {
        std::thread::sleep(Duration::from_millis(random.random_range(1_000..3_000)));
        score.kill().unwrap(); // SIGKILL
        score.wait().unwrap();
        let covered = check_score_commits(&prefix);
        println!(
            "round {round}: score killed; its {covered} committed posts are all on posts.scored"
        );
        score = spawn_tidewatch(&config, &["score"], &score_log);

        std::thread::sleep(Duration::from_millis(random.random_range(1_000..3_000)));
        store.kill().unwrap();
        store.wait().unwrap();
        let covered = check_store_commits(&prefix, &name);
        println!(
            "round {round}: store killed; its {covered} committed posts are all in ClickHouse"
        );
        store = spawn_tidewatch(&config, &["store"], &store_log);
    }
    let count = || clickhouse_number(&format!("SELECT count() FROM {name}.posts FINAL"));
    let all_stored = wait_until(Duration::from_secs(300), || count() >= POSTS);
    stop_gracefully(&mut score, "score");
    stop_gracefully(&mut store, "store");
    assert!(
        all_stored,
        "only {} of {POSTS} stored; logs in {}",
        count(),
        directory.display()
    );
    assert_eq!(count(), POSTS);
    assert_eq!(
        clickhouse_number(&format!(
            "SELECT uniqExact(source, source_id) FROM {name}.posts"
        )),
        POSTS
    );
    check_store_commits(&prefix, &name);
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&directory);
}
