//! The dev dataset: deterministic given `now`, written through the store's own insert paths.

use chrono::{DateTime, Duration, Utc};
use tidewatch_model::{
    AlertAction, AlertActionKind, AlertEvent, AlertState, Author, Label, Post, PostKind,
    PostMetrics, ScoredPost, Sentiment, Severity,
};
use tidewatch_store::{CollectorHealthRow, CollectorStatus, PostStore, StoreError};

const WATCHES: [&str; 3] = ["acme-air", "globex", "initech"];
const SOURCES: [&str; 4] = ["mastodon", "bluesky", "reddit", "hackernews"];
const LANGUAGES: [&str; 3] = ["en", "en", "de"];
const PHRASES: [(&str, f64); 8] = [
    ("loving the new lounge at {w}", 0.64),
    ("{w} support answered in two minutes, great", 0.72),
    ("flight with {w} was fine, nothing special", 0.0),
    ("{w} app update is out today", 0.0),
    ("{w} lost my bag again, terrible", -0.74),
    ("waiting on hold with {w} for an hour", -0.36),
    ("{w} prices went up again", -0.2),
    ("cheap seats on {w} this weekend", 0.3),
];

/// SplitMix64, so the dataset depends only on `now`.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (mixed ^ (mixed >> 31)) % bound
    }
}

/// One post of the dataset.
struct PostSpec<'a> {
    id: String,
    source: &'a str,
    at: DateTime<Utc>,
    text: String,
    compound: f64,
    watches: Vec<String>,
    author: u64,
    language: &'a str,
}

fn scored(spec: PostSpec<'_>) -> ScoredPost {
    let PostSpec {
        id,
        source,
        at,
        text,
        compound,
        watches,
        author,
        language,
    } = spec;
    let negative = (-compound).max(0.0) / 2.0;
    let positive = compound.max(0.0) / 2.0;
    ScoredPost {
        post: Post {
            v: 1,
            source: source.to_string(),
            source_id: id.clone(),
            kind: PostKind::Post,
            created_at: at,
            author: Some(Author {
                id: Some(format!("user-{author}")),
                handle: Some(format!("@user{author}")),
                followers: Some(author * 37 % 5_000),
            }),
            text,
            lang: Some(language.to_string()),
            url: Some(format!("https://{source}.example/{id}")),
            parent_id: None,
            metrics: Some(PostMetrics {
                likes: author % 13,
                reposts: author % 5,
                replies: author % 3,
            }),
            rating: None,
        },
        sentiment: Some(Sentiment {
            neg: negative,
            neu: 1.0 - negative - positive,
            pos: positive,
            compound,
        }),
        label: Label::from_compound(compound),
        lang_detected: Some(language.to_string()),
        watches,
    }
}

/// What the events of one story share.
struct StorySpec<'a> {
    story_id: &'a str,
    watch: &'a str,
    title: &'a str,
    terms: &'a [&'a str],
    first_post_at: DateTime<Utc>,
    post_ids: Vec<String>,
}

fn event(
    story: &StorySpec<'_>,
    state: AlertState,
    severity: Severity,
    fired_at: DateTime<Utc>,
    posts: u64,
) -> AlertEvent {
    AlertEvent {
        v: 1,
        story_id: story.story_id.to_string(),
        watch: story.watch.to_string(),
        state,
        severity,
        fired_at,
        first_post_at: story.first_post_at,
        title: story.title.to_string(),
        terms: story.terms.iter().map(|term| term.to_string()).collect(),
        posts,
        negative_share: 0.62,
        score: 9.3,
        baseline: 1.2,
        threshold: 6.0,
        first_post_id: story.post_ids.first().cloned().unwrap_or_default(),
        post_ids: story.post_ids.clone(),
    }
}

