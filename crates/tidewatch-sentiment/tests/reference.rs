//! All of `shared/data/vader/reference.jsonl` (vaderSentiment 3.3.2 on CPython 3.13, 24,065
//! texts): every text must give identical `neg`, `neu`, `pos` and `compound`, bit for bit
//! (so −0.0 is distinguished from 0.0). The unrounded compound must equal
//! `reference_meta.jsonl`'s `compound_raw` bit for bit too. When the files are absent, skips
//! outside CI and fails under CI (`tidewatch_test_support::shared_data`).

use tidewatch_sentiment::SentimentEngine;
use tidewatch_test_support::shared_data;

const REFERENCE: &str = "vader/reference.jsonl";
/// Line-aligned with the reference: source, id, human rating and the unrounded compound.
const META: &str = "vader/reference_meta.jsonl";

fn read(test: &str, relative: &str) -> Option<String> {
    let path = shared_data(test, relative)?;
    Some(
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display())),
    )
}

#[test]
fn every_reference_text_matches_exactly() {
    let Some(raw) = read("every_reference_text_matches_exactly", REFERENCE) else {
        return;
    };
    let mut engine = SentimentEngine::new();
    let (mut total, mut failures) = (0usize, Vec::new());
    for (n, line) in raw
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row: serde_json::Value = serde_json::from_str(line).expect("reference line is JSON");
        let text = row["text"].as_str().expect("text field");
        let want = |k: &str| row[k].as_f64().expect("numeric field");
        let got = engine.polarity_scores(text);
        total += 1;
        let pairs = [
            ("neg", got.neg, want("neg")),
            ("neu", got.neu, want("neu")),
            ("pos", got.pos, want("pos")),
            ("compound", got.compound, want("compound")),
        ];
        for (k, g, w) in pairs {
            if g.to_bits() != w.to_bits() {
                failures.push(format!(
                    "line {}: {k} got {g:?} want {w:?}: {text:?}",
                    n + 1
                ));
            }
        }
    }
    for f in failures.iter().take(40) {
        println!("{f}");
    }
    println!(
        "reference: {total} texts, {} mismatching values",
        failures.len()
    );
    assert_eq!(total, 24_065, "the reference set has 24,065 texts");
    assert!(failures.is_empty(), "{} mismatching values", failures.len());
}

#[test]
fn every_unrounded_compound_matches_exactly() {
    let test = "every_unrounded_compound_matches_exactly";
    let (Some(raw), Some(meta)) = (read(test, REFERENCE), read(test, META)) else {
        return;
    };
    let mut engine = SentimentEngine::new();
    let (mut total, mut failures) = (0usize, Vec::new());
    for (line, meta_line) in raw.lines().zip(meta.lines()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("reference line is JSON");
        let m: serde_json::Value = serde_json::from_str(meta_line).expect("meta line is JSON");
        let text = row["text"].as_str().expect("text field");
        let want = m["compound_raw"].as_f64().expect("compound_raw");
        let got = engine.polarity_scores_unrounded(text).compound;
        total += 1;
        if got.to_bits() != want.to_bits() {
            failures.push(format!("got {got:?} want {want:?}: {text:?}"));
        }
    }
    for f in failures.iter().take(40) {
        println!("{f}");
    }
    println!(
        "reference_meta: {total} unrounded compounds, {} differ",
        failures.len()
    );
    assert_eq!(total, 24_065);
    assert!(
        failures.is_empty(),
        "{} unrounded compounds differ",
        failures.len()
    );
}
