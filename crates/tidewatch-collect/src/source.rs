//! The `[[source]]` entries of the polling sources, as serde structs, and the request URLs they
//! give.
//!
//! Guarantees:
//! * [`PollSource`] is tagged by `kind` (`mastodon`, `hackernews`, `rss`, `appstore`); every
//!   struct denies
//!   unknown keys, so a typo is an error naming the key, not a silently ignored setting.
//! * `base_url` defaults to the public service ([`HACKERNEWS_BASE`], [`APPSTORE_BASE`]) and can
//!   point at a mirror, a proxy or a test server; an RSS source names its feed URL.
//! * The host allow-list defaults to the host of `base_url` / `feed_url`; when `allowed_hosts`
//!   is given it replaces that default. URLs are built here with proper query encoding, never
//!   taken from payloads.

use crate::fetch::{FetchConfig, FetchError};
use reqwest::Url;
use serde::Deserialize;
use std::time::Duration;

pub const HACKERNEWS_BASE: &str = "https://hn.algolia.com/api/v1";
pub const APPSTORE_BASE: &str = "https://itunes.apple.com";
pub const MASTODON_BASE: &str = "https://mastodon.social";

/// One polling `[[source]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PollSource {
    Mastodon(MastodonSource),
    Hackernews(HackerNewsSource),
    Rss(RssSource),
    Appstore(AppStoreSource),
}

/// Hacker News through Algolia `search_by_date`, one watch query.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HackerNewsSource {
    pub name: String,
    #[serde(default = "hackernews_base")]
    pub base_url: String,
    pub query: String,
    /// Algolia `tags` filter.
    #[serde(default = "hackernews_tags")]
    pub tags: String,
    #[serde(default = "default_100")]
    pub hits_per_page: u32,
    /// Pages read per cycle at most (Algolia serves at most 1000 hits per query).
    #[serde(default = "default_5")]
    pub max_pages: u32,
    #[serde(default = "default_60")]
    pub interval_secs: u64,
    #[serde(default = "default_60_u32")]
    pub requests_per_minute: u32,
    /// Each cycle asks again for the hits of this many seconds before the newest one seen
    /// (`created_at_i >= watermark - overlap_secs`): Algolia indexes items late (seconds as a
    /// rule, sometimes much more), and an item indexed after a newer one would otherwise be
    /// skipped forever. The repeats are dropped by the seen ids.
    #[serde(default = "default_300")]
    pub overlap_secs: u64,
    /// Ids remembered to drop the repeats; must exceed the hits of one overlap window.
    #[serde(default = "default_seen")]
    pub seen_capacity: usize,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

/// One RSS 2.0 / RSS 1.0 / Atom feed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssSource {
    pub name: String,
    pub feed_url: String,
    #[serde(default = "default_300")]
    pub interval_secs: u64,
    #[serde(default = "default_10")]
    pub requests_per_minute: u32,
    /// How many GUIDs are remembered for dedup.
    #[serde(default = "default_seen")]
    pub seen_capacity: usize,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

/// App Store customer reviews of one app in one country (the JSON feed, most recent first).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppStoreSource {
    pub name: String,
    #[serde(default = "appstore_base")]
    pub base_url: String,
    pub app_id: String,
    #[serde(default = "appstore_country")]
    pub country: String,
    /// Pages 1..=max_pages (the feed stops at 10).
    #[serde(default = "default_10")]
    pub max_pages: u32,
    #[serde(default = "default_900")]
    pub interval_secs: u64,
    #[serde(default = "default_10")]
    pub requests_per_minute: u32,
    #[serde(default = "default_seen")]
    pub seen_capacity: usize,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

/// How a streaming Mastodon source connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamingTransport {
    #[default]
    Websocket,
    Sse,
}

/// Which Mastodon timeline a source follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MastodonTimeline {
    /// The federated (or, with `local`, the local) public timeline.
    Public,
    /// One hashtag (`hashtag` key).
    Hashtag,
}

