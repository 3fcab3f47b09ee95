//! Sluice runtime: the record model, the connector API, converters, transforms, the
//! task loops that move records between connectors and Kafka, offset stores, and the
//! herder that runs connectors.
//!
//! The runtime never names a connector: the `sluice` binary builds the [`Plugins`]
//! registry and hands it in.

pub mod atomic_file;
pub mod config;
pub mod connector;
pub mod connector_config;
pub mod convert;
pub mod data;
pub mod distributed;
pub mod errors;
pub mod herder;
pub mod kafka;
pub mod lifecycle;
pub mod logging;
pub mod offsets;
pub mod plugins;
pub mod rest;
pub mod standalone;
pub mod status;
pub mod tap;
pub mod task;
pub mod transforms;
pub mod worker;

pub use plugins::Plugins;
