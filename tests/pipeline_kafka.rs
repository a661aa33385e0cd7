//! End to end through the real broker and ClickHouse: replay → Kafka → score → Kafka → store →
//! ClickHouse, with the stages as separate processes, as in production; the store stage also
//! keeps the trend rollup.

use std::time::{Duration, Instant};

use tidewatch_e2e::*;

const WATCHES: &str = "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\", \"@acmeair\"]\n\n[[watch]]\nname = \"globex\"\nany = [\"globex\"]\n\n[[watch]]\nname = \"initech\"\nany = [\"initech\"]\n";

fn posts_count(database: &str) -> u64 {
    clickhouse_number(&format!("SELECT count() FROM {database}.posts FINAL"))
}

fn watch_count(database: &str, watch: &str) -> u64 {
    clickhouse_number(&format!(
        "SELECT count() FROM {database}.posts FINAL WHERE has(watches, '{watch}')"
    ))
}

/// True when every 5-minute bucket that has posts is clean: rolled up after its last change.
fn rollup_covers_every_bucket(database: &str) -> bool {
    let buckets_with_posts = clickhouse_number(&format!(
        "SELECT uniqExact(intDiv(toUInt32(created_at), 300)) FROM {database}.posts"
    ));
    let clean = clickhouse_number(&format!(
        "SELECT count() FROM (SELECT bucket FROM (\
           SELECT bucket, marked_at AS marked, toDateTime(0) AS started FROM {database}.rollup_marks \
           UNION ALL \
           SELECT bucket, toDateTime(0) AS marked, started_at AS started FROM {database}.rollup_generations) \
         GROUP BY bucket HAVING max(started) > max(marked))"
    ));
    clean >= buckets_with_posts
}

#[test]
fn replays_100k_posts_through_kafka_into_clickhouse_exactly_once_each() {
    if !services_available("replays_100k_posts_through_kafka") {
        return;
    }
    let name = unique_name("tw_clean");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    let config = write_config(&directory, Some(&format!("{name}.")), &name, WATCHES);
    let posts_path = directory.join("posts.jsonl");
    let lines = generate_posts(&posts_path, 100_000, 11);
    run_tidewatch(&config, &["migrate"]);

    let mut score = spawn_tidewatch(&config, &["score"], &directory.join("score.log"));
    let mut store = spawn_tidewatch(&config, &["store"], &directory.join("store.log"));
    let started = Instant::now();
    let replay_output = run_tidewatch(
        &config,
        &["replay", "--posts", posts_path.to_str().unwrap()],
    );
    let all_stored = wait_until(Duration::from_secs(300), || posts_count(&name) >= 100_000);
    let seconds = started.elapsed().as_secs_f64();
    println!("{replay_output}");
    println!(
        "THROUGHPUT kafka: 100000 posts replay → score → store → ClickHouse in {seconds:.2}s = {:.0} posts/s",
        100_000.0 / seconds
    );
    // The store stage's rollup worker (every 10 s by default) covers every bucket, each post
    // once in the latest generation of its bucket.
    let rolled_up = all_stored
        && wait_until(Duration::from_secs(120), || {
            rollup_covers_every_bucket(&name)
        });
    stop_gracefully(&mut score, "score");
    stop_gracefully(&mut store, "store");
    assert!(
        all_stored,
        "only {} of 100000 posts reached ClickHouse",
        posts_count(&name)
    );
    assert!(rolled_up, "the store stage did not roll every bucket up");
    assert_eq!(
        clickhouse_number(&format!(
            "SELECT sum(posts) FROM {name}.trend_rollup WHERE scope = 0 AND (bucket, generation) IN \
             (SELECT bucket, max(generation) FROM {name}.rollup_generations GROUP BY bucket)"
        )),
        100_000,
        "the rollup counts each post once"
    );

    assert_eq!(posts_count(&name), 100_000);
    assert_eq!(
        clickhouse_number(&format!(
            "SELECT uniqExact(source, source_id) FROM {name}.posts"
        )),
        100_000
    );
    assert_eq!(
        clickhouse_number(&format!(
            "SELECT count() FROM {name}.posts FINAL WHERE compound IS NULL OR label = ''"
        )),
        0,
        "every post has its sentiment"
    );
    assert_eq!(watch_count(&name, "acme-air"), mentions(&lines, "acme air"));
    assert_eq!(watch_count(&name, "globex"), mentions(&lines, "globex"));
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&directory);
}