/// One Mastodon instance's public or hashtag timeline: REST polling with `min_id` paging, and
/// optionally the streaming API with REST catch-up after each reconnect.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonSource {
    pub name: String,
    #[serde(default = "mastodon_base")]
    pub base_url: String,
    #[serde(default = "mastodon_timeline")]
    pub timeline: MastodonTimeline,
    /// The tag (without `#`) of a `hashtag` timeline.
    #[serde(default)]
    pub hashtag: Option<String>,
    /// Only statuses of this instance.
    #[serde(default)]
    pub local: bool,
    /// Statuses per page (Mastodon serves at most 40).
    #[serde(default = "default_40")]
    pub limit: u32,
    #[serde(default = "default_10")]
    pub max_pages: u32,
    #[serde(default = "default_60")]
    pub interval_secs: u64,
    /// Mastodon allows 300 requests per 5 minutes per IP by default.
    #[serde(default = "default_60_u32")]
    pub requests_per_minute: u32,
    /// Follow the streaming API instead of polling every `interval_secs`.
    #[serde(default)]
    pub streaming: bool,
    /// How to stream: `websocket` (`/api/v1/streaming?stream=…`, the default) or `sse`
    /// (Server-Sent Events, `GET /api/v1/streaming/public` …, which some servers and proxies
    /// allow where WebSockets are not).
    #[serde(default)]
    pub streaming_transport: StreamingTransport,
    /// REST mode: every this many seconds, re-read the statuses delivered within
    /// `recheck_window_secs` and hand over the deletions and edits found (0: never). REST
    /// timelines carry no delete or edit events, so this is how they arrive without streaming.
    #[serde(default = "default_900")]
    pub recheck_secs: u64,
    /// How far back the re-check looks.
    #[serde(default = "default_3600")]
    pub recheck_window_secs: u64,
    /// The streaming endpoint's base (`wss://…`); defaults to `base_url` with a `ws` scheme.
    #[serde(default)]
    pub streaming_url: Option<String>,
    /// The environment variable holding an access token (required for streaming since
    /// Mastodon 4.2; sent on REST requests too when set).
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default = "default_seen")]
    pub seen_capacity: usize,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

fn mastodon_base() -> String {
    MASTODON_BASE.to_string()
}
fn mastodon_timeline() -> MastodonTimeline {
    MastodonTimeline::Public
}
fn default_40() -> u32 {
    40
}
fn hackernews_base() -> String {
    HACKERNEWS_BASE.to_string()
}
fn appstore_base() -> String {
    APPSTORE_BASE.to_string()
}
fn hackernews_tags() -> String {
    "(story,comment)".to_string()
}
fn appstore_country() -> String {
    "us".to_string()
}
/// Serde defaults shared with the Reddit and Jetstream configs.
pub(crate) fn default_5() -> u32 {
    5
}
fn default_10() -> u32 {
    10
}
pub(crate) fn default_60() -> u64 {
    60
}
pub(crate) fn default_60_u32() -> u32 {
    60
}
pub(crate) fn default_100() -> u32 {
    100
}
fn default_300() -> u64 {
    300
}
fn default_900() -> u64 {
    900
}
fn default_3600() -> u64 {
    3600
}
pub(crate) fn default_seen() -> usize {
    crate::cursor::SeenIds::DEFAULT_CAPACITY
}

fn parse(url: &str) -> Result<Url, FetchError> {
    Url::parse(url).map_err(|error| FetchError::InvalidUrl {
        url: url.to_string(),
        reason: error.to_string(),
    })
}

fn join(base: &str, path: &str) -> Result<Url, FetchError> {
    parse(&format!("{}/{path}", base.trim_end_matches('/')))
}

impl PollSource {
    pub fn name(&self) -> &str {
        match self {
            PollSource::Mastodon(source) => &source.name,
            PollSource::Hackernews(source) => &source.name,
            PollSource::Rss(source) => &source.name,
            PollSource::Appstore(source) => &source.name,
        }
    }

    /// The source kind as spelt in the config (and in `Post::source`).
    pub fn kind(&self) -> &'static str {
        match self {
            PollSource::Mastodon(_) => crate::mastodon::SOURCE,
            PollSource::Hackernews(_) => crate::hackernews::SOURCE,
            PollSource::Rss(_) => crate::rss::SOURCE,
            PollSource::Appstore(_) => crate::appstore::SOURCE,
        }
    }

    pub fn interval(&self) -> Duration {
        Duration::from_secs(match self {
            PollSource::Mastodon(source) => source.interval_secs,
            PollSource::Hackernews(source) => source.interval_secs,
            PollSource::Rss(source) => source.interval_secs,
            PollSource::Appstore(source) => source.interval_secs,
        })
    }

    /// A default for how long without a new post the source counts as silent: ten intervals,
    /// at least an hour.
    pub fn silent_after(&self) -> Duration {
        (self.interval() * 10).max(Duration::from_secs(3600))
    }

    /// How many ids the checkpoint remembers for dedup.
    pub fn seen_capacity(&self) -> usize {
        match self {
            PollSource::Mastodon(source) => source.seen_capacity,
            PollSource::Hackernews(source) => source.seen_capacity,
            PollSource::Rss(source) => source.seen_capacity,
            PollSource::Appstore(source) => source.seen_capacity,
        }
    }

    /// The HTTP settings of this source: its allow-list and request budget.
    pub fn fetch_config(&self) -> Result<FetchConfig, FetchError> {
        let (root, allowed, budget) = match self {
            PollSource::Mastodon(s) => (&s.base_url, &s.allowed_hosts, s.requests_per_minute),
            PollSource::Hackernews(s) => (&s.base_url, &s.allowed_hosts, s.requests_per_minute),
            PollSource::Rss(s) => (&s.feed_url, &s.allowed_hosts, s.requests_per_minute),
            PollSource::Appstore(s) => (&s.base_url, &s.allowed_hosts, s.requests_per_minute),
        };
        let hosts = if allowed.is_empty() {
            let url = parse(root)?;
            let host = url.host_str().ok_or_else(|| FetchError::InvalidUrl {
                url: root.clone(),
                reason: "has no host".to_string(),
            })?;
            vec![host.to_string()]
        } else {
            allowed.clone()
        };
        let mut config = FetchConfig::new(hosts);
        config.requests_per_minute = budget;
        config.source = self.name().to_string();
        Ok(config)
    }
}

