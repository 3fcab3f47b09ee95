//! AMQP 1.0 messages to records, with JMS semantics.
//!
//! * Value (`jms` builder): a `data` section (JMS BytesMessage) is optional bytes
//!   (several sections are joined); an `amqp-value` string (TextMessage) an optional
//!   string; binary bytes; a map (MapMessage) a struct with one optional field per
//!   entry (a schemaless map when keys are not strings or values not primitive); a
//!   list or `amqp-sequence` sections (StreamMessage) a schemaless array; other
//!   values keep their type; no body (or null) a null value. The `json` builder
//!   parses `data` and string bodies as JSON instead.
//! * Timestamp: the message's creation-time (JMSTimestamp), else the time Kafka
//!   assigns.
//! * Key: `record.builder.key.header` (see `config`).
//! * Headers (when copied): the JMS names of the properties and header fields, the
//!   `x-opt-jms-*` message annotations, then the application properties.

use bytes::Bytes;
use fe2o3_amqp::types::messaging::message::Body;
use fe2o3_amqp::types::messaging::{Message, MessageId};
use fe2o3_amqp::types::primitives::Value as Amqp;
use sluice_record_builders::QueueMessage;
use sluice_runtime::convert::JsonConverter;
use sluice_runtime::data::{primitive, Headers, Record, SchemaAndValue, SchemaType, Value};

use super::config::{BuilderKind, SourceConfig};
use crate::amqp1::values::{body_map, simple_to_connect, string, timestamp, to_connect, uuid_text};

/// The message's id as text, for positions in traces.
pub fn id_text(m: &Message<Body<Amqp>>) -> String {
    m.properties
        .as_ref()
        .and_then(|p| p.message_id.as_ref())
        .map(message_id_text)
        .unwrap_or_else(|| "(none)".into())
}

fn message_id_text(id: &MessageId) -> String {
    match id {
        MessageId::String(s) => s.clone(),
        MessageId::Ulong(u) => u.to_string(),
        MessageId::Uuid(u) => uuid_text(u.as_inner()),
        MessageId::Binary(b) => b.iter().map(|x| format!("{:02x}", x)).collect(),
    }
}

fn message_id(id: &MessageId) -> SchemaAndValue {
    match id {
        MessageId::String(s) => string(s.clone()),
        MessageId::Ulong(u) => {
            to_connect(&Amqp::Ulong(*u)).unwrap_or_else(|_| string(u.to_string()))
        }
        MessageId::Uuid(u) => string(uuid_text(u.as_inner())),
        MessageId::Binary(b) => SchemaAndValue::with_schema(
            primitive(SchemaType::Bytes, true),
            Value::Bytes(Bytes::copy_from_slice(b.as_slice())),
        ),
    }
}

/// The body's bytes when it is a data section or a string (what the `json` builder
/// parses and what the dead letter queue keeps).
pub fn raw_body(body: &Body<Amqp>) -> Option<Bytes> {
    match body {
        Body::Data(sections) => {
            if sections.len() == 1 {
                Some(Bytes::copy_from_slice(sections[0].0.as_slice()))
            } else {
                let mut v = Vec::new();
                for s in sections.iter() {
                    v.extend_from_slice(s.0.as_slice());
                }
                Some(Bytes::from(v))
            }
        }
        Body::Value(v) => match &v.0 {
            Amqp::String(s) => Some(Bytes::copy_from_slice(s.as_bytes())),
            Amqp::Binary(b) => Some(Bytes::copy_from_slice(b.as_slice())),
            _ => None,
        },
        _ => None,
    }
}

