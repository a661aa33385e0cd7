//! The driver's guarantees on the in-process bus, with paused time: pipelining, offsets only
//! after durability, dependency failures retried and never dead-lettered, refusals dead-lettered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::sync::Semaphore;

use super::*;
use crate::{MemoryBus, OutRecord};

/// Passes payloads through; rejects payloads that say "bad".
struct Echo {
    processed: Arc<AtomicUsize>,
}

impl Processor for Echo {
    type Work = Vec<(usize, Vec<u8>)>;

    fn process(&mut self, batch: &[Record]) -> Result<Processed<Self::Work>, String> {
        self.processed.fetch_add(1, Ordering::SeqCst);
        let mut work = Vec::new();
        let mut rejected = Vec::new();
        for (index, record) in batch.iter().enumerate() {
            if record.payload == b"bad" {
                let rejection = Rejection {
                    kind: "bad".into(),
                    reason: "said bad".into(),
                };
                rejected.push((index, rejection));
            } else {
                work.push((index, record.payload.clone()));
            }
        }
        Ok(Processed { work, rejected })
    }
}

/// A dependency scripted by the test: a gate to hold deliveries, a number of failures to come,
/// payloads it refuses, and what it stored.
#[derive(Default)]
struct Script {
    gate: Option<Arc<Semaphore>>,
    failures_left: AtomicUsize,
    refuse: Vec<Vec<u8>>,
    stored: Mutex<Vec<Vec<u8>>>,
}

struct Scripted(Arc<Script>);

impl Deliverer for Scripted {
    type Work = Vec<(usize, Vec<u8>)>;

    async fn deliver(&self, work: &Self::Work) -> Result<Delivered, DeliveryError> {
        let script = &self.0;
        if let Some(gate) = &script.gate {
            gate.acquire().await.expect("gate open").forget();
        }
        let failing = script
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if failing {
            return Err(DeliveryError::Dependency("Code: 193 wrong password".into()));
        }
        let mut delivered = Delivered::default();
        for (index, payload) in work {
            if script.refuse.contains(payload) {
                let rejection = Rejection {
                    kind: "refused".into(),
                    reason: "cannot hold it".into(),
                };
                delivered.refused.push((*index, rejection));
            } else {
                script.stored.lock().unwrap().push(payload.clone());
                delivered.sent += 1;
            }
        }
        Ok(delivered)
    }
}

struct Harness {
    bus: MemoryBus,
    dead_letters: crate::MemoryConsumer,
    settings: StageSettings,
    processed: Arc<AtomicUsize>,
    upstream_finished: CancellationToken,
}

fn harness(max_batch: usize) -> Harness {
    let bus = MemoryBus::new(1024);
    let dead_letters = bus.subscribe("dlq").unwrap();
    let upstream_finished = CancellationToken::new();
    let mut settings = StageSettings::new("t", "dlq", max_batch, Duration::from_millis(20));
    settings.upstream_finished = Some(upstream_finished.clone());
    Harness {
        bus,
        dead_letters,
        settings,
        processed: Arc::new(AtomicUsize::new(0)),
        upstream_finished,
    }
}

impl Harness {
    fn start(
        &self,
        script: &Arc<Script>,
    ) -> tokio::task::JoinHandle<Result<StageTotals, StageError>> {
        let consumer = BusConsumer::Memory(self.bus.subscribe("in").unwrap());
        let producer = BusProducer::Memory(self.bus.producer());
        let processor = Echo {
            processed: self.processed.clone(),
        };
        tokio::spawn(run_stage(
            consumer,
            producer,
            processor,
            Scripted(script.clone()),
            self.settings.clone(),
            StageControl::default(),
        ))
    }

    async fn send(&self, payloads: &[&[u8]]) {
        let records: Vec<OutRecord> = payloads
            .iter()
            .map(|payload| OutRecord::new("in", "k", payload.to_vec()))
            .collect();
        self.bus.producer().send_all(&records).await.unwrap();
    }

