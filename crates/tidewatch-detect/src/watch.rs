//! One watch's detection state: its significance table, baselines, dedup window, recent posts
//! and stories, advanced epoch by epoch in event time.
//!
//! Guarantees: every collection here is capped by the configuration (table size, dedup window,
//! `recent_posts`, `max_stories_per_watch`, and per-story caps); nothing iterates a hash map, so
//! the results depend only on the order of calls. A story fires once (candidate → open), then
//! only updates, and resolves only after `min_quiet_seconds` of quiet epochs (significance
//! below `clear_threshold`, and the story's posts per epoch under `clear_volume_fraction` of
//! its busiest epoch or under twice what its keys usually count). A key whose earlier posts
//! are mostly one story's never starts a second story (a term and its pair are one story); a
//! slow-scale key starts a candidate only when its count is improbable for its usual rate.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tidewatch_model::{AlertEvent, AlertState, WatchedPost};

use crate::baseline::WatchBaseline;
use crate::config::DetectorConfig;
use crate::dedup::DedupWindow;
use crate::keys::{
    author_of, bounded_id_str, copy_key, post_keys_into, reach_of, thread_key, KeyOf, RecentPost,
    MAX_ID_BYTES,
};
use crate::owners::Owners;
use crate::scratch::Scratch;
use crate::story::{Leaning, Phase, PostFacts, Story, MAX_STORY_KEYS};
use crate::table::{SigTable, Significance};
use crate::tokens::{clean_tokens_into, stable_hash, MAX_TOKEN_CHARS};

/// Bytes of a watch's fixed-size parts besides the table (baselines, counters).
const FIXED_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WatchState {
    pub(crate) table: SigTable,
    pub(crate) baseline: WatchBaseline,
    pub(crate) dedup: DedupWindow,
    /// Index of the current epoch (start = index × epoch_seconds).
    pub(crate) epoch: i64,
    epochs_closed: u64,
    pub(crate) stories: Vec<Story>,
    /// The last posts seen, so that a new story can find its true first post.
    recent: VecDeque<RecentPost>,
    /// Significant key → the `seq` of the story that owns it.
    owners: Owners,
    next_seq: u64,
}

impl WatchState {
    pub(crate) fn new(config: &DetectorConfig, epoch: i64) -> WatchState {
        WatchState {
            table: SigTable::new(config.table_bits, config.hashes, config.scales()),
            baseline: WatchBaseline::new(config),
            dedup: DedupWindow::new(config.dedup_window, config.dedup_max_distance),
            epoch,
            epochs_closed: 0,
            stories: Vec::new(),
            recent: VecDeque::new(),
            owners: Owners::new(),
            next_seq: 0,
        }
    }

    /// Bytes of state held, counting each collection's entries (not allocator slack).
    pub(crate) fn size(&self) -> usize {
        let stories: usize = self.stories.iter().map(Story::size).sum();
        let recent: usize = self.recent.iter().map(RecentPost::size).sum();
        let owners = self.owners.len() * 16;
        self.table.memory_bytes() + FIXED_BYTES + self.dedup.len() * 32 + stories + recent + owners
    }

    /// The most [`WatchState::size`] can be under `config`, whatever the posts.
    pub(crate) fn size_bound(config: &DetectorConfig) -> usize {
        let tokens = config.max_tokens_per_post;
        let post_keys = tokens + tokens * tokens.saturating_sub(1) / 2 + 4;
        let text = MAX_TOKEN_CHARS * 4;
        let recent = 128 + MAX_ID_BYTES + tokens * (24 + text) + post_keys * 8;
        let story = Story::size_bound(config, text, MAX_ID_BYTES);
        let table = SigTable::bytes_for(config.table_bits);
        table
            + FIXED_BYTES
            + config.dedup_window * 32
            + config.recent_posts * recent
            + config.max_stories_per_watch * (story + MAX_STORY_KEYS * 16)
    }

