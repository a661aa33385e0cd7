//! `POST /ingest`: HMAC signatures good / bad / stale / missing, a bearer token, a batch with
//! some bad items (the good ones are published, the bad ones named and dead-lettered), an
//! oversize body, a body that is not JSON, and a sink that is down (503, nothing claimed).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tidewatch_collect::sink::MemorySink;
use tidewatch_collect::webhook::{
    authenticate, ingest_router_with, sign, AuthError, IngestSettings, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use tower::ServiceExt;

const SECRET: &[u8] = b"s3cret";

fn settings() -> IngestSettings {
    IngestSettings {
        name: "partner".to_string(),
        hmac_secret: Some(SECRET.to_vec()),
        bearer_token: Some("tok-123".to_string()),
        max_body_bytes: 4096,
        max_skew: Duration::from_secs(300),
        max_batch: 10,
        health: None,
    }
}

fn post(id: &str) -> Value {
    json!({"v": 1, "source": "partner", "source_id": id, "kind": "post",
           "created_at": "2026-11-20T10:00:00Z", "text": format!("hello {id}")})
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Sends `body` signed at `timestamp` (unsigned when `None`), with extra headers.
async fn send(
    sink: &MemorySink,
    body: Vec<u8>,
    timestamp: Option<i64>,
    extra: &[(&str, String)],
) -> (StatusCode, Value) {
    let router = ingest_router_with(settings(), Arc::new(sink.clone()));
    let mut request = Request::post("/ingest").header("content-type", "application/json");
    if let Some(timestamp) = timestamp {
        let timestamp = timestamp.to_string();
        request = request
            .header(SIGNATURE_HEADER, sign(SECRET, &timestamp, &body))
            .header(TIMESTAMP_HEADER, timestamp);
    }
    for (name, value) in extra {
        request = request.header(*name, value.as_str());
    }
    let response = router
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_good_signature_is_accepted_after_the_posts_are_published() {
    let sink = MemorySink::new();
    let body = post("a").to_string().into_bytes();
    let (status, answer) = send(&sink, body, Some(now()), &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["accepted"], 1);
    let posts = sink.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].key(), "partner:a");
}

#[tokio::test]
async fn bad_stale_and_missing_signatures_are_401() {
    let sink = MemorySink::new();
    let body = post("a").to_string().into_bytes();
    let (status, answer) = send(&sink, body.clone(), None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"].as_str().unwrap().contains("missing"),
        "{answer}"
    );
    let stale = now() - 301;
    let (status, answer) = send(&sink, body.clone(), Some(stale), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"].as_str().unwrap().contains("stale"),
        "{answer}"
    );
    let forged = vec![
        (TIMESTAMP_HEADER, now().to_string()),
        (
            SIGNATURE_HEADER,
            sign(b"wrong secret", &now().to_string(), &body),
        ),
    ];
    let (status, answer) = send(&sink, body.clone(), None, &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"].as_str().unwrap().contains("does not match"),
        "{answer}"
    );
    // A signature over another body does not carry over.
    let timestamp = now().to_string();
    let other = vec![
        (TIMESTAMP_HEADER, timestamp.clone()),
        (SIGNATURE_HEADER, sign(SECRET, &timestamp, b"{}")),
    ];
    let (status, _) = send(&sink, body, None, &other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(sink.posts().is_empty(), "nothing published without auth");
}

#[tokio::test]
async fn a_bearer_token_works_and_a_wrong_one_does_not() {
    let sink = MemorySink::new();
    let body = post("b").to_string().into_bytes();
    let good = [("authorization", "Bearer tok-123".to_string())];
    let (status, _) = send(&sink, body.clone(), None, &good).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let bad = [("authorization", "Bearer tok-124".to_string())];
    let (status, answer) = send(&sink, body, None, &bad).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"].as_str().unwrap().contains("bearer"),
        "{answer}"
    );
    assert_eq!(sink.posts().len(), 1);
}

#[tokio::test]
async fn a_batch_with_bad_items_names_each_and_publishes_the_good_ones() {
    let sink = MemorySink::new();
    let mut no_id = post("x");
    no_id.as_object_mut().unwrap().remove("source_id");
    let mut bad_time = post("y");
    bad_time["created_at"] = json!("yesterday");
    let batch = json!([post("1"), no_id, post("2"), bad_time, 42]);
    let body = batch.to_string().into_bytes();
    let (status, answer) = send(&sink, body, Some(now()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["accepted"], 2);
    let rejected = answer["rejected"].as_array().unwrap();
    let indices: Vec<u64> = rejected
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [1, 3, 4]);
    assert_eq!(rejected[0]["reason_kind"], "missing_field");
    assert!(rejected[0]["reason"]
        .as_str()
        .unwrap()
        .contains("source_id"));
    assert_eq!(rejected[1]["reason_kind"], "bad_timestamp");
    let ids: Vec<String> = sink.posts().into_iter().map(|p| p.source_id).collect();
    assert_eq!(ids, ["1", "2"]);
    let letters = sink.dead_letters();
    assert_eq!(letters.len(), 3);
    assert!(letters
        .iter()
        .all(|l| l.stage == "collect" && l.origin.contains("partner")));
    assert!(
        letters[0].reason.starts_with("item 1:"),
        "{}",
        letters[0].reason
    );
}

#[tokio::test]
async fn oversize_bodies_and_batches_are_413_and_non_json_is_400() {
    let sink = MemorySink::new();
    let mut big = post("big");
    big["text"] = json!("x".repeat(5000));
    let (status, _) = send(&sink, big.to_string().into_bytes(), Some(now()), &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let many: Vec<Value> = (0..11).map(|i| post(&i.to_string())).collect();
    let body = Value::Array(many).to_string().into_bytes();
    let (status, answer) = send(&sink, body, Some(now()), &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    let (status, answer) = send(&sink, b"{not json".to_vec(), Some(now()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"].as_str().unwrap().contains("not JSON"),
        "{answer}"
    );
    let (status, _) = send(&sink, b"\"text\"".to_vec(), Some(now()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(sink.posts().is_empty());
}

#[tokio::test]
async fn a_sink_that_is_down_gives_503_and_claims_nothing() {
    let sink = MemorySink::new();
    sink.fail_next(1);
    let body = post("c").to_string().into_bytes();
    let (status, _) = send(&sink, body.clone(), Some(now()), &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(sink.posts().is_empty());
    let (status, _) = send(&sink, body, Some(now()), &[]).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the sender's retry goes through"
    );
}

#[test]
fn authenticate_is_pure_and_checks_the_skew_both_ways() {
    let settings = IngestSettings {
        bearer_token: None,
        ..settings()
    };
    let body = b"{}";
    let headers = |timestamp: i64, signature: String| {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, timestamp.to_string().parse().unwrap());
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers
    };
    let at = 1_800_000_000;
    let signed = |timestamp: i64| headers(timestamp, sign(SECRET, &timestamp.to_string(), body));
    assert_eq!(authenticate(&settings, &signed(at), body, at + 300), Ok(()));
    assert_eq!(
        authenticate(&settings, &signed(at), body, at + 301),
        Err(AuthError::Stale)
    );
    assert_eq!(
        authenticate(&settings, &signed(at + 400), body, at),
        Err(AuthError::Stale)
    );
    let mut bearer_only = axum::http::HeaderMap::new();
    bearer_only.insert("authorization", "Bearer x".parse().unwrap());
    assert_eq!(
        authenticate(&settings, &bearer_only, body, at),
        Err(AuthError::Missing)
    );
    assert!(sign(SECRET, "1", body).starts_with("sha256="));
    assert_eq!(sign(SECRET, "1", body).len(), "sha256=".len() + 64);
}

/// Issue 19: a dead letter keeps the sender's exact bytes (numbers as written, spacing, key
/// order), an item of a batch that is an array is refused like any bad item, and the `Bearer`
/// scheme is matched case-insensitively.
#[tokio::test]
async fn dead_letters_keep_the_exact_bytes_arrays_are_not_posts_and_bearer_is_case_blind() {
    let sink = MemorySink::new();
    // A bad post (no text) with a number serde_json would rewrite (1.50e3 → 1500.0).
    let bad_item = r#"{"v":1, "source":"partner","source_id":"x","kind":"post","created_at":"2026-11-20T10:00:00Z","rating":1.50e3}"#;
    let array_item = r#"[1, "partner", "y"]"#;
    let body = format!("[ {}, {bad_item} ,{array_item}]", post("good"));
    let (status, answer) = send(&sink, body.into_bytes(), Some(now()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["accepted"], 1);
    let rejected: Vec<(u64, String)> = answer["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let kind = item["reason_kind"].as_str().unwrap().to_string();
            (item["index"].as_u64().unwrap(), kind)
        })
        .collect();
    assert_eq!(rejected[1], (2, "not_an_object".to_string()));
    let letters = sink.dead_letters();
    let decode = |letter: &tidewatch_model::DeadLetter| letter.original_bytes();
    assert_eq!(decode(&letters[0]), bad_item.as_bytes());
    assert_eq!(decode(&letters[1]), array_item.as_bytes());

    // A single post: the whole body, byte for byte.
    let single = format!("{}\n", bad_item.replace("\"x\"", "\"z\""));
    let (status, _) = send(&sink, single.clone().into_bytes(), Some(now()), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let letters = sink.dead_letters();
    assert_eq!(decode(&letters[2]), single.trim_end().as_bytes());

    for scheme in ["bearer", "BEARER", "Bearer"] {
        let authorization = format!("{scheme} tok-123");
        let body = post(scheme).to_string().into_bytes();
        let (status, answer) = send(&sink, body, None, &[("authorization", authorization)]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{scheme}: {answer}");
    }
}
