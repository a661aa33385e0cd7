//! tidewatch: the one binary. Each subcommand is a thin wiring of the role crates; see
//! DESIGN.md's command table.

mod commands;
mod config;
mod metric_catalog;
mod telemetry;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "tidewatch",
    version,
    about = "Social media sentiment monitoring: rising negative stories, early"
)]
struct Cli {
    /// The TOML config file (`TIDEWATCH__SECTION__KEY` environment variables override it).
    #[arg(long, global = true, env = "TIDEWATCH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every stage in one process; the in-process bus unless [kafka] is configured.
    Run(commands::run::RunArgs),
    /// The collectors of [[source]] against Kafka: sources → posts.raw.
    Collect,
    /// The score stage against Kafka: posts.raw → posts.scored, posts.watched.
    Score,
    /// The detect stage against Kafka: posts.watched → alerts (state snapshotted to pipeline.state_dir).
    Detect,
    /// The notify stage against Kafka: alerts, alerts.actions → ClickHouse alert history, PagerDuty, Slack, webhooks.
    Notify,
    /// The HTTP API and the dashboard (alert actions go to alerts.actions on Kafka).
    Serve,
    /// Analyst queries (trends, posts, stories, alerts) as a table, CSV or JSON.
    Query(tidewatch_api::QueryArgs),
    /// The store stage against Kafka: posts.scored → ClickHouse.
    Store,
    /// Create or upgrade the ClickHouse schema.
    Migrate,
    /// Publish canonical posts (JSONL) into posts.raw.
    Replay(commands::replay::ReplayArgs),
    /// Offline: score + detect in event time over a file; alert events to stdout as JSONL.
    Backtest(commands::backtest::BacktestArgs),
    /// Write synthetic canonical posts (JSONL) to stdout, for load tests and samples.
    Generate(commands::generate::GenerateArgs),
    /// One-command demo: simulated stream with a rising negative story, the whole pipeline on the in-process bus, the dashboard, a simulated PagerDuty.
    Demo(commands::demo::DemoArgs),
    /// VADER scores: JSONL {"text": …} on stdin → {"neg","neu","pos","compound"} on stdout.
    Sentiment(commands::sentiment::SentimentArgs),
}

/// How long leftover blocking tasks may hold the process once a command returned.
const RUNTIME_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> std::process::ExitCode {
    telemetry::init_logging();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    let outcome = runtime.block_on(dispatch(cli));
    // Why a timeout: dropping a runtime waits for its blocking tasks, and one may be waiting on
    // a broker that does not answer; the work that matters has finished or failed by now.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    if let Command::Generate(args) = &cli.command {
        return commands::generate::generate(args);
    }
    if let Command::Demo(args) = &cli.command {
        return commands::demo::demo(args).await;
    }
    if let Command::Sentiment(args) = &cli.command {
        return commands::sentiment::sentiment(args);
    }
    let config = Config::load(cli.config.as_deref()).context("cannot load the configuration")?;
    match cli.command {
        Command::Run(args) => commands::run::run(&config, &args).await,
        Command::Collect => commands::stages::collect(&config).await,
        Command::Score => commands::stages::score(&config).await,
        Command::Detect => commands::stages::detect(&config).await,
        Command::Notify => commands::stages::notify(&config).await,
        Command::Serve => commands::stages::serve(&config).await,
        Command::Query(args) => commands::stages::query(&config, &args).await,
        Command::Store => commands::stages::store(&config).await,
        Command::Migrate => commands::stages::migrate(&config).await,
        Command::Replay(args) => commands::replay::replay_command(&config, &args).await,
        Command::Backtest(args) => commands::backtest::backtest(&config, &args),
        Command::Generate(_) | Command::Sentiment(_) | Command::Demo(_) => {
            unreachable!("handled before loading the config")
        }
    }
}
