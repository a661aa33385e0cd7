//! The Reddit collector: OAuth app-only (client credentials), the `new` / `comments` listing of
//! a subreddit or a search, newest first with `after` paging, and Reddit's rate-limit headers.
//!
//! Guarantees:
//! * The token comes from `POST <auth_url>/api/v1/access_token` (`grant_type=client_credentials`,
//!   HTTP basic auth with the client id and secret read from the environment variables the
//!   config names; a missing one stops the start with an error naming it). It is renewed a
//!   minute before `expires_in` runs out, and at once after a 401 (the request is retried once).
//! * Every request carries the configured User-Agent, which must have Reddit's required form
//!   `<platform>:<app id>:<version> (by /u/<username>)` (checked by [`user_agent_is_valid`]).
//! * Reddit's limit is per client id, so every source on one client id spends one shared
//!   [`RateBudget`] (built by the run loop, [`RedditPoller::with_budget`]).
//!   `X-Ratelimit-Remaining` below 1 pauses that budget — every source on the credential — for
//!   `X-Ratelimit-Reset` seconds ([`rate_limit_pause`]); a 429 pauses it for its `Retry-After`,
//!   else its `X-Ratelimit-Reset` (the fetcher); 5xx are retried by the fetcher as usual.
//! * Paging: page 1, then `after=<last fullname>`, until a page holds an item already
//!   delivered, the listing ends, or `max_pages`; a first run reads page 1 only. Repeats are
//!   dropped by fullname; an item that turned `[deleted]` / `[removed]` comes through once as a
//!   post of kind `delete` (remembered apart from the post it deletes).
//! * The checkpoint contract is [`crate::poll`]'s: [`RedditPoller::poll`] proposes, the run loop
//!   saves after the posts are durable, then commits.

use crate::cursor::Checkpoint;
use crate::fetch::{FetchConfig, FetchError, Fetched, Fetcher, Validators};
use crate::limits::RateBudget;
use crate::poll::{PollError, PollOutcome, STAGE};
use crate::reddit;
use crate::source::{default_100, default_5, default_60, default_60_u32, default_seen};
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::Url;
use serde::Deserialize;
use std::time::Duration;
use tidewatch_model::{DeadLetter, PostKind};
use tokio::time::Instant;

pub const REDDIT_BASE: &str = "https://oauth.reddit.com";
pub const REDDIT_AUTH: &str = "https://www.reddit.com";

/// A subreddit's `new` (or `comments`) listing, or a search (in one subreddit or everywhere).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedditSource {
    pub name: String,
    #[serde(default = "reddit_base")]
    pub base_url: String,
    /// Where the token is asked for.
    #[serde(default = "reddit_auth")]
    pub auth_url: String,
    #[serde(default)]
    pub subreddit: Option<String>,
    /// A search query (`sort=new`); restricted to `subreddit` when both are given.
    #[serde(default)]
    pub query: Option<String>,
    /// With a subreddit and no query: its new comments instead of its new posts.
    #[serde(default)]
    pub comments: bool,
    /// `<platform>:<app id>:<version> (by /u/<username>)`.
    pub user_agent: String,
    #[serde(default = "client_id_env")]
    pub client_id_env: String,
    #[serde(default = "client_secret_env")]
    pub client_secret_env: String,
    #[serde(default = "default_100")]
    pub limit: u32,
    #[serde(default = "default_5")]
    pub max_pages: u32,
    #[serde(default = "default_60")]
    pub interval_secs: u64,
    /// Reddit allows 100 requests per minute per OAuth client.
    #[serde(default = "default_60_u32")]
    pub requests_per_minute: u32,
    #[serde(default = "default_seen")]
    pub seen_capacity: usize,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

fn reddit_base() -> String {
    REDDIT_BASE.to_string()
}
fn reddit_auth() -> String {
    REDDIT_AUTH.to_string()
}
fn client_id_env() -> String {
    "REDDIT_CLIENT_ID".to_string()
}
fn client_secret_env() -> String {
    "REDDIT_CLIENT_SECRET".to_string()
}

/// Whether `agent` has the form Reddit requires: `<platform>:<app id>:<version> (by /u/<name>)`.
pub fn user_agent_is_valid(agent: &str) -> bool {
    let Some((head, by)) = agent.split_once(" (by /u/") else {
        return false;
    };
    let user = by.strip_suffix(')').unwrap_or("");
    let parts: Vec<&str> = head.split(':').collect();
    parts.len() >= 3 && parts.iter().all(|part| !part.trim().is_empty()) && !user.is_empty()
}

/// How long to pause after a response with these rate-limit header values.
pub fn rate_limit_pause(remaining: Option<f64>, reset_secs: Option<f64>) -> Option<Duration> {
    match (remaining, reset_secs) {
        (Some(remaining), Some(reset)) if remaining < 1.0 && reset.is_finite() && reset > 0.0 => {
            Some(Duration::from_secs_f64(reset.min(3600.0)))
        }
        _ => None,
    }
}

