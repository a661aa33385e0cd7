//! Single stages against Kafka (`score`, `detect`, `store`) and `migrate`.

use std::time::Duration;

use anyhow::Context;
use tidewatch_bus::transform::{run_transform, StageSettings};
use tidewatch_bus::{ensure_topics, BusConsumer, BusProducer, KafkaConsumer, KafkaProducer};
use tidewatch_score::ScoreTransform;
use tidewatch_store::stage::run_store_stage;
use tidewatch_store::PostStore;
use tokio_util::sync::CancellationToken;

use super::detect::{run_detect_stage, DetectStageSettings};
use crate::config::Config;
use crate::telemetry::{self, Health};

pub(crate) fn stage_settings(
    config: &Config,
    stage: &str,
    upstream_finished: Option<CancellationToken>,
) -> StageSettings {
    StageSettings {
        stage: stage.to_string(),
        dead_letter_topic: config.topics().dead_letter,
        max_batch: config.pipeline.batch_size,
        max_wait: Duration::from_millis(config.pipeline.batch_wait_ms),
        upstream_finished,
    }
}

pub(crate) async fn score(config: &Config) -> anyhow::Result<()> {
    let kafka = config.require_kafka()?;
    let topics = config.topics();
    ensure_topics(kafka, &topics.all())
        .await
        .context("cannot create topics")?;
    let cancel = telemetry::shutdown_on_signals();
    let health = Health::default();
    telemetry::serve_endpoints(&config.api.listen, health.clone(), cancel.clone()).await?;
    let consumer = KafkaConsumer::new(kafka, "score", &[&topics.posts_raw])?;
    let producer = KafkaProducer::new(kafka)?;
    let transform = ScoreTransform::new(config.watch_matcher()?, topics)
        .with_parent_memory(config.pipeline.parent_memory);
    health.set("score", "running");
    let result = run_transform(
        BusConsumer::Kafka(consumer),
        BusProducer::Kafka(producer),
        transform,
        stage_settings(config, "score", None),
        cancel,
    )
    .await;
    health.set("score", if result.is_ok() { "stopped" } else { "failed" });
    result.context("score stage failed")?;
    Ok(())
}

/// What the detect stage needs besides the bus: where its state lives and how often it saves.
pub(crate) fn detect_settings(
    config: &Config,
    upstream_finished: Option<CancellationToken>,
) -> DetectStageSettings {
    DetectStageSettings {
        stage: stage_settings(config, "detect", upstream_finished),
        alerts_topic: config.topics().alerts,
        // The in-process bus starts at offset zero every run: no state to resume. With Kafka,
        // the state belongs to the consumer group whose offsets it matches.
        state_dir: config
            .kafka
            .as_ref()
            .map(|kafka| config.pipeline.state_dir.join(&kafka.group_prefix)),
        snapshot_interval: Duration::from_millis(config.pipeline.snapshot_interval_ms),
        detector: config.detect.clone(),
    }
}

pub(crate) async fn detect(config: &Config) -> anyhow::Result<()> {
    let kafka = config.require_kafka()?;
    let topics = config.topics();
    ensure_topics(kafka, &topics.all())
        .await
        .context("cannot create topics")?;
    let cancel = telemetry::shutdown_on_signals();
    let health = Health::default();
    telemetry::serve_endpoints(&config.api.listen, health.clone(), cancel.clone()).await?;
    let consumer = KafkaConsumer::new(kafka, "detect", &[&topics.posts_watched])?;
    let producer = KafkaProducer::new(kafka)?;
    health.set("detect", "running");
    let result = run_detect_stage(
        BusConsumer::Kafka(consumer),
        BusProducer::Kafka(producer),
        detect_settings(config, None),
        cancel,
    )
    .await;
    health.set("detect", if result.is_ok() { "stopped" } else { "failed" });
    result.context("detect stage failed")?;
    Ok(())
}

pub(crate) async fn store(config: &Config) -> anyhow::Result<()> {
    let kafka = config.require_kafka()?;
    let topics = config.topics();
    ensure_topics(kafka, &topics.all())
        .await
        .context("cannot create topics")?;
    let post_store = PostStore::connect(&config.clickhouse);
    post_store
        .migrate()
        .await
        .context("cannot migrate the ClickHouse schema")?;
    let cancel = telemetry::shutdown_on_signals();
    let health = Health::default();
    telemetry::serve_endpoints(&config.api.listen, health.clone(), cancel.clone()).await?;
    let consumer = KafkaConsumer::new(kafka, "store", &[&topics.posts_scored])?;
    let producer = KafkaProducer::new(kafka)?;
    health.set("store", "running");
    let result = run_store_stage(
        BusConsumer::Kafka(consumer),
        BusProducer::Kafka(producer),
        post_store,
        stage_settings(config, "store", None),
        cancel,
    )
    .await;
    health.set("store", if result.is_ok() { "stopped" } else { "failed" });
    result.context("store stage failed")?;
    Ok(())
}

pub(crate) async fn migrate(config: &Config) -> anyhow::Result<()> {
    let post_store = PostStore::connect(&config.clickhouse);
    post_store.migrate().await.with_context(|| {
        format!(
            "cannot migrate ClickHouse at {} (clickhouse.url)",
            config.clickhouse.url
        )
    })?;
    let versions = post_store.applied_migrations().await?;
    println!(
        "schema of database {} is at version {}",
        post_store.database(),
        versions.last().copied().unwrap_or(0)
    );
    Ok(())
}