/// Lines that must each be dead-lettered, with the reason kind they must carry.
fn malformed_lines() -> Vec<(Vec<u8>, &'static str)> {
    let huge_text = "a".repeat(10 * 1024 * 1024);
    vec![
        (b"this is not json".to_vec(), "invalid_json"),
        (br#"{"source":"webhook","created_at":"2025-03-01T08:00:00Z","text":"no id"}"#.to_vec(), "missing_field"),
        (br#"{"source":"webhook","source_id":"bad-ts","created_at":"last tuesday","text":"when?"}"#.to_vec(), "bad_timestamp"),
        (b"{\"source\":\"webhook\",\"source_id\":\"utf\",\"created_at\":\"2025-03-01T08:00:00Z\",\"text\":\"caf\xe9\"}".to_vec(), "invalid_utf8"),
        (
            format!(r#"{{"source":"webhook","source_id":"huge","created_at":"2025-03-01T08:00:00Z","text":"{huge_text}"}}"#).into_bytes(),
            "record_too_large",
        ),
    ]
}

#[test]
fn malformed_lines_go_to_the_dead_letter_topic_and_good_lines_reach_clickhouse() {
    if !services_available("malformed_lines_go_to_the_dead_letter_topic") {
        return;
    }
    let name = unique_name("tw_bad");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    let prefix = format!("{name}.");
    let config = write_config(&directory, Some(&prefix), &name, WATCHES);
    let good_path = directory.join("good.jsonl");
    let good_lines = generate_posts(&good_path, 1_000, 12);
    let malformed = malformed_lines();
    let mut file = Vec::new();
    for (index, line) in good_lines.iter().enumerate() {
        file.extend_from_slice(line.as_bytes());
        file.push(b'\n');
        if index % 200 == 0 {
            let (bad, _) = &malformed[(index / 200) % malformed.len()];
            file.extend_from_slice(bad);
            file.push(b'\n');
        }
    }
    let mixed_path = directory.join("mixed.jsonl");
    std::fs::write(&mixed_path, &file).unwrap();

    // The score stage's /metrics and /healthz on a known port (other stages pick their own).
    let score_endpoint = free_loopback_address();
    let mut score = spawn_tidewatch_with_env(
        &config,
        &["score"],
        &directory.join("score.log"),
        &[("TIDEWATCH__API__LISTEN", score_endpoint.as_str())],
    );
    let mut store = spawn_tidewatch(&config, &["store"], &directory.join("store.log"));
    let replay_output = run_tidewatch(
        &config,
        &["replay", "--posts", mixed_path.to_str().unwrap()],
    );
    assert!(
        replay_output.contains("replayed 1000 posts (5 dead-lettered)"),
        "{replay_output}"
    );

    // Records no tidewatch producer would write, put straight on posts.raw: the score stage
    // must dead-letter them itself and go on.
    produce_raw(
        &format!("{prefix}posts.raw"),
        &[
            ("x:1", b"{\"source\": 12}".as_slice()),
            ("x:2", b"\xff\xfe\xfd".as_slice()),
        ],
    );

    let letters = read_topic(
        &format!("{prefix}tidewatch.dlq"),
        7,
        Duration::from_secs(60),
    );
    let mut reasons: Vec<String> = letters
        .iter()
        .map(|payload| {
            let letter: serde_json::Value = serde_json::from_slice(payload).unwrap();
            assert!(letter["reason"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty()));
            let origin = letter["origin"].as_str().unwrap();
            let stage = letter["stage"].as_str().unwrap();
            match stage {
                "replay" => assert!(origin.contains("mixed.jsonl:"), "{letter}"),
                "score" => assert_eq!(origin, format!("{prefix}posts.raw"), "{letter}"),
                other => panic!("unexpected stage {other}: {letter}"),
            }
            format!("{stage}/{}", letter["reason_kind"].as_str().unwrap())
        })
        .collect();
    reasons.sort();
    let mut expected: Vec<String> = malformed
        .iter()
        .map(|(_, kind)| format!("replay/{kind}"))
        .collect();
    expected.extend([
        "score/invalid_field".to_string(),
        "score/invalid_utf8".to_string(),
    ]);
    expected.sort();
    assert_eq!(reasons, expected);

    let all_stored = wait_until(Duration::from_secs(120), || posts_count(&name) >= 1_000);
    assert!(
        all_stored,
        "only {} of 1000 good posts stored",
        posts_count(&name)
    );
    assert!(
        score.try_wait().unwrap().is_none(),
        "score exited on bad input"
    );
    assert!(
        store.try_wait().unwrap().is_none(),
        "store exited on bad input"
    );
    let (status, health) = http_request(&score_endpoint, "GET", "/healthz", "").unwrap();
    assert_eq!(status, 200, "{health}");
    assert!(health.contains(r#""score":"running""#), "{health}");
    let (status, metrics) = http_request(&score_endpoint, "GET", "/metrics", "").unwrap();
    assert_eq!(status, 200);
    for expected in [
        r#"tidewatch_stage_dead_lettered_total{stage="score",reason="invalid_utf8"} 1"#,
        r#"tidewatch_stage_dead_lettered_total{stage="score",reason="invalid_field"} 1"#,
        r#"tidewatch_stage_received_total{stage="score"} 1002"#,
        "tidewatch_stage_batch_seconds_bucket",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from /metrics:\n{metrics}"
        );
    }
    stop_gracefully(&mut score, "score");
    stop_gracefully(&mut store, "store");
    assert_eq!(posts_count(&name), 1_000);
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&directory);
}
