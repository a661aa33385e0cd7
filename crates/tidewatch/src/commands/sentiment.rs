//! `tidewatch sentiment`: VADER on JSONL, and `--bench` against the `vader-parity` crate.
//!
//! Guarantees:
//! * **Scoring.** Each line of stdin gives exactly one line on stdout, in the same order: for a
//!   JSON object with a string `"text"`, `{"neg":…,"neu":…,"pos":…,"compound":…}` as
//!   vaderSentiment 3.3.2 returns them (`tidewatch-sentiment`, exact); for anything else (not
//!   JSON, not UTF-8, not an object, no string `"text"`, a blank line)
//!   `{"error":"line N: …"}`, and processing goes on. Other fields are ignored. Input and
//!   output are buffered, and one engine scores every line. A closed stdout (`| head`) ends
//!   the command quietly.
//! * **Bench.** `--bench FILE` reads texts (JSONL with `"text"`, or the VADER ground-truth
//!   format `id<TAB>rating<TAB>text`; both may be mixed), repeats them to about
//!   `--bench-texts` (default 100,000), and prints the single-thread texts/s of this engine and
//!   of `vader-parity` measured in the same run (best of several rounds), their ratio, and
//!   whether the two agree on every distinct text.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tidewatch_sentiment::SentimentEngine;

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SentimentArgs {
    /// Measure texts/s on FILE (JSONL with "text", or id<TAB>rating<TAB>text) instead of
    /// scoring stdin: this engine and vader-parity, single thread, same run.
    #[arg(long, value_name = "FILE")]
    pub(crate) bench: Option<PathBuf>,
    /// With --bench: repeat the file's texts to about this many.
    #[arg(long, default_value_t = 100_000, requires = "bench")]
    pub(crate) bench_texts: usize,
}

#[derive(Deserialize)]
struct InputLine<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct OutputScores {
    neg: f64,
    neu: f64,
    pos: f64,
    compound: f64,
}

#[derive(Serialize)]
struct OutputError<'a> {
    error: &'a str,
}

pub(crate) fn sentiment(args: &SentimentArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.bench {
        return bench(path, args.bench_texts);
    }
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let input = std::io::BufReader::with_capacity(1 << 16, stdin.lock());
    let output = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match score_lines(input, output) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.context("cannot read stdin or write stdout"),
    }
}

/// Scores JSONL from `input` into `output`, one line out per line in.
pub(crate) fn score_lines(mut input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let mut engine = SentimentEngine::new();
    let mut line = Vec::new();
    let mut number = 0_u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        let content = trim_line_end(&line);
        match text_of(content) {
            Ok(text) => {
                let scores = engine.polarity_scores(&text);
                let scores = OutputScores {
                    neg: scores.neg,
                    neu: scores.neu,
                    pos: scores.pos,
                    compound: scores.compound,
                };
                serde_json::to_writer(&mut output, &scores)?;
            }
            Err(reason) => {
                let error = format!("line {number}: {reason}");
                serde_json::to_writer(&mut output, &OutputError { error: &error })?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The `"text"` of one JSONL line, or why there is none.
fn text_of(line: &[u8]) -> Result<Cow<'_, str>, String> {
    let first = line.iter().find(|byte| !byte.is_ascii_whitespace());
    match first {
        None => return Err("blank line".to_string()),
        Some(b'{') => {}
        Some(_) => {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
                    Ok(_) => "not a JSON object".to_string(),
                    Err(error) => format!("not valid JSON: {error}"),
                },
            )
        }
    }
    match serde_json::from_slice::<InputLine<'_>>(line) {
        Ok(InputLine { text: Some(text) }) => Ok(text),
        Ok(InputLine { text: None }) => Err("no string \"text\" field".to_string()),
        Err(error) if error.is_data() => Err(format!("\"text\" is not a string: {error}")),
        Err(error) => Err(format!("not valid JSON: {error}")),
    }
}

/// The texts of a bench file: JSONL lines with a string "text", or `id<TAB>rating<TAB>text`.
fn bench_texts(raw: &str) -> (Vec<String>, usize) {
    let mut texts = Vec::new();
    let mut skipped = 0;
    for line in raw.lines().map(|line| line.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            continue;
        }
        if let Ok(text) = text_of(line.as_bytes()) {
            texts.push(text.into_owned());
        } else if let Some(text) = line.splitn(3, '\t').nth(2) {
            texts.push(text.to_string());
        } else {
            skipped += 1;
        }
    }
    (texts, skipped)
}

