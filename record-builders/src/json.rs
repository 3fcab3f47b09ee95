//! The `json` builder: the body parsed as JSON (schemaless, or Connect's envelope).

use sluice_runtime::convert::JsonConverter;
use sluice_runtime::data::{Headers, Record, SchemaAndValue};

use crate::config::BuilderConfig;
use crate::{BuildError, QueueMessage, RecordBuilder};

const CLASS: &str = "sluice.record.builders.JsonRecordBuilder";

/// Body parsed as JSON with the runtime's JsonConverter; key and headers as configured.
pub struct JsonRecordBuilder {
    config: BuilderConfig,
    converter: JsonConverter,
}

impl JsonRecordBuilder {
    pub fn new(config: BuilderConfig) -> Self {
        let converter = JsonConverter::with_schemas(config.json_schemas_enable);
        JsonRecordBuilder { config, converter }
    }
}

impl RecordBuilder for JsonRecordBuilder {
    fn build(&mut self, topic: &str, mut msg: QueueMessage) -> Result<Record, BuildError> {
        let body = std::mem::take(&mut msg.body);
        // An empty body is a null value, as Connect's JsonConverter reads it.
        let value = if body.iter().all(|b| b.is_ascii_whitespace()) {
            SchemaAndValue::NULL
        } else {
            self.converter
                .deserialize(Some(&body))
                .map_err(|e| BuildError {
                    message: format!("the message body cannot be read as JSON: {}", e),
                    class_name: CLASS,
                })?
        };
        Ok(finish(&self.config, topic, value, msg))
    }
    fn class_name(&self) -> &'static str {
        CLASS
    }
}

/// The record: key from the configured source, value, and (if asked) the message's
/// properties and headers as Kafka headers with their types.
pub(crate) fn finish(
    config: &BuilderConfig,
    topic: &str,
    value: SchemaAndValue,
    msg: QueueMessage,
) -> Record {
    let key = match &config.key {
        Some(k) => k.extract(&msg),
        None => SchemaAndValue::NULL,
    };
    let mut record = Record::new(topic, value).with_key(key);
    if config.copy_to_headers {
        let mut headers = Headers::new();
        for (name, v) in msg.properties {
            headers.add(format!("{}{}", config.property_header_prefix, name), v);
        }
        for (name, v) in msg.headers {
            headers.add(name, v);
        }
        record.headers = headers;
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::data::{SchemaType, Value};

    fn builder(schemas: bool) -> JsonRecordBuilder {
        JsonRecordBuilder::new(BuilderConfig {
            json_schemas_enable: schemas,
            ..Default::default()
        })
    }

    #[test]
    fn schemaless_json() {
        let r = builder(false)
            .build(
                "t",
                QueueMessage::new(&br#"{"a":1,"b":[true,"x"],"c":null}"#[..]),
            )
            .unwrap();
        assert!(r.value.schema.is_none());
        assert_eq!(r.value.value.map_get("a"), Some(&Value::Int64(1)));
        assert_eq!(
            r.value.value.map_get("b"),
            Some(&Value::Array(vec![Value::Boolean(true), Value::from("x")]))
        );
        assert_eq!(r.value.value.map_get("c"), Some(&Value::Null));
        let n = builder(false)
            .build("t", QueueMessage::new(&b"42"[..]))
            .unwrap();
        assert_eq!(n.value.value, Value::Int64(42));
    }

    #[test]
    fn envelope_with_schemas_enable() {
        let body = br#"{"schema":{"type":"struct","fields":[{"field":"id","type":"int32","optional":false},{"field":"name","type":"string","optional":true}],"optional":false,"name":"Order"},"payload":{"id":7,"name":"seven"}}"#;
        let r = builder(true)
            .build("t", QueueMessage::new(&body[..]))
            .unwrap();
        let schema = r.value.schema.clone().unwrap();
        assert_eq!(schema.kind, SchemaType::Struct);
        assert_eq!(schema.name.as_deref(), Some("Order"));
        match &r.value.value {
            Value::Struct(s) => {
                assert_eq!(s.get("id"), Some(&Value::Int32(7)));
                assert_eq!(s.get("name"), Some(&Value::from("seven")));
            }
            other => panic!("{:?}", other),
        }
        // Plain JSON is not an envelope.
        let err = builder(true)
            .build("t", QueueMessage::new(&br#"{"id":7}"#[..]))
            .unwrap_err();
        assert!(err.message.contains("schema"), "{}", err);
    }

    #[test]
    fn invalid_json_is_an_error_naming_the_builder() {
        let err = builder(false)
            .build("t", QueueMessage::new(&b"not json {"[..]))
            .unwrap_err();
        assert!(err.message.contains("cannot be read as JSON"), "{}", err);
        assert_eq!(err.class_name, CLASS);
    }

    #[test]
    fn empty_body_is_null() {
        let r = builder(false)
            .build("t", QueueMessage::new(&b""[..]))
            .unwrap();
        assert!(r.value.is_null());
    }
}
