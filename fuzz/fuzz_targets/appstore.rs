//! App Store customer reviews, JSON and Atom.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tidewatch_collect::appstore::{parse_reviews_atom, parse_reviews_json};

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = parse_reviews_json(data, common::observed_at()) {
        batch
            .posts
            .iter()
            .for_each(common::assert_post_is_canonical);
    }
    if let Ok(batch) = parse_reviews_atom(data, common::observed_at()) {
        batch
            .posts
            .iter()
            .for_each(common::assert_post_is_canonical);
    }
});
