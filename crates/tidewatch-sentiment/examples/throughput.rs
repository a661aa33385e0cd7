//! Quick single-thread throughput check, both engines in the same run:
//! `cargo run --release -p tidewatch-sentiment --example throughput [FILE] [TARGET_TEXTS]`.
//!
//! FILE is a ground-truth file (tab-separated id, rating, text) or JSONL with a "text" field;
//! by default the VADER paper's tweets from the shared data folder. The texts are repeated to
//! about TARGET_TEXTS (default 100,000) and scored several times; the best round is reported.
//! With `ONLY_OURS=1` only this engine runs (for profiling).

use std::time::Instant;
use tidewatch_sentiment::SentimentEngine;
use vader_parity::SentimentIntensityAnalyzer;

const TWEETS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/vader/ground_truth/tweets_GroundTruth.txt"
);

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| TWEETS.to_string());
    let target: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let base: Vec<String> = raw
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) if v["text"].is_string() => v["text"].as_str().unwrap_or_default().to_string(),
            _ => l
                .trim_end_matches('\r')
                .splitn(3, '\t')
                .nth(2)
                .unwrap_or(l)
                .to_string(),
        })
        .collect();
    let texts: Vec<&str> = base
        .iter()
        .cycle()
        .take(target.max(base.len()))
        .map(String::as_str)
        .collect();
    println!(
        "{} texts ({} distinct) from {path}",
        texts.len(),
        base.len()
    );

    let mut engine = SentimentEngine::new();
    let ours = best_rate(&texts, 5, |t| engine.polarity_scores(t).compound);
    println!("                     wall time      CPU time (this thread)");
    println!("tidewatch-sentiment: {:>9.0}/s  {:>9.0}/s", ours.0, ours.1);
    if std::env::var_os("ONLY_OURS").is_some() {
        return;
    }
    let parity = SentimentIntensityAnalyzer::new();
    let theirs = best_rate(&texts, 3, |t| parity.polarity_scores(t).compound);
    println!(
        "vader-parity:        {:>9.0}/s  {:>9.0}/s",
        theirs.0, theirs.1
    );
    println!(
        "speed-up:            {:>9.2}x  {:>9.2}x",
        ours.0 / theirs.0,
        ours.1 / theirs.1
    );
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), so that a busy machine
/// does not count other processes' time; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let raw = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    raw.split_whitespace().next()?.parse().ok()
}

/// Best rate over `rounds` rounds, in texts per second of wall time and of CPU time.
fn best_rate(texts: &[&str], rounds: usize, mut score: impl FnMut(&str) -> f64) -> (f64, f64) {
    let (mut wall, mut cpu) = (0.0_f64, 0.0_f64);
    for _ in 0..rounds {
        let start = Instant::now();
        let cpu_start = thread_cpu_ns();
        let mut acc = 0.0;
        for t in texts {
            acc += score(t);
        }
        std::hint::black_box(acc);
        wall = wall.max(texts.len() as f64 / start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_ns()) {
            cpu = cpu.max(texts.len() as f64 / ((b - a).max(1) as f64 / 1e9));
        }
    }
    (wall, cpu)
}
