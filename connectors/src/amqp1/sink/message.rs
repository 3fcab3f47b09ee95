//! Records to AMQP 1.0 messages, mirroring the source's mapping.
//!
//! * Body by value type: bytes -> one `data` section (BytesMessage), string ->
//!   `amqp-value` string (TextMessage), struct or map -> `amqp-value` map
//!   (MapMessage), array -> `amqp-value` list, other primitives -> `amqp-value`,
//!   null -> no body. The `x-opt-jms-msg-type` annotation says which JMS type it is.
//! * Header: durable (`amqp1.message.durable`, or a JMSDeliveryMode header 1/2),
//!   priority (JMSPriority header), ttl (`amqp1.message.ttl.ms`).
//! * Properties: message-id `<topic>-<partition>-<offset>` (or the JMSMessageID
//!   header), creation-time from the record timestamp (or JMSTimestamp),
//!   correlation-id, subject, reply-to, group-id, group-sequence, absolute-expiry,
//!   content-type and content-encoding from their JMS-named headers; the record key
//!   goes where `amqp1.key.to` says.
//! * Every other header becomes an application property (simple values only).
//!   Headers the broker sets (JMSDestination, JMSRedelivered, JMSXDeliveryCount,
//!   JMSXUserID, x-opt-jms-*) are not copied back.

use fe2o3_amqp::types::messaging::message::Body;
use fe2o3_amqp::types::messaging::{
    AmqpValue, ApplicationProperties, Data, Header, Message, MessageAnnotations, MessageId,
    Priority, Properties,
};
use fe2o3_amqp::types::primitives::{OrderedMap, SimpleValue, Symbol, Timestamp, Value as Amqp};
use sluice_runtime::data::{SchemaAndValue, SinkRecord, Value};

use super::config::{KeyTo, MessageIdMode, SinkConfig};
use crate::amqp1::values::{to_amqp, to_simple};

/// JMS message types of the `x-opt-jms-msg-type` annotation.
const JMS_MESSAGE: i8 = 0;
const JMS_MAP: i8 = 2;
const JMS_BYTES: i8 = 3;
const JMS_TEXT: i8 = 5;

/// Headers that are the broker's to set.
const NOT_COPIED: &[&str] = &[
    "JMSDestination",
    "JMSRedelivered",
    "JMSXDeliveryCount",
    "JMSXUserID",
    "JMS_AMQP_TTL",
];

fn text(name: &str, v: &SchemaAndValue) -> Result<String, String> {
    match &v.value {
        Value::String(s) => Ok(s.clone()),
        Value::Bytes(b) => {
            String::from_utf8(b.to_vec()).map_err(|_| format!("header {} is not UTF-8 text", name))
        }
        Value::Int8(_)
        | Value::Int16(_)
        | Value::Int32(_)
        | Value::Int64(_)
        | Value::Boolean(_)
        | Value::Float32(_)
        | Value::Float64(_) => Ok(match &v.value {
            Value::Int8(x) => x.to_string(),
            Value::Int16(x) => x.to_string(),
            Value::Int32(x) => x.to_string(),
            Value::Int64(x) => x.to_string(),
            Value::Boolean(x) => x.to_string(),
            Value::Float32(x) => x.to_string(),
            Value::Float64(x) => x.to_string(),
            _ => unreachable!(),
        }),
        other => Err(format!(
            "header {} holds a {} where text is expected",
            name,
            other.kind_name()
        )),
    }
}

fn int(name: &str, v: &SchemaAndValue) -> Result<i64, String> {
    match &v.value {
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("header {}: {:?} is not an integer", name, s)),
        other => other.as_i64().ok_or_else(|| {
            format!(
                "header {} holds a {} where an integer is expected",
                name,
                other.kind_name()
            )
        }),
    }
}

/// The body section and its JMS type.
fn body(v: &SchemaAndValue) -> (Body<Amqp>, i8) {
    match &v.value {
        Value::Null => (Body::Empty, JMS_MESSAGE),
        Value::Bytes(b) => (Body::Data(vec![Data(b.to_vec().into())].into()), JMS_BYTES),
        Value::String(s) => (Body::Value(AmqpValue(Amqp::String(s.clone()))), JMS_TEXT),
        Value::Struct(_) | Value::Map(_) => (
            Body::Value(AmqpValue(to_amqp(v.schema.as_deref(), &v.value))),
            JMS_MAP,
        ),
        other => (
            Body::Value(AmqpValue(to_amqp(v.schema.as_deref(), other))),
            JMS_MESSAGE,
        ),
    }
}

