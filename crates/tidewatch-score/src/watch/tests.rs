//! Watch matching: the rules of the module header, then properties checked on random texts
//! against a deliberately simple oracle (tokenise, compare consecutive words).

use proptest::prelude::*;

use super::*;

fn watch(name: &str, any: &[&str], none: &[&str]) -> WatchConfig {
    WatchConfig {
        name: name.into(),
        any: any.iter().map(|term| term.to_string()).collect(),
        all: vec![],
        none: none.iter().map(|term| term.to_string()).collect(),
        languages: vec![],
    }
}

#[test]
fn matches_words_phrases_handles_and_hashtags() {
    let matcher = WatchMatcher::new(&[
        watch("jetblue", &["jetblue", "jet blue"], &["jetblue park"]),
        watch("united", &["ual", "@united"], &[]),
    ])
    .unwrap();
    assert_eq!(
        matcher.matching("Flying JetBlue today", None),
        vec!["jetblue"]
    );
    assert_eq!(
        matcher.matching("#jetblue lost my bag", None),
        vec!["jetblue"]
    );
    assert_eq!(
        matcher.matching("@JetBlue's app is down", None),
        vec!["jetblue"]
    );
    assert_eq!(
        matcher.matching("on Jet   Blue, again", None),
        vec!["jetblue"]
    );
    assert_eq!(matcher.matching("jet-blue!", None), vec!["jetblue"]);
    assert!(matcher.matching("game at JetBlue Park", None).is_empty());
    assert!(matcher.matching("the usual delay", None).is_empty());
    assert!(matcher
        .matching("jetbluepark and jetblues", None)
        .is_empty());
    assert_eq!(matcher.matching("thanks @united!", None), vec!["united"]);
    assert!(matcher.matching("we united the team", None).is_empty());
    assert!(matcher
        .matching("#united is not the handle", None)
        .is_empty());
    assert!(matcher.matching("mail me@united.com", None).is_empty());
    assert_eq!(
        matcher.matching("UAL and JetBlue", None),
        vec!["jetblue", "united"]
    );
}

#[test]
fn hashtag_terms_match_only_hashtags_and_phrase_words_keep_their_sigils() {
    let matcher = WatchMatcher::new(&[
        watch("tag", &["#fail"], &[]),
        watch("support", &["acme @support"], &[]),
    ])
    .unwrap();
    assert_eq!(matcher.matching("epic #FAIL today", None), vec!["tag"]);
    assert!(matcher.matching("epic fail", None).is_empty());
    assert!(matcher.matching("epic @fail", None).is_empty());
    assert_eq!(
        matcher.matching("ACME, @Support ignores me", None),
        vec!["support"]
    );
    assert!(matcher.matching("acme support ignores me", None).is_empty());
}

#[test]
fn all_clause_and_languages() {
    let config = WatchConfig {
        name: "acme-outage".into(),
        any: vec!["acme".into()],
        all: vec!["outage".into(), "again".into()],
        none: vec![],
        languages: vec!["EN".into()],
    };
    let matcher = WatchMatcher::new(&[config]).unwrap();
    assert!(matcher.matching("acme is great", Some("en")).is_empty());
    assert!(matcher.matching("acme outage", Some("en")).is_empty());
    assert_eq!(
        matcher.matching("Again an ACME outage", Some("en-US")),
        vec!["acme-outage"]
    );
    assert!(matcher.matching("acme outage again", Some("de")).is_empty());
    assert!(matcher.matching("acme outage again", None).is_empty());
    let mut scratch = MatchScratch::default();
    assert!(matcher.could_match("acme outage again", &[], &mut scratch));
    assert!(!matcher.could_match("acme is great", &[], &mut scratch));
    assert!(matcher.could_match("nothing", &[0], &mut scratch));
}

