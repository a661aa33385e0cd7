//! End-to-end behaviour of the detector on synthetic streams: a negative burst sharing a term
//! pair fires exactly one story, early, which resolves after the burst dies down; a loud but
//! normal daily cycle fires nothing; slow stories (a negative build-up, a rare word in a few
//! neutral questions, also on a busy watch) fire before they are ever a burst, starting at
//! their first post.

mod support;

use chrono::Duration;
use support::{background, merge, start, watched, Lcg};
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::{AlertEvent, AlertState, Severity};

fn run(detector: &mut Detector, posts: &[tidewatch_model::WatchedPost]) -> Vec<AlertEvent> {
    let mut events = Vec::new();
    for post in posts {
        events.extend(detector.observe(post));
    }
    events
}

#[test]
fn a_negative_burst_fires_one_story_early_and_resolves() {
    let mut rng = Lcg(7);
    let day = 86_400;
    let quiet = background(&mut rng, start(), day + 6 * 3600, |_| 12, "bg");
    // The burst: from 24:00 for 60 minutes, growing from 1 to 6 posts a minute, then nothing.
    let burst_start = start() + Duration::seconds(day);
    let mut burst = Vec::new();
    for minute in 0..60 {
        let per_minute = 1 + minute / 12;
        for index in 0..per_minute {
            let at = burst_start + Duration::seconds(minute * 60 + index * 60 / per_minute);
            let extra = rng.words(3).join(" ");
            let text = format!("@AcmeAir my flight got cancelled {extra} http://t.co/x");
            burst.push(watched(&format!("burst{minute}-{index}"), at, &text, -0.6));
        }
    }
    let burst_total = burst.len();
    let first_burst_id = burst[0].scored.post.source_id.clone();
    let posts = merge(vec![quiet, burst]);

    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let mut events = run(&mut detector, &posts);
    events.extend(detector.advance_to(burst_start + Duration::hours(8)));

    let firing = firing_events(&events);
    assert_eq!(firing.len(), 1, "{events:#?}");
    let fired = firing[0];
    assert!(fired.terms.contains(&"flight".to_string()), "{fired:?}");
    assert!(fired.terms.contains(&"cancelled".to_string()), "{fired:?}");
    assert!(fired.fired_at >= burst_start);
    // Early: within the first 15 minutes, i.e. before a tenth of the burst was posted.
    assert!(
        fired.fired_at < burst_start + Duration::minutes(15),
        "{fired:?}"
    );
    assert!((fired.posts as usize) < burst_total / 5, "{fired:?}");
    assert!(fired.severity >= Severity::Warning, "{fired:?}");
    assert!(fired.score >= fired.threshold && fired.threshold == 6.0);
    assert!(fired.post_ids.len() <= 10 && fired.post_ids[0] == fired.first_post_id);
    assert!(fired.first_post_id.starts_with("burst"), "{fired:?}");
    assert_eq!(fired.first_post_id, first_burst_id, "{fired:?}");
    assert_eq!(fired.first_post_at, burst_start);
    assert_eq!(fired.title, "flight cancelled");

    let resolved: Vec<&AlertEvent> = events
        .iter()
        .filter(|e| e.state == AlertState::Resolved)
        .collect();
    assert_eq!(resolved.len(), 1, "{events:#?}");
    assert_eq!(resolved[0].story_id, fired.story_id);
    assert!(
        resolved[0].posts >= burst_total as u64 * 9 / 10,
        "{:?}",
        resolved[0]
    );
    for event in &events {
        assert_eq!(
            event.story_id, fired.story_id,
            "an unrelated story: {event:?}"
        );
    }
    assert!(detector.open_stories(support::WATCH).is_empty());
}

#[test]
fn a_loud_normal_daily_cycle_fires_nothing() {
    let mut rng = Lcg(11);
    // Ten times more posts by day than by night, with ramps, for three days.
    let cycle = |hour: u32| match hour {
        0..=5 => 6,
        6..=8 => 20 + 10 * (hour as u64 - 6),
        9..=18 => 60,
        19..=21 => 40 - 10 * (hour as u64 - 19),
        _ => 10,
    };
    let posts = background(&mut rng, start(), 3 * 86_400, cycle, "bg");
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let events = run(&mut detector, &posts);
    assert!(events.is_empty(), "{events:#?}");
    let signals = detector.signals(support::WATCH).unwrap();
    assert!(signals.volume_score < 6.0, "{signals:?}");
}

