//! The dashboard: the files of `assets/`, embedded at compile time, served without auth.
//!
//! Guarantees: `/` serves `assets/index.html`; `/assets/<path>` serves that file with the content
//! type of its extension, or 404 JSON; nothing outside the embedded folder can be reached (the
//! embed has no file system access at run time, so `..` cannot escape it).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::error_body;

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct DashboardAssets;

fn serve(path: &str) -> Response {
    let Some(file) = DashboardAssets::get(path) else {
        return error_body(StatusCode::NOT_FOUND, &format!("no asset {path:?}"));
    };
    let content_type = file.metadata.mimetype().to_string();
    let content_type = if content_type.starts_with("text/") || content_type.ends_with("javascript")
    {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

pub(crate) async fn index() -> Response {
    serve("index.html")
}

pub(crate) async fn asset(Path(path): Path<String>) -> Response {
    serve(&path)
}

/// The names of the embedded files (for tests and the OpenAPI description).
pub fn asset_names() -> Vec<String> {
    DashboardAssets::iter()
        .map(|name| name.into_owned())
        .collect()
}
