//! The RSS and App Store pollers against local servers serving the project's fixtures:
//! conditional GET and 304, GUID dedup across a restart, App Store paging and resume, the host
//! allow-list (direct and through a redirect), and a truncated XML body.

mod common;
mod server;

use common::{assert_all_valid, fixture, observed_at};
use serde_json::{json, Value};
use server::{serve, Reply};
use std::sync::{Arc, Mutex};
use tidewatch_collect::cursor::CheckpointStore;
use tidewatch_collect::fetch::FetchError;
use tidewatch_collect::poll::{PollError, Poller};
use tidewatch_collect::source::PollSource;
use tidewatch_model::{Post, PostKind};

fn ids(posts: &[Post]) -> Vec<&str> {
    posts.iter().map(|post| post.source_id.as_str()).collect()
}

fn rss_source(feed_url: String, extra: Value) -> PollSource {
    let mut config = json!({"kind": "rss", "name": "acme-reviews", "feed_url": feed_url});
    if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        config.extend(extra.clone());
    }
    serde_json::from_value(config).unwrap()
}

/// A feed served with an ETag; `If-None-Match` with the current one gets a 304.
#[derive(Clone)]
struct Feed {
    body: Vec<u8>,
    etag: String,
}

#[tokio::test(start_paused = true)]
async fn rss_conditional_get_304_and_guid_dedup_across_restart() {
    let feed = Arc::new(Mutex::new(Feed {
        body: fixture("rss2_reviews.xml"),
        etag: "\"v1\"".to_string(),
    }));
    let served = feed.clone();
    let (addr, script) = serve(move |request| {
        let feed = served.lock().unwrap().clone();
        if request.header("if-none-match") == Some(feed.etag.as_str()) {
            return Reply {
                status: 304,
                headers: vec![("etag".to_string(), feed.etag)],
                body: Vec::new(),
            };
        }
        Reply {
            status: 200,
            headers: vec![
                ("etag".to_string(), feed.etag),
                (
                    "last-modified".to_string(),
                    "Mon, 23 Nov 2026 11:00:00 GMT".to_string(),
                ),
            ],
            body: feed.body,
        }
    })
    .await;
    let source = rss_source(format!("http://{addr}/feed.xml"), json!({}));
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path()).unwrap();

    let mut poller = Poller::new(source.clone(), store.load("acme-reviews").unwrap()).unwrap();
    let first = poller.poll(observed_at()).await.unwrap();
    assert_all_valid(&first.posts);
    let mut first_ids = ids(&first.posts);
    first_ids.sort();
    // The feed part of the id is the canonical feed URL, not the source's name.
    let feed_key = format!("127.0.0.1:{}/feed.xml", addr.port());
    let id = |guid: &str| format!("{feed_key}/{guid}");
    assert_eq!(
        first_ids,
        [
            id("https://reviews.example/acme/4"),
            id("https://reviews.example/news/2"),
            id("review-1"),
        ]
    );
    assert_eq!(first.dead_letters.len(), 1, "the item without guid or link");
    assert_eq!(first.checkpoint.validators.etag.as_deref(), Some("\"v1\""));
    store.save("acme-reviews", &first.checkpoint).unwrap();
    poller.commit(first.checkpoint);

    // Unchanged: a 304, no posts, the checkpoint as it was.
    let second = poller.poll(observed_at()).await.unwrap();
    assert!(second.not_modified);
    assert!(second.posts.is_empty());
    assert_eq!(&second.checkpoint, poller.checkpoint());
    let request = script.requests().pop().unwrap();
    assert_eq!(request.header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        request.header("if-modified-since"),
        Some("Mon, 23 Nov 2026 11:00:00 GMT")
    );
    drop(poller);

    // The feed gains an item; a restarted collector delivers only that one.
    {
        let mut feed = feed.lock().unwrap();
        let text = String::from_utf8(feed.body.clone()).unwrap();
        let item = "<item><title>Fresh</title><guid>review-9</guid>\
                    <pubDate>Mon, 23 Nov 2026 09:00:00 GMT</pubDate><description>New one.</description></item>";
        feed.body = text
            .replacen("<item>", &format!("{item}<item>"), 1)
            .into_bytes();
        feed.etag = "\"v2\"".to_string();
    }
    let mut poller = Poller::new(source, store.load("acme-reviews").unwrap()).unwrap();
    let third = poller.poll(observed_at()).await.unwrap();
    assert!(!third.not_modified);
    assert_eq!(ids(&third.posts), [id("review-9")]);
    assert_eq!(third.checkpoint.validators.etag.as_deref(), Some("\"v2\""));
}

