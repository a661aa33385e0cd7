//! The stories-dev evaluation in-process: each file scored with its watches (the code path of
//! `tidewatch backtest`, one detector per file as one backtest per file), then the detector and
//! the peer rules scored by the set's rule.
//!
//! Guarantees: the detector sees each file's posts exactly as `tidewatch backtest --posts FILE
//! --config` (the file's watches) would, so its events equal the binary's; the peer rules see
//! the same watched posts: Meltwater-style on the negative posts (VADER label) and on all
//! posts, Huginn-style, and SigniTrend-style term pairs. No clock; IO only in [`load_dev`].

use std::path::Path;

use tidewatch_detect::DetectorConfig;
use tidewatch_model::{AlertEvent, Label, ScoredPost};

use crate::baselines::{run_rule, HuginnPeak, MeltwaterSpike, RuleAlert};
use crate::dev::{read_dev_set, read_posts, DevError, DevSet};
use crate::dev_scoring::{score_dev, DevAlert, DevReport};
use crate::pipeline::{detect, score_posts};
use crate::signitrend::{pair_trend_alerts, PostAlert};

/// The set with each file's scored posts (file order of the set).
pub struct LoadedDev {
    pub set: DevSet,
    pub files: Vec<(String, Vec<ScoredPost>)>,
}

/// Reads the set and scores every file's posts with its watches.
pub fn load_dev(dir: &Path) -> Result<LoadedDev, anyhow::Error> {
    let mut set = read_dev_set(dir)?;
    let mut files = Vec::new();
    for file in set.files.clone() {
        let posts = read_posts(&dir.join(&file.name))?;
        set.attach_times(&file.name, &posts);
        let scored = score_posts(posts, &file.watches)?;
        files.push((file.name.clone(), scored));
    }
    Ok(LoadedDev { set, files })
}

/// The detector's events over every file (one detector per file).
pub fn detect_dev(
    loaded: &LoadedDev,
    config: &DetectorConfig,
) -> Result<Vec<AlertEvent>, DevError> {
    let mut events = Vec::new();
    for (name, scored) in &loaded.files {
        let found = detect(scored, config).map_err(|reason| DevError::Post {
            path: name.clone(),
            line: 0,
            reason,
        })?;
        events.extend(found);
    }
    Ok(events)
}

fn window_alerts(alerts: &[RuleAlert]) -> Vec<DevAlert> {
    alerts
        .iter()
        .map(|alert| DevAlert {
            watch: alert.watch.clone(),
            at: alert.at,
            post_ids: Vec::new(),
        })
        .collect()
}

fn post_alerts(alerts: Vec<PostAlert>) -> Vec<DevAlert> {
    alerts
        .into_iter()
        .map(|alert| DevAlert {
            watch: alert.watch,
            at: alert.at,
            post_ids: alert.post_ids,
        })
        .collect()
}

/// The peer rules' reports on the set.
pub fn dev_peer_reports(loaded: &LoadedDev) -> Vec<DevReport> {
    let mut meltwater_negative = Vec::new();
    let mut meltwater = Vec::new();
    let mut huginn = Vec::new();
    let mut pairs = Vec::new();
    for (_, scored) in &loaded.files {
        let times = |negative_only: bool| -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
            let posts = scored
                .iter()
                .filter(|post| !negative_only || post.label == Label::Negative);
            posts
                .flat_map(|post| {
                    let at = post.post.created_at;
                    post.watches.iter().map(move |watch| (watch.clone(), at))
                })
                .collect()
        };
        meltwater_negative.extend(run_rule(&MeltwaterSpike::default(), &times(true)));
        meltwater.extend(run_rule(&MeltwaterSpike::default(), &times(false)));
        huginn.extend(run_rule(&HuginnPeak::default(), &times(false)));
        pairs.extend(pair_trend_alerts(scored));
    }
    let set = &loaded.set;
    vec![
        score_dev(
            "meltwater-style on negative posts (hour ≥ 3× previous 12 h, ≥ 10)",
            &window_alerts(&meltwater_negative),
            set,
        ),
        score_dev(
            "meltwater-style on all posts",
            &window_alerts(&meltwater),
            set,
        ),
        score_dev(
            "huginn-style peak (15 min > mean + 3σ)",
            &window_alerts(&huginn),
            set,
        ),
        score_dev(
            "signitrend-style term pairs (5 min, threshold 6)",
            &post_alerts(pairs),
            set,
        ),
    ]
}

/// The detector's report for its events.
pub fn dev_detector_report(events: &[AlertEvent], set: &DevSet) -> DevReport {
    score_dev(
        "tidewatch detector (first firing per story)",
        &DevAlert::from_events(events),
        set,
    )
}
