//! The source task loop.
//!
//! Delivery rules (what is acknowledged when, and why):
//! 1. `poll` returns a batch; each record is transformed, converted and handed to the
//!    producer (idempotent, acks=all) without waiting for earlier deliveries, so many
//!    records are in flight at once.
//! 2. Each record holds a slot in [`InOrderAcks`]. Kafka's delivery reports complete
//!    slots in any order; only the prefix of completed slots is released.
//! 3. Released records' source offsets become eligible for storage, and a batch's ack
//!    token is handed to the task's [`Acknowledger`] once the batch's last slot is
//!    released. So a queue message is acknowledged upstream only after Kafka has it,
//!    and never ahead of an earlier message that Kafka does not have yet.
//! 4. Offsets are written every `offset.flush.interval.ms` and at shutdown. A crash
//!    loses at most one interval of offsets, i.e. duplicates after restart are bounded
//!    by what was delivered in that interval; nothing undelivered is ever marked done.
//!    A write runs beside the loop (polling and sending go on meanwhile, as in Kafka
//!    Connect), one at a time, so the store sees the offsets in order.
//! 5. If a record is rejected by Kafka (after the producer's own retries) or fails with
//!    `errors.tolerance=none`, the task fails: nothing at or after that record is
//!    released, so the upstream system keeps it. The records before it are still
//!    released as Kafka acknowledges them (within the shutdown timeout), so a restart
//!    resumes at the failed record rather than before it.
//! 6. A retriable converter error (a Schema Registry that cannot be reached) is not the
//!    record's fault: the record is converted again for up to `errors.retry.timeout`
//!    while nothing after it is sent, then the task fails as in 5. It is never skipped.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use tokio::sync::watch;

use super::in_order::{InOrderAcks, SlotInfo};
use super::pipeline::{OutRecord, Outcome, RecordPipeline, RetryInput, RetryRecord};
use super::producer::SourceProducer;
use super::retry::RetryBudget;
use super::start::{ensure_dlq_with_retry, start_with_retry, wait_or_stop};
use super::{TaskFailure, TaskId, TaskMetrics, TaskTarget};
use crate::config::ParsedConfig;
use crate::connector::{
    AckToken, Acknowledger, BacklogGauge, ConnectError, OffsetReader, Polled, SourceBatch,
    SourceTask, SourceTaskContext, Started, StatusDetail,
};
use crate::data::{SourceOffset, SourcePartition};
use crate::kafka::TopicSpec;
use crate::offsets::OffsetStore;
use crate::status::{SharedStatus, State};

/// Everything a source task loop needs besides the task itself.
pub struct SourceTaskSettings {
    pub id: TaskId,
    /// The task's config, resolved and parsed with the plugin's keys.
    pub task_config: ParsedConfig,
    pub pipeline: RecordPipeline,
    pub producer_config: ClientConfig,
    pub admin_config: ClientConfig,
    pub offsets: Arc<dyn OffsetStore>,
    pub flush_interval: Duration,
    /// How long storing offsets may take (`offset.flush.timeout.ms`) before it counts
    /// as failed and is retried at the next flush.
    pub flush_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub status: SharedStatus,
    pub detail: StatusDetail,
    pub metrics: Arc<TaskMetrics>,
    /// Stop polling while this many records are in flight.
    pub max_in_flight: usize,
    /// Topics the connector has written to.
    pub topics: super::ActiveTopics,
    /// Exactly-once: each batch is one transaction, with its offsets.
    pub transactional: Option<Transactional>,
    /// Creates missing topics before their first record (`topic.creation.*`).
    pub topic_creator: Option<super::topic_creation::TopicCreator>,
}

/// Exactly-once settings of a source task (Connect's KIP-618 model).
#[derive(Debug, Clone)]
pub struct Transactional {
    /// Where the batch's offsets are written, inside the transaction.
    pub offsets_topic: String,
}

type PollFuture = Pin<
    Box<
        dyn Future<
                Output = (
                    Box<dyn SourceTask>,
                    Result<SourceBatch, ConnectError>,
                    Duration,
                ),
            > + Send,
    >,
>;

