//! The `default` builder: the body is the value, as bytes or as UTF-8 text.

use sluice_runtime::data::{primitive, Record, SchemaAndValue, SchemaType, Value};

use crate::config::{BodyType, BuilderConfig};
use crate::{BuildError, QueueMessage, RecordBuilder};

const CLASS: &str = "sluice.record.builders.DefaultRecordBuilder";

/// Body as the value; key and headers as configured.
pub struct DefaultRecordBuilder {
    config: BuilderConfig,
}

impl DefaultRecordBuilder {
    pub fn new(config: BuilderConfig) -> Self {
        DefaultRecordBuilder { config }
    }
}

impl RecordBuilder for DefaultRecordBuilder {
    fn build(&mut self, topic: &str, mut msg: QueueMessage) -> Result<Record, BuildError> {
        let body = std::mem::take(&mut msg.body);
        let value = match self.config.body_type {
            // No copy: the record shares the body's buffer.
            BodyType::Bytes => {
                SchemaAndValue::with_schema(primitive(SchemaType::Bytes, true), Value::Bytes(body))
            }
            BodyType::String => {
                let text = String::from_utf8(body.to_vec()).map_err(|e| BuildError {
                    message: format!(
                        "the message body is not valid UTF-8 text: {}",
                        e.utf8_error()
                    ),
                    class_name: CLASS,
                })?;
                SchemaAndValue::with_schema(
                    primitive(SchemaType::String, true),
                    Value::String(text),
                )
            }
        };
        Ok(crate::json::finish(&self.config, topic, value, msg))
    }
    fn class_name(&self) -> &'static str {
        CLASS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeySource;
    use bytes::Bytes;

    #[test]
    fn bytes_body_is_passed_through_without_copy() {
        let body = Bytes::from(vec![0u8, 159, 146, 150]);
        let ptr = body.as_ptr();
        let mut b = DefaultRecordBuilder::new(BuilderConfig::default());
        let r = b.build("t", QueueMessage::new(body.clone())).unwrap();
        assert_eq!(&*r.topic, "t");
        assert!(r.key.is_null());
        assert!(r.headers.is_empty());
        let schema = r.value.schema.clone().unwrap();
        assert_eq!(schema.kind, SchemaType::Bytes);
        assert!(schema.optional);
        match &r.value.value {
            Value::Bytes(v) => {
                assert_eq!(v, &body);
                assert_eq!(v.as_ptr(), ptr, "same buffer");
            }
            other => panic!("{:?}", other),
        }
    }

    #[test]
    fn string_body() {
        let cfg = BuilderConfig {
            body_type: BodyType::String,
            ..Default::default()
        };
        let mut b = DefaultRecordBuilder::new(cfg);
        let r = b.build("t", QueueMessage::new("héllo".as_bytes())).unwrap();
        assert_eq!(r.value.value, Value::from("héllo"));
        assert_eq!(r.value.schema.unwrap().kind, SchemaType::String);
        let err = b
            .build("t", QueueMessage::new(&[0xffu8, 0xfe][..]))
            .unwrap_err();
        assert!(err.message.contains("not valid UTF-8"), "{}", err);
        assert_eq!(err.class_name, CLASS);
    }

    #[test]
    fn key_and_headers() {
        let cfg = BuilderConfig {
            key: Some(KeySource::parse("JMSCorrelationID")),
            copy_to_headers: true,
            property_header_prefix: "amqp.".into(),
            ..Default::default()
        };
        let s = |v: &str| {
            SchemaAndValue::with_schema(primitive(SchemaType::String, true), Value::from(v))
        };
        let msg = QueueMessage::new(&b"x"[..])
            .with_property("correlation_id", s("c-9"))
            .with_property(
                "priority",
                SchemaAndValue::with_schema(primitive(SchemaType::Int8, true), Value::Int8(5)),
            )
            .with_header(
                "n",
                SchemaAndValue::with_schema(primitive(SchemaType::Int64, true), Value::Int64(-3)),
            )
            .with_header(
                "flag",
                SchemaAndValue::with_schema(
                    primitive(SchemaType::Boolean, true),
                    Value::Boolean(true),
                ),
            );
        let r = DefaultRecordBuilder::new(cfg).build("t", msg).unwrap();
        assert_eq!(r.key.value, Value::from("c-9"));
        let h: Vec<(&str, &Value)> = r
            .headers
            .iter()
            .map(|h| (h.key.as_str(), &h.value.value))
            .collect();
        assert_eq!(
            h,
            vec![
                ("amqp.correlation_id", &Value::from("c-9")),
                ("amqp.priority", &Value::Int8(5)),
                ("n", &Value::Int64(-3)),
                ("flag", &Value::Boolean(true)),
            ]
        );
        // Types are kept in the header schemas.
        assert_eq!(
            r.headers
                .last_with_name("n")
                .unwrap()
                .value
                .schema
                .as_ref()
                .unwrap()
                .kind,
            SchemaType::Int64
        );
    }

    #[test]
    fn headers_not_copied_unless_asked() {
        let msg = QueueMessage::new(&b"x"[..])
            .with_header("a", SchemaAndValue::schemaless(Value::from("b")));
        let r = DefaultRecordBuilder::new(BuilderConfig::default())
            .build("t", msg)
            .unwrap();
        assert!(r.headers.is_empty());
    }
}
