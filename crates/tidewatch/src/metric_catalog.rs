//! Every metric tidewatch records, with its HELP text: `/metrics` describes each one (what
//! `promtool check metrics` asks of an exposition).
//!
//! Guarantees: [`describe_metrics`] gives every name in [`METRICS`] its HELP text and type on the
//! installed recorder; a test scans the workspace's sources and fails when a crate records a
//! `tidewatch_*` metric that is not listed here, so a new metric cannot ship without HELP text.

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Name, kind and HELP text of every metric.
pub(crate) const METRICS: &[(&str, Kind, &str)] = &[
    (
        "tidewatch_stage_received_total",
        Kind::Counter,
        "Records a stage took from its input topic.",
    ),
    (
        "tidewatch_stage_sent_total",
        Kind::Counter,
        "Records a stage made durable downstream (produced and acknowledged, or stored).",
    ),
    (
        "tidewatch_stage_dead_lettered_total",
        Kind::Counter,
        "Records a stage sent to the dead-letter topic, by reason.",
    ),
    (
        "tidewatch_stage_errors_total",
        Kind::Counter,
        "Errors a stage met (retried or fatal), by kind.",
    ),
    (
        "tidewatch_stage_batch_seconds",
        Kind::Histogram,
        "Time a stage took to process one batch, from taking it to committing it.",
    ),
    (
        "tidewatch_consumer_lag",
        Kind::Gauge,
        "Records not yet consumed by a stage, per topic and partition (librdkafka statistics).",
    ),
    (
        "tidewatch_bus_unconsumed_total",
        Kind::Counter,
        "Records left on an in-process topic that no consumer took before shutdown.",
    ),
    (
        "tidewatch_posts_unscored_total",
        Kind::Counter,
        "Posts not scored for sentiment because their language is not English, by language.",
    ),
    (
        "tidewatch_posts_unwatched_total",
        Kind::Counter,
        "Posts that matched no watch.",
    ),
    (
        "tidewatch_source_posts_total",
        Kind::Counter,
        "Posts produced by a simulated source.",
    ),
    (
        "tidewatch_collect_posts_total",
        Kind::Counter,
        "Posts a collector published, by source.",
    ),
    (
        "tidewatch_collect_requests_total",
        Kind::Counter,
        "Requests a collector made to its source, by source.",
    ),
    (
        "tidewatch_collect_errors_total",
        Kind::Counter,
        "Errors a collector met, by source and kind.",
    ),
    (
        "tidewatch_collect_dead_letters_total",
        Kind::Counter,
        "Payload items a collector dead-lettered, by source.",
    ),
    (
        "tidewatch_collect_sink_retries_total",
        Kind::Counter,
        "Times a collector retried publishing a batch because the bus refused it for now.",
    ),
    (
        "tidewatch_collect_cursor_expired_total",
        Kind::Counter,
        "Times a collector's saved cursor was too old for its source and it restarted from now.",
    ),
    (
        "tidewatch_collect_repeats_dropped_total",
        Kind::Counter,
        "Events a collector dropped because it had already published them.",
    ),
    (
        "tidewatch_collect_cursor_lag_seconds",
        Kind::Gauge,
        "How far behind now a collector's cursor is, in seconds.",
    ),
    (
        "tidewatch_collect_last_success_timestamp_seconds",
        Kind::Gauge,
        "Unix time of a collector's last successful cycle.",
    ),
    (
        "tidewatch_detect_snapshot_seconds",
        Kind::Histogram,
        "Time the detect stage took to write a state snapshot.",
    ),
    (
        "tidewatch_alert_notifications_total",
        Kind::Counter,
        "Notifications sent to receivers, by receiver and outcome.",
    ),
    (
        "tidewatch_alert_pending_deliveries",
        Kind::Gauge,
        "Notifications waiting in the outbox for a retry.",
    ),
    (
        "tidewatch_store_rows_total",
        Kind::Counter,
        "Rows inserted into ClickHouse, by table.",
    ),
    (
        "tidewatch_store_queries_total",
        Kind::Counter,
        "Analyst queries run against ClickHouse, by query.",
    ),
    (
        "tidewatch_store_maintenance_errors_total",
        Kind::Counter,
        "Errors of the store's background maintenance (rollups, retention), by task.",
    ),
    (
        "tidewatch_store_rollup_buckets_total",
        Kind::Counter,
        "Five-minute buckets the rollup worker computed.",
    ),
    (
        "tidewatch_store_rollup_dirty_buckets",
        Kind::Gauge,
        "Settled five-minute buckets waiting for the rollup worker.",
    ),
    (
        "tidewatch_store_rollup_buckets_read_total",
        Kind::Counter,
        "Trend buckets answered from the rollup instead of raw posts.",
    ),
    (
        "tidewatch_api_alert_actions_total",
        Kind::Counter,
        "Alert actions (ack, resolve, snooze) accepted by the API, by action.",
    ),
    (
        "tidewatch_api_forbidden_total",
        Kind::Counter,
        "API requests refused for a missing, unknown or insufficient token.",
    ),
    (
        "tidewatch_api_sse_events_total",
        Kind::Counter,
        "Events sent on the API's live alert streams.",
    ),
    (
        "tidewatch_api_store_errors_total",
        Kind::Counter,
        "API requests that failed because ClickHouse did not answer.",
    ),
    (
        "tidewatch_api_sse_connections",
        Kind::Gauge,
        "Live alert-stream connections open now.",
    ),
    (
        "tidewatch_api_sse_refused_total",
        Kind::Counter,
        "Alert-stream connections refused by the per-token or global limit (429).",
    ),
    (
        "tidewatch_api_stream_polls_total",
        Kind::Counter,
        "Polls of ClickHouse by the process's one shared alert-stream poller.",
    ),
    (
        "tidewatch_api_unsafe_urls_dropped_total",
        Kind::Counter,
        "Post URLs dropped from API answers because they were not http(s).",
    ),
    (
        "tidewatch_collect_feed_gaps_total",
        Kind::Counter,
        "Feed fetches that shared no item with the previous fetch (items may have been missed), by source.",
    ),
    (
        "tidewatch_collect_implausible_times_total",
        Kind::Counter,
        "Posts whose claimed creation time was implausible and replaced by the network's time, by source.",
    ),
    (
        "tidewatch_collect_retries_total",
        Kind::Counter,
        "Retried collector faults (429, 503, truncated payloads…), by source and kind.",
    ),
    (
        "tidewatch_stage_batches_in_flight",
        Kind::Gauge,
        "Batches a stage has processed and not yet made durable.",
    ),
    (
        "tidewatch_stage_dependency_failing",
        Kind::Gauge,
        "1 while a stage's dependency (broker, ClickHouse, receiver) keeps failing, else 0.",
    ),
    (
        "tidewatch_stage_dependency_failures_total",
        Kind::Counter,
        "Deliveries a stage retried because its dependency failed.",
    ),
    (
        "tidewatch_stage_last_durable_batch_age_seconds",
        Kind::Gauge,
        "Seconds since a stage last made a batch durable (grows while idle or stuck).",
    ),
];

