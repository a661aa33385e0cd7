//! A dev server for the dashboard: `cargo run -p tidewatch-api --example serve -- --database
//! tw_dev --seed`. Migrates the database, optionally seeds a small realistic dataset (posts over
//! the last three days for three watches, a rising negative story, alerts in every state, an
//! acknowledgement, collector health), prints one token per role, and serves the API and the
//! dashboard until Ctrl-C. Alert actions are only logged (no alert stage is attached).

mod seed;

use std::sync::Arc;

use clap::Parser;
use tidewatch_api::{router, ApiConfig, ApiState, LoggingActionSink, Role, TokenConfig};
use tidewatch_store::{PostStore, StoreConfig};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
struct Args {
    /// ClickHouse database to use (created if missing).
    #[arg(long, default_value = "tidewatch_dev")]
    database: String,
    /// ClickHouse HTTP URL.
    #[arg(long, default_value = "http://127.0.0.1:8123")]
    clickhouse_url: String,
    /// Listen address (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:9898")]
    listen: String,
    /// Insert the demo dataset (posts, alerts, actions, collector health) relative to now.
    #[arg(long)]
    seed: bool,
}

const DEV_TOKENS: [(&str, &str, Role); 3] = [
    ("viewer", "dev-viewer-token", Role::Viewer),
    ("responder", "dev-responder-token", Role::Responder),
    ("admin", "dev-admin-token", Role::Admin),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let store_config = StoreConfig {
        url: args.clickhouse_url.clone(),
        database: args.database.clone(),
        ..StoreConfig::default()
    };
    let store = PostStore::connect(&store_config);
    store.ping().await?;
    store.migrate().await?;
    if args.seed {
        let summary = seed::seed(&store, chrono::Utc::now()).await?;
        println!("seeded {summary}");
    }
    let config = ApiConfig {
        listen: args.listen.clone(),
        tokens: DEV_TOKENS
            .iter()
            .map(|(name, token, role)| TokenConfig::for_token(name, token, *role))
            .collect(),
        ..ApiConfig::default()
    };
    config.validate()?;
    let shutdown = CancellationToken::new();
    let state =
        ApiState::new(config, store, Arc::new(LoggingActionSink)).with_shutdown(shutdown.clone());
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    let address = listener.local_addr()?;
    println!(
        "tidewatch API and dashboard on http://{address}/ (database {})",
        args.database
    );
    for (name, token, role) in DEV_TOKENS {
        println!(
            "  {role:<9} token: {token}   (name {name})",
            role = role.as_str()
        );
    }
    println!(
        "  e.g. curl -H 'Authorization: Bearer dev-viewer-token' http://{address}/api/v1/alerts"
    );
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
