//! Production transport, end to end against real servers on this test's own loopback ports
//! (19400–19499): ClickHouse over HTTPS with a throwaway CA, Kafka over TLS through stunnel4 in
//! front of a tansu broker, and Kafka SASL SCRAM-SHA-512 against tansu's own authentication.
//! Each test proves the happy path moves data whole, that a misconfiguration (wrong CA, plain
//! URL against a TLS port, bad password) stops the command at start with an error naming the
//! setting, and that the secrets it was given appear in no output, log or `/metrics`.

#[path = "transport_tls/support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sha2::{Digest, Sha256};
use support::*;
use tidewatch_e2e::*;

const WATCHES: &str = "[[watch]]\nname = \"globex\"\nany = [\"globex\"]\n\n[[watch]]\nname = \"acme\"\nany = [\"acme air\", \"initech\"]\n";

/// Secrets shaped like the ones that used to be mangled or echoed: digits with leading zeros.
const CLICKHOUSE_PASSWORD: &str = "0042987654321";
const KAFKA_PASSWORD: &str = "00771234509876";
const API_TOKEN: &str = "tw-transport-test-token-5f1c";

fn test_directory(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(unique_name(name));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Runs `tidewatch --config CONFIG ARGS` with `environment`, giving up after two minutes.
fn tidewatch(config: &Path, args: &[&str], environment: &[(&str, &str)]) -> Output {
    Command::new(tidewatch_binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "info")
        .envs(environment.iter().copied())
        .output()
        .expect("cannot start tidewatch")
}

fn all_output(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_fails_naming(output: &Output, setting: &str, what: &str) {
    let text = all_output(output);
    assert!(!output.status.success(), "{what} should fail:\n{text}");
    assert!(
        text.contains(setting),
        "{what}: no mention of {setting}:\n{text}"
    );
}

fn assert_no_secret(text: &str, secrets: &[&str], what: &str) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

fn clickhouse_count(http_port: u16, password: &str, sql: &str) -> u64 {
    let path = format!("/?user=default&password={password}");
    let (status, body) = http_request(&format!("127.0.0.1:{http_port}"), "POST", &path, sql)
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    assert_eq!(status, 200, "{sql}: {body}");
    body.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: {body:?}"))
}

#[test]
fn clickhouse_over_https_stores_and_serves_and_misconfigurations_fail_at_start() {
    let test = "clickhouse_over_https";
    if !require_programs(test, &["openssl", "clickhouse-server"]) {
        return;
    }
    let directory = test_directory("tw_https");
    let ca = ThrowawayCa::create(&directory, "good");
    let wrong_ca = ThrowawayCa::create(&directory, "wrong");
    let [http_port, https_port, tcp_port, api_port] = [19400, 19401, 19402, 19403];
    let server = start_clickhouse(
        &directory,
        &ca,
        [http_port, https_port, tcp_port],
        CLICKHOUSE_PASSWORD,
    );
    let database = unique_name("tw_https");
    let token_hash: String = Sha256::digest(API_TOKEN.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let write = |file: &str, url: &str, ca_file: Option<&Path>| {
        let ca_line = ca_file
            .map(|path| format!("ca_file = \"{}\"\n", path.display()))
            .unwrap_or_default();
        let text = format!(
            "[clickhouse]\nurl = \"{url}\"\ndatabase = \"{database}\"\n{ca_line}\n[api]\nlisten = \"127.0.0.1:{api_port}\"\ntokens = [{{ name = \"t\", sha256 = \"{token_hash}\", role = \"viewer\" }}]\n\n[pipeline]\nbatch_wait_ms = 100\n\n{WATCHES}"
        );
        let path = directory.join(file);
        std::fs::write(&path, text).unwrap();
        path
    };
    let https_url = format!("https://127.0.0.1:{https_port}");
    let good = write("good.toml", &https_url, Some(&ca.ca_file));
    let secrets = [CLICKHOUSE_PASSWORD, API_TOKEN];
    let environment = [("TIDEWATCH__CLICKHOUSE__PASSWORD", CLICKHOUSE_PASSWORD)];

    // A wrong CA, and a plain http:// URL against the HTTPS port: refused at start, by name.
    let wrong = write("wrong-ca.toml", &https_url, Some(&wrong_ca.ca_file));
    let output = tidewatch(&wrong, &["migrate"], &environment);
    assert_fails_naming(&output, "clickhouse.ca_file", "a wrong CA");
    assert_no_secret(&all_output(&output), &secrets, "the wrong-CA error");
    let plain = write(
        "plain.toml",
        &format!("http://127.0.0.1:{https_port}"),
        None,
    );
    let output = tidewatch(&plain, &["migrate"], &environment);
    assert_fails_naming(&output, "https://", "http:// against the HTTPS port");
    assert!(
        all_output(&output).contains("clickhouse.url"),
        "{}",
        all_output(&output)
    );
    assert_no_secret(&all_output(&output), &secrets, "the plain-URL error");

    // The pipeline stores through HTTPS, and the API reads through it.
    let posts = directory.join("posts.jsonl");
    generate_posts(&posts, 500, 14);
    let log_path = directory.join("run.log");
    let mut run = spawn_tidewatch_with_env(
        &good,
        &["run", "--posts", posts.to_str().unwrap(), "--keep-running"],
        &log_path,
        &environment,
    );
    let count_sql = format!("SELECT count() FROM {database}.posts FINAL");
    let stored = wait_until(Duration::from_secs(60), || {
        http_request(
            &format!("127.0.0.1:{http_port}"),
            "POST",
            &format!("/?password={CLICKHOUSE_PASSWORD}"),
            &count_sql,
        )
        .is_ok_and(|(status, body)| status == 200 && body.trim() == "500")
    });
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(stored, "500 posts were not stored over HTTPS:\n{log}");
    let api = format!("127.0.0.1:{api_port}");
    let bearer = format!("Bearer {API_TOKEN}");
    let (status, body) = http_request_with_headers(
        &api,
        "GET",
        "/api/v1/posts?from=2025-03-01T00:00:00Z&to=2025-03-03T00:00:00Z&limit=5",
        &[("Authorization", &bearer)],
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(body.contains("globex") || body.contains("acme"), "{page}");
    let (status, metrics) = http_request(&api, "GET", "/metrics", "").unwrap();
    assert_eq!(status, 200, "{metrics}");
    assert_no_secret(&metrics, &secrets, "/metrics");
    stop_gracefully(&mut run, "tidewatch run");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_no_secret(&log, &secrets, "the pipeline's log");
    assert_eq!(
        clickhouse_count(http_port, CLICKHOUSE_PASSWORD, &count_sql),
        500
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&directory);
}

/// Kafka reached only through TLS (stunnel4 in front of tansu, which advertises the TLS port):
/// a replay through score and store arrives whole; a wrong CA and a plaintext client against
/// the TLS port fail at start naming the setting; a `[kafka.client]` property reaches
/// librdkafka (turning certificate verification off makes the wrong CA pass).
#[test]
fn kafka_over_tls_replay_arrives_whole_and_misconfigurations_fail_at_start() {
    let test = "kafka_over_tls";
    if !require_programs(test, &["openssl", "stunnel4", "tansu"]) || !services_available(test) {
        return;
    }
    let directory = test_directory("tw_kafka_tls");
    let ca = ThrowawayCa::create(&directory, "kafka");
    let wrong_ca = ThrowawayCa::create(&directory, "other");
    let [tls_port, plain_port] = [19410, 19411];
    let broker = start_tansu(&directory.join("tansu"), plain_port, tls_port, false);
    let tunnel = start_stunnel(&directory.join("stunnel"), &ca, tls_port, plain_port);
    let prefix = unique_name("tw_tls");
    let kafka_keys = |ca_file: &Path, protocol: &str| {
        format!(
            "security_protocol = \"{protocol}\"\nca_file = \"{}\"\nconnect_timeout_ms = 5000\n[kafka.client]\nclient.id = \"tidewatch-tls-test\"\n",
            ca_file.display()
        )
    };
    let write = |file: &str, keys: String| {
        let sub = directory.join(file);
        std::fs::create_dir_all(&sub).unwrap();
        let path = write_config_with(&sub, Some(&prefix), &prefix, WATCHES, &keys);
        let text = std::fs::read_to_string(&path).unwrap().replace(
            &format!("brokers = \"{KAFKA}\""),
            &format!("brokers = \"127.0.0.1:{tls_port}\""),
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let good = write("good", kafka_keys(&ca.ca_file, "SSL"));
    let wrong = write("wrong", kafka_keys(&wrong_ca.ca_file, "SSL"));
    let plaintext = write("plain", "connect_timeout_ms = 5000\n".to_string());
    // A pass-through property takes effect: the wrong CA is accepted once verification is off.
    let unverified = write(
        "unverified",
        kafka_keys(&wrong_ca.ca_file, "SSL").replace(
            "[kafka.client]\n",
            "[kafka.client]\nenable.ssl.certificate.verification = false\n",
        ),
    );

    let posts = directory.join("posts.jsonl");
    generate_posts(&posts, 2_000, 15);
    let output = tidewatch(&wrong, &["replay", "--posts", posts.to_str().unwrap()], &[]);
    assert_fails_naming(&output, "kafka.ca_file", "a wrong CA");
    let output = tidewatch(
        &plaintext,
        &["replay", "--posts", posts.to_str().unwrap()],
        &[],
    );
    assert_fails_naming(
        &output,
        "kafka.security_protocol",
        "plaintext against the TLS port",
    );

    let output = tidewatch(&good, &["run", "--posts", posts.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", all_output(&output));
    assert_eq!(
        clickhouse_number(&format!("SELECT count() FROM {prefix}.posts FINAL")),
        2_000,
        "{}",
        all_output(&output)
    );
    let output = tidewatch(
        &unverified,
        &["replay", "--posts", posts.to_str().unwrap()],
        &[],
    );
    assert!(output.status.success(), "{}", all_output(&output));
    drop_database(&prefix);
    tunnel.stop();
    broker.stop();
    let _ = std::fs::remove_dir_all(&directory);
}

/// SASL SCRAM-SHA-512 against tansu's own authentication: the right password moves records, a
/// wrong one fails at start naming the SASL settings, and neither password shows anywhere.
#[test]
fn kafka_sasl_scram_authenticates_and_a_bad_password_fails_at_start() {
    let test = "kafka_sasl_scram";
    if !require_programs(test, &["tansu"]) || !services_available(test) {
        return;
    }
    let directory = test_directory("tw_kafka_sasl");
    let port = 19420;
    // Users are made while the broker runs without authentication, then it restarts with it.
    let setup = start_tansu(&directory, port, port, false);
    create_tansu_user(port, "tidewatch", KAFKA_PASSWORD);
    setup.stop();
    let broker = start_tansu(&directory, port, port, true);

    let prefix = unique_name("tw_sasl");
    let keys = "security_protocol = \"SASL_PLAINTEXT\"\nsasl_mechanism = \"SCRAM-SHA-512\"\nsasl_username = \"tidewatch\"\nconnect_timeout_ms = 5000\n";
    let path = write_config_with(&directory, Some(&prefix), &prefix, WATCHES, keys);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(
            &format!("brokers = \"{KAFKA}\""),
            &format!("brokers = \"127.0.0.1:{port}\""),
        )
        .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:19421\"");
    std::fs::write(&path, &text).unwrap();
    let posts = directory.join("posts.jsonl");
    generate_posts(&posts, 300, 16);
    let wrong_password = "00998877665544";
    let secrets = [KAFKA_PASSWORD, wrong_password];

    let output = tidewatch(
        &path,
        &["replay", "--posts", posts.to_str().unwrap()],
        &[("TIDEWATCH__KAFKA__SASL_PASSWORD", wrong_password)],
    );
    assert_fails_naming(&output, "kafka.sasl_username", "a wrong password");
    assert_no_secret(&all_output(&output), &secrets, "the bad-password error");

    let good_environment = [("TIDEWATCH__KAFKA__SASL_PASSWORD", KAFKA_PASSWORD)];
    let output = tidewatch(
        &path,
        &["replay", "--posts", posts.to_str().unwrap()],
        &good_environment,
    );
    assert!(output.status.success(), "{}", all_output(&output));
    assert_no_secret(&all_output(&output), &secrets, "the replay's output");

    // The whole pipeline on Kafka with the same credentials stores every post; neither its log
    // nor its /metrics shows a password.
    let log_path = directory.join("run.log");
    let mut run = spawn_tidewatch_with_env(
        &path,
        &["run", "--posts", posts.to_str().unwrap(), "--keep-running"],
        &log_path,
        &good_environment,
    );
    let count_sql = format!("SELECT count() FROM {prefix}.posts FINAL");
    let stored = wait_until(Duration::from_secs(90), || {
        clickhouse_query(&count_sql).is_ok_and(|answer| answer.trim() == "300")
    });
    let (status, metrics) = http_request("127.0.0.1:19421", "GET", "/metrics", "").unwrap();
    assert_eq!(status, 200, "{metrics}");
    assert_no_secret(&metrics, &secrets, "/metrics");
    stop_gracefully(&mut run, "tidewatch run");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(stored, "300 posts were not stored through SASL:\n{log}");
    assert_no_secret(&log, &secrets, "the pipeline's log");
    broker.stop();
    drop_database(&prefix);
    let _ = std::fs::remove_dir_all(&directory);
}
