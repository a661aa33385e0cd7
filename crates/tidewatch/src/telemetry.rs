//! Logs (tracing), metrics (Prometheus text at `/metrics`), liveness (`/healthz`) and
//! readiness (`/readyz`).
//!
//! * `/healthz` (liveness: restart me if this fails) answers 200 while every stage of this
//!   process is running and 503 naming the stages that stopped or failed. A failing dependency
//!   does not make it fail: restarting a process cannot fix ClickHouse.
//! * `/readyz` (readiness: do not count on me while this fails) answers 200 only while every
//!   required component of the process's [`Readiness`] registry is ready: the dependency probes
//!   run here ([`probe_dependencies`]: ClickHouse takes a real insert, the broker answers a
//!   metadata request, each within [`PROBE_TIMEOUT`], every [`PROBE_INTERVAL`]) and whatever
//!   stages and collectors registered; else 503 with JSON naming each cause.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tidewatch_bus::{BrokerProbe, KafkaConfig};
use tidewatch_model::readiness::ReadinessHandle;
use tidewatch_model::Readiness;
use tidewatch_store::PostStore;
use tokio_util::sync::CancellationToken;

pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rdkafka=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Stage states (for `/healthz`) and the readiness registry (for `/readyz`) of this process.
#[derive(Clone, Default)]
pub(crate) struct Health {
    stages: Arc<Mutex<BTreeMap<String, String>>>,
    /// Where stages and collectors register what `/readyz` reports (see [`Readiness`]).
    pub(crate) readiness: Readiness,
}

impl Health {
    pub(crate) fn set(&self, stage: &str, state: &str) {
        self.stages
            .lock()
            .expect("health lock poisoned")
            .insert(stage.to_string(), state.to_string());
    }

    fn snapshot(&self) -> BTreeMap<String, String> {
        self.stages.lock().expect("health lock poisoned").clone()
    }
}

#[derive(Clone)]
struct EndpointState {
    prometheus: PrometheusHandle,
    health: Health,
}

/// Installs the metrics recorder and, if `listen` is not empty, serves `/metrics` and
/// `/healthz` until `cancel`. Returns the bound address.
pub(crate) async fn serve_endpoints(
    listen: &str,
    health: Health,
    cancel: CancellationToken,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    serve_endpoints_with(listen, health, None, cancel).await
}

/// [`serve_endpoints`] plus more routes on the same listener (the HTTP API and dashboard).
pub(crate) async fn serve_endpoints_with(
    listen: &str,
    health: Health,
    more_routes: Option<Router>,
    cancel: CancellationToken,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let prometheus = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])
        .context("invalid histogram buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    crate::metric_catalog::describe_metrics();
    if listen.is_empty() {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on api.listen = {listen}"))?;
    let address = listener.local_addr()?;
    let router = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(health_report))
        .route("/readyz", get(readiness_report))
        .with_state(EndpointState { prometheus, health });
    let serves_api = more_routes.is_some();
    let router = match more_routes {
        Some(more_routes) => router.merge(more_routes),
        None => router,
    };
    tokio::spawn(async move {
        let shutdown = cancel.cancelled_owned();
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "metrics endpoint failed");
        }
    });
    if serves_api {
        tracing::info!(%address, "serving the API, the dashboard, /metrics, /healthz and /readyz");
    } else {
        tracing::info!(%address, "serving /metrics, /healthz and /readyz");
    }
    Ok(Some(address))
}

async fn metrics_text(State(state): State<EndpointState>) -> String {
    state.prometheus.render()
}

async fn health_report(
    State(state): State<EndpointState>,
) -> (StatusCode, Json<serde_json::Value>) {
    let stages = state.health.snapshot();
    let healthy = stages.values().all(|stage_state| stage_state == "running");
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body =
        serde_json::json!({ "status": if healthy { "ok" } else { "degraded" }, "stages": stages });
    (status, Json(body))
}

/// Not ready while any stage stopped or failed (a dead stage does no work) or the registry
/// says so; the body names every cause.
async fn readiness_report(
    State(state): State<EndpointState>,
) -> (StatusCode, Json<serde_json::Value>) {
    let mut report = state.health.readiness.report();
    for (stage, stage_state) in state.health.snapshot() {
        if stage_state != "running" {
            report
                .not_ready_because
                .push(format!("stage {stage} {stage_state}"));
            report.ready = false;
        }
    }
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if report.ready { "ready" } else { "not_ready" },
        "not_ready_because": report.not_ready_because,
        "components": report.components,
    });
    (status, Json(body))
}

