//! `tidewatch run`: every stage in one process.
//!
//! Without `[kafka]` the stages talk through the in-process bus: fast and simple, but nothing
//! in flight survives a crash. With `[kafka]` each stage uses its own consumer group on the
//! cluster, exactly as when run as separate processes. With `--posts`, the file is replayed into
//! `posts.raw` and, unless `--keep-running`, the process leaves once every stage has drained it.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use tidewatch_bus::transform::{run_transform, StageTotals};
use tidewatch_bus::{
    ensure_topics, BusConsumer, BusProducer, KafkaConsumer, KafkaProducer, MemoryBus,
};
use tidewatch_model::{AlertEvent, DeadLetter};
use tidewatch_score::ScoreTransform;
use tidewatch_store::stage::run_store_stage;
use tidewatch_store::PostStore;
use tokio_util::sync::CancellationToken;

use super::detect::run_detect_stage;
use super::replay::{replay_file, ReplayTotals};
use super::stages::{detect_settings, stage_settings};
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

/// The consumers of one pipeline, on whichever bus.
struct Wiring {
    raw: BusConsumer,
    scored: BusConsumer,
    watched: BusConsumer,
    /// The in-process bus has no notify stage yet to read alerts: they are printed.
    alerts: Option<BusConsumer>,
    /// The in-process bus has nobody else to read dead letters; Kafka keeps them in the topic.
    dead_letters: Option<BusConsumer>,
    producer: BusProducer,
}

async fn wire(config: &Config) -> anyhow::Result<Wiring> {
    let topics = config.topics();
    if let Some(kafka) = &config.kafka {
        ensure_topics(kafka, &topics.all())
            .await
            .context("cannot create topics")?;
        return Ok(Wiring {
            raw: BusConsumer::Kafka(KafkaConsumer::new(kafka, "score", &[&topics.posts_raw])?),
            scored: BusConsumer::Kafka(KafkaConsumer::new(
                kafka,
                "store",
                &[&topics.posts_scored],
            )?),
            watched: BusConsumer::Kafka(KafkaConsumer::new(
                kafka,
                "detect",
                &[&topics.posts_watched],
            )?),
            alerts: None,
            dead_letters: None,
            producer: BusProducer::Kafka(KafkaProducer::new(kafka)?),
        });
    }
    let bus = MemoryBus::new(config.pipeline.channel_capacity);
    Ok(Wiring {
        raw: BusConsumer::Memory(bus.subscribe(&topics.posts_raw)?),
        scored: BusConsumer::Memory(bus.subscribe(&topics.posts_scored)?),
        watched: BusConsumer::Memory(bus.subscribe(&topics.posts_watched)?),
        alerts: Some(BusConsumer::Memory(bus.subscribe(&topics.alerts)?)),
        dead_letters: Some(BusConsumer::Memory(bus.subscribe(&topics.dead_letter)?)),
        producer: BusProducer::Memory(bus.producer()),
    })
}

