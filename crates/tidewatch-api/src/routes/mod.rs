//! The route handlers, one module per area.

pub(crate) mod alerts;
pub(crate) mod analytics;
pub(crate) mod health;
pub(crate) mod stream;
