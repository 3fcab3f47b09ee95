//! The sink task loop.
//!
//! Delivery rules (what is committed when, and why):
//! 1. Records are consumed in consumer group `connect-<connector>`, converted and
//!    transformed, then handed to the task's `put`.
//! 2. A Kafka offset is committed only after the task's `flush` returned Ok following
//!    the `put` of that record: every `offset.flush.interval.ms`, when partitions are
//!    revoked (inside the rebalance, so the next owner starts right after what we
//!    wrote), and at shutdown.
//! 3. A retriable error from `put` or `flush` is retried with backoff (the consumer
//!    pauses meanwhile); nothing is committed for records not yet written.
//! 4. A record that cannot be converted or transformed, or that the task reports as
//!    unwritable, fails the task (`errors.tolerance=none`, with a trace naming
//!    topic/partition/offset) or is skipped / written to the dead letter queue
//!    (`all`). A DLQ write is acknowledged by Kafka before the record's offset can be
//!    committed.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use tokio::sync::watch;

use super::pipeline::{ErrorHandler, OutRecord, Outcome, RecordPipeline, RetryInput};
use super::retry::RetryBudget;
use super::sink_consumer::{Batch, Batching, ConsumerEvent, ConsumerThread, Subscription};
use super::start::{ensure_dlq_with_retry, start_with_retry, wait_or_stop};
use super::{Backoff, TaskFailure, TaskId, TaskMetrics, TaskTarget};
use crate::config::ParsedConfig;
use crate::connector::{
    ConnectError, ErrantRecordHandler, ErrantRecordReporter, SinkTask, SinkTaskContext, Started,
    StatusDetail, TopicPartition,
};
use crate::data::{KafkaOrigin, RawMessage, SinkRecord, TimestampType};
use crate::kafka::TopicSpec;
use crate::status::{SharedStatus, State};

pub use super::sink_consumer::Subscription as SinkSubscription;

/// Everything a sink task loop needs besides the task itself.
pub struct SinkTaskSettings {
    pub id: TaskId,
    pub task_config: ParsedConfig,
    /// The task's class name, for `__connect.errors.class.name`.
    pub task_class: String,
    pub pipeline: RecordPipeline,
    pub consumer_config: ClientConfig,
    pub producer_config: ClientConfig,
    pub admin_config: ClientConfig,
    pub subscription: Subscription,
    pub commit_interval: Duration,
    /// How long an offset commit may take (`offset.flush.timeout.ms`) before it counts
    /// as failed and is retried at the next flush.
    pub commit_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub max_batch: usize,
    pub status: SharedStatus,
    pub detail: StatusDetail,
    pub metrics: Arc<TaskMetrics>,
    /// Topics the connector has consumed.
    pub topics: super::ActiveTopics,
}

/// Writes dead letters for a sink task and applies tolerance to errant records.
struct DeadLetterWriter {
    errors: ErrorHandler,
    producer: Option<FutureProducer>,
    task_class: String,
}

impl DeadLetterWriter {
    async fn write(&self, rec: OutRecord) -> Result<(), ConnectError> {
        let Some(p) = &self.producer else {
            return Ok(());
        };
        let mut fr: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&rec.topic);
        if let Some(k) = &rec.key {
            fr = fr.key(&k[..]);
        }
        if let Some(v) = &rec.value {
            fr = fr.payload(&v[..]);
        }
        if let Some(ts) = rec.timestamp {
            fr = fr.timestamp(ts);
        }
        let mut h = OwnedHeaders::new_with_capacity(rec.headers.len());
        for (k, v) in &rec.headers {
            h = h.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        fr = fr.headers(h);
        match p.send(fr, Duration::from_secs(60)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => {
                TaskMetrics::add(&self.errors.metrics.dlq_produce_failures, 1);
                Err(ConnectError::fatal(format!(
                    "Could not produce message to dead letter queue. topic={}: {}",
                    rec.topic, e
                )))
            }
        }
    }

    async fn apply(&self, outcome: Outcome<()>) -> Result<(), ConnectError> {
        match outcome {
            Outcome::Ok(()) | Outcome::Dropped => Ok(()),
            Outcome::DeadLetter(r) => self.write(r).await,
            Outcome::Fail(trace) => Err(ConnectError::fatal(trace)),
            Outcome::Retry(r) => Err(ConnectError::fatal(r.error.message)),
        }
    }
}

