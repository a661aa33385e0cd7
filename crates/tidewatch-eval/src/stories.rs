//! The labelled negative stories of the airline data set (`story_bursts_airline.csv` and the
//! definitions in its NOTES.md), as sets of tweets.
//!
//! Guarantees: a story's tweets are exactly those its NOTES.md definition selects (airline,
//! crowd sentiment, time range, case-insensitive regex on the text), so the volume a lead
//! fraction is computed from is reproducible; the story's start and end come from the stories
//! CSV; only AL1, AL2 and AL5 count for lead time (AL3 and AL4 start with the collection
//! itself, see NOTES.md). An id in the CSV without a definition here is an error, not skipped.

use std::collections::HashSet;
use std::io::Read;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use regex::RegexBuilder;

use crate::tweets::{watch_of_airline, Tweet, AIRLINES};

/// How NOTES.md selects the tweets of one story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoryDefinition {
    pub id: &'static str,
    /// Airline labels (empty: every airline).
    pub airlines: &'static [&'static str],
    /// Only crowd-labelled negative tweets.
    pub negative_only: bool,
    /// UTC `YYYY-MM-DD HH:MM:SS`, inclusive; `None`: from the start of the data.
    pub from: Option<&'static str>,
    /// UTC, exclusive; `None`: to the end of the data.
    pub until: Option<&'static str>,
    /// Case-insensitive regex on the text (`None`: every text).
    pub pattern: Option<&'static str>,
    /// Whether the story's onset is real (so its lead time means something).
    pub lead_time_valid: bool,
}

/// The definitions of NOTES.md, verbatim.
pub const DEFINITIONS: &[StoryDefinition] = &[
    StoryDefinition {
        id: "AL1",
        airlines: &[],
        negative_only: false,
        from: None,
        until: None,
        pattern: Some("fleek"),
        lead_time_valid: true,
    },
    StoryDefinition {
        id: "AL2",
        airlines: &["US Airways", "American"],
        negative_only: false,
        from: Some("2015-02-22 21:00:00"),
        until: Some("2015-02-23 12:00:00"),
        pattern: Some(
            "computer|sabre|system.?wide|system (down|crash|issue|problem|failure)|systems (down|issue|problem)|outage|outtage",
        ),
        lead_time_valid: true,
    },
    StoryDefinition {
        id: "AL3",
        airlines: &["American"],
        negative_only: true,
        from: Some("2015-02-22 19:00:00"),
        until: None,
        pattern: None,
        lead_time_valid: false,
    },
    StoryDefinition {
        id: "AL4",
        airlines: &["Southwest"],
        negative_only: true,
        from: Some("2015-02-17 14:00:00"),
        until: Some("2015-02-18 03:00:00"),
        pattern: Some("cancel|hold|bna|nashville|phone|call|stranded|hours"),
        lead_time_valid: false,
    },
    StoryDefinition {
        id: "AL5",
        airlines: &["Delta"],
        negative_only: true,
        from: Some("2015-02-22 12:00:00"),
        until: Some("2015-02-23 04:00:00"),
        pattern: Some("deplane|gate|jfk|hpn|runway|tarmac|sitting|stuck|waiting|delay"),
        lead_time_valid: true,
    },
];

/// A labelled story with its tweets.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub id: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub lead_time_valid: bool,
    /// The watches the story's airlines map to (every watch for an all-airline story).
    pub watches: Vec<String>,
    pub tweet_ids: HashSet<String>,
    /// Times of the story's tweets, sorted.
    pub times: Vec<DateTime<Utc>>,
}

/// Why the stories cannot be read; fatal.
#[derive(Debug, thiserror::Error)]
pub enum StoriesError {
    #[error("cannot read the stories CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("story {id}: bad {field} {value:?}")]
    BadField {
        id: String,
        field: &'static str,
        value: String,
    },
    #[error("story {0} has no definition in tidewatch-eval")]
    Undefined(String),
}

/// Reads a UTC time written `YYYY-MM-DD HH:MM[:SS]`.
pub fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .ok()?;
    Some(Utc.from_utc_datetime(&naive))
}

impl StoryDefinition {
    /// Whether the tweet belongs to the story.
    fn selects(&self, tweet: &Tweet, pattern: Option<&regex::Regex>) -> bool {
        if !self.airlines.is_empty() && !self.airlines.contains(&tweet.airline.as_str()) {
            return false;
        }
        if self.negative_only && tweet.sentiment != "negative" {
            return false;
        }
        let bound = |at: Option<&str>| at.map(|at| parse_utc(at).expect("definitions are valid"));
        if bound(self.from).is_some_and(|from| tweet.created_at < from) {
            return false;
        }
        if bound(self.until).is_some_and(|until| tweet.created_at >= until) {
            return false;
        }
        pattern.is_none_or(|pattern| pattern.is_match(&tweet.text))
    }