/// A write of offsets to the store, running beside the loop: its outcome, the offsets
/// it carried (put back as pending if it failed) and when it started.
type FlushFuture = Pin<Box<dyn Future<Output = FlushOutcome> + Send>>;
type PendingOffsets = Vec<(String, (Arc<SourcePartition>, SourceOffset))>;
type FlushOutcome = (Result<(), String>, PendingOffsets, Instant);

struct Loop {
    s: SourceTaskSettings,
    acks: InOrderAcks,
    producer: SourceProducer,
    acknowledger: Option<Arc<dyn Acknowledger>>,
    pending_offsets: HashMap<String, (Arc<SourcePartition>, SourceOffset)>,
    flushed_since_commit: bool,
    failure: Option<String>,
    last_topic: Option<Arc<str>>,
    /// The task's target, for waits inside a batch (a conversion retried).
    control: watch::Receiver<TaskTarget>,
}

/// Runs a source task until told to stop or until it fails. Returns the failure trace.
pub async fn run_source_task(
    create: fn(ParsedConfig, SourceTaskContext) -> Started<dyn SourceTask>,
    s: SourceTaskSettings,
    mut control: watch::Receiver<TaskTarget>,
) -> Result<(), TaskFailure> {
    // Room for every record in flight plus one more batch.
    let acks = InOrderAcks::new(s.max_in_flight + 65_536);
    let producer = SourceProducer::new(
        &s.producer_config,
        acks.ring(),
        s.pipeline.policy.tolerates_all(),
        s.id.to_string(),
        s.metrics.clone(),
        s.detail.clone(),
    )
    .map_err(|e| format!("cannot create the Kafka producer: {}", e))?;
    if s.transactional.is_some() {
        producer.init_transactions().await.map_err(|e| {
            format!(
                "cannot start exactly-once delivery (init_transactions): {}",
                e
            )
        })?;
        // Fenced now: no earlier incarnation can commit any more. Offsets it committed
        // before are in the topic; read them before the task asks for its position.
        s.offsets
            .refresh()
            .await
            .map_err(|e| format!("cannot read the offsets topic after fencing: {}", e))?;
        tracing::info!(task = %s.id, "exactly-once: each batch is a Kafka transaction with its offsets");
    }
    if let Some(topic) = s.pipeline.policy.dlq_topic.clone() {
        let spec = TopicSpec {
            name: topic,
            partitions: 1,
            replication: s.pipeline.policy.dlq_replication,
            compacted: false,
        };
        let (id, detail, delay) = (&s.id, &s.detail, s.pipeline.policy.retry_delay_max);
        if !ensure_dlq_with_retry(id, detail, &mut control, delay, &s.admin_config, spec).await? {
            return Ok(()); // stopped meanwhile
        }
    }

    let ctx = SourceTaskContext {
        connector: s.id.connector.clone(),
        task: s.id.task,
        offsets: OffsetReader::new(s.id.connector.clone(), s.offsets.clone()),
        status: s.detail.clone(),
        exactly_once: s.transactional.is_some(),
        backlog: BacklogGauge::new(s.metrics.clone()),
    };
    let started = start_with_retry(
        &s.id,
        &s.detail,
        &mut control,
        s.pipeline.policy.retry_delay_max,
        || create(s.task_config.clone(), ctx.clone()),
    )
    .await?;
    let Some(task) = started else {
        return Ok(());
    };
    tracing::info!(task = %s.id, "source task started");

    let mut l = Loop {
        acknowledger: task.acknowledger(),
        s,
        acks,
        producer,
        pending_offsets: HashMap::new(),
        flushed_since_commit: false,
        failure: None,
        last_topic: None,
        control: control.clone(),
    };
    l.run(task, control).await
}

