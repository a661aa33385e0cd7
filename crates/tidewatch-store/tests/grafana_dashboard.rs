//! The provisioned Grafana dashboard's SQL (deploy/grafana) runs on current ClickHouse (chdb)
//! against the schema of every migration: Grafana talks to the production server, which is
//! current ClickHouse, so that is where its queries must work. Macros are expanded the way the
//! grafana-clickhouse-datasource plugin expands them.
//!
//! Skips with a message when python3 or chdb is missing, unless `CI=true`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};
use tidewatch_store::migration_sql;

const DATABASE: &str = "tidewatch_grafana";

fn expand_macros(sql: &str) -> String {
    let mut expanded = sql
        .replace("${watch:singlequote}", "'acme', 'globex'")
        .replace("$__fromTime", "toDateTime(1424649600)")
        .replace("$__toTime", "toDateTime(1425254400)");
    for (name, template) in [
        (
            "$__timeInterval(",
            "toStartOfInterval({}, INTERVAL 300 second)",
        ),
        (
            "$__timeFilter(",
            "{0} >= toDateTime(1424649600) AND {0} <= toDateTime(1425254400)",
        ),
    ] {
        while let Some(start) = expanded.find(name) {
            let after = start + name.len();
            let end = after + expanded[after..].find(')').expect("closing parenthesis");
            let column = expanded[after..end].to_string();
            let replacement = template.replace("{0}", &column).replace("{}", &column);
            expanded.replace_range(start..=end, &replacement);
        }
    }
    expanded
}

#[test]
fn every_dashboard_query_runs_on_current_clickhouse() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dashboard_path =
        root.join("deploy/grafana/provisioning/dashboards/tidewatch-overview.json");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(&dashboard_path).unwrap()).unwrap();
    let mut steps: Vec<Value> = migration_sql(DATABASE)
        .into_iter()
        .map(|statement| json!({"name": statement.name, "database": statement.in_database.then_some(DATABASE), "sql": statement.sql}))
        .collect();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            queries.push((
                panel["title"].as_str().unwrap().to_string(),
                target["rawSql"].as_str().unwrap().to_string(),
            ));
        }
    }
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        queries.push((
            format!("variable {}", variable["name"]),
            variable["query"].as_str().unwrap().to_string(),
        ));
    }
    assert!(queries.len() >= 7, "panels: {}", queries.len());
    for (title, sql) in &queries {
        steps.push(json!({"name": title, "database": DATABASE, "sql": expand_macros(sql)}));
    }
    let steps_file =
        std::env::temp_dir().join(format!("tidewatch-grafana-{}.json", std::process::id()));
    std::fs::write(&steps_file, json!({ "steps": steps }).to_string()).unwrap();
    let python = std::env::var("TIDEWATCH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let runner = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/chdb_runner.py");
    let output = Command::new(&python).arg(&runner).arg(&steps_file).output();
    let _ = std::fs::remove_file(&steps_file);
    let output = match output {
        Ok(output) if output.status.code() != Some(3) => output,
        other => {
            tidewatch_test_support::skip_or_fail(
                "grafana_dashboard",
                &format!("python3 or its chdb module is missing: {other:?}"),
            );
            return;
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let failures: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|result| result["ok"] != Value::Bool(true))
        .map(|result| format!("{}: {}", result["name"], result["error"]))
        .collect();
    assert!(
        failures.is_empty(),
        "dashboard queries fail:\n{}",
        failures.join("\n")
    );
}

#[test]
fn macros_expand_like_the_plugin() {
    assert_eq!(
        expand_macros("SELECT $__timeInterval(at) FROM t WHERE $__timeFilter(at) AND w IN (${watch:singlequote})"),
        "SELECT toStartOfInterval(at, INTERVAL 300 second) FROM t WHERE at >= toDateTime(1424649600) \
         AND at <= toDateTime(1425254400) AND w IN ('acme', 'globex')"
    );
}
