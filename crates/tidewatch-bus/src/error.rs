//! Bus errors, each saying whether retrying can help.

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("kafka error: {0}")]
    Kafka(#[from] KafkaError),
    #[error("delivery of {failed} of {total} records failed: {first_error}")]
    Delivery {
        failed: usize,
        total: usize,
        first_error: String,
        /// False when the broker refused a record for a reason a retry cannot change.
        retryable: bool,
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
            BusError::Kafka(error) => is_transient(error),
            BusError::Delivery { retryable, .. } => *retryable,
            BusError::ChannelClosed(_) | BusError::AlreadySubscribed(_) | BusError::Config(_) => {
                false
            }
        }
    }
}

/// Whether a Kafka error can go away by itself. Refusals of the record itself (too large,
/// invalid) and authorization failures cannot: retrying them would stall the stage for ever, so
/// they stop it with a message a person can act on.
pub(crate) fn is_transient(error: &KafkaError) -> bool {
    if matches!(error, KafkaError::ClientCreation(_)) {
        return false;
    }
    !matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidTopic
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_refusals_are_fatal_and_broker_trouble_is_retryable() {
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(!BusError::Kafka(too_large).is_retryable());
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(BusError::Kafka(timed_out).is_retryable());
        let transport = KafkaError::MessageProduction(RDKafkaErrorCode::BrokerTransportFailure);
        assert!(BusError::Kafka(transport).is_retryable());
        assert!(!BusError::Config("x".into()).is_retryable());
    }
}