/// The value of a body, by JMS message type.
pub fn jms_value(body: &Body<Amqp>) -> Result<SchemaAndValue, String> {
    Ok(match body {
        Body::Data(_) => SchemaAndValue::with_schema(
            primitive(SchemaType::Bytes, true),
            Value::Bytes(raw_body(body).unwrap_or_default()),
        ),
        Body::Value(v) => match &v.0 {
            Amqp::Map(m) => body_map(m)?,
            other => to_connect(other)?,
        },
        Body::Sequence(sections) => {
            let mut items = Vec::new();
            for s in sections.iter() {
                for i in &s.0 {
                    items.push(to_connect(i)?.value);
                }
            }
            SchemaAndValue::schemaless(Value::Array(items))
        }
        Body::Empty => SchemaAndValue::NULL,
    })
}

/// The standard properties under the names `KeySource` reads (see the record
/// builders' `key` module), plus the AMQP 1.0 ones.
pub(crate) fn key_properties(m: &Message<Body<Amqp>>) -> Vec<(&'static str, SchemaAndValue)> {
    let mut out: Vec<(&'static str, SchemaAndValue)> = Vec::new();
    if let Some(p) = &m.properties {
        if let Some(id) = &p.message_id {
            out.push(("message_id", message_id(id)));
        }
        if let Some(id) = &p.correlation_id {
            out.push(("correlation_id", message_id(id)));
        }
        if let Some(s) = &p.subject {
            out.push(("type", string(s.clone())));
        }
        if let Some(s) = &p.to {
            out.push(("to", string(s.clone())));
        }
        if let Some(s) = &p.reply_to {
            out.push(("reply_to", string(s.clone())));
        }
        if let Some(t) = &p.creation_time {
            out.push(("timestamp", timestamp(t.milliseconds())));
        }
        if let Some(t) = &p.absolute_expiry_time {
            out.push(("expiration", timestamp(t.milliseconds())));
        }
        if let Some(s) = &p.group_id {
            out.push(("group_id", string(s.clone())));
        }
        if let Some(s) = p.group_sequence {
            out.push((
                "group_sequence",
                to_connect(&Amqp::Uint(s)).unwrap_or(SchemaAndValue::NULL),
            ));
        }
        if let Some(u) = &p.user_id {
            out.push((
                "user_id",
                string(String::from_utf8_lossy(u.as_slice()).into_owned()),
            ));
        }
        if let Some(s) = &p.content_type {
            out.push(("content_type", string(s.as_str())));
        }
        if let Some(s) = &p.content_encoding {
            out.push(("content_encoding", string(s.as_str())));
        }
        if let Some(s) = &p.reply_to_group_id {
            out.push(("reply_to_group_id", string(s.clone())));
        }
    }
    let h = m.header.clone().unwrap_or_default();
    let int32 =
        |x: i32| SchemaAndValue::with_schema(primitive(SchemaType::Int32, true), Value::Int32(x));
    out.push(("priority", int32(h.priority.0 as i32)));
    out.push(("delivery_mode", int32(if h.durable { 2 } else { 1 })));
    out.push(("delivery_count", int32(h.delivery_count as i32 + 1)));
    out.push((
        "redelivered",
        SchemaAndValue::with_schema(
            primitive(SchemaType::Boolean, true),
            Value::Boolean(h.delivery_count > 0),
        ),
    ));
    if let Some(ttl) = h.ttl {
        out.push((
            "ttl",
            to_connect(&Amqp::Uint(ttl)).unwrap_or(SchemaAndValue::NULL),
        ));
    }
    out
}

/// The Kafka header name of a property of [`key_properties`].
fn jms_name(p: &str) -> &'static str {
    match p {
        "message_id" => "JMSMessageID",
        "correlation_id" => "JMSCorrelationID",
        "type" => "JMSType",
        "to" => "JMSDestination",
        "reply_to" => "JMSReplyTo",
        "timestamp" => "JMSTimestamp",
        "expiration" => "JMSExpiration",
        "group_id" => "JMSXGroupID",
        "group_sequence" => "JMSXGroupSeq",
        "user_id" => "JMSXUserID",
        "content_type" => "JMS_AMQP_CONTENT_TYPE",
        "content_encoding" => "JMS_AMQP_CONTENT_ENCODING",
        "reply_to_group_id" => "JMS_AMQP_REPLY_TO_GROUP_ID",
        "priority" => "JMSPriority",
        "delivery_mode" => "JMSDeliveryMode",
        "delivery_count" => "JMSXDeliveryCount",
        "redelivered" => "JMSRedelivered",
        "ttl" => "JMS_AMQP_TTL",
        _ => "JMS_AMQP_UNKNOWN",
    }
}

