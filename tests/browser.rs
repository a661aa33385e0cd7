//! The dashboard in a real browser (Debian's chromium driven by playwright-core, see
//! `tests/browser/`), against `tidewatch demo`: the whole pipeline, the real API and the
//! simulated PagerDuty. The browser signs in before the demo's story starts; the story's alert
//! must then appear in the feed without a reload; a responder acknowledges it and both the API
//! and PagerDuty see the acknowledge; a viewer cannot; the story view shows its chart and
//! evidence; the trends table equals the API's numbers. Screenshots: `tests/browser/artifacts/`.
//!
//! Needs `chromium` and `npm ci --prefix tests/browser` (deploy/local/test does both); skips
//! with a message without them, except under CI=true.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tidewatch_e2e::*;

fn browser_tools_available() -> bool {
    let browser_directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = Path::new("/usr/bin/chromium").exists();
    let playwright = browser_directory
        .join("node_modules/playwright-core")
        .exists();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if chromium && playwright && node {
        return true;
    }
    let message = format!(
        "browser tools missing: chromium {chromium}, playwright-core {playwright}, node {node}; \
         run `apt-get install -y chromium && npm ci --prefix tests/browser`"
    );
    skip_or_fail("browser", &message);
    false
}

/// The value after `marker` on the first line of the demo's output that has it.
fn wait_for_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    marker: &str,
    deadline: Instant,
) -> String {
    loop {
        if let Some(line) = seen.iter().find(|line| line.contains(marker)) {
            return line.split(marker).nth(1).unwrap().trim().to_string();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "the demo never printed {marker:?}; it printed:\n{}",
                seen.join("\n")
            ),
        }
    }
}

#[test]
fn the_dashboard_shows_a_live_story_and_acknowledges_it_in_a_real_browser() {
    if !services_available("the_dashboard_shows_a_live_story") || !browser_tools_available() {
        return;
    }
    let database = unique_name("tw_browser");
    let mut demo = Command::new(tidewatch_binary())
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &database,
            "--story-delay-seconds",
            "45",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start tidewatch demo");
    let (sender, lines) = mpsc::channel();
    let stdout = demo.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("demo: {line}");
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let dashboard = wait_for_line(&lines, &mut seen, "dashboard at ", deadline);
    let viewer = wait_for_line(&lines, &mut seen, "viewer    token: ", deadline);
    let responder = wait_for_line(&lines, &mut seen, "responder token: ", deadline);
    let pagerduty = wait_for_line(&lines, &mut seen, "simulated PagerDuty at ", deadline);

    let browser_directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    // The trigger is the demo itself: its story starts 45 s after the history is published,
    // after the browser has signed in; the feed must show it without a reload.
    let status = Command::new("node")
        .arg(browser_directory.join("dashboard.test.mjs"))
        .env("TIDEWATCH_URL", dashboard.trim_end_matches('/'))
        .env("TIDEWATCH_VIEWER_TOKEN", &viewer)
        .env("TIDEWATCH_RESPONDER_TOKEN", &responder)
        .env("TIDEWATCH_TRIGGER_CMD", "true")
        .env("PAGERDUTY_MOCK_URL", &pagerduty)
        .env("TIDEWATCH_LIVE_TIMEOUT_MS", "150000")
        .status()
        .expect("cannot run node");
    let _ = Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status();
    let _ = demo.wait();
    drop_database(&database);
    assert!(
        status.success(),
        "the browser test failed ({status}); screenshots in {}",
        browser_directory.join("artifacts").display()
    );
}
