//! The dead-letter round trip: any bytes, as a dead letter, serialise and read back to the same
//! letter, and carry the original (up to the cap) exactly, with its full length and hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidewatch_model::{DeadLetter, DEAD_LETTER_ORIGINAL_CAP};

fuzz_target!(|data: &[u8]| {
    let split = data
        .first()
        .map_or(0, |first| usize::from(*first) % 16)
        .min(data.len());
    let (reason, original) = data.split_at(split);
    let reason = String::from_utf8_lossy(reason).into_owned();
    let letter = DeadLetter::new("fuzz", "fuzz_reason", reason, "fuzz:1".into(), original)
        .with_position(3, 42)
        .with_key(Some(String::from_utf8_lossy(original).into_owned()));
    let json = letter.to_json();
    let again: DeadLetter = serde_json::from_str(&json).expect("a dead letter re-reads");
    assert_eq!(again, letter);
    let kept = original.len().min(DEAD_LETTER_ORIGINAL_CAP);
    assert_eq!(again.original_bytes(), &original[..kept]);
    assert_eq!(again.original_len, original.len());
    assert_eq!(again.original_truncated, kept < original.len());
});
