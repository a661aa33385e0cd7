//! The simulated demo stream through the real score stage (`tidewatch_score::ScoreTransform`)
//! and the real detector (`tidewatch_detect::Detector`, default configuration), in event time:
//! two days of normal traffic for three brands fire nothing, and the injected story (and nothing
//! else) fires within a minute of its first post, whatever the phase of the detector's epochs.
//! Run with `--nocapture` to see the measured detection latencies.

use chrono::{DateTime, Duration, TimeZone, Utc};
use tidewatch_collect::simulate::{
    SimulatedBrand, Simulator, SimulatorConfig, StoryPlan, STORY_MINUTES,
};
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::{AlertEvent, AlertState, Topics, WatchedPost};
use tidewatch_score::{ScoreTransform, WatchConfig, WatchMatcher};

/// The watches a demo configures: one per simulated brand, on its name and handle.
fn watches() -> Vec<WatchConfig> {
    SimulatedBrand::defaults()
        .iter()
        .map(|brand| WatchConfig {
            name: brand.watch.clone(),
            any: brand.watch_terms(),
            all: vec![],
            none: vec![],
            languages: vec![],
        })
        .collect()
}

/// One line per event, for failure messages.
fn summary(events: &[&AlertEvent]) -> String {
    let lines = events.iter().map(|event| {
        format!(
            "{:?} {} {:?} at {} first {} posts {} score {:.1} baseline {:.2} terms {:?} ids {:?}",
            event.state,
            event.watch,
            event.title,
            event.fired_at,
            event.first_post_id,
            event.posts,
            event.score,
            event.baseline,
            event.terms,
            event.post_ids
        )
    });
    lines.collect::<Vec<_>>().join("\n")
}

struct Run {
    events: Vec<AlertEvent>,
    posts: usize,
    watched: usize,
}

/// Scores and detects every simulated post of `[from, to)`, then closes the epochs up to `to`.
fn run(config: SimulatorConfig, from: DateTime<Utc>, to: DateTime<Utc>) -> Run {
    let simulator = Simulator::new(config).unwrap();
    let matcher = WatchMatcher::new(&watches()).unwrap();
    let mut transform = ScoreTransform::new(matcher, Topics::default());
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let mut events = Vec::new();
    let posts = simulator.posts_between(from, to);
    let mut watched = 0;
    for post in &posts {
        let scored = transform.score(post.clone());
        for watch in &scored.watches {
            watched += 1;
            let record = WatchedPost {
                watch: watch.clone(),
                scored: scored.clone(),
            };
            events.extend(detector.observe(&record));
        }
    }
    events.extend(detector.advance_to(to));
    Run {
        events,
        posts: posts.len(),
        watched,
    }
}

fn day_two_at(hour: u32, seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, hour, 0, 0).unwrap() + Duration::seconds(seconds)
}

#[test]
fn two_days_of_normal_traffic_fire_nothing() {
    for (seed, peak) in [(1, 40.0), (3, 120.0)] {
        let config = SimulatorConfig {
            seed,
            peak_threads_per_hour: peak,
            ..SimulatorConfig::default()
        };
        let to = day_two_at(18, 0);
        let result = run(config, to - Duration::days(2), to);
        println!(
            "seed {seed}, peak {peak}/h: {} posts, {} watched, {} events",
            result.posts,
            result.watched,
            result.events.len()
        );
        assert!(result.posts > 1500, "{}", result.posts);
        // Every post of the stream mentions a brand or replies to one that does (except
        // replies to posts from before the window, which the score stage never saw).
        assert!(
            result.watched * 100 >= result.posts * 99,
            "{}",
            result.watched
        );
        let fired: Vec<&AlertEvent> = result
            .events
            .iter()
            .filter(|event| event.state == AlertState::Firing)
            .collect();
        assert!(
            fired.is_empty(),
            "seed {seed}: normal traffic fired\n{}",
            summary(&fired)
        );
    }
}

#[test]
fn the_story_alone_fires_within_a_minute_whatever_the_epoch_phase() {
    let epoch = DetectorConfig::default().epoch_seconds as i64;
    let mut latencies = Vec::new();
    // Story starts at the busiest time of day, at several phases of the 5-minute epoch
    // (including a few seconds before an epoch closes).
    for phase in [0, 150, 285, 299] {
        let story_at = day_two_at(15, 0) + Duration::seconds(phase % epoch);
        let config = SimulatorConfig {
            seed: 7,
            story: Some(StoryPlan {
                watch: "acme-air".to_string(),
                starts_at: story_at,
            }),
            ..SimulatorConfig::default()
        };
        let to = story_at + Duration::minutes(STORY_MINUTES + 90);
        let result = run(config, story_at - Duration::days(2), to);
        let fired: Vec<&AlertEvent> = result
            .events
            .iter()
            .filter(|event| event.state == AlertState::Firing)
            .collect();
        // Only the injected story fires: every firing is on its watch, after its first post,
        // and made mostly of its posts. (The detector may page it as more than one story, e.g.
        // one for the story's words and one for the brand name it makes surge; the count is
        // printed and reported.)
        assert!(!fired.is_empty(), "phase {phase}: the story did not fire");
        for event in &fired {
            let story_posts = event
                .post_ids
                .iter()
                .filter(|id| id.starts_with("story-acme-air-"))
                .count();
            let ours = event.watch == "acme-air"
                && event.fired_at >= story_at
                && story_posts * 2 > event.post_ids.len();
            assert!(ours, "phase {phase}: not the story:\n{}", summary(&fired));
        }
        let story = fired[0];
        assert!(
            story.terms.iter().any(|term| term == "charged"),
            "{story:?}"
        );
        let latency = story.fired_at - story_at;
        println!(
            "phase {phase:>3} s into an epoch: fired {:.1} s after the story's first post, \
             {} posts, negative share {:.2}, score {:.1}, severity {:?}; {} firing(s) in all",
            latency.num_milliseconds() as f64 / 1000.0,
            story.posts,
            story.negative_share,
            story.score,
            story.severity,
            fired.len()
        );
        assert!(latency >= Duration::zero() && latency <= Duration::seconds(60));
        latencies.push(latency.num_milliseconds());
        // Every story that fired resolves once the story has died down; nothing else happens.
        let resolved = result
            .events
            .iter()
            .filter(|event| event.state == AlertState::Resolved)
            .count();
        assert_eq!(resolved, fired.len(), "phase {phase}");
        let fired_ids: Vec<&str> = fired.iter().map(|event| event.story_id.as_str()).collect();
        let others: Vec<&AlertEvent> = result
            .events
            .iter()
            .filter(|event| !fired_ids.contains(&event.story_id.as_str()))
            .collect();
        assert!(others.is_empty(), "phase {phase}:\n{}", summary(&others));
    }
    latencies.sort_unstable();
    println!(
        "detection latency over {} phases: min {} ms, median {} ms, max {} ms",
        latencies.len(),
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}
