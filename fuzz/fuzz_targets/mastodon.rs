//! Mastodon payloads: a status, a timeline, a server-sent-event stream and a WebSocket message.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use tidewatch_collect::mastodon::{
    parse_sse_stream, parse_status, parse_timeline, parse_websocket_message, StreamEvent,
};

fn check(event: &StreamEvent) {
    match event {
        StreamEvent::Update(post) | StreamEvent::Edit(post) | StreamEvent::Delete(post) => {
            common::assert_post_is_canonical(post)
        }
        StreamEvent::Ignored(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(post) = parse_status("mastodon.social", data) {
        common::assert_post_is_canonical(&post);
    }
    if let Ok(batch) = parse_timeline("mastodon.social", data) {
        batch
            .posts
            .iter()
            .for_each(common::assert_post_is_canonical);
    }
    if let Ok(event) = parse_websocket_message("mastodon.social", data, common::observed_at()) {
        check(&event);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for event in parse_sse_stream("mastodon.social", text, common::observed_at())
            .iter()
            .flatten()
        {
            check(event);
        }
    }
});