/// The application properties as typed values.
pub(crate) fn app_properties(
    m: &Message<Body<Amqp>>,
) -> Result<Vec<(String, SchemaAndValue)>, String> {
    let mut out = Vec::new();
    if let Some(ap) = &m.application_properties {
        for (k, v) in ap.0.iter() {
            out.push((
                k.clone(),
                simple_to_connect(v).map_err(|e| format!("application property {}: {}", k, e))?,
            ));
        }
    }
    Ok(out)
}

/// Builds the record of one message.
pub struct RecordMaker {
    cfg: SourceConfig,
    json: JsonConverter,
}

impl RecordMaker {
    pub fn new(cfg: SourceConfig) -> Self {
        RecordMaker {
            cfg,
            json: JsonConverter::with_schemas(false),
        }
    }

    /// The record, or why the message cannot be one.
    pub fn build(&mut self, m: &Message<Body<Amqp>>) -> Result<Record, String> {
        let value = match (self.cfg.builder, raw_body(&m.body)) {
            (BuilderKind::Json, Some(bytes)) => {
                if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                    SchemaAndValue::NULL
                } else {
                    self.json
                        .deserialize(Some(&bytes))
                        .map_err(|e| format!("the message body cannot be read as JSON: {}", e))?
                }
            }
            _ => jms_value(&m.body)?,
        };
        let need_props = self.cfg.key.is_some() || self.cfg.copy_headers;
        let props = if need_props {
            key_properties(m)
        } else {
            Vec::new()
        };
        let apps = if need_props {
            app_properties(m)?
        } else {
            Vec::new()
        };
        let key = match &self.cfg.key {
            Some(k) => {
                let q = QueueMessage {
                    body: Bytes::new(),
                    properties: props.clone(),
                    headers: apps.clone(),
                };
                k.extract(&q)
            }
            None => SchemaAndValue::NULL,
        };
        let ts = m
            .properties
            .as_ref()
            .and_then(|p| p.creation_time.as_ref())
            .map(|t| t.milliseconds());
        let mut record = Record::new(self.cfg.topic.as_str(), value)
            .with_key(key)
            .with_timestamp(ts);
        if self.cfg.copy_headers {
            let mut headers = Headers::new();
            for (name, v) in props {
                headers.add(jms_name(name), v);
            }
            if let Some(ann) = &m.message_annotations {
                for (k, v) in ann.0.iter() {
                    let name = match k {
                        fe2o3_amqp::types::messaging::annotations::OwnedKey::Symbol(s) => {
                            s.as_str()
                        }
                        _ => continue,
                    };
                    if name.starts_with("x-opt-jms-") {
                        if let Ok(v) = to_connect(v) {
                            headers.add(name, v);
                        }
                    }
                }
            }
            for (k, v) in apps {
                headers.add(k, v);
            }
            record.headers = headers;
        }
        Ok(record)
    }
}

/// The message's application properties as header bytes, for the dead letter queue.
pub fn raw_headers(m: &Message<Body<Amqp>>) -> Vec<(String, Option<Bytes>)> {
    use sluice_runtime::convert::{HeaderConverter, SimpleHeaderConverter};
    let mut conv = SimpleHeaderConverter;
    let mut out = Vec::new();
    if let Some(ap) = &m.application_properties {
        for (k, v) in ap.0.iter() {
            let b = simple_to_connect(v)
                .ok()
                .and_then(|v| conv.from_connect_header("", k, &v).ok().flatten());
            out.push((k.clone(), b));
        }
    }
    out
}
