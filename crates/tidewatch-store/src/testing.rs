//! Test support for every crate that tests against ClickHouse (the `test-support` feature): a
//! throwaway database per test, and a tiny deterministic generator so a seed alone fixes the data
//! a test computes its expectations from.
//!
//! Guarantees: [`TestDatabase::create`] returns `None` (after printing why) only when no
//! ClickHouse answers outside CI (under CI a missing server fails the test: the one rule of
//! `tidewatch_test_support::skip_or_fail`); the
//! database it names is unique per process, time and label, and is dropped when the
//! `TestDatabase` goes out of scope, even if the test panics.

use crate::{PostStore, StoreConfig};

/// Where the tests look for ClickHouse unless `TIDEWATCH_TEST_CLICKHOUSE_URL` says otherwise.
const DEFAULT_TEST_URL: &str = "http://127.0.0.1:8123";

/// A database of its own for one test, dropped on drop. Not migrated: call `migrate` on it.
pub struct TestDatabase {
    store: PostStore,
}

impl TestDatabase {
    pub async fn create(label: &str) -> Option<TestDatabase> {
        let url = std::env::var("TIDEWATCH_TEST_CLICKHOUSE_URL")
            .unwrap_or_else(|_| DEFAULT_TEST_URL.to_string());
        Self::create_on(label, &url, None).await
    }

    /// [`TestDatabase::create`] on the server at `url`, in cluster mode when `cluster` names one
    /// (the database is then created and dropped `ON CLUSTER`).
    pub async fn create_on(label: &str, url: &str, cluster: Option<&str>) -> Option<TestDatabase> {
        let url = url.to_string();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let database = format!("tw_test_{}_{nanos}_{label}", std::process::id());
        let store = PostStore::connect(&StoreConfig {
            url: url.clone(),
            database,
            cluster: cluster.map(str::to_string),
            ..StoreConfig::default()
        });
        if let Err(error) = store.ping().await {
            tidewatch_test_support::skip_or_fail(
                label,
                &format!("no ClickHouse at {url} ({error}); run `deploy/local/services up`"),
            );
            return None;
        }
        Some(TestDatabase { store })
    }

    pub fn store(&self) -> &PostStore {
        &self.store
    }
}

impl Drop for TestDatabase {
    /// Runs on a thread of its own with a fresh client: the test's runtime is blocked here, and
    /// a pooled connection of the test's client is driven by a task on that runtime.
    fn drop(&mut self) {
        let store = PostStore::connect(self.store.config());
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(store.drop_database())
        });
        if let Ok(Err(error)) = dropper.join() {
            eprintln!("could not drop test database: {error}");
        }
    }
}

/// SplitMix64: a tiny deterministic generator, so the seed alone fixes the data.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `[0, bound)`; `bound` must not be 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}
