//! How tidewatch's Kafka clients authenticate and encrypt, and the raw librdkafka properties an
//! operator may add (`[kafka.client]`, `[kafka.producer]`, `[kafka.consumer]`).
//!
//! Guarantees:
//! * every setting is checked before a client exists (`KafkaConfig::validate` calls
//!   `validate_security` and [`check_properties`]): a missing file, a SASL mechanism without credentials, a property
//!   librdkafka does not know, one with a value it refuses, one that tidewatch owns (offsets,
//!   idempotence, group ids…) or a secret put in a pass-through table is an error naming the key;
//! * secrets (the SASL password, the private key's passphrase) are [`Secret`]s: they come only
//!   from the environment (the config loader refuses them in the file), and `Debug` never shows
//!   them;
//! * [`describe_connection_failure`] turns librdkafka's reason for a failed connection into a
//!   message naming the setting to look at (CA file, SASL credentials, security protocol,
//!   brokers).

use std::collections::BTreeMap;
use std::path::Path;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use serde::{Deserialize, Deserializer};

use super::KafkaConfig;
use crate::BusError;

/// `kafka.security_protocol`: librdkafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum SecurityProtocol {
    #[default]
    #[serde(rename = "PLAINTEXT", alias = "plaintext")]
    Plaintext,
    #[serde(rename = "SSL", alias = "ssl")]
    Ssl,
    #[serde(rename = "SASL_PLAINTEXT", alias = "sasl_plaintext")]
    SaslPlaintext,
    #[serde(rename = "SASL_SSL", alias = "sasl_ssl")]
    SaslSsl,
}

impl SecurityProtocol {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// `kafka.sasl_mechanism`: librdkafka's `sasl.mechanisms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    /// With `sasl.oauthbearer.method = "oidc"` and its endpoint in `[kafka.client]`: librdkafka
    /// fetches and refreshes the token itself.
    #[serde(rename = "OAUTHBEARER")]
    OauthBearer,
    /// Kerberos: only in builds with the `gssapi` feature (needs libsasl2-dev).
    #[serde(rename = "GSSAPI")]
    Gssapi,
}

impl SaslMechanism {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OauthBearer => "OAUTHBEARER",
            Self::Gssapi => "GSSAPI",
        }
    }

    fn needs_password(self) -> bool {
        matches!(self, Self::Plain | Self::ScramSha256 | Self::ScramSha512)
    }
}

/// A secret setting: always a string, taken verbatim; `Debug` shows `<redacted>`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("<redacted>")
    }
}

/// Which kind of client a property table is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    Admin,
    Producer,
    Consumer,
}

/// Properties tidewatch sets itself: its delivery guarantees or its own keys depend on them.
const OWNED_PROPERTIES: &[(&str, &str)] = &[
    ("bootstrap.servers", "kafka.brokers"),
    ("metadata.broker.list", "kafka.brokers"),
    ("group.id", "kafka.group_prefix"),
    ("group.instance.id", "kafka.instance_id"),
    ("enable.auto.commit", "tidewatch's offset handling"),
    ("enable.auto.offset.store", "tidewatch's offset handling"),
    ("auto.offset.reset", "tidewatch's offset handling"),
    ("enable.idempotence", "tidewatch's producer guarantees"),
    ("acks", "tidewatch's producer guarantees"),
    ("request.required.acks", "tidewatch's producer guarantees"),
    ("transactional.id", "tidewatch's producer guarantees"),
    ("compression.type", "kafka.compression"),
    ("compression.codec", "kafka.compression"),
    ("session.timeout.ms", "kafka.session_timeout_ms"),
    ("security.protocol", "kafka.security_protocol"),
    ("sasl.mechanism", "kafka.sasl_mechanism"),
    ("sasl.mechanisms", "kafka.sasl_mechanism"),
    ("sasl.username", "kafka.sasl_username"),
    ("ssl.ca.location", "kafka.ca_file"),
    ("ssl.certificate.location", "kafka.cert_file"),
    ("ssl.key.location", "kafka.key_file"),
];

/// Parts of property names that mark a secret: those come from the environment, never a table.
const SECRET_MARKERS: &[&str] = &["password", "secret", "ssl.key.pem", "ssl_key"];

