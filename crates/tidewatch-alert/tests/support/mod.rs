//! Local stand-ins for PagerDuty, Slack and a webhook receiver (axum on 127.0.0.1:0), and a
//! harness that wires an `AlertService` to them with a state file in a temporary folder.
//! Every request is recorded (path, headers, body); scripted replies (a 429, a 500) are served
//! first, then each server answers like the real one (PagerDuty 202, Slack 200 "ok", webhook 204).
#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tidewatch_alert::{AlertService, NotifyConfig, ReceiverConfig, ReceiverKind, RouteConfig};
use tidewatch_model::{AlertAction, AlertActionKind, AlertEvent, AlertState, Severity};
use tokio_util::sync::CancellationToken;

pub(crate) const ROUTING_KEY: &str = "pd-routing-key-0123";
pub(crate) const WEBHOOK_SECRET: &str = "whsec-test-secret";

#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// The status the server answered with.
    pub(crate) status: u16,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    forced: VecDeque<(u16, Vec<(String, String)>)>,
    requests: Vec<Request>,
}

#[derive(Clone, Default)]
pub(crate) struct Script(Arc<Mutex<Inner>>);

impl Script {
    /// Queues a reply served before the normal answer.
    pub(crate) fn push(&self, status: u16, headers: &[(&str, &str)]) {
        let headers = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.0.lock().unwrap().forced.push_back((status, headers));
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.0.lock().unwrap().requests.clone()
    }

    pub(crate) fn accepted(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|request| (200..300).contains(&request.status))
            .collect()
    }
}

/// Serves on a fresh port; answers `normal_status` unless a scripted reply is queued.
pub(crate) async fn serve(normal_status: u16) -> (String, Script) {
    let script = Script::default();
    let recorded = script.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let script = recorded.clone();
        async move {
            let (status, reply_headers) = {
                let mut inner = script.0.lock().unwrap();
                let (status, reply_headers) = inner
                    .forced
                    .pop_front()
                    .unwrap_or((normal_status, Vec::new()));
                inner.requests.push(Request {
                    path: uri.path().to_string(),
                    headers,
                    body: body.to_vec(),
                    status,
                });
                (status, reply_headers)
            };
            let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap());
            for (name, value) in &reply_headers {
                response = response.header(name, value);
            }
            let text = if status == 200 { "ok" } else { "" };
            response.body(Body::from(text)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), script)
}

pub(crate) struct Harness {
    pub(crate) pagerduty: Script,
    pub(crate) slack: Script,
    pub(crate) webhook: Script,
    pub(crate) config: NotifyConfig,
    pub(crate) env: HashMap<String, String>,
    pub(crate) folder: tempfile::TempDir,
}

fn receiver(name: &str, kind: ReceiverKind) -> ReceiverConfig {
    ReceiverConfig {
        name: name.to_string(),
        kind,
        url: None,
        routing_key_env: None,
        webhook_url_env: None,
        secret_env: None,
        dashboard_url: Some("https://tidewatch.test".to_string()),
    }
}