impl Loop {
    async fn run(
        &mut self,
        task: Box<dyn SourceTask>,
        mut control: watch::Receiver<TaskTarget>,
    ) -> Result<(), TaskFailure> {
        let mut task_slot = Some(task);
        let mut poll_fut: Option<PollFuture> = None;
        let mut flush_tick = tokio::time::interval_at(
            tokio::time::Instant::now() + self.s.flush_interval,
            self.s.flush_interval,
        );
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // errors.retry.timeout bounds how long a failing poll is retried.
        let mut poll_budget = RetryBudget::new(&self.s.pipeline.policy, Duration::from_millis(200));
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut flushing: Option<FlushFuture> = None;

        loop {
            let target = *control.borrow();
            if target == TaskTarget::Stopped {
                break;
            }
            self.release().await;
            if self.failure.is_some() {
                break;
            }
            let can_poll = target == TaskTarget::Running
                && self.acks.in_flight() < self.s.max_in_flight
                && retry_at.is_none_or(|t| t <= tokio::time::Instant::now());
            if poll_fut.is_none() && can_poll {
                let mut t = task_slot.take().expect("task is here when no poll runs");
                poll_fut = Some(Box::pin(async move {
                    let started = Instant::now();
                    let r = t.poll().await;
                    (t, r, started.elapsed())
                }));
            }
            let state = if target == TaskTarget::Paused && poll_fut.is_none() {
                State::Paused
            } else {
                State::Running
            };
            if self.s.status.get().state != state {
                self.s.status.set_state(state);
                tracing::info!(task = %self.s.id, "task is {}", state.name());
            }

            tokio::select! {
                biased;
                r = control.changed() => {
                    if r.is_err() {
                        break;
                    }
                }
                _ = self.acks.changed() => {}
                (t, result, elapsed) = async { poll_fut.as_mut().unwrap().await }, if poll_fut.is_some() => {
                    poll_fut = None;
                    let mut t = t;
                    match result {
                        Ok(batch) => {
                            poll_budget.reset();
                            retry_at = None;
                            if self.s.detail.get().is_some_and(|d| d.starts_with("poll failed")) {
                                self.s.detail.clear();
                            }
                            self.s.metrics.batch(batch.len(), elapsed);
                            // Let what the poll woke run first: a task the connector
                            // spawned or woke (a prefetch, a client's connection task)
                            // waits in this thread's LIFO slot, where no other thread
                            // may take it, until this task yields; processing a whole
                            // batch does not yield.
                            tokio::task::yield_now().await;
                            self.process(batch).await;
                        }
                        Err(e) if e.is_retriable() => match poll_budget.next_delay() {
                            Some(delay) => {
                                TaskMetrics::add(&self.s.metrics.retries, 1);
                                let why = format!("retrying in {:?} ({}): {}", delay, poll_budget.describe(), e);
                                self.s.detail.set(format!("poll failed, {}", why));
                                tracing::warn!(task = %self.s.id, "poll failed, {}", why);
                                retry_at = Some(tokio::time::Instant::now() + delay);
                            }
                            None => {
                                self.failure = Some(format!(
                                    "task {} failed in poll ({}): {}",
                                    self.s.id,
                                    poll_budget.describe(),
                                    e
                                ));
                            }
                        },
                        Err(e) => {
                            self.failure = Some(format!("task {} failed in poll: {}", self.s.id, e));
                        }
                    }
                    if self.flushed_since_commit && self.failure.is_none() {
                        self.flushed_since_commit = false;
                        if let Err(e) = t.commit().await {
                            tracing::warn!(task = %self.s.id, "task commit failed: {}", e);
                        }
                    }
                    task_slot = Some(t);
                }
                // A tick while a write is still running is skipped: the next one
                // writes what was released meanwhile.
                _ = flush_tick.tick(), if flushing.is_none() => {
                    flushing = self.start_flush();
                }
                outcome = async { flushing.as_mut().unwrap().await }, if flushing.is_some() => {
                    flushing = None;
                    self.finish_flush(outcome);
                }
                _ = async { tokio::time::sleep_until(retry_at.unwrap()).await }, if retry_at.is_some() && poll_fut.is_none() => {
                    retry_at = None;
                }
            }
        }

        self.shutdown(task_slot, poll_fut, flushing).await
    }

