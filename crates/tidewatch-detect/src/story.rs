//! Stories: the unit that fires, updates and resolves.
//!
//! Guarantees: a story's id is a stable hash of (watch, first significant key, epoch it was
//! born in), so replaying the same posts gives the same ids; every list a story holds is capped
//! (keys, terms, evidence), so a story has bounded size however many posts join it; evidence is
//! the first post, then the posts with most reach (ties: earliest first); severity is `info` for
//! a story that is not more negative than its watch usually is, and never goes down while the
//! story is open.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidewatch_model::{AlertEvent, AlertState, Label, Severity, WIRE_VERSION};

use crate::config::DetectorConfig;
use crate::tokens::stable_hash;

/// Distinct authors counted exactly per story; beyond this the count saturates.
pub(crate) const MAX_STORY_AUTHORS: usize = 64;

/// Significant keys remembered per story.
pub(crate) const MAX_STORY_KEYS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// Unusual but below the firing threshold (or the watch is still warming up): not paged.
    Candidate,
    /// Fired; it will be resolved.
    Open,
}

/// A watch's usual negativity (its baselines).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Usual {
    pub(crate) negative_share: f64,
    pub(crate) compound: f64,
    /// Whether the whole watch is unusually busy for the hour of day right now.
    pub(crate) volume_surge: bool,
}

/// What the detector knows about one post when it joins a story.
pub(crate) struct PostFacts<'a> {
    pub(crate) id: &'a str,
    pub(crate) at: DateTime<Utc>,
    pub(crate) label: Label,
    pub(crate) compound: Option<f64>,
    pub(crate) reach: u64,
    pub(crate) tokens: &'a [String],
    /// A stable hash of the author (of the source and post id when the author is unknown).
    pub(crate) author: u64,
}

/// Which way a story leans against its watch's usual sentiment ([`Story::leaning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leaning {
    Negative,
    Positive,
    Neither,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Story {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) phase: Phase,
    pub(crate) keys: Vec<u64>,
    /// Terms with the number of the story's posts that contain them, in order of arrival.
    pub(crate) terms: Vec<(String, u64)>,
    pub(crate) first_post_id: String,
    pub(crate) first_post_at: DateTime<Utc>,
    pub(crate) fired_at: Option<DateTime<Utc>>,
    pub(crate) posts: u64,
    pub(crate) scored: u64,
    pub(crate) negatives: u64,
    pub(crate) compound_sum: f64,
    pub(crate) reach: u64,
    /// Distinct authors of the story's posts (hashes, sorted, at most `MAX_STORY_AUTHORS`).
    pub(crate) authors: Vec<u64>,
    /// (reach, arrival number, post id), most reach first; the first post is not in it.
    pub(crate) evidence: Vec<(u64, u64, String)>,
    /// Peak significance so far (0 before any), and the baseline of the key at the peak.
    /// Every float in the state stays finite, so a JSON snapshot restores it exactly.
    pub(crate) score: f64,
    pub(crate) baseline: f64,
    pub(crate) epoch_posts: u64,
    pub(crate) prev_epoch_posts: u64,
    pub(crate) peak_epoch_posts: u64,
    /// The epoch the story was born in.
    pub(crate) born_epoch: i64,
    /// Start of the first of the current run of quiet epochs, seconds since 1970.
    pub(crate) quiet_since: Option<i64>,
    pub(crate) last_event_posts: u64,
    pub(crate) severity: Severity,
}

impl Story {
    pub(crate) fn new(
        seq: u64,
        watch: &str,
        first_key: u64,
        epoch: i64,
        first: &PostFacts<'_>,
    ) -> Story {
        let id_source = format!("{watch}\u{0}{first_key:016x}\u{0}{epoch}");
        Story {
            seq,
            id: format!("{:016x}", stable_hash(id_source.as_bytes())),
            phase: Phase::Candidate,
            keys: Vec::new(),
            terms: Vec::new(),
            first_post_id: first.id.to_string(),
            first_post_at: first.at,
            fired_at: None,
            posts: 0,
            scored: 0,
            negatives: 0,
            compound_sum: 0.0,
            reach: 0,
            authors: Vec::new(),
            evidence: Vec::new(),
            score: 0.0,
            baseline: 0.0,
            epoch_posts: 0,
            prev_epoch_posts: 0,
            peak_epoch_posts: 0,
            born_epoch: epoch,
            quiet_since: None,
            last_event_posts: 0,
            severity: Severity::Info,
        }
    }

