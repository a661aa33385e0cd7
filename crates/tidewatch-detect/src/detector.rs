//! The detector: watched posts in, alert events out, in event time.
//!
//! Guarantees: [`Detector`] does no IO and reads no clock; its output depends only on the
//! sequence of `observe` / `advance_to` calls (watches are kept in a `BTreeMap`, nothing iterates
//! a hash map), so a replay gives the same events and a restored snapshot (the detector is serde)
//! continues exactly where it stopped. Per watch, memory is bounded by the configuration: one
//! fixed hashed table, one fixed seasonal baseline, a fixed dedup window, at most
//! `max_stories_per_watch` stories of bounded size. A story fires at most once while it is open;
//! it resolves only after its significance stayed below `clear_threshold` for
//! `min_quiet_seconds` of event time. Late posts count in the current epoch.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidewatch_model::{AlertEvent, PostKind, WatchedPost};

use crate::baseline::WatchSignals;
use crate::config::DetectorConfig;
use crate::scratch::Scratch;
use crate::story::Phase;
use crate::watch::WatchState;

/// Detects rising stories per watch. Serialise it to snapshot the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detector {
    config: DetectorConfig,
    watches: BTreeMap<String, WatchState>,
    /// Buffers reused from post to post (not state: never serialised, never compared).
    #[serde(skip)]
    scratch: Scratch,
}

impl Detector {
    /// A detector with no history. The configuration must be valid (see
    /// [`DetectorConfig::validate`]).
    pub fn new(config: DetectorConfig) -> Result<Detector, String> {
        config.validate()?;
        Ok(Detector {
            config,
            watches: BTreeMap::new(),
            scratch: Scratch::default(),
        })
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Counts one (watch, post) match and returns the events it causes: resolutions of epochs
    /// its event time closes first, then a firing or an update of the story it belongs to.
    pub fn observe(&mut self, watched: &WatchedPost) -> Vec<AlertEvent> {
        let post = &watched.scored.post;
        if post.kind == PostKind::Delete {
            return Vec::new();
        }
        let config = &self.config;
        let epoch = post
            .created_at
            .timestamp()
            .div_euclid(config.epoch_seconds as i64);
        if !self.watches.contains_key(&watched.watch) {
            let state = WatchState::new(config, epoch);
            self.watches.insert(watched.watch.clone(), state);
        }
        let state = self
            .watches
            .get_mut(&watched.watch)
            .expect("the watch was just inserted");
        let mut events = state.advance(config, &watched.watch, epoch);
        if let Some(event) = state.count(config, &watched.watch, watched, &mut self.scratch) {
            events.push(event);
        }
        events
    }

    /// Closes every epoch that ends at or before `now` (event time) in every watch, and returns
    /// the resolutions and updates that causes, watches in name order.
    pub fn advance_to(&mut self, now: DateTime<Utc>) -> Vec<AlertEvent> {
        let epoch = now.timestamp().div_euclid(self.config.epoch_seconds as i64);
        let config = &self.config;
        let mut events = Vec::new();
        for (watch, state) in &mut self.watches {
            events.extend(state.advance(config, watch, epoch));
        }
        events
    }

    /// The whole-watch signals of the watch's current epoch (None for an unseen watch).
    pub fn signals(&self, watch: &str) -> Option<WatchSignals> {
        let state = self.watches.get(watch)?;
        Some(
            state
                .baseline
                .signals(state.epoch * self.config.epoch_seconds as i64),
        )
    }

    /// Open (fired, not yet resolved) story ids of a watch, oldest first.
    pub fn open_stories(&self, watch: &str) -> Vec<String> {
        self.watches.get(watch).map_or_else(Vec::new, |state| {
            let open = state
                .stories
                .iter()
                .filter(|story| story.phase == Phase::Open);
            open.map(|story| story.id.clone()).collect()
        })
    }

    /// An upper bound on the bytes of state held per watch, from the configuration alone.
    pub fn state_bound_per_watch(&self) -> usize {
        WatchState::size_bound(&self.config)
    }

    /// The bytes of state held for `watch` now, counted as [`Detector::state_bound_per_watch`]
    /// counts them (0 for an unseen watch).
    pub fn state_size(&self, watch: &str) -> usize {
        self.watches.get(watch).map_or(0, WatchState::size)
    }
}
