//! Sluice connectors, one folder per family, each behind a cargo feature.

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "amqp1")]
pub mod amqp1;
#[cfg(any(feature = "amqp", feature = "amqp1", feature = "mqtt"))]
mod cross_checks;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "jdbc")]
pub mod jdbc;
#[cfg(feature = "mongodb")]
pub mod mongodb;
#[cfg(feature = "mqtt")]
pub mod mqtt;
#[cfg(feature = "tls")]
pub mod tls;
