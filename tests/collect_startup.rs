//! `tidewatch run` with collectors that cannot start: a missing secret stops the process with an
//! error naming the variable (it used to log one line and run with no collector, `/healthz`
//! 200); two different old checkpoints of one source stop it naming both files; a single old
//! checkpoint (left under `<state_dir>/embedded/collectors/` before `[kafka]` was added) is
//! carried into `<state_dir>/collectors/`, where checkpoints now live whatever the bus.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tidewatch_e2e::*;

/// Starts `tidewatch run` with `sources` (TOML) and `state_dir`, its stderr in `log`.
fn start_run(directory: &Path, database: &str, sources: &str, log: &Path) -> Child {
    let watches = "[[watch]]\nname = \"acme-air\"\nany = [\"acme air\"]\n";
    let config = write_config(directory, None, database, watches);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "[pipeline]\n",
        &format!(
            "[pipeline]\nstate_dir = \"{}\"\n",
            directory.join("state").display()
        ),
    );
    std::fs::write(&config, format!("{text}\n{sources}")).unwrap();
    let log = std::fs::File::create(log).unwrap();
    Command::new(tidewatch_binary())
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "info")
        .env_remove("TIDEWATCH_TEST_UNSET_REDDIT_ID")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("cannot start tidewatch")
}

/// Waits for the process to exit on its own (killing it after 60 s); returns its success.
fn exits_on_its_own(child: &mut Child) -> Option<bool> {
    let exited = wait_until(Duration::from_secs(60), || {
        child.try_wait().unwrap().is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    Some(child.wait().unwrap().success())
}

const HN: &str = "[[source]]\nkind = \"hackernews\"\nname = \"hn-acme\"\nquery = \"acme\"\nbase_url = \"http://127.0.0.1:9/api/v1\"\n";

#[test]
fn collectors_that_cannot_start_stop_the_process_and_old_checkpoints_are_carried() {
    if !services_available("collectors_that_cannot_start") {
        return;
    }
    let database = unique_name("tw_collect_start");
    let directory = std::env::temp_dir().join(&database);
    std::fs::create_dir_all(&directory).unwrap();

    // A missing secret: the start fails, naming the variable and the source.
    let reddit = "[[source]]\nkind = \"reddit\"\nname = \"reddit-acme\"\nsubreddit = \"acme\"\n\
                  user_agent = \"linux:com.example.tidewatch:v0.1.0 (by /u/acme)\"\n\
                  client_id_env = \"TIDEWATCH_TEST_UNSET_REDDIT_ID\"\n";
    let log = directory.join("missing.log");
    let mut run = start_run(&directory, &database, &format!("{HN}\n{reddit}"), &log);
    let outcome = exits_on_its_own(&mut run);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(outcome, Some(false), "it must stop with an error:\n{text}");
    assert!(
        text.contains("TIDEWATCH_TEST_UNSET_REDDIT_ID") && text.contains("reddit-acme"),
        "{text}"
    );

    // Two different old checkpoints of one source: refused, both files named.
    let state = directory.join("state");
    for (folder, watermark) in [("embedded", 100), ("tw_old_prefix", 200)] {
        let old = state.join(folder).join("collectors");
        std::fs::create_dir_all(&old).unwrap();
        let checkpoint = format!("{{\"v\":1,\"created_at_i\":{watermark}}}");
        std::fs::write(old.join("hn-acme.json"), checkpoint).unwrap();
    }
    let log = directory.join("ambiguous.log");
    let mut run = start_run(&directory, &database, HN, &log);
    let outcome = exits_on_its_own(&mut run);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(outcome, Some(false), "it must refuse:\n{text}");
    assert!(
        text.contains("embedded/collectors/hn-acme.json")
            && text.contains("tw_old_prefix/collectors/hn-acme.json"),
        "{text}"
    );

    // One old checkpoint: carried into <state_dir>/collectors/, and the run starts.
    std::fs::remove_dir_all(state.join("tw_old_prefix")).unwrap();
    let log = directory.join("carried.log");
    let mut run = start_run(&directory, &database, HN, &log);
    let carried = state.join("collectors").join("hn-acme.json");
    let moved = wait_until(Duration::from_secs(60), || carried.exists());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(moved, "the checkpoint was not carried:\n{text}");
    let checkpoint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&carried).unwrap()).unwrap();
    assert_eq!(checkpoint["created_at_i"], 100);
    assert!(state
        .join("embedded/collectors/hn-acme.json.moved")
        .exists());
    stop_gracefully(&mut run, "tidewatch run");
    drop_database(&database);
    let _ = std::fs::remove_dir_all(&directory);
}
