//! The production `docker-compose.yml` at the repository root is valid and defines the whole
//! deployment. No Docker engine is needed: `docker-compose config` parses, validates and renders
//! the file offline (Debian's `docker-compose` package; `deploy/local/test` installs it).
//!
//! Without `docker-compose` the test is skipped with a message, except under `CI=true`, where a
//! missing `docker-compose` is a failure.

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

/// Services that must be in the rendered file.
const REQUIRED_SERVICES: &[&str] = &[
    "kafka",
    "clickhouse",
    "grafana",
    "migrate",
    "collect",
    "score",
    "detect",
    "notify",
    "store",
    "serve",
];

/// The pipeline stages, each a `tidewatch <stage> --config …` container.
const STAGES: &[&str] = &[
    "migrate", "collect", "score", "detect", "notify", "store", "serve",
];

/// Runs `docker-compose -f <repo>/docker-compose.yml config` and returns what it printed, or
/// `None` when `docker-compose` is not installed and the test may be skipped.
fn render_compose_file() -> Option<String> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-compose.yml");
    assert!(file.is_file(), "{} is missing", file.display());
    let output = match Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .arg("config")
        .output()
    {
        Ok(output) => output,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            tidewatch_e2e::skip_or_fail(
                "compose",
                &format!(
                    "docker-compose is not installed, so {} was not validated \
                     (apt-get install docker-compose, or run deploy/local/test)",
                    file.display()
                ),
            );
            return None;
        }
        Err(err) => panic!("could not run docker-compose: {err}"),
    };
    assert!(
        output.status.success(),
        "`docker-compose -f {} config` failed ({}):\n{}",
        file.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("docker-compose printed invalid UTF-8"))
}

/// The services of a rendered compose file, each with the text of its block, in file order.
/// Rendered output is plain block-style YAML: `services:` at column 0, each service name one
/// indentation level below it, its settings deeper.
fn services(rendered: &str) -> Vec<(String, String)> {
    let mut services: Vec<(String, String)> = Vec::new();
    let mut in_services = false;
    let mut indent = None;
    for line in rendered.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let depth = line.len() - line.trim_start().len();
        if depth == 0 {
            in_services = line.trim_end() == "services:";
            continue;
        }
        if !in_services {
            continue;
        }
        let level = *indent.get_or_insert(depth);
        if depth == level {
            let name = line.trim().trim_end_matches(':').trim_matches(['"', '\'']);
            services.push((name.to_owned(), String::new()));
        } else if let Some((_, block)) = services.last_mut() {
            block.push_str(line.trim());
            block.push('\n');
        }
    }
    services
}

#[test]
fn compose_file_is_valid_and_names_every_service() {
    let Some(rendered) = render_compose_file() else {
        return;
    };
    let found: Vec<String> = services(&rendered)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for service in REQUIRED_SERVICES {
        assert!(
            found.iter().any(|name| name == service),
            "service `{service}` is missing from docker-compose.yml (services found: {found:?})"
        );
    }
}

#[test]
fn compose_stages_run_tidewatch_with_the_mounted_config_and_service_addresses() {
    let Some(rendered) = render_compose_file() else {
        return;
    };
    let services = services(&rendered);
    for stage in STAGES {
        let block = services
            .iter()
            .find(|(name, _)| name == stage)
            .map(|(_, block)| block.as_str())
            .unwrap_or_else(|| panic!("service `{stage}` is missing from docker-compose.yml"));
        for needle in [
            "dockerfile: deploy/docker/Dockerfile",
            &format!("- {stage}\n"),
            "- --config\n",
            "- /etc/tidewatch/tidewatch.toml\n",
            "TIDEWATCH__KAFKA__BROKERS: kafka:9092",
            "TIDEWATCH__CLICKHOUSE__URL: http://clickhouse:8123",
        ] {
            assert!(
                block.contains(needle),
                "service `{stage}` lacks `{}` in the rendered compose file:\n{block}",
                needle.trim_end()
            );
        }
        // Once in the command, once as the mount target of the config file.
        assert!(
            block.matches("/etc/tidewatch/tidewatch.toml").count() >= 2,
            "service `{stage}` does not mount /etc/tidewatch/tidewatch.toml:\n{block}"
        );
    }
}

#[test]
fn service_blocks_are_split_by_indentation() {
    let rendered = "services:\n  a:\n    image: x\n    command:\n    - run\n  'b':\n    image: y\nvolumes:\n  v: {}\n";
    let found = services(rendered);
    assert_eq!(
        found,
        vec![
            ("a".to_owned(), "image: x\ncommand:\n- run\n".to_owned()),
            ("b".to_owned(), "image: y\n".to_owned()),
        ]
    );
}

#[test]
fn compose_health_checks_ask_each_stage_for_readiness() {
    let Some(rendered) = render_compose_file() else {
        return;
    };
    let services = services(&rendered);
    for stage in STAGES.iter().filter(|stage| **stage != "migrate") {
        let block = services
            .iter()
            .find(|(name, _)| name == stage)
            .map(|(_, block)| block.as_str())
            .unwrap_or_else(|| panic!("service `{stage}` is missing from docker-compose.yml"));
        assert!(
            block.contains("http://127.0.0.1:9898/readyz"),
            "service `{stage}`'s health check does not ask /readyz:\n{block}"
        );
    }
}
