//! The HTTP edge of the polling collectors: one [`Fetcher`] per source, on `reqwest`.
//!
//! Guarantees:
//! * **Host allow-list**: a URL whose host is not in [`FetchConfig::allowed_hosts`] is refused
//!   with [`FetchError::HostNotAllowed`] before any connection is made, and a redirect to such a
//!   host is refused too ([`FetchError::Redirect`], not retried). A URL found in a post is never
//!   fetched unless its host is listed; only `http` and `https` are fetched.
//! * **Budget**: every attempt (first tries and retries alike) takes one token from the
//!   source's [`RateBudget`] (a bucket of `requests_per_minute` tokens refilled continuously,
//!   possibly shared with other sources on the same credential); when it is empty, or paused,
//!   the call waits (tokio time) instead of sending. A 429 pauses the whole budget for the wait
//!   the server asked (`Retry-After`, else `X-Ratelimit-Reset`, else the backoff), so every
//!   source sharing it holds off, not just the one that was refused.
//! * **Metrics**, labelled by the source (`FetchConfig::source`): every attempt counts in
//!   `tidewatch_collect_requests_total{source,outcome}` (`ok`, `not_modified`, `http_429`,
//!   `http_5xx`, `http_4xx`, `network`, `too_large`, `redirect`), and every retry in
//!   `tidewatch_collect_retries_total{source,kind}` (`http_429`, `http_5xx`, `network`), logged
//!   at debug (the give-up is the caller's warning).
//! * **Retries**: 429, 5xx, timeouts and connection errors are retried up to `max_retries`
//!   times. A `Retry-After` header (delta seconds or an HTTP date) is obeyed when present and
//!   not longer than `max_retry_after`; a longer one fails at once with
//!   [`FetchError::RateLimited`] instead of blocking the collector. Without it the wait is an
//!   exponential backoff with jitter (a random value between half and all of
//!   `base_backoff * 2^attempt`, capped at `max_backoff`). Other 4xx are not retried.
//! * **Conditional GET**: the [`Validators`] passed in become `If-None-Match` /
//!   `If-Modified-Since`; a 304 is [`Fetched::NotModified`], and a 200 returns the new
//!   validators to keep in the checkpoint.
//! * A body over `max_body_bytes` is refused ([`FetchError::TooLarge`], not retried) while it
//!   streams in, never buffered whole.
//! * Every attempt has a timeout (`timeout`); all waiting uses tokio time, so tests can run
//!   with a paused clock.

use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

use crate::limits::{backoff, ratelimit_reset, retry_after, RateBudget};

