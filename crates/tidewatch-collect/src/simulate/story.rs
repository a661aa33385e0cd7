//! The injected negative story: one brand charges people twice, and it spreads.
//!
//! Guarantees: the story is a pure function of (seed, brand, start): the same posts, ids and
//! times whichever window the caller asks for. It starts with one post, then grows minute by
//! minute (more posts, more replies and reposts, more distinct authors, authors with more
//! followers, angrier wording), peaks, and dies down after [`STORY_MINUTES`]. Every post that
//! is not a repost says "charged" (the term that makes it one story) and mentions the brand;
//! these words never occur in the normal vocabulary.

use chrono::{DateTime, Duration, Utc};
use tidewatch_model::{Post, PostKind};

use super::rng::SimRng;
use super::vocabulary::handle;
use super::{build_post, SimulatedBrand};

/// How long the story lasts, in minutes, from its first post to its last.
pub const STORY_MINUTES: i64 = 50;

/// Stream number of the story's random stream (brands use their index).
const STORY_STREAM: u64 = 0x5709;

/// Posts in the story's minute `minute`: steady at first (so that any half minute of its first
/// minute holds enough for a 5-minute-epoch detector to notice), growing 20 % a minute to a cap,
/// then fading.
pub(crate) fn posts_in_minute(minute: i64) -> u64 {
    let rate = if minute < 25 {
        (18.0 * 1.2f64.powi(minute as i32)).min(40.0)
    } else {
        40.0 * 0.85f64.powi((minute - 25) as i32)
    };
    rate.round() as u64
}

const EARLY: &[&str] = &[
    "Did anyone else get charged twice by {b} for {purchase}?",
    "Looks like {b} charged me twice for {purchase}, two identical lines on my statement",
    "Weird, {b} charged my card twice for {purchase}. Glitch?",
    "{b} just charged me twice for {purchase}, is this a known issue?",
];
const MIDDLE: &[&str] = &[
    "{b} charged me twice for {purchase} and support says wait ten days. Not great.",
    "Same problem: {b} charged twice for {purchase}, {amount} each. Annoying.",
    "Now {b} has charged my partner twice too. Bad week for them.",
    "{b} charged twice for {purchase} and the chat just loops. Frustrating.",
    "Checked my bank: {b} charged {amount} twice for {purchase}. Not happy.",
];
const LATE: &[&str] = &[
    "Still no refund. {b} charged me twice, {amount} gone, nobody answers. Terrible.",
    "{b} charged thousands of customers twice and says nothing. Disgraceful.",
    "Cancelling my account. {b} charged twice for {purchase}, awful service, angry.",
    "{b} double charged again today. Absolutely ridiculous, worst company ever.",
    "Day three of being charged twice by {b}. Useless support, I am furious.",
];
const REPLIES: &[&str] = &[
    "same here, {b} charged me twice for {purchase}",
    "{b} charged me twice too, {amount} each time",
    "wow, charged twice here as well. {b} please fix this",
    "ugh, charged twice on my card by {b} yesterday",
    "happened to my sister too, {b} charged her twice. terrible",
    "charged twice for {purchase} and no reply from {b} for days",
];
const AMOUNTS: &[&str] = &["$89", "$142.50", "$64", "$310", "$27.99", "$198", "$455"];
const OPENERS: &[&str] = &["", "", "", "PSA: ", "Heads up: ", "Hmm. ", "Wow. ", "Ugh. "];

/// Fills a story template (its own slots, then the brand's).
fn story_text(template: &str, brand: &SimulatedBrand, rng: &mut SimRng) -> String {
    let purchases = brand.kind.words().purchases;
    let mut text = String::from(rng.word(OPENERS));
    text.push_str(template);
    let text = text
        .replace("{purchase}", rng.word(purchases))
        .replace("{amount}", rng.word(AMOUNTS));
    // The story writes the brand by its name, so its posts share their words.
    text.replace("{b}", &brand.name)
}

/// Every post of the story, in time order.
pub(crate) fn story_posts(seed: u64, brand: &SimulatedBrand, start: DateTime<Utc>) -> Vec<Post> {
    let mut rng = SimRng::for_slot(seed, STORY_STREAM, start.timestamp());
    let mut posts: Vec<Post> = Vec::new();
    // (id, text, handle) of posts others can reply to or repost, with their reach weight.
    let mut threads: Vec<(String, String, String)> = Vec::new();
    let first_handle = "maya_flies".to_string();
    let first_text = story_text(EARLY[3], brand, &mut rng);
    let first_id = format!("story-{}-0", brand.watch);
    posts.push(build_post(
        &first_id,
        PostKind::Post,
        start,
        &first_handle,
        &first_text,
        None,
        None,
    ));
    threads.push((first_id, first_text, first_handle));
    let mut serial = 1;
    for minute in 0..STORY_MINUTES {
        let count = posts_in_minute(minute);
        for index in 0..count {
            // Evenly spread within the minute, jittered, after the first post.
            let slot = (index as f64 + 0.2 + 0.6 * rng.unit()) / count as f64;
            let at = start + Duration::milliseconds(((minute as f64 + slot) * 60_000.0) as i64);
            let author = story_author(&mut rng, minute);
            let id = format!("story-{}-{serial}", brand.watch);
            serial += 1;
            // Early on mostly new posts; later more replies and reposts.
            let spread = (minute as f64 / 20.0).min(1.0);
            let weights = [
                0.55 - 0.2 * spread,
                0.3 + 0.05 * spread,
                0.15 + 0.15 * spread,
            ];
            let post = match rng.weighted(&weights) {
                0 => {
                    let tier = match minute {
                        0..=2 => EARLY,
                        3..=12 => MIDDLE,
                        _ => LATE,
                    };
                    let text = story_text(rng.word(tier), brand, &mut rng);
                    threads.push((id.clone(), text.clone(), author.clone()));
                    build_post(&id, PostKind::Post, at, &author, &text, None, None)
                }
                1 => {
                    let (parent, _, parent_author) = pick_thread(&threads, &mut rng).clone();
                    let body = story_text(rng.word(REPLIES), brand, &mut rng);
                    let text = format!("@{parent_author} {body}");
                    build_post(
                        &id,
                        PostKind::Reply,
                        at,
                        &author,
                        &text,
                        Some(&parent),
                        None,
                    )
                }
                _ => {
                    let (parent, text, _) = pick_thread(&threads, &mut rng).clone();
                    build_post(
                        &id,
                        PostKind::Repost,
                        at,
                        &author,
                        &text,
                        Some(&parent),
                        None,
                    )
                }
            };
            posts.push(post);
        }
    }
    posts.sort_by_key(|post| post.created_at);
    posts
}

/// The thread a reply or repost goes to: the first post half of the time, else a recent one.
fn pick_thread<'a>(
    threads: &'a [(String, String, String)],
    rng: &mut SimRng,
) -> &'a (String, String, String) {
    if rng.chance(0.5) {
        return &threads[0];
    }
    let recent = threads.len().min(12);
    &threads[threads.len() - 1 - rng.below(recent as u64) as usize]
}

/// A fresh author for the story; from minute 8 on some are big accounts (the story spreads).
fn story_author(rng: &mut SimRng, minute: i64) -> String {
    if minute >= 8 && rng.chance(0.05) {
        return rng.word(super::BIG_ACCOUNTS).to_string();
    }
    handle(rng)
}
