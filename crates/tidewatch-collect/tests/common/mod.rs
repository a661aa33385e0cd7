//! Helpers shared by the integration tests: the canonical-post gate check, and loading the
//! project's own fixtures and (when present) the shared payload samples.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use tidewatch_model::Post;

/// Asserts that `post` passes the model's gate and survives the round trip unchanged.
pub(crate) fn assert_valid(post: &Post) {
    let json = post.to_json();
    match Post::from_json_bytes(json.as_bytes()) {
        Ok(back) => assert_eq!(&back, post, "round trip changed the post: {json}"),
        Err(error) => panic!("post does not pass the gate ({error}): {json}"),
    }
}

pub(crate) fn assert_all_valid(posts: &[Post]) {
    posts.iter().for_each(assert_valid);
}

/// One of the project's own fixtures in `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"))
}

/// A shared payload sample under `shared/data/fixtures/`, or `None` when the shared data is
/// not next to the project (a skip outside CI, a failure under CI: `skip_or_fail`).
pub(crate) fn shared(relative: &str) -> Option<Vec<u8>> {
    let path =
        tidewatch_test_support::shared_data("shared_fixtures", &format!("fixtures/{relative}"))?;
    Some(std::fs::read(&path).unwrap_or_else(|error| panic!("reading {}: {error}", path.display())))
}

/// A fixed "now" for deletes and fallbacks.
pub(crate) fn observed_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

/// Runs `sources` (state in `dir`, an in-memory sink) and returns the error it must stop with
/// before collecting anything: config and checkpoint problems are refused up front.
pub(crate) async fn refused_run(
    sources: Vec<tidewatch_collect::SourceConfig>,
    dir: &std::path::Path,
) -> tidewatch_collect::RunError {
    tidewatch_collect::run_sources(
        sources,
        tidewatch_collect::RunOptions::new(dir),
        std::sync::Arc::new(tidewatch_collect::MemorySink::new()),
        tidewatch_collect::HealthReporter::new(),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect_err("the run must be refused before it starts")
}
