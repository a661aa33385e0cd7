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
