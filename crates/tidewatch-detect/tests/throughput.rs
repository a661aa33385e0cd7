//! A rough throughput check (ignored by default; run with
//! `cargo test --release -p tidewatch-detect --test throughput -- --ignored --nocapture`).

mod support;

use std::time::Instant;

use support::{background, start, Lcg};
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
