//! The story view: timeline, first post, top posts and authors, sources and languages, computed
//! from a story's posts. Pure: no IO, no clock.
//!
//! Guarantees: every post counts once (the store already folded deliveries; posts are also keyed
//! here by `source:source_id`); the timeline's buckets are UTC multiples of a width chosen from
//! the story's span (1 minute up to an hour, 5 minutes up to 12 hours, 1 hour up to 3 days, else
//! 1 day) and empty buckets are absent; lists are sorted deterministically (ties broken by name
//! or key).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tidewatch_model::AlertEvent;
use tidewatch_store::{rounded_share, StoredPost, Story};

pub(crate) const TOP_POSTS: usize = 10;
pub(crate) const TOP_AUTHORS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TimelineBucket {
    #[serde(serialize_with = "serialize_time")]
    pub(crate) bucket: DateTime<Utc>,
    pub(crate) posts: u64,
    pub(crate) negative: u64,
    pub(crate) negative_share: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AuthorReach {
    pub(crate) handle: String,
    pub(crate) followers: u64,
    pub(crate) posts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SourceCount {
    pub(crate) source: String,
    pub(crate) posts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LanguageCount {
    pub(crate) language: String,
    pub(crate) posts: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StoryDetail {
    pub(crate) story: Story,
    pub(crate) timeline: Vec<TimelineBucket>,
    pub(crate) first_post: Option<StoredPost>,
    pub(crate) top_posts: Vec<StoredPost>,
    pub(crate) top_authors: Vec<AuthorReach>,
    pub(crate) sources: Vec<SourceCount>,
    pub(crate) languages: Vec<LanguageCount>,
    pub(crate) events: Vec<AlertEvent>,
}

fn serialize_time<S: serde::Serializer>(
    time: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&tidewatch_model::format_timestamp(time))
}

/// Timeline bucket width for a story spanning `span`. Why minutes for the first hour: that is
/// when a responder asks whether the story is still growing, and 5-minute buckets would show a
/// young story as one or two bars.
pub(crate) fn timeline_width(span: Duration) -> i64 {
    if span <= Duration::hours(1) {
        return 60;
    }
    if span <= Duration::hours(12) {
        return 300;
    }
    if span <= Duration::days(3) {
        return 3_600;
    }
    86_400
}

/// The end of the window a story's posts are read from: its last event if resolved, else `now`.
pub(crate) fn story_window_end(story: &Story, now: DateTime<Utc>) -> DateTime<Utc> {
    if story.state == tidewatch_model::AlertState::Resolved {
        return story.last_event_at;
    }
    now.max(story.last_event_at)
}

pub(crate) fn build(
    story: Story,
    posts: Vec<StoredPost>,
    events: Vec<AlertEvent>,
    now: DateTime<Utc>,
) -> StoryDetail {
    let mut seen = BTreeSet::new();
    let posts: Vec<StoredPost> = posts
        .into_iter()
        .filter(|post| seen.insert(post.key()))
        .collect();
    let width = timeline_width(story_window_end(&story, now) - story.first_post_at);
    let mut timeline: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let mut authors: BTreeMap<String, AuthorReach> = BTreeMap::new();
    let mut sources: BTreeMap<String, u64> = BTreeMap::new();
    let mut languages: BTreeMap<String, u64> = BTreeMap::new();
    for post in &posts {
        let bucket = post.created_at.timestamp().div_euclid(width) * width;
        let counts = timeline.entry(bucket).or_default();
        counts.0 += 1;
        counts.1 += u64::from(post.label == "negative");
        if let Some(handle) = &post.author_handle {
            let author = authors
                .entry(handle.clone())
                .or_insert_with(|| AuthorReach {
                    handle: handle.clone(),
                    followers: 0,
                    posts: 0,
                });
            author.posts += 1;
            author.followers = author.followers.max(post.author_followers.unwrap_or(0));
        }
        *sources.entry(post.source.clone()).or_default() += 1;
        let language = post
            .lang_detected
            .clone()
            .or_else(|| post.lang.clone())
            .unwrap_or_default();
        *languages.entry(language).or_default() += 1;
    }
    let first_post = posts
        .iter()
        .find(|post| post.key() == story.first_post_id)
        .or_else(|| {
            posts
                .iter()
                .min_by_key(|post| (post.created_at, post.key()))
        })
        .cloned();
    let mut top_posts = posts.clone();
    top_posts.sort_by(|left, right| {
        right
            .reach()
            .cmp(&left.reach())
            .then_with(|| left.key().cmp(&right.key()))
    });
    top_posts.truncate(TOP_POSTS);
    let mut top_authors: Vec<AuthorReach> = authors.into_values().collect();
    top_authors.sort_by(|left, right| {
        (right.followers, right.posts)
            .cmp(&(left.followers, left.posts))
            .then_with(|| left.handle.cmp(&right.handle))
    });
    top_authors.truncate(TOP_AUTHORS);
    StoryDetail {
        story,
        timeline: timeline
            .into_iter()
            .map(|(bucket, (posts, negative))| TimelineBucket {
                bucket: DateTime::from_timestamp(bucket, 0).unwrap_or_default(),
                posts,
                negative,
                negative_share: rounded_share(negative, posts),
            })
            .collect(),
        first_post,
        top_posts,
        top_authors,
        sources: sorted_counts(sources)
            .into_iter()
            .map(|(source, posts)| SourceCount { source, posts })
            .collect(),
        languages: sorted_counts(languages)
            .into_iter()
            .map(|(language, posts)| LanguageCount { language, posts })
            .collect(),
        events,
    }
}

/// Largest count first, then by name.
fn sorted_counts(counts: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|left, right| right.1.cmp(&left.1).then_with(|| left.0.cmp(&right.0)));
    counts
}

#[cfg(test)]
mod tests;
