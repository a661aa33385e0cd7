//! Unit tests of the simulator: determinism, window independence, validity, threads, the
//! story's shape, and the separation of story words from normal chatter.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

fn with_story(seed: u64, story_at: DateTime<Utc>) -> Simulator {
    Simulator::new(SimulatorConfig {
        seed,
        story: Some(StoryPlan {
            watch: "acme-air".to_string(),
            starts_at: story_at,
        }),
        ..SimulatorConfig::default()
    })
    .unwrap()
}

#[test]
fn a_day_is_valid_unique_threaded_and_rhythmic() {
    let simulator = with_story(11, start() + Duration::hours(14));
    let posts = simulator.posts_between(start(), start() + Duration::days(1));
    assert!(posts.len() > 2000, "{}", posts.len());
    let ids: BTreeSet<&str> = posts.iter().map(|post| post.source_id.as_str()).collect();
    assert_eq!(ids.len(), posts.len(), "source ids are unique");
    // Parents may be up to a thread's length before the window.
    let earlier = simulator.posts_between(start() - Duration::hours(2), start());
    let known: BTreeSet<&str> = ids
        .iter()
        .copied()
        .chain(earlier.iter().map(|post| post.source_id.as_str()))
        .collect();
    let mut per_hour = [0usize; 24];
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for post in &posts {
        assert_eq!(post.source, SIMULATE_SOURCE);
        assert_eq!(crate::finish(post.clone()).as_ref(), Ok(post), "{post:?}");
        *kinds.entry(post.kind.as_str()).or_default() += 1;
        per_hour[post.created_at.hour() as usize] += 1;
        if let Some(parent) = &post.parent_id {
            assert!(known.contains(parent.as_str()), "{post:?}");
        }
        match post.kind {
            PostKind::Review => assert!(matches!(post.rating, Some(r) if (1.0..=5.0).contains(&r))),
            PostKind::Post => {
                let text = post.text.to_lowercase();
                assert!(
                    [
                        "acme air",
                        "acmeair",
                        "globex bank",
                        "globexbank",
                        "initech"
                    ]
                    .iter()
                    .any(|name| text.contains(name)),
                    "{post:?}"
                );
            }
            _ => assert!(post.parent_id.is_some(), "{post:?}"),
        }
    }
    for kind in ["post", "reply", "repost", "review"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) > 20, "{kinds:?}");
    }
    // Night (02:00–04:00) is far quieter than the afternoon (14:00–16:00), story excluded.
    let normal: Vec<&Post> = posts
        .iter()
        .filter(|p| !p.source_id.starts_with("story-"))
        .collect();
    let in_hours = |from: u32, to: u32| {
        let hours = from..to;
        normal
            .iter()
            .filter(|p| hours.contains(&p.created_at.hour()))
            .count()
    };
    assert!(in_hours(14, 16) > 4 * in_hours(2, 4), "{per_hour:?}");
}

#[test]
fn story_words_never_occur_in_normal_traffic() {
    let simulator = Simulator::new(SimulatorConfig::default()).unwrap();
    let posts = simulator.posts_between(start(), start() + Duration::days(2));
    for post in &posts {
        let text = post.text.to_lowercase();
        assert!(
            !text.contains("charged") && !text.contains("twice"),
            "{post:?}"
        );
    }
}

#[test]
fn the_story_starts_small_grows_and_fades() {
    let story_at = start() + Duration::hours(15) + Duration::seconds(17);
    let simulator = with_story(3, story_at);
    let story: Vec<Post> = simulator
        .posts_between(story_at - Duration::hours(1), story_at + Duration::hours(2))
        .into_iter()
        .filter(|post| post.source_id.starts_with("story-"))
        .collect();
    assert_eq!(story[0].created_at, story_at);
    assert_eq!(story[0].source_id, "story-acme-air-0");
    let minute = |m: i64| {
        let from = story_at + Duration::minutes(m);
        let to = from + Duration::minutes(1);
        story
            .iter()
            .filter(|p| p.created_at >= from && p.created_at < to)
            .collect::<Vec<_>>()
    };
    let authors = |posts: &[&Post]| {
        let handles = posts
            .iter()
            .map(|p| p.author.as_ref().unwrap().handle.clone());
        handles.collect::<BTreeSet<_>>().len()
    };
    let (first, peak, late) = (minute(0), minute(10), minute(STORY_MINUTES + 1));
    assert!(first.len() >= 12 && first.len() <= 25, "{}", first.len());
    assert!(peak.len() > first.len() && authors(&peak) > authors(&first));
    assert!(late.is_empty());
    // Any half minute of the first minute holds enough posts with the story's term.
    for offset in [0, 15, 30] {
        let from = story_at + Duration::seconds(offset);
        let half: usize = story
            .iter()
            .filter(|p| p.created_at >= from && p.created_at < from + Duration::seconds(30))
            .filter(|p| p.text.contains("charged"))
            .count();
        assert!(half >= 7, "offset {offset}: {half}");
    }
    // Reach grows: big accounts join later, not at first.
    let max_followers = |posts: &[&Post]| {
        posts
            .iter()
            .filter_map(|p| p.author.as_ref()?.followers)
            .max()
            .unwrap_or(0)
    };
    assert!(max_followers(&first) < 100_000);
    let later: Vec<&Post> = story
        .iter()
        .filter(|p| p.created_at > story_at + Duration::minutes(8))
        .collect();
    assert!(max_followers(&later) >= 150_000);
}

#[test]
fn an_unknown_story_watch_or_bad_rate_is_refused() {
    let config = SimulatorConfig {
        story: Some(StoryPlan {
            watch: "nope".to_string(),
            starts_at: start(),
        }),
        ..SimulatorConfig::default()
    };
    assert_eq!(
        Simulator::new(config).unwrap_err(),
        SimulatorError::UnknownStoryWatch("nope".to_string())
    );
    let config = SimulatorConfig {
        peak_threads_per_hour: f64::NAN,
        ..SimulatorConfig::default()
    };
    assert!(matches!(
        Simulator::new(config),
        Err(SimulatorError::Invalid(_))
    ));
}

#[test]
fn rhythm_peaks_in_the_afternoon() {
    let at = |hour: u32| day_rhythm(Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).unwrap());
    assert!((at(15) - 1.0).abs() < 1e-9);
    assert!((at(3) - 0.1).abs() < 1e-9);
    assert!(at(9) > at(3) && at(9) < at(15));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Any split of a span into windows gives exactly the posts of the whole span.
    #[test]
    fn windows_do_not_change_the_stream(
        seed in 0u64..1000,
        cuts in proptest::collection::vec(1i64..7200, 1..6),
    ) {
        let from = start() + Duration::hours(14);
        let to = from + Duration::hours(2);
        let simulator = with_story(seed, from + Duration::minutes(30));
        let whole = simulator.posts_between(from, to);
        let mut edges: Vec<DateTime<Utc>> =
            cuts.iter().map(|seconds| from + Duration::seconds(*seconds)).collect();
        edges.push(from);
        edges.push(to);
        edges.sort();
        let mut pieces = Vec::new();
        for pair in edges.windows(2) {
            pieces.extend(simulator.posts_between(pair[0], pair[1]));
        }
        prop_assert_eq!(&pieces, &whole);
        prop_assert_eq!(with_story(seed, from + Duration::minutes(30)).posts_between(from, to), whole);
    }
}
