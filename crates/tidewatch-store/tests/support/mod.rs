//! Shared helpers for the ClickHouse integration tests: scored posts built from a seed, so each
//! test can compute its expected counts on its own. The throwaway database per test and the
//! generator are `tidewatch_store::testing`'s (shared with the API tests).

#![allow(dead_code)]

use chrono::{DateTime, Days, NaiveDate, Utc};
use tidewatch_model::{Author, Label, Post, PostKind, PostMetrics, ScoredPost, Sentiment};
pub(crate) use tidewatch_store::testing::{SplitMix64, TestDatabase};

pub(crate) const WATCH_NAMES: [&str; 4] = ["acme", "globex", "initech", "umbrella"];
const SOURCES: [&str; 4] = ["mastodon", "bluesky", "reddit", "hackernews"];

/// 2015-02-23T18:15:31Z plus `day_offset` days.
fn base_time_plus_days(day_offset: u64) -> DateTime<Utc> {
    let base = DateTime::parse_from_rfc3339("2015-02-23T18:15:31Z")
        .unwrap()
        .with_timezone(&Utc);
    base + Days::new(day_offset)
}

fn sentiment_of(compound: f64) -> Sentiment {
    let negative_part = (-compound).max(0.0) / 2.0;
    let positive_part = compound.max(0.0) / 2.0;
    Sentiment {
        neg: negative_part,
        neu: 1.0 - negative_part - positive_part,
        pos: positive_part,
        compound,
    }
}

fn post_at(source: &str, source_id: &str, created_at: DateTime<Utc>) -> Post {
    let is_review = source == "appstore";
    Post {
        v: 1,
        source: source.to_string(),
        source_id: source_id.to_string(),
        kind: if is_review {
            PostKind::Review
        } else {
            PostKind::Post
        },
        created_at,
        author: Some(Author {
            id: Some(format!("author-{source_id}")),
            handle: Some(format!("@{source_id}")),
            followers: Some(812),
        }),
        text: format!("text of {source_id}: the fleet is on fleek"),
        lang: Some("en".to_string()),
        url: Some(format!("https://example.test/{source_id}")),
        parent_id: None,
        metrics: Some(PostMetrics {
            likes: 3,
            reposts: 1,
            replies: 0,
        }),
        rating: is_review.then_some(2.0),
    }
}

fn scored_at(post: Post, watches: &[&str], compound: Option<f64>) -> ScoredPost {
    ScoredPost {
        post,
        sentiment: compound.map(sentiment_of),
        label: compound.map_or(Label::Unscored, Label::from_compound),
        lang_detected: Some("en".to_string()),
        watches: watches.iter().map(|watch| watch.to_string()).collect(),
    }
}

/// A scored post created `day_offset` days after the base time; `None` means unscored.
pub(crate) fn scored_post(
    source: &str,
    source_id: &str,
    day_offset: u64,
    watches: &[&str],
    compound: Option<f64>,
) -> ScoredPost {
    let post = post_at(source, source_id, base_time_plus_days(day_offset));
    scored_at(post, watches, compound)
}

/// A scored post created at noon UTC of `day`.
pub(crate) fn scored_post_on(day: NaiveDate, source_id: &str, compound: Option<f64>) -> ScoredPost {
    let noon = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    scored_at(post_at("mastodon", source_id, noon), &["acme"], compound)
}

/// The delete event for a post, sent `day_offset` days after the base time.
pub(crate) fn delete_of(source: &str, source_id: &str, day_offset: u64) -> ScoredPost {
    let mut post = post_at(source, source_id, base_time_plus_days(day_offset));
    post.kind = PostKind::Delete;
    post.text = String::new();
    post.author = None;
    post.metrics = None;
    ScoredPost {
        post,
        sentiment: None,
        label: Label::Unscored,
        lang_detected: None,
        watches: Vec::new(),
    }
}

/// `count` distinct posts over a week, from four sources, each in a random subset of the
/// watches (about one in fifty lists a watch twice), one in ten unscored.
pub(crate) fn seeded_posts(count: usize, seed: u64) -> Vec<ScoredPost> {
    let mut random = SplitMix64(seed);
    let mut posts = Vec::with_capacity(count);
    for index in 0..count {
        let source = SOURCES[random.below(SOURCES.len() as u64) as usize];
        let source_id = format!("{source}-{index}");
        let created_at = base_time_plus_days(random.below(7))
            + chrono::Duration::seconds(random.below(86_400) as i64);
        let mut watches: Vec<&str> = WATCH_NAMES
            .iter()
            .copied()
            .filter(|_| random.below(100) < 35)
            .collect();
        if !watches.is_empty() && random.below(50) == 0 {
            watches.push(watches[0]);
        }
        let compound = if random.below(10) == 0 {
            None
        } else {
            Some((random.below(20_001) as f64 - 10_000.0) / 10_000.0)
        };
        posts.push(scored_at(
            post_at(source, &source_id, created_at),
            &watches,
            compound,
        ));
    }
    posts
}

/// `count` distinct posts spread over `span_seconds` from `start`, with the variety the rollup
/// must keep exact: authors from a pool of 25 (so authors repeat within and across buckets),
/// one in eight without any author, languages `en` / `de` / `fr` (one in five declared but not
/// detected), watches in random subsets, one in ten unscored.
pub(crate) fn varied_posts(
    count: usize,
    seed: u64,
    start: DateTime<Utc>,
    span_seconds: u64,
) -> Vec<ScoredPost> {
    const LANGUAGES: [&str; 3] = ["en", "de", "fr"];
    let mut random = SplitMix64(seed);
    let mut posts = Vec::with_capacity(count);
    for index in 0..count {
        let source = SOURCES[random.below(3) as usize];
        let source_id = format!("v{seed}-{index}");
        let created_at = start + chrono::Duration::seconds(random.below(span_seconds) as i64);
        let mut post = post_at(source, &source_id, created_at);
        post.author = match random.below(8) {
            0 => None,
            _ => Some(Author {
                id: Some(format!("pool-{}", random.below(25))),
                handle: None,
                followers: None,
            }),
        };
        let language = LANGUAGES[random.below(3) as usize];
        post.lang = Some(language.to_string());
        let watches: Vec<&str> = WATCH_NAMES[..3]
            .iter()
            .copied()
            .filter(|_| random.below(100) < 50)
            .collect();
        let compound = if random.below(10) == 0 {
            None
        } else {
            Some((random.below(20_001) as f64 - 10_000.0) / 10_000.0)
        };
        let mut scored = scored_at(post, &watches, compound);
        scored.lang_detected = (random.below(5) != 0).then(|| language.to_string());
        posts.push(scored);
    }
    posts
}
