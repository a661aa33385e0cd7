//! Shared helpers for the API integration tests: a throwaway ClickHouse database per test, an
//! in-process router, requests, and a deterministic seed whose expected aggregates each test
//! computes on its own (never through the code under test).
//!
//! Guarantees: [`TestApi::start`] returns `None` (after printing why) only when no ClickHouse
//! answers and `CI` is not `true`; the database (`tidewatch_store::testing::TestDatabase`) is
//! unique per process, time and label, and is dropped when the `TestApi` goes out of scope.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use tidewatch_api::{router, ActionSink, ActionSinkError, ApiConfig, ApiState, Role, TokenConfig};
use tidewatch_model::{
    AlertAction, AlertEvent, AlertState, Author, Label, Post, PostKind, PostMetrics, ScoredPost,
    Sentiment, Severity,
};
use tidewatch_store::testing::{SplitMix64, TestDatabase};
use tidewatch_store::PostStore;
use tower::ServiceExt;

pub const VIEWER: &str = "viewer-token-for-tests";
pub const RESPONDER: &str = "responder-token-for-tests";
pub const ADMIN: &str = "admin-token-for-tests";

/// Records published actions; fails while `failing` is set.
#[derive(Default)]
pub struct RecordingSink {
    pub failing: AtomicBool,
    pub published: std::sync::Mutex<Vec<AlertAction>>,
}

#[async_trait::async_trait]
impl ActionSink for RecordingSink {
    async fn publish(&self, action: &AlertAction) -> Result<(), ActionSinkError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ActionSinkError {
                message: "bus down".into(),
                retryable: true,
            });
        }
        self.published.lock().unwrap().push(action.clone());
        Ok(())
    }
}

pub struct TestApi {
    pub store: PostStore,
    pub sink: Arc<RecordingSink>,
    pub app: axum::Router,
    /// Dropped with the `TestApi`, dropping the database.
    _database: TestDatabase,
}

pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApi {
    pub async fn start(label: &str) -> Option<TestApi> {
        let database = TestDatabase::create(&format!("api_{label}")).await?;
        let store = database.store().clone();
        store.migrate().await.expect("migrate");
        let config = ApiConfig {
            tokens: vec![
                TokenConfig::for_token("vera", VIEWER, Role::Viewer),
                TokenConfig::for_token("rita", RESPONDER, Role::Responder),
                TokenConfig::for_token("adam", ADMIN, Role::Admin),
            ],
            ..ApiConfig::default()
        };
        let sink = Arc::new(RecordingSink::default());
        let app = router(ApiState::new(config, store.clone(), sink.clone()));
        Some(TestApi {
            store,
            sink,
            app,
            _database: database,
        })
    }

    pub async fn request(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .app
            .clone()
            .oneshot(builder.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            content_type,
            body,
        }
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Answer {
        self.request("GET", uri, token, "").await
    }
}

/// An alert event of a story on watch `acme`, fired `minutes` after the seed's start.
pub fn story_event(story_id: &str, state: AlertState, minutes: i64) -> AlertEvent {
    AlertEvent {
        v: 1,
        story_id: story_id.into(),
        watch: "acme".into(),
        state,
        severity: Severity::Warning,
        fired_at: seed_start() + Duration::minutes(minutes),
        first_post_at: seed_start(),
        title: "percent story".into(),
        terms: vec!["100%".into()],
        posts: 3,
        negative_share: 0.5,
        score: 7.0,
        baseline: 1.0,
        threshold: 6.0,
        post_ids: vec!["mastodon:quote".into()],
        first_post_id: "mastodon:percent".into(),
    }
}

/// The seed's time range: 2015-02-23T00:00:00Z plus two days.
pub fn seed_start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_424_649_600, 0).unwrap()
}

pub const SEED_WATCHES: [&str; 3] = ["acme", "globex", "initech"];
pub const SEED_SOURCES: [&str; 3] = ["mastodon", "bluesky", "reddit"];
pub const SEED_LANGUAGES: [&str; 3] = ["en", "de", "fr"];

/// SplitMix64.
/// One seeded post, with the fields the tests compute expectations from.
#[derive(Debug, Clone)]
pub struct SeedPost {
    pub source: &'static str,
    pub source_id: String,
    pub created_at: DateTime<Utc>,
    pub watches: Vec<&'static str>,
    pub language: &'static str,
    pub author: String,
    pub compound: Option<f64>,
    pub text: String,
}

impl SeedPost {
    /// negative ≤ −0.05 < neutral < 0.05 ≤ positive; unscored without a compound.
    pub fn label(&self) -> &'static str {
        match self.compound {
            None => "unscored",
            Some(value) if value <= -0.05 => "negative",
            Some(value) if value >= 0.05 => "positive",
            Some(_) => "neutral",
        }
    }

    pub fn to_scored(&self) -> ScoredPost {
        ScoredPost {
            post: Post {
                v: 1,
                source: self.source.to_string(),
                source_id: self.source_id.clone(),
                kind: PostKind::Post,
                created_at: self.created_at,
                author: Some(Author {
                    id: Some(self.author.clone()),
                    handle: Some(format!("@{}", self.author)),
                    followers: Some(100),
                }),
                text: self.text.clone(),
                lang: Some(self.language.to_string()),
                url: None,
                parent_id: None,
                metrics: Some(PostMetrics {
                    likes: 1,
                    reposts: 0,
                    replies: 0,
                }),
                rating: None,
            },
            sentiment: self.compound.map(|compound| Sentiment {
                neg: 0.0,
                neu: 1.0,
                pos: 0.0,
                compound,
            }),
            label: match self.label() {
                "negative" => Label::Negative,
                "positive" => Label::Positive,
                "neutral" => Label::Neutral,
                _ => Label::Unscored,
            },
            lang_detected: Some(self.language.to_string()),
            watches: self.watches.iter().map(|watch| watch.to_string()).collect(),
        }
    }

    pub fn delete_event(&self) -> ScoredPost {
        let mut scored = self.to_scored();
        scored.post.kind = PostKind::Delete;
        scored.post.text = String::new();
        scored.sentiment = None;
        scored.label = Label::Unscored;
        scored.watches = Vec::new();
        scored
    }
}

/// `count` posts over two days; about one in ten lists a watch twice, one in eight is unscored.
pub fn seed_posts(count: usize, seed: u64) -> Vec<SeedPost> {
    let mut random = SplitMix64(seed);
    (0..count)
        .map(|index| {
            let mut watches: Vec<&'static str> = SEED_WATCHES
                .iter()
                .copied()
                .filter(|_| random.below(100) < 45)
                .collect();
            if !watches.is_empty() && random.below(10) == 0 {
                watches.push(watches[0]);
            }
            let compound = if random.below(8) == 0 {
                None
            } else {
                Some((random.below(2_001) as f64 - 1_000.0) / 1_000.0)
            };
            SeedPost {
                source: SEED_SOURCES[random.below(3) as usize],
                source_id: format!("p{index}"),
                created_at: seed_start() + Duration::seconds(random.below(2 * 86_400) as i64),
                watches,
                language: SEED_LANGUAGES[random.below(3) as usize],
                author: format!("author{}", random.below(150)),
                compound,
                text: format!("post number {index} about the fleet"),
            }
        })
        .collect()
}

pub fn scored_all(posts: &[SeedPost]) -> Vec<ScoredPost> {
    posts.iter().map(SeedPost::to_scored).collect()
}
