//! The dashboard: the files of `assets/`, embedded at compile time, served without auth.
//!
//! Guarantees: `/` serves `assets/index.html` and `/favicon.ico` the dashboard's icon;
//! `/assets/<path>` serves that file with the content type of its extension, or 404 JSON;
//! nothing outside the embedded folder can be reached (the embed has no file system access at
//! run time, so `..` cannot escape it). Every file carries a strong `ETag` (its SHA-256) and
//! `Cache-Control: no-cache`, so browsers revalidate and get `304 Not Modified` with no body
//! while it is unchanged; text files are sent gzip-compressed to clients that accept gzip
//! (compressed once per file and kept), with `Vary: Accept-Encoding`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::error_body;

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct DashboardAssets;

/// Files smaller than this are not worth compressing.
const MIN_COMPRESSED_BYTES: usize = 512;

/// gzip bodies, made once per file.
fn gzip_cache() -> &'static Mutex<HashMap<String, Bytes>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn gzip(path: &str, data: &[u8]) -> Bytes {
    let mut cache = gzip_cache()
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    if let Some(compressed) = cache.get(path) {
        return compressed.clone();
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let compressed = encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    let compressed = Bytes::from(compressed);
    cache.insert(path.to_string(), compressed.clone());
    compressed
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|parameter| {
                parameter
                    .trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = DashboardAssets::get(path) else {
        return error_body(StatusCode::NOT_FOUND, &format!("no asset {path:?}"));
    };
    let etag: String = file
        .metadata
        .sha256_hash()
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let etag = format!("\"{etag}\"");
    let content_type = file.metadata.mimetype().to_string();
    let is_text = content_type.starts_with("text/")
        || content_type.ends_with("javascript")
        || content_type.ends_with("json")
        || content_type.ends_with("svg+xml");
    let content_type = if is_text && !content_type.contains("charset") {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type
    };
    let mut response = if not_modified(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if is_text && file.data.len() >= MIN_COMPRESSED_BYTES && accepts_gzip(headers) {
        let body = gzip(path, &file.data);
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        response
    } else {
        file.data.into_owned().into_response()
    };
    let answer = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        answer.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        answer.insert(header::ETAG, value);
    }
    answer.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    answer.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

pub(crate) async fn favicon(headers: HeaderMap) -> Response {
    serve("favicon.svg", &headers)
}

pub(crate) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The names of the embedded files (for tests and the OpenAPI description).
pub fn asset_names() -> Vec<String> {
    DashboardAssets::iter()
        .map(|name| name.into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_take_it() {
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip, deflate, br"
        )])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1.0, GZIP;q=0.5"
        )])));
        assert!(!accepts_gzip(&headers(&[(
            "accept-encoding",
            "gzip;q=0, br"
        )])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "identity")])));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn a_matching_etag_is_not_modified() {
        let etag = "\"abc\"";
        assert!(not_modified(
            &headers(&[("if-none-match", "\"abc\"")]),
            etag
        ));
        assert!(not_modified(
            &headers(&[("if-none-match", "\"x\", W/\"abc\"")]),
            etag
        ));
        assert!(!not_modified(
            &headers(&[("if-none-match", "\"abd\"")]),
            etag
        ));
        assert!(!not_modified(&HeaderMap::new(), etag));
    }
}
