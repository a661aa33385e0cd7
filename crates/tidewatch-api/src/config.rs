//! The `[api]` section of `tidewatch.toml`, and who may do what.
//!
//! Guarantees: unknown keys are rejected (`deny_unknown_fields`); every key has a default that
//! works locally; the config holds only SHA-256 hashes of tokens, never tokens, and `Debug`
//! prints token names and roles only; [`ApiConfig::validate`] refuses hashes that are not 64 hex
//! digits, duplicate token names and zero bounds, so a typo stops start-up instead of locking
//! everyone out at run time.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:9898";
pub const DEFAULT_MAX_RANGE_DAYS: u32 = 90;
pub const DEFAULT_MAX_PAGE_SIZE: u32 = 1_000;
pub const DEFAULT_MAX_STREAMS: u32 = 1_000;
pub const DEFAULT_MAX_STREAMS_PER_TOKEN: u32 = 20;

/// What a token may do. Ordered: each role may do everything the roles before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything except collector health and config.
    Viewer,
    /// Also acts on alerts: ack, resolve, snooze, unsnooze.
    Responder,
    /// Also silences, collector health, config view.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Responder => "responder",
            Self::Admin => "admin",
        }
    }
}

/// One accepted bearer token: its name (who, in alert actions), the SHA-256 of the token in
/// lowercase hex, and its role.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    pub sha256: String,
    pub role: Role,
}

impl std::fmt::Debug for TokenConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TokenConfig")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl TokenConfig {
    /// A token entry for `token` (hashing it), e.g. for tests and the dev server.
    pub fn for_token(name: &str, token: &str, role: Role) -> Self {
        Self {
            name: name.to_string(),
            sha256: sha256_hex(token),
            role,
        }
    }
}

/// The `[api]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// `host:port`; port 0 picks a free port; empty disables the listener.
    pub listen: String,
    pub tokens: Vec<TokenConfig>,
    /// Longest `to - from` a query may span.
    pub max_range_days: u32,
    /// Largest `limit` a page may ask for.
    pub max_page_size: u32,
    /// Most alert streams (SSE) open at once in this process; more are answered 429.
    pub max_streams: u32,
    /// Most alert streams one token may hold open at once; more are answered 429.
    pub max_streams_per_token: u32,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_API_LISTEN.to_string(),
            tokens: Vec::new(),
            max_range_days: DEFAULT_MAX_RANGE_DAYS,
            max_page_size: DEFAULT_MAX_PAGE_SIZE,
            max_streams: DEFAULT_MAX_STREAMS,
            max_streams_per_token: DEFAULT_MAX_STREAMS_PER_TOKEN,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid [api] config: {0}")]
pub struct ApiConfigError(pub String);

impl ApiConfig {
    pub fn validate(&self) -> Result<(), ApiConfigError> {
        let bounds = [
            ("api.max_range_days", self.max_range_days),
            ("api.max_page_size", self.max_page_size),
            ("api.max_streams", self.max_streams),
            ("api.max_streams_per_token", self.max_streams_per_token),
        ];
        if let Some((key, _)) = bounds.iter().find(|(_, value)| *value == 0) {
            return Err(ApiConfigError(format!("{key} must be at least 1")));
        }
        let mut names = std::collections::BTreeSet::new();
        for token in &self.tokens {
            let is_hex_digest = token.sha256.len() == 64
                && token.sha256.bytes().all(|byte| byte.is_ascii_hexdigit());
            if !is_hex_digest {
                return Err(ApiConfigError(format!(
                    "api.tokens: the sha256 of {:?} must be 64 hex digits",
                    token.name
                )));
            }
            if token.name.is_empty() || !names.insert(token.name.as_str()) {
                return Err(ApiConfigError(format!(
                    "api.tokens: names must be non-empty and unique, got {:?}",
                    token.name
                )));
            }
        }
        Ok(())
    }
}

/// Lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_gives_the_defaults_and_unknown_keys_are_named() {
        let config: ApiConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, ApiConfig::default());
        assert_eq!(config.listen, "127.0.0.1:9898");
        assert_eq!((config.max_range_days, config.max_page_size), (90, 1000));
        let error = serde_json::from_str::<ApiConfig>(r#"{"tokenz":[]}"#).unwrap_err();
        assert!(error.to_string().contains("tokenz"), "{error}");
    }

    #[test]
    fn tokens_parse_and_validate() {
        let config: ApiConfig = serde_json::from_str(&format!(
            r#"{{"tokens":[{{"name":"alice","sha256":"{}","role":"responder"}}]}}"#,
            sha256_hex("secret")
        ))
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.tokens[0].role, Role::Responder);
        assert!(!format!("{config:?}").contains(&sha256_hex("secret")));
        let mut bad = config.clone();
        bad.tokens[0].sha256 = "xyz".into();
        assert!(bad.validate().is_err());
        let mut duplicate = config.clone();
        duplicate.tokens.push(config.tokens[0].clone());
        assert!(duplicate.validate().is_err());
        assert!(Role::Viewer < Role::Responder && Role::Responder < Role::Admin);
    }

    #[test]
    fn hashes_match_a_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