    /// The watches of the story's airlines.
    fn watches(&self) -> Vec<String> {
        let labels: Vec<&str> = if self.airlines.is_empty() {
            AIRLINES.iter().map(|airline| airline.label).collect()
        } else {
            self.airlines.to_vec()
        };
        let watches = labels.into_iter().filter_map(watch_of_airline);
        watches.map(str::to_string).collect()
    }
}

/// Reads the stories CSV and selects each story's tweets by its definition.
pub fn read_stories<R: Read>(reader: R, tweets: &[Tweet]) -> Result<Vec<Story>, StoriesError> {
    let mut csv = csv::Reader::from_reader(reader);
    let headers = csv.headers()?.clone();
    let column = |name: &str| headers.iter().position(|header| header == name);
    let (id_at, story_at, start_at, end_at) = (
        column("id"),
        column("story"),
        column("start_utc"),
        column("end_utc"),
    );
    let mut stories = Vec::new();
    for record in csv.records() {
        let record = record?;
        let get = |at: Option<usize>| at.and_then(|at| record.get(at)).unwrap_or_default();
        let id = get(id_at).trim().to_string();
        let definition = DEFINITIONS
            .iter()
            .find(|definition| definition.id == id)
            .ok_or_else(|| StoriesError::Undefined(id.clone()))?;
        let time = |field: &'static str, at| {
            parse_utc(get(at)).ok_or_else(|| StoriesError::BadField {
                id: id.clone(),
                field,
                value: get(at).to_string(),
            })
        };
        let (start, end) = (time("start_utc", start_at)?, time("end_utc", end_at)?);
        let pattern = definition.pattern.map(|pattern| {
            RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .expect("definitions are valid")
        });
        let selected: Vec<&Tweet> = tweets
            .iter()
            .filter(|tweet| definition.selects(tweet, pattern.as_ref()))
            .collect();
        let mut times: Vec<DateTime<Utc>> = selected.iter().map(|tweet| tweet.created_at).collect();
        times.sort();
        stories.push(Story {
            title: get(story_at).to_string(),
            start,
            end,
            lead_time_valid: definition.lead_time_valid,
            watches: definition.watches(),
            tweet_ids: selected.iter().map(|tweet| tweet.id.clone()).collect(),
            times,
            id,
        });
    }
    Ok(stories)
}

impl Story {
    /// The story's tweets posted in `[from, to]`.
    pub fn tweets_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
        let first = self.times.partition_point(|at| *at < from);
        let last = self.times.partition_point(|at| *at <= to);
        last.saturating_sub(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(id: &str, airline: &str, sentiment: &str, at: &str, text: &str) -> Tweet {
        Tweet {
            id: id.to_string(),
            sentiment: sentiment.to_string(),
            airline: airline.to_string(),
            handle: format!("user{id}"),
            retweets: 0,
            text: text.to_string(),
            created_at: parse_utc(at).unwrap(),
        }
    }

    #[test]
    fn stories_select_their_tweets_by_definition() {
        let tweets = vec![
            tweet(
                "1",
                "Delta",
                "neutral",
                "2015-02-23 18:15:31",
                "@JetBlue on FLEEK",
            ),
            tweet(
                "2",
                "United",
                "neutral",
                "2015-02-23 19:00:00",
                "fleek fleek",
            ),
            tweet(
                "3",
                "Delta",
                "negative",
                "2015-02-22 13:00:00",
                "stuck at the gate",
            ),
            tweet(
                "4",
                "Delta",
                "neutral",
                "2015-02-22 13:05:00",
                "stuck at the gate",
            ),
            tweet(
                "5",
                "Delta",
                "negative",
                "2015-02-23 05:00:00",
                "stuck at the gate",
            ),
            tweet(
                "6",
                "US Airways",
                "negative",
                "2015-02-22 22:14:14",
                "computer outage",
            ),
        ];
        let csv = "id,story,start_utc,end_utc\n\
            AL1,fleek,2015-02-23 18:15:31,2015-02-24 17:55\n\
            AL5,gates,2015-02-22 13:00:00,2015-02-23 03:00\n";
        let stories = read_stories(csv.as_bytes(), &tweets).unwrap();
        let ids = |story: &Story| {
            let mut ids: Vec<String> = story.tweet_ids.iter().cloned().collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&stories[0]), vec!["1", "2"]);
        assert_eq!(stories[0].watches.len(), AIRLINES.len());
        assert_eq!(ids(&stories[1]), vec!["3"]);
        assert_eq!(stories[1].watches, vec!["delta"]);
        assert!(stories[1].lead_time_valid);
        let start = stories[0].start;
        assert_eq!(stories[0].tweets_between(start, start), 1);
        let end = parse_utc("2015-02-24 00:00").unwrap();
        assert_eq!(stories[0].tweets_between(start, end), 2);
    }

    #[test]
    fn an_unknown_story_is_an_error() {
        let csv = "id,story,start_utc,end_utc\nAL9,x,2015-02-23 18:15:31,2015-02-24 17:55\n";
        let error = read_stories(csv.as_bytes(), &[]).unwrap_err();
        assert!(error.to_string().contains("AL9"), "{error}");
    }
}
