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