impl KafkaConfig {
    /// Checks the security keys' combination and that every file is readable, naming the key at fault.
    pub(super) fn validate_security(&self) -> Result<(), BusError> {
        let protocol = self.security_protocol;
        if !protocol.uses_tls() {
            for (key, value) in [
                ("kafka.ca_file", &self.ca_file),
                ("kafka.cert_file", &self.cert_file),
                ("kafka.key_file", &self.key_file),
            ] {
                if value.is_some() {
                    return Err(config_error(format!(
                        "{key} is set but kafka.security_protocol is {}: use SSL or SASL_SSL",
                        protocol.as_librdkafka().to_uppercase()
                    )));
                }
            }
        }
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(config_error(
                "kafka.cert_file and kafka.key_file go together (mutual TLS needs both)",
            ));
        }
        for (key, value) in [
            ("kafka.ca_file", &self.ca_file),
            ("kafka.cert_file", &self.cert_file),
            ("kafka.key_file", &self.key_file),
        ] {
            if let Some(path) = value {
                check_pem_file(key, path)?;
            }
        }
        self.validate_sasl()
    }

    fn validate_sasl(&self) -> Result<(), BusError> {
        if !self.security_protocol.uses_sasl() {
            if self.sasl_mechanism.is_some() || self.sasl_username.is_some() {
                return Err(config_error(
                    "kafka.sasl_mechanism / kafka.sasl_username are set but \
                     kafka.security_protocol is not SASL_PLAINTEXT or SASL_SSL",
                ));
            }
            return Ok(());
        }
        let Some(mechanism) = self.sasl_mechanism else {
            return Err(config_error(
                "kafka.security_protocol uses SASL: set kafka.sasl_mechanism \
                 (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI)",
            ));
        };
        if mechanism == SaslMechanism::Gssapi && !cfg!(feature = "gssapi") {
            return Err(config_error(
                "kafka.sasl_mechanism GSSAPI needs a build with the `gssapi` feature \
                 (cargo build --features gssapi, with libsasl2-dev installed)",
            ));
        }
        if mechanism.needs_password() {
            if self.sasl_username.as_deref().unwrap_or("").is_empty() {
                return Err(config_error(format!(
                    "kafka.sasl_mechanism {} needs kafka.sasl_username",
                    mechanism.as_librdkafka()
                )));
            }
            if self.sasl_password.is_none() {
                return Err(config_error(format!(
                    "kafka.sasl_mechanism {} needs a password: set TIDEWATCH__KAFKA__SASL_PASSWORD",
                    mechanism.as_librdkafka()
                )));
            }
        }
        Ok(())
    }

    /// Sets the librdkafka properties of the security keys.
    pub(super) fn apply_security(&self, client_config: &mut ClientConfig) {
        client_config.set("security.protocol", self.security_protocol.as_librdkafka());
        if let Some(mechanism) = self.sasl_mechanism {
            client_config.set("sasl.mechanisms", mechanism.as_librdkafka());
        }
        if let Some(username) = &self.sasl_username {
            client_config.set("sasl.username", username);
        }
        if let Some(password) = &self.sasl_password {
            client_config.set("sasl.password", password.expose());
        }
        for (property, path) in [
            ("ssl.ca.location", &self.ca_file),
            ("ssl.certificate.location", &self.cert_file),
            ("ssl.key.location", &self.key_file),
        ] {
            if let Some(path) = path {
                client_config.set(property, path.display().to_string());
            }
        }
        if let Some(passphrase) = &self.key_password {
            client_config.set("ssl.key.password", passphrase.expose());
        }
    }
}

fn check_pem_file(key: &str, path: &Path) -> Result<(), BusError> {
    let text = std::fs::read(path)
        .map_err(|error| config_error(format!("{key}: cannot read {}: {error}", path.display())))?;
    if !text.windows(11).any(|window| window == b"-----BEGIN ") {
        return Err(config_error(format!(
            "{key}: {} is not a PEM file (no -----BEGIN line)",
            path.display()
        )));
    }
    Ok(())
}

fn config_error(message: impl Into<String>) -> BusError {
    BusError::Config(message.into())
}

/// Refuses a pass-through property that tidewatch owns or that holds a secret, then lets
/// librdkafka itself check every name and value (no client is created, no IO).
pub fn check_properties(
    table: &str,
    properties: &BTreeMap<String, String>,
) -> Result<(), BusError> {
    for name in properties.keys() {
        if let Some((_, owner)) = OWNED_PROPERTIES.iter().find(|(owned, _)| owned == name) {
            return Err(config_error(format!(
                "{table}: property `{name}` is set by tidewatch ({owner}) and cannot be passed through"
            )));
        }
        if SECRET_MARKERS.iter().any(|marker| name.contains(marker)) {
            return Err(config_error(format!(
                "{table}: property `{name}` holds a secret, which must not be in the config: \
                 use TIDEWATCH__KAFKA__SASL_PASSWORD or TIDEWATCH__KAFKA__KEY_PASSWORD"
            )));
        }
    }
    let mut client_config = ClientConfig::new();
    for (name, value) in properties {
        client_config.set(name, value);
    }
    match client_config.create_native_config() {
        Ok(_) => Ok(()),
        Err(KafkaError::ClientConfig(_, description, name, _value)) => Err(config_error(format!(
            "{table}: property `{name}` is refused by librdkafka: {description}"
        ))),
        Err(other) => Err(config_error(format!("{table}: {other}"))),
    }
}

