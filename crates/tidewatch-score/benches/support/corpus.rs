//! Texts the language decision is measured on, shared by the accuracy report
//! (`examples/language_accuracy.rs`), the benchmark (`benches/language.rs`) and the accuracy
//! test (`tests/language_accuracy.rs`).
//!
//! * `tests/data/languages.tsv` (committed): short posts in 16 languages, written for the
//!   project, each with its true language and, for some, a declared `lang` (some wrong).
//! * `../shared/data` when present (not committed; evaluation only): the VADER paper's four
//!   English ground-truth sets, the airline tweets, and the Mastodon / Bluesky fixtures with
//!   their declared `lang` fields. Missing files give empty sets.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One text, with what is known of its language.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// The true language (ISO 639-1), when labelled.
    pub(crate) label: Option<String>,
    /// The `lang` a source sent with it.
    pub(crate) declared: Option<String>,
    pub(crate) text: String,
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/data`, beside the workspace, or `$TIDEWATCH_SHARED_DATA` (for a checkout
/// elsewhere, e.g. a git worktree).
pub(crate) fn shared_data() -> PathBuf {
    std::env::var_os("TIDEWATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("../../../shared/data"))
}

/// The committed labelled set.
pub(crate) fn labelled() -> Vec<Sample> {
    let path = crate_dir().join("tests/data/languages.tsv");
    let raw = std::fs::read_to_string(&path).expect("tests/data/languages.tsv is committed");
    raw.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (label, declared, text) = (fields.next(), fields.next(), fields.next());
            let text = text.unwrap_or_else(|| panic!("three tab-separated fields: {line}"));
            Sample {
                label: label.map(str::to_string),
                declared: declared.filter(|tag| *tag != "-").map(str::to_string),
                text: text.to_string(),
            }
        })
        .collect()
}

/// The VADER ground-truth set `name` (English), or empty when absent.
pub(crate) fn vader_set(name: &str) -> Vec<Sample> {
    let path = shared_data().join("vader/ground_truth").join(name);
    let Ok(raw) = std::fs::read(&path) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&raw)
        .lines()
        .filter_map(|line| line.trim_end_matches('\r').splitn(3, '\t').nth(2))
        .map(|text| english(text.to_string()))
        .collect()
}

/// The four VADER ground-truth sets by name.
pub(crate) const VADER_SETS: [&str; 4] = [
    "tweets_GroundTruth.txt",
    "movieReviewSnippets_GroundTruth.txt",
    "amazonReviewSnippets_GroundTruth.txt",
    "nytEditorialSnippets_GroundTruth.txt",
];

/// The airline tweets (English, unlabelled for language: a few are not), or empty.
pub(crate) fn airline_tweets() -> Vec<Sample> {
    let path = shared_data().join("airline/Tweets.csv");
    let Ok(mut reader) = csv::Reader::from_path(&path) else {
        return Vec::new();
    };
    let text_column = reader
        .headers()
        .ok()
        .and_then(|headers| headers.iter().position(|name| name == "text"));
    let Some(text_column) = text_column else {
        return Vec::new();
    };
    reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|record| record.get(text_column).map(str::to_string))
        .map(|text| Sample {
            label: None,
            declared: None,
            text,
        })
        .collect()
}

/// Mastodon statuses and Bluesky posts of the fixtures, with their declared language.
pub(crate) fn declared_fixtures() -> Vec<Sample> {
    let fixtures = shared_data().join("fixtures");
    let mut samples = Vec::new();
    let mastodon = read_json(&fixtures.join("mastodon/rest_timeline_statuses_array.json"));
    for status in mastodon.as_array().into_iter().flatten() {
        let Some(content) = status["content"].as_str() else {
            continue;
        };
        samples.push(Sample {
            label: None,
            declared: status["language"].as_str().map(str::to_string),
            text: strip_html(content),
        });
    }
    let jetstream =
        std::fs::read_to_string(fixtures.join("bluesky_jetstream/jetstream_events_sample.jsonl"))
            .unwrap_or_default();
    for line in jetstream.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let record = &event["commit"]["record"];
        if let Some(text) = record["text"].as_str() {
            samples.push(Sample {
                label: None,
                declared: record["langs"][0].as_str().map(str::to_string),
                text: text.to_string(),
            });
        }
    }
    samples
}

fn english(text: String) -> Sample {
    Sample {
        label: Some("en".to_string()),
        declared: None,
        text,
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default()
}

/// Tags out, entities as the text would show them (enough for language detection).
fn strip_html(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
