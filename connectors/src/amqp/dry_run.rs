//! `sluice test` for `amqp-source` and `amqp-sink`: a test message becomes a RabbitMQ
//! delivery and goes through the source task's mapping and record builder; a record goes
//! through the sink task's message builder and is shown with its properties and headers
//! under the names `amqp-source` gives them.

use bytes::Bytes;
use lapin::types::{FieldTable, ShortString};
use lapin::BasicProperties;
use serde_json::{json, Map, Value as Json};
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::TestMessage;
use sluice_runtime::convert::schemaless_from_json;
use sluice_runtime::data::{Record, SchemaAndValue, SinkRecord};
use sluice_runtime::tap::{bytes_json, connect_json};

use super::config::AmqpSourceConfig;
use super::mapping;
use super::sink::message::{self as sink_message, field_value, set_property};
use super::sink::AmqpSinkConfig;

/// The delivery facts a test message may give besides the message properties.
const DELIVERY: [&str; 3] = ["exchange", "routing_key", "redelivered"];

/// Every property name a test message may carry.
const PROPERTIES: [&str; 16] = [
    "message_id",
    "correlation_id",
    "type",
    "reply_to",
    "content_type",
    "content_encoding",
    "expiration",
    "user_id",
    "app_id",
    "cluster_id",
    "timestamp",
    "delivery_mode",
    "priority",
    "exchange",
    "routing_key",
    "redelivered",
];

/// The record `amqp-source` builds from the test message.
pub fn source_record(config: &ParsedConfig, m: &TestMessage) -> Result<Record, String> {
    let cfg = AmqpSourceConfig::from_parsed(config).map_err(|e| e.to_string())?;
    let mut builder = sluice_record_builders::create(&cfg.builder).map_err(|e| e.to_string())?;
    m.only_properties(&PROPERTIES)?;
    let mut p = BasicProperties::default();
    for (name, v) in &m.properties {
        if DELIVERY.contains(&name.as_str()) {
            continue;
        }
        let v = SchemaAndValue::schemaless(schemaless_from_json(v));
        p = set_property(p, name, &format!("property {}", name), &v)?.0;
    }
    if !m.headers.is_empty() {
        let mut t = FieldTable::default();
        for (k, v) in &m.headers {
            t.insert(
                ShortString::from(k.as_str()),
                field_value(None, &schemaless_from_json(v)),
            );
        }
        p = p.with_headers(t);
    }
    let exchange = m.str_property("exchange")?.unwrap_or_default();
    let routing_key = m
        .str_property("routing_key")?
        .unwrap_or_else(|| cfg.queue.clone());
    let redelivered = m.bool_property("redelivered")?.unwrap_or(false);
    let msg = mapping::message(
        m.body.clone(),
        &p,
        &exchange,
        &routing_key,
        redelivered,
        true,
    );
    builder.build(&cfg.topic, msg).map_err(|e| e.message)
}

/// The message `amqp-sink` publishes for the record.
pub fn sink_message(config: &ParsedConfig, r: &SinkRecord) -> Result<Json, String> {
    let cfg = AmqpSinkConfig::from_parsed(config).map_err(|e| e.to_string())?;
    let out = sink_message::build(&cfg, r)?;
    let exchange = cfg.exchange.clone();
    let mut properties = Map::new();
    for (name, v) in
        mapping::properties(&out.properties, &exchange, out.routing_key.as_str(), false)
    {
        if !DELIVERY.contains(&name) {
            properties.insert(name.to_string(), connect_json(&v));
        }
    }
    let headers: Map<String, Json> = mapping::headers(&out.properties)
        .into_iter()
        .map(|(k, v)| (k, connect_json(&v)))
        .collect();
    Ok(json!({
        "exchange": exchange,
        "routing_key": out.routing_key.as_str(),
        "mandatory": cfg.mandatory,
        "body": bytes_json(Some(&Bytes::clone(&out.body))),
        "properties": properties,
        "headers": headers,
    }))
}
