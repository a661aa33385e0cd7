//! Bluesky Jetstream messages.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tidewatch_collect::bluesky::parse_event;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = parse_event(data) {
        if let Some(post) = &event.post {
            common::assert_post_is_canonical(post);
        }
    }
});
