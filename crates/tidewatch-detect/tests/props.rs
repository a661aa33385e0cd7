//! Property tests of the detector's invariants: the same input gives the same output (also
//! across a snapshot and restore); memory stays within the configured bound whatever the
//! vocabulary; a story fires at most once, and updates and resolves only while open.

mod support;

use std::collections::BTreeMap;

use chrono::Duration;
use proptest::prelude::*;
use support::{start, watched};
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::{AlertEvent, AlertState, WatchedPost};

/// A sensitive configuration, so that small random streams do fire, update and resolve.
fn touchy() -> DetectorConfig {
    DetectorConfig {
        epoch_seconds: 60,
        table_bits: 8,
        half_life_epochs: 4.0,
        threshold: 3.0,
        clear_threshold: 1.5,
        candidate_threshold: 1.0,
        min_quiet_seconds: 120,
        warmup_epochs: 1,
        dedup_window: 16,
        recent_posts: 8,
        max_stories_per_watch: 4,
        max_story_terms: 4,
        max_evidence: 3,
        ..DetectorConfig::default()
    }
}

const WORDS: &[&str] = &[
    "flight",
    "cancelled",
    "gate",
    "crew",
    "delay",
    "refund",
    "bags",
];

/// Posts as (gap in seconds, word indexes, negative?, reply?).
fn stream() -> impl Strategy<Value = Vec<(u16, Vec<usize>, bool, bool)>> {
    prop::collection::vec(
        (
            prop_oneof![3 => 0u16..6, 1 => 60u16..400],
            prop::collection::vec(0..WORDS.len(), 1..5),
            any::<bool>(),
            prop::bool::weighted(0.2),
        ),
        1..200,
    )
}

fn posts(spec: &[(u16, Vec<usize>, bool, bool)]) -> Vec<WatchedPost> {
    let mut at = start();
    spec.iter()
        .enumerate()
        .map(|(index, (gap, words, negative, reply))| {
            at += Duration::seconds(i64::from(*gap));
            let text: Vec<&str> = words.iter().map(|word| WORDS[*word]).collect();
            let mut post = watched(
                &format!("p{index}"),
                at,
                &text.join(" "),
                if *negative { -0.5 } else { 0.3 },
            );
            if *reply {
                post.scored.post.parent_id = Some("root".to_string());
            }
            post
        })
        .collect()
}

fn run(detector: &mut Detector, posts: &[WatchedPost]) -> Vec<AlertEvent> {
    let mut events: Vec<AlertEvent> = posts
        .iter()
        .flat_map(|post| detector.observe(post))
        .collect();
    if let Some(last) = posts.last() {
        events.extend(detector.advance_to(last.scored.post.created_at + Duration::hours(2)));
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn same_input_same_output_even_across_a_snapshot(spec in stream(), split in 0usize..200) {
        let posts = posts(&spec);
        let mut one = Detector::new(touchy()).unwrap();
        let mut two = Detector::new(touchy()).unwrap();
        let expected = run(&mut one, &posts);
        prop_assert_eq!(&run(&mut two, &posts), &expected);

        let split = split.min(posts.len());
        let mut first = Detector::new(touchy()).unwrap();
        let mut events: Vec<AlertEvent> =
            posts[..split].iter().flat_map(|post| first.observe(post)).collect();
        let snapshot = serde_json::to_string(&first).unwrap();
        let mut restored: Detector = serde_json::from_str(&snapshot).unwrap();
        prop_assert_eq!(&restored, &first);
        events.extend(run(&mut restored, &posts[split..]));
        if split == posts.len() {
            let last = posts.last().unwrap().scored.post.created_at;
            events.extend(restored.advance_to(last + Duration::hours(2)));
        }
        prop_assert_eq!(events, expected);
    }

    #[test]
    fn one_open_incident_per_story(spec in stream()) {
        let mut detector = Detector::new(touchy()).unwrap();
        let events = run(&mut detector, &posts(&spec));
        // story id → open?
        let mut seen: BTreeMap<String, bool> = BTreeMap::new();
        for event in &events {
            let open = seen.get(&event.story_id).copied();
            match event.state {
                AlertState::Firing => prop_assert_eq!(open, None, "fired twice: {:?}", event),
                AlertState::Updated | AlertState::Resolved => {
                    prop_assert_eq!(open, Some(true), "not open: {:?}", event)
                }
            }
            prop_assert!(event.score >= event.threshold);
            prop_assert!(!event.post_ids.is_empty() && event.post_ids.len() <= 3);
            prop_assert_eq!(&event.post_ids[0], &event.first_post_id);
            seen.insert(event.story_id.clone(), event.state != AlertState::Resolved);
        }
        // Two hours after the last post, every story has resolved.
        prop_assert!(seen.values().all(|open| !open), "{:?}", events);
    }

    #[test]
    fn memory_is_bounded_whatever_the_vocabulary(seed in any::<u64>(), count in 1usize..3000) {
        let mut detector = Detector::new(touchy()).unwrap();
        let bound = detector.state_bound_per_watch();
        let mut rng = support::Lcg(seed);
        let mut at = start();
        for index in 0..count {
            at += Duration::seconds(rng.below(20) as i64);
            // Mostly never-seen words, some long, some repeated.
            let text: Vec<String> = (0..1 + rng.below(12))
                .map(|_| match rng.below(3) {
                    0 => "w".repeat(1 + rng.below(60) as usize),
                    1 => format!("word{}", rng.below(20)),
                    _ => format!("unique{}x{}", index, rng.next()),
                })
                .collect();
            let id = "i".repeat(1 + rng.below(400) as usize) + &index.to_string();
            detector.observe(&watched(&id, at, &text.join(" "), -0.3));
            let size = detector.state_size(support::WATCH);
            prop_assert!(size <= bound, "{} > {}", size, bound);
        }
    }
}
