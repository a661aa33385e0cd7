//! Single stages against Kafka (`collect`, `score`, `detect`, `notify`, `store`, `serve`), and
//! `migrate` and `query`.
//!
//! Every stage starts the same way ([`StageStart`]): its topics exist, Ctrl-C / SIGTERM stop its
//! reading (it then delivers every batch it read, commits and leaves; a dependency still failing
//! [`SHUTDOWN_GRACE`] later is given up, uncommitted), `/metrics`, `/healthz` and `/readyz` are
//! served, `/healthz` turns 503 when the stage stopped or failed or its dependency keeps failing,
//! and `/readyz` while the broker (or ClickHouse, for the stages that write to it) does not accept
//! work.

use std::time::Duration;

use anyhow::Context;
use tidewatch_alert::AlertService;
use tidewatch_bus::driver::StageControl;
use tidewatch_bus::transform::{run_transform, StageSettings, StageTotals};
use tidewatch_bus::{
    ensure_topics, BusConsumer, BusProducer, KafkaConfig, KafkaConsumer, KafkaProducer,
    StageHealth, StageHealthSnapshot,
};
use tidewatch_model::Topics;
use tidewatch_score::ScoreTransform;
use tidewatch_store::stage::run_store_stage;
use tidewatch_store::PostStore;
use tokio_util::sync::CancellationToken;

use super::detect::{run_detect_stage, DetectStageSettings};
use super::notify::{run_notify_stage, NotifyInputs};
use crate::config::Config;
use crate::telemetry::{self, Health};

pub(crate) fn stage_settings(
    config: &Config,
    stage: &str,
    upstream_finished: Option<CancellationToken>,
) -> StageSettings {
    let mut settings = StageSettings::new(
        stage,
        &config.topics().dead_letter,
        config.pipeline.batch_size,
        Duration::from_millis(config.pipeline.batch_wait_ms),
    );
    settings.upstream_finished = upstream_finished;
    settings
}

/// How long a stopping stage may keep retrying a failing dependency before it gives up on the
/// batches still in flight (they are then not committed, and redelivered after a restart).
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A token cancelled [`SHUTDOWN_GRACE`] after `cancel`.
pub(crate) fn abort_after_grace(cancel: &CancellationToken) -> CancellationToken {
    let abort = CancellationToken::new();
    let (cancel, trigger) = (cancel.clone(), abort.clone());
    tokio::spawn(async move {
        cancel.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        trigger.cancel();
    });
    abort
}

/// Runs a stage with its state on `/healthz`: `running`, `dependency failing since … : …`
/// while its dependency fails (503), then `stopped` or `failed`.
pub(crate) async fn with_health<F>(
    health: &Health,
    stage: &str,
    stage_health: StageHealth,
    future: F,
) -> anyhow::Result<StageTotals>
where
    F: std::future::Future<Output = anyhow::Result<StageTotals>>,
{
    health.set(stage, "running");
    let watching = CancellationToken::new();
    let watcher = tokio::spawn({
        let (health, stage, watching) = (health.clone(), stage.to_string(), watching.clone());
        async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = watching.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                health.set(&stage, &describe_stage_health(&stage_health.snapshot()));
            }
        }
    });
    let result = future.await;
    watching.cancel();
    let _ = watcher.await;
    health.set(stage, if result.is_ok() { "stopped" } else { "failed" });
    result
}

/// `running`, or what is failing and since when.
fn describe_stage_health(snapshot: &StageHealthSnapshot) -> String {
    let Some(since) = snapshot.dependency_failing_since else {
        return "running".to_string();
    };
    let since: chrono::DateTime<chrono::Utc> = since.into();
    format!(
        "dependency failing since {}: {}",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        snapshot.last_failure.as_deref().unwrap_or("unknown")
    )
}

/// What every single-stage command has once it started.
struct StageStart<'a> {
    kafka: &'a KafkaConfig,
    topics: Topics,
    cancel: CancellationToken,
    health: Health,
}

