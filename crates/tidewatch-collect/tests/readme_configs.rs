//! Every `[[source]]` example in the crate README parses as a `SourceConfig` (TOML, as the
//! binary reads it) and passes validation, and there is one for every kind.

use serde::Deserialize;
use tidewatch_collect::{validate_sources, SourceConfig};

#[derive(Deserialize)]
struct Config {
    source: Vec<SourceConfig>,
}

#[test]
fn readme_examples_parse_and_validate() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut sources = Vec::new();
    for block in readme.split("```toml").skip(1) {
        let text = block.split("```").next().unwrap();
        let config: Config = toml::from_str(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
        sources.extend(config.source);
    }
    let kinds: Vec<&str> = sources.iter().map(SourceConfig::kind).collect();
    assert_eq!(
        kinds,
        [
            "mastodon",
            "bluesky",
            "hackernews",
            "reddit",
            "rss",
            "appstore",
            "webhook"
        ]
    );
    validate_sources(&sources).unwrap();
}
