//! `tidewatch backtest` through the real binary, on the shared quiet-day-then-burst data: one
//! story for the watch, firing during the burst and resolving after it, the same on every run.
//! No services needed.

use tidewatch_e2e::{quiet_day_then_complaint_burst, tidewatch_binary, unique_name};

/// Ordinary posts before the burst (about a day of `tidewatch generate` traffic).
const QUIET_POSTS: u64 = 20_000;

/// A quiet day of ordinary posts, then a burst of complaints sharing words no one used before:
/// `backtest` reports one story for the watch, firing during the burst and resolving after it,
/// and prints the same events on a second run.
#[test]
fn backtest_finds_a_burst_of_complaints_deterministically() {
    let directory = std::env::temp_dir().join(unique_name("tw_backtest"));
    std::fs::create_dir_all(&directory).unwrap();
    let lines = quiet_day_then_complaint_burst(QUIET_POSTS, 80, 3);
    let last_quiet: serde_json::Value =
        serde_json::from_str(&lines[QUIET_POSTS as usize - 1]).unwrap();
    let quiet_end =
        chrono::DateTime::parse_from_rfc3339(last_quiet["created_at"].as_str().unwrap()).unwrap();
    let posts = directory.join("posts.jsonl");
    std::fs::write(&posts, lines.join("\n") + "\n").unwrap();
    let config = directory.join("tidewatch.toml");
    std::fs::write(
        &config,
        "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\", \"@acmeair\"]\n",
    )
    .unwrap();

    let run = || {
        let output = std::process::Command::new(tidewatch_binary())
            .args([
                "--config",
                config.to_str().unwrap(),
                "backtest",
                "--posts",
                posts.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run();
    assert_eq!(first, run(), "backtest must be deterministic");
    let events: Vec<serde_json::Value> = first
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let firing: Vec<&serde_json::Value> = events
        .iter()
        .filter(|event| event["state"] == "firing")
        .collect();
    assert_eq!(firing.len(), 1, "exactly one story fires:\n{first}");
    let story = firing[0];
    assert_eq!(story["watch"], "acme-air");
    assert!(
        story["first_post_id"]
            .as_str()
            .unwrap()
            .starts_with("mastodon:burst-")
            || story["first_post_id"]
                .as_str()
                .unwrap()
                .starts_with("burst-"),
        "{story}"
    );
    let fired_at =
        chrono::DateTime::parse_from_rfc3339(story["fired_at"].as_str().unwrap()).unwrap();
    assert!(
        fired_at > quiet_end && fired_at < quiet_end + chrono::Duration::seconds(600 + 80 * 20),
        "fires during the burst: {story}"
    );
    let terms: Vec<&str> = story["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|term| term.as_str().unwrap())
        .collect();
    assert!(
        terms
            .iter()
            .any(|term| ["cancelled", "stranded", "voucher", "212"].contains(term)),
        "{terms:?}"
    );
    assert!(
        events
            .iter()
            .any(|event| event["state"] == "resolved" && event["story_id"] == story["story_id"]),
        "the story resolves:\n{first}"
    );
    let _ = std::fs::remove_dir_all(&directory);
}
