//! `tidewatch replay`: canonical posts from a JSONL file into `posts.raw`.
//!
//! Each line is validated with the same gate as every stage; a bad line (not JSON, a missing
//! field, a bad timestamp, invalid UTF-8, oversized) goes to the dead-letter topic with its file
//! and line number and the rest goes on. Records are sent in batches and each batch is durable
//! (acknowledged) before the next is read, so when replay returns, every line is somewhere.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tidewatch_bus::transform::send_durably;
use tidewatch_bus::{ensure_topics, BusProducer, KafkaProducer, OutRecord};
use tidewatch_model::{DeadLetter, Post, Topics};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::telemetry;

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ReplayArgs {
    /// Canonical posts, one JSON object per line.
    #[arg(long)]
    pub(crate) posts: PathBuf,
    /// Pace the replay by the posts' created_at, this many times faster than real time.
    /// Without it, posts are sent as fast as the bus takes them.
    #[arg(long)]
    pub(crate) speedup: Option<f64>,
}

const REPLAY_BATCH: usize = 50_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplayTotals {
    pub(crate) published: u64,
    pub(crate) dead_lettered: u64,
}

pub(crate) async fn replay_command(config: &Config, args: &ReplayArgs) -> anyhow::Result<()> {
    let kafka = config.require_kafka()?;
    let topics = config.topics();
    ensure_topics(kafka, &topics.all())
        .await
        .context("cannot create topics")?;
    let producer = BusProducer::Kafka(KafkaProducer::new(kafka)?);
    let cancel = telemetry::shutdown_on_signals();
    let started = std::time::Instant::now();
    let totals = replay_file(&args.posts, &producer, &topics, args.speedup, &cancel).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "replayed {} posts ({} dead-lettered) in {seconds:.2}s: {:.0} posts/s",
        totals.published,
        totals.dead_lettered,
        totals.published as f64 / seconds.max(1e-9)
    );
    Ok(())
}

pub(crate) async fn replay_file(
    path: &Path,
    producer: &BusProducer,
    topics: &Topics,
    speedup: Option<f64>,
    cancel: &CancellationToken,
) -> anyhow::Result<ReplayTotals> {
    if let Some(speedup) = speedup {
        anyhow::ensure!(
            speedup > 0.0 && speedup.is_finite(),
            "--speedup must be a positive number"
        );
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut totals = ReplayTotals::default();
    let mut batch: Vec<OutRecord> = Vec::with_capacity(REPLAY_BATCH);
    let mut line = Vec::new();
    let mut line_number = 0u64;
    let mut pace: Option<(chrono::DateTime<chrono::Utc>, Instant)> = None;
    loop {
        line.clear();
        // Lines are read as bytes: invalid UTF-8 must reach the dead-letter topic, not stop us.
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        let content = trim_line_end(&line);
        if content.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match Post::from_json_bytes(content) {
            Ok(post) => {
                if let Some(speedup) = speedup {
                    let (first_created, start) =
                        *pace.get_or_insert((post.created_at, Instant::now()));
                    let offset = (post.created_at - first_created)
                        .to_std()
                        .unwrap_or(Duration::ZERO);
                    let due = start + offset.div_f64(speedup);
                    if due > Instant::now() {
                        flush(producer, topics, &mut batch, &mut totals, cancel).await?;
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tokio::time::sleep_until(due) => {}
                        }
                    }
                }
                // Typed: moved as it is on the in-process bus, JSON written for Kafka.
                batch.push(OutRecord::typed(
                    &topics.posts_raw,
                    post.key(),
                    std::sync::Arc::new(post),
                ));
            }
            Err(error) => {
                tracing::warn!(file = %path.display(), line = line_number, reason = %error, "line dead-lettered");
                metrics::counter!("tidewatch_stage_dead_lettered_total", "stage" => "replay", "reason" => error.kind())
                    .increment(1);
                let origin = format!("{}:{line_number}", path.display());
                let letter =
                    DeadLetter::new("replay", error.kind(), error.to_string(), origin, content);
                batch.push(OutRecord::new(
                    &topics.dead_letter,
                    String::new(),
                    letter.to_json(),
                ));
                totals.dead_lettered += 1;
            }
        }
        if batch.len() >= REPLAY_BATCH {
            flush(producer, topics, &mut batch, &mut totals, cancel).await?;
        }
        if cancel.is_cancelled() {
            break;
        }
    }
    flush(producer, topics, &mut batch, &mut totals, cancel).await?;
    Ok(totals)
}

async fn flush(
    producer: &BusProducer,
    topics: &Topics,
    batch: &mut Vec<OutRecord>,
    totals: &mut ReplayTotals,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let durable = send_durably(producer, batch, "replay", cancel)
        .await
        .context("cannot publish to the bus")?;
    anyhow::ensure!(
        durable,
        "replay cancelled before its last batch was durable"
    );
    let posts = batch
        .iter()
        .filter(|record| record.topic == topics.posts_raw)
        .count() as u64;
    totals.published += posts;
    metrics::counter!("tidewatch_stage_sent_total", "stage" => "replay").increment(posts);
    batch.clear();
    Ok(())
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}
