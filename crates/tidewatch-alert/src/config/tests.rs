use super::*;
use crate::test_support::config;

const EXAMPLE: &str = r#"
[alert]
state_path = "/var/lib/tidewatch/alert.json"
cooldown_minutes = 15
max_pages_per_watch_per_hour = 4

[[receiver]]
name = "oncall"
kind = "pagerduty"
routing_key_env = "TIDEWATCH_PD_KEY"
dashboard_url = "https://tidewatch.example.com/"

[[receiver]]
name = "care"
kind = "slack"
webhook_url_env = "TIDEWATCH_SLACK_URL"

[[receiver]]
name = "crm"
kind = "webhook"
url = "https://crm.example.com/hooks/tidewatch"
secret_env = "TIDEWATCH_CRM_SECRET"

[[route]]
watches = ["jetblue"]
min_severity = "warning"
receivers = ["oncall"]
continue = true

[[route]]
receivers = ["care", "crm"]

[[silence]]
matchers = { watch = "jetblue", title_contains = "wifi" }
starts_at = "2026-11-23T10:00:00Z"
ends_at = "2026-11-23T18:00:00Z"
comment = "known wifi outage"
"#;

#[test]
fn the_documented_example_parses_and_validates() {
    let parsed: NotifyConfig = toml::from_str(EXAMPLE).unwrap();
    parsed.validate().unwrap();
    assert_eq!(parsed.alert.cooldown_minutes, 15);
    assert_eq!(parsed.alert.retry_max_attempts, 8, "defaults fill the rest");
    assert_eq!(parsed.receiver[0].kind, ReceiverKind::Pagerduty);
    assert_eq!(
        parsed.receiver[0].story_link("s1").as_deref(),
        Some("https://tidewatch.example.com/#/stories/s1")
    );
    assert!(parsed.route[0].continue_matching);
    assert_eq!(parsed.route[1].min_severity, Severity::Info);
    assert_eq!(parsed.silence[0].matchers.watch.as_deref(), Some("jetblue"));
}

#[test]
fn unknown_keys_are_refused() {
    let typo = EXAMPLE.replace("cooldown_minutes", "cooldown_minute");
    let error = toml::from_str::<NotifyConfig>(&typo).unwrap_err();
    assert!(error.to_string().contains("cooldown_minute"), "{error}");
    let secret_in_file = EXAMPLE.replace("routing_key_env =", "routing_key =");
    assert!(toml::from_str::<NotifyConfig>(&secret_in_file).is_err());
}

fn invalid_key(config: &NotifyConfig) -> String {
    match config.validate().unwrap_err() {
        ConfigError::Invalid { key, .. } => key,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn errors_name_the_key() {
    let mut unknown_receiver = config();
    unknown_receiver.route[0].receivers.push("nobody".into());
    assert_eq!(invalid_key(&unknown_receiver), "route[0].receivers");

    let mut duplicate = config();
    duplicate.receiver[2].name = "pd".into();
    assert_eq!(invalid_key(&duplicate), "receiver[2].name");

    let mut no_secret = config();
    no_secret.receiver[0].routing_key_env = None;
    assert_eq!(invalid_key(&no_secret), "receiver[0].routing_key_env");

    let mut wrong_secret = config();
    wrong_secret.receiver[0].secret_env = Some("X".into());
    assert_eq!(invalid_key(&wrong_secret), "receiver[0].secret_env");

    let mut slack_url = config();
    slack_url.receiver[1].url = Some("https://hooks.slack.com/x".into());
    assert_eq!(invalid_key(&slack_url), "receiver[1].url");

    let mut bad_url = config();
    bad_url.receiver[2].url = Some("ftp://example.com".into());
    assert_eq!(invalid_key(&bad_url), "receiver[2].url");

    let mut zero_cap = config();
    zero_cap.alert.max_pages_per_watch_per_hour = 0;
    assert_eq!(invalid_key(&zero_cap), "alert.max_pages_per_watch_per_hour");

    let mut backwards = config();
    backwards.silence.push(SilenceConfig {
        matchers: SilenceMatchers {
            watch: Some("acme".into()),
            ..SilenceMatchers::default()
        },
        starts_at: crate::test_support::ts(10),
        ends_at: crate::test_support::ts(5),
        comment: String::new(),
    });
    assert_eq!(invalid_key(&backwards), "silence[0].ends_at");
    backwards.silence[0].ends_at = crate::test_support::ts(20);
    backwards.silence[0].matchers = SilenceMatchers::default();
    assert_eq!(invalid_key(&backwards), "silence[0].matchers");
}
