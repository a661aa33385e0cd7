//! Trends, share of voice and post search against the real local ClickHouse, with expected
//! numbers computed here from the seed (never through the code under test); redelivery and
//! deletes must not change them.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::{scored_all, seed_posts, seed_start, SeedPost, TestApi, VIEWER};

#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    posts: u64,
    negative: u64,
    neutral: u64,
    positive: u64,
    authors: BTreeSet<String>,
    compound_sum: f64,
    scored: u64,
}

fn bucket_of(post: &SeedPost, width: i64) -> String {
    let seconds = post.created_at.timestamp().div_euclid(width) * width;
    tidewatch_model::format_timestamp(&chrono::DateTime::from_timestamp(seconds, 0).unwrap())
}

fn add(expected: &mut Expected, post: &SeedPost) {
    expected.posts += 1;
    match post.label() {
        "negative" => expected.negative += 1,
        "neutral" => expected.neutral += 1,
        "positive" => expected.positive += 1,
        _ => {}
    }
    expected.authors.insert(post.author.clone());
    if let Some(compound) = post.compound {
        expected.compound_sum += compound;
        expected.scored += 1;
    }
}

fn expected_by(
    live: &[&SeedPost],
    width: i64,
    group: impl Fn(&SeedPost) -> Vec<String>,
) -> BTreeMap<(String, String), Expected> {
    let mut expected: BTreeMap<(String, String), Expected> = BTreeMap::new();
    for post in live {
        let groups: BTreeSet<String> = group(post).into_iter().collect();
        for name in groups {
            add(
                expected.entry((bucket_of(post, width), name)).or_default(),
                post,
            );
        }
    }
    expected
}

