//! A simulated social stream for the demo and for tests: a few fictional brands, normal
//! chatter with a day / night rhythm, and one injected negative story that starts small and
//! spreads.
//!
//! Guarantees:
//! * pure: no IO and no clock; [`Simulator::posts_between`] takes event time from the caller;
//! * deterministic: the same [`SimulatorConfig`] gives the same posts (ids, times, texts)
//!   whichever windows they are asked for in, because each brand's minute is generated from its
//!   own seeded stream and a window only filters (threads that start before a window and
//!   continue into it are regenerated, not remembered);
//! * every post is a valid canonical [`Post`] with source `"simulate"` and a unique
//!   `source_id`; replies and reposts point at posts of the stream through `parent_id`; reviews
//!   carry a rating; every original mentions its brand (as "Acme Air", "@AcmeAir", "#AcmeAir"
//!   or "acme air"), so a watch on [`SimulatedBrand::watch_terms`] matches it, and replies
//!   that do not mention it inherit the watch from their parent;
//! * texts come from templates × vocabulary × handles, so normal posts are rarely near
//!   duplicates; the story's words (`charged`, `twice`) never occur in normal traffic.

mod rng;
mod settings;
mod story;
mod vocabulary;

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use tidewatch_model::{Author, Post, PostKind, PostMetrics, WIRE_VERSION};

use rng::{text_hash, SimRng};
use vocabulary::{fill, handle, post_template, reply_template, Tone, REVIEW_TEMPLATES};

pub use settings::SimulateSource;
pub use story::STORY_MINUTES;
pub use vocabulary::BrandKind;

/// The `source` of every simulated post.
pub const SIMULATE_SOURCE: &str = "simulate";

/// The longest a normal thread lasts after its first post (replies and reposts), in minutes.
const THREAD_MINUTES: i64 = 90;

/// A fictional brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedBrand {
    /// As written in posts: "Acme Air".
    pub name: String,
    /// The watch name that alerts and trends are keyed by: "acme-air".
    pub watch: String,
    /// The brand's account, without `@`: "AcmeAir".
    pub handle: String,
    pub kind: BrandKind,
}

impl SimulatedBrand {
    pub fn new(name: &str, watch: &str, handle: &str, kind: BrandKind) -> SimulatedBrand {
        SimulatedBrand {
            name: name.to_string(),
            watch: watch.to_string(),
            handle: handle.to_string(),
            kind,
        }
    }

    /// Acme Air (airline), Globex Bank (bank) and Initech (software).
    pub fn defaults() -> Vec<SimulatedBrand> {
        vec![
            SimulatedBrand::new("Acme Air", "acme-air", "AcmeAir", BrandKind::Airline),
            SimulatedBrand::new("Globex Bank", "globex-bank", "GlobexBank", BrandKind::Bank),
            SimulatedBrand::new("Initech", "initech", "Initech", BrandKind::Software),
        ]
    }

    /// The `any` terms of a watch that matches every mention of the brand: its name as a
    /// phrase and its handle (which also matches `@Handle` and `#Handle`).
    pub fn watch_terms(&self) -> Vec<String> {
        let mut terms = vec![self.name.to_lowercase(), self.handle.to_lowercase()];
        terms.dedup();
        terms
    }

    /// One of the ways people write the brand.
    pub(crate) fn mention(&self, rng: &mut SimRng) -> String {
        match rng.weighted(&[0.5, 0.25, 0.1, 0.15]) {
            0 => self.name.clone(),
            1 => format!("@{}", self.handle),
            2 => format!("#{}", self.handle),
            _ => self.name.to_lowercase(),
        }
    }
}

/// The injected story: which brand, and when its first post appears (event time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryPlan {
    pub watch: String,
    pub starts_at: DateTime<Utc>,
}

/// The simulator's configuration (built from a [`SimulateSource`] by the runner).
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    pub seed: u64,
    pub brands: Vec<SimulatedBrand>,
    /// New threads (posts and reviews) per brand per hour at the daily peak (15:00 UTC); the
    /// quietest hour (03:00 UTC) has about a tenth. Replies and reposts come on top.
    pub peak_threads_per_hour: f64,
    pub story: Option<StoryPlan>,
}

