//! A SigniTrend-style peer rule (Schubert, Weiler, Kriegel, KDD 2014) on term pairs: per watch,
//! every unordered pair of a post's cleaned terms is counted per epoch in a fixed-size hashed
//! table holding an EWMA and EW variance per bucket, and a pair whose count reaches
//! `(x − max(ewma, β)) / (sqrt(ewmvar) + β) ≥ threshold` is reported with the recent posts that
//! hold it.
//!
//! Guarantees: pure and in event time (posts in time order per watch); memory per watch is
//! fixed (the table, a ring of recent posts, a capped list of recent reports); a pair is
//! reported at most once per `refractory_epochs`, and a report whose posts mostly belong to a
//! report of the last `merge_epochs` is the same trend (not reported again), as SigniTrend
//! clusters co-trending pairs into one topic.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use tidewatch_detect::{clean_tokens, stable_hash};

/// An alert of a rule that names its posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostAlert {
    pub watch: String,
    pub at: DateTime<Utc>,
    pub post_ids: Vec<String>,
}

/// The rule's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PairTrend {
    pub epoch_seconds: i64,
    pub table_bits: u32,
    pub half_life_epochs: f64,
    pub beta: f64,
    pub threshold: f64,
    pub warmup_epochs: u64,
    pub refractory_epochs: i64,
    pub merge_epochs: i64,
    pub recent_posts: usize,
    pub max_evidence: usize,
}

impl Default for PairTrend {
    /// 5-minute epochs, 2^16 buckets, 2-hour half-life, β = 1, threshold 6 (the detector's
    /// own SigniTrend numbers), 12 hours of warm-up, a pair reported at most once a day.
    fn default() -> PairTrend {
        PairTrend {
            epoch_seconds: 300,
            table_bits: 16,
            half_life_epochs: 24.0,
            beta: 1.0,
            threshold: 6.0,
            warmup_epochs: 144,
            refractory_epochs: 288,
            merge_epochs: 24,
            recent_posts: 512,
            max_evidence: 10,
        }
    }
}

struct WatchTable {
    /// (count, EWMA, EW variance) per bucket.
    cells: Vec<[f32; 3]>,
    /// Buckets with a non-zero number (they learn when an epoch closes).
    live: Vec<usize>,
    epoch: i64,
    epochs: u64,
    /// (post id, pair keys) of the last posts.
    recent: VecDeque<(String, Vec<u64>)>,
    /// pair → epoch it was last reported in.
    reported: BTreeMap<u64, i64>,
    /// (epoch, post ids) of the last reports.
    reports: VecDeque<(i64, Vec<String>)>,
}

impl PairTrend {
    fn alpha(&self) -> f32 {
        (1.0 - 0.5f64.powf(1.0 / self.half_life_epochs)) as f32
    }

    fn close_epochs(&self, table: &mut WatchTable, epoch: i64) {
        let alpha = self.alpha();
        // Empty epochs in between teach every live bucket a zero (a long gap: at most a day).
        let steps = (epoch - table.epoch).clamp(0, 288);
        for _ in 0..steps {
            let cells = &mut table.cells;
            table.live.retain(|bucket| {
                let cell = &mut cells[*bucket];
                let delta = cell[0] - cell[1];
                cell[1] += alpha * delta;
                cell[2] = (1.0 - alpha) * (cell[2] + alpha * delta * delta);
                cell[0] = 0.0;
                let alive = cell[1] > 1e-3 || cell[2] > 1e-3;
                if !alive {
                    *cell = [0.0; 3];
                }
                alive
            });
            table.epochs += 1;
        }
        table.epoch = epoch;
        let horizon = epoch - self.refractory_epochs;
        table.reported.retain(|_, at| *at > horizon);
    }

