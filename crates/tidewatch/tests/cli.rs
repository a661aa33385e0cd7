//! The command line as a user meets it, through the real binary: help, configuration errors
//! that name the key, and the `sentiment` filter. (Being an integration test of this package also
//! makes cargo build the `tidewatch` binary that the end-to-end tests in `tests/` start.)

use std::io::Write;
use std::process::{Command, Stdio};

fn tidewatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tidewatch"))
}

#[test]
fn help_lists_the_commands() {
    let output = tidewatch().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in [
        "run",
        "score",
        "store",
        "migrate",
        "replay",
        "sentiment",
        "generate",
    ] {
        assert!(
            help.contains(command),
            "{command} missing from --help:\n{help}"
        );
    }
}

#[test]
fn an_unknown_config_key_is_an_error_naming_its_path() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tidewatch.toml");
    std::fs::write(&path, "[pipeline]\nbatch_sise = 10\n").unwrap();
    let output = tidewatch()
        .args(["--config", path.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("pipeline.batch_sise"), "{error}");
}

#[test]
fn an_unknown_environment_override_is_an_error_too() {
    let output = tidewatch()
        .arg("migrate")
        .env("TIDEWATCH__KAFKA__BROKERZ", "x:1")
        .env("TIDEWATCH__KAFKA__BROKERS", "127.0.0.1:1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("kafka.brokerz"), "{error}");
}

#[test]
fn sentiment_scores_jsonl_in_order_and_reports_bad_lines_in_place() {
    let mut child = tidewatch()
        .arg("sentiment")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"text\":\"VADER is smart, handsome, and funny.\"}\nnot json\n{\"text\":\"The book was kind of good.\"}\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    // vaderSentiment 3.3.2's README values.
    assert_eq!(lines[0]["compound"], 0.8316);
    assert_eq!(lines[0]["pos"], 0.746);
    assert!(lines[1]["error"]
        .as_str()
        .is_some_and(|error| !error.is_empty()));
    assert_eq!(lines[2]["compound"], 0.3832);
}

/// A quiet day of ordinary posts, then a burst of complaints sharing words no one used before:
/// `backtest` reports one story for the watch, firing during the burst and resolving after it,
/// and prints the same events on a second run.
#[test]
fn backtest_finds_a_burst_of_complaints_deterministically() {
    let directory = tempfile::tempdir().unwrap();
    let generated = tidewatch()
        .args(["generate", "--count", "20000", "--seed", "3"])
        .output()
        .unwrap();
    assert!(generated.status.success());
    let mut lines = String::from_utf8(generated.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    let quiet_end =
        chrono::DateTime::parse_from_rfc3339(last["created_at"].as_str().unwrap()).unwrap();
    // Varied wording, as real complaints are: copies of one text would count as spread of a
    // single post rather than as a story.
    let openers = [
        "ugh",
        "seriously",
        "unbelievable",
        "wow",
        "so",
        "great",
        "thanks",
        "again",
    ];
    let middles = [
        "my flight got cancelled",
        "they cancelled our flight",
        "flight cancelled without notice",
        "cancelled at the last minute",
    ];
    let tails = [
        "now stranded in denver with no voucher",
        "stranded overnight and no hotel voucher",
        "we are stranded, voucher refused",
        "stranded with kids, not even a meal voucher",
        "stranded at the gate, voucher desk closed",
    ];
    for index in 0..80usize {
        let created_at = quiet_end + chrono::Duration::seconds(600 + index as i64 * 20);
        let text = format!(
            "{} Acme Air, {}, {}",
            openers[index % 8],
            middles[(index / 8) % 4],
            tails[(index * 3) % 5]
        );
        let post = serde_json::json!({
            "source": "mastodon", "source_id": format!("burst-{index}"),
            "created_at": created_at.to_rfc3339(), "lang": "en",
            "author": {"id": format!("burst-author-{index}"), "followers": 100 + index},
            "text": text,
        });
        lines.push_str(&post.to_string());
        lines.push('\n');
    }
    let posts = directory.path().join("posts.jsonl");
    std::fs::write(&posts, lines).unwrap();
    let config = directory.path().join("tidewatch.toml");
    std::fs::write(
        &config,
        "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\", \"@acmeair\"]\n",
    )
    .unwrap();

    let run = || {
        let output = tidewatch()
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
}
