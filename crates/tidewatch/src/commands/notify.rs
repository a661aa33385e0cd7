//! The `notify` stage: `alerts` and `alerts.actions` → ClickHouse (alert history, which the API
//! and dashboard read) and the alert service (pages, chat messages, webhooks).
//!
//! Guarantees:
//! * at least once: a batch's offsets are stored only after its alert events are in ClickHouse
//!   and the alert service has made their effects durable in its state file; a crash redelivers
//!   the batch, which both sides recognise as repeats (ClickHouse rows collapse by key, the
//!   service never pages a story twice);
//! * a record that is not an alert event / action goes to the dead-letter topic with the reason;
//! * transient failures (ClickHouse down, outbox full) are retried with backoff, never skipped;
//! * on shutdown the batch in hand is finished, and the offsets committed.

use std::time::Instant;

use chrono::Utc;
use tidewatch_alert::AlertService;
use tidewatch_bus::transform::{
    finish, poll_input, reject, retry_transient, send_durably, Input, Rejection, StageSettings,
    StageTotals,
};
use tidewatch_bus::{BusConsumer, BusProducer, Record};
use tidewatch_model::{AlertAction, AlertEvent};
use tidewatch_store::PostStore;
use tokio_util::sync::CancellationToken;

/// The two inputs of the stage: alert events from detect, actions from the API.
pub(crate) struct NotifyInputs {
    pub(crate) alerts: BusConsumer,
    pub(crate) actions: BusConsumer,
}

/// How long a drained stage waits for pending deliveries before it leaves.
const DRAIN_DELIVERIES: std::time::Duration = std::time::Duration::from_secs(15);

