//! Throwaway TLS infrastructure for the transport tests (`tests/transport_tls.rs`): a CA and a
//! server certificate made with `openssl`, a ClickHouse server with an HTTPS port, a tansu
//! broker (optionally with SASL authentication) and a `stunnel4` TLS front for it, each on its
//! own loopback ports with its state in a directory of the test, each stopped when dropped.
//!
//! The programs are Debian's `openssl`, `clickhouse-server` and `stunnel4` (installed by
//! `deploy/local/test`) and `~/.cargo/bin/tansu` (installed by `deploy/local/services`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tidewatch_e2e::{http_request, wait_until};

/// The programs a transport test needs, or why it cannot run: a test calls
/// [`require_programs`] first, which fails under CI and skips (returns false) elsewhere.
pub(crate) fn require_programs(test_name: &str, programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|program| program_path(program).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test_name}: missing {missing:?} (deploy/local/test installs stunnel4 and openssl, \
         deploy/local/services installs clickhouse-server and tansu)"
    );
    let ci = std::env::var("CI").unwrap_or_default();
    assert!(ci.is_empty() || ci == "false" || ci == "0", "{message}");
    eprintln!("SKIPPED {message}");
    false
}

/// Where `program` is: on PATH, in /usr/sbin or /usr/bin, or (tansu) in cargo's bin directory.
pub(crate) fn program_path(program: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .collect()
        })
        .unwrap_or_default();
    candidates.push(Path::new("/usr/sbin").join(program));
    candidates.push(Path::new("/usr/bin").join(program));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    if let Some(cargo_home) = cargo_home {
        candidates.push(cargo_home.join("bin").join(program));
    }
    candidates.into_iter().find(|candidate| candidate.is_file())
}

fn run(program: &str, args: &[&str], directory: &Path) {
    let output = Command::new(program_path(program).unwrap_or_else(|| program.into()))
        .args(args)
        .current_dir(directory)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA and a certificate it signed for 127.0.0.1 / localhost, as PEM files in `directory`.
pub(crate) struct ThrowawayCa {
    pub(crate) ca_file: PathBuf,
    pub(crate) cert_file: PathBuf,
    pub(crate) key_file: PathBuf,
}

impl ThrowawayCa {
    pub(crate) fn create(directory: &Path, name: &str) -> ThrowawayCa {
        std::fs::create_dir_all(directory).unwrap();
        let file = |suffix: &str| format!("{name}-{suffix}");
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=tidewatch test CA {name}"),
                "-keyout",
                &file("ca.key"),
                "-out",
                &file("ca.pem"),
            ],
            directory,
        );
        run(
            "openssl",
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                &file("server.key"),
                "-out",
                &file("server.csr"),
            ],
            directory,
        );
        std::fs::write(
            directory.join(file("san.ext")),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .unwrap();
        run(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                &file("server.csr"),
                "-CA",
                &file("ca.pem"),
                "-CAkey",
                &file("ca.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &file("san.ext"),
                "-out",
                &file("server.pem"),
            ],
            directory,
        );
        ThrowawayCa {
            ca_file: directory.join(file("ca.pem")),
            cert_file: directory.join(file("server.pem")),
            key_file: directory.join(file("server.key")),
        }
    }
}

/// A child process killed (and reaped) when dropped.
pub(crate) struct Service {
    name: String,
    child: Child,
    pub(crate) log: PathBuf,
}

impl Service {
    fn spawn(name: &str, command: &mut Command, log: PathBuf) -> Service {
        let log_file = std::fs::File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        Service {
            name: name.to_string(),
            child,
            log,
        }
    }

