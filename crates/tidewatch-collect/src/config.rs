//! The `[[source]]` entries of the config: one serde enum tagged by `kind` for every collector,
//! and their validation.
//!
//! Guarantees:
//! * [`SourceConfig`] is tagged by `kind` (`mastodon`, `bluesky`, `hackernews`, `reddit`,
//!   `rss`, `appstore`, `webhook`); every struct denies unknown keys, so a typo is an error naming the
//!   key. `base_url` defaults to the public service.
//! * [`validate_sources`] checks what serde cannot, before anything runs: names are unique plain
//!   file names (they name checkpoint files), URLs parse, intervals and budgets are positive,
//!   a hashtag timeline has its `hashtag`, a streaming Mastodon source names its `token_env`, a
//!   webhook names at least one secret variable. Each [`ConfigError`] names the source and key.
//! * Secrets are never in the config: it names environment variables, read by [`secret`], whose
//!   error names the variable.

use crate::reddit_poll::user_agent_is_valid;
pub use crate::reddit_poll::RedditSource;
use crate::source::{
    default_seen, AppStoreSource, HackerNewsSource, MastodonSource, MastodonTimeline, PollSource,
    RssSource,
};
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;

pub const JETSTREAM_BASE: &str = "wss://jetstream2.us-east.bsky.network";

/// One `[[source]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    Mastodon(MastodonSource),
    Bluesky(BlueskySource),
    Hackernews(HackerNewsSource),
    Reddit(RedditSource),
    Rss(RssSource),
    Appstore(AppStoreSource),
    Webhook(WebhookSource),
}

/// Bluesky through a Jetstream instance: posts (create, update, delete) of the whole network.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskySource {
    pub name: String,
    /// The Jetstream instance (`wss://…`); `/subscribe` is appended.
    #[serde(default = "jetstream_base")]
    pub base_url: String,
    /// Reconnects resume this much before the checkpoint; the repeats are dropped.
    #[serde(default = "default_5")]
    pub safety_margin_secs: u64,
    /// Jetstream keeps about 36 hours: an older checkpoint starts from now (said in health).
    #[serde(default = "default_36")]
    pub lookback_hours: u64,
    /// Posts handed to the sink at once at most.
    #[serde(default = "default_500")]
    pub batch_size: usize,
    /// A batch waits at most this long before it is handed over.
    #[serde(default = "default_1000")]
    pub batch_max_wait_ms: u64,
    /// Event keys remembered to drop the repeats after a reconnect.
    #[serde(default = "default_seen")]
    pub seen_capacity: usize,
    /// Without a post for this long the source is `silent`.
    #[serde(default = "default_600")]
    pub silent_after_secs: u64,
    /// A `createdAt` claim later than the network's `time_us` by more than this is implausible:
    /// the post is dated `time_us` ([`crate::bluesky::TimeRule`]).
    #[serde(default = "default_300")]
    pub max_future_skew_secs: u64,
    /// A `createdAt` claim earlier than the network's `time_us` by more than this is
    /// implausible: the post is dated `time_us`.
    #[serde(default = "default_300")]
    pub max_claim_age_secs: u64,
}

impl BlueskySource {
    /// The rule that decides when a client's `createdAt` is believed.
    pub fn time_rule(&self) -> crate::bluesky::TimeRule {
        // Capped at a century: any larger value means "never implausible" all the same.
        let seconds = |value: u64| chrono::Duration::seconds(value.min(3_153_600_000) as i64);
        crate::bluesky::TimeRule {
            max_future: seconds(self.max_future_skew_secs),
            max_age: seconds(self.max_claim_age_secs),
        }
    }
}

/// `POST /ingest` for systems that push canonical posts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSource {
    pub name: String,
    /// Where `run_sources` serves the router (`127.0.0.1:9899`); without it the binary mounts
    /// [`crate::webhook::ingest_router`] itself.
    #[serde(default)]
    pub listen: Option<String>,
    /// Variable holding the HMAC-SHA256 secret (`X-Tidewatch-Signature`).
    #[serde(default)]
    pub hmac_secret_env: Option<String>,
    /// Variable holding the bearer token (`Authorization: Bearer …`).
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    /// Larger bodies are answered 413.
    #[serde(default = "default_body")]
    pub max_body_bytes: usize,
    /// A signature timestamp further than this from now is stale (401).
    #[serde(default = "default_300")]
    pub max_skew_secs: u64,
    /// Posts per request at most.
    #[serde(default = "default_1000")]
    pub max_batch: usize,
}