impl HackerNewsSource {
    /// `search_by_date` for `page`, only hits at or after `since` (epoch seconds).
    pub fn url(&self, page: u32, since: Option<i64>) -> Result<Url, FetchError> {
        let mut url = join(&self.base_url, "search_by_date")?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("query", &self.query)
                .append_pair("tags", &self.tags)
                .append_pair("hitsPerPage", &self.hits_per_page.to_string())
                .append_pair("page", &page.to_string());
            if let Some(since) = since {
                query.append_pair("numericFilters", &format!("created_at_i>={since}"));
            }
        }
        Ok(url)
    }
}

impl MastodonSource {
    /// The instance host, part of every `source_id`.
    pub fn host(&self) -> Result<String, FetchError> {
        let url = parse(&self.base_url)?;
        url.host_str()
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| FetchError::InvalidUrl {
                url: self.base_url.clone(),
                reason: "has no host".to_string(),
            })
    }

    /// The timeline page after status `min_id` (the newest page when `None`).
    pub fn timeline_url(&self, min_id: Option<&str>) -> Result<Url, FetchError> {
        let path = match (self.timeline, &self.hashtag) {
            (MastodonTimeline::Public, _) => "api/v1/timelines/public".to_string(),
            (MastodonTimeline::Hashtag, Some(tag)) => {
                let tag: String = tag.trim_start_matches('#').to_string();
                let mut url = join(&self.base_url, "api/v1/timelines/tag")?;
                url.path_segments_mut()
                    .map_err(|()| FetchError::InvalidUrl {
                        url: self.base_url.clone(),
                        reason: "cannot be a base".to_string(),
                    })?
                    .push(&tag);
                return self.with_query(url, min_id);
            }
            (MastodonTimeline::Hashtag, None) => {
                return Err(FetchError::InvalidUrl {
                    url: self.base_url.clone(),
                    reason: "a hashtag timeline needs `hashtag`".to_string(),
                })
            }
        };
        self.with_query(join(&self.base_url, &path)?, min_id)
    }

    fn with_query(&self, mut url: Url, min_id: Option<&str>) -> Result<Url, FetchError> {
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &self.limit.clamp(1, 40).to_string());
            if self.local {
                query.append_pair("local", "true");
            }
            if let Some(min_id) = min_id {
                query.append_pair("min_id", min_id);
            }
        }
        Ok(url)
    }

    /// The timeline page of statuses older than `max_id` (the newest page when `None`): the
    /// re-check pages backwards with it.
    pub fn timeline_url_before(&self, max_id: Option<&str>) -> Result<Url, FetchError> {
        let mut url = self.timeline_url(None)?;
        if let Some(max_id) = max_id {
            url.query_pairs_mut().append_pair("max_id", max_id);
        }
        Ok(url)
    }

    /// `GET /api/v1/statuses/:id`.
    pub fn status_url(&self, id: &str) -> Result<Url, FetchError> {
        let mut url = join(&self.base_url, "api/v1/statuses")?;
        url.path_segments_mut()
            .map_err(|()| FetchError::InvalidUrl {
                url: self.base_url.clone(),
                reason: "cannot be a base".to_string(),
            })?
            .push(id);
        Ok(url)
    }

    /// The Server-Sent Events URL of the stream (`/api/v1/streaming/public[/local]`, or
    /// `/api/v1/streaming/hashtag[/local]?tag=…`), on the streaming host over HTTP(S).
    pub fn sse_url(&self) -> Result<Url, FetchError> {
        let base = match &self.streaming_url {
            Some(url) => url
                .replacen("wss://", "https://", 1)
                .replacen("ws://", "http://", 1),
            None => self.base_url.clone(),
        };
        let local = if self.local { "/local" } else { "" };
        let (path, tag) = match (self.timeline, &self.hashtag) {
            (MastodonTimeline::Hashtag, Some(tag)) => (
                format!("api/v1/streaming/hashtag{local}"),
                Some(tag.trim_start_matches('#')),
            ),
            _ => (format!("api/v1/streaming/public{local}"), None),
        };
        let mut url = join(&base, &path)?;
        if let Some(tag) = tag {
            url.query_pairs_mut().append_pair("tag", tag);
        }
        Ok(url)
    }

    /// The WebSocket URL of the stream (`/api/v1/streaming?stream=public|hashtag…`).
    pub fn stream_url(&self) -> Result<Url, FetchError> {
        let base = match &self.streaming_url {
            Some(url) => url.clone(),
            None => self
                .base_url
                .replacen("https://", "wss://", 1)
                .replacen("http://", "ws://", 1),
        };
        let mut url = join(&base, "api/v1/streaming")?;
        let local = if self.local { ":local" } else { "" };
        {
            let mut query = url.query_pairs_mut();
            match (self.timeline, &self.hashtag) {
                (MastodonTimeline::Hashtag, Some(tag)) => {
                    query.append_pair("stream", &format!("hashtag{local}"));
                    query.append_pair("tag", tag.trim_start_matches('#'));
                }
                _ => {
                    query.append_pair("stream", &format!("public{local}"));
                }
            }
        }
        Ok(url)
    }
}

