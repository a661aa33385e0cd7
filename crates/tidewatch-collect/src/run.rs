//! The collect run loop: [`run_sources`] runs every configured source at once and hands what
//! they collect to one [`PostSink`].
//!
//! Guarantees:
//! * One task per source (never per post) and one publisher task; sources hand batches to the
//!   publisher through a bounded channel (`channel_capacity` batches), so a slow sink slows the
//!   sources down instead of growing memory.
//! * **At least once, no gap**: a source saves its checkpoint only after the publisher answered
//!   that `publish` returned `Ok` for the batch (and every batch before it: the channel is
//!   FIFO and a source waits for each answer). A crash before that re-delivers from the old
//!   checkpoint.
//! * A retryable [`SinkError`] is retried with jittered backoff until it works or the run is
//!   cancelled; a fatal one stops every source and is returned.
//! * A malformed payload becomes a dead letter (through the same sink) and the source goes on.
//! * Everything is checked before any task starts: the config ([`validate_sources`]), the
//!   secrets named by environment variables, the checkpoint files, the webhook listen address.
//! * Shutdown: cancelling `cancel` stops the sources between batches; a batch already handed
//!   over is published (or its checkpoint is not saved), then `run_sources` returns.

use crate::config::{
    check_secrets, secret, validate_sources, ConfigError, MissingSecret, SourceConfig,
};
use crate::cursor::CheckpointStore;
use crate::fetch::Fetcher;
use crate::limits::{backoff, RateBudget};
use crate::poll::Poller;
use crate::reporter::HealthReporter;
use crate::sink::{PostSink, SinkError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) use crate::outlet::{Delivery, Outlet};

/// How the run loop behaves, apart from the sources.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where the checkpoint files live (one `<source name>.json` each).
    pub state_dir: PathBuf,
    /// Batches waiting for the publisher at most.
    pub channel_capacity: usize,
    /// Backoff of a retried publish: from `sink_retry_base`, doubling, up to `sink_retry_max`.
    pub sink_retry_base: Duration,
    pub sink_retry_max: Duration,
}

impl RunOptions {
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            state_dir: state_dir.into(),
            channel_capacity: 16,
            sink_retry_base: Duration::from_millis(200),
            sink_retry_max: Duration::from_secs(30),
        }
    }
}

/// Why the run could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Fatal: fix the config.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Fatal: set the variable.
    #[error(transparent)]
    Secret(#[from] MissingSecret),
    /// Fatal: a checkpoint folder or file cannot be used (a corrupt file is never ignored).
    #[error("source {source_name:?}: checkpoint: {reason}")]
    Checkpoint { source_name: String, reason: String },
    /// Fatal: the source cannot be set up (its URL, its HTTP client).
    #[error("source {source_name:?}: {reason}")]
    Setup { source_name: String, reason: String },
    /// Fatal: the webhook address cannot be bound.
    #[error("source {source_name:?}: cannot listen on {listen}: {reason}")]
    Listen {
        source_name: String,
        listen: String,
        reason: String,
    },
    /// The sink failed fatally; every source stopped.
    #[error(transparent)]
    Sink(SinkError),
}

/// Runs every source until `cancel` fires (or the sink fails fatally). See the module docs.
pub async fn run_sources(
    sources: Vec<SourceConfig>,
    options: RunOptions,
    sink: Arc<dyn PostSink>,
    health: HealthReporter,
    cancel: CancellationToken,
) -> Result<(), RunError> {
    validate_sources(&sources)?;
    check_secrets(&sources)?;
    crate::metrics_help::describe_metrics();
    let store =
        CheckpointStore::open(&options.state_dir).map_err(|error| RunError::Checkpoint {
            source_name: String::new(),
            reason: format!("{}: {error}", options.state_dir.display()),
        })?;
    let (sender, receiver) = mpsc::channel(options.channel_capacity.max(1));
    let run_cancel = cancel.child_token();
    let budgets = reddit_budgets(&sources)?;
    let mut prepared = Vec::new();
    for source in &sources {
        let outlet = Outlet::new(source.name(), sender.clone());
        let shared = (&sink, &health, &budgets);
        prepared.push(prepare(source, &store, outlet, shared, &run_cancel).await?);
    }
    drop(sender);
    tracing::info!(sources = prepared.len(), "collectors starting");
    let mut tasks = JoinSet::new();
    for task in prepared {
        tasks.spawn(task);
    }
    let publisher = tokio::spawn(publish_all(receiver, sink, options, run_cancel.clone()));
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = joined {
            tracing::error!(%error, "a collector task panicked");
        }
    }
    let result = match publisher.await {
        Ok(result) => result.map_err(RunError::Sink),
        Err(error) => Err(RunError::Sink(SinkError::Fatal(format!(
            "publisher task failed: {error}"
        )))),
    };
    tracing::info!("collectors stopped");
    result
}

type SourceTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// One request budget per Reddit client id (the value, not the variable's name: two variables
/// may hold one id), at the smallest `requests_per_minute` of the sources that share it.
fn reddit_budgets(sources: &[SourceConfig]) -> Result<HashMap<String, RateBudget>, RunError> {
    let mut per_minute: HashMap<String, u32> = HashMap::new();
    for source in sources {
        if let SourceConfig::Reddit(config) = source {
            let client_id = secret(source.name(), "client_id_env", &config.client_id_env)?;
            let budget = per_minute
                .entry(client_id)
                .or_insert(config.requests_per_minute);
            *budget = (*budget).min(config.requests_per_minute);
        }
    }
    Ok(per_minute
        .into_iter()
        .map(|(client_id, rate)| (client_id, RateBudget::new(rate)))
        .collect())
}

/// Checks and loads everything `source` needs, and returns its task (not started yet).
async fn prepare(
    source: &SourceConfig,
    store: &CheckpointStore,
    outlet: Outlet,
    shared: (
        &Arc<dyn PostSink>,
        &HealthReporter,
        &HashMap<String, RateBudget>,
    ),
    cancel: &CancellationToken,
) -> Result<SourceTask, RunError> {
    let (sink, health, budgets) = shared;
    let name = source.name().to_string();
    let setup = |reason: String| RunError::Setup {
        source_name: name.clone(),
        reason,
    };
    let checkpoint = store.load(&name).map_err(|error| RunError::Checkpoint {
        source_name: name.clone(),
        reason: error.to_string(),
    })?;
    let (health, cancel, store) = (health.clone(), cancel.clone(), store.clone());
    if let SourceConfig::Bluesky(config) = source {
        let silent = Duration::from_secs(config.silent_after_secs.max(1));
        health.register(&name, source.kind(), silent, Instant::now());
        let session = crate::jetstream::Jetstream::new(config.clone(), checkpoint, store, outlet);
        return Ok(Box::pin(session.run(health, cancel)));
    }
    if let SourceConfig::Webhook(config) = source {
        health.register(&name, source.kind(), Duration::MAX, Instant::now());
        let mut settings = crate::webhook::IngestSettings::from_source(config)?;
        settings.health = Some(health.clone());
        let router = crate::webhook::ingest_router_with(settings, sink.clone());
        let Some(listen) = &config.listen else {
            // The binary mounts the router itself: nothing runs here.
            return Ok(Box::pin(async {}));
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|error| RunError::Listen {
                source_name: name.clone(),
                listen: listen.clone(),
                reason: error.to_string(),
            })?;
        return Ok(Box::pin(async move {
            let shutdown = cancel.cancelled_owned();
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await;
            if let Err(error) = served {
                tracing::error!(source = %name, %error, "webhook server failed");
            }
        }));
    }
    if let SourceConfig::Reddit(config) = source {
        let client_id = secret(&name, "client_id_env", &config.client_id_env)?;
        let client_secret = secret(&name, "client_secret_env", &config.client_secret_env)?;
        let silent = Duration::from_secs(config.interval_secs * 10).max(Duration::from_secs(3600));
        health.register(&name, source.kind(), silent, Instant::now());
        let budget = budgets
            .get(&client_id)
            .cloned()
            .unwrap_or_else(|| RateBudget::new(config.requests_per_minute));
        health.attach_budget(&name, budget.clone());
        let poller = crate::reddit_poll::RedditPoller::with_budget(
            config.clone(),
            client_id,
            client_secret,
            checkpoint,
            budget,
        )
        .map_err(|error| setup(error.to_string()))?;
        let cycle = crate::outlet::Cycle {
            store,
            outlet,
            health,
        };
        return Ok(Box::pin(crate::outlet::poll_forever(poller, cycle, cancel)));
    }
    let Some(poll_source) = source.poll_source() else {
        return Err(setup("has no collector".to_string()));
    };
    let token = match source {
        SourceConfig::Mastodon(config) => match &config.token_env {
            Some(variable) => Some(secret(&name, "token_env", variable)?),
            None => None,
        },
        _ => None,
    };
    health.register(
        &name,
        source.kind(),
        poll_source.silent_after(),
        Instant::now(),
    );
    let mut fetch = poll_source
        .fetch_config()
        .map_err(|error| setup(error.to_string()))?;
    fetch.bearer_token = token.clone();
    let fetcher = Fetcher::new(fetch).map_err(|error| setup(error.to_string()))?;
    health.attach_budget(&name, fetcher.budget().clone());
    let poller = Poller::with_fetcher(poll_source, fetcher, checkpoint);
    let cycle = crate::outlet::Cycle {
        store,
        outlet,
        health,
    };
    match source {
        SourceConfig::Mastodon(config) if config.streaming => {
            let token = token.unwrap_or_default();
            let stream = crate::mastodon_stream::MastodonStream::new(config.clone(), token)
                .map_err(|error| setup(error.to_string()))?;
            Ok(Box::pin(stream.run(poller, cycle, cancel)))
        }
        _ => Ok(Box::pin(crate::outlet::poll_forever(poller, cycle, cancel))),
    }
}