/// Gives every metric of [`METRICS`] its HELP text on the installed recorder.
pub(crate) fn describe_metrics() {
    for &(name, kind, help) in METRICS {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// The metric names recorded in `text`: the string literal that opens each `counter!(`,
    /// `gauge!(` or `histogram!(` call.
    fn recorded_names(text: &str, names: &mut BTreeSet<String>) {
        for macro_name in ["counter!(", "gauge!(", "histogram!("] {
            for (start, _) in text.match_indices(macro_name) {
                let rest = text[start + macro_name.len()..].trim_start();
                let Some(literal) = rest.strip_prefix('"') else {
                    continue;
                };
                let name = &literal[..literal.find('"').unwrap_or(0)];
                if name.starts_with("tidewatch_") {
                    names.insert(name.to_string());
                }
            }
        }
    }

    fn scan(directory: &Path, names: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(directory).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                scan(&path, names);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                recorded_names(&std::fs::read_to_string(&path).unwrap(), names);
            }
        }
    }

    #[test]
    fn every_metric_recorded_in_the_workspace_has_help_text() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut recorded = BTreeSet::new();
        for crate_directory in std::fs::read_dir(&crates).unwrap().flatten() {
            let sources = crate_directory.path().join("src");
            if sources.is_dir() {
                scan(&sources, &mut recorded);
            }
        }
        assert!(
            recorded.contains("tidewatch_stage_received_total"),
            "the scan found no metric: {recorded:?}"
        );
        let described: BTreeSet<&str> = METRICS.iter().map(|(name, ..)| *name).collect();
        let missing: Vec<&String> = recorded
            .iter()
            .filter(|name| !described.contains(name.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "metrics without HELP text (add them to METRICS): {missing:?}"
        );
        assert_eq!(described.len(), METRICS.len(), "a metric is listed twice");
    }

    #[test]
    fn the_exposition_has_help_for_every_type_line() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_metrics();
            for &(name, kind, _) in METRICS {
                match kind {
                    Kind::Counter => metrics::counter!(name).increment(1),
                    Kind::Gauge => metrics::gauge!(name).set(1.0),
                    Kind::Histogram => metrics::histogram!(name).record(0.5),
                }
            }
        });
        let exposition = handle.render();
        let typed: Vec<&str> = exposition
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        assert_eq!(typed.len(), METRICS.len(), "{exposition}");
        for name in typed {
            assert!(
                exposition.contains(&format!("# HELP {name} ")),
                "{name} has no HELP line:\n{exposition}"
            );
        }
    }
}