    /// Graceful stop: let a running poll finish (within the shutdown timeout) and send
    /// its records, wait for deliveries, release, store offsets, stop the task.
    async fn shutdown(
        &mut self,
        mut task_slot: Option<Box<dyn SourceTask>>,
        poll_fut: Option<PollFuture>,
        flushing: Option<FlushFuture>,
    ) -> Result<(), TaskFailure> {
        let deadline = tokio::time::Instant::now() + self.s.shutdown_timeout;
        // A write still running ends first (within offset.flush.timeout.ms): the last
        // one below must not be overtaken by an older one.
        if let Some(f) = flushing {
            self.finish_flush(f.await);
        }
        if let Some(f) = poll_fut {
            match tokio::time::timeout_at(deadline, f).await {
                Ok((t, result, _)) => {
                    task_slot = Some(t);
                    if let (Ok(batch), None) = (result, &self.failure) {
                        self.process(batch).await;
                    }
                }
                Err(_) => {
                    tracing::warn!(task = %self.s.id, "poll did not return within task.shutdown.graceful.timeout.ms; abandoning it");
                }
            }
        }
        // After a failed record too, the records before it that Kafka acknowledges are
        // released (their offsets stored, their queue messages acknowledged): only what
        // is at or after the failure stays upstream. Not with transactions: the failed
        // batch's transaction is aborted, its records are never acknowledged.
        let wait = self.failure.is_none() || self.s.transactional.is_none();
        while wait && self.acks.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            self.release().await;
            if self.acks.in_flight() == 0 {
                break;
            }
            let _ = tokio::time::timeout_at(deadline, self.acks.changed()).await;
        }
        self.release().await;
        if self.acks.in_flight() > 0 {
            tracing::warn!(task = %self.s.id, in_flight = self.acks.in_flight(), "stopping with records not yet acknowledged by Kafka; they stay unacknowledged upstream");
        }
        self.flush_offsets().await;
        if let Some(mut t) = task_slot {
            if self.failure.is_none() && self.flushed_since_commit {
                let _ = t.commit().await;
            }
            t.stop().await;
        }
        TaskMetrics::set(
            &self.s.metrics.source_record_active,
            self.acks.in_flight() as u64,
        );
        if let Some(fenced) = self.fenced() {
            tracing::error!(task = %self.s.id, "{}", fenced);
            return Err(TaskFailure::permanent(fenced));
        }
        match self.failure.take() {
            Some(f) => {
                tracing::error!(task = %self.s.id, "task failed: {}", f);
                Err(f.into())
            }
            None => {
                tracing::info!(task = %self.s.id, "source task stopped");
                Ok(())
            }
        }
    }

    /// Sends a polled batch's records; the batch token rides on a final empty slot.
    async fn process(&mut self, batch: SourceBatch) {
        let SourceBatch { items, ack } = batch;
        TaskMetrics::add(&self.s.metrics.source_record_poll, items.len() as u64);
        // A transaction per batch; an empty batch without a token needs none.
        let transactional = self
            .s
            .transactional
            .clone()
            .filter(|_| !items.is_empty() || ack.is_some());
        if transactional.is_some() {
            if let Err(e) = self.producer.begin_transaction().await {
                self.failure = Some(format!(
                    "task {}: cannot begin a transaction: {}",
                    self.s.id, e
                ));
                return;
            }
        }
        // The latest offset per source partition in this batch (for the transaction).
        let mut batch_offsets: HashMap<String, (Arc<SourcePartition>, SourceOffset)> =
            HashMap::new();
        for (i, item) in items.into_iter().enumerate() {
            // A huge batch may outgrow the ack ring: wait for deliveries to make room.
            while self.acks.room() < 2 {
                self.release().await;
                if self.acks.room() < 2 {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(10), self.acks.changed()).await;
                }
                if self.failure.is_some() {
                    return;
                }
            }
            let (info, outcome) = match item {
                Polled::Record(mut rec) => {
                    let offset = rec.source_offset.take();
                    let partition = rec.source_partition.clone();
                    // The position text is only built if the record fails.
                    let outcome = self.s.pipeline.source_record(rec, || {
                        describe_position(partition.as_deref(), offset.as_ref(), i)
                    });
                    let info = SlotInfo {
                        offset: partition.zip(offset),
                        ack: None,
                    };
                    if transactional.is_some() {
                        if let Some((p, o)) = &info.offset {
                            let key = serde_json::to_string(&**p).unwrap_or_default();
                            batch_offsets.insert(key, (p.clone(), o.clone()));
                        }
                    }
                    (info, outcome)
                }
                Polled::Failed(f) => (SlotInfo::default(), self.s.pipeline.failed_source_record(f)),
            };
            // A retriable converter error: the record is converted again (never skipped),
            // and the rest of the batch waits for it.
            let outcome = match outcome {
                Outcome::Retry(r) => {
                    let (p, o) = match &info.offset {
                        Some((p, o)) => (Some(&**p), Some(o)),
                        None => (None, None),
                    };
                    let position = describe_position(p, o, i);
                    match self.convert_again(r, position).await {
                        Some(o) => o,
                        None => {
                            // Stopped meanwhile: nothing from this record on is sent or
                            // acknowledged upstream.
                            if transactional.is_some() {
                                let _ = self.producer.abort_transaction().await;
                            }
                            return;
                        }
                    }
                }
                o => o,
            };
            match outcome {
                Outcome::Ok(out) | Outcome::DeadLetter(out) => {
                    // Records of one stream share their topic's Arc; a connector
                    // that builds one per record still skips the lookups below.
                    if !self
                        .last_topic
                        .as_ref()
                        .is_some_and(|t| Arc::ptr_eq(t, &out.topic) || **t == *out.topic)
                    {
                        if let Some(creator) = self.s.topic_creator.as_mut() {
                            if let Err(e) = creator.ensure(&out.topic).await {
                                // Nothing of this record on is sent or acknowledged.
                                self.failure = Some(format!("task {}: {}", self.s.id, e));
                                if transactional.is_some() {
                                    let _ = self.producer.abort_transaction().await;
                                }
                                return;
                            }
                        }
                        self.s.topics.record(&out.topic);
                        self.last_topic = Some(out.topic.clone());
                    }
                    let seq = self.acks.push_pending(info);
                    self.producer.send(seq, &out).await;
                }
                Outcome::Dropped => self.acks.push_done(info),
                Outcome::Retry(r) => {
                    self.failure = Some(r.error.message);
                    if transactional.is_some() {
                        let _ = self.producer.abort_transaction().await;
                    }
                    return;
                }
                Outcome::Fail(trace) => {
                    self.failure = Some(trace);
                    if transactional.is_some() {
                        let _ = self.producer.abort_transaction().await;
                    }
                    return;
                }
            }
        }
        if let Some(tx) = &transactional {
            if !self.commit_transaction(tx, batch_offsets).await {
                return;
            }
        }
        if ack.is_some() {
            self.acks.push_done(SlotInfo { offset: None, ack });
        }
        TaskMetrics::set(
            &self.s.metrics.source_record_active,
            self.acks.in_flight() as u64,
        );
    }

    /// Converts a record again after a retriable converter error (a Schema Registry that
    /// cannot be reached) for up to `errors.retry.timeout`, then fails the task with the
    /// error in its trace. The record is never skipped or sent to the dead letter queue,
    /// whatever `errors.tolerance` says: it is not the record's fault. `None` when the
    /// task was stopped meanwhile.
    async fn convert_again(
        &mut self,
        first: Box<RetryRecord>,
        position: String,
    ) -> Option<Outcome<OutRecord>> {
        let mut budget = RetryBudget::new(&self.s.pipeline.policy, Duration::from_millis(200));
        let mut r = first;
        loop {
            let (delay, record) = match (budget.next_delay(), r.again.take()) {
                (Some(d), Some(RetryInput::Source(record))) => (d, record),
                _ => {
                    let trace = r.trace(&self.s.id.connector, self.s.id.task, &budget.describe());
                    return Some(Outcome::Fail(trace));
                }
            };
            TaskMetrics::add(&self.s.metrics.retries, 1);
            let why = format!(
                "conversion failed, retrying in {:?} ({}): {}",
                delay,
                budget.describe(),
                r.error.message
            );
            tracing::warn!(task = %self.s.id, "{}", why);
            self.s.detail.set(why);
            if wait_or_stop(&mut self.control, delay).await {
                return None;
            }
            // Records before this one that Kafka has acknowledged meanwhile go upstream.
            self.release().await;
            match self.s.pipeline.convert_source(record, || position.clone()) {
                Outcome::Retry(next) => r = next,
                other => {
                    self.s.detail.clear();
                    return Some(other);
                }
            }
        }
    }

    /// Writes the batch's offsets into the open transaction and commits it. Returns
    /// false (and fails the task) if the commit failed: then nothing of the batch is
    /// visible to read_committed consumers and nothing is acknowledged upstream.
    async fn commit_transaction(
        &mut self,
        tx: &Transactional,
        offsets: HashMap<String, (Arc<SourcePartition>, SourceOffset)>,
    ) -> bool {
        let mut entries = Vec::with_capacity(offsets.len());
        for (_, (p, o)) in offsets {
            let key = crate::offsets::offset_key(&self.s.id.connector, &p);
            let value = serde_json::to_vec(&o).expect("JSON maps always serialize");
            if let Err(e) = self
                .producer
                .send_untracked(&tx.offsets_topic, &key, Some(&value))
                .await
            {
                let _ = self.producer.abort_transaction().await;
                self.failure = Some(format!("task {}: {}", self.s.id, e));
                return false;
            }
            entries.push(((*p).clone(), Some(o)));
        }
        if fault_armed("SLUICE_FAULT_EXIT_BEFORE_COMMIT", &BEFORE_COMMIT) {
            // The batch's records are on the broker, its transaction still open.
            self.producer.flush(Duration::from_secs(30));
            fault_exit("SLUICE_FAULT_EXIT_BEFORE_COMMIT");
        }
        let started = Instant::now();
        match self.producer.commit_transaction().await {
            Ok(()) => {
                self.s.metrics.commit(true, started.elapsed());
                self.s.offsets.remember(&self.s.id.connector, entries).await;
                if fault_armed("SLUICE_FAULT_EXIT_AFTER_COMMITS", &AFTER_COMMIT) {
                    fault_exit("SLUICE_FAULT_EXIT_AFTER_COMMITS");
                }
                true
            }
            Err(e) => {
                self.s.metrics.commit(false, started.elapsed());
                let _ = self.producer.abort_transaction().await;
                self.failure = Some(format!("task {}: the transaction failed and was aborted (nothing of the batch was acknowledged): {}", self.s.id, e));
                false
            }
        }
    }

    /// Releases delivered records: their offsets become pending, their batches are
    /// acknowledged upstream.
    async fn release(&mut self) {
        let r = self.acks.release();
        if r.count == 0 && r.failure.is_none() {
            return;
        }
        if self.s.transactional.is_none() {
            // (Exactly-once batches wrote their offsets in their transactions.)
            self.pending_offsets.extend(r.offsets);
        }
        if let Some(a) = &self.acknowledger {
            for token in tokens_to_hand(r.acks, a.cumulative()) {
                if let Err(e) = a.ack(token).await {
                    // The upstream system keeps unacknowledged messages and redelivers them.
                    tracing::warn!(task = %self.s.id, "could not acknowledge a batch upstream (it will be redelivered): {}", e);
                }
            }
        }
        if let Some(f) = r.failure {
            if self.failure.is_none() {
                self.failure = Some(format!("task {} failed: {}", self.s.id, f));
            }
        }
        TaskMetrics::set(
            &self.s.metrics.source_record_active,
            self.acks.in_flight() as u64,
        );
    }

    /// With exactly-once, whether a newer producer with this task's `transactional.id`
    /// fenced this one (another worker runs the task now, or this one is a zombie).
    /// Restarting would fence the newer one in turn, so the failure is permanent.
    fn fenced(&self) -> Option<String> {
        self.s.transactional.as_ref()?;
        let (code, reason) = self.producer.fatal_error()?;
        use rdkafka::types::RDKafkaErrorCode as C;
        if !matches!(
            code,
            C::Fenced | C::ProducerFenced | C::InvalidProducerEpoch | C::InvalidProducerIdMapping
        ) {
            return Some(format!(
                "task {}: the transactional producer failed for good ({:?}): {}",
                self.s.id, code, reason
            ));
        }
        Some(format!(
            "task {} was fenced: another producer took over its transactional.id (another worker started this task with the same group.id, or this worker was presumed dead); this instance stopped and is not restarted, so the newer one keeps the task. Nothing of the open transaction is visible to read_committed consumers. ({})",
            self.s.id, reason
        ))
    }

    /// Writes released offsets to the offset store, and waits for it.
    async fn flush_offsets(&mut self) {
        if let Some(f) = self.start_flush() {
            self.finish_flush(f.await);
        }
    }

    /// Starts writing the released offsets to the offset store; None when there are
    /// none. The future owns what it writes, so the loop goes on meanwhile.
    fn start_flush(&mut self) -> Option<FlushFuture> {
        if self.pending_offsets.is_empty() {
            return None;
        }
        let batch: PendingOffsets = self.pending_offsets.drain().collect();
        let store = self.s.offsets.clone();
        let connector = self.s.id.connector.clone();
        let timeout = self.s.flush_timeout;
        Some(Box::pin(async move {
            let entries = batch
                .iter()
                .map(|(_, (p, o))| ((**p).clone(), Some(o.clone())))
                .collect();
            let started = Instant::now();
            let stored = match tokio::time::timeout(timeout, store.put(&connector, entries)).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "storing them did not complete within offset.flush.timeout.ms ({} ms)",
                    timeout.as_millis()
                )),
            };
            (stored, batch, started)
        }))
    }

    /// Records how a write of offsets ended; a failed one's offsets are pending again
    /// (behind any newer offset of the same source partition) for the next flush.
    fn finish_flush(&mut self, (stored, batch, started): FlushOutcome) {
        match stored {
            Ok(()) => {
                self.s.metrics.commit(true, started.elapsed());
                self.flushed_since_commit = true;
                if self
                    .s
                    .detail
                    .get()
                    .is_some_and(|d| d.starts_with("could not store offsets"))
                {
                    self.s.detail.clear();
                }
            }
            Err(e) => {
                self.s.metrics.commit(false, started.elapsed());
                tracing::warn!(task = %self.s.id, "could not store offsets (will retry at the next flush): {}", e);
                self.s.detail.set(format!(
                    "could not store offsets, will retry at the next flush: {}",
                    e
                ));
                for (k, v) in batch {
                    self.pending_offsets.entry(k).or_insert(v);
                }
            }
        }
    }
}