    async fn dead_letter_count(&mut self) -> usize {
        let cancel = CancellationToken::new();
        let letters = self
            .dead_letters
            .next_batch(100, Duration::from_millis(1), &cancel)
            .await
            .unwrap();
        letters.len()
    }
}

async fn until(mut condition: impl FnMut() -> bool) {
    while !condition() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_next_batches_are_processed_while_a_delivery_is_pending() {
    let harness = harness(2);
    let gate = Arc::new(Semaphore::new(0));
    let script = Arc::new(Script {
        gate: Some(gate.clone()),
        ..Script::default()
    });
    let stage = harness.start(&script);
    harness.send(&[b"a", b"b", b"c", b"d", b"e", b"f"]).await;
    // The first delivery is held; the driver reads and processes the other batches meanwhile.
    let processed = harness.processed.clone();
    until(|| processed.load(Ordering::SeqCst) == 3).await;
    assert_eq!(
        harness.bus.committed_offset("in"),
        None,
        "nothing durable yet"
    );
    gate.add_permits(1);
    until(|| harness.bus.committed_offset("in") == Some(2)).await;
    gate.add_permits(2);
    until(|| harness.bus.committed_offset("in") == Some(6)).await;
    harness.upstream_finished.cancel();
    let totals = stage.await.unwrap().unwrap();
    assert_eq!((totals.received, totals.sent), (6, 6));
    assert_eq!(script.stored.lock().unwrap().len(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_failing_dependency_is_retried_never_dead_lettered_and_nothing_commits() {
    let mut harness = harness(10);
    let script = Arc::new(Script {
        failures_left: AtomicUsize::new(usize::MAX),
        ..Script::default()
    });
    let stage = harness.start(&script);
    harness.send(&[b"a", b"b", b"c"]).await;
    let health = harness.settings.health.clone();
    until(|| !health.snapshot().is_healthy()).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(harness.bus.committed_offset("in"), None);
    assert_eq!(harness.dead_letter_count().await, 0);
    let snapshot = health.snapshot();
    assert_eq!(
        snapshot.last_failure.as_deref(),
        Some("Code: 193 wrong password")
    );
    assert_eq!(snapshot.last_durable_batch_at, None);
    // The password is right again: everything lands, the stage is healthy.
    script.failures_left.store(0, Ordering::SeqCst);
    until(|| harness.bus.committed_offset("in") == Some(3)).await;
    assert!(health.snapshot().is_healthy());
    harness.upstream_finished.cancel();
    stage.await.unwrap().unwrap();
    assert_eq!(script.stored.lock().unwrap().len(), 3);
    assert_eq!(harness.dead_letter_count().await, 0);
}

#[tokio::test(start_paused = true)]
async fn a_refused_record_is_dead_lettered_and_the_rest_commits() {
    let mut harness = harness(10);
    let script = Arc::new(Script {
        refuse: vec![b"odd".to_vec()],
        ..Script::default()
    });
    let stage = harness.start(&script);
    harness.send(&[b"a", b"odd", b"bad", b"b"]).await;
    until(|| harness.bus.committed_offset("in") == Some(4)).await;
    harness.upstream_finished.cancel();
    let totals = stage.await.unwrap().unwrap();
    assert_eq!((totals.sent, totals.dead_lettered), (2, 2));
    assert_eq!(harness.dead_letter_count().await, 2);
}

#[tokio::test(start_paused = true)]
async fn a_batch_whose_every_record_is_refused_is_the_dependency_failing() {
    let mut harness = harness(10);
    let script = Arc::new(Script {
        refuse: vec![b"x".to_vec()],
        ..Script::default()
    });
    let stage = harness.start(&script);
    harness.send(&[b"x", b"x", b"x"]).await;
    let health = harness.settings.health.clone();
    until(|| !health.snapshot().is_healthy()).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(harness.bus.committed_offset("in"), None);
    assert_eq!(harness.dead_letter_count().await, 0);
    drop(stage); // still retrying: left running until the runtime ends
}