/// The publisher: publishes each delivery (dead letters, then posts), then answers its source.
async fn publish_all(
    mut receiver: mpsc::Receiver<Delivery>,
    sink: Arc<dyn PostSink>,
    options: RunOptions,
    cancel: CancellationToken,
) -> Result<(), SinkError> {
    while let Some(delivery) = receiver.recv().await {
        let result = publish_one(&*sink, &delivery, &options, &cancel).await;
        let fatal = matches!(result, Err(SinkError::Fatal(_)));
        if let Err(error) = &result {
            tracing::warn!(source = %delivery.source, %error, "publish failed");
        }
        // The source may have gone; its checkpoint then simply stays.
        let _ = delivery.ack.send(result.clone());
        if fatal {
            cancel.cancel();
            return result;
        }
    }
    Ok(())
}

async fn publish_one(
    sink: &dyn PostSink,
    delivery: &Delivery,
    options: &RunOptions,
    cancel: &CancellationToken,
) -> Result<(), SinkError> {
    for letter in &delivery.dead_letters {
        with_retry(options, cancel, || sink.dead_letter(letter.clone())).await?;
        metrics::counter!("tidewatch_collect_dead_letters_total", "source" => delivery.source.clone())
            .increment(1);
    }
    if !delivery.posts.is_empty() {
        with_retry(options, cancel, || sink.publish(delivery.posts.clone())).await?;
    }
    Ok(())
}

async fn with_retry<F, Fut>(
    options: &RunOptions,
    cancel: &CancellationToken,
    mut attempt: F,
) -> Result<(), SinkError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), SinkError>>,
{
    let mut tries = 0u32;
    loop {
        let error = match attempt().await {
            Ok(()) => return Ok(()),
            Err(error @ SinkError::Fatal(_)) => return Err(error),
            Err(error) => error,
        };
        metrics::counter!("tidewatch_collect_sink_retries_total").increment(1);
        let wait = backoff(
            tries,
            options.sink_retry_base,
            options.sink_retry_max,
            fastrand::f64(),
        );
        tracing::warn!(%error, wait_ms = wait.as_millis() as u64, "sink unavailable, retrying");
        tokio::select! {
            () = cancel.cancelled() => return Err(error),
            () = tokio::time::sleep(wait) => {}
        }
        tries = tries.saturating_add(1);
    }
}