impl RedditSource {
    /// The listing URL, after `after` when given.
    pub fn url(&self, after: Option<&str>) -> Result<Url, FetchError> {
        let base = self.base_url.trim_end_matches('/');
        let path = match (&self.subreddit, &self.query, self.comments) {
            (Some(sub), Some(_), _) => format!("{base}/r/{sub}/search"),
            (None, Some(_), _) => format!("{base}/search"),
            (Some(sub), None, true) => format!("{base}/r/{sub}/comments"),
            (Some(sub), None, false) => format!("{base}/r/{sub}/new"),
            (None, None, _) => {
                return Err(FetchError::InvalidUrl {
                    url: self.base_url.clone(),
                    reason: "a reddit source needs `subreddit` or `query`".to_string(),
                })
            }
        };
        let mut url = Url::parse(&path).map_err(|error| FetchError::InvalidUrl {
            url: path.clone(),
            reason: error.to_string(),
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(text) = &self.query {
                query.append_pair("q", text).append_pair("sort", "new");
                if self.subreddit.is_some() {
                    query.append_pair("restrict_sr", "1");
                }
            }
            query
                .append_pair("limit", &self.limit.clamp(1, 100).to_string())
                .append_pair("raw_json", "1");
            if let Some(after) = after {
                query.append_pair("after", after);
            }
        }
        Ok(url)
    }

    /// The HTTP settings: the API and token hosts, the budget, the User-Agent.
    pub fn fetch_config(&self) -> Result<FetchConfig, FetchError> {
        let hosts = if self.allowed_hosts.is_empty() {
            let mut hosts = Vec::new();
            for root in [&self.base_url, &self.auth_url] {
                let url = Url::parse(root).map_err(|error| FetchError::InvalidUrl {
                    url: root.clone(),
                    reason: error.to_string(),
                })?;
                hosts.extend(url.host_str().map(str::to_string));
            }
            hosts
        } else {
            self.allowed_hosts.clone()
        };
        let mut config = FetchConfig::new(hosts);
        config.requests_per_minute = self.requests_per_minute;
        config.user_agent = self.user_agent.clone();
        config.source = self.name.clone();
        Ok(config)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// One Reddit source with its committed checkpoint and OAuth token.
#[derive(Debug)]
pub struct RedditPoller {
    source: RedditSource,
    fetcher: Fetcher,
    checkpoint: Checkpoint,
    client_id: String,
    client_secret: String,
    token: Option<(String, Instant)>,
}

impl RedditPoller {
    pub fn new(
        source: RedditSource,
        client_id: String,
        client_secret: String,
        checkpoint: Option<Checkpoint>,
    ) -> Result<Self, FetchError> {
        let budget = RateBudget::new(source.requests_per_minute);
        RedditPoller::with_budget(source, client_id, client_secret, checkpoint, budget)
    }

    /// Same, spending `budget`: the one budget of every source on this client id.
    pub fn with_budget(
        source: RedditSource,
        client_id: String,
        client_secret: String,
        checkpoint: Option<Checkpoint>,
        budget: RateBudget,
    ) -> Result<Self, FetchError> {
        let fetcher = Fetcher::with_budget(source.fetch_config()?, budget)?;
        let mut checkpoint = checkpoint.unwrap_or_default();
        if checkpoint.seen.capacity() != source.seen_capacity {
            checkpoint.seen.set_capacity(source.seen_capacity);
        }
        Ok(RedditPoller {
            source,
            fetcher,
            checkpoint,
            client_id,
            client_secret,
            token: None,
        })
    }

    pub fn source(&self) -> &RedditSource {
        &self.source
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    pub fn commit(&mut self, checkpoint: Checkpoint) {
        self.checkpoint = checkpoint;
    }

    /// The request budget this source spends (shared with the sources on its client id).
    pub fn budget(&self) -> &RateBudget {
        self.fetcher.budget()
    }

    async fn token(&mut self) -> Result<String, FetchError> {
        if let Some((token, expires)) = &self.token {
            if Instant::now() + Duration::from_secs(60) < *expires {
                return Ok(token.clone());
            }
        }
        let url = format!(
            "{}/api/v1/access_token",
            self.source.auth_url.trim_end_matches('/')
        );
        let basic = (self.client_id.as_str(), self.client_secret.as_str());
        let body = self
            .fetcher
            .post_form(&url, basic, "grant_type=client_credentials")
            .await?;
        let answer: TokenResponse =
            serde_json::from_slice(&body).map_err(|error| FetchError::Network {
                url: url.clone(),
                reason: format!("the token response has no access_token: {error}"),
            })?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(3600));
        self.token = Some((answer.access_token.clone(), Instant::now() + lifetime));
        tracing::debug!(source = %self.source.name, lifetime_secs = lifetime.as_secs(), "reddit token obtained");
        Ok(answer.access_token)
    }

    /// GET with the token (renewed once after a 401); the budget holds it through any pause.
    async fn get(&mut self, url: &str) -> Result<Vec<u8>, FetchError> {
        let mut renewed = false;
        loop {
            let token = self.token().await?;
            let fetched = self
                .fetcher
                .get_with_token(url, &Validators::default(), Some(&token))
                .await;
            match fetched {
                Err(FetchError::Status { status: 401, .. }) if !renewed => {
                    self.token = None;
                    renewed = true;
                }
                Err(error) => return Err(error),
                Ok(Fetched::NotModified) => return Ok(Vec::new()),
                Ok(Fetched::Body { bytes, headers, .. }) => {
                    self.obey(&headers);
                    return Ok(bytes);
                }
            }
        }
    }

    fn obey(&mut self, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<f64>().ok())
        };
        let pause = rate_limit_pause(number("x-ratelimit-remaining"), number("x-ratelimit-reset"));
        if let Some(pause) = pause {
            tracing::info!(source = %self.source.name, pause_secs = pause.as_secs_f64(), "reddit rate limit reached, pausing");
            self.fetcher.budget().pause_until(Instant::now() + pause);
        }
    }

    /// One cycle (see the module docs); the committed checkpoint does not change.
    pub async fn poll(&mut self, _observed_at: DateTime<Utc>) -> Result<PollOutcome, PollError> {
        let mut checkpoint = self.checkpoint.clone();
        let first_run = checkpoint.seen.is_empty();
        let mut found = Vec::new();
        let mut letters = Vec::new();
        let (mut after, mut requests, mut truncated) = (None::<String>, 0u32, false);
        let last_page = self.source.max_pages.max(1);
        for page in 1..=last_page {
            let url = self.source.url(after.as_deref())?.to_string();
            let body = self.get(&url).await?;
            requests += 1;
            let batch = reddit::parse_listing(&body).map_err(|error| {
                let letter = DeadLetter::new(
                    STAGE,
                    error.kind(),
                    error.to_string(),
                    self.origin(&url),
                    &body,
                );
                let dead_letter = Box::new(letter);
                PollError::Payload {
                    url: url.clone(),
                    error,
                    dead_letter,
                }
            })?;
            for item in &batch.rejected {
                let reason = format!("item {}: {}", item.index, item.error);
                letters.push(DeadLetter::new(
                    STAGE,
                    item.error.kind(),
                    reason,
                    self.origin(&url),
                    &body,
                ));
            }
            let reached_seen = batch
                .posts
                .iter()
                .any(|post| checkpoint.seen.contains(&post.source_id));
            let empty = batch.posts.is_empty() && batch.rejected.is_empty();
            found.extend(batch.posts);
            match batch.cursor {
                Some(next) if !(first_run || reached_seen || empty) => after = Some(next),
                _ => break,
            }
            truncated = page == last_page;
        }
        letters.retain(|letter| {
            checkpoint
                .seen
                .insert(&format!("dead:{}", letter.original_sha256))
        });
        found.sort_by_key(|post| post.created_at);
        found.retain(|post| match post.kind {
            PostKind::Delete => checkpoint
                .seen
                .insert(&format!("deleted:{}", post.source_id)),
            _ => checkpoint.seen.insert(&post.source_id),
        });
        Ok(PollOutcome {
            newest: found.iter().map(|post| post.created_at).max(),
            posts: found,
            dead_letters: letters,
            checkpoint,
            not_modified: false,
            truncated,
            requests,
            gap: None,
        })
    }

    fn origin(&self, url: &str) -> String {
        format!("{} {url}", self.source.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_form_and_rate_limit_pause() {
        assert!(user_agent_is_valid(
            "linux:com.example.tidewatch:v0.1.0 (by /u/acme_social)"
        ));
        for bad in [
            "tidewatch/0.1",
            "linux:app (by /u/x)",
            "a:b:c (by /u/)",
            "a:b:c",
        ] {
            assert!(!user_agent_is_valid(bad), "{bad}");
        }
        assert_eq!(
            rate_limit_pause(Some(0.0), Some(42.0)),
            Some(Duration::from_secs(42))
        );
        assert_eq!(rate_limit_pause(Some(5.0), Some(42.0)), None);
        assert_eq!(rate_limit_pause(Some(0.0), None), None);
        assert_eq!(rate_limit_pause(Some(0.0), Some(f64::NAN)), None);
    }

    #[test]
    fn listing_urls() {
        let source: RedditSource = serde_json::from_value(serde_json::json!({
            "name": "r", "subreddit": "acme", "query": "lost bags",
            "user_agent": "linux:x:1 (by /u/y)"}))
        .unwrap();
        assert_eq!(
            source.url(Some("t3_x")).unwrap().as_str(),
            "https://oauth.reddit.com/r/acme/search?q=lost+bags&sort=new&restrict_sr=1&limit=100&raw_json=1&after=t3_x"
        );
        let comments = RedditSource {
            query: None,
            comments: true,
            ..source.clone()
        };
        assert_eq!(
            comments.url(None).unwrap().as_str(),
            "https://oauth.reddit.com/r/acme/comments?limit=100&raw_json=1"
        );
        assert_eq!(
            source.fetch_config().unwrap().allowed_hosts,
            ["oauth.reddit.com", "www.reddit.com"]
        );
        let nothing = RedditSource {
            subreddit: None,
            query: None,
            ..source
        };
        assert!(nothing.url(None).is_err());
    }
}
