//! Trend rollups on the local ClickHouse 18.16: every trend (each interval × grouping × filter)
//! equals what the test computes on its own from the posts it sent, before the rollup exists,
//! once it covers the range, after redeliveries, edits, deletes and late posts dirty some
//! buckets, after it caught up again, and after superseded generations are deleted.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use support::{delete_of, varied_posts, TestDatabase};
use tidewatch_model::{Label, ScoredPost};
use tidewatch_store::{
    PostFilter, PostStore, TimeRange, TrendBucket, TrendGroupBy, TrendInterval, TrendQuery,
};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2015-02-23T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Ragged at both ends, so the edges are always read raw.
fn range() -> TimeRange {
    TimeRange {
        from: start() + Duration::seconds(7 * 60 + 13),
        to: start() + Duration::seconds(9 * 3_600 + 52 * 60),
    }
}

/// What the test expects in one (bucket, group).
#[derive(Debug, Default, PartialEq)]
struct Expected {
    posts: u64,
    negative: u64,
    neutral: u64,
    positive: u64,
    compound_units: i64,
    scored: u64,
    authors: BTreeSet<String>,
}

/// The posts a reader should see: the latest delivery of each key, minus deleted keys.
#[derive(Default)]
struct LivePosts {
    latest: HashMap<(String, String), ScoredPost>,
    deleted: HashSet<(String, String)>,
}

impl LivePosts {
    fn deliver(&mut self, batch: &[ScoredPost]) {
        for scored in batch {
            let key = (scored.post.source.clone(), scored.post.source_id.clone());
            if scored.post.kind == tidewatch_model::PostKind::Delete {
                self.deleted.insert(key);
                continue;
            }
            self.latest.insert(key, scored.clone());
        }
    }

    fn live(&self) -> impl Iterator<Item = &ScoredPost> {
        self.latest
            .iter()
            .filter(|(key, _)| !self.deleted.contains(*key))
            .map(|(_, post)| post)
    }
}

fn group_values(post: &ScoredPost, request: &TrendQuery) -> Vec<String> {
    let mut watches: Vec<String> = post.watches.clone();
    watches.sort();
    watches.dedup();
    if !request.filter.watches.is_empty() {
        watches.retain(|watch| request.filter.watches.contains(watch));
    }
    let per_watch = !request.filter.watches.is_empty() || request.group_by == TrendGroupBy::Watch;
    let value = match request.group_by {
        TrendGroupBy::Watch => String::new(),
        TrendGroupBy::Source => post.post.source.clone(),
        TrendGroupBy::Language => language_of(post),
        TrendGroupBy::Label => post.label.as_str().to_string(),
    };
    match (per_watch, request.group_by) {
        (false, _) => vec![value],
        (true, TrendGroupBy::Watch) => watches,
        (true, _) => watches.iter().map(|_| value.clone()).collect(),
    }
}

fn language_of(post: &ScoredPost) -> String {
    post.lang_detected
        .clone()
        .or_else(|| post.post.lang.clone())
        .unwrap_or_default()
}

fn expected_trends(live: &LivePosts, request: &TrendQuery) -> BTreeMap<(i64, String), Expected> {
    let width = i64::from(request.interval.seconds());
    let mut expected: BTreeMap<(i64, String), Expected> = BTreeMap::new();
    for post in live.live() {
        let created = post.post.created_at;
        if created < request.range.from || created >= request.range.to {
            continue;
        }
        let filter = &request.filter;
        let keep =
            |values: &[String], value: &str| values.is_empty() || values.iter().any(|v| v == value);
        if !keep(&filter.sources, &post.post.source)
            || !keep(&filter.languages, &language_of(post))
            || !keep(&filter.labels, post.label.as_str())
        {
            continue;
        }
        let bucket = created.timestamp() / width * width;
        for group in group_values(post, request) {
            let cell = expected.entry((bucket, group)).or_default();
            cell.posts += 1;
            match post.label {
                Label::Negative => cell.negative += 1,
                Label::Neutral => cell.neutral += 1,
                Label::Positive => cell.positive += 1,
                Label::Unscored => {}
            }
            if let Some(sentiment) = &post.sentiment {
                cell.scored += 1;
                cell.compound_units += (sentiment.compound * 10_000.0).round() as i64;
            }
            let author = post
                .post
                .author
                .as_ref()
                .and_then(|author| author.id.clone().or_else(|| author.handle.clone()));
            if let Some(author) = author.filter(|author| !author.is_empty()) {
                cell.authors.insert(author);
            }
        }
    }
    expected
}