    /// Bytes held, counted as [`Story::size_bound`] counts them.
    pub(crate) fn size(&self) -> usize {
        let terms: usize = self.terms.iter().map(|(term, _)| 32 + term.len()).sum();
        let evidence: usize = self.evidence.iter().map(|(_, _, id)| 40 + id.len()).sum();
        512 + self.id.len()
            + self.first_post_id.len()
            + (self.keys.len() + self.authors.len()) * 8
            + terms
            + evidence
    }

    /// The most [`Story::size`] can be, with terms and ids at most `term_bytes` / `id_bytes`.
    pub(crate) fn size_bound(config: &DetectorConfig, term_bytes: usize, id_bytes: usize) -> usize {
        512 + 16
            + id_bytes
            + (MAX_STORY_KEYS + MAX_STORY_AUTHORS) * 8
            + config.max_story_terms * (32 + term_bytes)
            + config.max_evidence * (40 + id_bytes)
    }

    /// Adds a significant key and its terms; false when the story already holds its maximum.
    pub(crate) fn add_key(&mut self, key: u64, terms: &[&str], max_terms: usize) -> bool {
        if self.keys.contains(&key) {
            return true;
        }
        if self.keys.len() >= MAX_STORY_KEYS {
            return false;
        }
        self.keys.push(key);
        for term in terms {
            if self.terms.len() < max_terms && !self.terms.iter().any(|(seen, _)| seen == term) {
                self.terms.push((term.to_string(), 0));
            }
        }
        true
    }

    /// Counts a post that belongs to the story.
    pub(crate) fn add_post(&mut self, post: &PostFacts<'_>, max_evidence: usize) {
        self.posts += 1;
        self.epoch_posts += 1;
        self.reach = self.reach.saturating_add(post.reach);
        if let Err(at) = self.authors.binary_search(&post.author) {
            if self.authors.len() < MAX_STORY_AUTHORS {
                self.authors.insert(at, post.author);
            }
        }
        if let (Some(compound), true) = (post.compound, post.label != Label::Unscored) {
            self.scored += 1;
            self.compound_sum += compound;
            self.negatives += u64::from(post.label == Label::Negative);
        }
        for (term, count) in &mut self.terms {
            if post.tokens.iter().any(|token| token == term) {
                *count += 1;
            }
        }
        if post.id != self.first_post_id {
            let entry = (post.reach, self.posts, post.id.to_string());
            let at = self.evidence.partition_point(|(reach, order, _)| {
                (*reach, u64::MAX - order) >= (entry.0, u64::MAX - entry.1)
            });
            if at < max_evidence.saturating_sub(1) {
                self.evidence.insert(at, entry);
                self.evidence.truncate(max_evidence.saturating_sub(1));
            }
        }
    }

    /// The ids of the posts the story remembers: its first post, then its evidence.
    pub(crate) fn post_ids(&self) -> impl Iterator<Item = &str> {
        let evidence = self.evidence.iter().map(|(_, _, id)| id.as_str());
        std::iter::once(self.first_post_id.as_str()).chain(evidence)
    }

    /// Whether `id` is one of the posts the story remembers.
    pub(crate) fn holds_post(&self, id: &str) -> bool {
        self.post_ids().any(|known| known == id)
    }

    /// Adds the counts of `other` (a candidate found to be this story again): posts, sentiment,
    /// reach, authors (still at most `MAX_STORY_AUTHORS`), and its peak significance.
    pub(crate) fn absorb_counts(&mut self, other: &Story) {
        self.posts += other.posts;
        self.epoch_posts += other.epoch_posts;
        self.scored += other.scored;
        self.negatives += other.negatives;
        self.compound_sum += other.compound_sum;
        self.reach = self.reach.saturating_add(other.reach);
        for author in &other.authors {
            if let Err(at) = self.authors.binary_search(author) {
                if self.authors.len() < MAX_STORY_AUTHORS {
                    self.authors.insert(at, *author);
                }
            }
        }
        self.note_score(other.score, other.baseline);
    }

    /// Records a significance seen for one of the story's keys.
    pub(crate) fn note_score(&mut self, score: f64, baseline: f64) {
        if score > self.score {
            (self.score, self.baseline) = (score, baseline);
        }
    }

