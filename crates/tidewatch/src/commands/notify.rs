//! The `notify` stage: `alerts` and `alerts.actions` → ClickHouse (alert history, which the API
//! and dashboard read) and the alert service (pages, chat messages, webhooks). Each input runs
//! on the one stage driver (`tidewatch_bus::driver`); this module only says what processing
//! and delivering mean here.
//!
//! Guarantees:
//! * at least once: a batch's offsets are stored only after its alert events are in ClickHouse
//!   and the alert service has made their effects durable in its state file; a crash redelivers
//!   the batch, which both sides recognise as repeats (ClickHouse rows collapse by key, the
//!   service never pages a story twice);
//! * a record that is not an alert event / action goes to the dead-letter topic with the reason;
//!   an event ClickHouse refuses on its own account (a value it cannot hold) is dead-lettered
//!   too, and the stage goes on;
//! * a failing dependency (ClickHouse down or refusing the password, the outbox full, the state
//!   file unwritable) is retried with back-off and reported unhealthy, never dead-lettered, and
//!   nothing is committed meanwhile;
//! * deliveries are one batch at a time in input order, so a story's events keep their order;
//!   on shutdown every batch read is finished and the offsets committed.

use std::time::Instant;

use chrono::Utc;
use tidewatch_alert::{AlertError, AlertService};
use tidewatch_bus::driver::{
    run_stage, Delivered, Deliverer, DeliveryError, Processed, Processor, StageControl,
};
use tidewatch_bus::transform::{Rejection, StageSettings, StageTotals};
use tidewatch_bus::{BusConsumer, BusProducer, Record};
use tidewatch_model::{AlertAction, AlertEvent};
use tidewatch_store::stage::{as_delivery_error, refusal};
use tidewatch_store::{Fault, PostStore};

/// The two inputs of the stage: alert events from detect, actions from the API.
pub(crate) struct NotifyInputs {
    pub(crate) alerts: BusConsumer,
    pub(crate) actions: BusConsumer,
}

/// How long a drained stage waits for pending deliveries before it leaves.
const DRAIN_DELIVERIES: std::time::Duration = std::time::Duration::from_secs(15);

/// Runs until stopped (or, with `upstream_finished`, until both inputs are drained).
pub(crate) async fn run_notify_stage(
    inputs: NotifyInputs,
    producer: BusProducer,
    service: AlertService,
    store: Option<PostStore>,
    settings: StageSettings,
    print_alerts: bool,
    control: StageControl,
) -> anyhow::Result<StageTotals> {
    // Its own token: the deliveries outlive the inputs a little (see the end).
    let deliveries_cancel = control.abort.child_token();
    let deliveries = tokio::spawn({
        let (service, deliveries_cancel) = (service.clone(), deliveries_cancel.clone());
        async move { service.run_deliveries(deliveries_cancel).await }
    });
    let alerts = run_stage(
        inputs.alerts,
        producer.clone(),
        Parse::<AlertEvent>::new("alert event"),
        HandleAlerts {
            service: service.clone(),
            store,
            print_alerts,
        },
        settings.clone(),
        control.clone(),
    );
    let actions = run_stage(
        inputs.actions,
        producer,
        Parse::<AlertAction>::new("alert action"),
        HandleActions {
            service: service.clone(),
        },
        settings,
        control.clone(),
    );
    let (alerts, actions) = tokio::join!(alerts, actions);
    // Drained (not aborted): give pending pages a moment to go out before leaving. Whatever is
    // still pending stays in the state file and is sent by the next run.
    let drain_deadline = Instant::now() + DRAIN_DELIVERIES;
    while !control.abort.is_cancelled() && Instant::now() < drain_deadline {
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
    let (alerts, actions) = (alerts?, actions?);
    Ok(StageTotals {
        received: alerts.received + actions.received,
        sent: alerts.sent + actions.sent,
        dead_lettered: alerts.dead_lettered + actions.dead_lettered,
    })
}

/// Parses each record as a `T` (JSON); a record that is not one is rejected with the reason.
struct Parse<T> {
    what: &'static str,
    kind: String,
    _values: std::marker::PhantomData<fn() -> T>,
}

impl<T> Parse<T> {
    fn new(what: &'static str) -> Self {
        Self {
            what,
            kind: format!("invalid_{}", what.replace(' ', "_")),
            _values: std::marker::PhantomData,
        }
    }
}

/// Parsed values, each with its index in the batch.
pub(crate) struct Parsed<T> {
    values: Vec<(usize, T)>,
}

impl<T: serde::de::DeserializeOwned + Send + Sync + 'static> Processor for Parse<T> {
    type Work = Parsed<T>;

    fn process(&mut self, batch: &[Record]) -> Result<Processed<Parsed<T>>, String> {
        let mut values = Vec::with_capacity(batch.len());
        let mut rejected = Vec::new();
        for (index, record) in batch.iter().enumerate() {
            match serde_json::from_slice(&record.payload) {
                Ok(value) => values.push((index, value)),
                Err(error) => rejected.push((
                    index,
                    Rejection {
                        kind: self.kind.clone(),
                        reason: format!("not an {}: {error}", self.what),
                    },
                )),
            }
        }
        Ok(Processed {
            work: Parsed { values },
            rejected,
        })
    }
}