fn requests() -> Vec<TrendQuery> {
    let filters = [
        PostFilter::default(),
        PostFilter {
            labels: vec!["negative".into()],
            ..PostFilter::default()
        },
        PostFilter {
            watches: vec!["acme".into()],
            ..PostFilter::default()
        },
        PostFilter {
            watches: vec!["acme".into(), "globex".into()],
            languages: vec!["de".into(), "en".into()],
            ..PostFilter::default()
        },
    ];
    let mut requests = Vec::new();
    for interval in [
        TrendInterval::FiveMinutes,
        TrendInterval::FifteenMinutes,
        TrendInterval::OneHour,
        TrendInterval::OneDay,
    ] {
        for group_by in TrendGroupBy::ALL {
            for filter in &filters {
                requests.push(TrendQuery {
                    range: range(),
                    interval,
                    group_by,
                    filter: filter.clone(),
                });
            }
        }
    }
    requests
}

fn assert_bucket_matches(got: &TrendBucket, want: &Expected, context: &str) {
    assert_eq!(got.posts, want.posts, "{context}: posts");
    assert_eq!(got.negative, want.negative, "{context}: negative");
    assert_eq!(got.neutral, want.neutral, "{context}: neutral");
    assert_eq!(got.positive, want.positive, "{context}: positive");
    assert_eq!(
        got.distinct_authors,
        want.authors.len() as u64,
        "{context}: authors"
    );
    let mean = (want.scored > 0).then(|| {
        let mean = want.compound_units as f64 / 10_000.0 / want.scored as f64;
        (mean * 10_000.0).round() / 10_000.0
    });
    assert_eq!(got.mean_compound, mean, "{context}: mean compound");
}

/// Every request's answer equals the expectation; returns how many cells were compared.
async fn assert_all_trends(store: &PostStore, live: &LivePosts, stage: &str) -> usize {
    let mut cells = 0;
    for request in requests() {
        let got = store.trends(&request).await.unwrap();
        let want = expected_trends(live, &request);
        let context = format!(
            "{stage}: {} by {} {:?}",
            request.interval.as_str(),
            request.group_by.as_str(),
            request.filter
        );
        assert_eq!(got.len(), want.len(), "{context}: bucket count");
        for bucket in &got {
            let key = (bucket.bucket.timestamp(), bucket.group.clone());
            let expected = want
                .get(&key)
                .unwrap_or_else(|| panic!("{context}: extra {key:?}"));
            assert_bucket_matches(bucket, expected, &format!("{context} {key:?}"));
            cells += 1;
        }
    }
    cells
}

/// Computes every dirty bucket. Waits first until the last marks are in a past second: a
/// computation starting in the same second as a mark cannot make its bucket clean.
/// Share of voice over the range equals the per-watch counts of the live posts.
async fn assert_share_of_voice(store: &PostStore, live: &LivePosts, stage: &str) {
    let mut want: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for post in live.live() {
        let created = post.post.created_at;
        if created < range().from || created >= range().to {
            continue;
        }
        let watches: BTreeSet<&String> = post.watches.iter().collect();
        for watch in watches {
            let cell = want.entry(watch.clone()).or_default();
            cell.0 += 1;
            cell.1 += u64::from(post.label == Label::Negative);
        }
    }
    let got = store
        .share_of_voice(&range(), &PostFilter::default())
        .await
        .unwrap();
    let got: BTreeMap<String, (u64, u64)> = got
        .iter()
        .map(|share| {
            let negative = (share.negative_share * share.posts as f64).round() as u64;
            (share.watch.clone(), (share.posts, negative))
        })
        .collect();
    assert_eq!(got, want, "{stage}: share of voice");
}

async fn refresh_until_done(store: &PostStore) -> usize {
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let mut computed = 0;
    loop {
        let refresh = store.refresh_rollups(0, 50).await.unwrap();
        computed += refresh.buckets;
        if !refresh.more_waiting {
            return computed;
        }
    }
}

