use super::*;

/// A database of stories whose versions the test sets; counts every query.
#[derive(Default)]
struct FakeChanges {
    versions: Mutex<HashMap<String, u64>>,
    change_queries: AtomicU64,
    alert_queries: AtomicU64,
}

impl FakeChanges {
    fn touch(&self, story_id: &str) {
        let version = unix_micros_now();
        self.versions
            .lock()
            .unwrap()
            .insert(story_id.to_string(), version);
    }
}

#[async_trait::async_trait]
impl AlertChanges for FakeChanges {
    async fn changed_stories(&self, after: u64) -> Result<Vec<(String, u64)>, ApiError> {
        self.change_queries.fetch_add(1, Ordering::SeqCst);
        let versions = self.versions.lock().unwrap();
        let mut changed: Vec<(String, u64)> = versions
            .iter()
            .filter(|(_, version)| **version > after)
            .map(|(story, version)| (story.clone(), *version))
            .collect();
        changed.sort();
        Ok(changed)
    }

    async fn alert_json(&self, story_id: &str) -> Result<String, ApiError> {
        self.alert_queries.fetch_add(1, Ordering::SeqCst);
        Ok(format!(r#"{{"story_id":"{story_id}"}}"#))
    }
}

/// Lets the spawned poller run until it waits on its timer again.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn many_subscribers_share_one_poll_per_tick_and_each_gets_every_change() {
    let fake = Arc::new(FakeChanges::default());
    let hub = AlertHub::new(fake.clone());
    let shutdown = CancellationToken::new();
    let mut receivers: Vec<_> = (0..200).map(|_| hub.subscribe(&shutdown)).collect();
    // The poller starts its first tick.
    settle().await;

    for tick in 0..10 {
        if tick == 3 {
            fake.touch("story-a");
        }
        if tick == 6 {
            fake.touch("story-b");
            fake.touch("story-a");
        }
        tokio::time::advance(POLL_INTERVAL).await;
        settle().await;
    }
    // 200 subscribers for 10 s: 10 polls, not 2,000.
    assert_eq!(hub.polls(), 10);
    assert_eq!(fake.change_queries.load(Ordering::SeqCst), 10);
    // Each change was read once for everybody: a, then b and a again.
    assert_eq!(fake.alert_queries.load(Ordering::SeqCst), 3);
    for receiver in &mut receivers {
        let mut seen = Vec::new();
        while let Ok(change) = receiver.try_recv() {
            seen.push(change.story_id.clone());
        }
        assert_eq!(seen, ["story-a", "story-a", "story-b"]);
    }
    shutdown.cancel();
}

#[tokio::test(start_paused = true)]
async fn nobody_listening_means_no_polls() {
    let fake = Arc::new(FakeChanges::default());
    let hub = AlertHub::new(fake.clone());
    let shutdown = CancellationToken::new();
    drop(hub.subscribe(&shutdown));
    settle().await;
    for _ in 0..5 {
        tokio::time::advance(POLL_INTERVAL).await;
        settle().await;
    }
    assert_eq!(hub.polls(), 0, "polled with nobody listening");
    let mut late = hub.subscribe(&shutdown);
    fake.touch("after-subscribing");
    tokio::time::advance(POLL_INTERVAL).await;
    settle().await;
    assert_eq!(hub.polls(), 1);
    let first = late.try_recv().expect("a change after subscribing");
    assert_eq!(first.story_id, "after-subscribing");
    shutdown.cancel();
}

#[tokio::test]
async fn catch_up_skips_what_was_sent_and_ids_never_go_back() {
    let fake = FakeChanges::default();
    fake.touch("one");
    fake.touch("two");
    let mut cursor = unix_micros_now();
    let mut sent = HashMap::new();
    let first = read_changes(&fake, &mut cursor, &mut sent).await;
    assert_eq!(first.len(), 2);
    assert!(first[0].id <= first[1].id);
    let again = read_changes(&fake, &mut cursor, &mut sent).await;
    assert!(again.is_empty(), "sent twice: {again:?}");
}

#[test]
fn limits_count_per_token_and_in_total_and_free_on_drop() {
    let limits = StreamLimits::new(3, 2);
    let a1 = limits.try_open("alice").unwrap();
    let _a2 = limits.try_open("alice").unwrap();
    assert_eq!(
        limits.try_open("alice").unwrap_err(),
        StreamLimitHit::PerToken(2)
    );
    let _b1 = limits.try_open("bob").unwrap();
    assert_eq!(
        limits.try_open("bob").unwrap_err(),
        StreamLimitHit::Global(3)
    );
    assert_eq!(limits.open_streams(), 3);
    drop(a1);
    assert_eq!(limits.open_streams(), 2);
    let _b2 = limits.try_open("bob").unwrap();
    assert_eq!(
        limits.try_open("carol").unwrap_err(),
        StreamLimitHit::Global(3)
    );
}
