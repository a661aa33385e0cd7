//! Tests of the score transform: fan-out, rejections, deletes, unwatched posts, languages,
//! inheritance through the parent memory, and sentiment equal to the `vader-parity` oracle.

use super::*;
use crate::WatchConfig;

fn watch(name: &str, any: &[&str]) -> WatchConfig {
    WatchConfig {
        name: name.into(),
        any: any.iter().map(|term| term.to_string()).collect(),
        all: vec![],
        none: vec![],
        languages: vec![],
    }
}

fn transform_with(watches: &[WatchConfig]) -> ScoreTransform {
    ScoreTransform::new(WatchMatcher::new(watches).unwrap(), Topics::default())
}

fn transform() -> ScoreTransform {
    transform_with(&[watch("acme", &["acme"])])
}

fn record(payload: &str) -> Record {
    Record::new("posts.raw", 0, 7, None, payload.as_bytes().to_vec())
}

fn post(source_id: &str, text: &str, extra: &str) -> String {
    format!(
        r#"{{"source":"mastodon","source_id":"{source_id}","created_at":"2024-05-01T10:00:00Z","text":{}{extra}}}"#,
        serde_json::to_string(text).unwrap()
    )
}

fn run(transform: &mut ScoreTransform, line: &str) -> Vec<OutRecord> {
    let mut output = Vec::new();
    transform.process(&record(line), &mut output).unwrap();
    output
}

fn scored(output: &[OutRecord]) -> ScoredPost {
    let last = output.last().expect("a posts.scored record");
    assert_eq!(last.topic, "posts.scored");
    ScoredPost::from_json_bytes(&last.payload_bytes()).unwrap()
}

#[test]
fn scores_and_fans_out_to_watches() {
    let mut transform = transform();
    let line = r#"{"source":"webhook","source_id":"1","created_at":"2024-05-01T10:00:00Z","text":"ACME lost my bag, terrible service"}"#;
    let output = run(&mut transform, line);
    assert_eq!(output.len(), 2);
    assert_eq!(output[0].topic, "posts.watched");
    assert_eq!(output[0].key, "acme");
    assert_eq!(output[1].topic, "posts.scored");
    assert_eq!(output[1].key, "webhook:1");
    let watched: WatchedPost = serde_json::from_slice(&output[0].payload_bytes()).unwrap();
    assert_eq!(watched.watch, "acme");
    let scored = scored(&output);
    assert_eq!(scored.label, Label::Negative);
    assert!(scored.sentiment.unwrap().compound < -0.05);
    assert_eq!(scored.watches, vec!["acme"]);
    assert_eq!(watched.scored, scored);
}

