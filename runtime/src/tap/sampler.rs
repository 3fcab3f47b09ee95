//! A task's side of the tap: decides which records are sampled (at most the rate the
//! listeners asked for) and publishes each sampled record at every stage it passes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::event::{bytes_json, record_fields, TapEvent, TapHeader, TapStage};
use super::hub::ConnectorTap;
use crate::data::Record;

/// One task's tap.
pub struct TaskTap {
    tap: Arc<ConnectorTap>,
    connector: String,
    task: u32,
    next: Instant,
    sample: u64,
}

/// A record written to Kafka, as the tap shows it.
pub struct WrittenRecord<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub key: Option<&'a bytes::Bytes>,
    pub value: Option<&'a bytes::Bytes>,
    pub headers: &'a [(String, Option<bytes::Bytes>)],
    pub timestamp: Option<i64>,
}

impl TaskTap {
    pub fn new(tap: Arc<ConnectorTap>, connector: &str, task: u32) -> Self {
        TaskTap {
            tap,
            connector: connector.to_string(),
            task,
            next: Instant::now(),
            sample: 0,
        }
    }

    /// Whether the next record is sampled: someone listens and the rate allows it.
    /// With nobody listening this is one atomic load.
    #[inline]
    /// The connector's tap (whether anyone listens).
    pub fn hub(&self) -> Arc<ConnectorTap> {
        self.tap.clone()
    }

    pub fn sample(&mut self) -> bool {
        if !self.tap.active() {
            return false;
        }
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        let rate = self.tap.rate().max(1);
        self.next = now + Duration::from_secs(1) / rate;
        self.sample += 1;
        true
    }

    fn event(&self, stage: TapStage) -> TapEvent {
        TapEvent {
            connector: self.connector.clone(),
            task: self.task,
            stage,
            step: None,
            sample: self.sample,
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            dropped: false,
            topic: None,
            partition: None,
            offset: None,
            timestamp: None,
            key: serde_json::Value::Null,
            value: serde_json::Value::Null,
            value_schema: None,
            headers: Vec::new(),
        }
    }

    fn publish(&self, e: TapEvent) {
        self.tap.publish(e);
    }

    /// A Connect record at `stage` (`step`: the transform's alias).
    pub fn record(&self, stage: TapStage, step: Option<&str>, r: &Record) {
        let mut e = self.event(stage);
        let (key, value, value_schema, headers) = record_fields(r);
        e.step = step.map(str::to_string);
        e.topic = Some(r.topic.to_string());
        e.partition = r.partition;
        e.offset = r.kafka_offset;
        e.timestamp = r.timestamp;
        e.key = key;
        e.value = value;
        e.value_schema = value_schema;
        e.headers = headers;
        self.publish(e);
    }

    /// A transform dropped the record.
    pub fn dropped(&self, step: &str) {
        let mut e = self.event(TapStage::Transform);
        e.step = Some(step.to_string());
        e.dropped = true;
        self.publish(e);
    }

    /// A record as a source task sends it to Kafka.
    pub fn written(&self, w: WrittenRecord<'_>) {
        let mut e = self.event(TapStage::Output);
        e.topic = Some(w.topic.to_string());
        e.partition = w.partition;
        e.timestamp = w.timestamp;
        e.key = bytes_json(w.key);
        e.value = bytes_json(w.value);
        e.headers = w
            .headers
            .iter()
            .map(|(k, v)| TapHeader {
                key: k.clone(),
                value: bytes_json(v.as_ref()),
            })
            .collect();
        self.publish(e);
    }
}