#[async_trait]
impl ErrantRecordHandler for DeadLetterWriter {
    async fn report(&self, record: &SinkRecord, error: &str) -> Result<(), ConnectError> {
        let outcome = self
            .errors
            .errant_sink_record(record, error, &self.task_class);
        self.apply(outcome).await
    }
}

struct Loop {
    s: SinkTaskSettings,
    task: Box<dyn SinkTask>,
    dlq: Arc<DeadLetterWriter>,
    consumer: Option<ConsumerThread>,
    assigned: BTreeSet<TopicPartition>,
    generation: u64,
    /// Next offset to commit per partition: one past the last record put.
    put_offsets: HashMap<TopicPartition, i64>,
    committed: HashMap<TopicPartition, i64>,
    failure: Option<String>,
}

/// Runs a sink task until told to stop or until it fails. Returns the failure trace.
pub async fn run_sink_task(
    create: fn(ParsedConfig, SinkTaskContext) -> Started<dyn SinkTask>,
    s: SinkTaskSettings,
    mut control: watch::Receiver<TaskTarget>,
) -> Result<(), TaskFailure> {
    let errors = s.pipeline.errors();
    let producer = match &s.pipeline.policy.dlq_topic {
        Some(topic) => {
            let spec = TopicSpec {
                name: topic.clone(),
                partitions: 1,
                replication: s.pipeline.policy.dlq_replication,
                compacted: false,
            };
            let (id, detail, delay) = (&s.id, &s.detail, s.pipeline.policy.retry_delay_max);
            if !ensure_dlq_with_retry(id, detail, &mut control, delay, &s.admin_config, spec)
                .await?
            {
                return Ok(()); // stopped meanwhile
            }
            Some(
                s.producer_config
                    .create::<FutureProducer>()
                    .map_err(|e| format!("cannot create the dead letter queue producer: {}", e))?,
            )
        }
        None => None,
    };
    let dlq = Arc::new(DeadLetterWriter {
        errors,
        producer,
        task_class: s.task_class.clone(),
    });
    let ctx = SinkTaskContext {
        connector: s.id.connector.clone(),
        task: s.id.task,
        status: s.detail.clone(),
        errant: ErrantRecordReporter(dlq.clone()),
    };
    let started = start_with_retry(
        &s.id,
        &s.detail,
        &mut control,
        s.pipeline.policy.retry_delay_max,
        || create(s.task_config.clone(), ctx.clone()),
    )
    .await?;
    let Some(mut task) = started else {
        return Ok(());
    };
    let headers: Arc<dyn Fn() -> bool + Send + Sync> = if task.reads_headers() {
        Arc::new(|| true)
    } else {
        s.pipeline.headers_wanted()
    };
    let consumer = ConsumerThread::start(
        s.consumer_config.clone(),
        s.subscription.clone(),
        Batching {
            max: s.max_batch,
            headers,
            own: s.pipeline.keeps_buffers(),
        },
        s.shutdown_timeout.max(Duration::from_secs(30)),
        s.id.to_string(),
        s.metrics.clone(),
        s.detail.clone(),
    );
    let consumer = match consumer {
        Ok(c) => c,
        Err(e) => {
            task.stop().await;
            return Err(format!("task {}: {}", s.id, e).into());
        }
    };
    tracing::info!(task = %s.id, "sink task started");
    let mut l = Loop {
        s,
        task,
        dlq,
        consumer: Some(consumer),
        assigned: BTreeSet::new(),
        generation: 0,
        put_offsets: HashMap::new(),
        committed: HashMap::new(),
        failure: None,
    };
    l.run(control).await.map_err(TaskFailure::from)
}