fn assert_buckets_match(
    answer: &Value,
    expected: &BTreeMap<(String, String), Expected>,
    what: &str,
) {
    let buckets = answer["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), expected.len(), "{what}: bucket count");
    for bucket in buckets {
        let key = (
            bucket["bucket"].as_str().unwrap().to_string(),
            bucket["group"].as_str().unwrap().to_string(),
        );
        let want = expected
            .get(&key)
            .unwrap_or_else(|| panic!("{what}: unexpected bucket {key:?}"));
        assert_eq!(bucket["posts"].as_u64(), Some(want.posts), "{what} {key:?}");
        assert_eq!(
            bucket["negative"].as_u64(),
            Some(want.negative),
            "{what} {key:?}"
        );
        assert_eq!(
            bucket["neutral"].as_u64(),
            Some(want.neutral),
            "{what} {key:?}"
        );
        assert_eq!(
            bucket["positive"].as_u64(),
            Some(want.positive),
            "{what} {key:?}"
        );
        assert_eq!(
            bucket["distinct_authors"].as_u64(),
            Some(want.authors.len() as u64),
            "{what} {key:?}"
        );
        let share = bucket["negative_share"].as_f64().unwrap();
        assert!(
            (share - want.negative as f64 / want.posts as f64).abs() <= 0.00005 + 1e-9,
            "{what} {key:?}"
        );
        match bucket["mean_compound"].as_f64() {
            Some(mean) => assert!(
                (mean - want.compound_sum / want.scored as f64).abs() <= 0.00005 + 1e-9,
                "{what} {key:?}"
            ),
            None => assert_eq!(want.scored, 0, "{what} {key:?}"),
        }
    }
}

const RANGE: &str = "from=2015-02-23T00:00:00Z&to=2015-02-25T00:00:00Z";

#[tokio::test]
async fn trends_and_share_of_voice_are_exact_under_redelivery_and_deletes() {
    let Some(api) = TestApi::start("trends").await else {
        return;
    };
    let posts = seed_posts(1_500, 7);
    api.store.insert_posts(&scored_all(&posts)).await.unwrap();
    let deleted: Vec<&SeedPost> = posts.iter().step_by(17).collect();
    let deletes: Vec<_> = deleted.iter().map(|post| post.delete_event()).collect();
    api.store.insert_posts(&deletes).await.unwrap();
    let deleted_ids: BTreeSet<&str> = deleted.iter().map(|post| post.source_id.as_str()).collect();
    let live: Vec<&SeedPost> = posts
        .iter()
        .filter(|post| !deleted_ids.contains(post.source_id.as_str()))
        .collect();

    let by_watch = format!("/api/v1/trends?{RANGE}&interval=1h&group_by=watch");
    let by_source = format!("/api/v1/trends?{RANGE}&interval=15m&group_by=source");
    let labels_of_acme = format!("/api/v1/trends?{RANGE}&interval=1d&group_by=label&watch=acme");
    let languages_de_fr = format!(
        "/api/v1/trends?{RANGE}&interval=5m&group_by=language&language=de,fr&source=bluesky"
    );
    let first: Vec<Value> = {
        let mut answers = Vec::new();
        for uri in [&by_watch, &by_source, &labels_of_acme, &languages_de_fr] {
            let answer = api.get(uri, Some(VIEWER)).await;
            assert_eq!(answer.status, 200, "{uri}: {}", answer.text());
            answers.push(answer.json());
        }
        answers
    };
    assert_buckets_match(
        &first[0],
        &expected_by(&live, 3_600, |post| {
            post.watches.iter().map(|w| w.to_string()).collect()
        }),
        "by watch",
    );
    assert_buckets_match(
        &first[1],
        &expected_by(&live, 900, |post| vec![post.source.to_string()]),
        "by source",
    );
    let acme: Vec<&SeedPost> = live
        .iter()
        .copied()
        .filter(|post| post.watches.contains(&"acme"))
        .collect();
    assert_buckets_match(
        &first[2],
        &expected_by(&acme, 86_400, |post| vec![post.label().to_string()]),
        "labels of acme",
    );
    let de_fr: Vec<&SeedPost> = live
        .iter()
        .copied()
        .filter(|post| post.source == "bluesky" && post.language != "en")
        .collect();
    assert_buckets_match(
        &first[3],
        &expected_by(&de_fr, 300, |post| vec![post.language.to_string()]),
        "languages",
    );
    assert_eq!(first[0]["interval"], "1h");
    assert_eq!(first[0]["group_by"], "watch");

    // Redeliver everything twice more (deletes included): nothing a user sees changes.
    for _ in 0..2 {
        api.store.insert_posts(&scored_all(&posts)).await.unwrap();
        api.store.insert_posts(&deletes).await.unwrap();
    }
    for (uri, before) in [&by_watch, &by_source, &labels_of_acme, &languages_de_fr]
        .into_iter()
        .zip(&first)
    {
        let again = api.get(uri, Some(VIEWER)).await.json();
        assert_eq!(&again, before, "{uri} changed after redelivery");
    }

    let share = api
        .get(&format!("/api/v1/share-of-voice?{RANGE}"), Some(VIEWER))
        .await
        .json();
    let mut per_watch: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for post in &live {
        for watch in post.watches.iter().collect::<BTreeSet<_>>() {
            let entry = per_watch.entry(watch).or_default();
            entry.0 += 1;
            entry.1 += u64::from(post.label() == "negative");
        }
    }
    let total: u64 = per_watch.values().map(|(posts, _)| posts).sum();
    let watches = share["watches"].as_array().unwrap();
    assert_eq!(watches.len(), per_watch.len());
    for entry in watches {
        let (posts, negative) = per_watch[entry["watch"].as_str().unwrap()];
        assert_eq!(entry["posts"].as_u64(), Some(posts));
        assert!((entry["share"].as_f64().unwrap() - posts as f64 / total as f64).abs() < 0.0001);
        assert!(
            (entry["negative_share"].as_f64().unwrap() - negative as f64 / posts as f64).abs()
                < 0.0001
        );
    }

    let csv = api
        .get(&format!("{by_watch}&format=csv"), Some(VIEWER))
        .await;
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let csv_text = csv.text();
    let lines: Vec<&str> = csv_text.lines().collect();
    assert!(lines[0].starts_with("bucket,group,posts,negative"));
    assert_eq!(
        lines.len() - 1,
        first[0]["buckets"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn post_pages_cover_each_live_post_once_newest_first() {
    let Some(api) = TestApi::start("posts").await else {
        return;
    };
    let posts = seed_posts(700, 11);
    api.store.insert_posts(&scored_all(&posts)).await.unwrap();
    api.store
        .insert_posts(&scored_all(&posts[..300]))
        .await
        .unwrap();
    let deletes: Vec<_> = posts
        .iter()
        .step_by(9)
        .map(SeedPost::delete_event)
        .collect();
    api.store.insert_posts(&deletes).await.unwrap();
    let expected: BTreeSet<String> = posts
        .iter()
        .enumerate()
        .filter(|(index, post)| {
            index % 9 != 0 && post.watches.contains(&"globex") && post.label() == "negative"
        })
        .map(|(_, post)| post.source_id.clone())
        .collect();
    let mut seen = Vec::new();
    let mut previous_time = String::from("9999");
    let mut cursor: Option<String> = None;
    loop {
        let mut uri = format!("/api/v1/posts?{RANGE}&watch=globex&label=negative&limit=37");
        if let Some(cursor) = &cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        let page = api.get(&uri, Some(VIEWER)).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let page = page.json();
        for post in page["posts"].as_array().unwrap() {
            let created_at = post["created_at"].as_str().unwrap().to_string();
            assert!(created_at <= previous_time, "newest first");
            previous_time = created_at;
            seen.push(post["source_id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a post appeared twice");
    assert_eq!(unique, expected);

    let text_search = api
        .get(
            &format!("/api/v1/posts?{RANGE}&q=NUMBER%2012%20ABOUT&limit=1000"),
            Some(VIEWER),
        )
        .await
        .json();
    let found: BTreeSet<&str> = text_search["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["source_id"].as_str().unwrap())
        .collect();
    let wanted: BTreeSet<&str> = posts
        .iter()
        .enumerate()
        .filter(|(index, post)| index % 9 != 0 && post.text.contains("number 12 about"))
        .map(|(_, post)| post.source_id.as_str())
        .collect();
    assert_eq!(found, wanted);
    let csv = api
        .get(
            &format!("/api/v1/posts?{RANGE}&watch=globex&label=negative&limit=1000&format=csv"),
            Some(VIEWER),
        )
        .await;
    assert_eq!(csv.text().lines().count(), expected.len() + 1);
}

#[test]
fn the_seed_is_spread_over_the_range() {
    let posts = seed_posts(500, 7);
    assert!(posts.iter().all(|post| post.created_at >= seed_start()));
    assert!(posts.iter().any(|post| post.compound.is_none()));
    assert!(posts.iter().any(|post| post.watches.len() > 1));
}
