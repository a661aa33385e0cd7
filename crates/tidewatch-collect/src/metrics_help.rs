//! The HELP text of every metric the collectors record, registered with the installed
//! recorder by [`describe_metrics`] (called by [`crate::run_sources`] at start, so `/metrics`
//! explains each series; calling it again is harmless).

/// Registers the description of each collector metric with the global recorder.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge};
    describe_counter!(
        "tidewatch_collect_requests_total",
        "Requests made by the collectors (HTTP attempts, stream connections, webhook calls), by source and outcome"
    );
    describe_counter!(
        "tidewatch_collect_retries_total",
        "Requests retried after a fault (429, 5xx, network), by source and kind"
    );
    describe_counter!(
        "tidewatch_collect_errors_total",
        "Failed collect cycles and bad items, by source and kind"
    );
    describe_counter!(
        "tidewatch_collect_posts_total",
        "Posts delivered durably by each source"
    );
    describe_counter!(
        "tidewatch_collect_dead_letters_total",
        "Payloads and items dead-lettered by each source"
    );
    describe_gauge!(
        "tidewatch_collect_last_success_timestamp_seconds",
        "Unix time of each source's last durable delivery"
    );
    describe_gauge!(
        "tidewatch_collect_cursor_lag_seconds",
        "Now minus the newest created_at each source delivered"
    );
    describe_counter!(
        "tidewatch_collect_cursor_expired_total",
        "Jetstream checkpoints older than the lookback window (restarted from now)"
    );
    describe_counter!(
        "tidewatch_collect_repeats_dropped_total",
        "Stream events dropped as repeats after a reconnect"
    );
    describe_counter!(
        "tidewatch_collect_feed_gaps_total",
        "RSS / Atom fetches sharing no item with the earlier ones (items may have been missed)"
    );
    describe_counter!(
        "tidewatch_collect_implausible_times_total",
        "Bluesky createdAt claims replaced by the network time, by direction"
    );
    describe_counter!(
        "tidewatch_collect_sink_retries_total",
        "Publishes of collected posts retried because the sink was unavailable"
    );
}