impl Loop {
    async fn run(&mut self, mut control: watch::Receiver<TaskTarget>) -> Result<(), String> {
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + self.s.commit_interval,
            self.s.commit_interval,
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let target = *control.borrow();
            if target == TaskTarget::Stopped || self.failure.is_some() {
                break;
            }
            let state = if target == TaskTarget::Paused {
                State::Paused
            } else {
                State::Running
            };
            if self.s.status.get().state != state {
                self.s.status.set_state(state);
                tracing::info!(task = %self.s.id, "task is {}", state.name());
            }
            let running = target == TaskTarget::Running;
            let consumer = self
                .consumer
                .as_mut()
                .expect("consumer runs until shutdown");
            tokio::select! {
                biased;
                r = control.changed() => if r.is_err() { break },
                ev = consumer.events.recv() => match ev {
                    Some(ev) => self.on_event(ev).await,
                    None => self.failure = Some(format!("task {}: the Kafka consumer stopped", self.s.id)),
                },
                b = consumer.batches.recv(), if running => match b {
                    Some(b) => self.on_batch(b, &mut control).await,
                    None => self.failure = Some(format!("task {}: the Kafka consumer stopped", self.s.id)),
                },
                _ = tick.tick() => self.flush_and_commit(false).await,
            }
        }
        self.shutdown().await
    }

    async fn on_event(&mut self, ev: ConsumerEvent) {
        match ev {
            ConsumerEvent::Assigned {
                generation,
                partitions,
            } => {
                self.generation = generation;
                for p in &partitions {
                    self.assigned.insert(p.clone());
                    self.s.topics.record(&p.topic);
                }
                TaskMetrics::set(&self.s.metrics.partition_count, self.assigned.len() as u64);
                tracing::info!(task = %self.s.id, partitions = partitions.len(), "partitions assigned");
                if let Err(e) = self.task.open(&partitions).await {
                    self.failure = Some(format!(
                        "task {} failed to open partitions: {}",
                        self.s.id, e
                    ));
                }
            }
            ConsumerEvent::Revoked { partitions, reply } => {
                if let Some(c) = &self.consumer {
                    self.generation = c.generation.load(Ordering::SeqCst);
                }
                let mut offsets = Vec::new();
                if self.failure.is_none() && self.flush_with_retry(3).await.is_ok() {
                    for p in &partitions {
                        if let Some(o) = self.put_offsets.get(p) {
                            if self.committed.get(p) != Some(o) {
                                offsets.push((p.clone(), *o));
                            }
                        }
                    }
                }
                let _ = reply.send(offsets);
                let _ = self.task.close(&partitions).await;
                for p in &partitions {
                    self.assigned.remove(p);
                    self.put_offsets.remove(p);
                    self.committed.remove(p);
                }
                TaskMetrics::set(&self.s.metrics.partition_count, self.assigned.len() as u64);
                tracing::info!(task = %self.s.id, partitions = partitions.len(), "partitions revoked");
            }
            ConsumerEvent::Fatal(e) => self.failure = Some(format!("task {}: {}", self.s.id, e)),
        }
    }

    async fn on_batch(&mut self, batch: Batch, control: &mut watch::Receiver<TaskTarget>) {
        if batch.generation < self.generation {
            return; // fetched before a rebalance; those partitions restart from the commit
        }
        TaskMetrics::add(
            &self.s.metrics.sink_record_read,
            batch.messages.len() as u64,
        );
        let mut records = Vec::with_capacity(batch.messages.len());
        let mut last: HashMap<TopicPartition, i64> = HashMap::new();
        // Consecutive messages mostly share a partition: check it once per run.
        let mut current: Option<(Arc<str>, i32, bool)> = None;
        let mut run_end: Option<(TopicPartition, i64)> = None;
        for m in batch.messages {
            let same = matches!(&current, Some((t, p, _)) if Arc::ptr_eq(t, &m.topic) && *p == m.partition);
            if !same {
                if let Some((tp, o)) = run_end.take() {
                    last.insert(tp, o);
                }
                let tp = TopicPartition {
                    topic: m.topic.to_string(),
                    partition: m.partition,
                };
                let owned = self.assigned.contains(&tp);
                current = Some((m.topic.clone(), m.partition, owned));
                if owned {
                    run_end = Some((tp, m.offset + 1));
                }
            }
            if !current.as_ref().is_some_and(|c| c.2) {
                continue;
            }
            if let Some((_, o)) = run_end.as_mut() {
                *o = m.offset + 1;
            }
            let origin = KafkaOrigin {
                topic: m.topic,
                partition: m.partition,
                offset: m.offset,
            };
            let raw = RawMessage {
                key: m.key,
                value: m.value,
                headers: m.headers,
                timestamp: m.timestamp,
            };
            match self
                .convert_with_retry(origin, raw, m.timestamp_type, control)
                .await
            {
                Outcome::Ok(r) => records.push(r),
                Outcome::Dropped => {}
                Outcome::DeadLetter(out) => {
                    if let Err(e) = self.dlq.write(out).await {
                        self.failure = Some(e.to_string());
                        return;
                    }
                }
                Outcome::Retry(r) => {
                    last.clear();
                    run_end = None;
                    self.failure = Some(r.error.message);
                    break;
                }
                Outcome::Fail(trace) => {
                    // Records before this one are still put and committed.
                    last.clear();
                    run_end = None;
                    self.failure = Some(trace);
                    break;
                }
            }
        }
        if let Some((tp, o)) = run_end.take() {
            last.insert(tp, o);
        }
        if !records.is_empty() {
            let started = Instant::now();
            let n = records.len();
            if let Err(e) = self.put_with_retry(&records, control).await {
                if self.failure.is_none() {
                    self.failure = Some(e);
                }
                return;
            }
            self.s.metrics.batch(n, started.elapsed());
            TaskMetrics::add(&self.s.metrics.sink_record_send, n as u64);
            if self.failure.is_some() {
                // The failing record's predecessors were put: they may be committed.
                for r in &records {
                    let tp = TopicPartition {
                        topic: r.origin.topic.to_string(),
                        partition: r.origin.partition,
                    };
                    last.insert(tp, r.origin.offset + 1);
                }
            }
        }
        self.put_offsets.extend(last);
    }

    /// Converts one record, converting it again after a retriable error (a Schema
    /// Registry that cannot be reached) for up to `errors.retry.timeout`; then the task
    /// fails with the error in its trace. Such a record is never skipped or sent to the
    /// dead letter queue, whatever `errors.tolerance` says: it is not the record's fault.
    async fn convert_with_retry(
        &mut self,
        origin: KafkaOrigin,
        raw: RawMessage,
        ts_type: TimestampType,
        control: &mut watch::Receiver<TaskTarget>,
    ) -> Outcome<SinkRecord> {
        let mut budget: Option<RetryBudget> = None;
        let (mut origin, mut raw) = (origin, raw);
        loop {
            let mut r = match self.s.pipeline.sink_record(origin, raw, ts_type) {
                Outcome::Retry(r) => r,
                other => {
                    if budget.is_some() {
                        self.s.detail.clear();
                    }
                    return other;
                }
            };
            let b = budget.get_or_insert_with(|| {
                RetryBudget::new(&self.s.pipeline.policy, Duration::from_millis(200))
            });
            let (delay, again) = match (b.next_delay(), r.again.take()) {
                (Some(d), Some(RetryInput::Sink(o, raw, _))) => (d, (o, raw)),
                _ => {
                    let trace = r.trace(&self.s.id.connector, self.s.id.task, &b.describe());
                    return Outcome::Fail(trace);
                }
            };
            TaskMetrics::add(&self.s.metrics.retries, 1);
            let why = format!(
                "conversion failed, retrying in {:?} ({}): {}",
                delay,
                b.describe(),
                r.error.message
            );
            tracing::warn!(task = %self.s.id, "{}", why);
            self.s.detail.set(why);
            if wait_or_stop(control, delay).await {
                return Outcome::Fail(format!(
                    "task {} stopped while retrying a conversion: {}",
                    self.s.id, r.error.message
                ));
            }
            let (o, raw_arc) = again;
            origin = o;
            raw = Arc::try_unwrap(raw_arc).unwrap_or_else(|a| (*a).clone());
        }
    }

    /// Puts a batch, retrying retriable errors for up to `errors.retry.timeout` (see
    /// `task::retry`); the consumer is paused meanwhile and nothing is committed.
    async fn put_with_retry(
        &mut self,
        records: &[SinkRecord],
        control: &mut watch::Receiver<TaskTarget>,
    ) -> Result<(), String> {
        let mut budget = RetryBudget::new(&self.s.pipeline.policy, Duration::from_millis(200));
        loop {
            match self.task.put(records).await {
                Ok(()) => {
                    if self
                        .s
                        .detail
                        .get()
                        .is_some_and(|d| d.starts_with("put failed"))
                    {
                        self.s.detail.clear();
                    }
                    return Ok(());
                }
                Err(e) if e.is_retriable() => {
                    let Some(delay) = budget.next_delay() else {
                        return Err(format!(
                            "task {} failed in put ({}; nothing of the batch is committed): {}",
                            self.s.id,
                            budget.describe(),
                            e
                        ));
                    };
                    TaskMetrics::add(&self.s.metrics.retries, 1);
                    self.s.detail.set(format!(
                        "put failed, retrying in {:?} ({}): {}",
                        delay,
                        budget.describe(),
                        e
                    ));
                    tracing::warn!(task = %self.s.id, "put failed, retrying in {:?} ({}): {}", delay, budget.describe(), e);
                    if wait_or_stop(control, delay).await {
                        return Err(format!(
                            "task {} stopped while retrying a put: {}",
                            self.s.id, e
                        ));
                    }
                }
                Err(e) => return Err(format!("task {} failed in put: {}", self.s.id, e)),
            }
        }
    }

    /// Flushes, retrying retriable errors up to `attempts` times.
    async fn flush_with_retry(&mut self, attempts: u32) -> Result<(), ()> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        for i in 0..attempts {
            match self.task.flush().await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_retriable() && i + 1 < attempts => {
                    TaskMetrics::add(&self.s.metrics.retries, 1);
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(e) if e.is_retriable() => {
                    self.s
                        .detail
                        .set(format!("flush failed, will retry: {}", e));
                    tracing::warn!(task = %self.s.id, "flush failed (will retry at the next commit): {}", e);
                    return Err(());
                }
                Err(e) => {
                    self.failure = Some(format!("task {} failed in flush: {}", self.s.id, e));
                    return Err(());
                }
            }
        }
        Err(())
    }

    /// Flushes the task, then commits the offsets of what it flushed.
    async fn flush_and_commit(&mut self, final_commit: bool) {
        let to_commit: Vec<(TopicPartition, i64)> = self
            .put_offsets
            .iter()
            .filter(|(p, o)| self.assigned.contains(*p) && self.committed.get(*p) != Some(*o))
            .map(|(p, o)| (p.clone(), *o))
            .collect();
        if to_commit.is_empty() && !final_commit {
            return;
        }
        if self
            .flush_with_retry(if final_commit { 3 } else { 1 })
            .await
            .is_err()
        {
            return;
        }
        if to_commit.is_empty() {
            return;
        }
        let started = Instant::now();
        let Some(c) = &self.consumer else { return };
        let result = match tokio::time::timeout(self.s.commit_timeout, c.commit(to_commit.clone())).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "it did not complete within offset.flush.timeout.ms ({} ms); is the Kafka group coordinator reachable?",
                self.s.commit_timeout.as_millis()
            )),
        };
        match result {
            Ok(()) => {
                self.s.metrics.commit(true, started.elapsed());
                for (p, o) in to_commit {
                    self.committed.insert(p, o);
                }
                if self
                    .s
                    .detail
                    .get()
                    .is_some_and(|d| d.starts_with("offset commit"))
                {
                    self.s.detail.clear();
                }
            }
            Err(e) => {
                self.s.metrics.commit(false, started.elapsed());
                tracing::warn!(task = %self.s.id, "offset commit failed (will retry at the next flush): {}", e);
                self.s.detail.set(format!(
                    "offset commit failed, will retry at the next flush: {}",
                    e
                ));
            }
        }
    }

    async fn shutdown(&mut self) -> Result<(), String> {
        let failed = self.failure.is_some();
        // Commit what was written, even when failing: those records are durable.
        self.flush_and_commit(true).await;
        let partitions: Vec<TopicPartition> = self.assigned.iter().cloned().collect();
        let _ = self.task.close(&partitions).await;
        self.task.stop().await;
        if let Some(c) = self.consumer.take() {
            c.shutdown().await;
        }
        match self.failure.take() {
            Some(f) => {
                let _ = failed;
                tracing::error!(task = %self.s.id, "task failed: {}", f);
                Err(f)
            }
            None => {
                tracing::info!(task = %self.s.id, "sink task stopped");
                Ok(())
            }
        }
    }
}
