//! The store stage against a ClickHouse that refuses its password (issue 19, defect 1), through
//! the real broker: that is the dependency failing, not the posts. Nothing is dead-lettered,
//! nothing is committed, the stage says it is unhealthy and why; once the password is right
//! again (a restart with the rotated secret) every post lands, read again from the start.

mod support;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{seeded_posts, TestDatabase};
use tidewatch_bus::driver::StageControl;
use tidewatch_bus::transform::{StageSettings, StageTotals};
use tidewatch_bus::{
    ensure_topics, BusConsumer, BusProducer, KafkaConfig, KafkaConsumer, KafkaProducer, OutRecord,
    PartitionAssignment,
};
use tidewatch_store::stage::run_store_stage;
use tidewatch_store::{PostStore, StoreConfig};
use tokio_util::sync::CancellationToken;

const BROKER: &str = "127.0.0.1:9092";
const POSTS: usize = 400;

/// Skips outside CI when no broker answers; fails under CI (as `TestDatabase::create` does).
fn broker_available() -> bool {
    let up = TcpStream::connect_timeout(&BROKER.parse().unwrap(), Duration::from_secs(2)).is_ok();
    let ci = std::env::var("CI")
        .is_ok_and(|value| !value.is_empty() && value != "false" && value != "0");
    assert!(up || !ci, "no Kafka broker at {BROKER} and CI is set");
    if !up {
        eprintln!("skipping: no Kafka broker at {BROKER}; run `deploy/local/services up`");
    }
    up
}

struct Topics {
    kafka: KafkaConfig,
    scored: String,
    dead_letters: String,
}

fn stage_run(
    topics: &Topics,
    store: PostStore,
) -> (
    tokio::task::JoinHandle<Result<StageTotals, tidewatch_bus::driver::StageError>>,
    StageSettings,
    StageControl,
) {
    let consumer = KafkaConsumer::new(&topics.kafka, "store", &[&topics.scored]).unwrap();
    let producer = KafkaProducer::new(&topics.kafka).unwrap();
    let settings = StageSettings::new(
        "store",
        &topics.dead_letters,
        100,
        Duration::from_millis(100),
    );
    let control = StageControl::default();
    let stage = tokio::spawn(run_store_stage(
        BusConsumer::Kafka(consumer),
        BusProducer::Kafka(producer),
        store,
        settings.clone(),
        control.clone(),
    ));
    (stage, settings, control)
}

async fn eventually(timeout: Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_loses_nothing_and_every_post_lands_once_it_is_right() {
    let Some(database) = TestDatabase::create("credentials").await else {
        return;
    };
    if !broker_available() {
        return;
    }
    database.store().migrate().await.unwrap();
    let prefix = format!(
        "tw_credentials_{}_{}",
        std::process::id(),
        database.store().database()
    );
    let mut kafka = KafkaConfig::new(BROKER);
    kafka.group_prefix = prefix.clone();
    kafka.partitions = 2;
    kafka.assignment = PartitionAssignment::All;
    let topics = Topics {
        scored: format!("{prefix}.posts.scored"),
        dead_letters: format!("{prefix}.dlq"),
        kafka,
    };
    ensure_topics(&topics.kafka, &[&topics.scored, &topics.dead_letters])
        .await
        .unwrap();
    let posts = seeded_posts(POSTS, 19);
    let records: Vec<OutRecord> = posts
        .iter()
        .map(|post| OutRecord::new(&topics.scored, post.post.key(), post.to_json()))
        .collect();
    let producer = KafkaProducer::new(&topics.kafka).unwrap();
    producer.send_all(&records).await.unwrap();

    // The password was rotated on the server: ClickHouse answers 193 to every insert.
    let wrong = PostStore::connect(&StoreConfig {
        password: Some("rotated-away".to_string()),
        ..database.store().config().clone()
    });
    let (stage, settings, control) = stage_run(&topics, wrong);
    let health = settings.health.clone();
    let unhealthy = eventually(Duration::from_secs(60), async || {
        !health.snapshot().is_healthy()
    })
    .await;
    assert!(unhealthy, "the stage never reported its dependency failing");
    // Several back-off rounds, each of which used to dead-letter the batch post by post.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let snapshot = health.snapshot();
    assert!(
        snapshot
            .last_failure
            .as_deref()
            .unwrap_or_default()
            .contains("193"),
        "{snapshot:?}"
    );
    assert_eq!(snapshot.last_durable_batch_at, None);
    control.stop.cancel();
    control.abort.cancel();
    let refused = stage.await.unwrap().unwrap();
    assert_eq!((refused.sent, refused.dead_lettered), (0, 0), "{refused:?}");
    assert_eq!(database.store().count_posts().await.unwrap(), 0);

    // Restarted with the right password, in the same consumer group: nothing was committed,
    // so it reads every post again, and stores all of them.
    let (stage, settings, control) = stage_run(&topics, database.store().clone());
    let stored = eventually(Duration::from_secs(90), async || {
        database.store().count_posts().await.unwrap_or(0) == POSTS as u64
    })
    .await;
    control.stop.cancel();
    let totals = stage.await.unwrap().unwrap();
    assert!(
        stored,
        "only {} of {POSTS} posts stored",
        database.store().count_posts().await.unwrap()
    );
    assert_eq!(
        totals.received, POSTS as u64,
        "the refused run committed offsets"
    );
    assert_eq!(totals.dead_lettered, 0);
    assert!(settings.health.snapshot().is_healthy());

    // And not one dead letter on the topic.
    let mut reader =
        KafkaConsumer::new(&topics.kafka, "dead-letter-reader", &[&topics.dead_letters]).unwrap();
    let letters = reader
        .next_batch(1_000, Duration::from_secs(3), &CancellationToken::new())
        .await
        .unwrap();
    assert!(letters.is_empty(), "{} dead letters", letters.len());
}