impl AppStoreSource {
    /// The JSON feed of `page` (1-based), most recent first.
    pub fn url(&self, page: u32) -> Result<Url, FetchError> {
        let valid =
            |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid(&self.app_id) || !valid(&self.country) {
            return Err(FetchError::InvalidUrl {
                url: self.base_url.clone(),
                reason: format!(
                    "app_id {:?} and country {:?} must be alphanumeric",
                    self.app_id, self.country
                ),
            });
        }
        join(
            &self.base_url,
            &format!(
                "{}/rss/customerreviews/page={page}/id={}/sortby=mostrecent/json",
                self.country.to_ascii_lowercase(),
                self.app_id
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_default_and_deny_unknown_keys() {
        let source: PollSource =
            serde_json::from_str(r#"{"kind":"hackernews","name":"hn","query":"acme air"}"#)
                .unwrap();
        let PollSource::Hackernews(hn) = &source else {
            panic!("{source:?}")
        };
        assert_eq!(hn.base_url, HACKERNEWS_BASE);
        assert_eq!(
            hn.url(2, Some(17)).unwrap().as_str(),
            "https://hn.algolia.com/api/v1/search_by_date?query=acme+air&tags=%28story%2Ccomment%29\
             &hitsPerPage=100&page=2&numericFilters=created_at_i%3E%3D17"
        );
        assert_eq!(
            source.fetch_config().unwrap().allowed_hosts,
            ["hn.algolia.com"]
        );
        assert_eq!(source.silent_after(), Duration::from_secs(3600));
        let error = serde_json::from_str::<PollSource>(
            r#"{"kind":"rss","name":"r","feed_url":"https://x.example/f","quer":"x"}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `quer`"),
            "{error}"
        );
        let store: PollSource =
            serde_json::from_str(r#"{"kind":"appstore","name":"a","app_id":"123","country":"GB"}"#)
                .unwrap();
        let PollSource::Appstore(app) = &store else {
            panic!("{store:?}")
        };
        assert_eq!(
            app.url(3).unwrap().as_str(),
            "https://itunes.apple.com/gb/rss/customerreviews/page=3/id=123/sortby=mostrecent/json"
        );
        let bad = AppStoreSource {
            app_id: "1/../x".to_string(),
            ..app.clone()
        };
        assert!(bad.url(1).is_err());
    }

    #[test]
    fn mastodon_urls() {
        let source: PollSource = serde_json::from_str(
            r##"{"kind":"mastodon","name":"m","timeline":"hashtag","hashtag":"#acme air","local":true}"##,
        )
        .unwrap();
        let PollSource::Mastodon(mastodon) = &source else {
            panic!("{source:?}")
        };
        assert_eq!(mastodon.host().unwrap(), "mastodon.social");
        assert_eq!(
            mastodon.timeline_url(Some("110")).unwrap().as_str(),
            "https://mastodon.social/api/v1/timelines/tag/acme%20air?limit=40&local=true&min_id=110"
        );
        assert_eq!(
            mastodon.stream_url().unwrap().as_str(),
            "wss://mastodon.social/api/v1/streaming?stream=hashtag%3Alocal&tag=acme+air"
        );
        assert_eq!(
            mastodon.sse_url().unwrap().as_str(),
            "https://mastodon.social/api/v1/streaming/hashtag/local?tag=acme+air"
        );
        assert_eq!(
            mastodon.status_url("110").unwrap().as_str(),
            "https://mastodon.social/api/v1/statuses/110"
        );
        let public = MastodonSource {
            timeline: MastodonTimeline::Public,
            local: false,
            ..mastodon.clone()
        };
        assert_eq!(
            public.timeline_url(None).unwrap().as_str(),
            "https://mastodon.social/api/v1/timelines/public?limit=40"
        );
    }
}
