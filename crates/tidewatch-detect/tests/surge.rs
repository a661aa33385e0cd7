//! A watch that surges for hours (a news event): its many conversations are sub-stories of
//! the event, not pages; a story that spreads across conversations inside it pages once; and
//! a story that is most of a quiet watch's volume fires early.

mod support;

use chrono::{DateTime, Duration, Utc};
use support::{background, merge, start, watched, Lcg};
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::{AlertEvent, AlertState, PostKind, WatchedPost};

fn reply(id: &str, at: DateTime<Utc>, text: &str, compound: f64, parent: &str) -> WatchedPost {
    let mut post = watched(id, at, text, compound);
    post.scored.post.parent_id = Some(parent.to_string());
    post.scored.post.kind = PostKind::Reply;
    post
}

/// A conversation: a root post at `at`, then `replies` replies over ten minutes, each to the
/// root or to an earlier reply, in everyday words (a sub-topic of the event's chatter).
fn conversation(
    rng: &mut Lcg,
    tag: &str,
    at: DateTime<Utc>,
    replies: i64,
    compound: f64,
) -> Vec<WatchedPost> {
    let root = format!("{tag}-root");
    let mut posts = vec![watched(&root, at, &rng.words(6).join(" "), compound)];
    let mut ids = vec![root];
    for index in 0..replies {
        let when = at + Duration::seconds(20 + index * 600 / replies);
        let parent = ids[rng.below(ids.len() as u64) as usize].clone();
        let id = format!("{tag}-{index}");
        posts.push(reply(&id, when, &rng.words(5).join(" "), compound, &parent));
        ids.push(id);
    }
    posts
}

fn firings(events: &[AlertEvent]) -> Vec<&AlertEvent> {
    events
        .iter()
        .filter(|event| event.state == AlertState::Firing)
        .collect()
}

#[test]
#[ignore = "issue 16, not met yet: the story pages once and early, but pairs of everyday words \
            across the surge's conversations still page three times"]
fn a_surging_watch_pages_once_for_the_negative_story_not_per_sub_topic() {
    let mut rng = Lcg(2024);
    // A day and a half of quiet background, then six hours of an event: four times the
    // volume, and a new conversation of 15 replies every ten minutes (36 sub-topics).
    let surge = start() + Duration::hours(36);
    let quiet = background(&mut rng, start(), 42 * 3600, |_| 12, "bg");
    let chatter = background(&mut rng, surge, 6 * 3600, |_| 36, "ev");
    let mut conversations = Vec::new();
    for index in 0..36 {
        let at = surge + Duration::minutes(10 * index);
        let compound = if index % 2 == 0 { -0.4 } else { 0.2 };
        conversations.extend(conversation(
            &mut rng,
            &format!("c{index}"),
            at,
            15,
            compound,
        ));
    }
    // Three hours in: a negative story that several people post about, each starting a
    // conversation, in its own words.
    let story_start = surge + Duration::hours(3);
    let mut story = Vec::new();
    for index in 0..12 {
        let at = story_start + Duration::minutes(3 * index);
        let text = format!(
            "gunman takes hostages in the supermarket {}",
            rng.words(2).join(" ")
        );
        story.push(watched(&format!("story{index}"), at, &text, -0.7));
        for answer in 0..3 {
            let when = at + Duration::seconds(40 + 30 * answer);
            let text = format!("hostages supermarket {}", rng.words(2).join(" "));
            let id = format!("story{index}-{answer}");
            story.push(reply(&id, when, &text, -0.6, &format!("story{index}")));
        }
    }
    let posts = merge(vec![quiet, chatter, conversations, story]);
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let mut events: Vec<AlertEvent> = posts
        .iter()
        .flat_map(|post| detector.observe(post))
        .collect();
    events.extend(detector.advance_to(surge + Duration::hours(12)));
    let fired = firings(&events);
    assert_eq!(fired.len(), 1, "{fired:#?}");
    assert!(
        fired[0].first_post_id.starts_with("story"),
        "{:?}",
        fired[0]
    );
    assert!(
        fired[0].fired_at < story_start + Duration::minutes(20),
        "{:?}",
        fired[0]
    );
}

#[test]
fn a_story_that_is_most_of_a_quiet_watch_fires_early() {
    let mut rng = Lcg(31);
    // Two posts every five minutes for a day and a half, then one conversation that is most
    // of what the watch says: six replies every five minutes for an hour.
    let story_start = start() + Duration::hours(36);
    let quiet = background(&mut rng, start(), 38 * 3600, |_| 2, "bg");
    let mut story = vec![watched(
        "root",
        story_start,
        "the app charged my card twice for one ticket",
        -0.5,
    )];
    for index in 0..72 {
        let at = story_start + Duration::seconds(30 + index * 50);
        let text = format!("charged twice {}", rng.words(3).join(" "));
        story.push(reply(&format!("r{index}"), at, &text, -0.5, "root"));
    }
    let posts = merge(vec![quiet, story]);
    let mut detector = Detector::new(DetectorConfig::default()).unwrap();
    let events: Vec<AlertEvent> = posts
        .iter()
        .flat_map(|post| detector.observe(post))
        .collect();
    let fired = firings(&events);
    assert_eq!(fired.len(), 1, "{events:#?}");
    assert_eq!(fired[0].first_post_id, "root", "{:?}", fired[0]);
    // Early: before a sixth of the hour's 73 posts were out.
    assert!(fired[0].posts <= 12, "{:?}", fired[0]);
}
