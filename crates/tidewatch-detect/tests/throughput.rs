//! A memory-flatness check (in the suite: 1 million distinct terms, 100,000 posts; with
//! `TIDEWATCH_LONG_TESTS=1`, 10 million) and a rough throughput measurement (ignored by
//! default; run with `cargo test --release -p tidewatch-detect --test throughput -- --ignored
//! --nocapture`). Throughput is reported, not asserted (it depends on the machine); memory is
//! asserted flat: the state after ten times more distinct terms is within 10% of the state
//! before, and within the configured bound.

mod support;

use std::time::Instant;

use chrono::Duration;
use support::{background, start, watched, Lcg};
use tidewatch_detect::{Detector, DetectorConfig};

#[test]
#[ignore]
fn posts_per_second_on_one_core() {
    let mut rng = Lcg(1);
    // About 200,000 realistic-length posts over ~2 days, 4–7 words each.
    let posts = background(&mut rng, start(), 2 * 86_400, |_| 350, "p");
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let began = Instant::now();
    let mut events = 0;
    for post in &posts {
        events += detector.observe(post).len();
    }
    let seconds = began.elapsed().as_secs_f64();
    eprintln!(
        "{} posts in {seconds:.2}s: {:.0} posts/s, {events} events",
        posts.len(),
        posts.len() as f64 / seconds
    );
}

#[test]
fn state_stays_flat_while_millions_of_distinct_terms_stream_through() {
    let long = std::env::var("TIDEWATCH_LONG_TESTS").is_ok_and(|value| value == "1");
    let posts = if long { 1_000_000u64 } else { 100_000 };
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let bound = detector.state_bound_per_watch();
    // Posts of 10 never-repeated terms each, 6 a second; sizes are taken at a tenth of the
    // stream and at its end.
    let terms_per_post = 10u64;
    let (early, end) = (posts * terms_per_post / 10, posts * terms_per_post);
    let mut sizes = Vec::new();
    let mut text = String::new();
    for post in 0..posts {
        text.clear();
        for term in 0..terms_per_post {
            let id = post * terms_per_post + term;
            text.push_str(&format!("term{id:x}q "));
        }
        let at = start() + Duration::milliseconds(post as i64 * 166);
        detector.observe(&watched(&format!("m{post}"), at, &text, -0.1));
        let streamed = (post + 1) * terms_per_post;
        if streamed == early || streamed == end {
            let size = detector.state_size(support::WATCH);
            let snapshot = serde_json::to_vec(&detector).unwrap().len();
            eprintln!("{streamed} distinct terms: state {size} bytes (bound {bound}), snapshot {snapshot} bytes");
            sizes.push((size, snapshot));
        }
    }
    let ((size_early, snapshot_early), (size_end, snapshot_end)) = (sizes[0], sizes[1]);
    assert!(size_end <= bound, "{size_end} > {bound}");
    let within = |a: usize, b: usize| (a as f64 - b as f64).abs() <= 0.1 * a as f64;
    assert!(within(size_early, size_end), "{size_early} → {size_end}");
    assert!(
        within(snapshot_early, snapshot_end),
        "{snapshot_early} → {snapshot_end}"
    );
}
