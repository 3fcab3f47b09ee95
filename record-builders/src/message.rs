//! The protocol-neutral view of a queue message that builders read.

use bytes::Bytes;
use sluice_runtime::data::SchemaAndValue;

/// A message read from a queue.
///
/// `properties` holds the protocol's standard properties under their protocol names
/// (AMQP: `message_id`, `correlation_id`, `type`, `reply_to`, `timestamp`,
/// `content_type`, `routing_key`...; MQTT: `topic`, `qos`, `retain`, `dup`); only the
/// properties the message has are present. `headers` holds application headers (the
/// AMQP headers table) with their own names. Values are typed Connect values.
#[derive(Debug, Clone, Default)]
pub struct QueueMessage {
    pub body: Bytes,
    pub properties: Vec<(&'static str, SchemaAndValue)>,
    pub headers: Vec<(String, SchemaAndValue)>,
}

impl QueueMessage {
    /// A message with a body and nothing else.
    pub fn new(body: impl Into<Bytes>) -> Self {
        QueueMessage {
            body: body.into(),
            properties: Vec::new(),
            headers: Vec::new(),
        }
    }
    /// Adds a standard property.
    pub fn with_property(mut self, name: &'static str, value: SchemaAndValue) -> Self {
        self.properties.push((name, value));
        self
    }
    /// Adds an application header.
    pub fn with_header(mut self, name: impl Into<String>, value: SchemaAndValue) -> Self {
        self.headers.push((name.into(), value));
        self
    }
    /// A standard property by its protocol name.
    pub fn property(&self, name: &str) -> Option<&SchemaAndValue> {
        self.properties
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }
    /// An application header by name (the last one if repeated).
    pub fn header(&self, name: &str) -> Option<&SchemaAndValue> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}
