//! Scoring one raw record: validate, score with VADER, match watches, emit.

use tidewatch_bus::transform::{Rejection, Transform};
use tidewatch_bus::{OutRecord, Record};
use tidewatch_model::{Label, Post, PostKind, ScoredPost, Sentiment, Topics, WatchedPost};
use vader_parity::SentimentIntensityAnalyzer;

use crate::WatchMatcher;

pub struct ScoreTransform {
    analyzer: SentimentIntensityAnalyzer,
    watches: WatchMatcher,
    topics: Topics,
}

impl ScoreTransform {
    pub fn new(watches: WatchMatcher, topics: Topics) -> Self {
        Self {
            analyzer: SentimentIntensityAnalyzer::new(),
            watches,
            topics,
        }
    }

    /// Scores a validated post. Deletes carry no text and get no score.
    pub fn score(&self, post: Post) -> ScoredPost {
        if post.kind == PostKind::Delete {
            return ScoredPost {
                post,
                sentiment: None,
                label: Label::Unscored,
                lang_detected: None,
                watches: Vec::new(),
            };
        }
        let scores = self.analyzer.polarity_scores(&post.text);
        let sentiment = Sentiment {
            neg: scores.neg,
            neu: scores.neu,
            pos: scores.pos,
            compound: scores.compound,
        };
        let watches = self.watches.matching(&post.text, post.lang.as_deref());
        ScoredPost {
            post,
            sentiment: Some(sentiment),
            label: Label::from_compound(scores.compound),
            lang_detected: None,
            watches,
        }
    }
}

impl Transform for ScoreTransform {
    fn process(&mut self, record: &Record, output: &mut Vec<OutRecord>) -> Result<(), Rejection> {
        let post = Post::from_json_bytes(&record.payload).map_err(|error| Rejection {
            kind: error.kind().to_string(),
            reason: error.to_string(),
        })?;
        let key = post.key();
        let scored = self.score(post);
        for watch in &scored.watches {
            let watched = WatchedPost {
                watch: watch.clone(),
                scored: scored.clone(),
            };
            let payload = serde_json::to_vec(&watched).expect("a watched post always serialises");
            output.push(OutRecord::new(
                &self.topics.posts_watched,
                watch.clone(),
                payload,
            ));
        }
        output.push(OutRecord::new(
            &self.topics.posts_scored,
            key,
            scored.to_json(),
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WatchConfig;

    fn transform() -> ScoreTransform {
        let watches = WatchMatcher::new(&[WatchConfig {
            name: "acme".into(),
            any: vec!["acme".into()],
            all: vec![],
            none: vec![],
            languages: vec![],
        }])
        .unwrap();
        ScoreTransform::new(watches, Topics::default())
    }

    fn record(payload: &str) -> Record {
        Record {
            topic: "posts.raw".into(),
            partition: 0,
            offset: 7,
            key: None,
            payload: payload.as_bytes().to_vec(),
        }
    }

    #[test]
    fn scores_and_fans_out_to_watches() {
        let mut transform = transform();
        let mut output = Vec::new();
        let line = r#"{"source":"webhook","source_id":"1","created_at":"2024-05-01T10:00:00Z","text":"ACME lost my bag, terrible service"}"#;
        transform.process(&record(line), &mut output).unwrap();
        assert_eq!(output.len(), 2);
        assert_eq!(output[0].topic, "posts.watched");
        assert_eq!(output[0].key, "acme");
        assert_eq!(output[1].topic, "posts.scored");
        assert_eq!(output[1].key, "webhook:1");
        let scored = ScoredPost::from_json_bytes(&output[1].payload).unwrap();
        assert_eq!(scored.label, Label::Negative);
        assert!(scored.sentiment.unwrap().compound < -0.05);
        assert_eq!(scored.watches, vec!["acme"]);
    }

    #[test]
    fn rejects_invalid_posts_with_the_reason() {
        let mut transform = transform();
        let mut output = Vec::new();
        let rejection = transform
            .process(
                &record(r#"{"source":"x","created_at":"2024-05-01T10:00:00Z","text":"hi"}"#),
                &mut output,
            )
            .unwrap_err();
        assert_eq!(rejection.kind, "missing_field");
        assert!(rejection.reason.contains("source_id"));
        assert!(output.is_empty());
    }

    #[test]
    fn deletes_pass_through_unscored() {
        let mut transform = transform();
        let mut output = Vec::new();
        let line = r#"{"source":"bluesky","source_id":"at://a/1","kind":"delete","created_at":"2024-05-01T10:00:00Z"}"#;
        transform.process(&record(line), &mut output).unwrap();
        assert_eq!(output.len(), 1);
        let scored = ScoredPost::from_json_bytes(&output[0].payload).unwrap();
        assert_eq!(scored.label, Label::Unscored);
        assert_eq!(scored.sentiment, None);
    }
}
