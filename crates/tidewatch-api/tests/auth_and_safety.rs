//! Every route × {no token, unknown token, too low a role, right role}; hostile text in every
//! text parameter; bounds; alert actions and their publication. Against the real ClickHouse.

mod support;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use chrono::Duration;
use support::{seed_start, story_event, SeedPost, TestApi, ADMIN, RESPONDER, VIEWER};
use tidewatch_model::AlertState;

const RANGE: &str = "from=2015-02-23T00:00:00Z&to=2015-02-25T00:00:00Z";

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn special_post(source_id: &str, text: &str, minute: i64) -> SeedPost {
    SeedPost {
        source: "mastodon",
        source_id: source_id.into(),
        created_at: seed_start() + Duration::minutes(minute),
        watches: vec!["acme"],
        language: "en",
        author: format!("author-{source_id}"),
        compound: Some(-0.5),
        text: text.into(),
    }
}

async fn seeded(label: &str) -> Option<TestApi> {
    let api = TestApi::start(label).await?;
    let posts = [
        special_post("percent", "I am 100% sure the fleet is late", 1),
        special_post("backslash", "path C:\\fleet\\late", 2),
        special_post("quote", "O'Brien says the fleet is late", 3),
        special_post("unicode", "Café crème: la flotte est en retard 😀", 4),
        special_post("plain", "nothing special here", 5),
    ];
    let scored: Vec<_> = posts.iter().map(SeedPost::to_scored).collect();
    api.store.insert_posts(&scored).await.unwrap();
    api.store
        .insert_alert_events(&[story_event("s-1", AlertState::Firing, 10)])
        .await
        .unwrap();
    Some(api)
}

/// (method, uri, least role, body)
fn routes() -> Vec<(&'static str, String, Option<&'static str>, &'static str)> {
    vec![
        ("GET", "/api/v1/whoami".into(), None, ""),
        ("GET", "/api/v1/watches".into(), None, ""),
        ("GET", format!("/api/v1/trends?{RANGE}"), None, ""),
        ("GET", format!("/api/v1/share-of-voice?{RANGE}"), None, ""),
        ("GET", format!("/api/v1/posts?{RANGE}"), None, ""),
        ("GET", format!("/api/v1/stories?{RANGE}"), None, ""),
        ("GET", "/api/v1/stories/s-1".into(), None, ""),
        ("GET", "/api/v1/alerts".into(), None, ""),
        ("GET", "/api/v1/alerts/s-1".into(), None, ""),
        ("POST", "/api/v1/stream-ticket".into(), None, ""),
        ("POST", "/api/v1/alerts/s-1/ack".into(), Some(VIEWER), ""),
        (
            "POST",
            "/api/v1/alerts/s-1/snooze".into(),
            Some(VIEWER),
            r#"{"minutes":5}"#,
        ),
        (
            "POST",
            "/api/v1/alerts/s-1/unsnooze".into(),
            Some(VIEWER),
            "",
        ),
        (
            "POST",
            "/api/v1/alerts/s-1/resolve".into(),
            Some(VIEWER),
            r#"{"note":"done"}"#,
        ),
        (
            "GET",
            "/api/v1/health/collectors".into(),
            Some(RESPONDER),
            "",
        ),
    ]
}

fn right_token(too_low: Option<&str>) -> &'static str {
    match too_low {
        None => VIEWER,
        Some(VIEWER) => RESPONDER,
        Some(_) => ADMIN,
    }
}