/// A `[kafka.client]`-style table: property names to values. TOML dotted keys
/// (`client.id = "x"`) arrive as nested tables and are joined back with dots; numbers and
/// booleans become their text.
pub(super) fn deserialize_properties<'de, D>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum PropertyValue {
        Text(String),
        Integer(i64),
        Float(f64),
        Flag(bool),
        Table(BTreeMap<String, PropertyValue>),
    }

    fn flatten(
        prefix: &str,
        table: BTreeMap<String, PropertyValue>,
        out: &mut BTreeMap<String, String>,
    ) {
        for (name, value) in table {
            let full = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            let text = match value {
                PropertyValue::Text(text) => text,
                PropertyValue::Integer(number) => number.to_string(),
                PropertyValue::Float(number) => number.to_string(),
                PropertyValue::Flag(flag) => flag.to_string(),
                PropertyValue::Table(nested) => {
                    flatten(&full, nested, out);
                    continue;
                }
            };
            out.insert(full, text);
        }
    }

    let table = BTreeMap::<String, PropertyValue>::deserialize(deserializer)?;
    let mut properties = BTreeMap::new();
    flatten("", table, &mut properties);
    Ok(properties)
}

/// What to look at when a client of `config` could not talk to the brokers, from librdkafka's
/// reason.
pub fn describe_connection_failure(config: &KafkaConfig, reason: &str) -> String {
    let lowered = reason.to_ascii_lowercase();
    let hint = if lowered.contains("certificate verify failed")
        || lowered.contains("certificate has expired")
        || lowered.contains("hostname mismatch")
        || lowered.contains("broker certificate could not be verified")
    {
        "the broker's TLS certificate is not trusted: check kafka.ca_file (the CA that signed \
         the brokers' certificates) and that the certificate is valid for the host in kafka.brokers"
    } else if lowered.contains("authentication") || lowered.contains("sasl") {
        "SASL authentication failed: check kafka.sasl_mechanism, kafka.sasl_username and \
         TIDEWATCH__KAFKA__SASL_PASSWORD"
    } else if lowered.contains("ssl handshake failed")
        || lowered.contains("wrong version number")
        || lowered.contains("packet length too large")
        || lowered.contains("disconnected while requesting apiversion")
        || lowered.contains("invalid response size")
    {
        "the brokers and tidewatch disagree about TLS: check kafka.security_protocol \
         (SSL or SASL_SSL for a TLS listener, PLAINTEXT or SASL_PLAINTEXT otherwise)"
    } else if config.security_protocol.uses_sasl() {
        "check kafka.brokers (host and port) and that the brokers are running, that \
         kafka.security_protocol matches their listener, and the SASL settings \
         (kafka.sasl_mechanism, kafka.sasl_username, TIDEWATCH__KAFKA__SASL_PASSWORD)"
    } else if config.security_protocol.uses_tls() {
        // librdkafka often reports only "all brokers down" once a TLS handshake has failed,
        // so the CA is named even when the certificate error itself was not the last reason.
        "check kafka.brokers (host and port) and that the brokers are running, that \
         kafka.security_protocol matches their listener, and that kafka.ca_file is the CA \
         that signed the brokers' certificates"
    } else {
        "check kafka.brokers (host and port) and that the brokers are running, and that \
         kafka.security_protocol matches their listener"
    };
    format!(
        "cannot connect to Kafka at {} (kafka.brokers): {reason}; {hint}",
        config.brokers
    )
}

/// True when librdkafka's reason means a setting is wrong, so waiting longer cannot help.
pub(super) fn is_misconfiguration(reason: &str) -> bool {
    let lowered = reason.to_ascii_lowercase();
    [
        "certificate",
        "authentication",
        "ssl handshake failed",
        "wrong version number",
        "packet length too large",
        "invalid response size",
    ]
    .iter()
    .any(|marker| lowered.contains(marker))
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;