    fn wait_for_port(&mut self, port: u16) {
        let up = wait_until(Duration::from_secs(60), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(up, "{} did not listen on {port}:\n{log}", self.name);
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s (tansu's SQLite state must not
    /// be cut mid-write when the same database is opened again).
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let exited = wait_until(Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten().is_some()
        });
        if !exited {
            self.kill();
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Debian's clickhouse-server with plain HTTP on `http_port`, HTTPS on `https_port` (the CA's
/// server certificate) and native on `tcp_port`; the `default` user has `password`.
pub(crate) fn start_clickhouse(
    directory: &Path,
    ca: &ThrowawayCa,
    [http_port, https_port, tcp_port]: [u16; 3],
    password: &str,
) -> Service {
    let state = directory.join("clickhouse");
    for sub in ["data", "tmp", "user_files", "format_schemas", "log"] {
        std::fs::create_dir_all(state.join(sub)).unwrap();
    }
    let state_text = state.display();
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{state_text}/log/server.log</log><errorlog>{state_text}/log/error.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http_port}</http_port>
    <https_port>{https_port}</https_port>
    <tcp_port>{tcp_port}</tcp_port>
    <openSSL>
        <server>
            <certificateFile>{cert}</certificateFile>
            <privateKeyFile>{key}</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
    <max_concurrent_queries>50</max_concurrent_queries>
    <mark_cache_size>104857600</mark_cache_size>
    <path>{state_text}/data/</path>
    <tmp_path>{state_text}/tmp/</tmp_path>
    <user_files_path>{state_text}/user_files/</user_files_path>
    <format_schema_path>{state_text}/format_schemas/</format_schema_path>
    <users_config>{state_text}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
"#,
        cert = ca.cert_file.display(),
        key = ca.key_file.display(),
    );
    std::fs::write(state.join("config.xml"), config).unwrap();
    let users = format!(
        r#"<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password>{password}</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#
    );
    std::fs::write(state.join("users.xml"), users).unwrap();
    let binary = program_path("clickhouse-server").expect("clickhouse-server");
    let mut command = Command::new(binary);
    command
        .arg(format!(
            "--config-file={}",
            state.join("config.xml").display()
        ))
        .current_dir(&state)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", &state);
    let mut service = Service::spawn("clickhouse-server", &mut command, state.join("stdout.log"));
    service.wait_for_port(http_port);
    let answered = wait_until(Duration::from_secs(30), || {
        http_request(&format!("127.0.0.1:{http_port}"), "GET", "/ping", "")
            .is_ok_and(|(status, body)| status == 200 && body.starts_with("Ok"))
    });
    assert!(
        answered,
        "clickhouse-server on {http_port} did not answer /ping"
    );
    service.wait_for_port(https_port);
    service
}

/// tansu listening on `port`, advertising `advertised_port` (the TLS front when there is one),
/// with SQLite storage in `directory`; `authentication` turns on SASL (SCRAM).
pub(crate) fn start_tansu(
    directory: &Path,
    port: u16,
    advertised_port: u16,
    authentication: bool,
) -> Service {
    std::fs::create_dir_all(directory).unwrap();
    let database = directory.join("tansu.db");
    let mut command = Command::new(program_path("tansu").expect("tansu"));
    command
        .args([
            "broker",
            "--listener-url",
            &format!("tcp://127.0.0.1:{port}"),
            "--advertised-listener-url",
            &format!("tcp://127.0.0.1:{advertised_port}"),
            // tansu resolves a sqlite:// URL against its working directory: run it from /.
            "--storage-engine",
            &format!("sqlite://{}", database.display()),
            "--cluster-id",
            "tidewatch-tls-test",
        ])
        .current_dir("/")
        .env("RUST_LOG", "warn");
    if authentication {
        command.arg("--authentication");
    }
    let log = directory.join(if authentication {
        "tansu-auth.log"
    } else {
        "tansu.log"
    });
    let mut service = Service::spawn("tansu", &mut command, log);
    service.wait_for_port(port);
    service
}

/// Creates a SCRAM-SHA-512 user on a running tansu without authentication.
pub(crate) fn create_tansu_user(port: u16, name: &str, password: &str) {
    run(
        "tansu",
        &[
            "user",
            "create",
            "--broker",
            &format!("tcp://127.0.0.1:{port}"),
            name,
            password,
            "--mechanism",
            "scram512",
        ],
        Path::new("/"),
    );
}

/// stunnel4 terminating TLS on `accept_port` (the CA's server certificate) in front of
/// `connect_port`.
pub(crate) fn start_stunnel(
    directory: &Path,
    ca: &ThrowawayCa,
    accept_port: u16,
    connect_port: u16,
) -> Service {
    std::fs::create_dir_all(directory).unwrap();
    let config_path = directory.join("stunnel.conf");
    std::fs::write(
        &config_path,
        format!(
            "foreground = yes\npid =\ndebug = warning\n\n[kafka]\naccept = 127.0.0.1:{accept_port}\nconnect = 127.0.0.1:{connect_port}\ncert = {}\nkey = {}\n",
            ca.cert_file.display(),
            ca.key_file.display()
        ),
    )
    .unwrap();
    let stunnel = program_path("stunnel4")
        .or_else(|| program_path("stunnel"))
        .expect("stunnel4");
    let mut command = Command::new(stunnel);
    command.arg(&config_path);
    let mut service = Service::spawn("stunnel4", &mut command, directory.join("stunnel.log"));
    service.wait_for_port(accept_port);
    service
}
