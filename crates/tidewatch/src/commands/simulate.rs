//! The `simulate` source: the demo's built-in stream of posts (see
//! `tidewatch_collect::simulate`) published into `posts.raw`.
//!
//! Guarantees: the backfill (hours of history in event time) is published first, in time
//! order, as fast as the bus takes it; then one batch per tick covers exactly the wall-clock
//! time since the previous one, so no instant is generated twice or skipped. The stream is a
//! pure function of the seed and the start time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tidewatch_bus::transform::send_durably;
use tidewatch_bus::{BusProducer, OutRecord};
use tidewatch_collect::simulate::{SimulateSource, Simulator};
use tidewatch_model::{Post, Topics};
use tokio_util::sync::CancellationToken;

/// Publishes the backfill, then the live stream until cancelled. Returns the posts published.
pub(crate) async fn run_simulator(
    source: SimulateSource,
    started_at: DateTime<Utc>,
    producer: BusProducer,
    topics: Topics,
    cancel: CancellationToken,
) -> anyhow::Result<u64> {
    let simulator = Simulator::new(source.simulator_config(started_at))
        .map_err(|error| anyhow::anyhow!("invalid simulate source `{}`: {error}", source.name))?;
    let mut published = 0u64;
    let mut cursor = source.backfill_from(started_at);
    // The backfill an hour at a time, so memory stays small whatever backfill_hours is.
    while cursor < started_at && !cancel.is_cancelled() {
        let until = (cursor + chrono::Duration::hours(1)).min(started_at);
        published += publish(
            &simulator.posts_between(cursor, until),
            &producer,
            &topics,
            &cancel,
        )
        .await?;
        cursor = until;
    }
    tracing::info!(source = %source.name, posts = published, "simulated history published; going live");
    let tick = Duration::from_secs(source.tick_seconds.max(1));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(tick) => {}
        }
        let now = Utc::now();
        if now <= cursor {
            continue;
        }
        published += publish(
            &simulator.posts_between(cursor, now),
            &producer,
            &topics,
            &cancel,
        )
        .await?;
        cursor = now;
    }
    Ok(published)
}

async fn publish(
    posts: &[Post],
    producer: &BusProducer,
    topics: &Topics,
    cancel: &CancellationToken,
) -> anyhow::Result<u64> {
    if posts.is_empty() {
        return Ok(0);
    }
    let records: Vec<OutRecord> = posts
        .iter()
        .map(|post| OutRecord::new(&topics.posts_raw, post.key(), post.to_json()))
        .collect();
    send_durably(producer, &records, "simulate", cancel).await?;
    metrics::counter!("tidewatch_source_posts_total", "source" => "simulate")
        .increment(records.len() as u64);
    Ok(records.len() as u64)
}
