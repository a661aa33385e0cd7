//! The fetcher on its own against local servers: the request budget, a timeout, a 404 that is
//! not retried, an oversized body, and a non-HTTP scheme.

mod server;

use server::serve;
use std::time::Duration;
use tidewatch_collect::fetch::{FetchConfig, FetchError, Fetched, Fetcher, Validators};
use tokio::time::Instant;

fn fetcher(edit: impl FnOnce(&mut FetchConfig)) -> Fetcher {
    let mut config = FetchConfig::new(vec!["127.0.0.1".to_string()]);
    edit(&mut config);
    Fetcher::new(config).unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_budget_spaces_requests_out() {
    let (addr, script) = serve(|_: &server::Request| b"ok".to_vec()).await;
    let fetcher = fetcher(|config| config.requests_per_minute = 2);
    let url = format!("http://{addr}/");
    for _ in 0..4 {
        let fetched = fetcher.get(&url, &Validators::default()).await.unwrap();
        assert!(matches!(fetched, Fetched::Body { ref bytes, .. } if bytes == b"ok"));
    }
    let requests = script.requests();
    assert!(
        requests[1].at - requests[0].at < Duration::from_secs(1),
        "a burst of 2"
    );
    assert!(requests[2].at - requests[0].at >= Duration::from_secs(30));
    assert!(requests[3].at - requests[0].at >= Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn a_slow_server_times_out_after_the_retries() {
    let app = axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(600)).await;
        "late"
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let fetcher = fetcher(|config| {
        config.timeout = Duration::from_secs(2);
        config.max_retries = 1;
    });
    let started = Instant::now();
    let error = fetcher
        .get(&format!("http://{addr}/"), &Validators::default())
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Network { .. }), "{error}");
    assert!(error.to_string().contains("timed out"), "{error}");
    assert!(started.elapsed() >= Duration::from_secs(4), "two attempts");
    assert!(started.elapsed() < Duration::from_secs(600));
}

#[tokio::test(start_paused = true)]
async fn a_404_is_not_retried_and_a_huge_body_is_refused() {
    let (addr, script) = serve(|_: &server::Request| vec![b'x'; 4096]).await;
    script.push(404, &[], b"gone");
    let fetcher = fetcher(|config| config.max_body_bytes = 1024);
    let url = format!("http://{addr}/");
    let error = fetcher.get(&url, &Validators::default()).await.unwrap_err();
    assert_eq!(
        error,
        FetchError::Status {
            url: url.clone(),
            status: 404
        }
    );
    assert_eq!(script.requests().len(), 1);
    let error = fetcher.get(&url, &Validators::default()).await.unwrap_err();
    assert!(
        matches!(error, FetchError::TooLarge { limit: 1024, .. }),
        "{error}"
    );
    assert_eq!(script.requests().len(), 2, "not retried");
}

#[tokio::test]
async fn only_http_urls_on_allowed_hosts() {
    let fetcher = fetcher(|_| {});
    let error = fetcher.check("file:///etc/passwd").unwrap_err();
    assert!(matches!(error, FetchError::InvalidUrl { .. }), "{error}");
    let error = fetcher.check("https://evil.example/x").unwrap_err();
    assert!(
        matches!(error, FetchError::HostNotAllowed { .. }),
        "{error}"
    );
    assert!(fetcher.check("http://127.0.0.1:9/feed").is_ok());
}
