//! Stories that are not new vocabulary: a wave of copies of one post, a surge of replies under
//! one post; and a positive viral story, which is at most informational.

mod support;

use chrono::{DateTime, Duration, Utc};
use support::{background, merge, start, watched, Lcg};
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::{AlertEvent, AlertState, Severity, WatchedPost};

/// Six quiet hours, the given extra posts, then two quiet hours; all events.
fn run_with(extra: Vec<WatchedPost>, seed: u64) -> Vec<AlertEvent> {
    let mut rng = Lcg(seed);
    let quiet = background(&mut rng, start(), 8 * 3600, |_| 12, "bg");
    let posts = merge(vec![quiet, extra]);
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let mut events: Vec<AlertEvent> = posts
        .iter()
        .flat_map(|post| detector.observe(post))
        .collect();
    events.extend(detector.advance_to(start() + Duration::hours(12)));
    events
}

fn burst_start() -> DateTime<Utc> {
    start() + Duration::hours(6)
}

fn firings(events: &[AlertEvent]) -> Vec<&AlertEvent> {
    events
        .iter()
        .filter(|event| event.state == AlertState::Firing)
        .collect()
}

#[test]
fn a_wave_of_copies_is_one_story_starting_at_the_original() {
    let text = "the crew at gate twelve refused boarding to my kids, shameful";
    let mut extra = vec![watched("original", burst_start(), text, -0.7)];
    for index in 0..25 {
        let at = burst_start() + Duration::seconds(20 + index * 10);
        let copy = format!("RT @user{index}: {text} https://t.co/{index}");
        extra.push(watched(&format!("copy{index}"), at, &copy, -0.7));
    }
    let events = run_with(extra, 3);
    let fired = firings(&events);
    assert_eq!(fired.len(), 1, "{events:#?}");
    assert_eq!(fired[0].first_post_id, "original", "{:?}", fired[0]);
    assert!(
        fired[0].fired_at < burst_start() + Duration::minutes(3),
        "{:?}",
        fired[0]
    );
    assert!(
        fired[0].terms.contains(&"crew".to_string()),
        "{:?}",
        fired[0]
    );
    assert_eq!(fired[0].severity.max(Severity::Warning), fired[0].severity);
    let resolved = events
        .iter()
        .filter(|event| event.state == AlertState::Resolved);
    assert_eq!(resolved.count(), 1, "{events:#?}");
}

#[test]
fn a_surge_of_replies_under_one_post_is_one_story() {
    let mut rng = Lcg(99);
    let mut extra = vec![watched(
        "root",
        burst_start(),
        "new baggage policy announced today",
        0.0,
    )];
    for index in 0..25 {
        let at = burst_start() + Duration::seconds(30 + index * 10);
        let text = rng.words(5).join(" ");
        let mut reply = watched(&format!("reply{index}"), at, &text, -0.5);
        reply.scored.post.parent_id = Some("root".to_string());
        extra.push(reply);
    }
    let events = run_with(extra, 5);
    let fired = firings(&events);
    assert_eq!(fired.len(), 1, "{events:#?}");
    assert_eq!(fired[0].first_post_id, "root", "{:?}", fired[0]);
    assert_eq!(
        fired[0].terms,
        vec!["new", "baggage", "policy"],
        "{:?}",
        fired[0]
    );
    assert!(fired[0].severity >= Severity::Warning, "{:?}", fired[0]);
}

#[test]
fn a_positive_viral_story_is_info() {
    let mut rng = Lcg(1234);
    let mut extra = Vec::new();
    for index in 0..40 {
        let at = burst_start() + Duration::seconds(index * 8);
        let text = format!("loving the brand new lounge {}", rng.words(2).join(" "));
        extra.push(watched(&format!("love{index}"), at, &text, 0.8));
    }
    let events = run_with(extra, 8);
    let fired = firings(&events);
    assert_eq!(fired.len(), 1, "{events:#?}");
    assert!(
        events.iter().all(|event| event.severity == Severity::Info),
        "{events:#?}"
    );
    assert!(
        fired[0].terms.contains(&"lounge".to_string()),
        "{:?}",
        fired[0]
    );
}

#[test]
fn one_account_posting_again_and_again_is_not_a_story() {
    let mut rng = Lcg(4321);
    let mut extra = Vec::new();
    for index in 0..30 {
        let at = burst_start() + Duration::seconds(index * 10);
        let text = format!("flight cancelled {}", rng.words(3).join(" "));
        let mut post = watched(&format!("spam{index}"), at, &text, -0.6);
        post.scored.post.author.as_mut().unwrap().id = Some("spammer".to_string());
        extra.push(post);
    }
    let events = run_with(extra.clone(), 6);
    assert!(events.is_empty(), "{events:#?}");
    // The same posts from three or more people are a story.
    for (index, post) in extra.iter_mut().enumerate() {
        post.scored.post.author.as_mut().unwrap().id = Some(format!("person{}", index % 3));
    }
    assert_eq!(firings(&run_with(extra, 6)).len(), 1);
}
