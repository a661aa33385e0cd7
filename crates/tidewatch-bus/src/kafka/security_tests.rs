use super::*;

fn secured_config() -> KafkaConfig {
    let mut config = KafkaConfig::new("broker.example:9093");
    config.security_protocol = SecurityProtocol::SaslSsl;
    config.sasl_mechanism = Some(SaslMechanism::ScramSha512);
    config.sasl_username = Some("tidewatch".into());
    config.sasl_password = Some(Secret::new("0042-not-a-number"));
    config
}

fn message(result: Result<(), BusError>) -> String {
    result.expect_err("expected an error").to_string()
}

#[test]
fn security_settings_reach_librdkafka_exactly() {
    let mut config = secured_config();
    config.client.insert("client.id".into(), "tw-test".into());
    config
        .consumer
        .insert("statistics.interval.ms".into(), "1000".into());
    config.producer.insert("linger.ms".into(), "20".into());
    config.validate().unwrap();

    let consumer = config.client_properties(ClientRole::Consumer);
    assert_eq!(consumer["bootstrap.servers"], "broker.example:9093");
    assert_eq!(consumer["security.protocol"], "sasl_ssl");
    assert_eq!(consumer["sasl.mechanisms"], "SCRAM-SHA-512");
    assert_eq!(consumer["sasl.username"], "tidewatch");
    // librdkafka hides a sensitive property when its configuration is read back: that it is
    // there at all shows the password reached it.
    assert_eq!(consumer["sasl.password"], "[sanitized for safety]");
    assert_eq!(consumer["client.id"], "tw-test");
    assert_eq!(consumer["statistics.interval.ms"], "1000");
    assert!(
        !consumer.contains_key("linger.ms"),
        "producer-only property"
    );

    let producer = config.client_properties(ClientRole::Producer);
    assert_eq!(producer["linger.ms"], "20");
    assert!(!producer.contains_key("statistics.interval.ms"));

    // librdkafka's own view of the same configuration, read back property by property.
    let mut client_config = ClientConfig::new();
    for (name, value) in &consumer {
        client_config.set(name, value);
    }
    let native = client_config.create_native_config().unwrap();
    for (name, value) in &consumer {
        assert_eq!(&native.get(name).unwrap(), value, "{name}");
    }
}

#[test]
fn tidewatch_tuning_is_overridden_by_the_passthrough_applied_last() {
    let mut config = KafkaConfig::new("b:1");
    config.producer.insert("linger.ms".into(), "50".into());
    let mut client_config = config.base_client_config();
    client_config.set("linger.ms", "5");
    config.apply_passthrough(&mut client_config, ClientRole::Producer);
    assert_eq!(client_config.get("linger.ms"), Some("50"));
}

#[test]
fn unknown_owned_and_secret_properties_are_refused_by_name() {
    let mut unknown = KafkaConfig::new("b:1");
    unknown.client.insert("linger.msec".into(), "5".into());
    let text = message(unknown.validate());
    assert!(
        text.contains("kafka.client") && text.contains("linger.msec"),
        "{text}"
    );

    let mut bad_value = KafkaConfig::new("b:1");
    bad_value
        .consumer
        .insert("fetch.wait.max.ms".into(), "soon".into());
    let text = message(bad_value.validate());
    assert!(
        text.contains("kafka.consumer") && text.contains("fetch.wait.max.ms"),
        "{text}"
    );

    for owned in [
        "enable.auto.offset.store",
        "enable.idempotence",
        "group.id",
        "bootstrap.servers",
    ] {
        let mut config = KafkaConfig::new("b:1");
        config.producer.insert(owned.into(), "x".into());
        let text = message(config.validate());
        assert!(
            text.contains(owned) && text.contains("set by tidewatch"),
            "{text}"
        );
    }

    let mut secret = KafkaConfig::new("b:1");
    secret
        .client
        .insert("sasl.password".into(), "hunter2".into());
    let text = message(secret.validate());
    assert!(
        text.contains("sasl.password") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn incomplete_security_settings_name_the_key() {
    let mut no_mechanism = secured_config();
    no_mechanism.sasl_mechanism = None;
    assert!(message(no_mechanism.validate()).contains("kafka.sasl_mechanism"));

    let mut no_password = secured_config();
    no_password.sasl_password = None;
    assert!(message(no_password.validate()).contains("TIDEWATCH__KAFKA__SASL_PASSWORD"));

    let mut no_user = secured_config();
    no_user.sasl_username = None;
    assert!(message(no_user.validate()).contains("kafka.sasl_username"));

    let mut ca_without_tls = KafkaConfig::new("b:1");
    ca_without_tls.ca_file = Some("/etc/ssl/certs/ca-certificates.crt".into());
    assert!(message(ca_without_tls.validate()).contains("kafka.security_protocol"));

    let mut missing_ca = KafkaConfig::new("b:1");
    missing_ca.security_protocol = SecurityProtocol::Ssl;
    missing_ca.ca_file = Some("/nonexistent/ca.pem".into());
    let text = message(missing_ca.validate());
    assert!(
        text.contains("kafka.ca_file") && text.contains("/nonexistent/ca.pem"),
        "{text}"
    );

    let mut half_mutual_tls = KafkaConfig::new("b:1");
    half_mutual_tls.security_protocol = SecurityProtocol::Ssl;
    half_mutual_tls.cert_file = Some("/nonexistent/cert.pem".into());
    assert!(message(half_mutual_tls.validate()).contains("kafka.key_file"));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let mut config = secured_config();
    config.key_password = Some(Secret::new("pass-phrase-77"));
    let shown = format!("{config:?}");
    assert!(!shown.contains("0042-not-a-number"), "{shown}");
    assert!(!shown.contains("pass-phrase-77"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[test]
fn dotted_toml_keys_and_scalars_become_property_names_and_text() {
    #[derive(serde::Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "deserialize_properties")]
        client: BTreeMap<String, String>,
    }
    let holder: Holder = serde_json::from_str(
        r#"{"client":{"client":{"id":"tw"},"statistics.interval.ms":1000,"enable.ssl.certificate.verification":true}}"#,
    )
    .unwrap();
    assert_eq!(holder.client["client.id"], "tw");
    assert_eq!(holder.client["statistics.interval.ms"], "1000");
    assert_eq!(holder.client["enable.ssl.certificate.verification"], "true");
}

#[test]
fn connection_failures_name_the_setting_to_check() {
    let plain = KafkaConfig::new("b:9093");
    let wrong_ca = describe_connection_failure(
        &plain,
        "ssl://b:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed",
    );
    assert!(wrong_ca.contains("kafka.ca_file"), "{wrong_ca}");
    let bad_password = describe_connection_failure(
        &secured_config(),
        "sasl_ssl://b:9093/bootstrap: SASL authentication error: Authentication failed",
    );
    assert!(
        bad_password.contains("kafka.sasl_username"),
        "{bad_password}"
    );
    let plaintext_to_tls = describe_connection_failure(
        &plain,
        "b:9093/bootstrap: Disconnected while requesting ApiVersion",
    );
    assert!(
        plaintext_to_tls.contains("kafka.security_protocol"),
        "{plaintext_to_tls}"
    );
    let refused = describe_connection_failure(
        &plain,
        "b:1/bootstrap: Connect to ipv4#127.0.0.1:1 failed: Connection refused",
    );
    assert!(refused.contains("kafka.brokers"), "{refused}");
    assert!(is_misconfiguration("certificate verify failed"));
    assert!(!is_misconfiguration("Connection refused"));
}
