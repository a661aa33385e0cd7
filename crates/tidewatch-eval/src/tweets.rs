//! The Twitter US Airline Sentiment CSV (`Tweets.csv`) as canonical posts, and the watches
//! that follow its airlines.
//!
//! Guarantees: a real CSV parser reads the file (texts span lines); every row becomes at most
//! one [`Tweet`] (a repeated `tweet_id` keeps its first row, the data set's known quirk);
//! `tweet_created` is read with its UTC offset and converted to UTC; a row that cannot be read
//! is an error naming its record number, never silently dropped. The post of a tweet says only
//! what the CSV says: source `twitter`, `source_id` = `tweet_id`, author handle = `name`,
//! `retweet_count` as reposts, kind `repost` for a text starting with `RT @`, `reply` for a text
//! that starts by addressing someone who is not one of the airlines, `post` otherwise (the CSV
//! has no parent ids, so none are invented).

use std::collections::HashSet;
use std::io::Read;

use chrono::{DateTime, Utc};
use tidewatch_model::{Author, Post, PostKind, PostMetrics, WIRE_VERSION};
use tidewatch_score::WatchConfig;

/// An airline of the data set: its label in the CSV, the watch that follows it, and the
/// handles, hashtags and names that watch matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Airline {
    pub label: &'static str,
    pub watch: &'static str,
    pub any: &'static [&'static str],
}

/// The six airlines. The data set's "Delta" rows are really @JetBlue tweets (see NOTES.md), so
/// the `delta` watch follows JetBlue's handle and names as well as Delta's handle.
pub const AIRLINES: &[Airline] = &[
    Airline {
        label: "Virgin America",
        watch: "virginamerica",
        any: &["@virginamerica", "#virginamerica", "virgin america"],
    },
    Airline {
        label: "United",
        watch: "united",
        any: &["@united", "#united", "united airlines"],
    },
    Airline {
        label: "Southwest",
        watch: "southwestair",
        any: &[
            "@southwestair",
            "#southwestair",
            "#southwest",
            "southwest airlines",
        ],
    },
    Airline {
        label: "Delta",
        watch: "delta",
        any: &[
            "@jetblue", "#jetblue", "jetblue", "jet blue", "@delta", "#delta",
        ],
    },
    Airline {
        label: "US Airways",
        watch: "usairways",
        any: &["@usairways", "#usairways", "us airways"],
    },
    Airline {
        label: "American",
        watch: "americanair",
        any: &["@americanair", "#americanair", "american airlines"],
    },
];

/// The watch that follows the airline labelled `label` in the CSV.
pub fn watch_of_airline(label: &str) -> Option<&'static str> {
    AIRLINES
        .iter()
        .find(|airline| airline.label == label)
        .map(|airline| airline.watch)
}

/// One `[[watch]]` per airline.
pub fn airline_watches() -> Vec<WatchConfig> {
    AIRLINES
        .iter()
        .map(|airline| WatchConfig {
            name: airline.watch.to_string(),
            any: airline.any.iter().map(|term| term.to_string()).collect(),
            all: Vec::new(),
            none: Vec::new(),
            languages: Vec::new(),
        })
        .collect()
}

/// One labelled row of the CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct Tweet {
    pub id: String,
    /// The crowd label: negative, neutral or positive.
    pub sentiment: String,
    /// The airline label (see [`AIRLINES`]).
    pub airline: String,
    pub handle: String,
    pub retweets: u64,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// Why the CSV cannot be read; fatal (the file must be fixed or replaced).
#[derive(Debug, thiserror::Error)]
pub enum TweetsError {
    #[error("cannot read the tweets CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("the tweets CSV has no column {0:?}")]
    MissingColumn(&'static str),
    #[error("record {record}: bad {field} {value:?}")]
    BadField {
        record: usize,
        field: &'static str,
        value: String,
    },
}

const COLUMNS: [&str; 7] = [
    "tweet_id",
    "airline_sentiment",
    "airline",
    "name",
    "retweet_count",
    "text",
    "tweet_created",
];

/// Reads every tweet of the CSV, in file order, the first row of each `tweet_id` only.
pub fn read_tweets<R: Read>(reader: R) -> Result<Vec<Tweet>, TweetsError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = csv.headers()?.clone();
    let mut index = [0usize; COLUMNS.len()];
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        *slot = headers
            .iter()
            .position(|header| header == name)
            .ok_or(TweetsError::MissingColumn(name))?;
    }
    let mut seen = HashSet::new();
    let mut tweets = Vec::new();
    for (number, record) in csv.records().enumerate() {
        let record = record?;
        let field = |column: usize| record.get(index[column]).unwrap_or_default();
        let bad = |field: &'static str, value: &str| TweetsError::BadField {
            record: number + 1,
            field,
            value: value.to_string(),
        };
        let id = field(0).trim().to_string();
        if id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(bad("tweet_id", &id));
        }
        if !seen.insert(id.clone()) {
            continue;
        }
        let created = field(6).trim();
        let created_at = DateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S %z")
            .map_err(|_| bad("tweet_created", created))?
            .with_timezone(&Utc);
        let retweets = field(4).trim();
        let retweets = retweets
            .parse()
            .map_err(|_| bad("retweet_count", retweets))?;
        tweets.push(Tweet {
            id,
            sentiment: field(1).trim().to_string(),
            airline: field(2).trim().to_string(),
            handle: field(3).trim().to_string(),
            retweets,
            text: field(5).to_string(),
            created_at,
        });
    }
    Ok(tweets)
}

