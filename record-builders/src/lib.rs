//! Record builders: turn a message read from a queue (RabbitMQ, MQTT) into a Connect
//! [`Record`], as IBM's MQ source connector does with its `mq.record.builder`.
//!
//! A queue source hands each message to its task's [`RecordBuilder`] as a
//! [`QueueMessage`]: the body, the standard properties (AMQP basic properties, MQTT
//! topic/QoS...), the application headers (AMQP headers table), all typed. The builder
//! chooses the value (body as bytes or text for `default`, parsed JSON for `json`),
//! the key (an optional property or header named by `<prefix>record.builder.key.header`,
//! with JMS names mapped onto AMQP properties, see [`key`]) and, if asked, copies the
//! properties and headers to Kafka headers keeping their types.
//!
//! A message the builder cannot turn into a record yields a [`BuildError`]; the source
//! then hands the raw message to the runtime as a failed record, which fails the task or
//! sends it to the dead letter queue depending on `errors.tolerance`.
//!
//! Builders are small and synchronous; one instance belongs to one task.

mod config;
mod default;
mod json;
pub mod key;
mod message;

pub use config::{config_def, BodyType, BuilderConfig, BUILDER_NAMES};
pub use default::DefaultRecordBuilder;
pub use json::JsonRecordBuilder;
pub use message::QueueMessage;

use sluice_runtime::config::ConfigErrors;
use sluice_runtime::data::Record;

/// Why a message could not be turned into a record (e.g. invalid JSON for `json`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    /// What went wrong, for the task's trace and the DLQ's exception headers.
    pub message: String,
    /// The builder's class name, for `__connect.errors.class.name`.
    pub class_name: &'static str,
}

/// Turns queue messages into records for one Kafka topic.
pub trait RecordBuilder: Send {
    /// Builds the record for `msg`, to be written to `topic`.
    fn build(&mut self, topic: &str, msg: QueueMessage) -> Result<Record, BuildError>;
    /// The builder's class name (shown in DLQ headers and traces).
    fn class_name(&self) -> &'static str;
}

/// Creates the builder named in `config` (`default` or `json`).
pub fn create(config: &BuilderConfig) -> Result<Box<dyn RecordBuilder>, ConfigErrors> {
    Ok(match config.builder {
        config::BuilderKind::Default => Box::new(DefaultRecordBuilder::new(config.clone())),
        config::BuilderKind::Json => Box::new(JsonRecordBuilder::new(config.clone())),
    })
}
