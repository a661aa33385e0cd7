//! `tidewatch-eval`: convert the airline data set to canonical posts and a config, score a
//! backtest's alerts against the labelled stories, or run the whole evaluation in-process.
//!
//! Guarantees: reports go to stdout, diagnostics to stderr; the exit code is 0 when the command
//! ran (targets met or not) unless `--require-targets` is given, then 2 when the detector misses
//! a target.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tidewatch_detect::DetectorConfig;
use tidewatch_eval::pipeline::{baseline_reports, detect, detector_report, score_posts};
use tidewatch_eval::{
    airline_config_toml, airline_detect_config, airline_watches, read_stories, read_tweets, Tweet,
};
use tidewatch_model::{AlertEvent, ScoredPost};

#[derive(Parser, Debug)]
#[command(
    name = "tidewatch-eval",
    about = "tidewatch's evaluation harness on the airline data set and stories-dev"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Tweets.csv → canonical posts (JSONL) and a tidewatch config with one watch per airline.
    Convert {
        #[arg(long)]
        tweets: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        config_out: PathBuf,
    },
    /// Scores `tidewatch backtest` alerts (and the baseline rules) against the stories.
    Score {
        #[arg(long)]
        alerts: PathBuf,
        #[arg(long)]
        stories: PathBuf,
        /// The tweets the stories are defined on (default: Tweets.csv beside the stories).
        #[arg(long)]
        tweets: Option<PathBuf>,
        #[arg(long)]
        require_targets: bool,
    },
    /// Convert, score, detect and score, all in-process (`[detect]`: the detector defaults, or
    /// the `[detect]` section of `--config`).
    Run {
        #[arg(long)]
        tweets: PathBuf,
        #[arg(long)]
        stories: PathBuf,
        /// A TOML file whose `[detect]` section replaces the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also write the detector's alert events here (JSONL, as `tidewatch backtest` prints).
        #[arg(long)]
        events_out: Option<PathBuf>,
        #[arg(long)]
        require_targets: bool,
    },
    /// Writes the `tidewatch backtest` config of one stories-dev file (its watches, `[detect]`
    /// from `--config` or the defaults).
    DevConfig {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        file: String,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Scores the detector (the alerts of `--alerts` files, or an in-process run with
    /// `[detect]` from `--config` or the defaults) and the peer rules on stories-dev.
    Dev {
        #[arg(long)]
        data: PathBuf,
        /// `tidewatch backtest` output (JSONL alert events), one per file; repeatable.
        #[arg(long)]
        alerts: Vec<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also write the in-process detector's events here (JSONL).
        #[arg(long)]
        events_out: Option<PathBuf>,
        /// Print only the detector's report (no peer rules).
        #[arg(long)]
        detector_only: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let met = match cli.command {
        Command::Convert {
            tweets,
            out,
            config_out,
        } => {
            convert(&tweets, &out, &config_out)?;
            true
        }
        Command::Score {
            alerts,
            stories,
            tweets,
            require_targets,
        } => {
            let tweets = tweets.unwrap_or_else(|| stories.with_file_name("Tweets.csv"));
            let events = read_alerts(&alerts)?;
            evaluate(&tweets, &stories, |_| Ok(events))? || !require_targets
        }
        Command::Run {
            tweets,
            stories,
            config,
            events_out,
            require_targets,
        } => {
            let detect_config = match config {
                Some(path) => read_detect_config(&path)?,
                None => airline_detect_config(),
            };
            let run = |scored: &[ScoredPost]| {
                let events =
                    detect(scored, &detect_config).map_err(|error| anyhow::anyhow!(error))?;
                if let Some(path) = &events_out {
                    write_events(path, &events)?;
                }
                Ok(events)
            };
            evaluate(&tweets, &stories, run)? || !require_targets
        }
        Command::DevConfig {
            data,
            file,
            config,
            out,
        } => {
            let detect = match config {
                Some(path) => read_detect_config(&path)?,
                None => DetectorConfig::default(),
            };
            let set = tidewatch_eval::dev::read_dev_set(&data)?;
            let text = set
                .config_toml(&file, &detect)
                .map_err(|error| anyhow::anyhow!(error))?;
            std::fs::write(&out, text)
                .with_context(|| format!("cannot write {}", out.display()))?;
            true
        }
        Command::Dev {
            data,
            alerts,
            config,
            events_out,
            detector_only,
        } => {
            evaluate_dev(
                &data,
                &alerts,
                config.as_deref(),
                events_out.as_deref(),
                detector_only,
            )?;
            true
        }
    };
    if !met {
        std::process::exit(2);
    }
    Ok(())
}

fn load_tweets(path: &Path) -> anyhow::Result<Vec<Tweet>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    read_tweets(std::io::BufReader::new(file)).with_context(|| format!("in {}", path.display()))
}

fn convert(tweets: &Path, out: &Path, config_out: &Path) -> anyhow::Result<()> {
    let tweets = load_tweets(tweets)?;
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writer = BufWriter::new(file);
    for tweet in &tweets {
        writeln!(writer, "{}", tweet.to_post().to_json())?;
    }
    writer.flush()?;
    let config =
        airline_config_toml(&airline_detect_config()).map_err(|error| anyhow::anyhow!(error))?;
    std::fs::write(config_out, config)
        .with_context(|| format!("cannot write {}", config_out.display()))?;
    eprintln!(
        "{} posts to {}, config to {}",
        tweets.len(),
        out.display(),
        config_out.display()
    );
    Ok(())
}

/// Prints the detector's and the baselines' reports; true when the detector meets the targets.
fn evaluate(
    tweets: &Path,
    stories: &Path,
    events: impl FnOnce(&[ScoredPost]) -> anyhow::Result<Vec<AlertEvent>>,
) -> anyhow::Result<bool> {
    let tweets = load_tweets(tweets)?;
    let file = std::fs::File::open(stories)
        .with_context(|| format!("cannot open {}", stories.display()))?;
    let stories = read_stories(file, &tweets)?;
    let posts = tweets.iter().map(Tweet::to_post).collect();
    let scored = score_posts(posts, &airline_watches())?;
    let events = events(&scored)?;
    let report = detector_report(&events, &scored, &stories);
    println!("{}", report.render());
    for baseline in baseline_reports(&scored, &stories) {
        println!("{}", baseline.render());
    }
    Ok(report.missed_targets().is_empty())
}

/// Prints the stories-dev summary (one line per rule), then each rule's table.
fn evaluate_dev(
    data: &Path,
    alerts: &[PathBuf],
    config: Option<&Path>,
    events_out: Option<&Path>,
    detector_only: bool,
) -> anyhow::Result<()> {
    use tidewatch_eval::dev_pipeline::{
        detect_dev, dev_detector_report, dev_peer_reports, load_dev,
    };
    let loaded = load_dev(data)?;
    let events = if alerts.is_empty() {
        let detect = match config {
            Some(path) => read_detect_config(path)?,
            None => DetectorConfig::default(),
        };
        detect_dev(&loaded, &detect)?
    } else {
        let mut events = Vec::new();
        for path in alerts {
            events.extend(read_alerts(path)?);
        }
        events
    };
    if let Some(path) = events_out {
        write_events(path, &events)?;
    }
    let mut reports = vec![dev_detector_report(&events, &loaded.set)];
    if !detector_only {
        reports.extend(dev_peer_reports(&loaded));
    }
    println!(
        "stories-dev: {} stories, {:.2} days",
        loaded.set.stories.len(),
        reports[0].days
    );
    for report in &reports {
        println!("{}", report.summary());
    }
    println!();
    for report in &reports {
        println!("{}", report.render());
    }
    Ok(())
}

/// Writes alert events as JSONL (as `tidewatch backtest` prints them).
fn write_events(path: &Path, events: &[AlertEvent]) -> anyhow::Result<()> {
    let lines: Vec<String> = events
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()?;
    std::fs::write(path, lines.join("\n") + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}

fn read_alerts(path: &Path) -> anyhow::Result<Vec<AlertEvent>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut events = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str(&line)
            .with_context(|| format!("{}:{}: not an alert event", path.display(), index + 1))?;
        events.push(event);
    }
    Ok(events)
}

fn read_detect_config(path: &Path) -> anyhow::Result<DetectorConfig> {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        detect: DetectorConfig,
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    // Other sections (watches, kafka, …) belong to tidewatch; only `[detect]` is read here.
    let value: toml::Table = toml::from_str(&text)?;
    let detect = value
        .get("detect")
        .cloned()
        .unwrap_or(toml::Value::Table(toml::Table::new()));
    let file: File = toml::Table::from_iter([("detect".to_string(), detect)]).try_into()?;
    let config = file.detect;
    config.validate().map_err(|error| anyhow::anyhow!(error))?;
    Ok(config)
}
