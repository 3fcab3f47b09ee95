//! A compacted internal topic read from the start and followed forever, with writes
//! that wait until they are read back (read-your-writes), and "read to the end" before
//! acting, as Connect's `KafkaBasedLog`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::watch;

/// Applies one record (key, value) to the log's state.
pub type Apply = Box<dyn FnMut(&str, Option<&[u8]>) + Send>;

/// A followed topic.
pub struct TopicLog {
    pub topic: String,
    producer: FutureProducer,
    /// For watermark queries (read to end).
    meta: Arc<BaseConsumer>,
    /// Next offset to read, per partition.
    positions: Arc<Mutex<HashMap<i32, i64>>>,
    changed: watch::Receiver<u64>,
    stop: Arc<AtomicBool>,
}

impl TopicLog {
    /// Starts following `topic` from its beginning.
    pub fn start(
        topic: &str,
        consumer_config: &ClientConfig,
        producer_config: &ClientConfig,
        mut apply: Apply,
    ) -> Result<TopicLog, String> {
        let mut cc = consumer_config.clone();
        cc.set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("group.id", format!("sluice-log-{}", topic))
            .set("auto.offset.reset", "earliest");
        let consumer: BaseConsumer = cc
            .create()
            .map_err(|e| format!("cannot read topic {}: {}", topic, e))?;
        // Right after the topic was created its partitions may have no leader yet.
        let parts = crate::kafka::partitions_with_leaders(
            &consumer,
            topic,
            Instant::now() + Duration::from_secs(30),
        )?;
        let mut tpl = TopicPartitionList::new();
        for p in &parts {
            tpl.add_partition_offset(topic, *p, Offset::Beginning)
                .map_err(|e| e.to_string())?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| format!("cannot read topic {}: {}", topic, e))?;
        let mut pc = producer_config.clone();
        pc.set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "0")
            .set("partitioner", "murmur2_random");
        let producer: FutureProducer = pc
            .create()
            .map_err(|e| format!("cannot write topic {}: {}", topic, e))?;
        let positions: Arc<Mutex<HashMap<i32, i64>>> =
            Arc::new(Mutex::new(parts.iter().map(|p| (*p, 0)).collect()));
        let (tx, rx) = watch::channel(0u64);
        let stop = Arc::new(AtomicBool::new(false));
        let (pos2, stop2, name) = (positions.clone(), stop.clone(), topic.to_string());
        std::thread::Builder::new()
            .name(format!("log-{}", topic))
            .spawn(move || {
                let mut n = 0u64;
                while !stop2.load(Ordering::SeqCst) {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => {
                            let key = m
                                .key()
                                .map(|k| String::from_utf8_lossy(k).into_owned())
                                .unwrap_or_default();
                            apply(&key, m.payload());
                            pos2.lock().unwrap().insert(m.partition(), m.offset() + 1);
                            n += 1;
                            // Publish after draining what is already here.
                            let _ = tx.send(n);
                        }
                        Some(Err(e)) => {
                            tracing::warn!(topic = %name, "error reading internal topic: {}", e)
                        }
                        None => {}
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        let meta: BaseConsumer = consumer_config
            .create()
            .map_err(|e| format!("cannot read topic {}: {}", topic, e))?;
        Ok(TopicLog {
            topic: topic.to_string(),
            producer,
            meta: Arc::new(meta),
            positions,
            changed: rx,
            stop,
        })
    }

    /// A receiver that changes whenever records were applied.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.clone()
    }

    /// Waits until every record written before the call has been applied.
    pub async fn read_to_end(&self, timeout: Duration) -> Result<(), String> {
        let c = self.meta.clone();
        let topic = self.topic.clone();
        let ends: HashMap<i32, i64> =
            tokio::task::spawn_blocking(move || -> Result<HashMap<i32, i64>, String> {
                // Transient errors (a partition without a leader for a moment) are
                // retried until the deadline.
                let deadline = Instant::now() + Duration::from_secs(30);
                let mut ends = HashMap::new();
                for p in crate::kafka::partitions_with_leaders(&c, &topic, deadline)? {
                    let (_, hi) = crate::kafka::watermarks(&c, &topic, p, deadline)?;
                    ends.insert(p, hi);
                }
                Ok(ends)
            })
            .await
            .map_err(|e| e.to_string())??;
        self.wait_for(&ends, timeout).await
    }

    async fn wait_for(&self, ends: &HashMap<i32, i64>, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut rx = self.changed.clone();
        loop {
            let done = {
                let pos = self.positions.lock().unwrap();
                ends.iter()
                    .all(|(p, end)| pos.get(p).copied().unwrap_or(0) >= *end)
            };
            if done {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("timed out reading {} to its end", self.topic));
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        }
    }

    /// Writes a record and waits until it has been read back (so the state has it).
    pub async fn write(&self, key: &str, value: Option<Vec<u8>>) -> Result<(), String> {
        let mut rec: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = &value {
            rec = rec.payload(&v[..]);
        }
        let d = self
            .producer
            .send(rec, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| format!("cannot write to {}: {}", self.topic, e))?;
        let ends: HashMap<i32, i64> = [(d.partition, d.offset + 1)].into();
        self.wait_for(&ends, Duration::from_secs(30)).await
    }
}

impl Drop for TopicLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
