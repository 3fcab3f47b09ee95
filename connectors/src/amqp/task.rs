//! The AMQP source task: consume, build records, batch, reconnect.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use lapin::message::Delivery;
use sluice_record_builders::RecordBuilder;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{
    Acknowledger, BacklogGauge, ConnectError, FailedSourceRecord, Polled, SourceBatch, SourceTask,
    SourceTaskContext, StartSourceTask, StatusDetail,
};
use sluice_runtime::data::{SourcePartition, SourceRecord};
use sluice_runtime::task::Backoff;
use tokio::time::Instant;

use super::acknowledger::{token, AmqpAcknowledger, LiveChannel};
use super::committed_ids::{self, CommittedIds};
use super::config::AmqpSourceConfig;
use super::mapping;
use super::session::Session;

/// Reads one RabbitMQ queue into one Kafka topic (see the module doc of `amqp`).
pub struct AmqpSourceTask {
    cfg: AmqpSourceConfig,
    builder: Box<dyn RecordBuilder>,
    /// Does the builder read properties and headers (key or header copy)?
    with_metadata: bool,
    partition: Arc<SourcePartition>,
    consumer_tag: String,
    live: Arc<LiveChannel>,
    session: Option<Session>,
    generation: u64,
    backoff: Backoff,
    next_attempt: Option<Instant>,
    attempts: u32,
    status: StatusDetail,
    /// With exactly-once delivery: the ids of the latest committed messages, to skip
    /// their redeliveries (see `committed_ids`).
    committed: Option<CommittedIds>,
    /// Redelivered messages skipped in the current poll.
    skipped: usize,
    /// Where the queue's backlog is reported.
    backlog: BacklogGauge,
    /// Ids of the current poll's messages; they join `committed` when the poll
    /// returns its batch (a batch dropped on a lost connection must not add them).
    batch_ids: Vec<String>,
}

impl StartSourceTask for AmqpSourceTask {
    async fn start(config: ParsedConfig, ctx: SourceTaskContext) -> Result<Self, ConnectError> {
        let cfg = AmqpSourceConfig::from_parsed(&config)?;
        let builder = sluice_record_builders::create(&cfg.builder)?;
        let partition = committed_ids::partition(&cfg.source_name(), ctx.task);
        let committed = if ctx.exactly_once {
            let tasks_max = config.raw().get("tasks.max").map(String::as_str);
            committed_ids::require_single_task(tasks_max, "RabbitMQ")?;
            Some(load_committed(&cfg, &partition, &ctx).await?)
        } else {
            None
        };
        let mut task = AmqpSourceTask {
            with_metadata: cfg.builder.key.is_some() || cfg.builder.copy_to_headers,
            builder,
            partition: Arc::new(partition),
            consumer_tag: format!("sluice-{}-{}", ctx.connector, ctx.task),
            live: Arc::new(LiveChannel::default()),
            session: None,
            generation: 0,
            backoff: Backoff::new(cfg.reconnect_min, cfg.reconnect_max),
            next_attempt: None,
            attempts: 0,
            status: ctx.status.clone(),
            backlog: ctx.backlog.clone(),
            committed,
            skipped: 0,
            batch_ids: Vec::new(),
            cfg,
        };
        // Connect now so that a wrong address or password shows at once; a failure is
        // not fatal: poll keeps retrying with backoff.
        task.connect().await;
        Ok(task)
    }
}

#[async_trait]
impl SourceTask for AmqpSourceTask {
    async fn poll(&mut self) -> Result<SourceBatch, ConnectError> {
        self.poll_batch().await
    }

    fn acknowledger(&self) -> Option<Arc<dyn Acknowledger>> {
        Some(Arc::new(AmqpAcknowledger {
            live: self.live.clone(),
        }))
    }

    async fn stop(&mut self) {
        self.live.clear();
        if let Some(s) = self.session.take() {
            s.close().await;
        }
    }
}

impl AmqpSourceTask {
    /// One connection attempt; on failure schedules the next one.
    async fn connect(&mut self) -> bool {
        self.generation += 1;
        let attempt = tokio::time::timeout(
            self.cfg.connection_timeout,
            Session::open(
                &self.cfg,
                &self.consumer_tag,
                self.generation,
                &self.backlog,
            ),
        )
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {:?}", self.cfg.connection_timeout)));
        match attempt {
            Ok(s) => {
                if self.attempts > 0 {
                    tracing::info!(server = %self.cfg.server(), queue = %self.cfg.queue, "reconnected to RabbitMQ");
                } else {
                    tracing::info!(server = %self.cfg.server(), queue = %self.cfg.queue, prefetch = self.cfg.prefetch, "consuming from RabbitMQ");
                }
                self.live.set(s.generation, s.channel.clone());
                self.session = Some(s);
                self.backoff.reset();
                self.attempts = 0;
                self.next_attempt = None;
                self.status.clear();
                true
            }
            Err(e) => {
                self.attempts += 1;
                let delay = self.backoff.next_delay();
                let msg = format!(
                    "cannot consume from RabbitMQ queue {} at {} (attempt {}), retrying in {:?}: {}",
                    self.cfg.queue,
                    self.cfg.server(),
                    self.attempts,
                    delay,
                    e
                );
                tracing::warn!("{}", msg);
                self.status.set(msg);
                self.next_attempt = Some(Instant::now() + delay);
                false
            }
        }
    }

