//! `tidewatch demo`, headless: the simulated stream (48 hours of history, then live) runs
//! through the whole in-process pipeline; the injected negative story about acme-air must page
//! the simulated PagerDuty within two minutes, and nothing else may page.

use std::process::Command;
use std::time::{Duration, Instant};

use tidewatch_e2e::*;

#[test]
fn the_demo_pages_its_injected_story_within_two_minutes() {
    if !services_available("the_demo_pages_its_injected_story") {
        return;
    }
    let database = unique_name("tw_demo");
    let started = Instant::now();
    let output = Command::new(tidewatch_binary())
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &database,
            "--exit-after-page",
            "--timeout-seconds",
            "120",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .expect("cannot start tidewatch demo");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo failed after {elapsed:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(elapsed < Duration::from_secs(150), "took {elapsed:?}");
    assert!(
        stdout.contains("dashboard at http://127.0.0.1:"),
        "{stdout}"
    );
    let pages: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("pagerduty (simulated) received trigger"))
        .collect();
    assert_eq!(
        pages.len(),
        1,
        "exactly one page, for the injected story:\n{stdout}"
    );
    assert!(
        pages[0].contains("[acme-air]"),
        "the page is about acme-air: {}",
        pages[0]
    );
    // The story is in ClickHouse, where the dashboard reads it.
    let stored = clickhouse_number(&format!(
        "SELECT count() FROM {database}.alert_events WHERE watch = 'acme-air' AND state = 'firing'"
    ));
    assert!(stored >= 1, "the firing event is stored");
    drop_database(&database);
}