    pub(crate) fn negative_share(&self) -> f64 {
        if self.scored == 0 {
            0.0
        } else {
            self.negatives as f64 / self.scored as f64
        }
    }

    /// Terms, most frequent in the story's posts first (ties: first added first).
    pub(crate) fn ranked_terms(&self) -> Vec<String> {
        let mut ranked: Vec<(usize, &(String, u64))> = self.terms.iter().enumerate().collect();
        ranked.sort_by_key(|(index, (_, count))| (u64::MAX - count, *index));
        ranked
            .into_iter()
            .map(|(_, (term, _))| term.clone())
            .collect()
    }

    /// Which way the story leans against its watch's usual sentiment: negative (a negative
    /// share `negativity_margin` above the usual one, or a mean compound that far below it),
    /// positive (no more negative posts than usual and a mean compound `negativity_margin`
    /// above the usual one), else neither. Unscored stories (a language VADER does not score)
    /// lean neither way.
    pub(crate) fn leaning(&self, config: &DetectorConfig, usual: Usual) -> Leaning {
        if self.scored == 0 {
            return Leaning::Neither;
        }
        let margin = config.negativity_margin;
        let share = self.negative_share();
        let compound = self.compound_sum / self.scored as f64;
        if share >= usual.negative_share + margin || compound <= usual.compound.min(0.0) - margin {
            return Leaning::Negative;
        }
        if share <= usual.negative_share && compound >= usual.compound.max(0.0) + margin {
            return Leaning::Positive;
        }
        Leaning::Neither
    }

    /// Severity from significance, growth (of the story, or of the whole watch against its
    /// hour of day), reach and negativity against the watch's usual negative share and mean
    /// compound. A positive story (no more negative posts than usual, mean compound
    /// `negativity_margin` above the usual one) is `info`; a negative one (negative share that
    /// far above usual, or mean compound that far below) with two of strong / wide / growing /
    /// very negative is `critical`; anything else, including a neutral backlash, is `warning`.
    /// Never lower than the story's severity so far.
    #[cfg(test)]
    pub(crate) fn assess(&self, config: &DetectorConfig, usual: Usual) -> Severity {
        self.assess_leaning(config, usual, self.leaning(config, usual))
    }

    /// [`Story::assess`] for a story whose [`Story::leaning`] is already known.
    pub(crate) fn assess_leaning(
        &self,
        config: &DetectorConfig,
        usual: Usual,
        leaning: Leaning,
    ) -> Severity {
        let margin = config.negativity_margin;
        let share = self.negative_share();
        let scored = self.scored > 0;
        let negative = leaning == Leaning::Negative;
        let computed = if leaning == Leaning::Positive {
            Severity::Info
        } else {
            let strong = self.score >= 2.0 * config.threshold;
            let wide = self.reach >= config.critical_reach;
            let growing = (self.epoch_posts >= 10 && self.epoch_posts >= 2 * self.prev_epoch_posts)
                || usual.volume_surge;
            let angry = scored && share >= usual.negative_share + 3.0 * margin;
            let points = [strong, wide, growing, angry];
            if negative && points.iter().filter(|hit| **hit).count() >= 2 {
                Severity::Critical
            } else {
                Severity::Warning
            }
        };
        computed.max(self.severity)
    }

