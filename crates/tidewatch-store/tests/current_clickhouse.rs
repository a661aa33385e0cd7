//! Every migration and every query of the store, run on current ClickHouse: chdb's in-process
//! engine (PyPI `chdb-core`, ClickHouse 26.x), driven by `tests/chdb_runner.py`. The local server
//! is 18.16; this shows that nothing the store sends works only there.
//!
//! What it shows: each statement of [`migration_sql`] succeeds, twice over (idempotent); each
//! statement of [`all_query_sql`] succeeds, and on a seed written here with plain `INSERT …
//! VALUES` (a post delivered twice, one listing a watch twice, an unscored post with NULL
//! sentiment, a deleted post) the counts are the ones computed by hand below, before and after
//! `OPTIMIZE … FINAL` merges the duplicates, and after retention drops the oldest day.
//!
//! When `python3` (or `TIDEWATCH_TEST_PYTHON`) or its `chdb` module is missing, the test prints
//! a skip message and passes, unless `CI=true`: then it fails, saying how to install chdb.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use chrono::NaiveDate;
use serde_json::{json, Value};
use tidewatch_store::{
    all_query_sql, cluster_sql, latest_schema_version, migration_sql, MIGRATIONS,
};

const DATABASE: &str = "tidewatch_chdb";
/// `tests/chdb_runner.py` exits with this when the chdb module is missing.
const RUNNER_MISSING_CHDB: i32 = 3;
const INSTALL_HINT: &str = "install it with `python3 -m pip install chdb-core` \
     (deploy/local/test does so when it is missing)";

/// Statements that change data; run once each at their own point, not in every read phase.
const DESTRUCTIVE: &[&str] = &[
    "drop post partition",
    "drop watch post partition",
    "drop database",
];

struct Step {
    name: String,
    in_database: bool,
    sql: String,
}

impl Step {
    fn new(name: impl Into<String>, in_database: bool, sql: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            in_database,
            sql: sql.into(),
        }
    }
}

/// A SQL string literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// One `posts` row as `INSERT … VALUES`; `sentiment` is `(neg, neu, pos, compound)`, None for an
/// unscored post (NULL in all four, label `unscored`).
fn insert_post(
    source_id_and_source: (&str, &str),
    created_at: &str,
    watches: &[&str],
    sentiment: Option<(f64, f64, f64, f64, &str)>,
    version: u64,
) -> String {
    let (source, source_id) = source_id_and_source;
    let (neg, neu, pos, compound, label) = match sentiment {
        Some((neg, neu, pos, compound, label)) => (
            neg.to_string(),
            neu.to_string(),
            pos.to_string(),
            compound.to_string(),
            label,
        ),
        None => (
            "NULL".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            "NULL".to_string(),
            "unscored",
        ),
    };
    let watches: Vec<String> = watches.iter().map(|watch| quoted(watch)).collect();
    format!(
        "INSERT INTO posts (source, source_id, kind, created_at, author_id, author_handle, \
         author_followers, text, lang, url, parent_id, likes, reposts, replies, rating, neg, neu, \
         pos, compound, label, lang_detected, watches, ingested_at, version) VALUES ({source}, \
         {source_id}, 'post', {created_at}, 'author-1', 'someone', NULL, 'it''s a test \\\\ post', \
         'en', '', '', 1, 2, 3, NULL, {neg}, {neu}, {pos}, {compound}, {label}, 'en', [{watches}], \
         {created_at}, {version})",
        source = quoted(source),
        source_id = quoted(source_id),
        created_at = quoted(created_at),
        label = quoted(label),
        watches = watches.join(", "),
    )
}

/// The seed: what each insert is for is said beside it; the expected counts follow from it.
fn seed_steps() -> Vec<Step> {
    let negative = Some((0.7, 0.3, 0.0, -0.6, "negative"));
    let positive = Some((0.0, 0.2, 0.8, 0.7, "positive"));
    let mut steps = Vec::new();
    for migration in MIGRATIONS {
        steps.push(Step::new(
            format!("record migration {}", migration.version),
            true,
            format!(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({}, {}, now())",
                migration.version,
                quoted(migration.name)
            ),
        ));
    }
    let rows = [
        // Day 1: one post in two watches…
        insert_post(
            ("mastodon", "m1"),
            "2015-02-23 10:00:00",
            &["acme", "globex"],
            negative,
            1,
        ),
        // …delivered again, now listing `acme` twice: still one post, once per watch.
        insert_post(
            ("mastodon", "m1"),
            "2015-02-23 10:00:00",
            &["acme", "globex", "acme"],
            negative,
            2,
        ),
        // Day 2: an unscored post (NULL sentiment).
        insert_post(("bluesky", "b1"), "2015-02-24 09:00:00", &["acme"], None, 3),
        // Day 2: a post that is deleted below.
        insert_post(
            ("hn", "h1"),
            "2015-02-24 11:00:00",
            &["globex"],
            positive,
            4,
        ),
        "INSERT INTO post_deletes (source, source_id, deleted_at, ingested_at, version) VALUES \
         ('hn', 'h1', '2015-02-24 12:00:00', '2015-02-24 12:00:00', 5)"
            .to_string(),
        // A tombstone for a post that never arrived: harmless.
        "INSERT INTO post_deletes (source, source_id, deleted_at, ingested_at, version) VALUES \
         ('hn', 'never', '2015-02-24 12:00:00', '2015-02-24 12:00:00', 6)"
            .to_string(),
    ];
    for (index, sql) in rows.into_iter().enumerate() {
        steps.push(Step::new(format!("seed {}", index + 1), true, sql));
    }
    steps
}

