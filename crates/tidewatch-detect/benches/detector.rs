//! Detector throughput on one core: posts per second through `Detector::observe` on the same
//! realistic stream as `tests/throughput.rs` (about 200,000 posts of 4–7 everyday words over two
//! days, 350 posts per 5-minute epoch, one watch), with the default settings and with the
//! airline evaluation's (slow scale and share-relative keys on).
//!
//! `cargo bench -p tidewatch-detect --bench detector` (criterion reports elements/s = posts/s).
//! Each iteration starts from a fresh detector, so every iteration sees the same stream.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use support::{background, start, Lcg};
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::WatchedPost;

fn realistic_posts() -> Vec<WatchedPost> {
    let mut rng = Lcg(1);
    background(&mut rng, start(), 2 * 86_400, |_| 350, "p")
}

fn observe_all(detector: &mut Detector, posts: &[WatchedPost]) -> usize {
    posts.iter().map(|post| detector.observe(post).len()).sum()
}

fn detector_throughput(criterion: &mut Criterion) {
    let posts = realistic_posts();
    let airline = DetectorConfig {
        slow_threshold: Some(2.0),
        relative_to_volume: true,
        min_authors: 4,
        ..DetectorConfig::default()
    };
    let mut group = criterion.benchmark_group("detector");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(10));
    group.throughput(Throughput::Elements(posts.len() as u64));
    for (name, config) in [("default", DetectorConfig::default()), ("airline", airline)] {
        group.bench_function(format!("observe/{name}"), |bencher| {
            bencher.iter_batched(
                || Detector::new(config.clone()).expect("a valid configuration"),
                |mut detector| {
                    let events = observe_all(&mut detector, &posts);
                    (detector, events)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, detector_throughput);
criterion_main!(benches);
