//! `tidewatch demo`: the whole pipeline on the in-process bus, fed by the built-in simulator (a
//! realistic stream for three fictional brands into which a negative story is injected), with
//! the dashboard, and a simulated PagerDuty that prints the pages it receives.
//!
//! Guarantees: it needs only the local ClickHouse (`deploy/local/services up clickhouse`); it
//! owns the ClickHouse database it is given (default `tidewatch_demo`), which it empties at
//! start so the dashboard shows this run only; its detector and alert state live in a fresh
//! temporary directory, so every run pages its story again; API tokens are random per run and
//! printed. With `--exit-after-page` it leaves (exit 0) once the simulated PagerDuty received a
//! trigger, or fails after `--timeout-seconds`: that is how the tests run it headless.

pub(crate) mod pagerduty;

use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use tidewatch_alert::AlertService;
use tidewatch_api::{Role, TokenConfig};
use tidewatch_collect::simulate::{SimulateSource, SimulatedBrand};
use tidewatch_store::PostStore;

use super::pipeline::{self, Finished};
use super::simulate::run_simulator;
use crate::config::Config;
use crate::telemetry::{self, Health};
use pagerduty::PagerDutyMock;

/// The environment variable name the demo's PagerDuty receiver reads its key from; the demo
/// answers it itself, so nothing has to be exported.
const DEMO_ROUTING_KEY_ENV: &str = "TIDEWATCH_DEMO_PAGERDUTY_KEY";

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct DemoArgs {
    /// Where the dashboard, the API and /metrics listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    /// The ClickHouse database the demo owns (emptied at start).
    #[arg(long, default_value = "tidewatch_demo")]
    pub(crate) database: String,
    /// ClickHouse HTTP URL.
    #[arg(long, default_value = "http://127.0.0.1:8123")]
    pub(crate) clickhouse_url: String,
    /// Seconds after start at which the injected negative story begins.
    #[arg(long, default_value_t = 20)]
    pub(crate) story_delay_seconds: u64,
    /// Hours of simulated history published at start (the detector's baseline).
    #[arg(long, default_value_t = 48)]
    pub(crate) backfill_hours: u64,
    /// Leave (exit 0) once the simulated PagerDuty received a page; for headless runs.
    #[arg(long)]
    pub(crate) exit_after_page: bool,
    /// With --exit-after-page: fail if no page arrived within this many seconds.
    #[arg(long, default_value_t = 300)]
    pub(crate) timeout_seconds: u64,
}

fn random_token(random: &mut impl Rng) -> String {
    (0..32)
        .map(|_| format!("{:x}", random.random_range(0..16u8)))
        .collect()
}

/// The demo's configuration: the simulator's brands as watches, the pagerduty receiver, the
/// given listener and database, random tokens. Returns it with the (role, token) pairs.
fn demo_config(
    args: &DemoArgs,
    pagerduty_url: &str,
    state_dir: &std::path::Path,
) -> anyhow::Result<(Config, Vec<(Role, String)>)> {
    let mut random = rand::rng();
    let tokens: Vec<(Role, String)> = [Role::Viewer, Role::Responder, Role::Admin]
        .into_iter()
        .map(|role| (role, random_token(&mut random)))
        .collect();
    let mut text = String::new();
    text.push_str(&format!(
        "[clickhouse]\nurl = {:?}\ndatabase = {:?}\n\n[api]\nlisten = {:?}\n\n[pipeline]\nbatch_size = 2000\nbatch_wait_ms = 100\nstate_dir = {:?}\n\n",
        args.clickhouse_url,
        args.database,
        args.listen,
        state_dir.display().to_string()
    ));
    for brand in SimulatedBrand::defaults() {
        text.push_str(&format!(
            "[[watch]]\nname = {:?}\nany = {:?}\n\n",
            brand.watch,
            brand.watch_terms()
        ));
    }
    text.push_str(&format!(
        "[[receiver]]\nname = \"pagerduty\"\nkind = \"pagerduty\"\nurl = {pagerduty_url:?}\nrouting_key_env = {DEMO_ROUTING_KEY_ENV:?}\ndashboard_url = {:?}\n\n[[route]]\nreceivers = [\"pagerduty\"]\nmin_severity = \"warning\"\n\n[alert]\nretry_base_ms = 200\nretry_max_ms = 2000\n",
        format!("http://{}", args.listen)
    ));
    let mut config = Config::from_toml(&text).context("the demo configuration is invalid")?;
    config.api.tokens = tokens
        .iter()
        .map(|(role, token)| {
            TokenConfig::for_token(&format!("demo-{}", role.as_str()), token, *role)
        })
        .collect();
    Ok((config, tokens))
}

