//! `tidewatch generate`: deterministic synthetic canonical posts, for load tests, benchmarks and
//! the sample the README runs. The same seed and count always give the same lines.

use std::io::Write;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tidewatch_model::{Author, Post, PostKind, PostMetrics, WIRE_VERSION};

#[derive(clap::Args, Debug, Clone)]
pub(crate) struct GenerateArgs {
    /// How many posts.
    #[arg(long, default_value_t = 1000)]
    pub(crate) count: u64,
    /// Seed of the generator; also part of every source_id.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// created_at of the first post (RFC 3339).
    #[arg(long, default_value = "2025-03-01T08:00:00Z")]
    pub(crate) start: String,
}

const BRANDS: [&str; 3] = ["Acme Air", "Globex Bank", "Initech"];
const NEGATIVE: [&str; 6] = [
    "{brand} cancelled my flight again and nobody answers the phone. Terrible.",
    "two hours on hold with {brand}, this is the worst service I have ever had",
    "{brand} lost my bag and the app keeps crashing. So frustrating!!",
    "why is {brand} charging me twice? not happy at all",
    "never flying {brand} again, rude staff and a broken seat",
    "{brand} outage again?? can't log in, can't pay, awful",
];
const POSITIVE: [&str; 5] = [
    "shout out to {brand} for the great support today, thank you!",
    "{brand} upgraded my seat for free, love it",
    "smooth experience with {brand} this morning, really impressed",
    "the new {brand} app is fantastic :)",
    "{brand} fixed my problem in five minutes. Excellent!",
];
const NEUTRAL: [&str; 5] = [
    "anyone know when {brand} opens the new route?",
    "reading the {brand} quarterly report",
    "{brand} announced a schedule change for March",
    "is the {brand} lounge in terminal 2 or 3",
    "switching my account to {brand} next week",
];
const SOURCES: [&str; 4] = ["mastodon", "bluesky", "reddit", "rss"];

pub(crate) fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339(&args.start)
        .with_context(|| format!("--start {:?} is not an RFC 3339 timestamp", args.start))?
        .with_timezone(&Utc);
    let stdout = std::io::stdout();
    let mut output = std::io::BufWriter::new(stdout.lock());
    for post in synthetic_posts(args.seed, args.count, start) {
        writeln!(output, "{}", post.to_json()).context("cannot write to stdout")?;
    }
    output.flush().context("cannot write to stdout")?;
    Ok(())
}

/// The posts `generate` prints.
pub(crate) fn synthetic_posts(
    seed: u64,
    count: u64,
    start: DateTime<Utc>,
) -> impl Iterator<Item = Post> {
    let mut random = SmallRng::seed_from_u64(seed);
    let mut created_at = start;
    (0..count).map(move |index| {
        created_at += Duration::milliseconds(random.random_range(200..3_000));
        let brand = BRANDS[random.random_range(0..BRANDS.len())];
        let templates: &[&str] = match random.random_range(0..10) {
            0..=3 => &NEGATIVE,
            4..=6 => &NEUTRAL,
            _ => &POSITIVE,
        };
        let text = templates[random.random_range(0..templates.len())].replace("{brand}", brand);
        let source = SOURCES[random.random_range(0..SOURCES.len())];
        let author_number = random.random_range(0..5_000u32);
        Post {
            v: WIRE_VERSION,
            source: source.to_string(),
            source_id: format!("gen-{seed}-{index}"),
            kind: PostKind::Post,
            created_at,
            author: Some(Author {
                id: Some(format!("user{author_number}")),
                handle: Some(format!("user{author_number}")),
                followers: Some(random.random_range(0..50_000)),
            }),
            text,
            lang: Some("en".to_string()),
            url: None,
            parent_id: None,
            metrics: Some(PostMetrics {
                likes: random.random_range(0..50),
                reposts: random.random_range(0..10),
                replies: random.random_range(0..10),
            }),
            rating: None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_valid() {
        let start = DateTime::parse_from_rfc3339("2025-03-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let first: Vec<Post> = synthetic_posts(7, 200, start).collect();
        let second: Vec<Post> = synthetic_posts(7, 200, start).collect();
        assert_eq!(first, second);
        for post in &first {
            assert_eq!(
                Post::from_json_bytes(post.to_json().as_bytes()).unwrap(),
                *post
            );
        }
        let distinct: std::collections::HashSet<_> = first.iter().map(Post::key).collect();
        assert_eq!(distinct.len(), 200);
    }
}