impl Default for SimulatorConfig {
    fn default() -> SimulatorConfig {
        SimulatorConfig {
            seed: 7,
            brands: SimulatedBrand::defaults(),
            peak_threads_per_hour: 40.0,
            story: None,
        }
    }
}

/// What is wrong with a [`SimulatorConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimulatorError {
    /// Fatal: the configuration must be fixed.
    #[error("simulate: the story's watch {0:?} is not one of the brands")]
    UnknownStoryWatch(String),
    /// Fatal: the configuration must be fixed.
    #[error("simulate: {0}")]
    Invalid(String),
}

/// The simulated stream of one configuration.
#[derive(Debug, Clone)]
pub struct Simulator {
    config: SimulatorConfig,
    /// The story's posts (generated once; they are few).
    story: Vec<Post>,
}

impl Simulator {
    pub fn new(config: SimulatorConfig) -> Result<Simulator, SimulatorError> {
        if !(config.peak_threads_per_hour.is_finite()
            && (0.0..=100_000.0).contains(&config.peak_threads_per_hour))
        {
            return Err(SimulatorError::Invalid(
                "peak_threads_per_hour must be within 0..=100000".to_string(),
            ));
        }
        let mut watches: Vec<&str> = config.brands.iter().map(|b| b.watch.as_str()).collect();
        watches.sort_unstable();
        if watches.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(SimulatorError::Invalid(
                "brand watches must be unique".into(),
            ));
        }
        let story = match &config.story {
            None => Vec::new(),
            Some(plan) => {
                let brand = config.brands.iter().find(|brand| brand.watch == plan.watch);
                let brand =
                    brand.ok_or_else(|| SimulatorError::UnknownStoryWatch(plan.watch.clone()))?;
                story::story_posts(config.seed, brand, plan.starts_at)
            }
        };
        Ok(Simulator { config, story })
    }

    pub fn config(&self) -> &SimulatorConfig {
        &self.config
    }

    /// Every post created in `[from, to)`, oldest first (ties by `source_id`).
    pub fn posts_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Post> {
        if to <= from {
            return Vec::new();
        }
        let first_minute = from.timestamp().div_euclid(60) - THREAD_MINUTES;
        let last_minute = (to.timestamp() - 1).div_euclid(60);
        let within = |post: &Post| post.created_at >= from && post.created_at < to;
        let mut posts: Vec<Post> = Vec::new();
        for (index, brand) in self.config.brands.iter().enumerate() {
            for minute in first_minute..=last_minute {
                let generated = self.minute_of(index, brand, minute);
                posts.extend(generated.into_iter().filter(within));
            }
        }
        posts.extend(self.story.iter().filter(|post| within(post)).cloned());
        posts.sort_by(|a, b| (a.created_at, &a.source_id).cmp(&(b.created_at, &b.source_id)));
        posts
    }

    /// The threads that start in one brand's minute, with all their replies and reposts.
    fn minute_of(&self, index: usize, brand: &SimulatedBrand, minute: i64) -> Vec<Post> {
        let mut rng = SimRng::for_slot(self.config.seed, index as u64, minute);
        let start = Utc.timestamp_opt(minute * 60, 0).single();
        let Some(start) = start else {
            return Vec::new();
        };
        let mean = self.config.peak_threads_per_hour / 60.0 * day_rhythm(start);
        let threads = rng.poisson(mean);
        let mut posts = Vec::new();
        for thread in 0..threads {
            let at = start + Duration::milliseconds(rng.below(60_000) as i64);
            let id = format!("{}/{minute}-{thread}", brand.watch);
            thread_posts(brand, &id, at, &mut rng, &mut posts);
        }
        posts
    }
}

/// Relative activity at `at` (1 at 15:00 UTC, about 0.1 at 03:00 UTC), smooth over the day.
pub fn day_rhythm(at: DateTime<Utc>) -> f64 {
    let hour = f64::from(at.num_seconds_from_midnight()) / 3600.0;
    let wave = (1.0 - (std::f64::consts::TAU * (hour - 3.0) / 24.0).cos()) / 2.0;
    0.1 + 0.9 * wave.powf(1.5)
}

