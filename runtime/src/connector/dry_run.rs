//! Dry runs for `sluice test`: a queue connector turns a message written in a test file
//! into the record its task would build (sources), or a record into the message its
//! task would send (sinks), with the code its task uses and no server.

use bytes::Bytes;
use serde_json::{Map, Value as Json};

use crate::config::ParsedConfig;
use crate::data::{Record, SinkRecord};

/// A queue message as a test file gives it: the body, the protocol's standard properties
/// (by the names the connector's docs give them) and its application headers, as JSON.
#[derive(Debug, Clone, Default)]
pub struct TestMessage {
    pub body: Bytes,
    pub properties: Map<String, Json>,
    pub headers: Map<String, Json>,
}

impl TestMessage {
    /// A string property.
    pub fn str_property(&self, name: &str) -> Result<Option<String>, String> {
        match self.properties.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("property {name}: {other} is not a string")),
        }
    }

    /// An integer property within `T`'s range.
    pub fn int_property<T: TryFrom<i64>>(&self, name: &str) -> Result<Option<T>, String> {
        match self.properties.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| T::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| format!("property {name}: {v} is not an integer in range")),
        }
    }

    /// A boolean property.
    pub fn bool_property(&self, name: &str) -> Result<Option<bool>, String> {
        match self.properties.get(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!("property {name}: {other} is not true or false")),
        }
    }

    /// Properties the connector does not know, as an error naming them.
    pub fn only_properties(&self, known: &[&str]) -> Result<(), String> {
        let unknown: Vec<&str> = self
            .properties
            .keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "unknown propert{} {} (known: {})",
                if unknown.len() == 1 { "y" } else { "ies" },
                unknown.join(", "),
                known.join(", ")
            ))
        }
    }
}

/// What a connector's dry run does.
#[derive(Clone, Copy)]
pub enum DryRun {
    /// A source: the record its task builds from a message (before transforms).
    Source(fn(&ParsedConfig, &TestMessage) -> Result<Record, String>),
    /// A sink: the message its task sends for a record (after converters and
    /// transforms), as JSON with the fields the connector's docs list.
    Sink(fn(&ParsedConfig, &SinkRecord) -> Result<Json, String>),
}

impl std::fmt::Debug for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DryRun::Source(_) => "DryRun::Source",
            DryRun::Sink(_) => "DryRun::Sink",
        })
    }
}
