//! The whole pipeline in one process, shared by `tidewatch run` and `tidewatch demo`: the
//! consumers of every stage on one bus, the stages as tasks, and the HTTP API.
//!
//! Guarantees:
//! * without `[kafka]` every hop is the in-process bus (bounded channels, nothing survives a
//!   crash); with `[kafka]` each stage has its own consumer group, exactly as when the stages
//!   run as separate processes;
//! * shutdown drains in data order on the in-process bus (and on a finite input on Kafka): the
//!   sources stop first, then each stage leaves only once its upstream has finished and its
//!   input is drained, so every post a source handed over reaches ClickHouse, and the last alert
//!   its receivers, before the process exits; a stage still failing to deliver
//!   `SHUTDOWN_GRACE` (see `stages.rs`) after the signal gives up (nothing of that is committed). With Kafka and
//!   a live input every stage stops reading on the signal, delivers what it read and commits;
//! * the API publishes alert actions on the same bus, so an acknowledge in the dashboard reaches
//!   the notify stage (and PagerDuty) in-process as well as through Kafka.

use std::sync::Arc;

use anyhow::Context;
use tidewatch_api::{ActionSink, ActionSinkError, ApiState};
use tidewatch_bus::transform::{run_transform, StageTotals};
use tidewatch_bus::{
    ensure_topics, BusConsumer, BusProducer, KafkaConsumer, KafkaProducer, MemoryBus, OutRecord,
};
use tidewatch_model::{AlertAction, DeadLetter};
use tidewatch_score::ScoreTransform;
use tidewatch_store::stage::run_store_stage;
use tidewatch_store::PostStore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::detect::run_detect_stage;
use super::notify::{run_notify_stage, NotifyInputs};
use super::stages::{abort_after_grace, detect_settings, stage_settings, with_health};
use crate::config::Config;
use crate::telemetry::{self, Health};
use tidewatch_alert::AlertService;
use tidewatch_bus::driver::StageControl;
use tidewatch_bus::StageHealth;

/// The consumers of one pipeline and its producer, on whichever bus.
pub(crate) struct Wiring {
    raw: BusConsumer,
    scored: BusConsumer,
    watched: BusConsumer,
    alerts: BusConsumer,
    actions: BusConsumer,
    /// The in-process bus has nobody else to read dead letters; Kafka keeps them in the topic.
    dead_letters: Option<BusConsumer>,
    pub(crate) producer: BusProducer,
}

impl Wiring {
    pub(crate) fn bus_name(config: &Config) -> &'static str {
        if config.kafka.is_some() {
            "kafka"
        } else {
            "in-process"
        }
    }
}

pub(crate) async fn wire(config: &Config) -> anyhow::Result<Wiring> {
    let topics = config.topics();
    if let Some(kafka) = &config.kafka {
        ensure_topics(kafka, &topics.all())
            .await
            .context("cannot create topics")?;
        let consumer = |stage: &str, topic: &str| -> anyhow::Result<BusConsumer> {
            Ok(BusConsumer::Kafka(KafkaConsumer::new(
                kafka,
                stage,
                &[topic],
            )?))
        };
        return Ok(Wiring {
            raw: consumer("score", &topics.posts_raw)?,
            scored: consumer("store", &topics.posts_scored)?,
            watched: consumer("detect", &topics.posts_watched)?,
            alerts: consumer("notify", &topics.alerts)?,
            actions: consumer("notify-actions", &topics.alert_actions)?,
            dead_letters: None,
            producer: BusProducer::Kafka(KafkaProducer::new(kafka)?),
        });
    }
    let bus = MemoryBus::new(config.pipeline.channel_capacity);
    let consumer = |topic: &str| -> anyhow::Result<BusConsumer> {
        Ok(BusConsumer::Memory(bus.subscribe(topic)?))
    };
    Ok(Wiring {
        raw: consumer(&topics.posts_raw)?,
        scored: consumer(&topics.posts_scored)?,
        watched: consumer(&topics.posts_watched)?,
        alerts: consumer(&topics.alerts)?,
        actions: consumer(&topics.alert_actions)?,
        dead_letters: Some(consumer(&topics.dead_letter)?),
        producer: BusProducer::Memory(bus.producer()),
    })
}

/// Publishes the API's alert actions to `alerts.actions`, keyed by story.
struct BusActionSink {
    producer: BusProducer,
    topic: String,
}

#[async_trait::async_trait]
impl ActionSink for BusActionSink {
    async fn publish(&self, action: &AlertAction) -> Result<(), ActionSinkError> {
        let payload = serde_json::to_vec(action).expect("an alert action always serialises");
        let record = OutRecord::new(&self.topic, action.story_id.clone(), payload);
        self.producer
            .send_all(&[record])
            .await
            .map_err(|error| ActionSinkError {
                retryable: error.is_retryable(),
                message: format!("cannot publish the action to {}: {error}", self.topic),
            })
    }
}

/// Serves the API, the dashboard, `/metrics` and `/healthz` on `api.listen`.
pub(crate) async fn serve_api(
    config: &Config,
    post_store: &PostStore,
    producer: BusProducer,
    health: Health,
    cancel: CancellationToken,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let sink = Arc::new(BusActionSink {
        producer,
        topic: config.topics().alert_actions,
    });
    let state =
        ApiState::new(config.api.clone(), post_store.clone(), sink).with_shutdown(cancel.clone());
    let router = tidewatch_api::router(state);
    telemetry::serve_endpoints_with(&config.api.listen, health, Some(router), cancel).await
}