/// One normal thread: a post (or a review) with its replies and reposts.
fn thread_posts(
    brand: &SimulatedBrand,
    id: &str,
    at: DateTime<Utc>,
    rng: &mut SimRng,
    posts: &mut Vec<Post>,
) {
    let author = handle(rng);
    if rng.chance(0.15) {
        let (rating, template) = *rng.pick(REVIEW_TEMPLATES);
        let text = fill(template, brand, rng);
        let review_id = format!("{id}/review");
        let review = build_post(&review_id, PostKind::Review, at, &author, &text, None, None);
        posts.push(Post {
            rating: Some(f32::from(rating)),
            url: Some(format!(
                "https://apps.example/{}/reviews/{review_id}",
                brand.watch
            )),
            ..review
        });
        return;
    }
    let tone = [Tone::Positive, Tone::Neutral, Tone::Negative][rng.weighted(&[0.35, 0.4, 0.25])];
    let text = fill(post_template(brand.kind, tone, rng), brand, rng);
    // Most posts get no answer; none gets more than three (a normal thread is no story).
    let replies = rng.weighted(&[0.6, 0.25, 0.1, 0.05]);
    let reposts = rng.weighted(&[0.8, 0.15, 0.05]).min(3 - replies);
    let metrics = PostMetrics {
        likes: rng.below(20) + 4 * (replies + reposts) as u64,
        reposts: reposts as u64,
        replies: replies as u64,
    };
    let original = build_post(id, PostKind::Post, at, &author, &text, None, Some(metrics));
    for reply in 0..replies {
        let delay = Duration::seconds(30 + rng.below(80 * 60) as i64);
        let replier = handle(rng);
        let reply_tone = if rng.chance(0.6) { tone } else { Tone::Neutral };
        let body = fill(reply_template(reply_tone, rng), brand, rng);
        let text = format!("@{author} {body}");
        let reply_id = format!("{id}/r{reply}");
        let kind = PostKind::Reply;
        posts.push(build_post(
            &reply_id,
            kind,
            at + delay,
            &replier,
            &text,
            Some(id),
            None,
        ));
    }
    for repost in 0..reposts {
        let delay = Duration::seconds(60 + rng.below(85 * 60) as i64);
        let reposter = handle(rng);
        let repost_id = format!("{id}/s{repost}");
        let kind = PostKind::Repost;
        posts.push(build_post(
            &repost_id,
            kind,
            at + delay,
            &reposter,
            &text,
            Some(id),
            None,
        ));
    }
    posts.push(original);
}

/// Accounts with a large following (news and consumer outlets) that the story reaches.
const BIG_ACCOUNTS: &[&str] = &[
    "travelwire_news",
    "consumerwatch",
    "thepointsdesk",
    "fintechdaily",
];

/// An author's followers: stable per handle, log-uniform from 10 to about 20,000, and
/// hundreds of thousands for the big accounts.
pub(crate) fn followers_of(handle: &str) -> u64 {
    let hash = text_hash(handle);
    if BIG_ACCOUNTS.contains(&handle) {
        return 150_000 + hash % 250_000;
    }
    let unit = (hash >> 11) as f64 / (1u64 << 53) as f64;
    (10.0 * 2000f64.powf(unit)).round() as u64
}

/// A simulated post with its author, url and language filled in.
pub(crate) fn build_post(
    id: &str,
    kind: PostKind,
    at: DateTime<Utc>,
    handle: &str,
    text: &str,
    parent: Option<&str>,
    metrics: Option<PostMetrics>,
) -> Post {
    Post {
        v: WIRE_VERSION,
        source: SIMULATE_SOURCE.to_string(),
        source_id: id.to_string(),
        kind,
        created_at: at,
        author: Some(Author {
            id: Some(format!("sim:{handle}")),
            handle: Some(handle.to_string()),
            followers: Some(followers_of(handle)),
        }),
        text: text.to_string(),
        lang: Some("en".to_string()),
        url: Some(format!("https://social.example/@{handle}/{id}")),
        parent_id: parent.map(str::to_string),
        metrics: Some(metrics.unwrap_or_default()),
        rating: None,
    }
}

#[cfg(test)]
mod tests;