/// Finds python3 and chdb, runs the steps; None when the test is to be skipped.
fn run_on_chdb(steps: &[Step]) -> Option<Value> {
    let skip = |why: String| {
        tidewatch_test_support::skip_or_fail(
            "current_clickhouse",
            &format!("{why}; {INSTALL_HINT}"),
        );
    };
    let python = std::env::var("TIDEWATCH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let runner = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/chdb_runner.py");
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let steps_file = std::env::temp_dir().join(format!(
        "tidewatch-chdb-{}-{unique}.json",
        std::process::id()
    ));
    let steps_json = json!({
        "steps": steps
            .iter()
            .map(|step| json!({
                "name": step.name,
                "database": step.in_database.then_some(DATABASE),
                "sql": step.sql,
            }))
            .collect::<Vec<_>>(),
    });
    std::fs::write(&steps_file, steps_json.to_string()).unwrap();
    let outcome = Command::new(&python).arg(&runner).arg(&steps_file).output();
    let _ = std::fs::remove_file(&steps_file);
    let output = match outcome {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            skip(format!("{python} is not installed"));
            return None;
        }
        Err(error) => panic!("could not run {python} {}: {error}", runner.display()),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(RUNNER_MISSING_CHDB) {
        skip(format!("{python} has no chdb module ({})", stderr.trim()));
        return None;
    }
    assert!(
        output.status.success(),
        "chdb_runner.py failed ({}): {stderr}",
        output.status
    );
    Some(serde_json::from_slice(&output.stdout).expect("chdb_runner.py printed JSON"))
}

