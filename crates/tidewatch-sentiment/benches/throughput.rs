//! Throughput of this engine and of `vader-parity` on the same texts, single thread.
//!
//! Texts: the VADER paper's tweets (`shared/data/vader/ground_truth/tweets_GroundTruth.txt`,
//! 4,200 tweets) and the whole reference set (24,065 texts) when the shared data is present;
//! otherwise a built-in sample of tweet-like texts. Criterion reports elements/s = texts/s.
//! Run: `cargo bench -p tidewatch-sentiment --bench throughput`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;
use tidewatch_sentiment::SentimentEngine;
use vader_parity::SentimentIntensityAnalyzer;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/vader");

const SAMPLE: &[&str] = &[
    "VADER is smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "The book was good, but the movie was not so great :(",
    "At least it isn't a horrible book.",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "@united your customer service is the worst, 3 hours on hold and no answer",
    "Loving the new seats on this flight, great crew too #happy",
    "why is my flight delayed AGAIN??? seriously",
    "the food was ok I guess, nothing special",
];

fn load_texts() -> Vec<(String, Vec<String>)> {
    let mut sets = Vec::new();
    if let Ok(raw) = std::fs::read_to_string(format!("{DATA}/ground_truth/tweets_GroundTruth.txt"))
    {
        let tweets = raw
            .split("\r\n")
            .filter_map(|l| l.splitn(3, '\t').nth(2))
            .map(str::to_string)
            .collect();
        sets.push(("tweets".to_string(), tweets));
    }
    if let Ok(raw) = std::fs::read_to_string(format!("{DATA}/reference.jsonl")) {
        let texts = raw
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["text"].as_str().map(str::to_string))
            .collect();
        sets.push(("reference".to_string(), texts));
    }
    if sets.is_empty() {
        println!("shared data not found: benchmarking the built-in sample");
        sets.push((
            "sample".to_string(),
            SAMPLE.iter().map(|s| s.to_string()).collect(),
        ));
    }
    sets
}

fn throughput(c: &mut Criterion) {
    let parity = SentimentIntensityAnalyzer::new();
    let mut engine = SentimentEngine::new();
    for (name, texts) in load_texts() {
        let mut group = c.benchmark_group(format!("vader/{name}"));
        group.throughput(Throughput::Elements(texts.len() as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(5));
        group.bench_function("tidewatch-sentiment", |b| {
            b.iter(|| {
                for t in &texts {
                    black_box(engine.polarity_scores(black_box(t)));
                }
            })
        });
        group.bench_function("vader-parity", |b| {
            b.iter(|| {
                for t in &texts {
                    black_box(parity.polarity_scores(black_box(t)));
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, throughput);
criterion_main!(benches);
