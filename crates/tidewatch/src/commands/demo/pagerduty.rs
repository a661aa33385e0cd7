//! A simulated PagerDuty for the demo: it speaks the Events API v2 (`POST /v2/enqueue`,
//! answering 202 like PagerDuty), prints each event on the console, and lists what it received
//! at `GET /events` (the browser tests read it to check that an acknowledge arrived).
//!
//! Guarantees: every accepted event is kept in arrival order; a body that is not an Events v2
//! request (no `routing_key`, `event_action` or `dedup_key` for acknowledge / resolve) gets 400
//! with the reason, as PagerDuty does, and is not recorded.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
pub(crate) struct PagerDutyMock {
    events: Arc<Mutex<Vec<Value>>>,
}

impl PagerDutyMock {
    /// Serves on `listen` until cancelled; returns the bound address.
    pub(crate) async fn serve(
        &self,
        listen: &str,
        cancel: CancellationToken,
    ) -> anyhow::Result<std::net::SocketAddr> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let router = Router::new()
            .route("/v2/enqueue", post(enqueue))
            .route("/events", get(list_events))
            .with_state(self.clone());
        tokio::spawn(async move {
            let shutdown = async move { cancel.cancelled().await };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "simulated pagerduty stopped");
            }
        });
        Ok(address)
    }

    pub(crate) fn events(&self) -> Vec<Value> {
        self.events.lock().expect("pagerduty mock lock").clone()
    }
}

async fn enqueue(
    State(mock): State<PagerDutyMock>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let action = body["event_action"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let dedup_key = body["dedup_key"].as_str().unwrap_or_default().to_string();
    let problem = if body["routing_key"].as_str().is_none_or(str::is_empty) {
        Some("routing_key is required")
    } else if !["trigger", "acknowledge", "resolve"].contains(&action.as_str()) {
        Some("event_action must be trigger, acknowledge or resolve")
    } else if action != "trigger" && dedup_key.is_empty() {
        Some("dedup_key is required for acknowledge and resolve")
    } else {
        None
    };
    if let Some(problem) = problem {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"status": "invalid event", "message": "Event object is invalid", "errors": [problem]}),
            ),
        );
    }
    let summary = body["payload"]["summary"].as_str().unwrap_or_default();
    println!("pagerduty (simulated) received {action} for story {dedup_key}: {summary}");
    mock.events
        .lock()
        .expect("pagerduty mock lock")
        .push(body.clone());
    (
        StatusCode::ACCEPTED,
        Json(json!({"status": "success", "message": "Event processed", "dedup_key": dedup_key})),
    )
}

async fn list_events(State(mock): State<PagerDutyMock>) -> Json<Value> {
    Json(Value::Array(mock.events()))
}
