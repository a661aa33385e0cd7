//! The `[[source]]` entry of kind `simulate` (TOML), and how it becomes a [`SimulatorConfig`].
//!
//! Guarantees: every key has a default (an entry with only `kind` and `name` runs the demo
//! stream: three brands, the story on `acme-air` 20 s after start, 48 h of history); unknown
//! keys are rejected by serde; [`SimulateSource::simulator_config`] is pure (the start time is
//! passed in).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{SimulatedBrand, SimulatorConfig, StoryPlan};

/// `[[source]] kind = "simulate"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulateSource {
    pub name: String,
    /// Seed of the stream: same seed, same posts.
    pub seed: u64,
    /// New threads per brand per hour at the daily peak.
    pub peak_threads_per_hour: f64,
    /// The brands (default: Acme Air, Globex Bank, Initech).
    pub brands: Vec<SimulatedBrand>,
    /// The watch the injected story is about; empty: no story.
    pub story_watch: String,
    /// Seconds after the start of the run at which the story's first post appears.
    pub story_delay_seconds: u64,
    /// Hours of history published at start (in event time, as fast as possible), before the
    /// stream goes live.
    pub backfill_hours: u64,
    /// Seconds between two live batches.
    pub tick_seconds: u64,
}

impl Default for SimulateSource {
    fn default() -> SimulateSource {
        SimulateSource {
            name: "simulate".to_string(),
            seed: 7,
            peak_threads_per_hour: SimulatorConfig::default().peak_threads_per_hour,
            brands: SimulatedBrand::defaults(),
            story_watch: "acme-air".to_string(),
            story_delay_seconds: 20,
            backfill_hours: 48,
            tick_seconds: 1,
        }
    }
}

impl SimulateSource {
    /// The simulator of a run that starts (live) at `started_at`.
    pub fn simulator_config(&self, started_at: DateTime<Utc>) -> SimulatorConfig {
        let story = (!self.story_watch.is_empty()).then(|| StoryPlan {
            watch: self.story_watch.clone(),
            starts_at: started_at + Duration::seconds(self.story_delay_seconds as i64),
        });
        SimulatorConfig {
            seed: self.seed,
            brands: self.brands.clone(),
            peak_threads_per_hour: self.peak_threads_per_hour,
            story,
        }
    }

    /// Where the backfill of a run that starts at `started_at` begins.
    pub fn backfill_from(&self, started_at: DateTime<Utc>) -> DateTime<Utc> {
        started_at - Duration::hours(self.backfill_hours as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn defaults_give_the_demo_and_unknown_keys_fail() {
        let source: SimulateSource = serde_json::from_str(r#"{"name":"sim"}"#).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
        let config = source.simulator_config(start);
        let story = config.story.unwrap();
        assert_eq!(story.watch, "acme-air");
        assert_eq!(story.starts_at, start + Duration::seconds(20));
        assert_eq!(config.brands.len(), 3);
        assert_eq!(source.backfill_from(start), start - Duration::hours(48));
        let error = serde_json::from_str::<SimulateSource>(r#"{"seeed":1}"#).unwrap_err();
        assert!(error.to_string().contains("seeed"), "{error}");
        let quiet: SimulateSource = serde_json::from_str(r#"{"story_watch":""}"#).unwrap();
        assert!(quiet.simulator_config(start).story.is_none());
    }
}
