//! A source task's offsets are written beside its loop: while the offset store takes
//! its time (a slow disk's fsync, a slow offsets topic), the task goes on polling and
//! sending, no second write overtakes the first, and the last write at shutdown holds
//! the last record's offset. Runs the source loop itself against Apache Kafka with an
//! offset store whose first write waits until the test lets it go.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::*;
use serde_json::json;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{
    ConnectError, Polled, SourceBatch, SourceTask, SourceTaskContext, Started,
};
use sluice_runtime::data::{
    Record, SchemaAndValue, SourceOffset, SourcePartition, SourceRecord, Value,
};
use sluice_runtime::errors::ErrorPolicy;
use sluice_runtime::lifecycle::{ConverterSpec, PipelineSpec};
use sluice_runtime::offsets::{OffsetError, OffsetStore};
use sluice_runtime::status::{SharedStatus, State};
use sluice_runtime::task::source::{run_source_task, SourceTaskSettings};
use sluice_runtime::task::{ActiveTopics, RecordPipeline, TaskId, TaskMetrics, TaskTarget};
use tokio::sync::{watch, Notify};

/// The topic the counting task writes to (the task factory is a plain `fn`).
static TOPIC: OnceLock<String> = OnceLock::new();

/// Emits records 1, 2, 3, ... in batches of 50, each with its number as offset.
struct Counting {
    next: u64,
    partition: Arc<SourcePartition>,
}

#[async_trait]
impl SourceTask for Counting {
    async fn poll(&mut self) -> Result<SourceBatch, ConnectError> {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let mut batch = SourceBatch::new();
        for _ in 0..50 {
            self.next += 1;
            let mut offset = SourceOffset::new();
            offset.insert("n".into(), json!(self.next));
            let record = Record::new(
                TOPIC.get().unwrap().as_str(),
                SchemaAndValue::schemaless(Value::String(self.next.to_string())),
            );
            batch.items.push(Polled::Record(
                SourceRecord::new(record).with_position(self.partition.clone(), offset),
            ));
        }
        Ok(batch)
    }
}

fn counting(_: ParsedConfig, _: SourceTaskContext) -> Started<dyn SourceTask> {
    Box::pin(async {
        let mut p = SourcePartition::new();
        p.insert("p".into(), json!(0));
        Ok(Box::new(Counting {
            next: 0,
            partition: Arc::new(p),
        }) as Box<dyn SourceTask>)
    })
}

/// An offset store whose first write waits for `release`; it counts writes started
/// and keeps the offsets of each finished one, in order.
#[derive(Default)]
struct GatedStore {
    started: AtomicUsize,
    entered: Notify,
    release: Notify,
    written: Mutex<Vec<u64>>,
}

#[async_trait]
impl OffsetStore for GatedStore {
    async fn get(&self, _: &str, _: &SourcePartition) -> Result<Option<SourceOffset>, OffsetError> {
        Ok(None)
    }
    async fn all(&self, _: &str) -> Result<Vec<(SourcePartition, SourceOffset)>, OffsetError> {
        Ok(Vec::new())
    }
    async fn put(
        &self,
        _: &str,
        entries: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), OffsetError> {
        if self.started.fetch_add(1, Ordering::SeqCst) == 0 {
            self.entered.notify_one();
            self.release.notified().await;
        }
        let n = entries[0].1.as_ref().unwrap()["n"].as_u64().unwrap();
        self.written.lock().unwrap().push(n);
        Ok(())
    }
}

fn polled(m: &TaskMetrics) -> u64 {
    m.source_record_poll.load(Ordering::Relaxed)
}

#[test]
fn polling_goes_on_while_offsets_are_written_and_writes_stay_in_order() {
    let topic = unique("offset-flush");
    create_topic(&topic, 1);
    TOPIC.set(topic.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let last = rt.block_on(run_and_check());
    // Kafka holds every record up to the last offset written.
    assert_eq!(high_watermark(&topic), last as i64);
}

/// Runs the task through a held offset write and a stop; returns the last offset
/// written.
async fn run_and_check() -> u64 {
    let id = TaskId {
        connector: "offset-flush".into(),
        task: 0,
    };
    let metrics = Arc::new(TaskMetrics::default());
    let string = |class: &str| ConverterSpec {
        class: class.into(),
        config: Default::default(),
    };
    let spec = PipelineSpec {
        key: string("org.apache.kafka.connect.storage.StringConverter"),
        value: string("org.apache.kafka.connect.storage.StringConverter"),
        header: string("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
        transforms: Default::default(),
    };
    let pipeline =
        RecordPipeline::new(id.clone(), &spec, ErrorPolicy::default(), metrics.clone()).unwrap();
    let mut producer = sluice_runtime::kafka::source_producer_defaults();
    producer.insert("bootstrap.servers".into(), bootstrap());
    let admin: sluice_runtime::config::RawConfig =
        [("bootstrap.servers".to_string(), bootstrap())].into();
    let store = Arc::new(GatedStore::default());
    let status = SharedStatus::new(State::Running, "test");
    let settings = SourceTaskSettings {
        id,
        task_config: ParsedConfig::new(Default::default(), Default::default()),
        pipeline,
        producer_config: sluice_runtime::kafka::client_config(&[&producer]),
        admin_config: sluice_runtime::kafka::client_config(&[&admin]),
        offsets: store.clone(),
        flush_interval: Duration::from_millis(100),
        flush_timeout: Duration::from_secs(60),
        shutdown_timeout: Duration::from_secs(30),
        detail: status.detail_handle(),
        status,
        metrics: metrics.clone(),
        max_in_flight: 100_000,
        topics: ActiveTopics::default(),
        transactional: None,
        topic_creator: None,
    };
    let (control, rx) = watch::channel(TaskTarget::Running);
    let task = tokio::spawn(run_source_task(counting, settings, rx));

    // The first write of offsets starts, and is held.
    tokio::time::timeout(Duration::from_secs(60), store.entered.notified())
        .await
        .expect("the task wrote no offsets within 60 s");
    let at_entry = polled(&metrics);
    // Meanwhile the task polls on: thousands of records more.
    let deadline = Instant::now() + Duration::from_secs(30);
    while polled(&metrics) < at_entry + 5_000 {
        assert!(
            Instant::now() < deadline,
            "the task stopped polling while its offsets were being written: {} records polled when the write started, {} after 30 s",
            at_entry,
            polled(&metrics)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ... and starts no second write over it, though several intervals passed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.started.load(Ordering::SeqCst),
        1,
        "a second offset write started while the first was still running"
    );
    assert!(store.written.lock().unwrap().is_empty());

    // Let the first write finish: later writes follow, with later offsets.
    store.release.notify_one();
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.written.lock().unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "no writes after the first one");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    control.send(TaskTarget::Stopped).unwrap();
    task.await.unwrap().expect("the task stops cleanly");
    let written = store.written.lock().unwrap().clone();
    assert!(
        written.windows(2).all(|w| w[0] < w[1]),
        "offsets were written out of order: {:?}",
        written
    );
    // The last write, at shutdown, holds the last record polled: every polled record
    // was acknowledged by Kafka before the task stopped.
    let last = *written.last().unwrap();
    assert_eq!(last, polled(&metrics), "written: {:?}", written);
    last
}

fn high_watermark(topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    c.fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap()
        .1
}
