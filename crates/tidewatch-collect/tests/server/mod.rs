//! A local HTTP server on 127.0.0.1:0 for the poller tests: every request is recorded (path,
//! query, headers, arrival time on the tokio clock), scripted replies (a 429, a 500, a broken
//! body) are served first, then the test's own handler answers.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) at: Instant,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A reply: status, headers, body.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl From<Vec<u8>> for Reply {
    fn from(body: Vec<u8>) -> Self {
        Reply {
            status: 200,
            headers: Vec::new(),
            body,
        }
    }
}

#[derive(Default)]
struct Inner {
    forced: VecDeque<Reply>,
    requests: Vec<Request>,
}

/// The recorded requests and the queue of scripted replies of one server.
#[derive(Clone, Default)]
pub(crate) struct Script(Arc<Mutex<Inner>>);

impl Script {
    /// Queues a reply served before the handler is asked again.
    pub(crate) fn push(&self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let headers = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.0.lock().unwrap().forced.push_back(Reply {
            status,
            headers,
            body: body.to_vec(),
        });
    }

    pub(crate) fn requests(&self) -> Vec<Request> {
        self.0.lock().unwrap().requests.clone()
    }
}

/// Serves `handler` on a fresh port of 127.0.0.1.
pub(crate) async fn serve<F, R>(handler: F) -> (SocketAddr, Script)
where
    F: Fn(&Request) -> R + Send + Sync + 'static,
    R: Into<Reply>,
{
    let script = Script::default();
    let recorded = script.clone();
    let handler = Arc::new(handler);
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let script = recorded.clone();
        let handler = handler.clone();
        async move {
            let query = uri.query().map(url_pairs).unwrap_or_default();
            let request = Request {
                path: uri.path().to_string(),
                query,
                headers,
                at: Instant::now(),
            };
            let forced = {
                let mut inner = script.0.lock().unwrap();
                inner.requests.push(request.clone());
                inner.forced.pop_front()
            };
            let reply = forced.unwrap_or_else(|| handler(&request).into());
            let mut response =
                Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
            for (name, value) in &reply.headers {
                response = response.header(name, value);
            }
            response.body(Body::from(reply.body)).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, script)
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://local/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}
