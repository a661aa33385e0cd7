//! The readiness probe for the broker: does the cluster answer a metadata request in time?
//!
//! Guarantees: [`BrokerProbe::probe`] returns the number of brokers in the cluster's answer, or
//! an error once `timeout` passed without one (broker down, unreachable, wrong address, TLS or
//! SASL refused). It runs librdkafka's blocking call off the async workers. One client is kept
//! for the life of the probe, with the stages' connection settings, so probing every few
//! seconds opens no new connections while the broker is up.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::{BaseProducer, Producer};

use super::KafkaConfig;
use crate::BusError;

#[derive(Clone)]
pub struct BrokerProbe {
    client: Arc<BaseProducer>,
}

impl BrokerProbe {
    /// Prepares the client; does no IO.
    pub fn new(config: &KafkaConfig) -> Result<Self, BusError> {
        config.validate()?;
        let client: BaseProducer = config.base_client_config().create()?;
        Ok(Self {
            client: Arc::new(client),
        })
    }

    /// Fetches the cluster's metadata; returns how many brokers it lists.
    pub async fn probe(&self, timeout: Duration) -> Result<usize, BusError> {
        let client = self.client.clone();
        let brokers = tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(None, timeout)
                .map(|metadata| metadata.brokers().len())
        })
        .await
        .map_err(|error| BusError::Config(format!("the broker probe panicked: {error}")))??;
        Ok(brokers)
    }
}