    /// The connection or channel died: forget it (its unacknowledged messages return
    /// to the queue) and reconnect after the backoff delay.
    fn lost(&mut self, why: String) {
        self.live.clear();
        if let Some(s) = self.session.take() {
            tokio::spawn(s.close());
        }
        let delay = self.backoff.next_delay();
        let msg = format!(
            "lost the connection to RabbitMQ at {} ({}); reconnecting in {:?}",
            self.cfg.server(),
            why,
            delay
        );
        tracing::warn!("{}", msg);
        self.status.set(msg);
        self.next_attempt = Some(Instant::now() + delay);
    }

    async fn poll_batch(&mut self) -> Result<SourceBatch, ConnectError> {
        if self.session.is_none() {
            if !sluice_runtime::task::reconnect_due(self.next_attempt).await {
                return Ok(SourceBatch::new());
            }
            if !self.connect().await {
                return Ok(SourceBatch::new());
            }
        }
        let session = self.session.as_mut().expect("connected above");
        let generation = session.generation;
        let first =
            match tokio::time::timeout(self.cfg.max_poll_blocked, session.consumer.next()).await {
                Err(_) => return Ok(SourceBatch::new()),
                Ok(Some(Ok(d))) => d,
                Ok(Some(Err(e))) => {
                    self.lost(e.to_string());
                    return Ok(SourceBatch::new());
                }
                Ok(None) => {
                    self.lost("the server cancelled the consumer or closed the channel".into());
                    return Ok(SourceBatch::new());
                }
            };
        let mut batch = SourceBatch::with_capacity(self.cfg.batch_size.min(1024));
        let mut last_tag = first.delivery_tag;
        let mut taken = 1;
        self.skipped = 0;
        self.batch_ids.clear();
        self.push(first, &mut batch);
        while taken < self.cfg.batch_size {
            match self.session.as_mut().expect("connected").next_now() {
                None => break,
                Some(Some(Ok(d))) => {
                    last_tag = d.delivery_tag;
                    taken += 1;
                    self.push(d, &mut batch);
                }
                Some(Some(Err(e))) => {
                    // Drop the partial batch: its messages were never acknowledged
                    // and RabbitMQ delivers them again on the next connection.
                    self.lost(e.to_string());
                    return Ok(SourceBatch::new());
                }
                Some(None) => {
                    self.lost("the server cancelled the consumer or closed the channel".into());
                    return Ok(SourceBatch::new());
                }
            }
        }
        if let Some(committed) = self.committed.as_mut() {
            for id in self.batch_ids.drain(..) {
                committed.push(id);
            }
            // The batch's transaction stores the window with the batch's last record.
            if let Some(last) = batch.items.iter_mut().rev().find_map(|i| match i {
                Polled::Record(r) => Some(r),
                Polled::Failed(_) => None,
            }) {
                last.source_offset = Some(committed.to_offset());
            }
            if self.skipped > 0 {
                tracing::info!(
                    queue = %self.cfg.source_name(),
                    skipped = self.skipped,
                    "skipped redelivered messages whose ids Kafka already has (exactly-once)"
                );
            }
        }
        batch.ack = Some(token(generation, last_tag));
        Ok(batch)
    }

    /// Builds one delivery's record, or a failed record naming the message.
    fn push(&mut self, d: Delivery, batch: &mut SourceBatch) {
        if let Some(committed) = self.committed.as_ref() {
            if let Some(id) = d.properties.message_id().as_ref().map(|s| s.as_str()) {
                let skip = d.redelivered && committed.contains(id);
                // A skipped id is remembered again: its ack (with this batch) may be
                // lost too.
                self.batch_ids.push(id.to_string());
                if skip {
                    // Kafka has it: acknowledge it with this batch, write nothing.
                    self.skipped += 1;
                    return;
                }
            }
        }
        let body = Bytes::from(d.data);
        let msg = mapping::message(
            body.clone(),
            &d.properties,
            d.exchange.as_str(),
            d.routing_key.as_str(),
            d.redelivered,
            self.with_metadata,
        );
        match self.builder.build(&self.cfg.topic, msg) {
            Ok(record) => {
                let mut r = SourceRecord::new(record);
                r.source_partition = Some(self.partition.clone());
                batch.push(r);
            }
            Err(e) => {
                let id = d
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "(none)".into());
                batch.push_failed(FailedSourceRecord {
                    topic: self.cfg.topic.clone(),
                    key: None,
                    value: Some(body),
                    headers: mapping::raw_headers(&d.properties),
                    position: format!(
                        "RabbitMQ queue {} delivery tag {} message id {}{}",
                        self.cfg.source_name(),
                        d.delivery_tag,
                        id,
                        if d.redelivered { " (redelivered)" } else { "" }
                    ),
                    error: e.message,
                    class_name: e.class_name.to_string(),
                });
            }
        }
    }
}

/// Loads the ids of the latest committed messages from this task's stored offset.
async fn load_committed(
    cfg: &AmqpSourceConfig,
    partition: &SourcePartition,
    ctx: &SourceTaskContext,
) -> Result<CommittedIds, ConnectError> {
    if cfg.prefetch == 0 {
        return Err(ConnectError::fatal(
            "exactly-once delivery from RabbitMQ needs amqp.prefetch > 0: the prefetch window bounds the message ids Sluice must remember to recognise redeliveries",
        ));
    }
    let mut committed = CommittedIds::new(cfg.prefetch as usize);
    if let Some(offset) = ctx.offsets.offset(partition).await? {
        committed.load(&offset);
    }
    tracing::info!(
        queue = %cfg.source_name(),
        remembered = committed.remembered(),
        "exactly-once: redelivered messages whose ids are among the last {} committed are skipped",
        cfg.prefetch
    );
    Ok(committed)
}
