//! RSS 2.0 and Atom feeds.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tidewatch_collect::rss::parse_feed;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = parse_feed(data, "https://example.org/feed.xml", common::observed_at()) {
        batch
            .posts
            .iter()
            .for_each(common::assert_post_is_canonical);
    }
});