fn bench(path: &PathBuf, target: usize) -> anyhow::Result<()> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (distinct, skipped) = bench_texts(&String::from_utf8_lossy(&raw));
    anyhow::ensure!(
        !distinct.is_empty(),
        "{} has no texts (JSONL with \"text\", or id<TAB>rating<TAB>text)",
        path.display()
    );
    let texts: Vec<&str> = distinct
        .iter()
        .cycle()
        .take(target.max(distinct.len()))
        .map(String::as_str)
        .collect();

    let mut engine = SentimentEngine::new();
    let parity = vader_parity::SentimentIntensityAnalyzer::new();
    let disagreements = distinct
        .iter()
        .filter(|text| {
            let ours = engine.polarity_scores(text);
            let theirs = parity.polarity_scores(text);
            (ours.neg, ours.neu, ours.pos, ours.compound)
                != (theirs.neg, theirs.neu, theirs.pos, theirs.compound)
        })
        .count();
    let ours = best_rate(&texts, 5, |text| engine.polarity_scores(text).compound);
    let theirs = best_rate(&texts, 3, |text| parity.polarity_scores(text).compound);

    println!(
        "{} texts ({} distinct{}) from {}, one thread, best round of 5 (ours) and 3 (vader-parity)",
        texts.len(),
        distinct.len(),
        if skipped > 0 {
            format!(", {skipped} lines skipped")
        } else {
            String::new()
        },
        path.display()
    );
    println!("tidewatch-sentiment  {ours:>12.0} texts/s");
    println!("vader-parity         {theirs:>12.0} texts/s");
    println!("ratio                {:>12.2}x", ours / theirs);
    println!(
        "agreement            {} of {} distinct texts scored identically",
        distinct.len() - disagreements,
        distinct.len()
    );
    Ok(())
}

/// Best rate over `rounds` passes, in texts per second (one warm-up pass first).
fn best_rate(texts: &[&str], rounds: usize, mut score: impl FnMut(&str) -> f64) -> f64 {
    let mut checksum = texts.iter().map(|text| score(text)).sum::<f64>();
    let mut best = 0.0_f64;
    for _ in 0..rounds {
        let start = Instant::now();
        for text in texts {
            checksum += score(text);
        }
        best = best.max(texts.len() as f64 / start.elapsed().as_secs_f64());
    }
    std::hint::black_box(checksum);
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<serde_json::Value> {
        let mut output = Vec::new();
        score_lines(input.as_bytes(), &mut output).unwrap();
        String::from_utf8(output)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn scores_each_line_in_order_and_reports_bad_lines_in_place() {
        let input = concat!(
            "{\"text\": \"VADER is smart, handsome, and funny.\", \"id\": 1}\n",
            "{broken\n",
            "\n",
            "[\"text\"]\n",
            "{\"text\": 3}\n",
            "{\"id\": 2}\n",
            "{\"text\": \"\"}\r\n",
            "{\"text\": \"I hate it \\ud83d\\ude20\"}",
        );
        let lines = run(input);
        assert_eq!(lines.len(), 8);
        assert_eq!(
            lines[0],
            serde_json::json!({"neg": 0.0, "neu": 0.254, "pos": 0.746, "compound": 0.8316})
        );
        for (index, expected) in [
            (1, "line 2: not valid JSON"),
            (2, "line 3: blank line"),
            (3, "line 4: not a JSON object"),
            (4, "line 5: \"text\" is not a string"),
            (5, "line 6: no string \"text\" field"),
        ] {
            let error = lines[index]["error"].as_str().unwrap();
            assert!(error.starts_with(expected), "{error}");
        }
        assert_eq!(lines[6]["compound"], 0.0);
        assert!(lines[7]["compound"].as_f64().unwrap() < -0.5);
    }

    #[test]
    fn invalid_utf8_gets_an_error_line() {
        let mut output = Vec::new();
        score_lines(&b"\xff\xfe\n{\"text\":\"ok\"}\n"[..], &mut output).unwrap();
        let text = String::from_utf8(output).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("line 1: not valid JSON"), "{}", lines[0]);
        assert!(lines[1].contains("compound"));
    }

    #[test]
    fn bench_files_may_be_jsonl_or_ground_truth() {
        let (texts, skipped) =
            bench_texts("1\t2.7\tSo lucky.\r\n{\"text\":\"good\"}\n\nno tabs here\n");
        assert_eq!(texts, vec!["So lucky.", "good"]);
        assert_eq!(skipped, 1);
    }
}
