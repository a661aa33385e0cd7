//! Watch matching cost per post: 1 watch vs 100 vs 1,000 watches over the same posts, and the
//! whole score transform (parse, language, VADER, watches, serialise) for comparison.
//!
//! `cargo bench -p tidewatch-score --bench watches`. The posts and watches are synthetic and
//! deterministic: tweet-like sentences of ~100 bytes, one in ten mentioning a watched brand as
//! a word, a @handle, a #hashtag or a two-word phrase; each watch has four `any` terms and one
//! `none` term, all distinct across watches.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tidewatch_bus::transform::Transform;
use tidewatch_bus::Record;
use tidewatch_model::Topics;
use tidewatch_score::{MatchScratch, ScoreTransform, WatchConfig, WatchMatcher};

/// A small deterministic generator (xorshift), so the bench needs no RNG crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const FILLER: &[&str] = &[
    "the", "flight", "was", "delayed", "again", "and", "nobody", "at", "gate", "could", "tell",
    "us", "why", "my", "bag", "is", "lost", "thanks", "for", "nothing", "great", "crew", "today",
    "seat", "upgrade", "app", "keeps", "crashing", "customer", "service", "on", "hold", "hours",
    "usual", "delay", "boarding", "now", "love", "this", "airline", "never", "again!!", ":)",
];

fn brand(index: usize) -> String {
    // Distinct, pronounceable, and sharing prefixes with each other ("zorvan3", "zorvan31").
    format!("zorvan{index}")
}

fn watches(count: usize) -> Vec<WatchConfig> {
    (0..count)
        .map(|index| {
            let name = brand(index);
            WatchConfig {
                any: vec![
                    name.clone(),
                    format!("@{name}air"),
                    format!("#{name}fail"),
                    format!("{name} air"),
                ],
                all: vec![],
                none: vec![format!("{name} park")],
                languages: vec![],
                name,
            }
        })
        .collect()
}

fn posts(count: usize, brands: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    (0..count)
        .map(|_| {
            let mut words: Vec<String> = (0..16)
                .map(|_| FILLER[rng.below(FILLER.len())].to_string())
                .collect();
            if rng.below(10) == 0 {
                let name = brand(rng.below(brands));
                let mention = match rng.below(4) {
                    0 => name,
                    1 => format!("@{name}air"),
                    2 => format!("#{name}fail"),
                    _ => format!("{name} Air"),
                };
                let at = rng.below(words.len());
                words.insert(at, mention);
            }
            words.join(" ")
        })
        .collect()
}

fn bench_matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("watch_match_per_post");
    for count in [1, 100, 1000] {
        let built = std::time::Instant::now();
        let matcher = WatchMatcher::new(&watches(count)).unwrap();
        eprintln!(
            "{count} watches: automaton built in {:?}, {} bytes",
            built.elapsed(),
            matcher.automaton_bytes()
        );
        let texts = posts(1000, count);
        let mut scratch = MatchScratch::default();
        let mut matched = Vec::new();
        group.throughput(Throughput::Elements(texts.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &texts, |b, texts| {
            b.iter(|| {
                let mut total = 0;
                for text in texts {
                    matcher.match_into(text, Some("en"), &[], &mut scratch, &mut matched);
                    total += matched.len();
                }
                total
            });
        });
    }
    group.finish();
}

fn bench_transform(c: &mut Criterion) {
    let mut group = c.benchmark_group("score_transform_per_post");
    for count in [1, 1000] {
        let matcher = WatchMatcher::new(&watches(count)).unwrap();
        let mut transform = ScoreTransform::new(matcher, Topics::default());
        let records: Vec<Record> = posts(1000, count)
            .into_iter()
            .enumerate()
            .map(|(index, text)| Record::new(
                "posts.raw",
                0,
                index as i64,
                None,
                format!(
                    r#"{{"source":"bench","source_id":"{index}","created_at":"2025-03-01T08:00:00Z","text":{}}}"#,
                    serde_json::to_string(&text).unwrap()
                )
                .into_bytes(),
            ))
            .collect();
        let mut output = Vec::new();
        group.throughput(Throughput::Elements(records.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(count),
            &records,
            |b, records| {
                b.iter(|| {
                    for record in records {
                        output.clear();
                        transform.process(record, &mut output).unwrap();
                    }
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_matching, bench_transform);
criterion_main!(benches);