#[tokio::test(start_paused = true)]
async fn a_truncated_feed_is_a_dead_letter_and_the_next_cycle_works() {
    let (addr, script) = serve(|_: &server::Request| fixture("atom_feed.xml")).await;
    script.push(200, &[], b"<rss><channel><item><title>cut");
    let mut poller =
        Poller::new(rss_source(format!("http://{addr}/atom"), json!({})), None).unwrap();
    let error = poller.poll(observed_at()).await.unwrap_err();
    let PollError::Payload { dead_letter, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(dead_letter.reason_kind, "truncated");
    let outcome = poller.poll(observed_at()).await.unwrap();
    assert_eq!(outcome.posts.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_host_outside_the_allow_list_is_never_fetched() {
    let (addr, script) = serve(|_: &server::Request| fixture("rss2_reviews.xml")).await;
    let source = rss_source(
        format!("http://{addr}/feed.xml"),
        json!({"allowed_hosts": ["feeds.example"]}),
    );
    let mut poller = Poller::new(source, None).unwrap();
    let error = poller.poll(observed_at()).await.unwrap_err();
    match &error {
        PollError::Fetch(FetchError::HostNotAllowed { host, .. }) => assert_eq!(host, "127.0.0.1"),
        other => panic!("{other}"),
    }
    assert!(
        error.to_string().contains("not in the allow-list"),
        "{error}"
    );
    assert!(script.requests().is_empty(), "nothing was sent");
}

#[tokio::test(start_paused = true)]
async fn a_redirect_to_a_host_outside_the_allow_list_is_refused() {
    let (target, target_script) = serve(|_: &server::Request| fixture("rss2_reviews.xml")).await;
    let location = format!("http://localhost:{}/feed.xml", target.port());
    let (addr, script) = serve(move |_: &server::Request| Reply {
        status: 302,
        headers: vec![("location".to_string(), location.clone())],
        body: Vec::new(),
    })
    .await;
    let mut poller = Poller::new(
        rss_source(format!("http://{addr}/feed.xml"), json!({})),
        None,
    )
    .unwrap();
    let error = poller.poll(observed_at()).await.unwrap_err();
    assert!(error.to_string().contains("host not allowed"), "{error}");
    assert!(
        matches!(error, PollError::Fetch(FetchError::Redirect { .. })),
        "{error:?}"
    );
    assert_eq!(script.requests().len(), 1, "not retried");
    assert!(target_script.requests().is_empty());
}

fn appstore_page(name: &str, extra_first: Option<Value>) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&fixture(name)).unwrap();
    if let Some(entry) = extra_first {
        value["feed"]["entry"]
            .as_array_mut()
            .unwrap()
            .insert(0, entry);
    }
    value.to_string().into_bytes()
}

#[tokio::test(start_paused = true)]
async fn appstore_pages_then_resumes_with_only_new_reviews() {
    let newest: Arc<Mutex<Option<Value>>> = Arc::default();
    let served = newest.clone();
    let (addr, script) = serve(move |request| {
        if request.path.contains("/page=1/") {
            appstore_page("appstore_with_updated.json", served.lock().unwrap().clone())
        } else if request.path.contains("/page=2/") {
            appstore_page("appstore_without_updated.json", None)
        } else {
            panic!("unexpected page {}", request.path)
        }
    })
    .await;
    let config = json!({"kind": "appstore", "name": "acme-app", "app_id": "123",
                        "base_url": format!("http://{addr}")});
    let source: PollSource = serde_json::from_value(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = CheckpointStore::open(dir.path()).unwrap();

    let mut poller = Poller::new(source.clone(), None).unwrap();
    let first = poller.poll(observed_at()).await.unwrap();
    assert_all_valid(&first.posts);
    assert_eq!(first.requests, 2, "page 2 has no next link");
    let mut first_ids = ids(&first.posts);
    first_ids.sort();
    assert_eq!(first_ids, ["10001", "10002", "10004", "10005"]);
    assert_eq!(first.dead_letters.len(), 1, "review 10003 is broken");
    assert!(first.dead_letters[0].reason.starts_with("item 2: "));
    assert!(first.posts.iter().all(|post| post.kind == PostKind::Review));
    assert_eq!(
        script.requests()[0].path,
        "/us/rss/customerreviews/page=1/id=123/sortby=mostrecent/json"
    );
    store.save("acme-app", &first.checkpoint).unwrap();
    drop(poller);

    let mut entry: Value = serde_json::from_slice::<Value>(&fixture("appstore_with_updated.json"))
        .unwrap()["feed"]["entry"][0]
        .clone();
    entry["id"]["label"] = json!("10000");
    *newest.lock().unwrap() = Some(entry);
    let mut poller = Poller::new(source, store.load("acme-app").unwrap()).unwrap();
    let second = poller.poll(observed_at()).await.unwrap();
    assert_eq!(ids(&second.posts), ["10000"]);
    assert_eq!(
        second.requests, 1,
        "stopped at the first page with a seen review"
    );
}

/// A feed item with a guid and a date.
fn item(guid: u32, minute: u32) -> String {
    format!(
        "<item><title>Item {guid}</title><guid>item-{guid}</guid>\
         <pubDate>Mon, 23 Nov 2026 10:{minute:02}:00 GMT</pubDate><description>x</description></item>"
    )
}

fn feed_of(items: &[(u32, u32)]) -> Vec<u8> {
    let items: String = items
        .iter()
        .map(|(guid, minute)| item(*guid, *minute))
        .collect();
    format!("<rss version=\"2.0\"><channel><title>f</title>{items}</channel></rss>").into_bytes()
}

/// Ids come from the feed URL, not the source's name: a renamed source, a second source on the
/// same feed (even over `https` vs `http` or with `www.`) and a checkpoint written with the old
/// `<name>/<guid>` ids re-deliver nothing. A fetch that shares no item with the previous ones
/// is a gap, reported with a suggested interval.
#[tokio::test(start_paused = true)]
async fn rss_ids_follow_the_feed_and_gaps_are_reported() {
    let items = Arc::new(Mutex::new(vec![(3, 30), (2, 20), (1, 10)]));
    let served = items.clone();
    let (addr, _script) = serve(move |_: &server::Request| feed_of(&served.lock().unwrap())).await;
    let url = format!("http://{addr}/feed.xml");
    let mut poller = Poller::new(rss_source(url.clone(), json!({})), None).unwrap();
    let first = poller.poll(observed_at()).await.unwrap();
    assert_eq!(first.posts.len(), 3);
    assert_eq!(first.gap, None, "a first fetch has nothing to miss");

    // The same feed under another name, with the first source's checkpoint: nothing new.
    let renamed: PollSource = serde_json::from_value(
        json!({"kind": "rss", "name": "renamed", "feed_url": format!("http://{addr}/feed.xml/")}),
    )
    .unwrap();
    let mut poller = Poller::new(renamed, Some(first.checkpoint.clone())).unwrap();
    let again = poller.poll(observed_at()).await.unwrap();
    assert!(again.posts.is_empty(), "{:?}", ids(&again.posts));
    assert_eq!(again.gap, None);

    // A checkpoint of the old id form (`<source name>/<guid>`) is honoured too.
    let mut legacy = tidewatch_collect::cursor::Checkpoint::new();
    for guid in 1..=3 {
        legacy.seen.insert(&format!("acme-reviews/item-{guid}"));
    }
    let mut poller = Poller::new(rss_source(url.clone(), json!({})), Some(legacy)).unwrap();
    let upgraded = poller.poll(observed_at()).await.unwrap();
    assert!(upgraded.posts.is_empty(), "{:?}", ids(&upgraded.posts));
    assert_eq!(upgraded.gap, None);
    poller.commit(upgraded.checkpoint);

    // The feed moved on by more than its window between two polls: a gap. Its items span
    // 40 minutes, so an interval of 20 minutes would have overlapped.
    *items.lock().unwrap() = vec![(9, 50), (8, 30), (7, 10)];
    let gapped = poller.poll(observed_at()).await.unwrap();
    assert_eq!(gapped.posts.len(), 3);
    let gap = gapped.gap.expect("a gap");
    assert_eq!(gap.items, 3);
    assert_eq!(gap.suggested_interval_secs, 20 * 60);
    poller.commit(gapped.checkpoint);

    // An overlapping fetch is no gap.
    *items.lock().unwrap() = vec![(10, 55), (9, 50)];
    let overlapping = poller.poll(observed_at()).await.unwrap();
    assert_eq!(ids(&overlapping.posts).len(), 1);
    assert_eq!(overlapping.gap, None);
}
