//! Reddit listings (posts and comments).
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tidewatch_collect::reddit::parse_listing;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = parse_listing(data) {
        batch
            .posts
            .iter()
            .for_each(common::assert_post_is_canonical);
    }
});