/// How one source talks HTTP.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Hosts (exact, case-insensitive, without port) that may be fetched.
    pub allowed_hosts: Vec<String>,
    pub timeout: Duration,
    pub max_retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` waited for inside one call.
    pub max_retry_after: Duration,
    pub requests_per_minute: u32,
    pub user_agent: String,
    /// A larger body is refused ([`FetchError::TooLarge`]) instead of being buffered.
    pub max_body_bytes: usize,
    /// Sent as `Authorization: Bearer …` on every request when set.
    pub bearer_token: Option<String>,
    /// The source name the metrics are labelled with.
    pub source: String,
}

impl FetchConfig {
    /// Sensible defaults for a public API, allowing only `hosts`.
    pub fn new(allowed_hosts: Vec<String>) -> Self {
        FetchConfig {
            allowed_hosts,
            timeout: Duration::from_secs(20),
            max_retries: 3,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
            requests_per_minute: 60,
            user_agent: concat!("tidewatch/", env!("CARGO_PKG_VERSION")).to_string(),
            max_body_bytes: 16 * 1024 * 1024,
            bearer_token: None,
            source: String::new(),
        }
    }
}

/// Conditional-GET validators of the last good response, kept in the checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// The outcome of a successful GET.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Body {
        bytes: Vec<u8>,
        validators: Validators,
        /// The response headers (rate-limit headers, `Link`).
        headers: reqwest::header::HeaderMap,
    },
    /// 304: nothing new since the validators.
    NotModified,
}

/// Why a GET gave up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("refused to fetch {url}: host {host:?} is not in the allow-list")]
    HostNotAllowed { url: String, host: String },
    #[error("{url} is rate limited (HTTP {status}), retry after {retry_after:?}")]
    RateLimited {
        url: String,
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    /// A redirect to a host outside the allow-list, or too many redirects. Not retried.
    #[error("{url}: {reason}")]
    Redirect { url: String, reason: String },
    #[error("{url}: the body is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
}

impl FetchError {
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, FetchError::RateLimited { .. })
    }
}

/// An HTTP client for one source: allow-list, budget, retries, conditional GET.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    config: Arc<FetchConfig>,
    budget: RateBudget,
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        let budget = RateBudget::new(config.requests_per_minute);
        Fetcher::with_budget(config, budget)
    }

    /// A fetcher spending `budget` (shared with the other sources on the same credential)
    /// instead of a budget of its own.
    pub fn with_budget(config: FetchConfig, budget: RateBudget) -> Result<Self, FetchError> {
        let allowed = config.allowed_hosts.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if host_allowed(&allowed, attempt.url()) {
                attempt.follow()
            } else {
                let message = format!("redirect to {} refused: host not allowed", attempt.url());
                attempt.error(message)
            }
        });
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(config.user_agent.clone())
            .redirect(redirects)
            .build()
            .map_err(|error| FetchError::Network {
                url: String::new(),
                reason: format!("building the HTTP client: {error}"),
            })?;
        Ok(Fetcher {
            client,
            budget,
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// The request budget this fetcher spends (to pause it, or to show its pause in health).
    pub fn budget(&self) -> &RateBudget {
        &self.budget
    }

    /// Checks `url` against the allow-list without fetching it.
    pub fn check(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url).map_err(|error| FetchError::InvalidUrl {
            url: url.to_string(),
            reason: error.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FetchError::InvalidUrl {
                url: url.to_string(),
                reason: "only http and https are fetched".to_string(),
            });
        }
        if !host_allowed(&self.config.allowed_hosts, &parsed) {
            return Err(FetchError::HostNotAllowed {
                url: url.to_string(),
                host: parsed.host_str().unwrap_or("").to_string(),
            });
        }
        Ok(parsed)
    }

    /// GET `url` with the conditional headers of `validators`, retrying as documented above.
    pub async fn get(&self, url: &str, validators: &Validators) -> Result<Fetched, FetchError> {
        self.get_with_token(url, validators, None).await
    }

    /// Same as [`Fetcher::get`], with `Authorization: Bearer <token>` (in place of the
    /// configured token) when `token` is given: for tokens that are refreshed.
    pub async fn get_with_token(
        &self,
        url: &str,
        validators: &Validators,
        token: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        let parsed = self.check(url)?;
        let mut attempt = 0u32;
        loop {
            self.budget.acquire().await;
            let outcome = self.attempt(&parsed, validators, token).await;
            self.count_request(&outcome);
            let (error, retry_after) = match outcome {
                Ok(fetched) => return Ok(fetched),
                Err(failure) => failure,
            };
            let retryable = match &error {
                FetchError::RateLimited { .. } | FetchError::Network { .. } => true,
                FetchError::Status { status, .. } => *status >= 500,
                _ => false,
            };
            let rate_limited = error.is_rate_limited();
            if let (true, Some(wait)) = (rate_limited, retry_after) {
                // Nobody on this budget asks again before the server allows it, whether this
                // call retries or gives up; the retry below waits in `acquire`.
                self.budget.pause_until(Instant::now() + wait);
            }
            if !retryable || attempt >= self.config.max_retries {
                return Err(error);
            }
            let wait = match retry_after {
                Some(wait) if wait > self.config.max_retry_after => return Err(error),
                Some(wait) => wait,
                None => backoff(
                    attempt,
                    self.config.base_backoff,
                    self.config.max_backoff,
                    fastrand::f64(),
                ),
            };
            let kind = retry_kind(&error);
            metrics::counter!("tidewatch_collect_retries_total", "source" => self.config.source.clone(), "kind" => kind)
                .increment(1);
            tracing::debug!(source = %self.config.source, %error, kind, wait_ms = wait.as_millis() as u64, "retrying");
            if rate_limited && retry_after.is_none() {
                // Refused without saying for how long: the whole budget backs off.
                self.budget.pause_until(Instant::now() + wait);
            } else if !rate_limited {
                tokio::time::sleep(wait).await;
            }
            attempt += 1;
        }
    }

    /// One form `POST` with HTTP basic auth (an OAuth token request): allow-list and budget
    /// apply; not retried (the caller's next cycle tries again). Returns the body of a 2xx.
    pub async fn post_form(
        &self,
        url: &str,
        basic: (&str, &str),
        form: &str,
    ) -> Result<Vec<u8>, FetchError> {
        let parsed = self.check(url)?;
        self.budget.acquire().await;
        let result = self.post_form_once(parsed, url, basic, form).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => error_outcome(error),
        };
        metrics::counter!("tidewatch_collect_requests_total", "source" => self.config.source.clone(), "outcome" => outcome)
            .increment(1);
        if let Err(FetchError::RateLimited {
            retry_after: Some(wait),
            ..
        }) = &result
        {
            self.budget.pause_until(Instant::now() + *wait);
        }
        result
    }

    async fn post_form_once(
        &self,
        parsed: Url,
        url: &str,
        basic: (&str, &str),
        form: &str,
    ) -> Result<Vec<u8>, FetchError> {
        let network = |error: reqwest::Error| FetchError::Network {
            url: url.to_string(),
            reason: error_chain(&error),
        };
        let response = self
            .client
            .post(parsed)
            .basic_auth(basic.0, Some(basic.1))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form.to_string())
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = retry_after(response.headers(), SystemTime::now())
                .or_else(|| ratelimit_reset(response.headers()));
            let (url, status) = (url.to_string(), status.as_u16());
            return Err(FetchError::RateLimited {
                url,
                status,
                retry_after,
            });
        }
        if !status.is_success() {
            let (url, status) = (url.to_string(), status.as_u16());
            return Err(FetchError::Status { url, status });
        }
        let bytes = response.bytes().await.map_err(network)?;
        if bytes.len() > self.config.max_body_bytes {
            let (url, limit) = (url.to_string(), self.config.max_body_bytes);
            return Err(FetchError::TooLarge { url, limit });
        }
        Ok(bytes.to_vec())
    }

    fn count_request(&self, outcome: &Result<Fetched, (FetchError, Option<Duration>)>) {
        let outcome = match outcome {
            Ok(Fetched::Body { .. }) => "ok",
            Ok(Fetched::NotModified) => "not_modified",
            Err((error, _)) => error_outcome(error),
        };
        metrics::counter!("tidewatch_collect_requests_total", "source" => self.config.source.clone(), "outcome" => outcome)
            .increment(1);
    }

    /// One request. A failure comes with the `Retry-After` the server asked for.
    async fn attempt(
        &self,
        url: &Url,
        validators: &Validators,
        token: Option<&str>,
    ) -> Result<Fetched, (FetchError, Option<Duration>)> {
        let network = |error: reqwest::Error| {
            let url = url.to_string();
            let failure = if error.is_redirect() {
                let reason = error_chain(&error);
                FetchError::Redirect { url, reason }
            } else if error.is_timeout() {
                let reason = format!("timed out after {:?}", self.config.timeout);
                FetchError::Network { url, reason }
            } else {
                let reason = error_chain(&error);
                FetchError::Network { url, reason }
            };
            (failure, None)
        };
        let mut request = self.client.get(url.clone());
        if let Some(token) = token.or(self.config.bearer_token.as_deref()) {
            request = request.bearer_auth(token);
        }
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        let mut response = request.send().await.map_err(network)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let mut retry_after = retry_after(response.headers(), SystemTime::now());
            if status == StatusCode::TOO_MANY_REQUESTS && retry_after.is_none() {
                // Reddit says when its window resets instead of sending `Retry-After`.
                retry_after = ratelimit_reset(response.headers());
            }
            let error = if status == StatusCode::TOO_MANY_REQUESTS {
                FetchError::RateLimited {
                    url: url.to_string(),
                    status: status.as_u16(),
                    retry_after,
                }
            } else {
                FetchError::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                }
            };
            return Err((error, retry_after));
        }
        if !status.is_success() {
            let error = FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            };
            return Err((error, None));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &reqwest::header::HeaderValue| value.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        };
        let headers = response.headers().clone();
        let limit = self.config.max_body_bytes;
        let too_large = || {
            let error = FetchError::TooLarge {
                url: url.to_string(),
                limit,
            };
            (error, None)
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            bytes,
            validators,
            headers,
        })
    }
}

/// The `outcome` label of a failed attempt.
pub(crate) fn error_outcome(error: &FetchError) -> &'static str {
    match error {
        FetchError::RateLimited { .. } => "http_429",
        FetchError::Status { status, .. } if *status >= 500 => "http_5xx",
        FetchError::Status { .. } => "http_4xx",
        FetchError::Network { .. } => "network",
        FetchError::TooLarge { .. } => "too_large",
        FetchError::Redirect { .. } => "redirect",
        FetchError::InvalidUrl { .. } | FetchError::HostNotAllowed { .. } => "refused",
    }
}

fn retry_kind(error: &FetchError) -> &'static str {
    match error {
        FetchError::RateLimited { .. } => "http_429",
        FetchError::Status { .. } => "http_5xx",
        _ => "network",
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

fn host_allowed(allowed: &[String], url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    allowed.iter().any(|entry| entry.eq_ignore_ascii_case(host))
}