/// Seeds the dataset; returns a one-line summary.
pub(crate) async fn seed(store: &PostStore, now: DateTime<Utc>) -> Result<String, StoreError> {
    let now = DateTime::from_timestamp(now.timestamp() / 60 * 60, 0).unwrap_or(now);
    let mut random = Random(now.timestamp() as u64);
    let mut posts = Vec::new();
    for index in 0..3_000_u64 {
        let at = now - Duration::seconds(random.below(72 * 3_600) as i64);
        let watch = WATCHES[random.below(3) as usize];
        let (phrase, compound) = PHRASES[random.below(PHRASES.len() as u64) as usize];
        let source = SOURCES[random.below(4) as usize];
        let language = LANGUAGES[random.below(3) as usize];
        let mut watches = vec![watch.to_string()];
        if random.below(10) == 0 {
            watches.push(
                WATCHES[(WATCHES.iter().position(|w| *w == watch).unwrap_or(0) + 1) % 3]
                    .to_string(),
            );
        }
        posts.push(scored(PostSpec {
            id: format!("seed-{index}"),
            source,
            at,
            text: phrase.replace("{w}", watch),
            compound,
            watches,
            author: random.below(400),
            language,
        }));
    }
    // A rising negative story: "fleet" + "fleek" complaints about acme-air over the last 3 hours.
    let story_start = now - Duration::hours(3);
    let mut story_ids = Vec::new();
    for index in 0..60_u64 {
        let minutes = (index * index) / 20;
        let at = story_start + Duration::minutes(minutes.min(179) as i64);
        let id = format!("fleet-{index}");
        story_ids.push(format!("mastodon:{id}"));
        posts.push(scored(PostSpec {
            id,
            source: "mastodon",
            at,
            text: format!("acme-air fleet is NOT on fleek, grounded again #{index}"),
            compound: -0.62,
            watches: vec!["acme-air".into()],
            author: 1_000 + index,
            language: "en",
        }));
    }
    store.insert_posts(&posts).await?;
    // Redeliver a slice: the counts must not change.
    store.insert_posts(&posts[..200]).await?;
    let evidence: Vec<String> = story_ids.iter().take(5).cloned().collect();
    let fleet = StorySpec {
        story_id: "story-fleet",
        watch: "acme-air",
        title: "acme-air: fleet fleek",
        terms: &["fleet", "fleek"],
        first_post_at: story_start,
        post_ids: evidence,
    };
    let bags = StorySpec {
        story_id: "story-bags",
        watch: "globex",
        title: "globex: lost bag",
        terms: &["bag", "lost"],
        first_post_at: now - Duration::hours(31),
        post_ids: vec![],
    };
    let hold = StorySpec {
        story_id: "story-hold",
        watch: "initech",
        title: "initech: on hold",
        terms: &["hold", "waiting"],
        first_post_at: now - Duration::minutes(90),
        post_ids: vec![],
    };
    let prices = StorySpec {
        story_id: "story-prices",
        watch: "globex",
        title: "globex: prices up",
        terms: &["prices"],
        first_post_at: now - Duration::hours(6),
        post_ids: vec![],
    };
    let events = vec![
        event(
            &fleet,
            AlertState::Firing,
            Severity::Warning,
            now - Duration::minutes(100),
            14,
        ),
        event(
            &fleet,
            AlertState::Updated,
            Severity::Critical,
            now - Duration::minutes(20),
            60,
        ),
        event(
            &bags,
            AlertState::Firing,
            Severity::Warning,
            now - Duration::hours(30),
            21,
        ),
        event(
            &bags,
            AlertState::Resolved,
            Severity::Warning,
            now - Duration::hours(26),
            25,
        ),
        event(
            &hold,
            AlertState::Firing,
            Severity::Info,
            now - Duration::minutes(45),
            9,
        ),
        event(
            &prices,
            AlertState::Firing,
            Severity::Warning,
            now - Duration::hours(5),
            11,
        ),
    ];
    store.insert_alert_events(&events).await?;
    store.insert_alert_events(&events[..2]).await?;
    let actions = vec![AlertAction {
        v: 1,
        action_id: format!("seed-ack-{}", now.timestamp()),
        story_id: "story-prices".into(),
        watch: "globex".into(),
        action: AlertActionKind::Ack,
        by: "responder".into(),
        at: now - Duration::hours(4),
        until: None,
        note: Some("looking into it".into()),
    }];
    store.insert_alert_actions(&actions).await?;
    let health = vec![
        CollectorHealthRow {
            name: "mastodon-main".into(),
            kind: "mastodon".into(),
            status: CollectorStatus::Ok,
            last_success_at: Some(now - Duration::seconds(20)),
            last_error: None,
            posts_last_hour: 412,
            checked_at: now,
        },
        CollectorHealthRow {
            name: "reddit".into(),
            kind: "reddit".into(),
            status: CollectorStatus::RateLimited,
            last_success_at: Some(now - Duration::minutes(7)),
            last_error: Some("HTTP 429, retry after 120 s".into()),
            posts_last_hour: 35,
            checked_at: now,
        },
        CollectorHealthRow {
            name: "appstore".into(),
            kind: "appstore".into(),
            status: CollectorStatus::Failing,
            last_success_at: Some(now - Duration::hours(6)),
            last_error: Some("connection refused".into()),
            posts_last_hour: 0,
            checked_at: now,
        },
    ];
    store.insert_collector_health(&health).await?;
    Ok(format!(
        "{} posts (200 redelivered), {} alert events, {} action, {} collectors",
        posts.len(),
        events.len(),
        actions.len(),
        health.len()
    ))
}
