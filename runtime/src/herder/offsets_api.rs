//! Reading and changing a connector's offsets through the REST API (Connect's KIP-875).
//!
//! Source connectors: the source partitions and offsets in the offset store.
//! Sink connectors: the committed offsets of consumer group `connect-<name>`, shown as
//! partition `{"kafka_topic", "kafka_partition"}` and offset `{"kafka_offset"}`.
//! Resetting one sink partition (a `null` offset) commits the partition's earliest
//! offset (what `auto.offset.reset=earliest`, the sink default, would start from);
//! resetting a whole sink connector deletes its consumer group.

use std::time::Duration;

use regex::Regex;
use serde_json::{Map, Value as Json};

use super::HerderError;
use crate::config::{split_list, RawConfig};
use crate::kafka::client_config;
use crate::offsets::OffsetStore;
use crate::worker::Worker;

/// One partition's offset as the REST API shows it; `offset: None` resets it.
#[derive(Debug, Clone, PartialEq)]
pub struct OffsetEntry {
    pub partition: Map<String, Json>,
    pub offset: Option<Map<String, Json>>,
}

pub(crate) async fn source_offsets(
    store: &dyn OffsetStore,
    name: &str,
) -> Result<Vec<OffsetEntry>, HerderError> {
    let all = store
        .all(name)
        .await
        .map_err(|e| HerderError::Internal(e.to_string()))?;
    Ok(all
        .into_iter()
        .map(|(p, o)| OffsetEntry {
            partition: p,
            offset: Some(o),
        })
        .collect())
}

/// Offsets may only hold primitive values (as Connect's `OffsetUtils.validateFormat`).
fn check_source_entry(e: &OffsetEntry) -> Result<(), HerderError> {
    let check = |what: &str, m: &Map<String, Json>| {
        for (k, v) in m {
            if v.is_object() || v.is_array() {
                return Err(HerderError::BadRequest(format!(
                    "Offsets may only contain primitive types as values, but {} field {} contains {}",
                    what, k, v
                )));
            }
        }
        Ok(())
    };
    check("partition", &e.partition)?;
    if let Some(o) = &e.offset {
        check("offset", o)?;
    }
    Ok(())
}

pub(crate) async fn alter_source_offsets(
    store: &dyn OffsetStore,
    name: &str,
    entries: Vec<OffsetEntry>,
) -> Result<(), HerderError> {
    for e in &entries {
        check_source_entry(e)?;
    }
    store
        .put(
            name,
            entries
                .into_iter()
                .map(|e| (e.partition, e.offset))
                .collect(),
        )
        .await
        .map_err(|e| HerderError::Internal(e.to_string()))
}

pub(crate) async fn reset_source_offsets(
    store: &dyn OffsetStore,
    name: &str,
) -> Result<(), HerderError> {
    store
        .clear(name)
        .await
        .map_err(|e| HerderError::Internal(e.to_string()))
}

fn sink_partition(e: &OffsetEntry) -> Result<(String, i32), HerderError> {
    let topic = e
        .partition
        .get("kafka_topic")
        .and_then(Json::as_str)
        .ok_or_else(|| {
            HerderError::BadRequest(
                "Kafka topic names must be valid strings and may not be null".into(),
            )
        })?;
    let partition = e
        .partition
        .get("kafka_partition")
        .and_then(Json::as_i64)
        .ok_or_else(|| {
            HerderError::BadRequest(
                "Kafka partitions must be valid integers and may not be null".into(),
            )
        })?;
    if partition < 0 || partition > i32::MAX as i64 {
        return Err(HerderError::BadRequest(format!(
            "Kafka partitions must be valid integers, not {}",
            partition
        )));
    }
    Ok((topic.to_string(), partition as i32))
}

fn sink_offset(e: &OffsetEntry) -> Result<Option<i64>, HerderError> {
    match &e.offset {
        None => Ok(None),
        Some(o) => match o.get("kafka_offset").and_then(Json::as_i64) {
            Some(v) if v >= 0 => Ok(Some(v)),
            _ => Err(HerderError::BadRequest(
                "Kafka offsets must be valid non-negative integers, given as {\"kafka_offset\": N}"
                    .into(),
            )),
        },
    }
}

fn group_consumer(
    worker: &Worker,
    name: &str,
) -> Result<rdkafka::consumer::BaseConsumer, HerderError> {
    let mut extra = RawConfig::new();
    extra.insert("group.id".into(), format!("connect-{}", name));
    extra.insert("enable.auto.commit".into(), "false".into());
    client_config(&[&worker.config.client_config("consumer."), &extra])
        .create()
        .map_err(|e| HerderError::Internal(format!("cannot create a Kafka consumer: {}", e)))
}