pub(crate) async fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let cancel = telemetry::shutdown_on_signals();
    let state_dir = tempfile::Builder::new()
        .prefix("tidewatch-demo-")
        .tempdir()
        .context("cannot create the demo's state directory")?;
    let pagerduty = PagerDutyMock::default();
    let pagerduty_address = pagerduty.serve("127.0.0.1:0", cancel.clone()).await?;
    let pagerduty_url = format!("http://{pagerduty_address}/v2/enqueue");
    let (config, tokens) = demo_config(args, &pagerduty_url, state_dir.path())?;

    let post_store = PostStore::connect(&config.clickhouse);
    post_store.drop_database().await.with_context(|| {
        format!(
            "cannot reach ClickHouse at {} — start it with `deploy/local/services up clickhouse`",
            args.clickhouse_url
        )
    })?;
    post_store
        .migrate()
        .await
        .context("cannot create the demo schema")?;
    let service = AlertService::new(config.notify_config(), |variable| {
        (variable == DEMO_ROUTING_KEY_ENV).then(|| "demo-routing-key".to_string())
    })
    .context("cannot start the demo's alert service")?;

    let health = Health::default();
    let wiring = pipeline::wire(&config).await?;
    let producer = wiring.producer.clone();
    let address = pipeline::serve_api(
        &config,
        &post_store,
        producer.clone(),
        health.clone(),
        cancel.clone(),
    )
    .await?
    .context("the demo needs a listener")?;
    let finished = Finished::default();
    let stages = pipeline::start_stages(
        &config,
        wiring,
        &post_store,
        service,
        false,
        true,
        &finished,
        &health,
        &cancel,
    )?;

    println!("tidewatch demo: dashboard at http://{address}/");
    for (role, token) in &tokens {
        println!("  {:<9} token: {token}", role.as_str());
    }
    println!("  simulated PagerDuty at http://{pagerduty_address}/events");
    println!(
        "  publishing {} h of simulated history for Acme Air, Globex Bank and Initech; a negative story about acme-air starts {} s after that",
        args.backfill_hours, args.story_delay_seconds
    );

    let source = SimulateSource {
        story_delay_seconds: args.story_delay_seconds,
        backfill_hours: args.backfill_hours,
        ..SimulateSource::default()
    };
    let simulator = tokio::spawn(run_simulator(
        source,
        chrono::Utc::now(),
        producer,
        config.topics(),
        cancel.clone(),
    ));
    let started = Instant::now();
    let mut outcome = Ok(());
    if args.exit_after_page {
        outcome = wait_for_page(
            &pagerduty,
            Duration::from_secs(args.timeout_seconds),
            &cancel,
        )
        .await;
        if outcome.is_ok() {
            println!(
                "demo: page received after {:.0} s; leaving",
                started.elapsed().as_secs_f64()
            );
        }
        cancel.cancel();
    }
    let published = simulator.await?.context("the simulator failed")?;
    finished.sources.cancel();
    let totals = stages.join().await?;
    println!(
        "demo finished: {published} simulated posts, {} stored, {} alert events",
        totals.store.sent, totals.detect.sent
    );
    outcome
}

async fn wait_for_page(
    pagerduty: &PagerDutyMock,
    timeout: Duration,
    cancel: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline && !cancel.is_cancelled() {
        let paged = pagerduty
            .events()
            .iter()
            .any(|event| event["event_action"] == "trigger");
        if paged {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!(
        "no page reached the simulated PagerDuty within {} s",
        timeout.as_secs()
    )
}
