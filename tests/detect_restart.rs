//! The detect stage against Kafka, restarted with SIGKILL in the middle of a replay: it must
//! emit the same alert events as an uninterrupted run (the offline `backtest` of the same posts
//! is that run: same score and detect code, same order), with no story fired twice.
//!
//! One partition per topic, so that the order in which detect sees the posts is the file's, as
//! in the backtest. Kills land (1) after a snapshot covered everything so far, while more posts
//! are replayed behind the stage's back, and (2) at a random moment during catch-up, which can
//! fall between a produced alert and the snapshot covering it: the restarted stage then emits
//! that alert again, an exact repeat that downstream stages collapse.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use tidewatch_e2e::*;

const WATCHES: &str = "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\"]\n\n[[watch]]\nname = \"initech\"\nany = [\"initech\"]\n\n[[watch]]\nname = \"globex\"\nany = [\"globex\"]\n";

fn write_detect_config(directory: &Path, prefix: &str) -> std::path::PathBuf {
    let text = format!(
        "[kafka]\nbrokers = \"{KAFKA}\"\ntopic_prefix = \"{prefix}.\"\ngroup_prefix = \"{prefix}\"\npartitions = 1\nsession_timeout_ms = 6000\nassignment = \"all\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n[pipeline]\nbatch_size = 500\nbatch_wait_ms = 50\nstate_dir = \"{}\"\nsnapshot_interval_ms = 300\n\n{WATCHES}",
        directory.join("state").display()
    );
    let path = directory.join("tidewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `next_offset` of the detect snapshot of partition 0, if one was written.
fn snapshot_offset(directory: &Path, prefix: &str) -> Option<i64> {
    let path = directory
        .join("state")
        .join(prefix)
        .join(format!("detect-{prefix}.posts.watched-0.json"));
    let bytes = std::fs::read(path).ok()?;
    let snapshot: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    snapshot["next_offset"].as_i64()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn detect_killed_mid_replay_emits_the_same_alerts_and_fires_each_story_once() {
    if !services_available("detect_killed_mid_replay") {
        return;
    }
    let prefix = unique_name("tw_detect");
    let directory = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&directory).unwrap();
    let config = write_detect_config(&directory, &prefix);
    let lines = quiet_day_then_complaint_burst(20_000, 80, 3);
    let all_posts = directory.join("all.jsonl");
    write_lines(&all_posts, &lines);

    // The uninterrupted run: backtest prints every event; the live stage emits those that the
    // posts themselves cause (backtest's final drain past the last post is not part of it).
    let expected: Vec<String> = run_tidewatch(
        &config,
        &["backtest", "--posts", all_posts.to_str().unwrap()],
    )
    .lines()
    .map(str::to_string)
    .collect();
    let expected_firing = expected
        .iter()
        .filter(|line| line.contains("\"state\":\"firing\""))
        .count();
    assert!(
        expected_firing >= 1,
        "the burst must fire in the backtest:\n{}",
        expected.join("\n")
    );

    let chunk_ends = [lines.len() * 2 / 5, lines.len() * 7 / 10, lines.len()];
    let mut chunk_start = 0;
    let chunk_paths: Vec<_> = chunk_ends
        .iter()
        .enumerate()
        .map(|(index, &end)| {
            let path = directory.join(format!("chunk{index}.jsonl"));
            write_lines(&path, &lines[chunk_start..end]);
            chunk_start = end;
            path
        })
        .collect();

    let watched_topic = format!("{prefix}.posts.watched");
    let caught_up = |directory: &Path| {
        let high = topic_high_watermarks(&watched_topic)
            .first()
            .copied()
            .unwrap_or(0);
        high > 0 && snapshot_offset(directory, &prefix) == Some(high)
    };
    let log = directory.join("detect.log");
    let mut score = spawn_tidewatch(&config, &["score"], &directory.join("score.log"));
    let mut detect = spawn_tidewatch(&config, &["detect"], &log);

    run_tidewatch(
        &config,
        &["replay", "--posts", chunk_paths[0].to_str().unwrap()],
    );
    assert!(
        wait_until(Duration::from_secs(120), || caught_up(&directory)),
        "detect never caught up with chunk 0; see {}",
        log.display()
    );
    detect.kill().unwrap(); // SIGKILL, after a snapshot covered everything so far
    detect.wait().unwrap();

    run_tidewatch(
        &config,
        &["replay", "--posts", chunk_paths[1].to_str().unwrap()],
    );
    let before_restart = snapshot_offset(&directory, &prefix).unwrap();
    detect = spawn_tidewatch(&config, &["detect"], &log);
    assert!(wait_until(Duration::from_secs(60), || snapshot_offset(
        &directory, &prefix
    ) > Some(
        before_restart
    )));
    detect.kill().unwrap(); // SIGKILL during catch-up
    detect.wait().unwrap();

    let watched_before_last_chunk = topic_high_watermarks(&watched_topic)
        .first()
        .copied()
        .unwrap_or(0);
    detect = spawn_tidewatch(&config, &["detect"], &log);
    run_tidewatch(
        &config,
        &["replay", "--posts", chunk_paths[2].to_str().unwrap()],
    );
    // Wait for score to pass the last chunk on (posts.watched grows, then stays the same for
    // three seconds: 12 checks 250 ms apart), then for detect to fold all of it in.
    let mut last_high = watched_before_last_chunk;
    let mut stable_checks = 0;
    assert!(
        wait_until(Duration::from_secs(180), || {
            let high = topic_high_watermarks(&watched_topic)
                .first()
                .copied()
                .unwrap_or(0);
            stable_checks = if high == last_high {
                stable_checks + 1
            } else {
                0
            };
            last_high = high;
            high > watched_before_last_chunk && stable_checks >= 12 && caught_up(&directory)
        }),
        "detect never caught up; see {}",
        log.display()
    );
    stop_gracefully(&mut detect, "detect");
    stop_gracefully(&mut score, "score");

    let records: Vec<String> = read_topic(
        &format!("{prefix}.alerts"),
        usize::MAX,
        Duration::from_secs(8),
    )
    .into_iter()
    .map(|payload| String::from_utf8(payload).unwrap())
    .collect();
    let mut distinct = Vec::new();
    let mut seen = BTreeSet::new();
    for record in &records {
        if seen.insert(record.clone()) {
            distinct.push(record.clone());
        }
    }
    assert!(!distinct.is_empty(), "no alert events on the alerts topic");
    assert!(
        distinct.len() <= expected.len(),
        "more events than the uninterrupted run:\n{}",
        distinct.join("\n")
    );
    assert_eq!(
        distinct,
        expected[..distinct.len()].to_vec(),
        "the restarted stage's events differ from the uninterrupted run"
    );
    let firing: Vec<&String> = distinct
        .iter()
        .filter(|line| line.contains("\"state\":\"firing\""))
        .collect();
    assert_eq!(firing.len(), expected_firing, "every story fires, once");
    let story_ids: BTreeSet<String> = firing
        .iter()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["story_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(story_ids.len(), firing.len(), "one firing per story");
    let _ = std::fs::remove_dir_all(&directory);
}
