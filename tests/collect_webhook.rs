//! `tidewatch collect` with a webhook source, through Kafka to ClickHouse: posts accepted with
//! 202 by `POST /ingest` (bearer token) are scored and stored; a bad token is refused with 401
//! and stores nothing; a batch with a bad item names it; collector health reaches ClickHouse.

use std::time::Duration;

use tidewatch_e2e::*;

const WATCHES: &str = "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\"]\n";

#[test]
fn webhook_posts_reach_clickhouse_and_bad_requests_are_refused() {
    if !services_available("webhook_posts_reach_clickhouse") {
        return;
    }
    let prefix = unique_name("tw_collect");
    let directory = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&directory).unwrap();
    let ingest = free_loopback_address();
    let config_text = std::fs::read_to_string(write_config(
        &directory,
        Some(&format!("{prefix}.")),
        &prefix,
        WATCHES,
    ))
    .unwrap();
    let mut config_text = config_text.replace(
        "[pipeline]\n",
        &format!(
            "[pipeline]\nstate_dir = \"{}\"\n",
            directory.join("state").display()
        ),
    );
    config_text.push_str(&format!(
        "\n[[source]]\nkind = \"webhook\"\nname = \"partner-feed\"\nlisten = \"{ingest}\"\nbearer_token_env = \"TEST_INGEST_TOKEN\"\n"
    ));
    let config = directory.join("tidewatch.toml");
    std::fs::write(&config, config_text).unwrap();
    run_tidewatch(&config, &["migrate"]);

    let environment = [
        ("TEST_INGEST_TOKEN", "ingest-secret"),
        ("TIDEWATCH__API__LISTEN", "127.0.0.1:0"),
    ];
    let mut collect = spawn_tidewatch_with_env(
        &config,
        &["collect"],
        &directory.join("collect.log"),
        &environment,
    );
    let mut score = spawn_tidewatch_with_env(
        &config,
        &["score"],
        &directory.join("score.log"),
        &environment,
    );
    let mut store = spawn_tidewatch_with_env(
        &config,
        &["store"],
        &directory.join("store.log"),
        &environment,
    );
    let post = |index: u32| {
        serde_json::json!({"v": 1, "source": "partner", "source_id": format!("p-{index}"), "kind": "post",
            "created_at": "2026-11-20T10:00:00Z", "text": format!("acme air lost my bag again, case {index}")})
    };
    let batch = serde_json::Value::Array((0..5).map(post).collect()).to_string();
    let send = |token: &str, body: &str| {
        let authorization = format!("Bearer {token}");
        http_request_with_headers(
            &ingest,
            "POST",
            "/ingest",
            &[("Authorization", &authorization)],
            body,
        )
    };
    assert!(
        wait_until(Duration::from_secs(60), || send("ingest-secret", "[]")
            .is_ok()),
        "the webhook never listened"
    );

    let (status, body) = send("wrong-token", &batch).unwrap();
    assert_eq!(status, 401, "{body}");
    let (status, body) = send("ingest-secret", &batch).unwrap();
    assert_eq!(status, 202, "{body}");
    let mut with_bad_item: Vec<serde_json::Value> = vec![post(10)];
    with_bad_item.push(serde_json::json!({"source": "partner", "text": "no id, no time"}));
    let (status, body) = send(
        "ingest-secret",
        &serde_json::Value::Array(with_bad_item).to_string(),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains('1'), "the bad item's index is named: {body}");

    let stored = |sql: &str| {
        clickhouse_number(&format!("SELECT count() FROM (SELECT source_id FROM {prefix}.posts WHERE {sql} GROUP BY source, source_id)"))
    };
    assert!(
        wait_until(Duration::from_secs(90), || stored("source = 'partner'")
            >= 5),
        "webhook posts never reached ClickHouse"
    );
    assert_eq!(
        stored("source = 'partner' AND source_id IN ('p-0','p-1','p-2','p-3','p-4')"),
        5
    );

    stop_gracefully(&mut collect, "collect");
    // Health is written on shutdown at the latest.
    assert!(
        wait_until(Duration::from_secs(10), || clickhouse_number(&format!(
            "SELECT count() FROM {prefix}.collector_health WHERE name = 'partner-feed'"
        )) >= 1),
        "no collector health row"
    );
    stop_gracefully(&mut score, "score");
    stop_gracefully(&mut store, "store");
    drop_database(&prefix);
    let _ = std::fs::remove_dir_all(&directory);
}
