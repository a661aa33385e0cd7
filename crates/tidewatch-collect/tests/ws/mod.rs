//! A local WebSocket server (axum) for the streaming tests: every connection's path, query and
//! headers are recorded, and the test's plan says what to send on the n-th connection and
//! whether to then drop the connection (no close frame) or hold it open.
#![allow(dead_code)]

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One connection as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
}

impl Connection {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What to do after the messages of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Drop the TCP connection without a close frame (a crash, a network cut).
    Drop,
    /// Keep the connection open until the client leaves.
    Hold,
}

#[derive(Clone, Default)]
pub(crate) struct Connections(Arc<Mutex<Vec<Connection>>>);

impl Connections {
    pub(crate) fn all(&self) -> Vec<Connection> {
        self.0.lock().unwrap().clone()
    }
}

/// Serves WebSockets on a fresh port; `plan(n, connection)` gives the messages of the n-th
/// connection (0-based) and how it ends.
pub(crate) async fn serve_ws<F>(plan: F) -> (SocketAddr, Connections)
where
    F: Fn(usize, &Connection) -> (Vec<String>, End) + Send + Sync + 'static,
{
    let connections = Connections::default();
    let recorded = connections.clone();
    let plan = Arc::new(plan);
    let app = axum::Router::new().fallback(
        move |upgrade: WebSocketUpgrade, uri: Uri, headers: HeaderMap| {
            let recorded = recorded.clone();
            let plan = plan.clone();
            async move {
                let query = uri.query().map(pairs).unwrap_or_default();
                let connection = Connection {
                    path: uri.path().to_string(),
                    query,
                    headers,
                };
                let (index, (messages, end)) = {
                    let mut all = recorded.0.lock().unwrap();
                    all.push(connection.clone());
                    (all.len() - 1, plan(all.len() - 1, &connection))
                };
                let _ = index;
                let response: Response =
                    upgrade.on_upgrade(move |socket| talk(socket, messages, end));
                response
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, connections)
}

async fn talk(mut socket: WebSocket, messages: Vec<String>, end: End) {
    for message in messages {
        if socket.send(Message::Text(message.into())).await.is_err() {
            return;
        }
    }
    match end {
        End::Drop => drop(socket),
        End::Hold => {
            // Answer until the client goes away.
            while let Some(Ok(_)) = socket.recv().await {}
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

fn pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://local/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

/// Waits (real time) until `done` holds, failing after `limit` with `what`.
pub(crate) async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
