use super::*;

fn load_text(text: &str) -> anyhow::Result<Config> {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tidewatch.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(Some(&path))
}

#[test]
fn loads_the_design_watch_form() {
    let config = load_text(
        r##"
[kafka]
brokers = "127.0.0.1:9092"
partitions = 8

[[watch]]
name = "jetblue"
any = ["jetblue", "@jetblue", "#jetblue", "jet blue"]
all = []
none = ["jetblue park"]
languages = []
"##,
    )
    .unwrap();
    assert_eq!(config.kafka.as_ref().unwrap().partitions, 8);
    assert_eq!(config.watches[0].name, "jetblue");
    assert_eq!(
        config
            .watch_matcher()
            .unwrap()
            .matching("JetBlue again", None),
        vec!["jetblue"]
    );
}

#[test]
fn unknown_keys_name_their_path() {
    let error = load_text("[kafka]\nbrokers = \"x:1\"\nbrokerz = \"y\"\n").unwrap_err();
    assert!(format!("{error:#}").contains("kafka.brokerz"), "{error:#}");
    let error = load_text("[[watch]]\nname = \"a\"\nany = [\"a\"]\nexclude = []\n").unwrap_err();
    assert!(format!("{error:#}").contains("exclude"), "{error:#}");
    let error = load_text("[nonsense]\nx = 1\n").unwrap_err();
    assert!(format!("{error:#}").contains("nonsense"), "{error:#}");
}

#[test]
fn refuses_secrets_in_the_file() {
    let error = load_text("[clickhouse]\npassword = \"hunter2\"\n").unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("TIDEWATCH__CLICKHOUSE__PASSWORD"),
        "{message}"
    );
    assert!(!message.contains("hunter2"));
}

#[test]
fn bad_watches_stop_loading_with_their_name() {
    let error = load_text("[[watch]]\nname = \"empty\"\nany = []\n").unwrap_err();
    assert!(format!("{error:#}").contains("empty"), "{error:#}");
}

#[test]
fn embedded_bus_when_kafka_is_absent() {
    let config = load_text("").unwrap();
    assert!(config.kafka.is_none());
    assert!(config.require_kafka().is_err());
    assert_eq!(config.topics(), Topics::default());
}

#[test]
fn sources_receivers_and_routes_load_and_bad_ones_name_the_key() {
    let config = load_text(
        r##"
[[source]]
kind = "rss"
name = "reviews"
feed_url = "https://example.com/feed.xml"

[[source]]
kind = "simulate"
name = "sim"
story_watch = ""

[[receiver]]
name = "oncall"
kind = "pagerduty"
routing_key_env = "PD_KEY"

[[route]]
receivers = ["oncall"]
"##,
    )
    .unwrap();
    assert_eq!(config.sources.len(), 2);
    assert!(matches!(config.sources[1], SourceEntry::Simulate(_)));
    assert_eq!(config.notify_config().receiver[0].name, "oncall");

    let bad_key = load_text("[[source]]\nkind = \"rss\"\nname = \"r\"\nfeeds = []\n").unwrap_err();
    assert!(
        format!("{bad_key:#}").contains("source.0") && format!("{bad_key:#}").contains("feeds"),
        "{bad_key:#}"
    );
    let unknown_kind = load_text("[[source]]\nkind = \"myspace\"\nname = \"x\"\n").unwrap_err();
    assert!(
        format!("{unknown_kind:#}").contains("source"),
        "{unknown_kind:#}"
    );
    let bad_simulate =
        load_text("[[source]]\nkind = \"simulate\"\nname = \"x\"\nseeed = 3\n").unwrap_err();
    assert!(
        format!("{bad_simulate:#}").contains("seeed"),
        "{bad_simulate:#}"
    );
    let unknown_receiver = load_text("[[route]]\nreceivers = [\"nobody\"]\n").unwrap_err();
    assert!(
        format!("{unknown_receiver:#}").contains("route[0].receivers"),
        "{unknown_receiver:#}"
    );
}

/// The configuration example in the README loads as it is (with its placeholder hash filled in).
#[test]
fn the_readme_configuration_example_loads() {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("```toml\n[kafka]")
        .expect("the README has the configuration example");
    let block = &readme[start + "```toml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let block = block.replace("<64 hex digits>", &"ab".repeat(32));
    let config = load_text(&block).unwrap_or_else(|error| panic!("{error:#}\n{block}"));
    assert_eq!(config.receiver.len(), 1);
    assert_eq!(config.silence.len(), 1);
    assert_eq!(config.sources.len(), 1);
    assert_eq!(config.api.tokens.len(), 1);
}