#[test]
fn a_slow_negative_story_fires_before_it_is_ever_a_burst() {
    let mut rng = Lcg(17);
    // A day and a half of busy background (the slow scale warms up in about a day), then a
    // story that builds for two hours: one post every 6 minutes, then every 3, never more than
    // two in an epoch, each with the story's words and a few everyday ones.
    let story_start = start() + Duration::hours(36);
    let quiet = background(&mut rng, start(), 40 * 3600, |_| 24, "bg");
    let mut story = Vec::new();
    let mut at = story_start;
    for index in 0..30 {
        let extra = rng.words(2).join(" ");
        let text = format!("stuck on the tarmac for hours, nobody deplaning {extra}");
        story.push(watched(&format!("slow{index}"), at, &text, -0.5));
        at += Duration::minutes(if index < 10 { 6 } else { 3 });
    }
    let fired = the_one_firing(vec![quiet, story]);
    assert!(fired.first_post_id.starts_with("slow"), "{fired:?}");
    assert!(fired.terms.contains(&"tarmac".to_string()), "{fired:?}");
    assert!(
        fired.fired_at < story_start + Duration::minutes(90),
        "{fired:?}"
    );
    assert!(fired.severity >= Severity::Warning, "{fired:?}");
}

#[test]
fn a_rare_word_in_a_few_neutral_questions_fires_on_the_fourth() {
    // A watch of 60 posts an hour (the slow scale warms up in about a day).
    rare_word_questions_fire_on_the_fourth_from_their_first(5);
}

#[test]
fn on_a_busy_watch_the_rare_word_story_still_starts_at_its_first_post() {
    // 360 posts an hour: three quarters of an hour back is some 270 posts back, further than
    // a memory of 64 posts reaches; the story must still start at its first question and fire
    // on the fourth (its posts span 35 minutes), not wait for posts after the ones it forgot.
    rare_word_questions_fire_on_the_fourth_from_their_first(30);
}

/// The first questions about an outage, after 40 hours of `per_epoch` background posts per
/// 5 minutes: neutral (no lexicon word), four authors in 35 minutes, worded differently, a word
/// this watch never uses. Four posts of a never-seen word in half an hour is news: the story
/// fires on the fourth and starts at the first.
fn rare_word_questions_fire_on_the_fourth_from_their_first(per_epoch: u64) {
    let mut rng = Lcg(23);
    let story_start = start() + Duration::hours(36);
    let quiet = background(&mut rng, start(), 40 * 3600, |_| per_epoch, "bg");
    let questions = [
        (
            0,
            "so apparently all the computers went down at the airport? any update",
        ),
        (
            18,
            "crew says the computer problem is everywhere, we wait at the gate",
        ),
        (25, "what is the deal with the computer network tonight"),
        (35, "any news on the computer outage affecting departures"),
        (46, "still sitting here, computer systems down"),
    ];
    let story: Vec<_> = questions
        .iter()
        .enumerate()
        .map(|(index, (minute, text))| {
            let at = story_start + Duration::minutes(*minute);
            watched(&format!("question{index}"), at, text, 0.0)
        })
        .collect();
    let fourth_at = story[3].scored.post.created_at;
    let fired = the_one_firing(vec![quiet, story]);
    assert_eq!(fired.fired_at, fourth_at, "{fired:?}");
    // It starts at its true first post, three quarters of an hour back.
    assert_eq!(fired.first_post_id, "question0", "{fired:?}");
    assert_eq!(fired.posts, 4, "{fired:?}");
    assert!(fired.terms.contains(&"computer".to_string()), "{fired:?}");
}

/// Runs the merged streams through a default detector; asserts that exactly one story fired
/// and returns its firing event.
fn the_one_firing(streams: Vec<Vec<tidewatch_model::WatchedPost>>) -> AlertEvent {
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let events = run(&mut detector, &merge(streams));
    let firing = firing_events(&events);
    assert_eq!(firing.len(), 1, "{events:#?}");
    firing[0].clone()
}

/// The events that fired a story (first alerts), in order.
fn firing_events(events: &[AlertEvent]) -> Vec<&AlertEvent> {
    events
        .iter()
        .filter(|event| event.state == AlertState::Firing)
        .collect()
}
