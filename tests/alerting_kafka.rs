//! Alerting end to end through Kafka, each stage its own process: a rising complaint story is
//! replayed; the notify stage pages a local PagerDuty stand-in exactly once; the story appears
//! in the API; a viewer may not acknowledge it, a responder may, and the acknowledge reaches
//! PagerDuty with the story's dedup key; a SIGKILLed and restarted notify stage does not page
//! again; resolving in the API resolves in PagerDuty.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tidewatch_e2e::*;

const WATCHES: &str = "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\"]\n\n[[watch]]\nname = \"initech\"\nany = [\"initech\"]\n\n[[watch]]\nname = \"globex\"\nany = [\"globex\"]\n";
const VIEWER_TOKEN: &str = "viewer-token-for-the-alerting-test";
const RESPONDER_TOKEN: &str = "responder-token-for-the-alerting-test";

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn write_alerting_config(
    directory: &Path,
    prefix: &str,
    api: &str,
    pagerduty_url: &str,
) -> std::path::PathBuf {
    let text = format!(
        "[kafka]\nbrokers = \"{KAFKA}\"\ntopic_prefix = \"{prefix}.\"\ngroup_prefix = \"{prefix}\"\npartitions = 2\nsession_timeout_ms = 6000\nassignment = \"all\"\n\n\
         [clickhouse]\nurl = \"http://{CLICKHOUSE_HOST}\"\ndatabase = \"{prefix}\"\n\n\
         [api]\nlisten = \"{api}\"\ntokens = [{{ name = \"vera\", sha256 = \"{}\", role = \"viewer\" }}, {{ name = \"rosa\", sha256 = \"{}\", role = \"responder\" }}]\n\n\
         [pipeline]\nbatch_size = 2000\nbatch_wait_ms = 50\nstate_dir = \"{}\"\nsnapshot_interval_ms = 300\n\n\
         [alert]\nretry_base_ms = 100\nretry_max_ms = 1000\n\n\
         [[receiver]]\nname = \"oncall\"\nkind = \"pagerduty\"\nurl = \"{pagerduty_url}\"\nrouting_key_env = \"TEST_PAGERDUTY_KEY\"\ndashboard_url = \"http://{api}\"\n\n\
         [[route]]\nmin_severity = \"warning\"\nreceivers = [\"oncall\"]\n\n{WATCHES}",
        sha256_hex(VIEWER_TOKEN),
        sha256_hex(RESPONDER_TOKEN),
        directory.join("state").display()
    );
    let path = directory.join("tidewatch.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn pagerduty_events(receiver: &RecordingReceiver, action: &str) -> Vec<serde_json::Value> {
    receiver
        .bodies()
        .into_iter()
        .filter(|body| body["event_action"] == action)
        .collect()
}

fn api(api: &str, method: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let authorization = format!("Bearer {token}");
    let (status, body) = http_request_with_headers(
        api,
        method,
        path,
        &[("Authorization", &authorization)],
        "{}",
    )
    .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn a_story_pages_once_and_ack_and_resolve_reach_pagerduty() {
    if !services_available("a_story_pages_once") {
        return;
    }
    let prefix = unique_name("tw_alerting");
    let directory = std::env::temp_dir().join(&prefix);
    std::fs::create_dir_all(&directory).unwrap();
    let pagerduty = RecordingReceiver::start();
    let api_address = free_loopback_address();
    let config = write_alerting_config(
        &directory,
        &prefix,
        &api_address,
        &pagerduty.url("/v2/enqueue"),
    );
    let posts = directory.join("posts.jsonl");
    std::fs::write(
        &posts,
        quiet_day_then_complaint_burst(20_000, 80, 3).join("\n") + "\n",
    )
    .unwrap();
    run_tidewatch(&config, &["migrate"]);

    // Only `serve` listens on the API address; the other stages' /metrics take a free port.
    let spawn = |stage: &str| {
        let listen = if stage == "serve" {
            api_address.as_str()
        } else {
            "127.0.0.1:0"
        };
        spawn_tidewatch_with_env(
            &config,
            &[stage],
            &directory.join(format!("{stage}.log")),
            &[
                ("TEST_PAGERDUTY_KEY", "test-routing-key"),
                ("TIDEWATCH__API__LISTEN", listen),
            ],
        )
    };
    let mut score = spawn("score");
    let mut detect = spawn("detect");
    let mut notify = spawn("notify");
    let mut serve = spawn("serve");
    run_tidewatch(&config, &["replay", "--posts", posts.to_str().unwrap()]);

    assert!(
        wait_until(Duration::from_secs(180), || pagerduty_events(
            &pagerduty, "trigger"
        )
        .iter()
        .any(|trigger| trigger["payload"]["component"] == "acme-air")),
        "no page for the acme-air story arrived; see the logs in {}",
        directory.display()
    );
    // Only warning and critical stories page (the route's min_severity); the complaint burst
    // about acme-air is one of them.
    let triggers = pagerduty_events(&pagerduty, "trigger");
    assert!(
        triggers
            .iter()
            .all(|trigger| trigger["payload"]["severity"] != "info"),
        "an info story paged: {triggers:?}"
    );
    let trigger = triggers
        .into_iter()
        .find(|trigger| trigger["payload"]["component"] == "acme-air")
        .expect("the acme-air story paged");
    assert_eq!(trigger["routing_key"], "test-routing-key");
    let story_id = trigger["dedup_key"]
        .as_str()
        .expect("a dedup key")
        .to_string();
    assert!(
        trigger["payload"]["summary"]
            .as_str()
            .unwrap()
            .contains("acme-air"),
        "{trigger}"
    );

    // The story in the API, open.
    assert!(
        wait_until(Duration::from_secs(30), || {
            let (status, body) = api(
                &api_address,
                "GET",
                "/api/v1/alerts?status=open",
                VIEWER_TOKEN,
            );
            status == 200
                && body["alerts"].as_array().is_some_and(|alerts| {
                    alerts
                        .iter()
                        .any(|alert| alert["story_id"] == story_id.as_str())
                })
        }),
        "the story never showed in /api/v1/alerts"
    );

    // A viewer may not act; a responder may.
    let (status, _) = api(
        &api_address,
        "POST",
        &format!("/api/v1/alerts/{story_id}/ack"),
        VIEWER_TOKEN,
    );
    assert_eq!(status, 403);
    let (status, _) = api(
        &api_address,
        "POST",
        &format!("/api/v1/alerts/{story_id}/ack"),
        "not-a-token",
    );
    assert_eq!(status, 401);
    let (status, body) = api(
        &api_address,
        "POST",
        &format!("/api/v1/alerts/{story_id}/ack"),
        RESPONDER_TOKEN,
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        wait_until(Duration::from_secs(60), || pagerduty_events(
            &pagerduty,
            "acknowledge"
        )
        .iter()
        .any(|event| event["dedup_key"] == story_id.as_str())),
        "the acknowledge never reached PagerDuty"
    );
    let (_, detail) = api(
        &api_address,
        "GET",
        &format!("/api/v1/alerts/{story_id}"),
        VIEWER_TOKEN,
    );
    assert_eq!(detail["alert"]["status"], "acknowledged", "{detail}");
    assert_eq!(detail["alert"]["acknowledged_by"], "rosa", "{detail}");

    // A crash of notify and a restart: no second page.
    notify.kill().unwrap();
    notify.wait().unwrap();
    notify = spawn("notify");
    std::thread::sleep(Duration::from_secs(6));

    let (status, _) = api(
        &api_address,
        "POST",
        &format!("/api/v1/alerts/{story_id}/resolve"),
        RESPONDER_TOKEN,
    );
    assert_eq!(status, 200);
    assert!(
        wait_until(Duration::from_secs(60), || pagerduty_events(
            &pagerduty, "resolve"
        )
        .iter()
        .any(|event| event["dedup_key"] == story_id.as_str())),
        "the resolve never reached PagerDuty"
    );
    let triggers = pagerduty_events(&pagerduty, "trigger");
    let acme_triggers: Vec<_> = triggers
        .iter()
        .filter(|event| event["dedup_key"] == story_id.as_str())
        .collect();
    assert_eq!(acme_triggers.len(), 1, "one page per story: {triggers:?}");

    for (child, name) in [
        (&mut serve, "serve"),
        (&mut notify, "notify"),
        (&mut detect, "detect"),
        (&mut score, "score"),
    ] {
        stop_gracefully(child, name);
    }
    drop_database(&prefix);
    let _ = std::fs::remove_dir_all(&directory);
}
