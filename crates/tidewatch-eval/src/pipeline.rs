//! The in-process evaluation: tweets → canonical posts → score (watches, sentiment) → detector
//! and baseline rules → reports; the same code path as `tidewatch backtest`.
//!
//! Guarantees: posts are ordered by `created_at` with ties in input order (a stable sort, as
//! backtest does), each (watch, post) match is one `WatchedPost` for `Detector::observe`, and
//! after the last post the clock advances 24 hours so every story ends; so the events equal
//! what `tidewatch backtest` prints for the same posts and `[detect]`. No clock, no IO.

use chrono::Duration;
use tidewatch_detect::{Detector, DetectorConfig};
use tidewatch_model::{AlertEvent, Post, ScoredPost, Topics, WatchedPost};
use tidewatch_score::{ScoreTransform, WatchConfig, WatchMatcher, DEFAULT_PARENT_MEMORY};

use crate::baselines::{run_rule, HuginnPeak, MeltwaterSpike};
use crate::scoring::{score, About, Report, ScoredAlert, WatchSpans};
use crate::signitrend::pair_trend_alerts;
use crate::stories::Story;

/// How far past the last post the clock runs (as in `tidewatch backtest`).
pub const DRAIN_HOURS: i64 = 24;

/// Scores the posts in event order (stable: ties keep input order).
pub fn score_posts(
    mut posts: Vec<Post>,
    watches: &[WatchConfig],
) -> Result<Vec<ScoredPost>, tidewatch_score::WatchError> {
    posts.sort_by_key(|post| post.created_at);
    let matcher = WatchMatcher::new(watches)?;
    let mut scorer =
        ScoreTransform::new(matcher, Topics::default()).with_parent_memory(DEFAULT_PARENT_MEMORY);
    Ok(posts.into_iter().map(|post| scorer.score(post)).collect())
}

/// The detector's events over scored posts, exactly as `tidewatch backtest` produces them.
pub fn detect(scored: &[ScoredPost], config: &DetectorConfig) -> Result<Vec<AlertEvent>, String> {
    let mut detector = Detector::new(config.clone())?;
    let mut events = Vec::new();
    for post in scored {
        for watch in &post.watches {
            let watched = WatchedPost {
                watch: watch.clone(),
                scored: post.clone(),
            };
            events.extend(detector.observe(&watched));
        }
    }
    if let Some(last) = scored.last() {
        events.extend(detector.advance_to(last.post.created_at + Duration::hours(DRAIN_HOURS)));
    }
    Ok(events)
}

/// (watch, time) of every match, in event order.
pub fn watched_times(scored: &[ScoredPost]) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    let pairs = scored.iter().flat_map(|post| {
        let at = post.post.created_at;
        post.watches.iter().map(move |watch| (watch.clone(), at))
    });
    pairs.collect()
}

/// First and last post of each watch.
pub fn watch_spans(scored: &[ScoredPost]) -> WatchSpans {
    let mut spans = WatchSpans::new();
    for (watch, at) in watched_times(scored) {
        let span = spans.entry(watch).or_insert((at, at));
        span.0 = span.0.min(at);
        span.1 = span.1.max(at);
    }
    spans
}

/// The reports of the Huginn-style, Meltwater-style (all posts, negative posts) and
/// SigniTrend-style (term pairs) rules on the same watched posts.
pub fn baseline_reports(scored: &[ScoredPost], stories: &[Story]) -> Vec<Report> {
    let times = watched_times(scored);
    let spans = watch_spans(scored);
    let huginn = run_rule(&HuginnPeak::default(), &times);
    let meltwater = run_rule(&MeltwaterSpike::default(), &times);
    let negative: Vec<ScoredPost> = scored
        .iter()
        .filter(|post| post.label == tidewatch_model::Label::Negative)
        .cloned()
        .collect();
    let meltwater_negative = run_rule(&MeltwaterSpike::default(), &watched_times(&negative));
    let pairs = pair_trend_alerts(scored);
    let pairs: Vec<ScoredAlert> = pairs
        .into_iter()
        .map(|alert| ScoredAlert {
            watch: alert.watch,
            at: alert.at,
            about: About::Posts(alert.post_ids),
        })
        .collect();
    vec![
        score(
            "huginn peak (15 min counts > mean + 3σ of 14 days)",
            &ScoredAlert::from_rule(&huginn),
            stories,
            &spans,
        ),
        score(
            "meltwater spike (last hour ≥ 3× hourly mean of previous 12 h, ≥ 10)",
            &ScoredAlert::from_rule(&meltwater),
            stories,
            &spans,
        ),
        score(
            "meltwater spike on negative posts",
            &ScoredAlert::from_rule(&meltwater_negative),
            stories,
            &spans,
        ),
        score(
            "signitrend-style term pairs (5 min, threshold 6)",
            &pairs,
            stories,
            &spans,
        ),
    ]
}

/// The detector's report for its events.
pub fn detector_report(events: &[AlertEvent], scored: &[ScoredPost], stories: &[Story]) -> Report {
    score(
        "tidewatch detector (firing events)",
        &ScoredAlert::from_events(events),
        stories,
        &watch_spans(scored),
    )
}
