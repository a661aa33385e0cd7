//! Pure detection of rising stories in a stream of watched posts.
//!
//! Guarantees: no IO and no clock (time is the posts' `created_at`, event time); the same
//! sequence of calls gives the same events; memory per watch is bounded by the configuration,
//! whatever the vocabulary of the stream ([`Detector::state_bound_per_watch`]).
//!
//! How it works, per watch: posts are cleaned into tokens ([`clean_tokens`]); a post that is a
//! near-duplicate (SimHash) of a recent one counts as spread of that one, not as vocabulary.
//! Every term, term pair, copy cluster and reply thread is counted per epoch in a fixed-size
//! hashed table holding an EWMA and EW variance per bucket (SigniTrend), and its significance is
//! `(x − max(ewma, β)) / (sqrt(ewmvar) + β)`, judged relative to how much busier than usual
//! the watch is (`relative_to_volume`), so the day/night cycle is not a trend. A second, slow
//! scale (a decayed count over several epochs, `slow_threshold`) catches stories that build up
//! at a post every few minutes. Its baselines of rare words rest on few posts, so a slow-only
//! story fires when one of its words' count stands out for that word: improbable for its usual
//! rate and spread (a negative binomial tail, `slow_min_surprise`) and ten times its usual
//! count (`slow_min_lift`), once its posts span a quarter of an hour, unless it is a positive
//! story; it then starts at its first post of the last hour. A key that
//! becomes unusual starts a candidate story (whose baseline is then not learned for a while, so
//! slow stories still stand out), unless its earlier posts already belong to a story: then it is
//! that story's (a term and its pair are one story); co-trending keys in the same posts join
//! it; it fires when a key reaches the threshold. Later posts with its keys, and copies of its
//! posts, join it. It resolves after a quiet time.
//! Severity weighs significance, growth, reach and negativity against the watch's own
//! baselines; a story that is not more negative than usual is `info`.
//!
//! ```
//! use tidewatch_detect::{Detector, DetectorConfig};
//!
//! let mut detector = Detector::new(DetectorConfig::default()).unwrap();
//! # let line = r#"{"v":1,"watch":"acme-air","source":"mastodon","source_id":"1","kind":"post",
//! #   "created_at":"2015-02-23T18:15:31Z","text":"my flight got cancelled",
//! #   "sentiment":{"neg":0.3,"neu":0.7,"pos":0.0,"compound":-0.4},"label":"negative",
//! #   "lang_detected":"en","watches":["acme-air"]}"#;
//! # let watched: tidewatch_model::WatchedPost = serde_json::from_str(line).unwrap();
//! let mut events = detector.observe(&watched); // firing / updated of its story, if any
//! events.extend(detector.advance_to(watched.scored.post.created_at)); // epoch closing
//! assert!(events.is_empty()); // one post is no story
//! let snapshot = serde_json::to_string(&detector).unwrap(); // restore with serde_json too
//! # let restored: Detector = serde_json::from_str(&snapshot).unwrap();
//! # assert_eq!(restored, detector);
//! ```

mod baseline;
mod config;
mod dedup;
mod detector;
mod keys;
mod owners;
mod scratch;
mod story;
mod table;
mod tokens;
mod watch;

pub use baseline::WatchSignals;
pub use config::DetectorConfig;
pub use detector::Detector;
pub use tokens::{clean_tokens, fold_plural, is_stopword, stable_hash, MAX_TOKEN_CHARS};
