//! The live tap: a sample of the records passing through a connector's tasks, as the
//! connector built them (or as read from Kafka), after each transform, and as written
//! (sent to Kafka, or handed to the sink). `GET /connectors/{c}/tap` streams it as
//! Server-Sent Events and `sluice tap <connector>` prints it.
//!
//! Cost: with nobody listening a task pays one atomic load per record. With listeners,
//! a task samples at most the highest rate any listener asked for; only sampled records
//! are rendered. Values of the connector's PASSWORD keys never appear in an event.

mod event;
mod hub;
mod sampler;

pub use event::{bytes_json, connect_json, TapEvent, TapHeader, TapStage};
pub use hub::{ConnectorTap, TapHub, TapSubscription};
pub use sampler::{TaskTap, WrittenRecord};