impl Harness {
    /// PagerDuty `pd`, Slack `slack` and webhook `hook`, all routed for every watch; short
    /// real-time backoffs.
    pub(crate) async fn start() -> Harness {
        let (pagerduty_url, pagerduty) = serve(202).await;
        let (slack_url, slack) = serve(200).await;
        let (webhook_url, webhook) = serve(204).await;
        let folder = tempfile::tempdir().unwrap();
        let mut config = NotifyConfig::default();
        config.alert.state_path = folder.path().join("alert.json").display().to_string();
        config.alert.retry_base_ms = 20;
        config.alert.retry_max_ms = 2_000;
        config.alert.retry_max_attempts = 5;
        // The suppression tests check that a held-back severity update is sent after unsnooze.
        config.alert.pagerduty_severity_updates = true;
        config.alert.request_timeout_ms = 5_000;
        let mut pd = receiver("pd", ReceiverKind::Pagerduty);
        pd.url = Some(format!("{pagerduty_url}/v2/enqueue"));
        pd.routing_key_env = Some("TEST_PD_KEY".into());
        let mut chat = receiver("slack", ReceiverKind::Slack);
        chat.webhook_url_env = Some("TEST_SLACK_URL".into());
        let mut hook = receiver("hook", ReceiverKind::Webhook);
        hook.url = Some(format!("{webhook_url}/hooks/tidewatch"));
        hook.secret_env = Some("TEST_HOOK_SECRET".into());
        config.receiver = vec![pd, chat, hook];
        config.route = vec![RouteConfig {
            watches: Vec::new(),
            min_severity: Severity::Info,
            receivers: vec!["pd".into(), "slack".into(), "hook".into()],
            continue_matching: false,
        }];
        let env = HashMap::from([
            ("TEST_PD_KEY".to_string(), ROUTING_KEY.to_string()),
            (
                "TEST_SLACK_URL".to_string(),
                format!("{slack_url}/services/T000/B000/secret"),
            ),
            ("TEST_HOOK_SECRET".to_string(), WEBHOOK_SECRET.to_string()),
        ]);
        Harness {
            pagerduty,
            slack,
            webhook,
            config,
            env,
            folder,
        }
    }

    pub(crate) fn service(&self) -> AlertService {
        let env = self.env.clone();
        AlertService::new(self.config.clone(), move |name| env.get(name).cloned()).unwrap()
    }
}

/// The delivery loop of `service`, running until the returned token is cancelled.
pub(crate) struct Running {
    pub(crate) cancel: CancellationToken,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub(crate) fn start(service: &AlertService) -> Running {
        let cancel = CancellationToken::new();
        let service = service.clone();
        let token = cancel.clone();
        let task = tokio::spawn(async move { service.run_deliveries(token).await });
        Running { cancel, task }
    }

    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        self.task.await.unwrap();
    }
}

/// Waits (up to 20 s of tokio time) until `condition` holds.
pub(crate) async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Lets the delivery loop run a while longer (to catch anything sent twice).
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// `seconds` after a base one hour before the test started (on whole minutes), so the delivery
/// loop's own ticks on the wall clock see the same day as the events.
pub(crate) fn ts(seconds: i64) -> DateTime<Utc> {
    static BASE: OnceLock<DateTime<Utc>> = OnceLock::new();
    let base = *BASE.get_or_init(|| {
        let hour_ago = Utc::now().timestamp() - 3_600;
        Utc.timestamp_opt(hour_ago - hour_ago % 60, 0).unwrap()
    });
    base + chrono::Duration::seconds(seconds)
}

pub(crate) fn event(story_id: &str, state: AlertState, severity: Severity, at: i64) -> AlertEvent {
    AlertEvent {
        v: 1,
        story_id: story_id.to_string(),
        watch: "acme-air".to_string(),
        state,
        severity,
        fired_at: ts(at),
        first_post_at: ts(0),
        title: "lost bags at gate 12".to_string(),
        terms: vec!["lost".into(), "bags".into(), "gate".into()],
        posts: 57,
        negative_share: 0.41,
        score: 9.3,
        baseline: 1.2,
        threshold: 6.0,
        post_ids: vec!["mastodon:1".into(), "mastodon:2".into()],
        first_post_id: "mastodon:1".into(),
    }
}

pub(crate) fn action(id: &str, story_id: &str, kind: AlertActionKind, at: i64) -> AlertAction {
    AlertAction {
        v: 1,
        action_id: id.to_string(),
        story_id: story_id.to_string(),
        watch: "acme-air".to_string(),
        action: kind,
        by: "alice".to_string(),
        at: ts(at),
        until: (kind == AlertActionKind::Snooze).then(|| ts(at + 3_600)),
        note: None,
    }
}