/// The message of one record, or why it cannot be one (a failed record).
pub fn build(cfg: &SinkConfig, r: &SinkRecord) -> Result<Message<Body<Amqp>>, String> {
    let rec = &r.record;
    let (body, jms_type) = body(&rec.value);
    let mut header = Header {
        durable: cfg.durable,
        ttl: cfg.ttl,
        ..Default::default()
    };
    let mut props = Properties {
        message_id: Some(MessageId::String(format!(
            "{}-{}-{}",
            r.origin.topic, r.origin.partition, r.origin.offset
        ))),
        creation_time: rec
            .timestamp
            .filter(|t| *t >= 0)
            .map(Timestamp::from_milliseconds),
        ..Default::default()
    };
    let mut app: OrderedMap<String, SimpleValue> = OrderedMap::new();
    match (&cfg.key_to, rec.key.is_null()) {
        (_, true) | (KeyTo::None, _) => {}
        (KeyTo::GroupId, false) => props.group_id = Some(text("(record key)", &rec.key)?),
        (KeyTo::Property(name), false) => {
            app.insert(
                name.clone(),
                to_simple(name, rec.key.schema.as_deref(), &rec.key.value)?,
            );
        }
    }
    for h in rec.headers.iter() {
        let (name, v) = (h.key.as_str(), &h.value);
        if v.value.is_null() || NOT_COPIED.contains(&name) || name.starts_with("x-opt-") {
            continue;
        }
        match name {
            "JMSMessageID" => {
                if cfg.message_id == MessageIdMode::Header {
                    props.message_id = Some(MessageId::String(text(name, v)?));
                }
            }
            "JMSCorrelationID" => props.correlation_id = Some(MessageId::String(text(name, v)?)),
            "JMSType" => props.subject = Some(text(name, v)?),
            "JMSReplyTo" => props.reply_to = Some(text(name, v)?),
            "JMSXGroupID" => props.group_id = Some(text(name, v)?),
            "JMSXGroupSeq" => {
                props.group_sequence = Some(
                    u32::try_from(int(name, v)?)
                        .map_err(|_| format!("header {} is not a uint", name))?,
                )
            }
            "JMSTimestamp" => {
                props.creation_time = Some(Timestamp::from_milliseconds(int(name, v)?))
            }
            "JMSExpiration" => {
                let t = int(name, v)?;
                if t > 0 {
                    props.absolute_expiry_time = Some(Timestamp::from_milliseconds(t));
                }
            }
            "JMSPriority" => {
                let p = int(name, v)?;
                header.priority = Priority(
                    u8::try_from(p)
                        .ok()
                        .filter(|p| *p <= 9)
                        .ok_or_else(|| format!("header JMSPriority: {} is not 0..9", p))?,
                );
            }
            "JMSDeliveryMode" => header.durable = int(name, v)? == 2,
            "JMS_AMQP_CONTENT_TYPE" => props.content_type = Some(Symbol::from(text(name, v)?)),
            "JMS_AMQP_CONTENT_ENCODING" => {
                props.content_encoding = Some(Symbol::from(text(name, v)?))
            }
            "JMS_AMQP_REPLY_TO_GROUP_ID" => props.reply_to_group_id = Some(text(name, v)?),
            _ => {
                app.insert(
                    name.to_string(),
                    to_simple(name, v.schema.as_deref(), &v.value)?,
                );
            }
        }
    }
    let annotations = MessageAnnotations::builder()
        .insert(Symbol::from("x-opt-jms-msg-type"), Amqp::Byte(jms_type))
        .build();
    Ok(Message {
        header: Some(header),
        delivery_annotations: None,
        message_annotations: Some(annotations),
        properties: Some(props),
        application_properties: if app.is_empty() {
            None
        } else {
            Some(ApplicationProperties(app))
        },
        body,
        footer: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::data::{primitive, KafkaOrigin, Record, SchemaType, TimestampType};

    fn record(value: SchemaAndValue) -> SinkRecord {
        let mut rec = Record::new("orders", value).with_key(SchemaAndValue::with_schema(
            primitive(SchemaType::String, true),
            Value::from("k1"),
        ));
        rec.timestamp = Some(1_700_000_000_123);
        rec.headers
            .add("JMSCorrelationID", crate::amqp1::values::string("c-1"));
        rec.headers.add(
            "JMSPriority",
            SchemaAndValue::with_schema(primitive(SchemaType::Int32, true), Value::Int32(7)),
        );
        rec.headers
            .add("region", crate::amqp1::values::string("EU"));
        rec.headers.add(
            "JMSXDeliveryCount",
            SchemaAndValue::with_schema(primitive(SchemaType::Int32, true), Value::Int32(3)),
        );
        SinkRecord {
            record: rec,
            origin: KafkaOrigin {
                topic: "orders".into(),
                partition: 2,
                offset: 41,
            },
            timestamp_type: TimestampType::CreateTime,
            raw: None,
        }
    }

    fn cfg() -> SinkConfig {
        let raw = [("amqp1.uri".to_string(), "amqp://h".to_string())]
            .into_iter()
            .collect();
        let p = super::super::config::sink_config_def().parse(&raw).unwrap();
        SinkConfig::from_parsed(&p).unwrap()
    }

    #[test]
    fn jms_headers_go_back_to_fields() {
        let m = build(&cfg(), &record(crate::amqp1::values::string("hello"))).unwrap();
        let p = m.properties.unwrap();
        assert_eq!(p.message_id, Some(MessageId::String("orders-2-41".into())));
        assert_eq!(p.correlation_id, Some(MessageId::String("c-1".into())));
        assert_eq!(p.group_id.as_deref(), Some("k1"));
        assert_eq!(p.creation_time.unwrap().milliseconds(), 1_700_000_000_123);
        let h = m.header.unwrap();
        assert!(h.durable);
        assert_eq!(h.priority.0, 7);
        let app = m.application_properties.unwrap().0;
        assert_eq!(app.get("region"), Some(&SimpleValue::String("EU".into())));
        assert!(app.get("JMSXDeliveryCount").is_none());
        assert!(matches!(m.body, Body::Value(AmqpValue(Amqp::String(ref s))) if s == "hello"));
    }

    #[test]
    fn bodies_by_value_type() {
        let b = build(
            &cfg(),
            &record(SchemaAndValue::with_schema(
                primitive(SchemaType::Bytes, true),
                Value::Bytes(bytes::Bytes::from_static(b"\x00\x01")),
            )),
        )
        .unwrap();
        assert!(matches!(b.body, Body::Data(_)));
        let n = build(&cfg(), &record(SchemaAndValue::NULL)).unwrap();
        assert!(matches!(n.body, Body::Empty));
        let mut bad = record(SchemaAndValue::NULL);
        bad.record.headers.add(
            "nested",
            SchemaAndValue::schemaless(Value::Array(vec![Value::Int32(1)])),
        );
        assert!(build(&cfg(), &bad).unwrap_err().contains("header nested"));
    }
}
