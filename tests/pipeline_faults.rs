//! Faults: while 100,000 posts are replayed through Kafka, the score and store processes are
//! killed with SIGKILL at random points (at least three times each) and restarted. At least-once
//! delivery plus idempotent storage must end with exactly the 100,000 posts, none missing, and
//! exact per-watch totals.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tidewatch_e2e::*;

const WATCHES: &str = "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\"]\n\n[[watch]]\nname = \"initech\"\nany = [\"initech\"]\n\n[[watch]]\nname = \"globex\"\nany = [\"globex\"]\n";

fn count_where(database: &str, condition: &str) -> u64 {
    clickhouse_number(&format!(
        "SELECT count() FROM {database}.posts FINAL WHERE {condition}"
    ))
}

#[test]
fn kill_9_of_score_and_store_during_replay_loses_and_duplicates_nothing() {
    if !services_available("kill_9_of_score_and_store_during_replay") {
        return;
    }
    let name = unique_name("tw_faults");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    // Why `assignment = "all"`: tansu 0.6's group coordinator can wedge a consumer group when
    // members are killed mid-rebalance, so this test gives each stage every partition; offsets
    // are still committed to, and resumed from, the stage's group.
    let config = write_config_with(
        &directory,
        Some(&format!("{name}.")),
        &name,
        WATCHES,
        "assignment = \"all\"",
    );
    let posts_path = directory.join("posts.jsonl");
    let lines = generate_posts(&posts_path, 100_000, 13);
    run_tidewatch(&config, &["migrate"]);

    let score_log = directory.join("score.log");
    let store_log = directory.join("store.log");
    let mut score = spawn_tidewatch(&config, &["score"], &score_log);
    let mut store = spawn_tidewatch(&config, &["store"], &store_log);
    // Paced so that the replay itself lasts about 20 seconds and the kills land during it.
    let mut replay = spawn_tidewatch(
        &config,
        &[
            "replay",
            "--posts",
            posts_path.to_str().unwrap(),
            "--speedup",
            "8000",
        ],
        &directory.join("replay.log"),
    );

    let mut random = SmallRng::seed_from_u64(std::process::id() as u64);
    let (mut score_kills, mut store_kills) = (0, 0);
    let mut kills_during_replay = 0;
    while score_kills < 3 || store_kills < 3 {
        std::thread::sleep(Duration::from_millis(random.random_range(800..3_000)));
        let kill_score = if score_kills >= 3 {
            false
        } else if store_kills >= 3 {
            true
        } else {
            random.random_bool(0.5)
        };
        let replay_running = replay.try_wait().unwrap().is_none();
        kills_during_replay += u32::from(replay_running);
        if kill_score {
            score.kill().unwrap(); // SIGKILL
            score.wait().unwrap();
            score = spawn_tidewatch(&config, &["score"], &score_log);
            score_kills += 1;
        } else {
            store.kill().unwrap();
            store.wait().unwrap();
            store = spawn_tidewatch(&config, &["store"], &store_log);
            store_kills += 1;
        }
        println!(
            "kill -9 {} (replay running: {replay_running})",
            if kill_score { "score" } else { "store" }
        );
    }
    let replay_status = replay.wait().unwrap();
    assert!(replay_status.success(), "replay failed: {replay_status}");
    println!("{score_kills} score kills, {store_kills} store kills, {kills_during_replay} during the replay");
    assert!(
        kills_during_replay >= 3,
        "the kills should land while the replay runs"
    );

    let posts_count = || count_where(&name, "1");
    let all_stored = wait_until(Duration::from_secs(400), || posts_count() >= 100_000);
    stop_gracefully(&mut score, "score");
    stop_gracefully(&mut store, "store");
    assert!(
        all_stored,
        "only {} of 100000 posts stored; logs in {}",
        posts_count(),
        directory.display()
    );

    assert_eq!(posts_count(), 100_000);
    assert_eq!(
        clickhouse_number(&format!(
            "SELECT uniqExact(source, source_id) FROM {name}.posts"
        )),
        100_000,
        "every post is there"
    );
    assert_eq!(count_where(&name, "compound IS NULL"), 0);
    assert_eq!(
        count_where(&name, "has(watches, 'acme-air')"),
        mentions(&lines, "acme air")
    );
    assert_eq!(
        count_where(&name, "has(watches, 'initech')"),
        mentions(&lines, "initech")
    );
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&directory);
}
