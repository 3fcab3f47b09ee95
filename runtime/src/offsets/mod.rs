//! Source offset stores. One trait, two stores: a JSON file for standalone workers
//! ([`FileOffsetStore`]) and a compacted Kafka topic in Connect's format
//! ([`KafkaOffsetStore`]).
//!
//! Keys follow Connect: `["<connector>", {<source partition>}]` as compact JSON; values
//! are the source offset map as JSON, and a null value removes the partition.

mod connect_file;
mod file;
mod kafka;

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::data::{SourceOffset, SourcePartition};

pub use file::{FileFormat, FileOffsetStore};
pub use kafka::KafkaOffsetStore;

/// Why offsets could not be read or written.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct OffsetError(pub String);

/// Where source offsets live.
#[async_trait]
pub trait OffsetStore: Send + Sync {
    /// The stored offset of one source partition.
    async fn get(
        &self,
        connector: &str,
        partition: &SourcePartition,
    ) -> Result<Option<SourceOffset>, OffsetError>;
    /// Every stored partition and offset of a connector.
    async fn all(
        &self,
        connector: &str,
    ) -> Result<Vec<(SourcePartition, SourceOffset)>, OffsetError>;
    /// Writes offsets durably (`None` removes a partition). Returns once stored.
    async fn put(
        &self,
        connector: &str,
        entries: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), OffsetError>;
    /// The topic offsets are kept in, if this store is a Kafka topic (exactly-once
    /// sources write their offsets there inside their transactions).
    fn kafka_topic(&self) -> Option<&str> {
        None
    }

    /// Reads offsets written by other workers (a Kafka topic read to its end again).
    async fn refresh(&self) -> Result<(), OffsetError> {
        Ok(())
    }

    /// Notes offsets written elsewhere (inside a transaction) in the store's view.
    async fn remember(
        &self,
        _connector: &str,
        _entries: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) {
    }

    /// Removes every offset of a connector.
    async fn clear(&self, connector: &str) -> Result<(), OffsetError> {
        let entries = self
            .all(connector)
            .await?
            .into_iter()
            .map(|(p, _)| (p, None))
            .collect();
        self.put(connector, entries).await
    }
}

/// Connect's offset key bytes: `["<connector>",{partition}]`.
pub fn offset_key(connector: &str, partition: &SourcePartition) -> Vec<u8> {
    serde_json::to_vec(&Json::Array(vec![
        Json::String(connector.to_string()),
        Json::Object(partition.clone()),
    ]))
    .expect("JSON maps always serialize")
}

/// Parses Connect's offset key; `None` if it is not `[string, object]`.
pub fn parse_offset_key(bytes: &[u8]) -> Option<(String, SourcePartition)> {
    let json: Json = serde_json::from_slice(bytes).ok()?;
    let arr = json.as_array()?;
    if arr.len() != 2 {
        return None;
    }
    Some((arr[0].as_str()?.to_string(), arr[1].as_object()?.clone()))
}

/// A lookup key independent of the order of keys in the partition map.
fn canonical(connector: &str, partition: &SourcePartition) -> String {
    let mut keys: Vec<(&String, &Json)> = partition.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    let sorted: serde_json::Map<String, Json> = keys
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    format!("{}\u{0}{}", connector, Json::Object(sorted))
}

/// The in-memory view both stores keep.
#[derive(Debug, Default, Clone)]
struct OffsetMap {
    /// canonical key -> (connector, partition, offset)
    entries: HashMap<String, (String, SourcePartition, SourceOffset)>,
}

impl OffsetMap {
    fn get(&self, connector: &str, partition: &SourcePartition) -> Option<SourceOffset> {
        self.entries
            .get(&canonical(connector, partition))
            .map(|(_, _, o)| o.clone())
    }
    fn all(&self, connector: &str) -> Vec<(SourcePartition, SourceOffset)> {
        let mut out: Vec<_> = self
            .entries
            .values()
            .filter(|(c, _, _)| c == connector)
            .map(|(_, p, o)| (p.clone(), o.clone()))
            .collect();
        out.sort_by_key(|(p, _)| Json::Object(p.clone()).to_string());
        out
    }
    fn apply(&mut self, connector: &str, partition: SourcePartition, offset: Option<SourceOffset>) {
        let key = canonical(connector, &partition);
        match offset {
            Some(o) => {
                self.entries
                    .insert(key, (connector.to_string(), partition, o));
            }
            None => {
                self.entries.remove(&key);
            }
        }
    }
}