/// When each stage is done, for stages downstream of it on a finite input.
#[derive(Clone, Default)]
pub(crate) struct Finished {
    pub(crate) sources: CancellationToken,
    score: CancellationToken,
    store: CancellationToken,
    detect: CancellationToken,
    notify: CancellationToken,
}

pub(crate) struct RunningStages {
    score: JoinHandle<anyhow::Result<StageTotals>>,
    store: JoinHandle<anyhow::Result<StageTotals>>,
    detect: JoinHandle<anyhow::Result<StageTotals>>,
    notify: JoinHandle<anyhow::Result<StageTotals>>,
    dead_letters: Option<JoinHandle<u64>>,
}

/// What each stage did.
pub(crate) struct PipelineTotals {
    pub(crate) score: StageTotals,
    pub(crate) store: StageTotals,
    pub(crate) detect: StageTotals,
    pub(crate) notify: StageTotals,
    pub(crate) dead_letters_logged: u64,
}

fn spawn_stage<F>(
    name: &'static str,
    health: &Health,
    stage_health: StageHealth,
    done: CancellationToken,
    stage: F,
) -> JoinHandle<anyhow::Result<StageTotals>>
where
    F: std::future::Future<Output = anyhow::Result<StageTotals>> + Send + 'static,
{
    let health = health.clone();
    tokio::spawn(async move {
        let result = with_health(&health, name, stage_health, stage).await;
        if let Err(error) = &result {
            tracing::error!(stage = name, "{error:#}");
        }
        done.cancel();
        result
    })
}

/// Starts score, store, detect and notify. When the stages drain in order (`finite`, or the
/// in-process bus), each leaves once its upstream is finished and drained, and
/// `finished.sources` must be cancelled once the sources are done; otherwise each stops reading
/// on `cancel`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start_stages(
    config: &Config,
    wiring: Wiring,
    post_store: &PostStore,
    service: AlertService,
    finite: bool,
    print_alerts: bool,
    finished: &Finished,
    health: &Health,
    cancel: &CancellationToken,
) -> anyhow::Result<RunningStages> {
    let topics = config.topics();
    // Why the in-process bus always drains in order: nothing in its channels survives the
    // process, so a stage may leave only once everything upstream of it has reached it.
    let in_order = finite || config.kafka.is_none();
    let upstream = |token: &CancellationToken| in_order.then(|| token.clone());
    let control = StageControl {
        stop: if in_order {
            CancellationToken::new()
        } else {
            cancel.clone()
        },
        abort: abort_after_grace(cancel),
    };
    let transform = ScoreTransform::new(config.watch_matcher()?, topics.clone())
        .with_parent_memory(config.pipeline.parent_memory);
    let settings = stage_settings(config, "score", upstream(&finished.sources));
    let score_health = settings.health.clone();
    let score_stage = run_transform(
        wiring.raw,
        wiring.producer.clone(),
        transform,
        settings,
        control.clone(),
    );
    let score = spawn_stage(
        "score",
        health,
        score_health,
        finished.score.clone(),
        async move { Ok(score_stage.await?) },
    );
    let settings = stage_settings(config, "store", upstream(&finished.score));
    let store_health = settings.health.clone();
    let store_stage = run_store_stage(
        wiring.scored,
        wiring.producer.clone(),
        post_store.clone(),
        settings,
        control.clone(),
    );
    let store = spawn_stage(
        "store",
        health,
        store_health,
        finished.store.clone(),
        async move { Ok(store_stage.await?) },
    );
    let settings = detect_settings(config, upstream(&finished.score));
    let detect_health = settings.stage.health.clone();
    let detect = spawn_stage(
        "detect",
        health,
        detect_health,
        finished.detect.clone(),
        run_detect_stage(
            wiring.watched,
            wiring.producer.clone(),
            settings,
            control.clone(),
        ),
    );
    let settings = stage_settings(config, "notify", upstream(&finished.detect));
    let notify_health = settings.health.clone();
    let notify = spawn_stage(
        "notify",
        health,
        notify_health,
        finished.notify.clone(),
        run_notify_stage(
            NotifyInputs {
                alerts: wiring.alerts,
                actions: wiring.actions,
            },
            wiring.producer.clone(),
            service,
            Some(post_store.clone()),
            settings,
            print_alerts,
            control.clone(),
        ),
    );
    let dead_letters = wiring.dead_letters.map(|consumer| {
        let settings = stage_settings(config, "dead-letters", upstream(&finished.notify));
        tokio::spawn(log_dead_letters(
            consumer,
            settings.max_wait,
            settings.upstream_finished,
            control.stop.clone(),
        ))
    });
    Ok(RunningStages {
        score,
        store,
        detect,
        notify,
        dead_letters,
    })
}

impl RunningStages {
    /// Waits for every stage; the first failure is the error.
    pub(crate) async fn join(self) -> anyhow::Result<PipelineTotals> {
        let score = self.score.await?.context("score stage failed")?;
        let store = self.store.await?.context("store stage failed")?;
        let detect = self.detect.await?.context("detect stage failed")?;
        let notify = self.notify.await?.context("notify stage failed")?;
        let dead_letters_logged = match self.dead_letters {
            Some(task) => task.await?,
            None => 0,
        };
        Ok(PipelineTotals {
            score,
            store,
            detect,
            notify,
            dead_letters_logged,
        })
    }
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
