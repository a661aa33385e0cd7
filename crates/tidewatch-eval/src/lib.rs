//! tidewatch's evaluation harness: replays real, labelled stories (the Twitter US Airline
//! Sentiment data set and its AL1–AL5 stories; the stories-dev set of rumours inside three news
//! events, [`dev`]) through the detector and through the anchors' rules (Huginn's
//! PeakDetector, a Meltwater-style spike alert, a SigniTrend-style term-pair rule), and scores
//! each: detected within 3 hours, delay, lead fraction, and alerts that match no story per
//! day.
//!
//! Guarantees: everything here is pure except [`read_tweets`] / [`read_stories`] (which read
//! from any `Read`); the in-process path ([`pipeline`]) is the code path of `tidewatch
//! backtest`, so its events equal the binary's for the same posts and config.

pub mod baselines;
pub mod dev;
pub mod dev_pipeline;
pub mod dev_scoring;
pub mod pipeline;
pub mod scoring;
pub mod signitrend;
pub mod stories;
pub mod tweets;

pub use baselines::{run_rule, HuginnPeak, MeltwaterSpike, RuleAlert, SpikeRule};
pub use scoring::{score, About, Report, ScoredAlert, StoryResult, WatchNoise, WatchSpans};
pub use stories::{read_stories, Story, StoryDefinition, DEFINITIONS};
pub use tweets::{airline_watches, read_tweets, Tweet, AIRLINES};

/// The detector settings evaluated on the airline data set: the detector's defaults (one
/// profile for every stream: slow scale with its Poisson gate, share-relative keys, merged
/// term/pair stories). Measured (`deploy/eval/airline`): AL1 lead 0.13, AL2 detected in
/// 1h44m (lead 0.80, by the "computer" story itself), AL5 missed, at most 0.40 unlabelled
/// alerts per watch per day.
pub fn airline_detect_config() -> tidewatch_detect::DetectorConfig {
    tidewatch_detect::DetectorConfig::default()
}

/// The TOML config for `tidewatch backtest`: the `[detect]` section (every key, with the given
/// values) and one `[[watch]]` per airline.
pub fn airline_config_toml(detect: &tidewatch_detect::DetectorConfig) -> Result<String, String> {
    #[derive(serde::Serialize)]
    struct Watch<'a> {
        name: &'a str,
        any: &'a [&'a str],
    }
    #[derive(serde::Serialize)]
    struct File<'a> {
        detect: &'a tidewatch_detect::DetectorConfig,
        watch: Vec<Watch<'a>>,
    }
    let watch = AIRLINES
        .iter()
        .map(|airline| Watch {
            name: airline.watch,
            any: airline.any,
        })
        .collect();
    let text = toml::to_string(&File { detect, watch }).map_err(|error| error.to_string())?;
    Ok(format!(
        "# tidewatch-eval: the airline data set's watches and the detector settings evaluated.\n\
         # The \"Delta\" rows of Tweets.csv are @JetBlue tweets, so `delta` follows JetBlue.\n{text}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_round_trips_through_toml() {
        let detect = airline_detect_config();
        detect.validate().unwrap();
        let text = airline_config_toml(&detect).unwrap();
        #[derive(serde::Deserialize)]
        struct File {
            detect: tidewatch_detect::DetectorConfig,
            watch: Vec<tidewatch_score::WatchConfig>,
        }
        let file: File = toml::from_str(&text).unwrap();
        assert_eq!(file.detect, detect);
        assert_eq!(file.watch, airline_watches());
    }
}