    /// Runs the rule over one watch's posts `(id, time, text)` in time order.
    pub fn run_watch<'a>(
        &self,
        watch: &str,
        posts: impl Iterator<Item = (&'a str, DateTime<Utc>, &'a str)>,
    ) -> Vec<PostAlert> {
        let size = 1usize << self.table_bits;
        let mut table: Option<WatchTable> = None;
        let mut alerts = Vec::new();
        for (id, at, text) in posts {
            let epoch = at.timestamp().div_euclid(self.epoch_seconds);
            let table = table.get_or_insert_with(|| WatchTable {
                cells: vec![[0.0; 3]; size],
                live: Vec::new(),
                epoch,
                epochs: 0,
                recent: VecDeque::new(),
                reported: BTreeMap::new(),
                reports: VecDeque::new(),
            });
            if epoch > table.epoch {
                self.close_epochs(table, epoch);
            }
            let tokens = clean_tokens(text, 3, 16);
            let hashes: Vec<u64> = tokens
                .iter()
                .map(|token| stable_hash(token.as_bytes()))
                .collect();
            let mut pairs = Vec::new();
            for (i, a) in hashes.iter().enumerate() {
                for b in &hashes[i + 1..] {
                    let (low, high) = if a < b { (a, b) } else { (b, a) };
                    pairs.push(low.rotate_left(17) ^ high.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                }
            }
            pairs.sort_unstable();
            pairs.dedup();
            let mut best: Option<(f64, u64)> = None;
            for pair in &pairs {
                let bucket = (pair >> (64 - self.table_bits)) as usize;
                let cell = &mut table.cells[bucket];
                if *cell == [0.0; 3] {
                    table.live.push(bucket);
                }
                cell[0] += 1.0;
                let (count, ewma, var) =
                    (f64::from(cell[0]), f64::from(cell[1]), f64::from(cell[2]));
                let score = (count - ewma.max(self.beta)) / (var.max(0.0).sqrt() + self.beta);
                if best.is_none_or(|(top, _)| score > top) {
                    best = Some((score, *pair));
                }
            }
            if table.recent.len() >= self.recent_posts {
                table.recent.pop_front();
            }
            table.recent.push_back((id.to_string(), pairs));
            let Some((score, pair)) = best else { continue };
            if score < self.threshold || table.epochs < self.warmup_epochs {
                continue;
            }
            if table.reported.contains_key(&pair) {
                continue;
            }
            table.reported.insert(pair, epoch);
            let mut evidence: Vec<String> = table
                .recent
                .iter()
                .rev()
                .filter(|(_, keys)| keys.binary_search(&pair).is_ok())
                .take(self.max_evidence)
                .map(|(id, _)| id.clone())
                .collect();
            evidence.reverse();
            let horizon = epoch - self.merge_epochs;
            while table.reports.front().is_some_and(|(at, _)| *at < horizon) {
                table.reports.pop_front();
            }
            let same_trend = table.reports.iter().any(|(_, ids)| {
                let shared = evidence.iter().filter(|id| ids.contains(id)).count();
                2 * shared >= evidence.len()
            });
            if same_trend {
                continue;
            }
            table.reports.push_back((epoch, evidence.clone()));
            alerts.push(PostAlert {
                watch: watch.to_string(),
                at,
                post_ids: evidence,
            });
        }
        alerts
    }
}

/// The rule's alerts (default settings) on every watch of scored posts, in time order.
pub fn pair_trend_alerts(scored: &[tidewatch_model::ScoredPost]) -> Vec<PostAlert> {
    let mut watches: Vec<&String> = scored.iter().flat_map(|post| &post.watches).collect();
    watches.sort();
    watches.dedup();
    let mut alerts = Vec::new();
    for watch in watches {
        let posts = scored
            .iter()
            .filter(|post| post.watches.contains(watch))
            .map(|post| {
                let post = &post.post;
                (post.source_id.as_str(), post.created_at, post.text.as_str())
            });
        alerts.extend(PairTrend::default().run_watch(watch, posts));
    }
    alerts.sort_by_key(|alert| alert.at);
    alerts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_pair_burst_is_reported_once_with_its_posts() {
        let start = DateTime::from_timestamp(1_420_000_000, 0).unwrap();
        let mut posts: Vec<(String, DateTime<Utc>, String)> = Vec::new();
        // 14 hours of varied chatter, then 12 posts of a new pair in five minutes.
        for index in 0..14 * 60 {
            let at = start + chrono::Duration::minutes(index);
            posts.push((
                format!("b{index}"),
                at,
                format!("chatter word{} about things{}", index % 7, index % 5),
            ));
        }
        let burst = start + chrono::Duration::minutes(14 * 60);
        for index in 0..12 {
            let at = burst + chrono::Duration::seconds(20 * index);
            posts.push((format!("s{index}"), at, "gunman trocadero".to_string()));
        }
        let rule = PairTrend::default();
        let alerts = rule.run_watch(
            "w",
            posts
                .iter()
                .map(|(id, at, text)| (id.as_str(), *at, text.as_str())),
        );
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert!(alerts[0].post_ids.iter().all(|id| id.starts_with('s')));
        assert!(alerts[0].at >= burst);
    }
}
