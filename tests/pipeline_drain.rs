//! A graceful stop of `tidewatch run` on the in-process bus drains in data order (issue 17,
//! defect 1): stopped with SIGTERM at varied moments of a paced replay, five times over the same
//! database, every post the replay published before the signal is stored, exactly once; a last
//! run to the end stores the whole file, still once each.

use std::process::{Command, Stdio};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tidewatch_e2e::*;

const POSTS: u64 = 20_000;
/// The generated posts are ~1.6 s apart: about 8 s of replay at this pace.
const SPEEDUP: &str = "4000";

/// `tidewatch run` to its end (or until SIGTERM after `stop_after`); returns how many posts its
/// replay published, from its report.
fn run_once(
    config: &std::path::Path,
    posts: &std::path::Path,
    stop_after: Option<Duration>,
) -> u64 {
    let directory = config.parent().unwrap();
    let stdout_path = directory.join("run.stdout");
    let mut args = vec![
        "run",
        "--posts",
        posts.to_str().unwrap(),
        "--speedup",
        SPEEDUP,
    ];
    if stop_after.is_some() {
        args.push("--keep-running");
    }
    let mut child = Command::new(tidewatch_binary())
        .arg("--config")
        .arg(config)
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start tidewatch");
    if let Some(stop_after) = stop_after {
        std::thread::sleep(stop_after);
        stop_gracefully(&mut child, "tidewatch run");
    } else {
        assert!(child.wait().unwrap().success(), "tidewatch run failed");
    }
    let report = std::fs::read_to_string(&stdout_path).unwrap();
    let published = report
        .split("replayed ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok());
    published.unwrap_or_else(|| panic!("no replay count in the report: {report}"))
}

#[test]
fn sigterm_drains_every_published_post_into_clickhouse_exactly_once() {
    if !services_available("sigterm_drains_every_published_post") {
        return;
    }
    let name = unique_name("tw_drain");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    // No watches: every post is stored, so what is published is what must be stored.
    let config = write_config(&directory, None, &name, "");
    let posts_path = directory.join("posts.jsonl");
    generate_posts(&posts_path, POSTS, 17);
    let stored = || clickhouse_number(&format!("SELECT count() FROM {name}.posts FINAL"));
    let distinct = || {
        clickhouse_number(&format!(
            "SELECT uniqExact(source, source_id) FROM {name}.posts"
        ))
    };

    let mut random = SmallRng::seed_from_u64(std::process::id() as u64);
    let mut most_published = 0;
    for cycle in 0..5 {
        let stop_after = Duration::from_millis(random.random_range(1_500..6_500));
        let published = run_once(&config, &posts_path, Some(stop_after));
        println!("cycle {cycle}: SIGTERM after {stop_after:?}, {published} posts published");
        // The replay publishes the file in order, so the stored posts are its longest prefix.
        most_published = most_published.max(published);
        assert_eq!(
            distinct(),
            most_published,
            "cycle {cycle}: a published post is missing"
        );
        assert_eq!(
            stored(),
            most_published,
            "cycle {cycle}: a post counts twice"
        );
    }
    let published = run_once(&config, &posts_path, None);
    assert_eq!(published, POSTS);
    assert_eq!(distinct(), POSTS);
    assert_eq!(stored(), POSTS);
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&directory);
}
