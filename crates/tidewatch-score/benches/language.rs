//! Language decisions per second, one thread: today's rule against the whatlang rule it
//! replaced, on the same texts in the same run.
//!
//! `cargo bench -p tidewatch-score --bench language`
//!
//! * `tweets`: the VADER paper's 4,200 real tweets (`../shared/data`; the committed labelled
//!   set stands in when it is absent), no declared language;
//! * `multilingual`: the committed labelled set, 280 short posts in 16 languages, with their
//!   declared `lang` where they have one.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/whatlang_decision.rs"]
mod whatlang_decision;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tidewatch_score::LanguageDetector;
use whatlang_decision::WhatlangDetector;

fn decisions(c: &mut Criterion) {
    let mut tweets = corpus::vader_set("tweets_GroundTruth.txt");
    if tweets.is_empty() {
        eprintln!("../shared/data is absent: `tweets` measures the labelled set");
        tweets = corpus::labelled();
    }
    let sets = [("tweets", tweets), ("multilingual", corpus::labelled())];
    for (name, samples) in sets {
        let mut group = c.benchmark_group(format!("language/{name}"));
        group.throughput(Throughput::Elements(samples.len() as u64));
        let mut new = LanguageDetector::new();
        group.bench_function("new", |b| {
            b.iter(|| {
                for sample in &samples {
                    black_box(new.decide(&sample.text, sample.declared.as_deref()));
                }
            })
        });
        let mut old = WhatlangDetector::new();
        group.bench_function("whatlang_rule", |b| {
            b.iter(|| {
                for sample in &samples {
                    black_box(old.decide(&sample.text, sample.declared.as_deref()));
                }
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = decisions
}
criterion_main!(benches);
