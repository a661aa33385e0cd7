//! The canonical post gate (`Post::from_json_bytes`, what every stage and `replay` use): never
//! panics, and a post it accepts survives its own serialisation unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidewatch_model::Post;

fuzz_target!(|data: &[u8]| {
    let Ok(post) = Post::from_json_bytes(data) else {
        return;
    };
    let again = Post::from_json_bytes(post.to_json().as_bytes())
        .unwrap_or_else(|error| panic!("an accepted post does not re-read: {error}"));
    assert_eq!(again, post);
});