fn describe_position(
    partition: Option<&SourcePartition>,
    offset: Option<&SourceOffset>,
    index: usize,
) -> String {
    match (partition, offset) {
        (Some(p), Some(o)) => format!(
            "source partition {} offset {}",
            serde_json::Value::Object(p.clone()),
            serde_json::Value::Object(o.clone())
        ),
        (Some(p), None) => format!(
            "source partition {} (record {} of the batch)",
            serde_json::Value::Object(p.clone()),
            index
        ),
        _ => format!("record {} of the batch", index),
    }
}

static AFTER_COMMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static BEFORE_COMMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Test hooks for the crashes exactly-once delivery has to survive: with
/// `SLUICE_FAULT_EXIT_AFTER_COMMITS=<n>` the process exits right after its n-th
/// transaction commit, before the batch is acknowledged upstream; with
/// `SLUICE_FAULT_EXIT_BEFORE_COMMIT=<n>` it exits in its n-th transaction after the
/// records reached the broker, before the commit. Never set them in production.
fn fault_armed(var: &str, count: &std::sync::atomic::AtomicU64) -> bool {
    use std::sync::atomic::Ordering;
    match std::env::var(var).ok().and_then(|v| v.parse::<u64>().ok()) {
        Some(n) => count.fetch_add(1, Ordering::SeqCst) + 1 == n,
        None => false,
    }
}

fn fault_exit(var: &str) -> ! {
    eprintln!("{} reached: exiting", var);
    std::process::exit(137);
}

/// The released tokens to hand to the acknowledger, in poll order: all of them, or only
/// the last when one acknowledgement covers the earlier ones too.
fn tokens_to_hand(mut tokens: Vec<AckToken>, cumulative: bool) -> Vec<AckToken> {
    if cumulative && tokens.len() > 1 {
        tokens.drain(..tokens.len() - 1);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cumulative_acknowledger_gets_only_the_last_released_token() {
        let released = vec![AckToken(3), AckToken(9), AckToken(12)];
        assert_eq!(tokens_to_hand(released.clone(), false), released);
        assert_eq!(tokens_to_hand(released, true), vec![AckToken(12)]);
        assert_eq!(tokens_to_hand(vec![AckToken(4)], true), vec![AckToken(4)]);
        assert!(tokens_to_hand(Vec::new(), true).is_empty());
    }
}