fn jetstream_base() -> String {
    JETSTREAM_BASE.to_string()
}
fn default_5() -> u64 {
    5
}
fn default_36() -> u64 {
    36
}
fn default_300() -> u64 {
    300
}
fn default_500() -> usize {
    500
}
fn default_600() -> u64 {
    600
}
fn default_1000<T: From<u16>>() -> T {
    T::from(1000)
}
fn default_body() -> usize {
    1024 * 1024
}

/// What is wrong with one `[[source]]` entry (fatal: fix the config).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source {source_name:?}: `{key}` {reason}")]
pub struct ConfigError {
    pub source_name: String,
    pub key: &'static str,
    pub reason: String,
}

/// A secret named by an environment variable was not there (fatal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source {source_name:?}: environment variable {variable} (`{key}`) is not set or empty")]
pub struct MissingSecret {
    pub source_name: String,
    pub key: &'static str,
    pub variable: String,
}

/// Reads the secret in `variable` for `source`'s `key`.
pub fn secret(source: &str, key: &'static str, variable: &str) -> Result<String, MissingSecret> {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
        _ => Err(MissingSecret {
            source_name: source.to_string(),
            key,
            variable: variable.to_string(),
        }),
    }
}

/// Reads every secret the sources name, so that a missing one stops the start (naming the
/// variable and the source) instead of leaving that source silently out of the run.
pub fn check_secrets(sources: &[SourceConfig]) -> Result<(), MissingSecret> {
    for source in sources {
        let name = source.name();
        match source {
            SourceConfig::Mastodon(config) => {
                if let Some(variable) = &config.token_env {
                    secret(name, "token_env", variable)?;
                }
            }
            SourceConfig::Reddit(config) => {
                secret(name, "client_id_env", &config.client_id_env)?;
                secret(name, "client_secret_env", &config.client_secret_env)?;
            }
            SourceConfig::Webhook(config) => {
                crate::webhook::IngestSettings::from_source(config)?;
            }
            SourceConfig::Bluesky(_)
            | SourceConfig::Hackernews(_)
            | SourceConfig::Rss(_)
            | SourceConfig::Appstore(_) => {}
        }
    }
    Ok(())
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Mastodon(source) => &source.name,
            SourceConfig::Bluesky(source) => &source.name,
            SourceConfig::Hackernews(source) => &source.name,
            SourceConfig::Reddit(source) => &source.name,
            SourceConfig::Rss(source) => &source.name,
            SourceConfig::Appstore(source) => &source.name,
            SourceConfig::Webhook(source) => &source.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Mastodon(_) => "mastodon",
            SourceConfig::Bluesky(_) => "bluesky",
            SourceConfig::Hackernews(_) => "hackernews",
            SourceConfig::Reddit(_) => "reddit",
            SourceConfig::Rss(_) => "rss",
            SourceConfig::Appstore(_) => "appstore",
            SourceConfig::Webhook(_) => "webhook",
        }
    }

    /// The polling part of the source, if it has one (Mastodon polls or catches up over REST).
    pub fn poll_source(&self) -> Option<PollSource> {
        match self {
            SourceConfig::Mastodon(source) => Some(PollSource::Mastodon(source.clone())),
            SourceConfig::Hackernews(source) => Some(PollSource::Hackernews(source.clone())),
            SourceConfig::Rss(source) => Some(PollSource::Rss(source.clone())),
            SourceConfig::Appstore(source) => Some(PollSource::Appstore(source.clone())),
            SourceConfig::Bluesky(_) | SourceConfig::Reddit(_) | SourceConfig::Webhook(_) => None,
        }
    }
}