impl<'a> StageStart<'a> {
    /// Topics exist, signals cancel, and (unless `with_endpoints` is false: `serve` serves them
    /// with the API) `/metrics` and `/healthz` are up.
    async fn new(config: &'a Config, with_endpoints: bool) -> anyhow::Result<StageStart<'a>> {
        let kafka = config.require_kafka()?;
        let topics = config.topics();
        ensure_topics(kafka, &topics.all())
            .await
            .context("cannot create topics")?;
        let cancel = telemetry::shutdown_on_signals();
        let health = Health::default();
        if with_endpoints {
            telemetry::serve_endpoints(&config.api.listen, health.clone(), cancel.clone()).await?;
        }
        Ok(StageStart {
            kafka,
            topics,
            cancel,
            health,
        })
    }

    /// `/readyz` follows the broker and, when given, ClickHouse (`telemetry::probe_dependencies`).
    fn probe_dependencies(
        &self,
        stage: &str,
        clickhouse: Option<&PostStore>,
    ) -> anyhow::Result<()> {
        telemetry::probe_dependencies(
            &self.health,
            stage,
            Some(self.kafka),
            clickhouse,
            &self.cancel,
        )
    }

    fn consumer(&self, stage: &str, topic: &str) -> anyhow::Result<BusConsumer> {
        Ok(BusConsumer::Kafka(KafkaConsumer::new(
            self.kafka,
            stage,
            &[topic],
        )?))
    }

    fn producer(&self) -> anyhow::Result<BusProducer> {
        Ok(BusProducer::Kafka(KafkaProducer::new(self.kafka)?))
    }

    /// Stops reading on the signal; gives up on failing deliveries [`SHUTDOWN_GRACE`] later.
    fn control(&self) -> StageControl {
        StageControl {
            stop: self.cancel.clone(),
            abort: abort_after_grace(&self.cancel),
        }
    }

    /// Runs the stage to its end, with its state on `/healthz`.
    async fn run<F>(&self, settings: &StageSettings, future: F) -> anyhow::Result<()>
    where
        F: std::future::Future<Output = anyhow::Result<StageTotals>>,
    {
        let stage = settings.stage.as_str();
        with_health(&self.health, stage, settings.health.clone(), future)
            .await
            .with_context(|| format!("{stage} stage failed"))?;
        Ok(())
    }
}

/// The store of this config, with its schema created or upgraded.
async fn migrated_store(config: &Config) -> anyhow::Result<PostStore> {
    let post_store = PostStore::connect(&config.clickhouse);
    post_store.migrate().await.with_context(|| {
        format!(
            "cannot migrate ClickHouse at {} (clickhouse.url)",
            config.clickhouse.url
        )
    })?;
    Ok(post_store)
}

pub(crate) async fn score(config: &Config) -> anyhow::Result<()> {
    let start = StageStart::new(config, true).await?;
    start.probe_dependencies("score", None)?;
    let transform = ScoreTransform::new(config.watch_matcher()?, start.topics.clone())
        .with_parent_memory(config.pipeline.parent_memory);
    let settings = stage_settings(config, "score", None);
    let stage = run_transform(
        start.consumer("score", &start.topics.posts_raw)?,
        start.producer()?,
        transform,
        settings.clone(),
        start.control(),
    );
    start.run(&settings, async { Ok(stage.await?) }).await
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
        state_dir: config.kafka.is_some().then(|| config.pipeline_state_dir()),
        snapshot_interval: Duration::from_millis(config.pipeline.snapshot_interval_ms),
        detector: config.detect.clone(),
    }
}

pub(crate) async fn detect(config: &Config) -> anyhow::Result<()> {
    let start = StageStart::new(config, true).await?;
    start.probe_dependencies("detect", None)?;
    let settings = detect_settings(config, None);
    let stage_settings = settings.stage.clone();
    let stage = run_detect_stage(
        start.consumer("detect", &start.topics.posts_watched)?,
        start.producer()?,
        settings,
        start.control(),
    );
    start.run(&stage_settings, stage).await
}

/// The alert service of this config; receivers' secrets from the environment.
pub(crate) fn alert_service(config: &Config) -> anyhow::Result<AlertService> {
    AlertService::new(config.notify_config(), |variable| {
        std::env::var(variable).ok()
    })
    .context("cannot start the alert service ([alert], [[receiver]], [[route]], [[silence]])")
}

