//! Record keys from message properties or headers, with JMS names mapped onto AMQP
//! properties (as IBM's MQ source does with `mq.record.builder.key.header`).
//!
//! | key.header                | source property                          |
//! |---------------------------|------------------------------------------|
//! | `JMSMessageID`            | `message_id`                             |
//! | `JMSCorrelationID`        | `correlation_id`                         |
//! | `JMSCorrelationIDAsBytes` | `correlation_id`, as bytes               |
//! | `JMSType`                 | `type`                                   |
//! | `JMSReplyTo`              | `reply_to`                               |
//! | `JMSTimestamp`            | `timestamp` (epoch milliseconds)         |
//! | `JMSDestination`          | `routing_key` (AMQP), `topic` (MQTT) or `to` (AMQP 1.0) |
//! | `JMSDeliveryMode`         | `delivery_mode`                          |
//! | `JMSPriority`             | `priority`                               |
//! | `JMSExpiration`           | `expiration`                             |
//! | `JMSXGroupID`, `JMSXGroupSeq`, `JMSXUserID`, `JMSXDeliveryCount` | `group_id`, `group_sequence`, `user_id`, `delivery_count` (AMQP 1.0) |
//! | anything else             | that property, else that application header |

use bytes::Bytes;
use sluice_runtime::data::{primitive, SchemaAndValue, SchemaType, Value};

use crate::QueueMessage;

/// Where a record key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A standard property (first of the names that is present); `as_bytes` turns a
    /// string into its UTF-8 bytes.
    Property {
        names: &'static [&'static str],
        as_bytes: bool,
    },
    /// A property or, if absent, an application header with this name.
    Named(String),
}

const JMS: &[(&str, &[&str])] = &[
    ("JMSMessageID", &["message_id"]),
    ("JMSCorrelationID", &["correlation_id"]),
    ("JMSType", &["type"]),
    ("JMSReplyTo", &["reply_to"]),
    ("JMSTimestamp", &["timestamp"]),
    ("JMSDestination", &["routing_key", "topic", "to"]),
    ("JMSDeliveryMode", &["delivery_mode"]),
    ("JMSPriority", &["priority"]),
    ("JMSExpiration", &["expiration"]),
    // AMQP 1.0 (amqp1-source) properties
    ("JMSXGroupID", &["group_id"]),
    ("JMSXGroupSeq", &["group_sequence"]),
    ("JMSXUserID", &["user_id"]),
    ("JMSXDeliveryCount", &["delivery_count"]),
];

impl KeySource {
    /// Reads a `record.builder.key.header` value.
    pub fn parse(s: &str) -> KeySource {
        if s == "JMSCorrelationIDAsBytes" {
            return KeySource::Property {
                names: &["correlation_id"],
                as_bytes: true,
            };
        }
        match JMS.iter().find(|(jms, _)| *jms == s) {
            Some((_, names)) => KeySource::Property {
                names,
                as_bytes: false,
            },
            None => KeySource::Named(s.to_string()),
        }
    }

    /// The key for `msg`: the value with its schema, or null if the message has none.
    pub fn extract(&self, msg: &QueueMessage) -> SchemaAndValue {
        match self {
            KeySource::Property { names, as_bytes } => {
                let found = names.iter().find_map(|n| msg.property(n));
                match (found, as_bytes) {
                    (None, _) => SchemaAndValue::NULL,
                    (Some(v), false) => v.clone(),
                    (Some(v), true) => match &v.value {
                        Value::String(s) => SchemaAndValue::with_schema(
                            primitive(SchemaType::Bytes, true),
                            Value::Bytes(Bytes::copy_from_slice(s.as_bytes())),
                        ),
                        _ => v.clone(),
                    },
                }
            }
            KeySource::Named(name) => msg
                .property(name)
                .or_else(|| msg.header(name))
                .cloned()
                .unwrap_or(SchemaAndValue::NULL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::data::logical::timestamp_schema;

    fn s(v: &str) -> SchemaAndValue {
        SchemaAndValue::with_schema(primitive(SchemaType::String, true), Value::from(v))
    }

    fn msg() -> QueueMessage {
        QueueMessage::new(&b"body"[..])
            .with_property("message_id", s("m-1"))
            .with_property("correlation_id", s("c-1"))
            .with_property("type", s("order"))
            .with_property("reply_to", s("replies"))
            .with_property(
                "timestamp",
                SchemaAndValue::with_schema(
                    timestamp_schema(true),
                    Value::Int64(1_700_000_000_000),
                ),
            )
            .with_property("routing_key", s("rk"))
            .with_header("customer", s("acme"))
            .with_header("message_id", s("shadowed"))
    }

    #[test]
    fn jms_names_map_onto_amqp_properties() {
        let m = msg();
        assert_eq!(
            KeySource::parse("JMSMessageID").extract(&m).value,
            Value::from("m-1")
        );
        assert_eq!(
            KeySource::parse("JMSCorrelationID").extract(&m).value,
            Value::from("c-1")
        );
        assert_eq!(
            KeySource::parse("JMSType").extract(&m).value,
            Value::from("order")
        );
        assert_eq!(
            KeySource::parse("JMSReplyTo").extract(&m).value,
            Value::from("replies")
        );
        assert_eq!(
            KeySource::parse("JMSDestination").extract(&m).value,
            Value::from("rk")
        );
        let ts = KeySource::parse("JMSTimestamp").extract(&m);
        assert_eq!(ts.value, Value::Int64(1_700_000_000_000));
        assert_eq!(
            ts.schema.unwrap().name.as_deref(),
            Some(sluice_runtime::data::logical::TIMESTAMP)
        );
        let b = KeySource::parse("JMSCorrelationIDAsBytes").extract(&m);
        assert_eq!(b.value, Value::Bytes(Bytes::from_static(b"c-1")));
        assert_eq!(b.schema.unwrap().kind, SchemaType::Bytes);
    }

    #[test]
    fn plain_names_use_properties_then_headers() {
        let m = msg();
        assert_eq!(
            KeySource::parse("customer").extract(&m).value,
            Value::from("acme")
        );
        // A property wins over a header of the same name.
        assert_eq!(
            KeySource::parse("message_id").extract(&m).value,
            Value::from("m-1")
        );
        assert!(KeySource::parse("missing").extract(&m).is_null());
        assert!(KeySource::parse("JMSPriority").extract(&m).is_null());
    }

    #[test]
    fn mqtt_destination_is_the_topic() {
        let m = QueueMessage::new(&b""[..]).with_property("topic", s("sensors/1"));
        assert_eq!(
            KeySource::parse("JMSDestination").extract(&m).value,
            Value::from("sensors/1")
        );
    }
}
