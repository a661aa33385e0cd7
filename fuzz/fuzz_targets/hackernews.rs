//! Hacker News (Algolia search) answers.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tidewatch_collect::hackernews::parse_search;

fuzz_target!(|data: &[u8]| {
    if let Ok((batch, _paging)) = parse_search(data) {
        batch
            .posts
            .iter()
            .for_each(common::assert_post_is_canonical);
    }
});
