//! Helpers shared by the end-to-end tests in `tests/`: locating the `tidewatch` binary, the
//! local services (tansu on 127.0.0.1:9092, ClickHouse on 127.0.0.1:8123), unique topic
//! prefixes and database names so that tests never see each other's data.