pub(crate) async fn run(config: &Config, args: &RunArgs) -> anyhow::Result<()> {
    let topics = config.topics();
    let cancel = telemetry::shutdown_on_signals();
    let health = Health::default();
    telemetry::serve_endpoints(&config.api.listen, health.clone(), cancel.clone()).await?;
    let post_store = PostStore::connect(&config.clickhouse);
    post_store.migrate().await.with_context(|| {
        format!(
            "cannot migrate ClickHouse at {} (clickhouse.url)",
            config.clickhouse.url
        )
    })?;
    let wiring = wire(config).await?;
    let bus_name = if config.kafka.is_some() {
        "kafka"
    } else {
        "in-process"
    };
    tracing::info!(
        bus = bus_name,
        watches = config.watches.len(),
        "pipeline starting"
    );

    let finite = args.posts.is_some() && !args.keep_running;
    let replay_done = CancellationToken::new();
    let score_done = CancellationToken::new();
    let store_done = CancellationToken::new();
    let detect_done = CancellationToken::new();
    let upstream = |token: &CancellationToken| finite.then(|| token.clone());

    health.set("score", "running");
    let score_task = tokio::spawn({
        let transform = ScoreTransform::new(config.watch_matcher()?, topics.clone())
            .with_parent_memory(config.pipeline.parent_memory);
        let stage = run_transform(
            wiring.raw,
            wiring.producer.clone(),
            transform,
            stage_settings(config, "score", upstream(&replay_done)),
            cancel.clone(),
        );
        let (score_done, health) = (score_done.clone(), health.clone());
        async move {
            let result = stage.await;
            health.set("score", if result.is_ok() { "stopped" } else { "failed" });
            score_done.cancel();
            result
        }
    });
    health.set("store", "running");
    let store_task = tokio::spawn({
        let stage = run_store_stage(
            wiring.scored,
            wiring.producer.clone(),
            post_store.clone(),
            stage_settings(config, "store", upstream(&score_done)),
            cancel.clone(),
        );
        let (store_done, health) = (store_done.clone(), health.clone());
        async move {
            let result = stage.await;
            health.set("store", if result.is_ok() { "stopped" } else { "failed" });
            store_done.cancel();
            result
        }
    });
    health.set("detect", "running");
    let detect_task = tokio::spawn({
        let stage = run_detect_stage(
            wiring.watched,
            wiring.producer.clone(),
            detect_settings(config, upstream(&score_done)),
            cancel.clone(),
        );
        let (detect_done, health) = (detect_done.clone(), health.clone());
        async move {
            let result = stage.await;
            health.set("detect", if result.is_ok() { "stopped" } else { "failed" });
            detect_done.cancel();
            result
        }
    });
    let alert_task = wiring.alerts.map(|consumer| {
        let settings = stage_settings(config, "alerts", upstream(&detect_done));
        tokio::spawn(print_alerts(
            consumer,
            settings.max_wait,
            settings.upstream_finished,
            cancel.clone(),
        ))
    });
    let dead_letter_task = wiring.dead_letters.map(|consumer| {
        let settings = stage_settings(config, "dead-letters", upstream(&store_done));
        tokio::spawn(log_dead_letters(
            consumer,
            settings.max_wait,
            settings.upstream_finished,
            cancel.clone(),
        ))
    });

    let started = Instant::now();
    let replay_totals = match &args.posts {
        Some(path) => {
            let totals = replay_file(path, &wiring.producer, &topics, args.speedup, &cancel).await;
            replay_done.cancel();
            totals?
        }
        None => ReplayTotals::default(),
    };
    let score_totals: StageTotals = score_task.await?.context("score stage failed")?;
    let store_totals: StageTotals = store_task.await?.context("store stage failed")?;
    let detect_totals: StageTotals = detect_task.await?.context("detect stage failed")?;
    if let Some(task) = alert_task {
        task.await?;
    }
    let logged_dead_letters = match dead_letter_task {
        Some(task) => task.await?,
        None => 0,
    };
    let seconds = started.elapsed().as_secs_f64();
    report(
        &post_store,
        replay_totals,
        score_totals,
        store_totals,
        detect_totals,
        logged_dead_letters,
        seconds,
        bus_name,
    )
    .await
}

/// Reads the in-process dead-letter topic: logs each letter and counts them.
async fn log_dead_letters(
    mut consumer: BusConsumer,
    max_wait: std::time::Duration,
    upstream_finished: Option<CancellationToken>,
    cancel: CancellationToken,
) -> u64 {
    let mut count = 0;
    loop {
        let batch = consumer
            .next_batch(1_000, max_wait, &cancel)
            .await
            .unwrap_or_default();
        for record in &batch {
            count += 1;
            match serde_json::from_slice::<DeadLetter>(&record.payload) {
                Ok(letter) => {
                    tracing::warn!(stage = %letter.stage, reason = %letter.reason, origin = %letter.origin, "dead letter")
                }
                Err(error) => tracing::warn!(%error, "unreadable dead letter"),
            }
        }
        let drained = upstream_finished
            .as_ref()
            .is_some_and(|finished| finished.is_cancelled());
        if batch.is_empty() && (cancel.is_cancelled() || drained) {
            return count;
        }
    }
}

/// Reads the in-process alerts topic and prints each event on stdout, one line each.
async fn print_alerts(
    mut consumer: BusConsumer,
    max_wait: std::time::Duration,
    upstream_finished: Option<CancellationToken>,
    cancel: CancellationToken,
) {
    loop {
        let batch = consumer
            .next_batch(1_000, max_wait, &cancel)
            .await
            .unwrap_or_default();
        for record in &batch {
            match serde_json::from_slice::<AlertEvent>(&record.payload) {
                Ok(event) => println!(
                    "alert {:?} {} [{:?}] {} — {} posts, {:.0}% negative, score {:.1} (threshold {:.1}), story {}",
                    event.state,
                    event.watch,
                    event.severity,
                    event.title,
                    event.posts,
                    event.negative_share * 100.0,
                    event.score,
                    event.threshold,
                    event.story_id
                ),
                Err(error) => tracing::warn!(%error, "unreadable alert event"),
            }
        }
        let drained = upstream_finished
            .as_ref()
            .is_some_and(|finished| finished.is_cancelled());
        if batch.is_empty() && (cancel.is_cancelled() || drained) {
            return;
        }
    }
}

async fn report(
    post_store: &PostStore,
    replay: ReplayTotals,
    score: StageTotals,
    store: StageTotals,
    detect: StageTotals,
    dead_letters_logged: u64,
    seconds: f64,
    bus_name: &str,
) -> anyhow::Result<()> {
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
    if dead_letters_logged > 0 {
        println!("  dead letters logged: {dead_letters_logged}");
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