#[test]
fn inherited_watches_keep_languages_and_exclusions_only() {
    let mut configs = vec![
        watch("jetblue", &["jetblue"], &["jetblue park"]),
        watch("other", &["zzz"], &[]),
    ];
    configs[1].languages = vec!["en".into()];
    let matcher = WatchMatcher::new(&configs).unwrap();
    let mut scratch = MatchScratch::default();
    let mut matched = Vec::new();
    matcher.match_into(
        "same here, 3 hours",
        Some("en"),
        &[0, 1],
        &mut scratch,
        &mut matched,
    );
    assert_eq!(matched, vec![0, 1]);
    matcher.match_into(
        "see you at JetBlue Park",
        Some("de"),
        &[0, 1],
        &mut scratch,
        &mut matched,
    );
    assert!(matched.is_empty());
    matcher.match_into("x", None, &[7], &mut scratch, &mut matched);
    assert!(matched.is_empty(), "unknown watch indices are ignored");
}

#[test]
fn shared_terms_and_many_watches_report_each_watch_once_in_config_order() {
    let configs: Vec<WatchConfig> = (0..1000)
        .map(|index| {
            watch(
                &format!("w{index}"),
                &[&format!("brand{index}"), "shared", "#shared"],
                &[],
            )
        })
        .collect();
    let matcher = WatchMatcher::new(&configs).unwrap();
    assert_eq!(matcher.len(), 1000);
    assert_eq!(
        matcher.matching("brand7 and Brand999, brand1000", None),
        vec!["w7", "w999"]
    );
    assert_eq!(matcher.matching("#shared shared", None).len(), 1000);
}

#[test]
fn rejects_bad_configs() {
    assert_eq!(
        WatchMatcher::new(&[watch("", &["x"], &[])]).unwrap_err(),
        WatchError::EmptyName
    );
    assert_eq!(
        WatchMatcher::new(&[watch("a", &["x"], &[]), watch("a", &["y"], &[])]).unwrap_err(),
        WatchError::DuplicateName("a".into())
    );
    assert_eq!(
        WatchMatcher::new(&[watch("a", &[], &[])]).unwrap_err(),
        WatchError::NoTerms("a".into())
    );
    assert_eq!(
        WatchMatcher::new(&[watch("a", &["!!"], &[])]).unwrap_err(),
        WatchError::EmptyTerm("a".into())
    );
    assert!(WatchMatcher::new(&[])
        .unwrap()
        .matching("x", None)
        .is_empty());
}

/// The oracle: tokens `(sigil, lowercase word)`, and a term occurs where its words are
/// consecutive tokens, each sigil it writes present on that token. A sigil is the `@` or `#`
/// right before a word, itself not right after a word character.
fn oracle_tokens(text: &str) -> Vec<(Option<char>, String)> {
    let is_word = |character: char| character.is_alphanumeric() || character == '_';
    let characters: Vec<char> = text.chars().collect();
    let mut tokens: Vec<(Option<char>, String)> = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        if !is_word(characters[index]) {
            index += 1;
            continue;
        }
        let sigil = match index {
            0 => None,
            1 => Some(characters[0]),
            _ if is_word(characters[index - 2]) => None,
            _ => Some(characters[index - 1]),
        }
        .filter(|sigil| *sigil == '@' || *sigil == '#');
        let mut word = String::new();
        while index < characters.len() && is_word(characters[index]) {
            word.extend(characters[index].to_lowercase());
            index += 1;
        }
        tokens.push((sigil, word));
    }
    tokens
}

fn oracle_occurs(term: &str, tokens: &[(Option<char>, String)]) -> bool {
    let words = oracle_tokens(term);
    tokens.windows(words.len().max(1)).any(|window| {
        window.len() == words.len()
            && words
                .iter()
                .zip(window)
                .all(|((sigil, word), (found_sigil, found))| {
                    word == found && (sigil.is_none() || sigil == found_sigil)
                })
    })
}

