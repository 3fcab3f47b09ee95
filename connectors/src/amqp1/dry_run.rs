//! `sluice test` for `amqp1-source` and `amqp1-sink`: a test message becomes an AMQP 1.0
//! message and goes through the source task's record maker; a record goes through the
//! sink task's message builder and is shown with its properties under the names
//! `amqp1-source` reads them by.

use fe2o3_amqp::types::messaging::message::Body;
use fe2o3_amqp::types::messaging::{
    AmqpValue, ApplicationProperties, Data, Header, Message, MessageId, Priority, Properties,
};
use fe2o3_amqp::types::primitives::{
    Binary, OrderedMap, SimpleValue, Symbol, Timestamp, Value as Amqp,
};
use serde_json::{json, Map, Value as Json};
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::TestMessage;
use sluice_runtime::data::{Record, SinkRecord};
use sluice_runtime::tap::{bytes_json, connect_json};

use super::sink::message::build;
use super::sink::SinkConfig;
use super::source::record::{app_properties, jms_value, key_properties, raw_body, RecordMaker};
use super::source::SourceConfig;

/// The properties a test message may give, by the names `amqp1-source` reads them by,
/// plus `body_type` (`text`: an amqp-value string, the default for UTF-8 bodies;
/// `bytes`: a data section).
const PROPERTIES: [&str; 17] = [
    "message_id",
    "correlation_id",
    "type",
    "to",
    "reply_to",
    "timestamp",
    "expiration",
    "group_id",
    "group_sequence",
    "user_id",
    "content_type",
    "content_encoding",
    "reply_to_group_id",
    "priority",
    "delivery_mode",
    "ttl",
    "body_type",
];

fn message(m: &TestMessage) -> Result<Message<Body<Amqp>>, String> {
    m.only_properties(&PROPERTIES)?;
    let s = |name: &str| m.str_property(name);
    let ms = |name: &str| -> Result<Option<Timestamp>, String> {
        Ok(m.int_property::<i64>(name)?
            .map(Timestamp::from_milliseconds))
    };
    let properties = Properties {
        message_id: s("message_id")?.map(MessageId::String),
        correlation_id: s("correlation_id")?.map(MessageId::String),
        subject: s("type")?,
        to: s("to")?,
        reply_to: s("reply_to")?,
        creation_time: ms("timestamp")?,
        absolute_expiry_time: ms("expiration")?,
        group_id: s("group_id")?,
        group_sequence: m.int_property("group_sequence")?,
        user_id: s("user_id")?.map(|u| Binary::from(u.into_bytes())),
        content_type: s("content_type")?.map(Symbol::from),
        content_encoding: s("content_encoding")?.map(Symbol::from),
        reply_to_group_id: s("reply_to_group_id")?,
    };
    let header = Header {
        durable: m.int_property::<i64>("delivery_mode")?.unwrap_or(2) == 2,
        priority: Priority(m.int_property("priority")?.unwrap_or(4)),
        ttl: m.int_property("ttl")?,
        ..Default::default()
    };
    let text = match s("body_type")?.as_deref() {
        None => std::str::from_utf8(&m.body).ok().map(str::to_string),
        Some("text") => Some(
            String::from_utf8(m.body.to_vec())
                .map_err(|_| "body_type text: the body is not UTF-8")?,
        ),
        Some("bytes") => None,
        Some(other) => return Err(format!("body_type {other} is not text or bytes")),
    };
    let body = match text {
        Some(t) => Body::Value(AmqpValue(Amqp::String(t))),
        None => Body::Data(vec![Data(m.body.to_vec().into())].into()),
    };
    let mut app: OrderedMap<String, SimpleValue> = OrderedMap::new();
    for (k, v) in &m.headers {
        let v = match v {
            Json::String(t) => SimpleValue::String(t.clone()),
            Json::Bool(b) => SimpleValue::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => SimpleValue::Long(i),
                None => SimpleValue::Double(n.as_f64().unwrap_or_default().into()),
            },
            other => {
                return Err(format!(
                    "header {k}: {other} is not a simple value (string, number, boolean)"
                ))
            }
        };
        app.insert(k.clone(), v);
    }
    Ok(Message {
        header: Some(header),
        delivery_annotations: None,
        message_annotations: None,
        properties: Some(properties),
        application_properties: (!app.is_empty()).then_some(ApplicationProperties(app)),
        body,
        footer: None,
    })
}

/// The record `amqp1-source` builds from the test message.
pub fn source_record(config: &ParsedConfig, m: &TestMessage) -> Result<Record, String> {
    let cfg = SourceConfig::from_parsed(config).map_err(|e| e.to_string())?;
    RecordMaker::new(cfg).build(&message(m)?)
}

/// The message `amqp1-sink` sends for the record.
pub fn sink_message(config: &ParsedConfig, r: &SinkRecord) -> Result<Json, String> {
    let cfg = SinkConfig::from_parsed(config).map_err(|e| e.to_string())?;
    let msg = build(&cfg, r)?;
    let properties: Map<String, Json> = key_properties(&msg)
        .into_iter()
        .filter(|(name, _)| !matches!(*name, "delivery_count" | "redelivered"))
        .map(|(name, v)| (name.to_string(), connect_json(&v)))
        .collect();
    let application_properties: Map<String, Json> = app_properties(&msg)?
        .into_iter()
        .map(|(k, v)| (k, connect_json(&v)))
        .collect();
    let body = match raw_body(&msg.body) {
        Some(b) if matches!(msg.body, Body::Data(_)) => bytes_json(Some(&b)),
        _ => connect_json(&jms_value(&msg.body)?),
    };
    Ok(json!({
        "address": cfg.address_of(r),
        "body": body,
        "properties": properties,
        "application_properties": application_properties,
    }))
}