/// Checks every entry and that names are unique (see the module docs).
pub fn validate_sources(sources: &[SourceConfig]) -> Result<(), ConfigError> {
    let mut names = HashSet::new();
    for source in sources {
        let name = source.name();
        let error = |key: &'static str, reason: String| ConfigError {
            source_name: name.to_string(),
            key,
            reason,
        };
        if !plain_name(name) {
            return Err(error(
                "name",
                "must be [A-Za-z0-9._-], not starting with a dot".into(),
            ));
        }
        if !names.insert(name) {
            return Err(error("name", "is used by another [[source]]".into()));
        }
        validate_one(source).map_err(|(key, reason)| error(key, reason))?;
    }
    Ok(())
}

fn validate_one(source: &SourceConfig) -> Result<(), (&'static str, String)> {
    let positive = |key: &'static str, value: u64| match value {
        0 => Err((key, "must be positive".to_string())),
        _ => Ok(()),
    };
    match source {
        SourceConfig::Mastodon(s) => {
            url(&s.base_url, "base_url", &["http", "https"])?;
            positive("interval_secs", s.interval_secs)?;
            positive("requests_per_minute", s.requests_per_minute.into())?;
            if s.timeline == MastodonTimeline::Hashtag && s.hashtag.is_none() {
                return Err(("hashtag", "is required when timeline = \"hashtag\"".into()));
            }
            if let Some(stream) = &s.streaming_url {
                url(stream, "streaming_url", &["ws", "wss"])?;
            }
            if s.streaming && s.token_env.is_none() {
                return Err((
                    "token_env",
                    "is required for streaming (Mastodon ≥ 4.2)".into(),
                ));
            }
        }
        SourceConfig::Bluesky(s) => {
            url(&s.base_url, "base_url", &["ws", "wss"])?;
            positive("batch_size", s.batch_size as u64)?;
            positive("lookback_hours", s.lookback_hours)?;
        }
        SourceConfig::Hackernews(s) => {
            url(&s.base_url, "base_url", &["http", "https"])?;
            positive("interval_secs", s.interval_secs)?;
            positive("requests_per_minute", s.requests_per_minute.into())?;
        }
        SourceConfig::Reddit(s) => {
            url(&s.base_url, "base_url", &["http", "https"])?;
            url(&s.auth_url, "auth_url", &["http", "https"])?;
            positive("interval_secs", s.interval_secs)?;
            positive("requests_per_minute", s.requests_per_minute.into())?;
            if s.subreddit.is_none() && s.query.is_none() {
                return Err(("subreddit", "or `query` is required".into()));
            }
            let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '+');
            if let Some(sub) = &s.subreddit {
                if sub.is_empty() || !sub.chars().all(plain) {
                    return Err(("subreddit", format!("{sub:?} is not a subreddit name")));
                }
            }
            if !user_agent_is_valid(&s.user_agent) {
                return Err((
                    "user_agent",
                    "must be `<platform>:<app id>:<version> (by /u/<username>)`".into(),
                ));
            }
        }
        SourceConfig::Rss(s) => {
            url(&s.feed_url, "feed_url", &["http", "https"])?;
            positive("interval_secs", s.interval_secs)?;
            positive("requests_per_minute", s.requests_per_minute.into())?;
        }
        SourceConfig::Appstore(s) => {
            url(&s.base_url, "base_url", &["http", "https"])?;
            positive("interval_secs", s.interval_secs)?;
            positive("requests_per_minute", s.requests_per_minute.into())?;
        }
        SourceConfig::Webhook(s) => {
            if s.hmac_secret_env.is_none() && s.bearer_token_env.is_none() {
                return Err((
                    "hmac_secret_env",
                    "or `bearer_token_env` is required (the webhook is never open)".into(),
                ));
            }
            if let Some(listen) = &s.listen {
                listen.parse::<SocketAddr>().map_err(|error| {
                    ("listen", format!("{listen:?} is not an address: {error}"))
                })?;
            }
            positive("max_body_bytes", s.max_body_bytes as u64)?;
            positive("max_batch", s.max_batch as u64)?;
        }
    }
    Ok(())
}