#[tokio::test]
async fn trends_stay_exact_through_rollup_computation_redelivery_edits_deletes_and_late_posts() {
    let Some(test) = TestDatabase::create("rollup_exact").await else {
        return;
    };
    let store = test.store();
    store.migrate().await.unwrap();
    let mut live = LivePosts::default();
    let posts = varied_posts(1_500, 7, start(), 10 * 3_600);
    for batch in posts.chunks(500) {
        store.insert_posts(batch).await.unwrap();
        live.deliver(batch);
    }
    let redelivered: Vec<ScoredPost> = posts.iter().step_by(10).cloned().collect();
    store.insert_posts(&redelivered).await.unwrap();
    live.deliver(&redelivered);

    let before = store.rollup_coverage(&range()).await.unwrap();
    assert_eq!(before.rollup_buckets, 0, "nothing computed yet: {before:?}");
    let cells = assert_all_trends(store, &live, "raw").await;
    assert_share_of_voice(store, &live, "raw").await;
    assert!(cells > 1_000, "only {cells} cells compared");

    assert_eq!(
        refresh_until_done(store).await,
        120,
        "10 hours of 5-minute buckets"
    );
    let whole_buckets = (9 * 60 + 50 - 10) / 5;
    let covered = store.rollup_coverage(&range()).await.unwrap();
    assert_eq!(covered.rollup_buckets, whole_buckets, "{covered:?}");
    assert_eq!(
        covered.raw_seconds,
        (10 * 60 - (7 * 60 + 13)) + 2 * 60,
        "{covered:?}"
    );
    assert_all_trends(store, &live, "rollup").await;
    assert_share_of_voice(store, &live, "rollup").await;

    // Deletes, edits (a new version with another sentiment), late posts into computed buckets,
    // and plain redeliveries.
    let mut changes: Vec<ScoredPost> = posts
        .iter()
        .skip(3)
        .step_by(75)
        .map(|post| delete_of(&post.post.source, &post.post.source_id, 0))
        .collect();
    for post in posts.iter().skip(5).step_by(60) {
        let mut edited = post.clone();
        let compound = if post.label == Label::Negative {
            0.6249
        } else {
            -0.7003
        };
        edited.sentiment = Some(tidewatch_model::Sentiment {
            neg: 0.0,
            neu: 1.0,
            pos: 0.0,
            compound,
        });
        edited.label = Label::from_compound(compound);
        changes.push(edited);
    }
    changes.extend(varied_posts(30, 99, start() + Duration::hours(2), 3_600));
    changes.extend(posts.iter().skip(7).step_by(30).cloned());
    store.insert_posts(&changes).await.unwrap();
    live.deliver(&changes);
    let dirty = store.rollup_coverage(&range()).await.unwrap();
    assert!(
        dirty.rollup_buckets < whole_buckets,
        "changes must dirty buckets: {dirty:?}"
    );
    assert_all_trends(store, &live, "dirty").await;
    assert_share_of_voice(store, &live, "dirty").await;

    assert!(refresh_until_done(store).await > 0);
    let recovered = store.rollup_coverage(&range()).await.unwrap();
    assert_eq!(recovered, covered);
    assert_all_trends(store, &live, "recomputed").await;
    assert_share_of_voice(store, &live, "recomputed").await;

    let superseded = store.delete_superseded_rollups(10_000).await.unwrap();
    assert!(
        superseded > 0,
        "recomputed buckets have superseded generations"
    );
    assert_all_trends(store, &live, "after superseded deletion was issued").await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_all_trends(store, &live, "after superseded deletion ran").await;
}

#[tokio::test]
async fn the_present_is_left_to_the_raw_path_until_it_settles() {
    let Some(test) = TestDatabase::create("rollup_settle").await else {
        return;
    };
    let store = test.store();
    store.migrate().await.unwrap();
    let now = Utc::now();
    let posts = varied_posts(50, 3, now, 1);
    store.insert_posts(&posts).await.unwrap();
    let refresh = store.refresh_rollups(3_600, 100).await.unwrap();
    assert_eq!(
        refresh.buckets, 0,
        "a bucket younger than the settle time waits"
    );
    let refresh = store.refresh_rollups(0, 100).await.unwrap();
    assert_eq!(
        refresh.buckets, 0,
        "the bucket still filling is not computed"
    );
    let old = varied_posts(50, 4, now - Duration::hours(3), 600);
    store.insert_posts(&old).await.unwrap();
    let refresh = store.refresh_rollups(60, 100).await.unwrap();
    assert!(refresh.buckets >= 2, "{refresh:?}");
}
