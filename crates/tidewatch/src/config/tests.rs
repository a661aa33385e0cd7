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

#[test]
fn unknown_keys_are_named_once() {
    let error = load_text("[kafka]\nbrokers = \"x:1\"\nbrokerz = \"y\"\n").unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("`kafka.brokerz`"), "{message}");
    assert!(!message.contains("brokerz.brokerz"), "{message}");
}

#[test]
fn two_tokens_with_one_hash_are_refused() {
    let hash = "ab".repeat(32);
    let text = format!(
        "[api]\ntokens = [{{ name = \"alice\", sha256 = \"{hash}\", role = \"viewer\" }}, {{ name = \"bob\", sha256 = \"{}\", role = \"admin\" }}]\n",
        hash.to_uppercase()
    );
    let message = format!("{:#}", load_text(&text).unwrap_err());
    assert!(
        message.contains("alice") && message.contains("bob") && message.contains("same sha256"),
        "{message}"
    );
}

/// Secret-shaped values survive as they are: digits, leading zeros, quotes, TOML-looking text.
#[test]
fn verbatim_settings_are_never_parsed() {
    let awkward = [
        "98765432",
        "0042",
        "\"quoted\"",
        "'single'",
        "true",
        "[1, 2]",
        "{a = 1}",
        " spaced ",
        "",
    ];
    for value in awkward {
        let variables: Vec<(std::ffi::OsString, std::ffi::OsString)> = vec![
            ("TIDEWATCH__KAFKA__SASL_PASSWORD".into(), value.into()),
            ("tidewatch__clickhouse__password".into(), value.into()),
            ("TIDEWATCH__KAFKA__BROKERS".into(), "ignored:1".into()),
        ];
        let values = verbatim_values(variables).unwrap();
        assert_eq!(
            values,
            vec![
                ("kafka.sasl_password", value.to_string()),
                ("clickhouse.password", value.to_string())
            ]
        );
        let mut figment = Figment::new().merge(Toml::string(
            "[kafka]\nbrokers = \"b:1\"\nsecurity_protocol = \"SASL_SSL\"\nsasl_mechanism = \"SCRAM-SHA-256\"\nsasl_username = \"tw\"\n",
        ));
        for (key, value) in values {
            figment = figment.merge((key, value));
        }
        let config =
            Config::extract(figment).unwrap_or_else(|error| panic!("{value:?}: {error:#}"));
        let kafka = config.kafka.unwrap();
        assert_eq!(kafka.sasl_password.as_ref().unwrap().expose(), value);
        assert_eq!(config.clickhouse.password.as_deref(), Some(value));
        if value.len() > 2 {
            let shown = format!("{kafka:?} {:?}", config.clickhouse);
            assert!(!shown.contains(value), "{shown}");
        }
    }
}

/// Through the real environment: the ClickHouse password and user, which no other test of
/// this module reads (so setting them cannot disturb tests running beside this one).
#[test]
fn the_clickhouse_password_from_the_environment_stays_text() {
    std::env::set_var("TIDEWATCH__CLICKHOUSE__PASSWORD", "0098765432");
    std::env::set_var("TIDEWATCH__CLICKHOUSE__USER", "007");
    let loaded = load_text("");
    std::env::remove_var("TIDEWATCH__CLICKHOUSE__PASSWORD");
    std::env::remove_var("TIDEWATCH__CLICKHOUSE__USER");
    let config = loaded.unwrap();
    assert_eq!(config.clickhouse.password.as_deref(), Some("0098765432"));
    assert_eq!(config.clickhouse.user, "007");
    assert!(!format!("{config:?}").contains("0098765432"));
}

#[test]
fn kafka_secrets_are_refused_in_the_file_without_echoing_them() {
    for (key, variable) in [
        ("sasl_password", "TIDEWATCH__KAFKA__SASL_PASSWORD"),
        ("key_password", "TIDEWATCH__KAFKA__KEY_PASSWORD"),
    ] {
        let error = load_text(&format!(
            "[kafka]\nbrokers = \"b:1\"\n{key} = \"s3cr3t-in-file\"\n"
        ))
        .unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains(variable), "{message}");
        assert!(!message.contains("s3cr3t-in-file"), "{message}");
    }
}

#[test]
fn kafka_security_and_passthrough_load_and_bad_properties_are_named() {
    let config = load_text(
        r#"
[kafka]
brokers = "broker.example:9093"
security_protocol = "SASL_SSL"
sasl_mechanism = "SCRAM-SHA-512"
sasl_username = "tidewatch"

[kafka.client]
client.id = "tidewatch-prod"
"socket.keepalive.enable" = true

[kafka.consumer]
statistics.interval.ms = 1000
"#,
    );
    // No password in the environment: refused, naming where it comes from.
    let message = format!("{:#}", config.unwrap_err());
    assert!(
        message.contains("TIDEWATCH__KAFKA__SASL_PASSWORD"),
        "{message}"
    );

    let config = load_text(
        "[kafka]\nbrokers = \"b:1\"\n[kafka.client]\nclient.id = \"tw\"\n[kafka.consumer]\nstatistics.interval.ms = 1000\n",
    )
    .unwrap();
    let kafka = config.kafka.unwrap();
    assert_eq!(kafka.client["client.id"], "tw");
    assert_eq!(kafka.consumer["statistics.interval.ms"], "1000");

    let unknown = load_text("[kafka]\nbrokers = \"b:1\"\n[kafka.producer]\nlinger.msec = 5\n");
    let message = format!("{:#}", unknown.unwrap_err());
    assert!(
        message.contains("kafka.producer") && message.contains("linger.msec"),
        "{message}"
    );
    let owned = load_text(
        "[kafka]\nbrokers = \"b:1\"\n[kafka.consumer]\n\"enable.auto.offset.store\" = true\n",
    );
    let message = format!("{:#}", owned.unwrap_err());
    assert!(message.contains("enable.auto.offset.store"), "{message}");
}

#[test]
fn https_clickhouse_with_a_missing_ca_file_fails_naming_the_key() {
    let error = load_text(
        "[clickhouse]\nurl = \"https://clickhouse.example:8443\"\nca_file = \"/nonexistent/ca.pem\"\n",
    )
    .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("clickhouse.ca_file"), "{message}");
}
