//! Offsets in a compacted Kafka topic, in Connect's exact format, so a Connect cluster's
//! offsets topic can be read by Sluice and the other way round. Written with the
//! `murmur2_random` partitioner, which places keys on the same partitions as Java's
//! default partitioner.

use std::time::Duration;

use async_trait::async_trait;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use tokio::sync::Mutex;

use super::{offset_key, parse_offset_key, OffsetError, OffsetMap, OffsetStore};
use crate::connector::ConnectError;
use crate::data::{SourceOffset, SourcePartition};
use crate::kafka::{ensure_internal_topic, read_to_end, InternalTopic};

/// Offsets in `offset.storage.topic`.
pub struct KafkaOffsetStore {
    topic: String,
    consumer_config: ClientConfig,
    producer: FutureProducer,
    map: Mutex<OffsetMap>,
}

impl KafkaOffsetStore {
    /// Creates the topic if missing and reads it to its end.
    pub async fn open(
        producer_config: &ClientConfig,
        consumer_config: &ClientConfig,
        admin_config: &ClientConfig,
        spec: InternalTopic,
    ) -> Result<Self, ConnectError> {
        ensure_internal_topic(admin_config, &spec).await?;
        let mut pc = producer_config.clone();
        pc.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "1");
        let producer: FutureProducer = pc
            .create()
            .map_err(|e| crate::kafka::classify(&e, "cannot create the offsets producer"))?;
        let store = KafkaOffsetStore {
            topic: spec.name,
            consumer_config: consumer_config.clone(),
            producer,
            map: Mutex::new(OffsetMap::default()),
        };
        store
            .reload()
            .await
            .map_err(|e| ConnectError::Retriable(e.to_string()))?;
        Ok(store)
    }

    /// Reads the topic to its end again (another worker may have written offsets).
    pub async fn reload(&self) -> Result<(), OffsetError> {
        let (tx, rx) = std::sync::mpsc::channel();
        read_to_end(
            self.consumer_config.clone(),
            self.topic.clone(),
            Duration::from_secs(60),
            move |k, v| {
                let _ = tx.send((k.map(|k| k.to_vec()), v.map(|v| v.to_vec())));
            },
        )
        .await
        .map_err(OffsetError)?;
        let mut map = OffsetMap::default();
        for (k, v) in rx.try_iter() {
            let Some((conn, part)) = k.as_deref().and_then(parse_offset_key) else {
                tracing::warn!(topic = %self.topic, "ignoring an offsets record whose key is not [connector, partition]");
                continue;
            };
            match v {
                None => map.apply(&conn, part, None),
                Some(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                    Ok(serde_json::Value::Object(o)) => map.apply(&conn, part, Some(o)),
                    Ok(serde_json::Value::Null) => map.apply(&conn, part, None),
                    _ => {
                        tracing::warn!(topic = %self.topic, connector = %conn, "ignoring an offsets record whose value is not a JSON map")
                    }
                },
            }
        }
        *self.map.lock().await = map;
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for KafkaOffsetStore {
    async fn get(
        &self,
        connector: &str,
        partition: &SourcePartition,
    ) -> Result<Option<SourceOffset>, OffsetError> {
        Ok(self.map.lock().await.get(connector, partition))
    }

    async fn all(
        &self,
        connector: &str,
    ) -> Result<Vec<(SourcePartition, SourceOffset)>, OffsetError> {
        Ok(self.map.lock().await.all(connector))
    }

    fn kafka_topic(&self) -> Option<&str> {
        Some(&self.topic)
    }

    async fn refresh(&self) -> Result<(), OffsetError> {
        self.reload().await
    }

    async fn remember(
        &self,
        connector: &str,
        entries: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) {
        let mut map = self.map.lock().await;
        for (p, o) in entries {
            map.apply(connector, p, o);
        }
    }

    async fn put(
        &self,
        connector: &str,
        entries: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), OffsetError> {
        let mut sends = Vec::with_capacity(entries.len());
        for (p, o) in &entries {
            let key = offset_key(connector, p);
            let value = o
                .as_ref()
                .map(|o| serde_json::to_vec(o).expect("JSON maps always serialize"));
            let producer = self.producer.clone();
            let topic = self.topic.clone();
            sends.push(async move {
                let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&topic).key(&key[..]);
                if let Some(v) = &value {
                    rec = rec.payload(&v[..]);
                }
                producer
                    .send(rec, Duration::from_secs(30))
                    .await
                    .map(|_| ())
                    .map_err(|(e, _)| {
                        OffsetError(format!("cannot write offsets to {}: {}", topic, e))
                    })
            });
        }
        for r in futures::future::join_all(sends).await {
            r?;
        }
        let mut map = self.map.lock().await;
        for (p, o) in entries {
            map.apply(connector, p, o);
        }
        Ok(())
    }
}
