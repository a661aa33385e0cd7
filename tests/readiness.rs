//! Liveness and readiness of a real stage process (`tidewatch store`) against the local
//! services: `/readyz` turns 200 once the broker answers and ClickHouse takes a write, turns 503
//! naming ClickHouse when its database disappears (a dependency failure, which restarting the
//! process cannot fix, so `/healthz` stays 200), and recovers when the database is back.

use std::time::Duration;

use tidewatch_e2e::*;

fn get(endpoint: &str, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = http_request(endpoint, "GET", path, "")
        .unwrap_or_else(|error| panic!("GET {path}: {error}"));
    let json = serde_json::from_str(&body).unwrap_or_else(|error| {
        panic!("GET {path} answered {status} with non-JSON {body:?}: {error}")
    });
    (status, json)
}

fn wait_for_readiness(endpoint: &str, status: u16, what: &str) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    let reached = wait_until(Duration::from_secs(60), || {
        // Connection refused until the process listens: not an answer yet.
        let Ok((answered, body)) = http_request(endpoint, "GET", "/readyz", "") else {
            return false;
        };
        last = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
        answered == status
    });
    assert!(
        reached,
        "/readyz never answered {status} ({what}); last: {last}"
    );
    last
}

#[test]
fn readyz_follows_clickhouse_while_healthz_stays_up() {
    if !services_available("readyz_follows_clickhouse_while_healthz_stays_up") {
        return;
    }
    let name = unique_name("readyz");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    let config = write_config(&directory, Some(&name), &name, "");
    let endpoint = free_loopback_address();
    let mut store = spawn_tidewatch_with_env(
        &config,
        &["store"],
        &directory.join("store.log"),
        &[("TIDEWATCH__API__LISTEN", endpoint.as_str())],
    );
    let log = || std::fs::read_to_string(directory.join("store.log")).unwrap_or_default();

    let ready = wait_for_readiness(&endpoint, 200, "both dependencies up");
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(
        ready["components"]["clickhouse"]["state"], "ready",
        "{ready}"
    );
    assert_eq!(ready["components"]["broker"]["state"], "ready", "{ready}");
    let probe_rows = clickhouse_number(&format!(
        "SELECT count() FROM {name}.readiness_probe WHERE probe = 'store'"
    ));
    assert!(probe_rows > 0, "the ClickHouse probe wrote no row");

    drop_database(&name);
    let unready = wait_for_readiness(&endpoint, 503, "database dropped");
    assert_eq!(unready["status"], "not_ready", "{unready}");
    assert_eq!(
        unready["components"]["clickhouse"]["state"], "failing",
        "{unready}"
    );
    assert_eq!(
        unready["components"]["broker"]["state"], "ready",
        "{unready}"
    );
    let reason = unready["components"]["clickhouse"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains(&name),
        "the reason names no database: {unready}"
    );
    assert!(
        unready["not_ready_because"][0]
            .as_str()
            .is_some_and(|cause| cause.starts_with("clickhouse: ")),
        "{unready}"
    );
    let (live, health) = get(&endpoint, "/healthz");
    assert_eq!(
        live,
        200,
        "liveness must not follow a dependency: {health}\n{}",
        log()
    );
    assert_eq!(health["stages"]["store"], "running", "{health}");

    clickhouse_query(&format!("CREATE DATABASE IF NOT EXISTS {name}")).unwrap();
    wait_for_readiness(&endpoint, 200, "database recreated");

    stop_gracefully(&mut store, "store");
    drop_database(&name);
    let _ = std::fs::remove_dir_all(&directory);
}
