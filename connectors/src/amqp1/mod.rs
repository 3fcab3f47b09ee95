//! AMQP 1.0 (the JMS brokers' wire protocol): [`source`] reads an address into Kafka,
//! [`sink`] sends records to an address. Connections use fe2o3-amqp with SASL PLAIN,
//! ANONYMOUS or EXTERNAL (`sasl_external`) and TLS by rustls (`config`, `connection`);
//! values map both ways in `values`.

mod config;
mod connection;
mod dry_run;
mod peer;
mod sasl_external;
pub mod sink;
pub mod source;
mod values;

pub use sink::sink_plugin;
pub use source::source_plugin;
