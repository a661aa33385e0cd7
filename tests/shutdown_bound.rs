//! A stage leaves within a bounded time after SIGTERM even when its broker is wedged (accepts
//! connections, answers nothing): a process of its own broker (a private tansu on a free port,
//! its state in a temporary folder) is stopped with SIGSTOP under a running `tidewatch score`.
//! Needs the tansu binary (`deploy/local/services up` installs it): skip outside CI, fail under.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tidewatch_e2e::*;

/// Within what an orchestrator waits before SIGKILL (30 s), with room for a loaded machine.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(30);

fn tansu_binary() -> Option<PathBuf> {
    let binary = std::env::var_os("TANSU_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            let cargo_home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo"))
                })?;
            Some(cargo_home.join("bin/tansu"))
        })?;
    let found = binary.is_file();
    require(
        "stage_leaves_in_bounded_time_with_a_wedged_broker",
        found,
        || {
            format!(
                "{} is missing; `deploy/local/services up` installs tansu",
                binary.display()
            )
        },
    )
    .then_some(binary)
}

/// A tansu broker of this test's own; killed (after SIGCONT) on drop.
struct PrivateBroker {
    child: Child,
}

impl PrivateBroker {
    fn start(
        binary: &std::path::Path,
        address: &str,
        directory: &std::path::Path,
    ) -> PrivateBroker {
        let log = std::fs::File::create(directory.join("tansu.log")).unwrap();
        let child = Command::new(binary)
            // tansu resolves a sqlite:// URL against its working directory (see deploy/local/services).
            .current_dir("/")
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", directory)
            .env("RUST_LOG", "warn")
            .args(["broker", "--cluster-id", "tidewatch-shutdown-test"])
            .arg("--listener-url")
            .arg(format!("tcp://{address}"))
            .arg("--advertised-listener-url")
            .arg(format!("tcp://{address}"))
            .arg("--storage-engine")
            .arg(format!("sqlite://{}", directory.join("tansu.db").display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("cannot start tansu");
        let broker = PrivateBroker { child };
        let listening = wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(address).is_ok()
        });
        assert!(listening, "the private tansu did not listen on {address}");
        broker
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("cannot run kill");
        assert!(status.success(), "kill {signal} failed");
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn stage_leaves_in_bounded_time_with_a_wedged_broker() {
    let Some(tansu) = tansu_binary() else {
        return;
    };
    let name = unique_name("wedged");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    let broker_address = free_loopback_address();
    let broker = PrivateBroker::start(&tansu, &broker_address, &directory);

    let config = write_config(&directory, Some(&name), &name, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(KAFKA, &broker_address);
    std::fs::write(&config, text).unwrap();
    let endpoint = free_loopback_address();
    let mut score = spawn_tidewatch_with_env(
        &config,
        &["score"],
        &directory.join("score.log"),
        &[("TIDEWATCH__API__LISTEN", endpoint.as_str())],
    );
    let log = || std::fs::read_to_string(directory.join("score.log")).unwrap_or_default();
    let ready = wait_until(Duration::from_secs(60), || {
        http_request(&endpoint, "GET", "/readyz", "").is_ok_and(|(status, _)| status == 200)
    });
    assert!(
        ready,
        "score never became ready on the private broker:\n{}",
        log()
    );

    broker.signal("-STOP");
    // Let the stage notice: its next fetch, commit and probe now hang.
    std::thread::sleep(Duration::from_secs(2));
    let asked = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &score.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = wait_until(SHUTDOWN_BOUND, || score.try_wait().unwrap().is_some());
    let waited = asked.elapsed();
    if !exited {
        let _ = score.kill();
        let _ = score.wait();
    }
    drop(broker);
    assert!(
        exited,
        "score still running {waited:?} after SIGTERM with a wedged broker:\n{}",
        log()
    );
    eprintln!("score left {waited:?} after SIGTERM with a wedged broker");
    let _ = std::fs::remove_dir_all(&directory);
}