/// Runs until cancelled (or, with `upstream_finished`, until both inputs are drained).
pub(crate) async fn run_notify_stage(
    inputs: NotifyInputs,
    producer: BusProducer,
    service: AlertService,
    store: Option<PostStore>,
    settings: StageSettings,
    print_alerts: bool,
    cancel: CancellationToken,
) -> anyhow::Result<StageTotals> {
    let NotifyInputs {
        mut alerts,
        mut actions,
    } = inputs;
    let stage = settings.stage.clone();
    let mut totals = StageTotals::default();
    // Each input waits half the batch time, so neither starves the other.
    let half_wait = StageSettings {
        max_wait: settings.max_wait / 2,
        ..settings.clone()
    };
    // Its own token: the deliveries outlive the inputs a little (see the end).
    let deliveries_cancel = cancel.child_token();
    let deliveries = tokio::spawn({
        let (service, deliveries_cancel) = (service.clone(), deliveries_cancel.clone());
        async move { service.run_deliveries(deliveries_cancel).await }
    });
    let mut alerts_open = true;
    let mut actions_open = true;
    while alerts_open || actions_open {
        if alerts_open {
            match poll_input(&mut alerts, &half_wait, &cancel).await? {
                Input::Batch(batch) => {
                    let started = Instant::now();
                    let Some((sent, dead)) = handle_alerts(
                        &batch,
                        &service,
                        store.as_ref(),
                        &producer,
                        &settings,
                        print_alerts,
                        &cancel,
                    )
                    .await?
                    else {
                        break;
                    };
                    alerts.commit_batch(&batch)?;
                    totals.add_batch(&stage, batch.len() as u64, sent, dead, started);
                }
                Input::Idle => {}
                Input::Stop => alerts_open = false,
            }
        }
        if actions_open {
            match poll_input(&mut actions, &half_wait, &cancel).await? {
                Input::Batch(batch) => {
                    let started = Instant::now();
                    let Some((sent, dead)) =
                        handle_actions(&batch, &service, &producer, &settings, &cancel).await?
                    else {
                        break;
                    };
                    actions.commit_batch(&batch)?;
                    totals.add_batch(&stage, batch.len() as u64, sent, dead, started);
                }
                Input::Idle => {}
                Input::Stop => actions_open = false,
            }
        }
    }
    // Drained (not cancelled): give pending pages a moment to go out before leaving. Whatever
    // is still pending stays in the state file and is sent by the next run.
    let drain_deadline = Instant::now() + DRAIN_DELIVERIES;
    while !cancel.is_cancelled() && Instant::now() < drain_deadline {
        if service.status().await.pending_deliveries == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    deliveries_cancel.cancel();
    if let Err(error) = deliveries.await {
        tracing::error!(%error, "the delivery task failed");
    }
    service.save_state().await?;
    actions.shutdown()?;
    Ok(finish(alerts, &stage, totals)?)
}

fn parse<T: serde::de::DeserializeOwned>(record: &Record, what: &str) -> Result<T, Rejection> {
    serde_json::from_slice(&record.payload).map_err(|error| Rejection {
        kind: format!("invalid_{}", what.replace(' ', "_")),
        reason: format!("not an {what}: {error}"),
    })
}

/// Returns (events handled, dead letters), or None if cancelled before the batch was durable.
async fn handle_alerts(
    batch: &[Record],
    service: &AlertService,
    store: Option<&PostStore>,
    producer: &BusProducer,
    settings: &StageSettings,
    print_alerts: bool,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<(u64, u64)>> {
    let mut events = Vec::with_capacity(batch.len());
    let mut dead_letters = Vec::new();
    for record in batch {
        match parse::<AlertEvent>(record, "alert event") {
            Ok(event) => events.push(event),
            Err(rejection) => dead_letters.push(reject(settings, record, &rejection)),
        }
    }
    if !send_durably(producer, &dead_letters, &settings.stage, cancel).await? {
        return Ok(None);
    }
    if let Some(store) = store.filter(|_| !events.is_empty()) {
        let inserted = retry_transient(
            &settings.stage,
            "insert",
            cancel,
            |error: &tidewatch_store::StoreError| error.is_retryable(),
            || store.insert_alert_events(&events),
        )
        .await?;
        if inserted.is_none() {
            return Ok(None);
        }
    }
    // One durable state write for the whole batch, not one per event.
    let handled = retry_transient(
        &settings.stage,
        "alert",
        cancel,
        |error: &tidewatch_alert::AlertError| error.is_retryable(),
        || service.handle_events(&events, Utc::now()),
    )
    .await?;
    let Some(decisions) = handled else {
        return Ok(None);
    };
    for (event, decision) in events.iter().zip(decisions.iter()) {
        tracing::info!(story_id = %event.story_id, watch = %event.watch, state = ?event.state,
            duplicate = decision.duplicate, "alert event handled");
        if print_alerts && !decision.duplicate {
            println!("{}", describe_alert(event));
        }
    }
    Ok(Some((events.len() as u64, dead_letters.len() as u64)))
}

async fn handle_actions(
    batch: &[Record],
    service: &AlertService,
    producer: &BusProducer,
    settings: &StageSettings,
    cancel: &CancellationToken,
) -> anyhow::Result<Option<(u64, u64)>> {
    let mut handled_count = 0u64;
    let mut dead_letters = Vec::new();
    for record in batch {
        let action = match parse::<AlertAction>(record, "alert action") {
            Ok(action) => action,
            Err(rejection) => {
                dead_letters.push(reject(settings, record, &rejection));
                continue;
            }
        };
        let handled = retry_transient(
            &settings.stage,
            "alert",
            cancel,
            |error: &tidewatch_alert::AlertError| error.is_retryable(),
            || service.handle_action(&action, Utc::now()),
        )
        .await?;
        if handled.is_none() {
            return Ok(None);
        }
        tracing::info!(story_id = %action.story_id, action = action.action.as_str(), by = %action.by, "alert action handled");
        handled_count += 1;
    }
    if !send_durably(producer, &dead_letters, &settings.stage, cancel).await? {
        return Ok(None);
    }
    Ok(Some((handled_count, dead_letters.len() as u64)))
}

/// One console line per alert event, for `run` and `demo` on the in-process bus.
pub(crate) fn describe_alert(event: &AlertEvent) -> String {
    format!(
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
    )
}
