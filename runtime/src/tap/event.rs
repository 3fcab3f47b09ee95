//! What the tap shows of one record at one stage, as JSON.

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value as Json;

use crate::convert::{value_to_json, DecimalFormat};
use crate::data::{Record, SchemaAndValue};

/// Where in the pipeline a record was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TapStage {
    /// As the source connector built it (with the queue message's properties as
    /// headers), or as a sink task read and converted it from Kafka.
    Source,
    /// After one transform (`step` names it).
    Transform,
    /// As written: sent to Kafka by a source task (bytes, topic, partition), or handed
    /// to a sink connector's `put`.
    Output,
}

impl TapStage {
    /// Parses a `stage` filter value.
    pub fn parse(s: &str) -> Option<TapStage> {
        match s.trim().to_ascii_lowercase().as_str() {
            "source" => Some(TapStage::Source),
            "transform" => Some(TapStage::Transform),
            "output" => Some(TapStage::Output),
            _ => None,
        }
    }
}

/// One sampled record at one stage.
#[derive(Debug, Clone, Serialize)]
pub struct TapEvent {
    pub connector: String,
    pub task: u32,
    pub stage: TapStage,
    /// The transform's alias (stage `transform`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The record's number in this task's sample: its events share it.
    pub sample: u64,
    /// When it was seen, ms since the epoch.
    pub time: i64,
    /// The transform dropped the record (stage `transform`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dropped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// The Kafka offset a sink record was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    pub key: Json,
    pub value: Json,
    /// The value's schema name or type (`null` without a schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_schema: Option<String>,
    pub headers: Vec<TapHeader>,
}

/// A header as the tap shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TapHeader {
    pub key: String,
    pub value: Json,
}

/// A Connect value as JSON, as it is (no defaults filled in); without a schema by its
/// own type.
pub fn connect_json(v: &SchemaAndValue) -> Json {
    value_to_json(v.schema.as_deref(), &v.value, DecimalFormat::Numeric, false)
        .or_else(|_| value_to_json(None, &v.value, DecimalFormat::Numeric, false))
        .unwrap_or_else(|e| Json::String(format!("<cannot show: {}>", e.0)))
}

/// Bytes as written: UTF-8 text as a string, anything else as `{"base64": ...}`.
pub fn bytes_json(b: Option<&Bytes>) -> Json {
    match b {
        None => Json::Null,
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => Json::String(s.to_string()),
            Err(_) => serde_json::json!({
                "base64": base64::engine::general_purpose::STANDARD.encode(b)
            }),
        },
    }
}

/// The event fields of a Connect record.
pub fn record_fields(r: &Record) -> (Json, Json, Option<String>, Vec<TapHeader>) {
    let schema = r.value.schema.as_ref().map(|s| match &s.name {
        Some(n) => n.clone(),
        None => s.kind.name().to_string(),
    });
    let headers = r
        .headers
        .iter()
        .map(|h| TapHeader {
            key: h.key.clone(),
            value: connect_json(&h.value),
        })
        .collect();
    (
        connect_json(&r.key),
        connect_json(&r.value),
        schema,
        headers,
    )
}