/// A result cell as text: ClickHouse's JSON output may quote 64-bit integers or not.
fn cell_text(cell: &Value) -> String {
    match cell {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn rows(text_rows: &[&[&str]]) -> Vec<Vec<String>> {
    text_rows
        .iter()
        .map(|row| row.iter().map(|cell| cell.to_string()).collect())
        .collect()
}

#[test]
fn every_migration_and_query_runs_on_current_clickhouse() {
    let retention_day = NaiveDate::from_ymd_opt(2015, 2, 23).unwrap();
    let queries = all_query_sql(DATABASE, retention_day);
    let reads: Vec<_> = queries
        .iter()
        .filter(|query| !DESTRUCTIVE.contains(&query.name.as_str()))
        .collect();
    let destructive = |name: &str| {
        let query = queries.iter().find(|query| query.name == name).unwrap();
        Step::new(name, query.in_database, query.sql.clone())
    };
    let read_phase = |phase: &str| -> Vec<Step> {
        let mut steps: Vec<Step> = reads
            .iter()
            .map(|query| {
                Step::new(
                    format!("{phase}: {}", query.name),
                    query.in_database,
                    query.sql.clone(),
                )
            })
            .collect();
        steps.push(Step::new(
            format!("{phase}: unscored posts"),
            true,
            "SELECT DISTINCT source_id FROM posts WHERE neg IS NULL AND neu IS NULL \
             AND pos IS NULL AND compound IS NULL ORDER BY source_id",
        ));
        steps
    };

    let mut steps = Vec::new();
    for round in ["migrate", "migrate again"] {
        for statement in migration_sql(DATABASE) {
            steps.push(Step::new(
                format!("{round}: {}", statement.name),
                statement.in_database,
                statement.sql,
            ));
        }
    }
    steps.extend(seed_steps());
    steps.extend(read_phase("before merge"));
    steps.push(Step::new("merge", true, "OPTIMIZE TABLE posts FINAL"));
    steps.extend(read_phase("after merge"));
    steps.push(destructive("drop post partition"));
    steps.push(destructive("drop watch post partition"));
    steps.extend(read_phase("after retention"));
    steps.push(destructive("drop database"));

    let Some(report) = run_on_chdb(&steps) else {
        return;
    };
    let engine_version = report["engine_version"].as_str().unwrap_or("?");
    eprintln!("chdb engine: ClickHouse {engine_version}");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), steps.len(), "one result per step");
    let mut by_name = BTreeMap::new();
    let mut failures = Vec::new();
    for (step, result) in steps.iter().zip(results) {
        assert_eq!(result["name"].as_str(), Some(step.name.as_str()));
        if result["ok"] != Value::Bool(true) {
            failures.push(format!(
                "{}: {}\n  SQL: {}",
                step.name,
                cell_text(&result["error"]),
                step.sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
        let result_rows: Vec<Vec<String>> = result["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| row.as_array().unwrap().iter().map(cell_text).collect())
                    .collect()
            })
            .unwrap_or_default();
        by_name.insert(step.name.as_str(), result_rows);
    }
    assert!(
        failures.is_empty(),
        "statements that fail on ClickHouse {engine_version}:\n{}",
        failures.join("\n")
    );
    // Every query of the store ran.
    for query in &queries {
        assert!(
            by_name.contains_key(query.name.as_str())
                || by_name.contains_key(format!("before merge: {}", query.name).as_str()),
            "{} did not run",
            query.name
        );
    }

    let versions: Vec<Vec<String>> = (1..=latest_schema_version())
        .map(|version| vec![version.to_string()])
        .collect();
    for phase in ["before merge", "after merge", "after retention"] {
        let result = |name: &str| &by_name[format!("{phase}: {name}").as_str()];
        assert_eq!(result("ping"), &rows(&[&["1"]]), "{phase}");
        assert_eq!(result("server version").len(), 1, "{phase}");
        assert_eq!(result("read schema_migrations"), &versions, "{phase}");
        if phase == "after retention" {
            // Day 1 (m1) is dropped; b1 is left, h1 is still deleted.
            assert_eq!(result("count posts"), &rows(&[&["1"]]), "{phase}");
            assert_eq!(
                result("count posts by watch"),
                &rows(&[&["acme", "1"]]),
                "{phase}"
            );
            assert_eq!(
                result("count posts by label"),
                &rows(&[&["unscored", "1"]]),
                "{phase}"
            );
            assert_eq!(
                result("list post partitions"),
                &rows(&[&["20150224"]]),
                "{phase}"
            );
        } else {
            // m1 (twice delivered) and b1; h1 is deleted.
            assert_eq!(result("count posts"), &rows(&[&["2"]]), "{phase}");
            assert_eq!(
                result("count posts by watch"),
                &rows(&[&["acme", "2"], &["globex", "1"]]),
                "{phase}"
            );
            assert_eq!(
                result("count posts by label"),
                &rows(&[&["negative", "1"], &["unscored", "1"]]),
                "{phase}"
            );
            assert_eq!(
                result("list post partitions"),
                &rows(&[&["20150223"], &["20150224"]]),
                "{phase}"
            );
        }
        assert_eq!(result("unscored posts"), &rows(&[&["b1"]]), "{phase}");
    }
}

/// Cluster mode's statements (`ON CLUSTER` DDL, replicated and distributed engines, per-shard
/// `ALTER`s) cannot run in chdb, which has no cluster: each must at least parse on current
/// ClickHouse, which `formatQuery` checks, and keep its `ON CLUSTER` once formatted.
#[test]
fn every_cluster_statement_parses_on_current_clickhouse() {
    let day = NaiveDate::from_ymd_opt(2015, 2, 20).unwrap();
    let statements = cluster_sql(DATABASE, "tidewatch_cluster", day);
    let steps: Vec<Step> = statements
        .iter()
        .map(|statement| {
            Step::new(
                statement.name.clone(),
                false,
                format!("SELECT formatQuery({})", quoted(&statement.sql)),
            )
        })
        .collect();
    let Some(report) = run_on_chdb(&steps) else {
        return;
    };
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), steps.len(), "one result per step");
    let mut failures = Vec::new();
    for (statement, result) in statements.iter().zip(results) {
        let formatted = result["rows"][0][0].as_str().unwrap_or_default();
        let expects_on_cluster = !statement.sql.trim_start().starts_with("INSERT")
            && !statement.sql.trim_start().starts_with("SELECT");
        if result["ok"] != Value::Bool(true) {
            failures.push(format!(
                "{}: {}",
                statement.name,
                cell_text(&result["error"])
            ));
        } else if expects_on_cluster && !formatted.contains("ON CLUSTER tidewatch_cluster") {
            failures.push(format!("{}: lost ON CLUSTER: {formatted}", statement.name));
        }
    }
    assert!(
        statements.len() >= 30,
        "only {} statements",
        statements.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
