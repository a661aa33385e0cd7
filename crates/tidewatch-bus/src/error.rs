//! Bus errors, each saying whether retrying can help.

use rdkafka::error::KafkaError;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("kafka error: {0}")]
    Kafka(#[from] KafkaError),
    #[error("delivery of {failed} of {total} records failed: {first_error}")]
    Delivery {
        failed: usize,
        total: usize,
        first_error: String,
    },
    #[error("in-process topic `{0}` is closed")]
    ChannelClosed(String),
    #[error("in-process topic `{0}` already has a consumer")]
    AlreadySubscribed(String),
    #[error("invalid bus configuration: {0}")]
    Config(String),
}

impl BusError {
    /// Retryable errors are transient (broker unavailable, timeouts); fatal ones need a person
    /// (bad configuration, a closed in-process bus during shutdown).
    pub fn is_retryable(&self) -> bool {
        match self {
            BusError::Kafka(error) => !matches!(error, KafkaError::ClientCreation(_)),
            BusError::Delivery { .. } => true,
            BusError::ChannelClosed(_) | BusError::AlreadySubscribed(_) | BusError::Config(_) => {
                false
            }
        }
    }
}
