//! The API against its own OpenAPI document, tried by schemathesis (PyPI; `deploy/local/test`
//! installs it): generated requests to every operation, once per role (viewer, responder,
//! admin) and once without a token, against a real `tidewatch serve` on the local services.
//! Any 5xx, or any answer that its operation's documented schema does not allow, fails the
//! test. A fixed seed and example count keep the run reproducible and about a minute long.
//! Without schemathesis (or the services): skip outside CI, fail under CI.

use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tidewatch_e2e::*;

const TEST: &str = "api_answers_every_generated_request_as_documented";

/// Runs the `schemathesis` CLI through python3, so that it need not be on PATH.
fn schemathesis() -> Command {
    let mut command = Command::new("python3");
    command.args([
        "-c",
        "import sys; from schemathesis.cli import schemathesis as main; \
         sys.argv[0] = 'schemathesis'; sys.exit(main())",
    ]);
    command
}

fn schemathesis_available() -> bool {
    let installed = schemathesis()
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    require(TEST, installed, || {
        "schemathesis is not installed for python3 (python3 -m pip install 'schemathesis>=4.3,<5'; \
         deploy/local/test does)"
            .to_string()
    })
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

// Opt-in (`deploy/local/test --contract`): with every role it ran past the suite's 10-minute
// limit on the 2-core machine, so it is not part of the default run until it is made faster.
#[test]
#[ignore = "opt-in: deploy/local/test --contract (schemathesis, about 10 minutes)"]
fn api_answers_every_generated_request_as_documented() {
    if !services_available(TEST) || !schemathesis_available() {
        return;
    }
    let name = unique_name("contract");
    let directory = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&directory).unwrap();
    let roles = ["viewer", "responder", "admin"];
    let watch = "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\"]\n";
    let tokens: String = roles
        .iter()
        .map(|role| {
            format!(
                "[[api.tokens]]\nname = \"{role}-user\"\nsha256 = \"{}\"\nrole = \"{role}\"\n",
                sha256_hex(&format!("{name}-{role}"))
            )
        })
        .collect();
    let config = write_config(&directory, Some(&name), &name, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[api]\n", "")
        .replace("listen = \"127.0.0.1:0\"\n", "");
    let endpoint = free_loopback_address();
    std::fs::write(
        &config,
        format!("{text}\n[api]\nlisten = \"{endpoint}\"\n{tokens}\n{watch}"),
    )
    .unwrap();
    // Stored posts (through the in-process pipeline), so that lists and trends have rows.
    let posts = directory.join("posts.jsonl");
    generate_posts(&posts, 300, 5);
    let embedded_directory = directory.join("embedded");
    std::fs::create_dir_all(&embedded_directory).unwrap();
    let embedded = write_config(&embedded_directory, None, &name, watch);
    run_tidewatch(&embedded, &["run", "--posts", posts.to_str().unwrap()]);
    let mut serve = spawn_tidewatch(&config, &["serve"], &directory.join("serve.log"));
    let log = || std::fs::read_to_string(directory.join("serve.log")).unwrap_or_default();
    let ready = wait_until(Duration::from_secs(60), || {
        http_request(&endpoint, "GET", "/readyz", "").is_ok_and(|(status, _)| status == 200)
    });
    assert!(ready, "serve never became ready:\n{}", log());

    let schema = format!("http://{endpoint}/openapi.json");
    let mut failures = Vec::new();
    let tokens_by_role = roles
        .iter()
        .map(|role| (*role, Some(format!("{name}-{role}"))));
    for (role, token) in tokens_by_role.chain([("anonymous", None)]) {
        let mut run = schemathesis();
        run.args(["run", &schema])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            .args(["--max-examples", "12", "--seed", "19", "--workers", "2"])
            .args(["--generation-database", "none", "--no-color"])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--request-timeout", "20"])
            .current_dir(&directory);
        if let Some(token) = &token {
            run.args(["--header", &format!("Authorization: Bearer {token}")]);
        }
        let output = run.output().expect("cannot run schemathesis");
        let stdout = String::from_utf8_lossy(&output.stdout);
        eprintln!(
            "schemathesis as {role}: {}",
            stdout.lines().last().unwrap_or("")
        );
        if !output.status.success() {
            failures.push(format!(
                "as {role}:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    let _ = serve.kill();
    let _ = serve.wait();
    drop_database(&name);
    assert!(
        failures.is_empty(),
        "the API broke its OpenAPI contract:\n{}\nserve log:\n{}",
        failures.join("\n"),
        log()
    );
    let _ = std::fs::remove_dir_all(&directory);
}