/// How often the dependency probes run.
pub(crate) const PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// How long one probe may take before its dependency counts as failing.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// Registers `clickhouse` and `broker` (those given) as required components of `/readyz` and
/// probes them every [`PROBE_INTERVAL`] until `cancel`. `probe_name` keys this process's row in
/// ClickHouse's probe table (the stage's name).
pub(crate) fn probe_dependencies(
    health: &Health,
    probe_name: &str,
    kafka: Option<&KafkaConfig>,
    clickhouse: Option<&PostStore>,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let broker = match kafka {
        Some(kafka) => Some((
            BrokerProbe::new(kafka).context("cannot prepare the broker probe")?,
            health.readiness.required("broker"),
        )),
        None => None,
    };
    let clickhouse =
        clickhouse.map(|store| (store.clone(), health.readiness.required("clickhouse")));
    let probe_name = probe_name.to_string();
    let cancel = cancel.clone();
    tokio::spawn(async move {
        loop {
            let broker_probe = async {
                if let Some((probe, handle)) = &broker {
                    probe_broker(probe, handle).await;
                }
            };
            let clickhouse_probe = async {
                if let Some((store, handle)) = &clickhouse {
                    probe_clickhouse(store, &probe_name, handle).await;
                }
            };
            tokio::join!(broker_probe, clickhouse_probe);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(PROBE_INTERVAL) => {}
            }
        }
    });
    Ok(())
}

async fn probe_broker(probe: &BrokerProbe, handle: &ReadinessHandle) {
    let verdict = match probe.probe(PROBE_TIMEOUT).await {
        Ok(0) => Err("the cluster's metadata lists no broker".to_string()),
        Ok(_) => Ok(()),
        Err(error) => Err(format!(
            "no metadata answer within {PROBE_TIMEOUT:?}: {error}"
        )),
    };
    report(handle, verdict);
}

async fn probe_clickhouse(store: &PostStore, probe_name: &str, handle: &ReadinessHandle) {
    let verdict = match tokio::time::timeout(PROBE_TIMEOUT, store.probe_writable(probe_name)).await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("{error:#}")),
        Err(_elapsed) => Err(format!(
            "a one-row insert into database {} took longer than {PROBE_TIMEOUT:?}",
            store.database()
        )),
    };
    report(handle, verdict);
}

/// Reports a probe's verdict, logging only changes (a dependency down for an hour is one
/// warning, not 720).
fn report(handle: &ReadinessHandle, verdict: Result<(), String>) {
    match verdict {
        Ok(()) => {
            if handle.ready() {
                tracing::info!(component = handle.name(), "ready");
            }
        }
        Err(reason) => {
            if handle.failing(reason.clone()) {
                tracing::warn!(component = handle.name(), %reason, "not ready");
            }
        }
    }
}

/// How long a process may take to drain, commit and leave after Ctrl-C or SIGTERM before it
/// exits anyway (under the 30 s an orchestrator usually waits before SIGKILL).
pub(crate) const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(25);

/// The exit status of a process that did not finish its shutdown by [`SHUTDOWN_DEADLINE`].
pub(crate) const EXIT_SHUTDOWN_OVERDUE: i32 = 3;

/// A token cancelled on Ctrl-C or SIGTERM: the signal to drain, commit and leave. The process
/// then exits within [`SHUTDOWN_DEADLINE`] whatever happens (a wedged broker, a stuck flush):
/// what was not committed is delivered again after the restart (at least once), so leaving is
/// safe, while hanging would keep a replacement from starting. A second signal exits at once.
pub(crate) fn shutdown_on_signals() -> CancellationToken {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("cannot listen for SIGTERM");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!(
            deadline_seconds = SHUTDOWN_DEADLINE.as_secs(),
            "shutdown requested: draining and committing"
        );
        trigger.cancel();
        exit_when_overdue(SHUTDOWN_DEADLINE);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        exit_now("a second signal arrived during shutdown");
    });
    cancel
}

/// Exits the process `deadline` from now unless it ended before. A thread of its own, not a
/// task: it must fire even when every async worker is blocked.
fn exit_when_overdue(deadline: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        exit_now(&format!(
            "shutdown did not finish within {}s (a dependency is not answering); uncommitted \
             input will be delivered again",
            deadline.as_secs()
        ));
    });
}

fn exit_now(why: &str) -> ! {
    tracing::error!("exiting: {why}");
    eprintln!("error: exiting: {why}");
    std::process::exit(EXIT_SHUTDOWN_OVERDUE)
}
