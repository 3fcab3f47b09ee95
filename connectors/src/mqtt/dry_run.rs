//! `sluice test` for `mqtt-source` and `mqtt-sink`: a test message becomes an MQTT
//! publish and goes through the source task's mapping and record builder; a record goes
//! through the sink task's message builder and is shown as the publish it makes.

use bytes::Bytes;
use serde_json::{json, Map, Value as Json};
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::TestMessage;
use sluice_runtime::data::{Record, SinkRecord};
use sluice_runtime::tap::bytes_json;

use super::client::{Properties, Received, Version};
use super::config::MqttSourceConfig;
use super::sink::{self, MqttSinkConfig};
use super::task::build_record;

/// The MQTT facts of a publish.
const FACTS: [&str; 4] = ["topic", "qos", "retain", "dup"];
/// The MQTT 5 properties, by the names `mqtt-source` gives them.
const V5: [&str; 5] = [
    "content_type",
    "response_topic",
    "correlation_data",
    "message_expiry_interval",
    "payload_format_indicator",
];

/// The record `mqtt-source` builds from the test message.
pub fn source_record(config: &ParsedConfig, m: &TestMessage) -> Result<Record, String> {
    let cfg = MqttSourceConfig::from_parsed(config).map_err(|e| e.to_string())?;
    let mut builder = sluice_record_builders::create(&cfg.builder).map_err(|e| e.to_string())?;
    let known: Vec<&str> = FACTS.iter().chain(V5.iter()).copied().collect();
    m.only_properties(&known)?;
    let topic = match m.str_property("topic")? {
        Some(t) => t,
        None => cfg
            .topics
            .iter()
            .find(|t| !t.contains(['+', '#']))
            .cloned()
            .ok_or(
                "give the message's MQTT topic as property topic (mqtt.topics has only wildcards)",
            )?,
    };
    let v5 = V5.iter().any(|k| m.properties.contains_key(*k)) || !m.headers.is_empty();
    let properties = match cfg.version {
        Version::V5 => Some(Properties {
            user: m
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), text(v)))
                .collect(),
            content_type: m.str_property("content_type")?,
            response_topic: m.str_property("response_topic")?,
            correlation_data: m.str_property("correlation_data")?.map(Bytes::from),
            message_expiry: m.int_property("message_expiry_interval")?,
            payload_format: m.int_property("payload_format_indicator")?,
        }),
        Version::V311 if v5 => {
            return Err(
                "MQTT 3.1.1 messages have no properties or user properties (headers); set mqtt.version=5"
                    .into(),
            )
        }
        Version::V311 => None,
    };
    let publish = Received {
        topic,
        payload: m.body.clone(),
        qos: m.int_property("qos")?.unwrap_or(cfg.qos),
        retain: m.bool_property("retain")?.unwrap_or(false),
        dup: m.bool_property("dup")?.unwrap_or(false),
        pkid: 1,
        properties,
    };
    build_record(&cfg, builder.as_mut(), &publish, true).map_err(|e| e.message)
}

fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The publish `mqtt-sink` makes for the record.
pub fn sink_message(config: &ParsedConfig, r: &SinkRecord) -> Result<Json, String> {
    let cfg = MqttSinkConfig::from_parsed(config).map_err(|e| e.to_string())?;
    let m = sink::message(&cfg, r)?;
    let mut out = json!({
        "topic": m.topic,
        "qos": cfg.qos,
        "retain": cfg.retain,
        "payload": bytes_json(Some(&m.payload)),
    });
    if let Some(p) = m.properties {
        let mut props = Map::new();
        if let Some(c) = p.content_type {
            props.insert("content_type".into(), json!(c));
        }
        if let Some(t) = p.response_topic {
            props.insert("response_topic".into(), json!(t));
        }
        if let Some(c) = p.correlation_data {
            props.insert("correlation_data".into(), bytes_json(Some(&c)));
        }
        if let Some(e) = p.message_expiry {
            props.insert("message_expiry_interval".into(), json!(e));
        }
        if let Some(f) = p.payload_format {
            props.insert("payload_format_indicator".into(), json!(f));
        }
        out["properties"] = Json::Object(props);
        out["user_properties"] = Json::Object(
            p.user
                .into_iter()
                .map(|(k, v)| (k, Json::String(v)))
                .collect(),
        );
    }
    Ok(out)
}