pub(crate) async fn notify(config: &Config) -> anyhow::Result<()> {
    let service = alert_service(config)?;
    let post_store = migrated_store(config).await?;
    let start = StageStart::new(config, true).await?;
    start.probe_dependencies("notify", Some(&post_store))?;
    let inputs = NotifyInputs {
        alerts: start.consumer("notify", &start.topics.alerts)?,
        actions: start.consumer("notify-actions", &start.topics.alert_actions)?,
    };
    let settings = stage_settings(config, "notify", None);
    let stage = run_notify_stage(
        inputs,
        start.producer()?,
        service,
        Some(post_store),
        settings.clone(),
        false,
        start.control(),
    );
    start.run(&settings, stage).await
}

/// The HTTP API and dashboard, with `/metrics` and `/healthz`; alert actions are published to
/// `alerts.actions` on Kafka for the notify stage.
pub(crate) async fn serve(config: &Config) -> anyhow::Result<()> {
    if config.api.listen.is_empty() {
        anyhow::bail!("api.listen is empty: `serve` has nothing to do");
    }
    let post_store = migrated_store(config).await?;
    let start = StageStart::new(config, false).await?;
    start.probe_dependencies("serve", Some(&post_store))?;
    start.health.set("serve", "running");
    let address = super::pipeline::serve_api(
        config,
        &post_store,
        start.producer()?,
        start.health.clone(),
        start.cancel.clone(),
    )
    .await?
    .context("the API did not start")?;
    tracing::info!(%address, "api serving");
    start.cancel.cancelled().await;
    Ok(())
}

/// `tidewatch query`: analyst queries against ClickHouse, printed to stdout.
pub(crate) async fn query(config: &Config, args: &tidewatch_api::QueryArgs) -> anyhow::Result<()> {
    let post_store = PostStore::connect(&config.clickhouse);
    let stdout = std::io::stdout();
    tidewatch_api::run_query(args, &post_store, stdout.lock())
        .await
        .context("query failed")?;
    Ok(())
}

/// The collectors (and simulators) of `[[source]]`, publishing into `posts.raw` on Kafka.
pub(crate) async fn collect(config: &Config) -> anyhow::Result<()> {
    if config.sources.is_empty() {
        anyhow::bail!("no [[source]] in the configuration: `collect` has nothing to run");
    }
    let post_store = migrated_store(config).await?;
    let start = StageStart::new(config, true).await?;
    start.probe_dependencies("collect", Some(&post_store))?;
    let producer = start.producer()?;
    let collector_health = tidewatch_collect::HealthReporter::new();
    let tasks = super::collect::start_sources(
        config,
        &producer,
        Some(post_store),
        &collector_health,
        &start.cancel,
    )?;
    let collectors = async {
        let mut failure = None;
        for task in tasks {
            if let Err(error) = task.await? {
                tracing::error!("{error:#}");
                start.cancel.cancel();
                failure.get_or_insert(error);
            }
        }
        if let BusProducer::Kafka(producer) = &producer {
            producer.flush(Duration::from_secs(10))?;
        }
        failure.map_or(Ok(StageTotals::default()), Err)
    };
    let settings = stage_settings(config, "collect", None);
    start.run(&settings, collectors).await
}

pub(crate) async fn store(config: &Config) -> anyhow::Result<()> {
    let post_store = migrated_store(config).await?;
    let start = StageStart::new(config, true).await?;
    start.probe_dependencies("store", Some(&post_store))?;
    let settings = stage_settings(config, "store", None);
    let stage = run_store_stage(
        start.consumer("store", &start.topics.posts_scored)?,
        start.producer()?,
        post_store,
        settings.clone(),
        start.control(),
    );
    start.run(&settings, async { Ok(stage.await?) }).await
}

pub(crate) async fn migrate(config: &Config) -> anyhow::Result<()> {
    let post_store = migrated_store(config).await?;
    let versions = post_store.applied_migrations().await?;
    println!(
        "schema of database {} is at version {}",
        post_store.database(),
        versions.last().copied().unwrap_or(0)
    );
    Ok(())
}
