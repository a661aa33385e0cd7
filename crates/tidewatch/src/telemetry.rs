//! Logs (tracing), metrics (Prometheus text at `/metrics`) and `/healthz`.
//!
//! `/healthz` answers 200 while every stage of this process is running and 503 naming the
//! stages that stopped or failed, so an orchestrator restarts a process whose stage died.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rdkafka=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Stage states shared with `/healthz`.
#[derive(Clone, Default)]
pub(crate) struct Health {
    stages: Arc<Mutex<BTreeMap<String, String>>>,
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
        tracing::info!(%address, "serving the API, the dashboard, /metrics and /healthz");
    } else {
        tracing::info!(%address, "serving /metrics and /healthz");
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

/// A token cancelled on Ctrl-C or SIGTERM: the signal to drain, commit and leave.
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
        tracing::info!("shutdown requested: draining and committing");
        trigger.cancel();
    });
    cancel
}
