//! The configuration's sections, read as `tidewatch`'s loader reads them (TOML through figment,
//! unknown keys refused, then each section's own validation): any text gives a config or an
//! error, never a panic. (The loader's top-level struct lives in the binary; this mirrors it
//! with the same section types, which hold all of the parsing and validation.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sections {
    #[serde(default)]
    kafka: Option<tidewatch_bus::KafkaConfig>,
    #[serde(default)]
    clickhouse: Option<tidewatch_store::StoreConfig>,
    #[serde(default)]
    api: Option<tidewatch_api::ApiConfig>,
    #[serde(default)]
    detect: Option<tidewatch_detect::DetectorConfig>,
    #[serde(default, rename = "watch")]
    watches: Vec<tidewatch_score::WatchConfig>,
    #[serde(default)]
    alert: Option<tidewatch_alert::AlertSettings>,
    #[serde(default)]
    receiver: Vec<tidewatch_alert::ReceiverConfig>,
    #[serde(default)]
    route: Vec<tidewatch_alert::RouteConfig>,
    #[serde(default)]
    silence: Vec<tidewatch_alert::SilenceConfig>,
    #[serde(default, rename = "source")]
    sources: Vec<tidewatch_collect::SourceConfig>,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sections) = toml::from_str::<Sections>(text) else {
        return;
    };
    if let Some(kafka) = &sections.kafka {
        let _ = kafka.validate();
    }
    if let Some(clickhouse) = &sections.clickhouse {
        let _ = clickhouse.validate();
    }
    if let Some(api) = &sections.api {
        let _ = api.validate();
    }
    if let Some(detect) = &sections.detect {
        let _ = detect.validate();
    }
    let _ = tidewatch_score::WatchMatcher::new(&sections.watches);
    let notify = tidewatch_alert::NotifyConfig {
        alert: sections.alert.unwrap_or_default(),
        receiver: sections.receiver,
        route: sections.route,
        silence: sections.silence,
    };
    let _ = notify.validate();
    let _ = tidewatch_collect::validate_sources(&sections.sources);
});