fn url(text: &str, key: &'static str, schemes: &[&str]) -> Result<(), (&'static str, String)> {
    let parsed = reqwest::Url::parse(text).map_err(|error| (key, format!("{text:?}: {error}")))?;
    if !schemes.contains(&parsed.scheme()) || parsed.host_str().is_none() {
        return Err((
            key,
            format!("{text:?} must be a {} URL with a host", schemes.join("/")),
        ));
    }
    Ok(())
}

pub(crate) fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<SourceConfig, String> {
        serde_json::from_str(json).map_err(|error| error.to_string())
    }

    #[test]
    fn kinds_defaults_and_unknown_keys() {
        let bluesky = parse(r#"{"kind":"bluesky","name":"bsky"}"#).unwrap();
        let SourceConfig::Bluesky(jet) = &bluesky else {
            panic!("{bluesky:?}")
        };
        assert_eq!(jet.base_url, JETSTREAM_BASE);
        assert_eq!((jet.safety_margin_secs, jet.lookback_hours), (5, 36));
        assert!(bluesky.poll_source().is_none());
        let error = parse(r#"{"kind":"bluesky","name":"b","cursor":1}"#).unwrap_err();
        assert!(error.contains("unknown field `cursor`"), "{error}");
        let error = parse(r#"{"kind":"gopher","name":"g"}"#).unwrap_err();
        assert!(error.contains("unknown variant `gopher`"), "{error}");
        let mastodon = parse(r#"{"kind":"mastodon","name":"m"}"#).unwrap();
        assert_eq!(mastodon.poll_source().unwrap().kind(), "mastodon");
        assert_eq!(mastodon.kind(), "mastodon");
    }

    #[test]
    fn validation_names_the_key() {
        let check = |jsons: &[&str]| {
            let sources: Vec<SourceConfig> = jsons.iter().map(|j| parse(j).unwrap()).collect();
            validate_sources(&sources).map_err(|error| (error.key, error.to_string()))
        };
        assert_eq!(check(&[r#"{"kind":"mastodon","name":"m"}"#]), Ok(()));
        let duplicate = check(&[
            r#"{"kind":"hackernews","name":"x","query":"a"}"#,
            r#"{"kind":"rss","name":"x","feed_url":"https://f.example/rss"}"#,
        ]);
        assert_eq!(duplicate.unwrap_err().0, "name");
        let cases = [
            (r#"{"kind":"mastodon","name":"../m"}"#, "name"),
            (
                r#"{"kind":"mastodon","name":"m","timeline":"hashtag"}"#,
                "hashtag",
            ),
            (
                r#"{"kind":"mastodon","name":"m","streaming":true}"#,
                "token_env",
            ),
            (
                r#"{"kind":"mastodon","name":"m","base_url":"ftp://x"}"#,
                "base_url",
            ),
            (
                r#"{"kind":"bluesky","name":"b","base_url":"https://x"}"#,
                "base_url",
            ),
            (r#"{"kind":"rss","name":"r","feed_url":"nope"}"#, "feed_url"),
            (
                r#"{"kind":"reddit","name":"r","subreddit":"a","user_agent":"x/1"}"#,
                "user_agent",
            ),
            (
                r#"{"kind":"reddit","name":"r","user_agent":"l:a:1 (by /u/b)"}"#,
                "subreddit",
            ),
            (
                r#"{"kind":"reddit","name":"r","subreddit":"a/b","user_agent":"l:a:1 (by /u/b)"}"#,
                "subreddit",
            ),
            (
                r#"{"kind":"hackernews","name":"h","query":"q","interval_secs":0}"#,
                "interval_secs",
            ),
            (r#"{"kind":"webhook","name":"w"}"#, "hmac_secret_env"),
            (
                r#"{"kind":"webhook","name":"w","bearer_token_env":"T","listen":"x"}"#,
                "listen",
            ),
        ];
        for (json, key) in cases {
            let (found, message) = check(&[json]).unwrap_err();
            assert_eq!(found, key, "{json}: {message}");
            assert!(message.contains(key), "{message}");
        }
    }

    #[test]
    fn missing_secret_names_the_variable() {
        let error = secret("m", "token_env", "TIDEWATCH_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(error
            .to_string()
            .contains("TIDEWATCH_TEST_SURELY_UNSET_VARIABLE"));
    }
}