fn oracle(configs: &[WatchConfig], text: &str) -> Vec<String> {
    let tokens = oracle_tokens(text);
    configs
        .iter()
        .filter(|config| {
            config.any.iter().any(|term| oracle_occurs(term, &tokens))
                && config.all.iter().all(|term| oracle_occurs(term, &tokens))
                && !config.none.iter().any(|term| oracle_occurs(term, &tokens))
        })
        .map(|config| config.name.clone())
        .collect()
}

const WORDS: &[&str] = &[
    "jet", "blue", "jetblue", "ual", "usual", "acme", "air", "café", "über", "x1", "a_b",
];
const SEPARATORS: &[&str] = &[
    " ", "  ", ", ", "!", "-", "...", "\n", "/", "'", " :) ", "\t",
];

fn word() -> impl Strategy<Value = String> {
    (prop::sample::select(WORDS), 0..4_u8).prop_map(|(word, form)| match form {
        1 => format!("@{word}"),
        2 => format!("#{word}"),
        _ => word.to_string(),
    })
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec((word(), prop::sample::select(SEPARATORS)), 0..12).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(word, separator)| format!("{word}{separator}"))
            .collect()
    })
}

fn term() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..3).prop_map(|words| words.join(" "))
}

fn configs() -> impl Strategy<Value = Vec<WatchConfig>> {
    prop::collection::vec(
        (
            prop::collection::vec(term(), 1..3),
            prop::collection::vec(term(), 0..2),
            prop::collection::vec(term(), 0..2),
        ),
        1..6,
    )
    .prop_map(|watches| {
        watches
            .into_iter()
            .enumerate()
            .map(|(index, (any, all, none))| WatchConfig {
                name: format!("w{index}"),
                any,
                all,
                none,
                languages: vec![],
            })
            .collect()
    })
}

fn flip_case(text: &str, mask: &[bool]) -> String {
    text.chars()
        .zip(mask.iter().cycle())
        .map(|(character, upper)| {
            if *upper {
                character.to_uppercase().collect::<String>()
            } else {
                character.to_lowercase().collect::<String>()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn agrees_with_the_oracle(configs in configs(), text in text()) {
        let matcher = WatchMatcher::new(&configs).unwrap();
        prop_assert_eq!(matcher.matching(&text, None), oracle(&configs, &text));
    }

    #[test]
    fn could_match_is_match_into_without_languages(configs in configs(), text in text()) {
        let matcher = WatchMatcher::new(&configs).unwrap();
        let mut scratch = MatchScratch::default();
        let expected = !matcher.matching(&text, None).is_empty();
        prop_assert_eq!(matcher.could_match(&text, &[], &mut scratch), expected);
    }

    #[test]
    fn matching_is_case_insensitive(
        configs in configs(),
        text in text(),
        mask in prop::collection::vec(any::<bool>(), 1..16),
    ) {
        let matcher = WatchMatcher::new(&configs).unwrap();
        let flipped = flip_case(&text, &mask);
        prop_assert_eq!(matcher.matching(&flipped, None), matcher.matching(&text, None));
    }

    #[test]
    fn a_term_inserted_at_a_word_boundary_always_matches(
        text in text(),
        term in term(),
        cut in any::<prop::sample::Index>(),
        before in prop::sample::select(SEPARATORS),
        after in prop::sample::select(SEPARATORS),
        mask in prop::collection::vec(any::<bool>(), 1..16),
    ) {
        let matcher = WatchMatcher::new(&[watch("w", &[&term], &[])]).unwrap();
        // Cut only between characters, and never between a sigil and its word.
        let boundaries: Vec<usize> = (0..=text.len())
            .filter(|&index| text.is_char_boundary(index))
            .collect();
        let at = boundaries[cut.index(boundaries.len())];
        let inserted = format!("{}{before}{}{after}{}", &text[..at], flip_case(&term, &mask), &text[at..]);
        prop_assert_eq!(matcher.matching(&inserted, None), vec!["w".to_string()], "{:?}", inserted);
    }
}
