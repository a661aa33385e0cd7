//! `tidewatch backtest`: offline score + detect in event time over a file of canonical posts;
//! alert events on stdout, one JSON object per line.
//!
//! Guarantees: deterministic — the posts are ordered by `created_at` (ties keep file order),
//! time comes only from the posts, so the same file and config always print the same events.
//! Bad lines are reported on stderr with their line number and skipped. After the last post the
//! clock is advanced far enough for open stories to resolve, so every story ends in the output.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use tidewatch_detect::Detector;
use tidewatch_model::{Post, WatchedPost};
use tidewatch_score::ScoreTransform;

use crate::config::Config;

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct BacktestArgs {
    /// Canonical posts, one JSON object per line, in any order.
    #[arg(long)]
    pub(crate) posts: PathBuf,
}

/// How far past the last post the clock runs so that open stories can resolve.
const DRAIN_HOURS: i64 = 24;

pub(crate) fn backtest(config: &Config, args: &BacktestArgs) -> anyhow::Result<()> {
    let posts = read_posts(&args.posts)?;
    let mut scorer = ScoreTransform::new(config.watch_matcher()?, config.topics())
        .with_parent_memory(config.pipeline.parent_memory);
    let mut detector = Detector::new(config.detect.clone())
        .map_err(|error| anyhow::anyhow!("invalid [detect] section: {error}"))?;
    let stdout = std::io::stdout();
    let mut output = std::io::BufWriter::new(stdout.lock());
    let mut last_time = None;
    let mut events_printed = 0u64;
    for post in posts {
        last_time = Some(post.created_at);
        let scored = scorer.score(post);
        for watch in &scored.watches {
            let watched = WatchedPost {
                watch: watch.clone(),
                scored: scored.clone(),
            };
            for event in detector.observe(&watched) {
                writeln!(output, "{}", serde_json::to_string(&event)?)?;
                events_printed += 1;
            }
        }
    }
    if let Some(last_time) = last_time {
        for event in detector.advance_to(last_time + chrono::Duration::hours(DRAIN_HOURS)) {
            writeln!(output, "{}", serde_json::to_string(&event)?)?;
            events_printed += 1;
        }
    }
    output.flush()?;
    tracing::info!(events = events_printed, "backtest finished");
    Ok(())
}

/// Reads and validates every line; bad lines are reported and skipped. Sorted by event time.
fn read_posts(path: &PathBuf) -> anyhow::Result<Vec<Post>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader = std::io::BufReader::new(file);
    let mut posts = Vec::new();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        let content = line.strip_suffix(b"\r").unwrap_or(&line);
        if content.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match Post::from_json_bytes(content) {
            Ok(post) => posts.push(post),
            Err(error) => eprintln!("{}:{}: skipped: {error}", path.display(), index + 1),
        }
    }
    // A stable sort keeps file order among posts of the same second.
    posts.sort_by_key(|post| post.created_at);
    Ok(posts)
}
