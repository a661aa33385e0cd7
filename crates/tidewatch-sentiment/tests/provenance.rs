//! The compiled-in data files are the ones `data/PROVENANCE.md` names: the vaderSentiment
//! 3.3.2 lexicons byte for byte, and the recorded CPython casing table.

use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn data_files_match_their_recorded_digests() {
    let files: [(&str, &[u8], &str); 3] = [
        (
            "vader_lexicon.txt",
            include_bytes!("../data/vader_lexicon.txt"),
            "1ec9c6e9ee19aade328f8beb393a6afa71a5bb3acf7d3cc22d4ef568df374bf5",
        ),
        (
            "emoji_utf8_lexicon.txt",
            include_bytes!("../data/emoji_utf8_lexicon.txt"),
            "b8d54223ae1ce22a3e12c1f745316b71678c328eb5f5d3063a842f37cfbe2823",
        ),
        (
            "casing_tables.tsv",
            include_bytes!("../data/casing_tables.tsv"),
            "3b56665a89078eff6f0fa754ed9e1d2f25bc8edf46522b0d24fb4f57bf960894",
        ),
    ];
    for (name, bytes, want) in files {
        assert_eq!(sha256_hex(bytes), want, "{name} is not the recorded file");
    }
}

#[test]
fn vader_licence_notice_is_kept() {
    let licence = include_str!("../LICENSE-vaderSentiment.txt");
    assert!(licence.contains("The MIT License"));
    assert!(licence.contains("Copyright (c) 2016 C.J. Hutto"));
}