#[test]
fn rejects_invalid_posts_with_the_reason() {
    let mut transform = transform();
    let mut output = Vec::new();
    let rejection = transform
        .process(
            &record(r#"{"source":"x","created_at":"2024-05-01T10:00:00Z","text":"hi"}"#),
            &mut output,
        )
        .unwrap_err();
    assert_eq!(rejection.kind, "missing_field");
    assert!(rejection.reason.contains("source_id"));
    assert!(output.is_empty());
}

#[test]
fn deletes_pass_through_unscored_even_when_unwatched() {
    let mut transform = transform();
    let line = r#"{"source":"bluesky","source_id":"at://a/1","kind":"delete","created_at":"2024-05-01T10:00:00Z"}"#;
    let output = run(&mut transform, line);
    assert_eq!(output.len(), 1);
    let scored = scored(&output);
    assert_eq!(scored.label, Label::Unscored);
    assert_eq!(scored.sentiment, None);
    assert_eq!(transform.stats().unwatched, 0);
}

#[test]
fn unwatched_posts_are_counted_not_sent_unless_no_watch_is_configured() {
    let mut transform = transform();
    let output = run(&mut transform, &post("1", "nothing to see here", ""));
    assert!(output.is_empty());
    assert_eq!(transform.stats().unwatched, 1);
    assert_eq!(
        transform.stats().scored,
        0,
        "dropped before language and VADER"
    );

    let mut everything = transform_with(&[]);
    let output = run(&mut everything, &post("1", "nothing to see here", ""));
    assert_eq!(output.len(), 1);
    assert!(scored(&output).watches.is_empty());
    assert_eq!(everything.stats().unwatched, 0);
}

#[test]
fn other_languages_are_stored_unscored_and_still_watched() {
    let mut transform = transform();
    let text = "El vuelo de ACME se retrasó tres horas, perdimos la conexión y nadie nos dio ninguna explicación en el aeropuerto";
    let output = run(&mut transform, &post("es1", text, r#","lang":"en""#));
    assert_eq!(output.len(), 2);
    let scored = scored(&output);
    assert_eq!(scored.sentiment, None);
    assert_eq!(scored.label, Label::Unscored);
    assert_eq!(scored.lang_detected.as_deref(), Some("es"));
    assert_eq!(scored.watches, vec!["acme"]);
    assert_eq!(transform.stats().unscored, 1);

    let short = run(
        &mut transform,
        &post("en1", "ACME :(", r#","lang":"en-GB""#),
    );
    let short = self::scored(&short);
    assert_eq!(short.lang_detected.as_deref(), Some("en"));
    assert_eq!(short.label, Label::Negative);
}

#[test]
fn replies_and_reposts_inherit_their_parents_watches() {
    let mut transform = transform_with(&[watch("acme", &["acme"]), watch("globex", &["globex"])]);
    run(&mut transform, &post("p1", "ACME cancelled my flight", ""));
    let reply = run(
        &mut transform,
        &post(
            "r1",
            "same here, 3 hours on hold",
            r#","kind":"reply","parent_id":"p1""#,
        ),
    );
    assert_eq!(
        reply.len(),
        2,
        "inherited watch: posts.watched + posts.scored"
    );
    assert_eq!(reply[0].key, "acme");
    assert_eq!(scored(&reply).watches, vec!["acme"]);

    // A reply to the reply inherits too, and adds its own matches.
    let deeper = run(
        &mut transform,
        &post(
            "r2",
            "globex did the same to me",
            r#","kind":"reply","parent_id":"r1""#,
        ),
    );
    assert_eq!(scored(&deeper).watches, vec!["acme", "globex"]);
    let repost = run(
        &mut transform,
        &post("s1", "", r#","kind":"repost","parent_id":"r2""#),
    );
    assert_eq!(scored(&repost).watches, vec!["acme", "globex"]);

    // Another source's post with the same id is another post; unknown parents give nothing.
    let other_source = r#"{"source":"reddit","source_id":"x","parent_id":"p1","kind":"comment","created_at":"2024-05-01T10:00:00Z","text":"agreed"}"#;
    assert!(run(&mut transform, other_source).is_empty());
    let orphan = post("r3", "agreed", r#","kind":"reply","parent_id":"gone""#);
    assert!(run(&mut transform, &orphan).is_empty());
    assert_eq!(transform.stats().inherited, 3);
}

#[test]
fn the_parent_memory_is_bounded_and_can_be_disabled() {
    let mut transform = transform().with_parent_memory(2);
    for id in ["p1", "p2", "p3"] {
        run(&mut transform, &post(id, "acme again", ""));
    }
    let reply = |parent: &str| post("r", "me too", &format!(r#","parent_id":"{parent}""#));
    assert!(
        run(&mut transform, &reply("p1")).is_empty(),
        "p1 was evicted"
    );
    assert_eq!(run(&mut transform, &reply("p3")).len(), 2);

    let mut forgetful = transform_with(&[watch("acme", &["acme"])]).with_parent_memory(0);
    run(&mut forgetful, &post("p1", "acme again", ""));
    assert!(run(&mut forgetful, &reply("p1")).is_empty());
}

#[test]
fn sentiment_is_exactly_vader() {
    let oracle = vader_parity::SentimentIntensityAnalyzer::new();
    let mut transform = transform_with(&[]);
    let texts = [
        "VADER is smart, handsome, and funny.",
        "The book was kind of good, but the ending was NOT GREAT!!!",
        "Today only kinda sux! But I'll get by, lol",
        "Not bad at all :)",
        "At least it isn't a horrible book.",
        "the flight was never on time and the staff were rude",
    ];
    for (index, text) in texts.iter().enumerate() {
        let output = run(&mut transform, &post(&index.to_string(), text, ""));
        let sentiment = scored(&output).sentiment.expect("English is scored");
        let expected = oracle.polarity_scores(text);
        assert_eq!(
            (
                sentiment.neg,
                sentiment.neu,
                sentiment.pos,
                sentiment.compound
            ),
            (expected.neg, expected.neu, expected.pos, expected.compound),
            "{text}"
        );
    }
}
