//! `tidewatch run`: every stage in one process (see `pipeline.rs`), fed by a file of posts
//! (`--posts`) and by the configured `[[source]]` entries.
//!
//! Without `[kafka]` the stages talk through the in-process bus: fast and simple, but nothing
//! in flight survives a crash. With `[kafka]` each stage uses its own consumer group on the
//! cluster, exactly as when run as separate processes. With `--posts` and no other source, the
//! process leaves once every stage has drained the file (unless `--keep-running`). On Ctrl-C /
//! SIGTERM the sources stop first and the stages drain in data order (see `pipeline.rs`):
//! on the in-process bus every post published before the signal is stored before the exit.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use tidewatch_store::PostStore;

use super::pipeline::{self, Finished, PipelineTotals, Wiring};
use super::replay::{replay_file, ReplayTotals};
use super::stages::alert_service;
use crate::config::Config;
use crate::telemetry::{self, Health};

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct RunArgs {
    /// Replay these canonical posts (JSONL) into the pipeline.
    #[arg(long)]
    pub(crate) posts: Option<PathBuf>,
    /// Pace the replay by created_at, this many times faster than real time.
    #[arg(long)]
    pub(crate) speedup: Option<f64>,
    /// Keep running after the --posts file is drained (until Ctrl-C).
    #[arg(long)]
    pub(crate) keep_running: bool,
}

pub(crate) async fn run(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    let topics = config.topics();
    let cancel = telemetry::shutdown_on_signals();
    let health = Health::default();
    let post_store = PostStore::connect(&config.clickhouse);
    post_store.migrate().await.with_context(|| {
        format!(
            "cannot migrate ClickHouse at {} (clickhouse.url)",
            config.clickhouse.url
        )
    })?;
    telemetry::probe_dependencies(
        &health,
        "run",
        config.kafka.as_ref(),
        Some(&post_store),
        &cancel,
    )?;
    let wiring = pipeline::wire(config).await?;
    let bus_name = Wiring::bus_name(config);
    let producer = wiring.producer.clone();
    pipeline::serve_api(
        config,
        &post_store,
        producer.clone(),
        health.clone(),
        cancel.clone(),
    )
    .await?;
    tracing::info!(
        bus = bus_name,
        watches = config.watches.len(),
        "pipeline starting"
    );

    // A file alone is finite; configured sources run until Ctrl-C.
    let finite = args.posts.is_some() && !args.keep_running && config.sources.is_empty();
    let finished = Finished::default();
    let stages = pipeline::start_stages(
        config,
        wiring,
        &post_store,
        alert_service(config)?,
        finite,
        config.kafka.is_none(),
        &finished,
        &health,
        &cancel,
    )?;
    let collector_health = tidewatch_collect::HealthReporter::new();
    let sources = super::collect::start_sources(
        config,
        &producer,
        Some(post_store.clone()),
        &collector_health,
        &cancel,
    )?;
    let started = Instant::now();
    // Drain order: the sources stop first (the file ends, or the signal stops the collectors);
    // only then are the stages told that their upstream is finished, one after the other.
    let replay = match &args.posts {
        Some(path) => replay_file(path, &producer, &topics, args.speedup, &cancel).await,
        None => Ok(ReplayTotals::default()),
    };
    if replay.is_err() {
        cancel.cancel(); // the file cannot be read: stop the sources too, then report it
    }
    for source in sources {
        if let Err(error) = source.await? {
            tracing::error!("{error:#}");
        }
    }
    if !finite {
        cancel.cancelled().await;
    }
    finished.sources.cancel();
    let replay_totals = replay?;
    let totals = stages.join().await?;
    let seconds = started.elapsed().as_secs_f64();
    report(&post_store, replay_totals, &totals, seconds, bus_name).await
}

async fn report(
    post_store: &PostStore,
    replay: ReplayTotals,
    totals: &PipelineTotals,
    seconds: f64,
    bus_name: &str,
) -> anyhow::Result<()> {
    let (score, store, detect) = (totals.score, totals.store, totals.detect);
    let stored = post_store
        .count_posts()
        .await
        .context("cannot count stored posts")?;
    let by_label = post_store
        .count_posts_by_label()
        .await
        .context("cannot count posts by label")?;
    let by_watch = post_store
        .count_posts_by_watch()
        .await
        .context("cannot count posts by watch")?;
    println!("pipeline finished on the {bus_name} bus in {seconds:.2}s");
    println!(
        "  replayed {} posts ({:.0} posts/s end to end), {} lines dead-lettered by replay",
        replay.published,
        replay.published as f64 / seconds.max(1e-9),
        replay.dead_lettered
    );
    println!(
        "  score: {} in, {} out, {} dead-lettered",
        score.received, score.sent, score.dead_lettered
    );
    println!(
        "  store: {} in, {} stored, {} dead-lettered",
        store.received, store.sent, store.dead_lettered
    );
    println!(
        "  detect: {} watched posts in, {} alert events out",
        detect.received, detect.sent
    );
    println!(
        "  notify: {} alert events and actions handled",
        totals.notify.received
    );
    if totals.dead_letters_logged > 0 {
        println!("  dead letters logged: {}", totals.dead_letters_logged);
    }
    println!(
        "  ClickHouse database {} holds {stored} posts",
        post_store.database()
    );
    let labels: Vec<String> = by_label
        .iter()
        .map(|(label, count)| format!("{count} {label}"))
        .collect();
    println!("    by label: {}", labels.join(", "));
    for (watch, count) in by_watch {
        println!("    watch {watch}: {count} posts");
    }
    Ok(())
}
