//! Synthetic watched posts for the detector's tests: a deterministic generator (no clock, no
//! randomness source other than a seeded LCG), so every test run sees the same stream.

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use tidewatch_model::{
    Author, Label, Post, PostKind, PostMetrics, ScoredPost, Sentiment, WatchedPost, WIRE_VERSION,
};

pub(crate) const WATCH: &str = "acme-air";

/// Everyday vocabulary of an airline watch; none of these words make a story alone.
pub(crate) const VOCABULARY: &[&str] = &[
    "seat",
    "crew",
    "snack",
    "boarding",
    "pilot",
    "window",
    "aisle",
    "legroom",
    "wifi",
    "movie",
    "coffee",
    "luggage",
    "terminal",
    "airport",
    "lounge",
    "upgrade",
    "ticket",
    "booking",
    "app",
    "points",
    "miles",
    "status",
    "club",
    "morning",
    "evening",
    "weekend",
    "trip",
    "vacation",
    "family",
    "business",
    "boston",
    "denver",
    "chicago",
    "seattle",
    "austin",
    "miami",
    "orlando",
    "dallas",
    "phoenix",
    "atlanta",
    "service",
    "staff",
    "agent",
    "desk",
    "line",
    "security",
    "landing",
    "takeoff",
    "smooth",
    "bumpy",
    "view",
    "clouds",
    "sunset",
    "blanket",
    "pillow",
    "drink",
    "water",
    "meal",
    "sandwich",
    "cookie",
    "music",
    "headphones",
    "charger",
    "outlet",
    "overhead",
    "bin",
    "jacket",
    "passport",
    "gate",
    "flight",
    "schedule",
    "route",
    "nonstop",
    "connection",
    "layover",
    "hotel",
    "rental",
    "taxi",
    "parking",
    "shuttle",
    "weather",
    "rain",
    "snow",
    "sunny",
    "friday",
    "monday",
    "holiday",
    "kids",
    "baby",
    "dog",
    "photo",
    "selfie",
];

/// A small deterministic pseudo-random generator (64-bit LCG).
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub(crate) fn words(&mut self, count: usize) -> Vec<&'static str> {
        (0..count)
            .map(|_| VOCABULARY[self.below(VOCABULARY.len() as u64) as usize])
            .collect()
    }
}

pub(crate) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2015, 2, 20, 0, 0, 0).unwrap()
}

pub(crate) fn watched(id: &str, at: DateTime<Utc>, text: &str, compound: f64) -> WatchedPost {
    WatchedPost {
        watch: WATCH.to_string(),
        scored: ScoredPost {
            post: Post {
                v: WIRE_VERSION,
                source: "synthetic".to_string(),
                source_id: id.to_string(),
                kind: PostKind::Post,
                created_at: at,
                author: Some(Author {
                    id: Some(format!("author-{id}")),
                    handle: None,
                    followers: Some(100),
                }),
                text: text.to_string(),
                lang: Some("en".to_string()),
                url: None,
                parent_id: None,
                metrics: Some(PostMetrics::default()),
                rating: None,
            },
            sentiment: Some(Sentiment {
                neg: 0.0,
                neu: 1.0,
                pos: 0.0,
                compound,
            }),
            label: Label::from_compound(compound),
            lang_detected: Some("en".to_string()),
            watches: vec![WATCH.to_string()],
        },
    }
}

/// Background posts from `from` for `seconds`, at `per_epoch(hour)` posts per 5 minutes, mixed
/// sentiment (about a quarter negative), 4–7 everyday words each.
pub(crate) fn background(
    rng: &mut Lcg,
    from: DateTime<Utc>,
    seconds: i64,
    per_epoch: impl Fn(u32) -> u64,
    tag: &str,
) -> Vec<WatchedPost> {
    use chrono::Timelike;
    let mut posts = Vec::new();
    let mut epoch_start = from;
    let mut number = 0;
    while (epoch_start - from).num_seconds() < seconds {
        let count = per_epoch(epoch_start.hour());
        let mut offsets: Vec<i64> = (0..count).map(|_| rng.below(300) as i64).collect();
        offsets.sort_unstable();
        for offset in offsets {
            let size = 4 + rng.below(4) as usize;
            let text = rng.words(size).join(" ");
            let compound = match rng.below(4) {
                0 => -0.4,
                1 => 0.5,
                _ => 0.0,
            };
            let at = epoch_start + chrono::Duration::seconds(offset);
            posts.push(watched(&format!("{tag}{number}"), at, &text, compound));
            number += 1;
        }
        epoch_start += chrono::Duration::seconds(300);
    }
    posts
}

/// Merges streams by event time (stable: ties keep the order of `streams`).
pub(crate) fn merge(streams: Vec<Vec<WatchedPost>>) -> Vec<WatchedPost> {
    let mut all: Vec<WatchedPost> = streams.into_iter().flatten().collect();
    all.sort_by_key(|post| post.scored.post.created_at);
    all
}
