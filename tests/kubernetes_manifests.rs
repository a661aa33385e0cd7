//! `deploy/kubernetes/` validated offline: every manifest against the Kubernetes schemas shipped
//! by `kubernetes-validate` (PyPI; installed by `deploy/local/test`) in strict mode, every file a
//! kustomization names exists, the replicas of the partitioned stages match the partition count
//! of the config they mount, and the config in each ConfigMap loads with `tidewatch` (its `backtest` loads and
//! validates the whole config without connecting anywhere).

use std::path::{Path, PathBuf};
use std::process::Command;

use tidewatch_e2e::tidewatch_binary;

fn kubernetes_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes")
}

fn yaml_files(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(yaml_files(&path));
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The kustomization files are kustomize's, not Kubernetes resources: checked separately.
fn is_kustomization(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name == "kustomization.yaml")
}

#[test]
fn manifests_pass_offline_schema_validation() {
    let available = Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        let message = "kubernetes-validate is not installed (python3 -m pip install kubernetes-validate; deploy/local/test does it)";
        let ci = std::env::var("CI").unwrap_or_default();
        assert!(ci.is_empty() || ci == "false" || ci == "0", "{message}");
        eprintln!("SKIPPED {message}");
        return;
    }
    let manifests: Vec<PathBuf> = yaml_files(&kubernetes_directory())
        .into_iter()
        .filter(|path| !is_kustomization(path))
        .collect();
    assert!(manifests.len() >= 10, "{manifests:?}");
    let output = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet"])
        .args(&manifests)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn kustomizations_name_files_that_exist() {
    for kustomization in yaml_files(&kubernetes_directory())
        .into_iter()
        .filter(|path| is_kustomization(path))
    {
        let directory = kustomization.parent().unwrap();
        let text = std::fs::read_to_string(&kustomization).unwrap();
        let mut named = 0;
        for line in text.lines() {
            let Some(item) = line.trim().strip_prefix("- ") else {
                continue;
            };
            if item.contains(':') {
                continue; // a mapping (images), not a file
            }
            named += 1;
            assert!(
                directory.join(item).exists(),
                "{} names {item}, which does not exist",
                kustomization.display()
            );
        }
        assert!(named > 0, "{} names no file", kustomization.display());
    }
}

/// The `tidewatch.toml` of a ConfigMap manifest (its indented literal block).
fn configmap_toml(manifest: &str) -> String {
    let start = manifest
        .find("tidewatch.toml: |\n")
        .expect("a tidewatch.toml key")
        + "tidewatch.toml: |\n".len();
    manifest[start..]
        .lines()
        .map(|line| line.strip_prefix("    ").unwrap_or(line.trim()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn number_after(text: &str, key: &str) -> u32 {
    let start = text.find(key).unwrap_or_else(|| panic!("no {key}")) + key.len();
    text[start..]
        .trim_start()
        .split(|character: char| !character.is_ascii_digit())
        .next()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no number after {key}"))
}

#[test]
fn partitioned_stages_run_one_replica_per_partition_and_configs_load() {
    let base = kubernetes_directory().join("base");
    let base_config =
        configmap_toml(&std::fs::read_to_string(base.join("configmap.yaml")).unwrap());
    let overlay_config =
        std::fs::read_to_string(kubernetes_directory().join("overlays/example/tidewatch.toml"))
            .unwrap();
    for config in [&base_config, &overlay_config] {
        let partitions = number_after(config, "partitions =");
        for stage in ["score", "store", "detect"] {
            let manifest = std::fs::read_to_string(base.join(format!("{stage}.yaml"))).unwrap();
            assert_eq!(
                number_after(&manifest, "replicas:"),
                partitions,
                "{stage}: replicas should match kafka.partitions"
            );
        }
    }
    // Both configs load (the overlay's needs its password and CA file, as in the cluster).
    // The system's CA bundle (package ca-certificates) stands in for the mounted CA files.
    let directory = std::env::temp_dir().join(tidewatch_e2e::unique_name("tw_k8s"));
    std::fs::create_dir_all(&directory).unwrap();
    let ca_file = "/etc/ssl/certs/ca-certificates.crt";
    let no_posts = directory.join("none.jsonl");
    std::fs::write(&no_posts, "").unwrap();
    for (name, text) in [
        ("base.toml", base_config.clone()),
        ("overlay.toml", overlay_config),
    ] {
        let text = text
            .replace("/etc/tidewatch-tls/kafka-ca.crt", ca_file)
            .replace("/etc/tidewatch-tls/clickhouse-ca.crt", ca_file);
        let path = directory.join(name);
        std::fs::write(&path, text).unwrap();
        let output = Command::new(tidewatch_binary())
            .arg("--config")
            .arg(&path)
            .args(["backtest", "--posts"])
            .arg(&no_posts)
            .env("TIDEWATCH__KAFKA__SASL_PASSWORD", "x")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&directory);
}