fn alert_failure(error: AlertError) -> DeliveryError {
    if error.is_retryable() {
        DeliveryError::Dependency(format!("alert service: {error}"))
    } else {
        DeliveryError::Fatal(format!("alert service: {error}"))
    }
}

/// Alert events: into ClickHouse's alert history, then through the alert service.
struct HandleAlerts {
    service: AlertService,
    store: Option<PostStore>,
    print_alerts: bool,
}

impl HandleAlerts {
    /// Inserts the events; if ClickHouse refuses the batch on a record's account, inserts one by
    /// one and returns the refused ones.
    async fn insert(
        &self,
        store: &PostStore,
        work: &Parsed<AlertEvent>,
    ) -> Result<Vec<(usize, Rejection)>, DeliveryError> {
        let events: Vec<AlertEvent> = work.values.iter().map(|(_, event)| event.clone()).collect();
        let error = match store.insert_alert_events(&events).await {
            Ok(()) => return Ok(Vec::new()),
            Err(error) if error.fault() == Fault::Record => error,
            Err(error) => return Err(as_delivery_error(error)),
        };
        tracing::warn!(%error, events = events.len(), "alert events refused; inserting one by one");
        let mut refused = Vec::new();
        for (index, event) in &work.values {
            match store.insert_alert_events(std::slice::from_ref(event)).await {
                Ok(()) => {}
                Err(error) if error.fault() == Fault::Record => {
                    refused.push(refusal(*index, &error))
                }
                Err(error) => return Err(as_delivery_error(error)),
            }
        }
        Ok(refused)
    }
}

impl Deliverer for HandleAlerts {
    type Work = Parsed<AlertEvent>;

    async fn deliver(&self, work: &Parsed<AlertEvent>) -> Result<Delivered, DeliveryError> {
        let refused = match self.store.as_ref().filter(|_| !work.values.is_empty()) {
            Some(store) => self.insert(store, work).await?,
            None => Vec::new(),
        };
        // A refused event is dead-lettered, not half handled.
        let events: Vec<AlertEvent> = work
            .values
            .iter()
            .filter(|(index, _)| !refused.iter().any(|(refused, _)| refused == index))
            .map(|(_, event)| event.clone())
            .collect();
        // One durable state write for the whole batch, not one per event.
        let decisions = self
            .service
            .handle_events(&events, Utc::now())
            .await
            .map_err(alert_failure)?;
        for (event, decision) in events.iter().zip(decisions.iter()) {
            tracing::info!(story_id = %event.story_id, watch = %event.watch, state = ?event.state,
                duplicate = decision.duplicate, "alert event handled");
            if self.print_alerts && !decision.duplicate {
                println!("{}", describe_alert(event));
            }
        }
        Ok(Delivered {
            sent: events.len() as u64,
            refused,
        })
    }
}

/// Alert actions from the API (acknowledge, resolve, snooze) through the alert service.
struct HandleActions {
    service: AlertService,
}

impl Deliverer for HandleActions {
    type Work = Parsed<AlertAction>;

    async fn deliver(&self, work: &Parsed<AlertAction>) -> Result<Delivered, DeliveryError> {
        // After a failure part-way the batch is delivered again from its first action, as a
        // redelivery after a restart would be.
        for (_, action) in &work.values {
            self.service
                .handle_action(action, Utc::now())
                .await
                .map_err(alert_failure)?;
            tracing::info!(story_id = %action.story_id, action = action.action.as_str(), by = %action.by, "alert action handled");
        }
        Ok(Delivered {
            sent: work.values.len() as u64,
            refused: Vec::new(),
        })
    }
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
