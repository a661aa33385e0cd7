//! The HTTP(S) client tidewatch talks to ClickHouse with.
//!
//! Guarantees: `http://` URLs use plain HTTP; `https://` URLs use TLS (rustls) trusting either
//! the system's roots or, when `clickhouse.ca_file` is set, only the CAs in that file, and
//! present a client certificate when `clickhouse.cert_file` and `clickhouse.key_file` are set.
//! Every file problem is reported by [`tls_client_config`] naming the key, before any request;
//! [`explain_transport_error`] turns a TLS or scheme mismatch seen on the wire (a wrong CA, a
//! plain `http://` URL against an HTTPS port, or the reverse) into a configuration error that
//! names the setting to look at, instead of a bare network error retried for ever.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::RootCertStore;

use crate::config::StoreConfig;
use crate::error::StoreError;

/// ClickHouse closes idle keep-alive connections after 3 s by default (10 s since 23.11); the
/// clickhouse crate's own client uses 2 s for the same reason.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// The client for `config.url`, ready for `clickhouse::Client::with_http_client`.
pub(crate) fn http_client(config: &StoreConfig) -> Result<clickhouse::Client, StoreError> {
    let mut http = HttpConnector::new();
    http.set_keepalive(Some(TCP_KEEPALIVE));
    http.enforce_http(false);
    let tls = tls_client_config(config)?;
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let hyper_client = HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(connector);
    Ok(clickhouse::Client::with_http_client(hyper_client))
}

/// The TLS settings of `config` (also built for `http://` URLs, where they are unused, so that
/// one client type serves both).
pub(crate) fn tls_client_config(config: &StoreConfig) -> Result<rustls::ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| invalid(format!("TLS setup failed: {error}")))?
        .with_root_certificates(root_certificates(config)?);
    match (&config.cert_file, &config.key_file) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert_file), Some(key_file)) => {
            let chain = read_certificates("clickhouse.cert_file", cert_file)?;
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|error| {
                invalid(format!(
                    "clickhouse.key_file: cannot read a PEM private key from {}: {error}",
                    key_file.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|error| {
                invalid(format!(
                    "clickhouse.cert_file / clickhouse.key_file do not form a usable pair: {error}"
                ))
            })
        }
        _ => Err(invalid(
            "clickhouse.cert_file and clickhouse.key_file go together (a client certificate needs both)",
        )),
    }
}

fn root_certificates(config: &StoreConfig) -> Result<RootCertStore, StoreError> {
    let mut roots = RootCertStore::empty();
    if let Some(ca_file) = &config.ca_file {
        let (added, _ignored) =
            roots.add_parsable_certificates(read_certificates("clickhouse.ca_file", ca_file)?);
        if added == 0 {
            return Err(invalid(format!(
                "clickhouse.ca_file: {} holds no CA certificate rustls can use",
                ca_file.display()
            )));
        }
        return Ok(roots);
    }
    if !config.url.starts_with("https://") {
        return Ok(roots);
    }
    // System roots; unreadable ones are skipped (a CA bundle may hold a few odd entries).
    let system = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(system.certs);
    if added == 0 {
        return Err(invalid(
            "clickhouse.url is https:// but no system CA certificates were found: install \
             ca-certificates or set clickhouse.ca_file",
        ));
    }
    Ok(roots)
}

fn read_certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|iterator| iterator.collect())
        .map_err(|error| {
            invalid(format!(
                "{key}: cannot read PEM certificates from {}: {error}",
                path.display()
            ))
        })?;
    if certificates.is_empty() {
        return Err(invalid(format!(
            "{key}: {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certificates)
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::InvalidConfig(message.into())
}

/// A configuration error naming the setting when `error` shows a TLS or scheme mismatch;
/// otherwise `error` unchanged (an unreachable or restarting server stays retryable).
pub(crate) fn explain_transport_error(config: &StoreConfig, error: StoreError) -> StoreError {
    let StoreError::ClickHouse { .. } = &error else {
        return error;
    };
    let chain = error_chain(&error);
    let lowered = chain.to_ascii_lowercase();
    let hint = if lowered.contains("invalid peer certificate")
        || lowered.contains("unknownissuer")
        || lowered.contains("certificate")
    {
        "the server's TLS certificate is not trusted: check clickhouse.ca_file (the CA that \
         signed it) and that the certificate is valid for the host in clickhouse.url"
    } else if config.url.starts_with("http://")
        && (lowered.contains("invalid http version")
            || lowered.contains("connection closed before message completed")
            || lowered.contains("connection reset"))
    {
        "the server did not answer plain HTTP: if this port serves HTTPS, clickhouse.url must \
         start with https://"
    } else if config.url.starts_with("https://")
        && (lowered.contains("invalidcontenttype")
            || lowered.contains("corrupt message")
            || lowered.contains("wrong version")
            || lowered.contains("invalidmessage"))
    {
        "the server did not speak TLS: if this port serves plain HTTP, clickhouse.url must start \
         with http://"
    } else {
        return error;
    };
    invalid(format!(
        "cannot talk to ClickHouse at {} (clickhouse.url): {chain}; {hint}",
        config.url
    ))
}

/// The error and all its sources, `: `-separated, each once.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(layer) = current {
        let text = layer.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = layer.source();
    }
    parts.join(": ")
}
