//! The alert lifecycle in event time: fire once, update as the story grows, stay open through a
//! short lull (hysteresis), resolve only after the quiet time; and the detector's edges (deletes,
//! late posts, configuration errors, unseen watches).

mod support;

use chrono::{DateTime, Duration, Utc};
use support::{background, merge, start, watched, Lcg};
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::{AlertEvent, AlertState, PostKind, WatchedPost};

fn burst(from: DateTime<Utc>, minutes: i64, per_minute: i64, tag: &str) -> Vec<WatchedPost> {
    let mut rng = Lcg(77);
    let mut posts = Vec::new();
    for minute in 0..minutes {
        for index in 0..per_minute {
            let at = from + Duration::seconds(minute * 60 + index * 60 / per_minute);
            let text = format!("baggage lost again {}", rng.words(2).join(" "));
            posts.push(watched(&format!("{tag}{minute}-{index}"), at, &text, -0.6));
        }
    }
    posts
}

fn events_of(detector: &mut Detector, posts: &[WatchedPost]) -> Vec<(DateTime<Utc>, AlertEvent)> {
    let mut out = Vec::new();
    for post in posts {
        let at = post.scored.post.created_at;
        out.extend(detector.observe(post).into_iter().map(|event| (at, event)));
    }
    out
}

#[test]
fn a_short_lull_keeps_the_story_open_and_a_long_one_resolves_it() {
    let config = DetectorConfig::default();
    let quiet_time = Duration::seconds(config.min_quiet_seconds as i64);
    let mut rng = Lcg(21);
    let first = start() + Duration::hours(6);
    // 20 minutes of burst, a 15-minute lull (shorter than the quiet time), 20 more minutes.
    let second = first + Duration::minutes(35);
    let posts = merge(vec![
        background(&mut rng, start(), 10 * 3600, |_| 12, "bg"),
        burst(first, 20, 4, "a"),
        burst(second, 20, 4, "b"),
    ]);
    let mut detector = Detector::new(config).unwrap();
    let mut events = events_of(&mut detector, &posts);
    let end = start() + Duration::hours(12);
    events.extend(
        detector
            .advance_to(end)
            .into_iter()
            .map(|event| (end, event)),
    );

    let states: Vec<AlertState> = events.iter().map(|(_, event)| event.state).collect();
    assert_eq!(
        states.iter().filter(|s| **s == AlertState::Firing).count(),
        1,
        "{events:#?}"
    );
    assert!(states.contains(&AlertState::Updated), "{states:?}");
    assert_eq!(states.last(), Some(&AlertState::Resolved), "{states:?}");
    let ids: Vec<&str> = events
        .iter()
        .map(|(_, event)| event.story_id.as_str())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    // The resolve comes after the last burst post plus the quiet time, not before.
    let last_post = second + Duration::minutes(20);
    let (resolved_at, resolved) = events.last().unwrap();
    assert!(
        *resolved_at >= last_post + quiet_time,
        "{resolved_at} {events:?}"
    );
    assert!(resolved.posts >= 150, "{resolved:?}");
    // Within the first burst: the earliest posts are the evidence's first post.
    assert_eq!(resolved.first_post_id, "a0-0");
}

#[test]
fn a_story_that_becomes_the_new_normal_still_resolves_once() {
    let mut rng = Lcg(31);
    let first = start() + Duration::hours(6);
    let mut extra = Vec::new();
    // 30 minutes at 12 a minute, then 4 a minute for ever after: more than a quarter of the
    // peak, but it soon becomes the usual rate.
    for second in (0..14 * 3600).step_by(5) {
        if second >= 1800 && second % 15 != 0 {
            continue;
        }
        let at = first + Duration::seconds(second);
        let text = format!("refund requested {}", rng.words(2).join(" "));
        extra.push(watched(&format!("r{second}"), at, &text, -0.3));
    }
    let posts = merge(vec![
        background(&mut rng, start(), 20 * 3600, |_| 12, "bg"),
        extra,
    ]);
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let events = events_of(&mut detector, &posts);
    let states: Vec<AlertState> = events.iter().map(|(_, event)| event.state).collect();
    assert_eq!(
        states.iter().filter(|s| **s == AlertState::Firing).count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == AlertState::Resolved)
            .count(),
        1,
        "{states:?}"
    );
    let (resolved_at, _) = events
        .iter()
        .find(|(_, e)| e.state == AlertState::Resolved)
        .unwrap();
    assert!(*resolved_at > first + Duration::hours(1), "{resolved_at}");
}

#[test]
fn advance_to_resolves_without_new_posts_and_never_goes_back() {
    let mut rng = Lcg(5);
    let first = start() + Duration::hours(6);
    let posts = merge(vec![
        background(&mut rng, start(), 6 * 3600 + 600, |_| 12, "bg"),
        burst(first, 10, 5, "a"),
    ]);
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let events = events_of(&mut detector, &posts);
    assert_eq!(events[0].1.state, AlertState::Firing, "{events:#?}");
    let story = events[0].1.story_id.clone();
    assert!(events[1..]
        .iter()
        .all(|(_, e)| e.state == AlertState::Updated && e.story_id == story));
    assert_eq!(detector.open_stories(support::WATCH), vec![story.clone()]);
    // Not yet: the quiet time has not passed.
    assert!(detector
        .advance_to(first + Duration::minutes(25))
        .is_empty());
    let later = detector.advance_to(first + Duration::hours(3));
    assert_eq!(later.len(), 1, "{later:#?}");
    assert_eq!(
        (later[0].state, &later[0].story_id),
        (AlertState::Resolved, &story)
    );
    assert!(detector.advance_to(start()).is_empty());
    assert!(detector.open_stories(support::WATCH).is_empty());
}

#[test]
fn deletes_are_ignored_and_late_posts_count_in_the_current_epoch() {
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let now = start() + Duration::hours(1);
    assert!(detector
        .observe(&watched("p1", now, "hello there crew", 0.0))
        .is_empty());
    let mut delete = watched("p1", now, "", 0.0);
    delete.scored.post.kind = PostKind::Delete;
    assert!(detector.observe(&delete).is_empty());
    assert_eq!(detector.signals(support::WATCH).unwrap().posts, 1);
    let late = watched("p0", now - Duration::hours(1), "late post about crew", 0.0);
    assert!(detector.observe(&late).is_empty());
    assert_eq!(detector.signals(support::WATCH).unwrap().posts, 2);
    assert!(detector.signals("other").is_none());
    assert!(detector.open_stories("other").is_empty());
    assert_eq!(detector.state_size("other"), 0);
}

#[test]
fn an_invalid_configuration_is_refused() {
    let config = DetectorConfig {
        clear_threshold: 9.0,
        ..DetectorConfig::default()
    };
    let error = Detector::new(config).unwrap_err();
    assert!(error.contains("clear_threshold"), "{error}");
    let detector = Detector::new(DetectorConfig::default()).unwrap();
    assert_eq!(detector.config(), &DetectorConfig::default());
}
