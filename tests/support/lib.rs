//! Helpers shared by the end-to-end tests in `tests/`: locating the `tidewatch` binary, the
//! local services (tansu on 127.0.0.1:9092, ClickHouse on 127.0.0.1:8123, started by
//! `deploy/local/services up`), unique topic prefixes and database names so that tests never
//! see each other's data, a minimal ClickHouse HTTP client, and a dead-letter topic reader.
//!
//! Why a hand-written HTTP client: the tests check ClickHouse with their own SQL, independent of
//! the code under test, and need nothing more than one POST.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;

/// The one "skip outside CI, fail under CI" rule (see the `tidewatch-test-support` crate).
pub use tidewatch_test_support::{require, running_in_ci, shared_data, skip_or_fail};

pub const KAFKA: &str = "127.0.0.1:9092";
pub const CLICKHOUSE_HOST: &str = "127.0.0.1:8123";

/// The `tidewatch` binary cargo built next to this test.
pub fn tidewatch_binary() -> PathBuf {
    let test_executable = std::env::current_exe().expect("cannot locate the test executable");
    let profile_directory = test_executable
        .parent()
        .and_then(Path::parent)
        .expect("test executable is not in target/<profile>/deps");
    let binary = profile_directory.join("tidewatch");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build -p tidewatch` (cargo test/nextest on the workspace does)",
        binary.display()
    );
    binary
}

/// True if both local services answer. Otherwise prints why the test is skipped, or panics under
/// CI, where the services must be there ([`skip_or_fail`]).
pub fn services_available(test_name: &str) -> bool {
    let kafka_up =
        TcpStream::connect_timeout(&KAFKA.parse().unwrap(), Duration::from_secs(2)).is_ok();
    let clickhouse_up = clickhouse_query("SELECT 1").is_ok_and(|answer| answer.trim() == "1");
    if kafka_up && clickhouse_up {
        return true;
    }
    let message = format!(
        "local services not running (kafka up: {kafka_up}, clickhouse up: {clickhouse_up}); \
         start them with `deploy/local/services up`"
    );
    skip_or_fail(test_name, &message);
    false
}

/// A name no other test run uses: `<prefix>_<pid>_<nanos>`.
pub fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

/// One HTTP/1.0 request; returns the status code and the body.
pub fn http_request(
    host: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String), String> {
    http_request_with_headers(host, method, path, &[], body)
}

/// [`http_request`] with extra headers, e.g. `("Authorization", "Bearer …")`.
pub fn http_request_with_headers(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), String> {
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let address = host.parse().map_err(|_| format!("bad address {host}"))?;
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))
        .map_err(|error| error.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|error| error.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|error| error.to_string())?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// Runs one SQL statement over ClickHouse's HTTP interface; returns the body (TabSeparated).
pub fn clickhouse_query(sql: &str) -> Result<String, String> {
    let (status, body) = http_request(CLICKHOUSE_HOST, "POST", "/", sql)?;
    if status != 200 {
        return Err(format!("ClickHouse answered {status}: {body}"));
    }
    Ok(body)
}

/// A loopback address with a port that was free a moment ago.
pub fn free_loopback_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("cannot bind a port");
    listener.local_addr().unwrap().to_string()
}

/// A number answered by `sql`.
pub fn clickhouse_number(sql: &str) -> u64 {
    let answer = clickhouse_query(sql).unwrap_or_else(|error| panic!("{sql}: {error}"));
    answer
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: not a number: {answer:?}"))
}

pub fn drop_database(database: &str) {
    let _ = clickhouse_query(&format!("DROP DATABASE IF EXISTS {database}"));
}

/// Writes a config for one test: its own topic prefix and database, the given watches.
pub fn write_config(
    directory: &Path,
    topic_prefix: Option<&str>,
    database: &str,
    watches_toml: &str,
) -> PathBuf {
    write_config_with(directory, topic_prefix, database, watches_toml, "")
}

/// [`write_config`] with more `[kafka]` keys (TOML lines).
pub fn write_config_with(
    directory: &Path,
    topic_prefix: Option<&str>,
    database: &str,
    watches_toml: &str,
    extra_kafka_keys: &str,
) -> PathBuf {
    let kafka = match topic_prefix {
        Some(prefix) => format!(
            "[kafka]\nbrokers = \"{KAFKA}\"\ntopic_prefix = \"{prefix}\"\ngroup_prefix = \"{prefix}\"\npartitions = 4\nsession_timeout_ms = 6000\n{extra_kafka_keys}\n\n"
        ),
        None => String::new(),
    };
    let text = format!(
        "{kafka}[clickhouse]\nurl = \"http://{CLICKHOUSE_HOST}\"\ndatabase = \"{database}\"\n\n[api]\nlisten = \"127.0.0.1:0\"\n\n[pipeline]\nbatch_size = 5000\nbatch_wait_ms = 100\n\n{watches_toml}"
    );
    let path = directory.join("tidewatch.toml");
    std::fs::write(&path, text).expect("cannot write the test config");
    path
}

/// Runs `tidewatch <args>` to completion; panics with its output if it fails.
pub fn run_tidewatch(config: &Path, args: &[&str]) -> String {
    let output = Command::new(tidewatch_binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("cannot start tidewatch");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "tidewatch {args:?} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Starts `tidewatch <args>` in the background, its logs in `log_path`.
pub fn spawn_tidewatch(config: &Path, args: &[&str], log_path: &Path) -> Child {
    spawn_tidewatch_with_env(config, args, log_path, &[])
}

/// [`spawn_tidewatch`] with more environment variables.
pub fn spawn_tidewatch_with_env(
    config: &Path,
    args: &[&str],
    log_path: &Path,
    environment: &[(&str, &str)],
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .expect("cannot open the log file");
    Command::new(tidewatch_binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "info,rdkafka=warn")
        .envs(environment.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("cannot start tidewatch")
}

/// Writes `tidewatch generate` output to `path`; returns the lines.
pub fn generate_posts(path: &Path, count: u64, seed: u64) -> Vec<String> {
    let output = Command::new(tidewatch_binary())
        .args([
            "generate",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .output()
        .expect("cannot run tidewatch generate");
    assert!(output.status.success(), "generate failed");
    std::fs::write(path, &output.stdout).expect("cannot write posts");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Reads every record of `topic` from the beginning until `expected` arrived or `timeout`.
pub fn read_topic(topic: &str, expected: usize, timeout: Duration) -> Vec<Vec<u8>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", unique_name("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("cannot create a reader");
    consumer.subscribe(&[topic]).expect("cannot subscribe");
    let deadline = Instant::now() + timeout;
    let mut payloads = Vec::new();
    while payloads.len() < expected && Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            payloads.push(message.payload().unwrap_or_default().to_vec());
        }
    }
    payloads
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    condition()
}

/// Produces raw bytes to `topic` and waits until they are acknowledged: for records no
/// tidewatch producer would write, to prove a stage survives them.
pub fn produce_raw(topic: &str, records: &[(&str, &[u8])]) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("acks", "all")
        .create()
        .expect("cannot create a producer");
    for (key, payload) in records {
        producer
            .send(BaseRecord::to(topic).key(*key).payload(*payload))
            .expect("cannot queue a record");
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("records were not acknowledged");
}

/// How many generated lines mention `brand` (lowercase), counted from the text itself.
pub fn mentions(lines: &[String], brand: &str) -> u64 {
    lines
        .iter()
        .filter(|line| {
            let post: serde_json::Value = serde_json::from_str(line).unwrap();
            post["text"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(brand)
        })
        .count() as u64
}

/// Sends SIGTERM and requires a clean exit within 30 s: the stage drains and commits.
pub fn stop_gracefully(child: &mut Child, name: &str) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("cannot run kill");
    assert!(status.success());
    let exited = wait_until(Duration::from_secs(30), || {
        child.try_wait().unwrap().is_some()
    });
    assert!(exited, "{name} did not stop within 30s of SIGTERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{name} exited with {status} on SIGTERM");
}

/// Generated quiet traffic (`tidewatch generate --count quiet_count`) followed by a burst of
/// `burst_count` varied complaints about Acme Air, 20 s apart, starting 10 minutes after the
/// last quiet post: the shape of a rising negative story. Returns the JSONL lines, time-ordered.
pub fn quiet_day_then_complaint_burst(
    quiet_count: u64,
    burst_count: usize,
    seed: u64,
) -> Vec<String> {
    let output = Command::new(tidewatch_binary())
        .args([
            "generate",
            "--count",
            &quiet_count.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .output()
        .expect("cannot run tidewatch generate");
    assert!(output.status.success(), "generate failed");
    let mut lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let quiet_end = chrono::DateTime::parse_from_rfc3339(last["created_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    // Varied wording, as real complaints are: copies of one text count as spread of one post.
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
    for index in 0..burst_count {
        let created_at = quiet_end + chrono::Duration::seconds(600 + index as i64 * 20);
        let text = format!(
            "{} Acme Air, {}, {}",
            openers[index % 8],
            middles[(index / 8) % 4],
            tails[(index * 3) % 5]
        );
        let post = serde_json::json!({
            "source": "mastodon", "source_id": format!("burst-{index}"),
            "created_at": created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "lang": "en",
            "author": {"id": format!("burst-author-{index}"), "followers": 100 + index},
            "text": text,
        });
        lines.push(post.to_string());
    }
    lines
}

/// The high watermark (next offset) of each partition of `topic`, by partition number.
pub fn topic_high_watermarks(topic: &str) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", KAFKA)
        .set("group.id", unique_name("watermarks"))
        .create()
        .expect("cannot create a metadata client");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("cannot fetch metadata");
    let partitions = metadata
        .topics()
        .first()
        .map(|topic_metadata| topic_metadata.partitions().len())
        .unwrap_or(0);
    (0..partitions as i32)
        .map(|partition| {
            consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .map(|(_low, high)| high)
                .unwrap_or(0)
        })
        .collect()
}

/// A local HTTP receiver standing in for PagerDuty (or any webhook): it answers every POST with
/// `status` (202 unless told otherwise) and keeps the JSON bodies, in arrival order.
pub struct RecordingReceiver {
    pub address: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl RecordingReceiver {
    pub fn start() -> RecordingReceiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("cannot bind a receiver");
        let address = listener.local_addr().unwrap().to_string();
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                std::thread::spawn(move || serve_one(stream, &recorded));
            }
        });
        RecordingReceiver { address, bodies }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn serve_one(mut stream: TcpStream, recorded: &std::sync::Mutex<Vec<serde_json::Value>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let Ok(read) = stream.read(&mut chunk) else {
            return;
        };
        if read == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
    };
    let headers = String::from_utf8_lossy(&buffer[..header_end]).to_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let Ok(read) = stream.read(&mut chunk) else {
            return;
        };
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    if let Ok(body) = serde_json::from_slice(&buffer[header_end..]) {
        recorded.lock().unwrap().push(body);
    }
    let reply = r#"{"status":"success","message":"Event processed"}"#;
    let _ = write!(
        stream,
        "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        reply.len()
    );
}