/// The kind a tweet's text shows: `RT @…` is a repost; a text that starts by addressing an
/// account that is not an airline is a reply; anything else is a post.
pub fn kind_of(text: &str) -> PostKind {
    let trimmed = text.trim_start();
    if trimmed.starts_with("RT @") {
        return PostKind::Repost;
    }
    let Some(rest) = trimmed.strip_prefix('@') else {
        return PostKind::Post;
    };
    let handle: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_ascii_lowercase();
    let airline_handle = AIRLINES
        .iter()
        .flat_map(|airline| airline.any.iter())
        .any(|term| term.strip_prefix('@') == Some(handle.as_str()));
    if airline_handle {
        PostKind::Post
    } else {
        PostKind::Reply
    }
}

impl Tweet {
    /// The canonical post of the tweet (DESIGN.md), with only what the CSV knows.
    pub fn to_post(&self) -> Post {
        Post {
            v: WIRE_VERSION,
            source: "twitter".to_string(),
            source_id: self.id.clone(),
            kind: kind_of(&self.text),
            created_at: self.created_at,
            author: Some(Author {
                id: None,
                handle: Some(self.handle.clone()),
                followers: None,
            }),
            text: self.text.clone(),
            lang: None,
            url: None,
            parent_id: None,
            metrics: Some(PostMetrics {
                likes: 0,
                reposts: self.retweets,
                replies: 0,
            }),
            rating: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const FIXTURE: &str = "tweet_id,airline_sentiment,airline,name,retweet_count,text,tweet_created\n\
        100,negative,Delta,alice,2,\"@JetBlue our fleet's on fleek?\nreally\",2015-02-23 10:15:31 -0800\n\
        101,neutral,United,bob,0,@someone @united see you,2015-02-23 10:16:00 -0800\n\
        100,negative,Delta,alice,2,duplicate row,2015-02-23 10:15:31 -0800\n\
        102,positive,American,carol,0,RT @AmericanAir: thanks,2015-02-24 01:00:00 +0000\n";

    #[test]
    fn reads_multiline_texts_converts_offsets_and_drops_repeated_ids() {
        let tweets = read_tweets(FIXTURE.as_bytes()).unwrap();
        assert_eq!(tweets.len(), 3);
        assert_eq!(tweets[0].text, "@JetBlue our fleet's on fleek?\nreally");
        assert_eq!(
            tweets[0].created_at,
            Utc.with_ymd_and_hms(2015, 2, 23, 18, 15, 31).unwrap()
        );
        let post = tweets[0].to_post();
        assert_eq!(
            (post.source.as_str(), post.source_id.as_str()),
            ("twitter", "100")
        );
        assert_eq!(post.kind, PostKind::Post);
        assert_eq!(post.metrics.unwrap().reposts, 2);
        assert_eq!(post.author.unwrap().handle.as_deref(), Some("alice"));
        assert_eq!(tweets[1].to_post().kind, PostKind::Reply);
        assert_eq!(tweets[2].to_post().kind, PostKind::Repost);
        // The canonical post survives the wire format.
        let line = tweets[0].to_post().to_json();
        assert_eq!(
            Post::from_json_bytes(line.as_bytes()).unwrap(),
            tweets[0].to_post()
        );
    }

    #[test]
    fn bad_rows_are_errors_with_their_number() {
        let text = "tweet_id,airline_sentiment,airline,name,retweet_count,text,tweet_created\n\
            1,negative,Delta,a,0,hi,2015-02-23 10:15:31 -0800\n\
            2,negative,Delta,a,0,hi,yesterday\n";
        let error = read_tweets(text.as_bytes()).unwrap_err().to_string();
        assert!(
            error.contains("record 2") && error.contains("tweet_created"),
            "{error}"
        );
        let missing = read_tweets("tweet_id,text\n1,hi\n".as_bytes()).unwrap_err();
        assert!(
            missing.to_string().contains("airline_sentiment"),
            "{missing}"
        );
    }

    #[test]
    fn every_airline_has_a_watch_the_matcher_accepts() {
        let watches = airline_watches();
        assert_eq!(watches.len(), 6);
        tidewatch_score::WatchMatcher::new(&watches).unwrap();
        assert_eq!(watch_of_airline("Delta"), Some("delta"));
        assert_eq!(watch_of_airline("Lufthansa"), None);
    }
}