#[tokio::test]
async fn every_route_answers_401_403_and_200_by_token() {
    let Some(api) = seeded("auth").await else {
        return;
    };
    for (method, uri, too_low, body) in routes() {
        for token in [None, Some("not-a-token")] {
            let answer = api.request(method, &uri, token, body).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {token:?}"
            );
            assert!(answer.json()["error"].is_string());
        }
        if let Some(too_low) = too_low {
            let answer = api.request(method, &uri, Some(too_low), body).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {uri}");
            assert!(answer.json()["error"].is_string());
        }
        let answer = api
            .request(method, &uri, Some(right_token(too_low)), body)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{method} {uri}: {}",
            answer.text()
        );
        assert!(answer.content_type.starts_with("application/json"), "{uri}");
        // Admin may do everything.
        assert_eq!(
            api.request(method, &uri, Some(ADMIN), body).await.status,
            StatusCode::OK,
            "{uri} as admin"
        );
    }
    // The stream: a header or a ticket, never a missing one, never the token in the URL.
    assert_eq!(
        api.get("/api/v1/alerts/stream", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let ticket = api
        .request("POST", "/api/v1/stream-ticket", Some(VIEWER), "")
        .await
        .json();
    let ticket = ticket["ticket"].as_str().expect("a ticket").to_string();
    assert!(!ticket.contains(VIEWER));
    let stream = api.app.clone();
    for (uri, token) in [
        ("/api/v1/alerts/stream".to_string(), Some(VIEWER)),
        (
            format!("/api/v1/alerts/stream?ticket={}", encode(&ticket)),
            None,
        ),
    ] {
        let mut request = axum::http::Request::builder().uri(&uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = tower::ServiceExt::oneshot(
            stream.clone(),
            request.body(axum::body::Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
    }
    // A token in the URL is refused everywhere, the stream included; so is a forged ticket.
    for uri in [
        format!("/api/v1/alerts/stream?token={VIEWER}"),
        format!("/api/v1/whoami?token={VIEWER}"),
        format!("/api/v1/alerts/stream?ticket={}0", encode(&ticket)),
    ] {
        assert_eq!(
            api.get(&uri, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
    }
    let whoami = api.get("/api/v1/whoami", Some(RESPONDER)).await.json();
    assert_eq!(
        whoami,
        serde_json::json!({"name": "rita", "role": "responder"})
    );
    // No auth: the document and the dashboard.
    let document = api.get("/openapi.json", None).await.json();
    for (_, uri, _, _) in routes() {
        let path = uri.split('?').next().unwrap().replace("s-1", "{story_id}");
        assert!(
            document["paths"].get(&path).is_some(),
            "{path} missing from openapi.json"
        );
    }
    assert!(document["paths"].get("/api/v1/alerts/stream").is_some());
    let index = api.get("/", None).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.content_type.starts_with("text/html"));
    assert_eq!(
        api.get("/assets/no-such-file.js", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn hostile_text_in_every_parameter_is_only_ever_data() {
    let Some(api) = seeded("inject").await else {
        return;
    };
    let long = "x".repeat(4_000);
    let hostile = [
        "' OR 1=1 --",
        "\\",
        "%",
        "_",
        "é😀",
        "\"; DROP TABLE posts; --",
        long.as_str(),
    ];
    for value in hostile {
        let encoded = encode(value);
        // `label` is a closed set: anything else is refused, naming the parameter.
        let refused = api
            .get(
                &format!("/api/v1/posts?{RANGE}&label={encoded}"),
                Some(VIEWER),
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "label={value:.20}");
        assert!(refused.json()["error"].as_str().unwrap().contains("label"));
        for parameter in ["watch", "source", "language"] {
            let paths: &[&str] = if matches!(parameter, "source" | "language") {
                &["trends", "share-of-voice", "posts"]
            } else {
                &["trends", "posts"]
            };
            for path in paths {
                let answer = api
                    .get(
                        &format!("/api/v1/{path}?{RANGE}&{parameter}={encoded}"),
                        Some(VIEWER),
                    )
                    .await;
                assert_eq!(
                    answer.status,
                    StatusCode::OK,
                    "{path} {parameter}={value:.20}: {}",
                    answer.text()
                );
                let body = answer.json();
                let items = body
                    .get("buckets")
                    .or(body.get("watches"))
                    .or(body.get("posts"))
                    .unwrap();
                assert_eq!(
                    items.as_array().unwrap().len(),
                    0,
                    "{path} {parameter}={value:.20}"
                );
            }
        }
        for (path, parameter, closed_set) in [
            ("stories", "watch", false),
            ("stories", "state", true),
            ("stories", "severity", true),
            ("alerts", "watch", false),
            ("alerts", "severity", true),
        ] {
            let answer = api
                .get(
                    &format!("/api/v1/{path}?{parameter}={encoded}"),
                    Some(VIEWER),
                )
                .await;
            if closed_set {
                // A closed set refuses what is not in it, naming the parameter.
                assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path} {parameter}");
                assert!(answer.json()["error"].as_str().unwrap().contains(parameter));
                continue;
            }
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{path} {parameter}={value:.20}"
            );
            assert_eq!(answer.json()[path].as_array().unwrap().len(), 0);
        }
        for path in ["stories", "alerts"] {
            let answer = api
                .get(
                    &format!("/api/v1/{path}/{}", encode(value).replace('+', "%20")),
                    Some(VIEWER),
                )
                .await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}/{value:.20}");
            assert!(answer.json()["error"].is_string());
        }
        let status = api
            .get(&format!("/api/v1/alerts?status={encoded}"), Some(VIEWER))
            .await;
        assert_eq!(status.status, StatusCode::BAD_REQUEST, "status is an enum");
        let cursor = api
            .get(
                &format!("/api/v1/posts?{RANGE}&cursor={encoded}"),
                Some(VIEWER),
            )
            .await;
        assert_eq!(cursor.status, StatusCode::BAD_REQUEST);
    }
    // The text search treats every character literally and case-insensitively.
    for (needle, expected) in [
        ("%", vec!["percent"]),
        ("\\", vec!["backslash"]),
        ("'", vec!["quote"]),
        ("o'brien", vec!["quote"]),
        ("_", vec![]),
        ("CAFÉ", vec!["unicode"]),
        ("😀", vec!["unicode"]),
        ("' OR 1=1 --", vec![]),
        ("FLEET", vec!["backslash", "percent", "quote"]),
    ] {
        let answer = api
            .get(
                &format!("/api/v1/posts?{RANGE}&q={}", encode(needle)),
                Some(VIEWER),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "q={needle}");
        let mut found: Vec<String> = answer.json()["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|post| post["source_id"].as_str().unwrap().to_string())
            .collect();
        found.sort();
        assert_eq!(found, expected, "q={needle}");
    }
    let too_long = "x".repeat(5_000);
    let answer = api
        .get(&format!("/api/v1/posts?{RANGE}&q={too_long}"), Some(VIEWER))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bounds_are_400_json() {
    let Some(api) = seeded("bounds").await else {
        return;
    };
    for uri in [
        "/api/v1/trends?from=2015-01-01T00:00:00Z&to=2015-06-01T00:00:00Z".to_string(),
        "/api/v1/trends?from=2015-02-25T00:00:00Z&to=2015-02-23T00:00:00Z".to_string(),
        "/api/v1/trends?from=2015-01-01T00:00:00Z&to=2015-03-01T00:00:00Z&interval=1m".to_string(),
        format!("/api/v1/trends?{RANGE}&interval=2m"),
        format!("/api/v1/trends?{RANGE}&group_by=author"),
        format!("/api/v1/trends?{RANGE}&format=xml"),
        "/api/v1/posts?from=last-week".to_string(),
        "/api/v1/posts?limit=1001".to_string(),
        "/api/v1/posts?limit=0".to_string(),
        "/api/v1/stories?limit=abc".to_string(),
        "/api/v1/alerts?limit=5000".to_string(),
    ] {
        let answer = api.get(&uri, Some(VIEWER)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            answer.json()["error"]
                .as_str()
                .is_some_and(|message| !message.is_empty()),
            "{uri}"
        );
    }
    assert_eq!(
        api.get("/api/v1/posts?limit=1000", Some(VIEWER))
            .await
            .status,
        StatusCode::OK
    );
    let snooze = api
        .request("POST", "/api/v1/alerts/s-1/snooze", Some(RESPONDER), "")
        .await;
    assert_eq!(snooze.status, StatusCode::BAD_REQUEST);
    let bad_body = api
        .request(
            "POST",
            "/api/v1/alerts/s-1/ack",
            Some(RESPONDER),
            "{not json",
        )
        .await;
    assert_eq!(bad_body.status, StatusCode::BAD_REQUEST);
    let unknown_action = api
        .request("POST", "/api/v1/alerts/s-1/delete", Some(RESPONDER), "")
        .await;
    assert_eq!(unknown_action.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.get("/api/v1/nope", Some(VIEWER)).await.json()["error"],
        "no such route"
    );
}

#[tokio::test]
async fn actions_are_recorded_published_and_change_the_status() {
    let Some(api) = seeded("actions").await else {
        return;
    };
    let acked = api
        .request(
            "POST",
            "/api/v1/alerts/s-1/ack",
            Some(RESPONDER),
            r#"{"note":"on it"}"#,
        )
        .await;
    assert_eq!(acked.status, StatusCode::OK, "{}", acked.text());
    let alert = &acked.json()["alert"];
    assert_eq!(alert["status"], "acknowledged");
    assert_eq!(alert["acknowledged_by"], "rita");
    assert_eq!(api.sink.published.lock().unwrap().len(), 1);
    let snoozed = api
        .request(
            "POST",
            "/api/v1/alerts/s-1/snooze",
            Some(ADMIN),
            r#"{"minutes":60}"#,
        )
        .await
        .json();
    assert_eq!(snoozed["alert"]["status"], "snoozed");
    assert!(snoozed["alert"]["snoozed_until"].is_string());
    let listed = api
        .get("/api/v1/alerts?status=snoozed", Some(VIEWER))
        .await
        .json();
    assert_eq!(listed["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(
        api.get("/api/v1/alerts?status=open", Some(VIEWER))
            .await
            .json()["alerts"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    api.sink.failing.store(true, Ordering::SeqCst);
    let failed = api
        .request("POST", "/api/v1/alerts/s-1/resolve", Some(RESPONDER), "")
        .await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(failed.json()["error"].as_str().unwrap().contains("publish"));
    api.sink.failing.store(false, Ordering::SeqCst);

    let detail = api.get("/api/v1/alerts/s-1", Some(VIEWER)).await.json();
    let actions: Vec<&str> = detail["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|action| action["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["ack", "snooze", "resolve"],
        "the failed publish is still recorded"
    );
    assert_eq!(detail["alert"]["status"], "resolved");
    assert_eq!(detail["events"].as_array().unwrap().len(), 1);

    // A redelivered event does not add an event; a resolved event from the detector shows.
    api.store
        .insert_alert_events(&[story_event("s-1", AlertState::Firing, 10)])
        .await
        .unwrap();
    api.store
        .insert_alert_events(&[story_event("s-1", AlertState::Resolved, 20)])
        .await
        .unwrap();
    let story = api.get("/api/v1/stories/s-1", Some(VIEWER)).await.json();
    assert_eq!(story["events"].as_array().unwrap().len(), 2);
    assert_eq!(story["story"]["state"], "resolved");
    // Story posts: the term "100%" matches one post literally; the evidence adds "quote".
    let mut ids: Vec<&str> = story["top_posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|post| post["source_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["percent", "quote"]);
    assert_eq!(story["first_post"]["source_id"], "percent");
}