    /// The alert event for this story in `state`.
    pub(crate) fn event(
        &self,
        watch: &str,
        state: AlertState,
        config: &DetectorConfig,
    ) -> AlertEvent {
        let terms = self.ranked_terms();
        let title = terms.iter().take(3).cloned().collect::<Vec<_>>().join(" ");
        let mut post_ids = vec![self.first_post_id.clone()];
        post_ids.extend(self.evidence.iter().map(|(_, _, id)| id.clone()));
        post_ids.truncate(config.max_evidence);
        AlertEvent {
            v: WIRE_VERSION,
            story_id: self.id.clone(),
            watch: watch.to_string(),
            state,
            severity: self.severity,
            fired_at: self.fired_at.unwrap_or(self.first_post_at),
            first_post_at: self.first_post_at,
            title,
            terms,
            posts: self.posts,
            negative_share: self.negative_share(),
            score: self.score,
            baseline: self.baseline,
            threshold: config.threshold,
            post_ids,
            first_post_id: self.first_post_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts<'a>(id: &'a str, reach: u64, label: Label, tokens: &'a [String]) -> PostFacts<'a> {
        PostFacts {
            id,
            at: Utc.with_ymd_and_hms(2015, 2, 23, 18, 0, 0).unwrap(),
            label,
            compound: Some(if label == Label::Negative { -0.6 } else { 0.6 }),
            reach,
            tokens,
            author: stable_hash(id.as_bytes()),
        }
    }

    #[test]
    fn ids_are_stable_and_evidence_is_first_then_reach() {
        let tokens = vec!["flight".to_string(), "cancelled".to_string()];
        let first = facts("p0", 5, Label::Negative, &tokens);
        let mut story = Story::new(0, "acme", 42, 7, &first);
        assert_eq!(story.id, Story::new(9, "acme", 42, 7, &first).id);
        assert_ne!(story.id, Story::new(0, "acme", 42, 8, &first).id);
        assert!(story.add_key(42, &["flight", "cancelled"], 8));
        story.add_post(&first, 3);
        for (id, reach) in [("p1", 10), ("p2", 900), ("p3", 10), ("p4", 50)] {
            story.add_post(&facts(id, reach, Label::Negative, &tokens[..1]), 3);
        }
        story.note_score(7.5, 0.2);
        let config = DetectorConfig {
            max_evidence: 3,
            ..DetectorConfig::default()
        };
        let event = story.event("acme", AlertState::Firing, &config);
        assert_eq!(event.post_ids, vec!["p0", "p2", "p4"]);
        assert_eq!(event.terms, vec!["flight", "cancelled"]);
        assert_eq!(event.title, "flight cancelled");
        assert_eq!(
            (event.posts, event.negative_share, event.score),
            (5, 1.0, 7.5)
        );
    }

    #[test]
    fn a_twin_adds_its_counts_and_authors_once() {
        let tokens = vec!["refund".to_string()];
        let mut open = Story::new(0, "acme", 1, 0, &facts("p0", 10, Label::Negative, &tokens));
        open.add_post(&facts("p0", 10, Label::Negative, &tokens), 3);
        open.add_post(&facts("p1", 20, Label::Neutral, &tokens), 3);
        open.note_score(8.0, 0.5);
        let mut twin = Story::new(1, "acme", 2, 1, &facts("p1", 20, Label::Neutral, &tokens));
        twin.add_post(&facts("p1", 20, Label::Neutral, &tokens), 3);
        twin.add_post(&facts("p2", 5, Label::Negative, &tokens), 3);
        twin.note_score(9.5, 0.1);
        assert!(open.holds_post("p1") && !open.holds_post("p2"));
        assert_eq!(twin.post_ids().collect::<Vec<_>>(), vec!["p1", "p2"]);
        open.absorb_counts(&twin);
        assert_eq!((open.posts, open.scored, open.negatives), (4, 4, 2));
        assert_eq!(open.reach, 55);
        // p1's author is counted once; p2's is new.
        assert_eq!(open.authors.len(), 3);
        assert_eq!((open.score, open.baseline), (9.5, 0.1));
    }

    #[test]
    fn positive_stories_are_info_neutral_ones_warn_and_severity_never_drops() {
        let tokens = vec!["launch".to_string()];
        let config = DetectorConfig::default();
        let mut story = Story::new(0, "acme", 1, 0, &facts("p", 0, Label::Positive, &tokens));
        for index in 0..50 {
            story.add_post(
                &facts(&format!("p{index}"), 1_000_000, Label::Positive, &tokens),
                10,
            );
        }
        story.note_score(40.0, 0.0);
        let usual = Usual {
            negative_share: 0.2,
            compound: 0.1,
            volume_surge: false,
        };
        assert_eq!(story.assess(&config, usual), Severity::Info);
        let mut neutral = story.clone();
        neutral.compound_sum = 0.0;
        assert_eq!(neutral.assess(&config, usual), Severity::Warning);
        let mut angry = story.clone();
        (angry.negatives, angry.compound_sum) = (50, -30.0);
        assert_eq!(angry.assess(&config, usual), Severity::Critical);
        angry.severity = Severity::Critical;
        angry.negatives = 0;
        angry.compound_sum = 30.0;
        assert_eq!(angry.assess(&config, usual), Severity::Critical);
    }
}