/// The topic partitions a sink connector consumes now.
fn sink_partitions(
    c: &rdkafka::consumer::BaseConsumer,
    config: &RawConfig,
) -> Result<Vec<(String, i32)>, HerderError> {
    use rdkafka::consumer::Consumer;
    let md = c
        .fetch_metadata(None, Duration::from_secs(10))
        .map_err(|e| HerderError::Internal(format!("cannot read Kafka metadata: {}", e)))?;
    let topics = config
        .get("topics")
        .map(|t| split_list(t))
        .unwrap_or_default();
    let regex = match config
        .get("topics.regex")
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
    {
        Some(r) => Some(
            Regex::new(&format!("^(?:{})$", r))
                .map_err(|e| HerderError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let mut out = Vec::new();
    for t in md.topics() {
        let wanted = topics.iter().any(|x| x == t.name())
            || regex.as_ref().is_some_and(|r| r.is_match(t.name()));
        if wanted {
            for p in t.partitions() {
                out.push((t.name().to_string(), p.id()));
            }
        }
    }
    Ok(out)
}

pub(crate) async fn sink_offsets(
    worker: &Worker,
    name: &str,
    config: &RawConfig,
) -> Result<Vec<OffsetEntry>, HerderError> {
    let c = group_consumer(worker, name)?;
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::Consumer;
        let parts = sink_partitions(&c, &config)?;
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        let mut tpl = rdkafka::TopicPartitionList::new();
        for (t, p) in &parts {
            tpl.add_partition(t, *p);
        }
        let committed = c
            .committed_offsets(tpl, Duration::from_secs(10))
            .map_err(|e| HerderError::Internal(format!("cannot read committed offsets: {}", e)))?;
        let mut out = Vec::new();
        for e in committed.elements() {
            if let rdkafka::Offset::Offset(o) = e.offset() {
                let mut p = Map::new();
                p.insert("kafka_topic".into(), Json::from(e.topic()));
                p.insert("kafka_partition".into(), Json::from(e.partition()));
                let mut off = Map::new();
                off.insert("kafka_offset".into(), Json::from(o));
                out.push(OffsetEntry {
                    partition: p,
                    offset: Some(off),
                });
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| HerderError::Internal(e.to_string()))?
}

pub(crate) async fn alter_sink_offsets(
    worker: &Worker,
    name: &str,
    entries: Vec<OffsetEntry>,
) -> Result<(), HerderError> {
    let mut wanted = Vec::new();
    for e in &entries {
        wanted.push((sink_partition(e)?, sink_offset(e)?));
    }
    let c = group_consumer(worker, name)?;
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::Consumer;
        let mut tpl = rdkafka::TopicPartitionList::new();
        for ((t, p), o) in wanted {
            let o = match o {
                Some(o) => o,
                None => {
                    c.fetch_watermarks(&t, p, Duration::from_secs(10))
                        .map_err(|e| {
                            HerderError::Internal(format!(
                                "cannot read the start of {}-{}: {}",
                                t, p, e
                            ))
                        })?
                        .0
                }
            };
            tpl.add_partition_offset(&t, p, rdkafka::Offset::Offset(o))
                .map_err(|e| HerderError::Internal(e.to_string()))?;
        }
        c.commit(&tpl, rdkafka::consumer::CommitMode::Sync)
            .map_err(|e| HerderError::Internal(format!("cannot commit offsets: {}", e)))
    })
    .await
    .map_err(|e| HerderError::Internal(e.to_string()))?
}

pub(crate) async fn reset_sink_offsets(
    worker: &Worker,
    name: &str,
    config: &RawConfig,
) -> Result<(), HerderError> {
    let group = format!("connect-{}", name);
    let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
        client_config(&[&worker.config.client_config("admin.")])
            .create()
            .map_err(|e| {
                HerderError::Internal(format!("cannot create a Kafka admin client: {}", e))
            })?;
    let opts = rdkafka::admin::AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let deleted = match admin.delete_groups(&[group.as_str()], &opts).await {
        Ok(results) => results.iter().all(|r| match r {
            Ok(_) => true,
            Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => true,
            Err(_) => false,
        }),
        Err(_) => false,
    };
    if deleted {
        return Ok(());
    }
    // The broker could not delete the group: move every partition back to its start.
    let current = sink_offsets(worker, name, config).await?;
    let entries = current
        .into_iter()
        .map(|e| OffsetEntry {
            partition: e.partition,
            offset: None,
        })
        .collect();
    alter_sink_offsets(worker, name, entries).await
}