    /// Closes epochs up to (not including) `target`; gaps longer than `max_gap_epochs` are
    /// simulated for that many empty epochs, then skipped.
    pub(crate) fn advance(
        &mut self,
        config: &DetectorConfig,
        watch: &str,
        target: i64,
    ) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        let mut closed = 0;
        while self.epoch < target {
            if closed > config.max_gap_epochs {
                self.epoch = target;
                break;
            }
            self.close_epoch(config, watch, &mut events);
            closed += 1;
        }
        events
    }

    fn close_epoch(&mut self, config: &DetectorConfig, watch: &str, events: &mut Vec<AlertEvent>) {
        let start = self.epoch * config.epoch_seconds as i64;
        let end = start + config.epoch_seconds as i64;
        let mut finished = Vec::new();
        for story in &mut self.stories {
            let significance: Vec<Significance> = story
                .keys
                .iter()
                .map(|key| self.table.significance(*key))
                .collect();
            let score = significance
                .iter()
                .map(|now| now.score)
                .fold(f64::MIN, f64::max);
            // Still busy: at least `clear_volume_fraction` of its busiest epoch, and twice what
            // its keys usually count (so a story over common words still ends).
            let usual = significance
                .iter()
                .map(|now| now.baseline)
                .fold(config.beta, f64::max);
            let posts = story.epoch_posts as f64;
            let busy = posts >= config.clear_volume_fraction * story.peak_epoch_posts as f64
                && posts >= 2.0 * usual;
            let active = match story.phase {
                Phase::Candidate => score >= config.candidate_threshold,
                Phase::Open => score >= config.clear_threshold || busy,
            };
            if active {
                story.quiet_since = None;
            } else {
                let since = *story.quiet_since.get_or_insert(start);
                if end - since >= config.min_quiet_seconds as i64 {
                    finished.push(story.seq);
                }
            }
            if story.phase == Phase::Candidate
                && self.epoch - story.born_epoch < config.candidate_freeze_epochs as i64
            {
                // A young candidate's own burst must not teach the table that it is normal.
                for key in &story.keys {
                    self.table.freeze(*key);
                }
            }
            story.peak_epoch_posts = story.peak_epoch_posts.max(story.epoch_posts);
            story.prev_epoch_posts = story.epoch_posts;
            story.epoch_posts = 0;
        }
        for seq in finished {
            let story = self.remove_story(seq);
            if story.phase == Phase::Open {
                events.push(story.event(watch, AlertState::Resolved, config));
            }
        }
        self.table.close_epoch();
        self.baseline.close_epoch(start);
        self.epochs_closed += 1;
        self.epoch += 1;
    }

    fn remove_story(&mut self, seq: u64) -> Story {
        let index = self.stories.iter().position(|story| story.seq == seq);
        let story = self.stories.remove(index.expect("a listed story exists"));
        self.owners.remove_all(&story.keys);
        self.dedup.release(seq);
        story
    }

    /// Counts one post in the current epoch; returns a firing or update it causes.
    pub(crate) fn count(
        &mut self,
        config: &DetectorConfig,
        watch: &str,
        watched: &WatchedPost,
        scratch: &mut Scratch,
    ) -> Option<AlertEvent> {
        let scored = &watched.scored;
        let post = &scored.post;
        let compound = scored.sentiment.map(|sentiment| sentiment.compound);
        self.baseline.observe(scored.label, compound);
        let mut recent = scratch.post.take().unwrap_or_else(RecentPost::empty);
        clean_tokens_into(
            &post.text,
            config.min_token_len,
            config.max_tokens_per_post,
            &mut recent.tokens,
            &mut scratch.tokens,
        );
        let hashes = &mut scratch.hashes;
        hashes.clear();
        hashes.extend(
            recent
                .tokens
                .iter()
                .map(|token| stable_hash(token.as_bytes())),
        );
        let cluster = self.dedup.check_hashes(hashes);
        let copy_of = cluster.filter(|cluster| cluster.copy);

        let keys = &mut scratch.keys;
        post_keys_into(
            hashes,
            copy_of.map(|cluster| cluster.representative),
            post.parent_id.as_deref(),
            keys,
        );
        self.table.count_post();
        let scores = &mut scratch.scores;
        scores.clear();
        self.table.add_all(
            keys.iter().map(|(key, _)| *key),
            &mut scratch.buckets,
            scores,
        );

        // The story the post belongs to: the one owning most of its keys (ties: oldest).
        let hits = &mut scratch.hits;
        hits.clear();
        let mut hit = |seq: u64| match hits.iter_mut().find(|(story, _)| *story == seq) {
            Some((_, count)) => *count += 1,
            None => hits.push((seq, 1)),
        };
        if !self.owners.is_empty() {
            for (key, _) in keys.iter() {
                if let Some(seq) = self.owners.get(*key) {
                    hit(seq);
                }
            }
        }
        // A copy joins the story its original was counted in.
        if let Some(seq) = cluster.and_then(|cluster| cluster.story) {
            hit(seq);
        }
        // Each story appears once, so the greatest (count, age) is unique.
        let target = hits
            .iter()
            .max_by_key(|(seq, count)| (*count, u64::MAX - *seq))
            .map(|(seq, _)| *seq);

        recent.id.clear();
        recent.id.push_str(bounded_id_str(&post.source_id));
        recent.at = post.created_at;
        recent.label = scored.label;
        recent.compound = compound;
        recent.reach = reach_of(watched);
        recent.author = author_of(watched);
        // Also the keys under which the post's own copies and replies will count, so that a
        // story of copies or replies finds it as its first post.
        recent.keys.clear();
        recent.keys.extend(keys.iter().map(|(key, _)| *key));
        if let Some(cluster) = cluster.filter(|cluster| !cluster.copy) {
            recent.keys.push(copy_key(cluster.representative));
        }
        recent.keys.push(thread_key(&post.source_id));

        let joined = self.attribute(config, watch, keys, scores, target, &recent);
        recent.story = joined.as_ref().map(|(seq, _)| *seq);
        if let (Some(cluster), Some((seq, _))) = (cluster, &joined) {
            self.dedup.claim(cluster.slot, *seq);
        }
        if config.recent_posts > 0 {
            if self.recent.len() >= config.recent_posts {
                scratch.post = self.recent.pop_front();
            }
            self.recent.push_back(recent);
        } else {
            scratch.post = Some(recent);
        }
        joined.and_then(|(_, event)| event)
    }

    /// Puts a counted post into its story (starting a candidate if its keys are unusual and
    /// unowned); returns the story's `seq` and the firing or update that causes.
    fn attribute(
        &mut self,
        config: &DetectorConfig,
        watch: &str,
        keys: &[(u64, KeyOf)],
        scores: &[Significance],
        mut target: Option<u64>,
        post: &RecentPost,
    ) -> Option<(u64, Option<AlertEvent>)> {
        // New keys start a candidate when unusual; they join a story only when significant.
        let fresh_minimum = match target {
            None => config.candidate_threshold,
            Some(_) => config.threshold,
        };
        // On the slow scale a key also needs a count improbable for its usual rate (half the
        // firing surprise): in a dense stream every common pair drifts up now and then, and
        // such candidates would absorb (and misname) the next real burst.
        let unusual = |now: &Significance| {
            now.burst >= fresh_minimum
                || now.slow_stands_out(
                    config.slow_expected_floor,
                    config.slow_min_surprise / 2.0,
                    config.slow_min_lift,
                )
        };
        let mut fresh: Vec<usize> = (0..keys.len())
            .filter(|index| scores[*index].score >= fresh_minimum)
            .filter(|index| !self.owners.contains(keys[*index].0))
            .filter(|index| unusual(&scores[*index]))
            .collect();
        let mut backfill = Vec::new();
        // Copies and replies are named by the words of the story's first post (the original,
        // or the post replied to) when it is known.
        let mut first_words: Option<Vec<String>> = None;
        if target.is_none() && !fresh.is_empty() {
            let first = *fresh
                .iter()
                .max_by(|a, b| {
                    scores[**a]
                        .score
                        .total_cmp(&scores[**b].score)
                        .then(b.cmp(a))
                })
                .expect("fresh is not empty");
            let key = keys[first].0;
            // Earlier posts with the key belong to the story: those of this or the previous
            // epoch, or, when the key stands out on the slow scale, of the span that scale
            // remembers (two half-lives), so that a build-up's story starts at its first post.
            let lookback = if scores[first].burst >= fresh_minimum {
                1
            } else {
                config.slow_lookback_epochs()
            };
            let since = (self.epoch - lookback) * config.epoch_seconds as i64;
            backfill = (0..self.recent.len())
                .filter(|index| self.recent[*index].at.timestamp() >= since)
                .filter(|index| self.recent[*index].keys.contains(&key))
                .collect();
            if let Some(owner) = self.story_of_most(&backfill) {
                // The key's earlier posts already belong to a story (it is a word of that
                // story's pair, or one its posts share): the key is that story's, joining it
                // when significant, never a second story of the same posts.
                fresh.retain(|index| scores[*index].score >= config.threshold);
                if fresh.is_empty() {
                    return None;
                }
                backfill.clear();
                target = Some(owner);
            } else {
                let earliest = backfill.first().map(|index| self.recent[*index].clone());
                let first_post = earliest.as_ref().unwrap_or(post);
                first_words = Some(first_post.tokens.clone());
                target = self.new_story(config, watch, key, &first_post.facts());
            }
        }
        let seq = target?;
        let index = self.stories.iter().position(|story| story.seq == seq)?;
        let tokens = &post.tokens;
        for key_index in fresh {
            let (key, of) = keys[key_index];
            let named: Vec<&str> = match of {
                KeyOf::Term(i) => vec![tokens[i].as_str()],
                KeyOf::Pair(i, j) => vec![tokens[i].as_str(), tokens[j].as_str()],
                KeyOf::Spread => {
                    let words = first_words.as_ref().unwrap_or(tokens);
                    words.iter().take(3).map(String::as_str).collect()
                }
            };
            if self.stories[index].add_key(key, &named, config.max_story_terms) {
                self.owners.insert(key, seq);
            }
        }
        let story = &mut self.stories[index];
        for earlier in backfill {
            story.add_post(&self.recent[earlier].facts(), config.max_evidence);
        }
        story.add_post(&post.facts(), config.max_evidence);
        // Slow evidence comes two ways. A key whose slow significance reaches the threshold
        // with a count that stands out is a burst the epochs cut in two (posts on both sides
        // of an epoch's end): a negative story fires on it at once. A build-up fires once the
        // story's posts span `slow_min_span_epochs` and one of its words (not a pair: pairs of
        // common words drift up together far more often than a word comes up, and a post has
        // n(n−1)/2 of them) stands out, unless the story is a positive one.
        let (mut best_burst, mut split_burst, mut built_up_word) =
            (f64::NEG_INFINITY, false, false);
        let built_up = post.at - story.first_post_at
            >= chrono::TimeDelta::seconds(
                config.slow_min_span_epochs as i64 * config.epoch_seconds as i64,
            );
        for (position, (key, of)) in keys.iter().enumerate() {
            if !story.keys.contains(key) {
                continue;
            }
            let now = &scores[position];
            story.note_score(now.score, now.baseline);
            best_burst = best_burst.max(now.burst);
            let could_split = !split_burst && now.score >= config.threshold;
            let could_build = !built_up_word && built_up && matches!(of, KeyOf::Term(_));
            if !(could_split || could_build) {
                continue;
            }
            let stands_out = now.slow_stands_out(
                config.slow_expected_floor,
                config.slow_min_surprise,
                config.slow_min_lift,
            );
            split_burst |= stands_out && could_split;
            built_up_word |= stands_out && could_build;
        }
        let epoch_start = self.epoch * config.epoch_seconds as i64;
        let usual = self.baseline.usual(epoch_start, config.threshold);
        let leaning = story.leaning(config, usual);
        let severity = story.assess_leaning(config, usual, leaning);
        // A burst fires on its own; a split burst when the story is negative; a build-up unless
        // the story is a positive one (a slow positive trend is no incident; a neutral one may
        // be: the first posts about an outage are questions).
        let significant = best_burst >= config.threshold
            || (split_burst && leaning == Leaning::Negative)
            || (built_up_word && leaning != Leaning::Positive);
        let fires = story.phase == Phase::Candidate
            && significant
            && self.epochs_closed >= config.warmup_epochs
            && story.authors.len() >= config.min_authors;
        if fires {
            if let Some(twin) = self.open_twin(index) {
                // The same story again (its top terms are all an open story's): one page.
                self.absorb(config, index, twin);
                return Some((twin, None));
            }
        }
        let story = &mut self.stories[index];
        let event = match story.phase {
            Phase::Candidate if fires => {
                story.phase = Phase::Open;
                story.fired_at = Some(post.at);
                story.severity = severity;
                story.last_event_posts = story.posts;
                Some(story.event(watch, AlertState::Firing, config))
            }
            Phase::Open
                if severity > story.severity
                    || (story.posts >= 2 * story.last_event_posts
                        && story.posts >= story.last_event_posts + 5) =>
            {
                story.severity = severity;
                story.last_event_posts = story.posts;
                Some(story.event(watch, AlertState::Updated, config))
            }
            _ => None,
        };
        Some((seq, event))
    }

    /// An open story (not `index`) that the story at `index` is again: one whose terms include
    /// all of its first three terms, or that already holds one of its remembered posts (first
    /// post, evidence).
    fn open_twin(&self, index: usize) -> Option<u64> {
        let candidate = &self.stories[index];
        let ranked = candidate.ranked_terms();
        let top = &ranked[..ranked.len().min(3)];
        let twin = self.stories.iter().enumerate().find(|(other, story)| {
            let same_words = !top.is_empty()
                && top
                    .iter()
                    .all(|term| story.terms.iter().any(|(known, _)| known == term));
            let same_posts = candidate.post_ids().any(|id| story.holds_post(id));
            *other != index && story.phase == Phase::Open && (same_words || same_posts)
        });
        twin.map(|(_, story)| story.seq)
    }

    /// Merges the candidate at `index` into the open story `twin`: its keys, terms, posts and
    /// authors become the twin's, and its own id is never paged.
    fn absorb(&mut self, config: &DetectorConfig, index: usize, twin: u64) {
        let candidate = self.stories.remove(index);
        self.dedup.release(candidate.seq);
        for post in &mut self.recent {
            if post.story == Some(candidate.seq) {
                post.story = Some(twin);
            }
        }
        let target = self
            .stories
            .iter_mut()
            .find(|story| story.seq == twin)
            .expect("the twin is tracked");
        let mut dropped = Vec::new();
        for key in &candidate.keys {
            let terms: Vec<&str> = candidate
                .terms
                .iter()
                .map(|(term, _)| term.as_str())
                .collect();
            if target.add_key(*key, &terms, config.max_story_terms) {
                self.owners.insert(*key, twin);
            } else {
                dropped.push(*key);
            }
        }
        if !dropped.is_empty() {
            self.owners.remove_all(&dropped);
        }
        target.absorb_counts(&candidate);
    }

    /// The story that most of the given recent posts were counted in, when it holds more than
    /// half of them and is still tracked.
    fn story_of_most(&self, recent: &[usize]) -> Option<u64> {
        let mut counts: Vec<(u64, usize)> = Vec::new();
        for seq in recent.iter().filter_map(|index| self.recent[*index].story) {
            match counts.iter_mut().find(|(story, _)| *story == seq) {
                Some((_, count)) => *count += 1,
                None => counts.push((seq, 1)),
            }
        }
        let (seq, count) = counts
            .into_iter()
            .max_by_key(|(seq, count)| (*count, u64::MAX - *seq))?;
        let tracked = self.stories.iter().any(|story| story.seq == seq);
        (tracked && 2 * count > recent.len()).then_some(seq)
    }

    /// Starts a candidate story, evicting the weakest candidate when the watch is full.
    fn new_story(
        &mut self,
        config: &DetectorConfig,
        watch: &str,
        key: u64,
        first: &PostFacts<'_>,
    ) -> Option<u64> {
        if self.stories.len() >= config.max_stories_per_watch {
            let weakest = self
                .stories
                .iter()
                .filter(|story| story.phase == Phase::Candidate)
                .min_by(|a, b| a.score.total_cmp(&b.score).then(a.seq.cmp(&b.seq)))?
                .seq;
            self.remove_story(weakest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.stories
            .push(Story::new(seq, watch, key, self.epoch, first));
        Some(seq)
    }
}
