//! The Reddit collector against a local Reddit look-alike (token endpoint and listings on one
//! server): OAuth client credentials and the User-Agent, `after` paging until a delivered item,
//! a removed item arriving as a delete, `X-Ratelimit-*` obeyed, a 401 renewing the token, a
//! malformed listing, and missing credentials named before the start.

mod common;
mod server;

use serde_json::{json, Value};
use server::{serve, Reply, Script};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidewatch_collect::config::{RedditSource, SourceConfig};
use tidewatch_collect::poll::PollError;
use tidewatch_collect::reddit_poll::RedditPoller;
use tidewatch_model::PostKind;

const AGENT: &str = "linux:com.example.tidewatch:v0.1.0 (by /u/acme_social)";

fn submission(n: u64, text: &str) -> Value {
    json!({"kind": "t3", "data": {"subreddit": "acme", "selftext": text, "title": format!("post {n}"),
           "name": format!("t3_p{n}"), "id": format!("p{n}"), "author": "ana", "author_fullname": "t2_aa",
           "score": 1, "num_comments": 0, "permalink": format!("/r/acme/comments/p{n}/x/"),
           "created_utc": 1_763_632_800.0 + n as f64 * 60.0}})
}

type Items = Arc<Mutex<Vec<Value>>>;

/// `/r/acme/new`: newest first, `limit`, `after`; the token endpoint hands out `tok-<n>`.
fn reply(items: &Items, tokens: &AtomicUsize, request: &server::Request) -> Reply {
    if request.path == "/api/v1/access_token" {
        let n = tokens.fetch_add(1, Ordering::SeqCst) + 1;
        let body = json!({"access_token": format!("tok-{n}"), "token_type": "bearer", "expires_in": 86400});
        return body.to_string().into_bytes().into();
    }
    assert_eq!(request.path, "/r/acme/new");
    let param = |name: &str| {
        request
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let limit: usize = param("limit").unwrap().parse().unwrap();
    let mut newest_first = items.lock().unwrap().clone();
    newest_first.reverse();
    let start = match param("after") {
        Some(after) => {
            newest_first
                .iter()
                .position(|item| item["data"]["name"] == after.as_str())
                .unwrap()
                + 1
        }
        None => 0,
    };
    let page: Vec<Value> = newest_first
        .iter()
        .skip(start)
        .take(limit)
        .cloned()
        .collect();
    let after =
        (start + limit < newest_first.len()).then(|| page.last().unwrap()["data"]["name"].clone());
    let body =
        json!({"kind": "Listing", "data": {"after": after, "before": null, "children": page}});
    body.to_string().into_bytes().into()
}

async fn reddit(items: Vec<Value>) -> (RedditSource, Items, Script) {
    let items: Items = Arc::new(Mutex::new(items));
    let tokens = Arc::new(AtomicUsize::new(0));
    let served = items.clone();
    let (addr, script) = serve(move |request| reply(&served, &tokens, request)).await;
    let base = format!("http://{addr}");
    let config = json!({"kind": "reddit", "name": "r-acme", "subreddit": "acme", "limit": 2,
                        "base_url": base, "auth_url": base, "user_agent": AGENT});
    let SourceConfig::Reddit(source) = serde_json::from_value(config).unwrap() else {
        panic!()
    };
    (source, items, script)
}

fn ids(posts: &[tidewatch_model::Post]) -> Vec<(String, PostKind)> {
    posts
        .iter()
        .map(|post| (post.source_id.clone(), post.kind))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn oauth_paging_deletes_rate_limits_and_token_renewal() {
    let (source, items, script) = reddit((1..=3).map(|n| submission(n, "hello")).collect()).await;
    let mut poller =
        RedditPoller::new(source.clone(), "id-1".into(), "secret-1".into(), None).unwrap();
    let first = poller.poll(common::observed_at()).await.unwrap();
    let p = |n: u64, kind| (format!("t3_p{n}"), kind);
    assert_eq!(
        ids(&first.posts),
        [p(2, PostKind::Post), p(3, PostKind::Post)],
        "first run: page 1"
    );
    common::assert_all_valid(&first.posts);
    let requests = script.requests();
    assert_eq!(requests[0].path, "/api/v1/access_token");
    // HTTP basic auth of "id-1:secret-1".
    assert_eq!(
        requests[0].header("authorization"),
        Some("Basic aWQtMTpzZWNyZXQtMQ==")
    );
    assert_eq!(requests[1].header("authorization"), Some("Bearer tok-1"));
    assert!(requests
        .iter()
        .all(|r| r.header("user-agent") == Some(AGENT)));
    assert!(requests[1].query.contains(&("raw_json".into(), "1".into())));
    poller.commit(first.checkpoint);

    {
        let mut all = items.lock().unwrap();
        all[2] = submission(3, "[removed]");
        all.extend((4..=7).map(|n| submission(n, "new")));
    }
    // The first listing answer says the budget is spent for 30 s.
    let exhausted = serde_json::to_vec(&json!({"kind": "Listing", "data": {"after": "t3_p6", "children": [submission(7, "new"), submission(6, "new")]}})).unwrap();
    script.push(
        200,
        &[
            ("x-ratelimit-remaining", "0.0"),
            ("x-ratelimit-reset", "30"),
        ],
        &exhausted,
    );
    let second = poller.poll(common::observed_at()).await.unwrap();
    assert_eq!(
        ids(&second.posts),
        [
            p(3, PostKind::Delete),
            p(4, PostKind::Post),
            p(5, PostKind::Post),
            p(6, PostKind::Post),
            p(7, PostKind::Post)
        ],
        "pages until a delivered item; the removed one comes as a delete"
    );
    let requests = script.requests();
    let pages: Vec<&server::Request> = requests[2..].iter().collect();
    assert_eq!(pages.len(), 3);
    assert!(
        pages[1].at - pages[0].at >= Duration::from_secs(30),
        "X-Ratelimit-Reset obeyed"
    );
    assert!(pages[1].query.contains(&("after".into(), "t3_p6".into())));
    poller.commit(second.checkpoint);

    // A 401 renews the token and retries once.
    script.push(401, &[], b"{\"error\": 401}");
    items.lock().unwrap().push(submission(8, "after renewal"));
    let third = poller.poll(common::observed_at()).await.unwrap();
    assert_eq!(ids(&third.posts), [p(8, PostKind::Post)]);
    let last = script.requests();
    let tail: Vec<(&str, Option<&str>)> = last[5..]
        .iter()
        .map(|r| (r.path.as_str(), r.header("authorization")))
        .collect();
    assert_eq!(tail[1].0, "/api/v1/access_token");
    assert_eq!(tail[2], ("/r/acme/new", Some("Bearer tok-2")));
}

#[tokio::test(start_paused = true)]
async fn a_malformed_listing_is_a_dead_letter_and_the_checkpoint_stays() {
    let (source, _items, script) = reddit(vec![submission(1, "x")]).await;
    script.push(
        200,
        &[],
        b"{\"access_token\": \"tok\", \"expires_in\": 3600}",
    );
    script.push(
        200,
        &[],
        b"{\"kind\": \"Listing\", \"data\": {\"children\": 7}}",
    );
    let mut poller = RedditPoller::new(source, "id".into(), "secret".into(), None).unwrap();
    let error = poller.poll(common::observed_at()).await.unwrap_err();
    let PollError::Payload { dead_letter, .. } = error else {
        panic!("{error}")
    };
    assert_eq!(dead_letter.reason_kind, "wrong_type");
    assert!(poller.checkpoint().seen.is_empty());
    let next = poller.poll(common::observed_at()).await.unwrap();
    assert_eq!(next.posts.len(), 1, "the next cycle works");
}

#[tokio::test]
async fn missing_credentials_name_the_variables() {
    let config = json!({"kind": "reddit", "name": "r", "subreddit": "acme", "user_agent": AGENT,
                        "client_id_env": "TIDEWATCH_TEST_NO_REDDIT_ID"});
    let sources = vec![serde_json::from_value::<SourceConfig>(config).unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let error = common::refused_run(sources, dir.path()).await;
    let message = error.to_string();
    assert!(
        message.contains("TIDEWATCH_TEST_NO_REDDIT_ID") && message.contains("client_id_env"),
        "{message}"
    );
}

/// A restart from the saved checkpoint (a new poller, as after a crash) delivers only what came
/// after it: no item twice, none skipped.
#[tokio::test(start_paused = true)]
async fn a_restart_from_the_checkpoint_neither_repeats_nor_skips() {
    let (source, items, _script) = reddit((1..=3).map(|n| submission(n, "hello")).collect()).await;
    let mut before_crash =
        RedditPoller::new(source.clone(), "id-1".into(), "secret-1".into(), None).unwrap();
    let first = before_crash.poll(common::observed_at()).await.unwrap();
    before_crash.commit(first.checkpoint.clone());
    let saved = before_crash.checkpoint().clone();
    drop(before_crash);

    items
        .lock()
        .unwrap()
        .extend((4..=6).map(|n| submission(n, "while down")));
    let mut after_restart =
        RedditPoller::new(source, "id-1".into(), "secret-1".into(), Some(saved)).unwrap();
    let second = after_restart.poll(common::observed_at()).await.unwrap();
    let first_ids: Vec<String> = first
        .posts
        .iter()
        .map(|post| post.source_id.clone())
        .collect();
    let second_ids: Vec<String> = second
        .posts
        .iter()
        .map(|post| post.source_id.clone())
        .collect();
    assert_eq!(
        second_ids,
        ["t3_p4", "t3_p5", "t3_p6"],
        "exactly the items since the checkpoint"
    );
    assert!(
        second_ids.iter().all(|id| !first_ids.contains(id)),
        "no repeat: {first_ids:?} then {second_ids:?}"
    );
}

/// Two sources on one client id (posts and comments need one each) spend one budget: when the
/// first is told `X-Ratelimit-Remaining: 0`, the second waits for the reset too instead of
/// collecting 429s; a 429 carrying only `X-Ratelimit-Reset` is obeyed; health says
/// `rate_limited` with the time the pause ends.
#[tokio::test(start_paused = true)]
async fn sources_on_one_client_id_share_the_budget_and_its_pauses() {
    use tidewatch_collect::health::Health;
    use tidewatch_collect::{HealthReporter, RateBudget};
    use tokio::time::Instant;

    let (source, _items, script) = reddit((1..=3).map(|n| submission(n, "hello")).collect()).await;
    let comments = RedditSource {
        name: "r-acme-comments".to_string(),
        ..source.clone()
    };
    let budget = RateBudget::new(source.requests_per_minute);
    let health = HealthReporter::new();
    for name in [&source.name, &comments.name] {
        health.register(name, "reddit", Duration::from_secs(3600), Instant::now());
        health.attach_budget(name, budget.clone());
    }
    let mut posts = RedditPoller::with_budget(
        source.clone(),
        "id-1".into(),
        "s".into(),
        None,
        budget.clone(),
    )
    .unwrap();
    let mut replies =
        RedditPoller::with_budget(comments, "id-1".into(), "s".into(), None, budget).unwrap();

    // The posts source's listing says the budget is spent for 60 s.
    script.push(
        200,
        &[],
        b"{\"access_token\": \"tok\", \"expires_in\": 3600}",
    );
    let page =
        json!({"kind": "Listing", "data": {"after": null, "children": [submission(3, "hello")]}});
    script.push(
        200,
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "60")],
        page.to_string().as_bytes(),
    );
    let started = Instant::now();
    let wall = chrono::Utc::now();
    posts.poll(common::observed_at()).await.unwrap();
    let paused = health
        .status("r-acme-comments", Instant::now(), wall)
        .unwrap();
    assert_eq!(paused.health, Health::RateLimited, "the other source too");
    let resumes = paused.resumes_at.expect("the time it resumes");
    let wait = (resumes - wall).num_seconds();
    assert!((55..=60).contains(&wait), "resumes in {wait} s");

    // The comments source makes no request before the reset.
    let before = script.requests().len();
    replies.poll(common::observed_at()).await.unwrap();
    let requests = script.requests();
    assert!(requests.len() > before);
    assert!(
        requests[before].at - started >= Duration::from_secs(60),
        "the second source waited for the shared reset"
    );
    let after = health
        .status("r-acme-comments", Instant::now(), wall)
        .unwrap();
    assert_eq!(after.health, Health::Ok);

    // A 429 with only X-Ratelimit-Reset (no Retry-After): the retry waits for the reset.
    script.push(429, &[("x-ratelimit-reset", "45")], b"{\"error\": 429}");
    let before = script.requests().len();
    posts.poll(common::observed_at()).await.unwrap();
    let requests = script.requests();
    assert_eq!(requests[before].path, "/r/acme/new");
    assert!(
        requests[before + 1].at - requests[before].at >= Duration::from_secs(45),
        "the 429's reset obeyed"
    );
}
