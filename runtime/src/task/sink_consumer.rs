//! The Kafka consumer of a sink task, on its own thread.
//!
//! librdkafka's consumer is driven by blocking polls and calls rebalance callbacks from
//! inside them. This thread owns the consumer: it polls the main queue for rebalances
//! and errors, reads the assigned partitions' messages in batches from a fetch queue of
//! its own (`kafka::fetch_queue`), and sends the batches to the task loop over a
//! bounded channel, runs commits the loop asks for, and on a partition
//! revocation hands the loop a chance to flush the task and return the offsets to
//! commit before the partitions go (so the next owner starts where we stopped). While
//! it waits for that answer it keeps serving commits: the loop may be waiting for a
//! commit it asked for just before, and without its answer could not handle the
//! revocation (they would wait on each other until the revocation timeout).
//!
//! When the loop falls behind, the thread waits for room (librdkafka keeps prefetching
//! meanwhile). Only after a long stall (20 s, or half of `max.poll.interval.ms`; a sink
//! retrying through an outage, a paused connector) does it pause its partitions and keep polling, so that the group does not
//! evict it for exceeding `max.poll.interval.ms`. Pausing is kept for long stalls only
//! because librdkafka drops prefetched data on pause.
//! Batches carry the assignment generation; the loop drops batches fetched before the
//! latest rebalance, since the consumer restarts those partitions from the committed
//! offsets anyway.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tokio::sync::{mpsc, oneshot, Notify};

use super::TaskMetrics;
use crate::connector::{StatusDetail, TopicPartition};
use crate::data::TimestampType;
use crate::kafka::fetch_queue::{FetchQueue, Fetched};

/// A message copied out of librdkafka.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
}

/// A batch of messages fetched under one assignment generation.
pub struct Batch {
    pub generation: u64,
    pub messages: Vec<Consumed>,
}

/// What the consumer thread tells the task loop about the group (rare; never blocks).
pub enum ConsumerEvent {
    Assigned {
        generation: u64,
        partitions: Vec<TopicPartition>,
    },
    /// Partitions are going away: flush, then reply with the offsets to commit.
    Revoked {
        partitions: Vec<TopicPartition>,
        reply: std_mpsc::SyncSender<Vec<(TopicPartition, i64)>>,
    },
    /// The consumer hit an error it cannot recover from.
    Fatal(String),
}

/// What the task loop asks of the consumer thread.
pub enum ConsumerCommand {
    Commit(
        Vec<(TopicPartition, i64)>,
        oneshot::Sender<Result<(), String>>,
    ),
}

struct SinkConsumerContext {
    events: mpsc::UnboundedSender<ConsumerEvent>,
    /// The task loop's commit requests. Served by the poll loop, and also while a
    /// revocation waits for the task: the task may be waiting for a commit it asked for
    /// just before, and must get its answer to handle the revocation (no wait cycle).
    commands: Arc<std::sync::Mutex<std_mpsc::Receiver<ConsumerCommand>>>,
    generation: Arc<AtomicU64>,
    revoke_timeout: Duration,
    /// For the background check of committed offsets against the log.
    config: ClientConfig,
    name: String,
    metrics: Arc<TaskMetrics>,
    detail: StatusDetail,
    /// Where the assigned partitions' messages are forwarded, read by the poll loop.
    /// Set right after the consumer is created; taken (destroyed) before it is dropped.
    fetch: std::sync::Mutex<Option<FetchQueue>>,
    /// Whether partitions are assigned (and forwarded to `fetch`).
    assigned: std::sync::atomic::AtomicBool,
}

impl SinkConsumerContext {
    fn forward(&self, partitions: &[TopicPartition]) {
        if let Some(fetch) = self
            .fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            fetch.forward(partitions);
        }
    }
}

impl ClientContext for SinkConsumerContext {
    /// The lag of the assigned partitions, for the lag metrics: per partition, its end
    /// (the last stable offset, or the high watermark) minus the committed offset —
    /// what is not yet durably delivered — or, before the first commit, minus the
    /// position (or the log start when nothing was read yet).
    fn stats(&self, statistics: rdkafka::Statistics) {
        let (mut sum, mut max) = (0u64, 0u64);
        for t in statistics.topics.values() {
            for (id, p) in &t.partitions {
                if *id < 0 || !p.desired {
                    continue;
                }
                let end = if p.ls_offset >= 0 {
                    p.ls_offset
                } else {
                    p.hi_offset
                };
                let base = [p.committed_offset, p.app_offset, p.lo_offset]
                    .into_iter()
                    .find(|o| *o >= 0);
                if let (true, Some(base)) = (end >= 0, base) {
                    let lag = (end - base).max(0) as u64;
                    sum += lag;
                    max = max.max(lag);
                }
            }
        }
        TaskMetrics::set(&self.metrics.records_lag, sum);
        TaskMetrics::set(&self.metrics.records_lag_max, max);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::error!(target: "librdkafka", task = %self.name, "librdkafka: {}: {}", error, reason);
        if let Some(why) = crate::kafka::diagnose::credential_failure(&error, reason) {
            self.detail
                .set(format!("Kafka refused the connection: {}", why));
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition {
            topic: e.topic().to_string(),
            partition: e.partition(),
        })
        .collect()
}

fn commit_list(offsets: &[(TopicPartition, i64)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (tp, o) in offsets {
        let _ = tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o));
    }
    tpl
}

impl ConsumerContext for SinkConsumerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Rebalance::Revoke(tpl) = rebalance {
            // Eager rebalancing: every partition goes.
            self.assigned.store(false, Ordering::SeqCst);
            let partitions = partitions_of(tpl);
            if partitions.is_empty() {
                return;
            }
            let (tx, rx) = std_mpsc::sync_channel(1);
            if self
                .events
                .send(ConsumerEvent::Revoked {
                    partitions,
                    reply: tx,
                })
                .is_err()
            {
                return;
            }
            let deadline = Instant::now() + self.revoke_timeout;
            let reply = loop {
                match rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(offsets) => break Ok(offsets),
                    Err(std_mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                        serve_commands(consumer, &self.commands);
                    }
                    Err(_) => break Err(()),
                }
            };
            let skipped = match reply {
                Ok(offsets) if !offsets.is_empty() => {
                    let started = Instant::now();
                    match consumer.commit(&commit_list(&offsets), CommitMode::Sync) {
                        Ok(()) => {
                            self.metrics.commit(true, started.elapsed());
                            None
                        }
                        Err(e) => {
                            self.metrics.commit(false, started.elapsed());
                            Some(format!(
                                "the offset commit on partition revocation failed: {}",
                                e
                            ))
                        }
                    }
                }
                Ok(_) => None,
                Err(_) => Some(format!(
                    "the task did not flush within {:?} of a partition revocation",
                    self.revoke_timeout
                )),
            };
            if let Some(why) = skipped {
                TaskMetrics::add(&self.metrics.offset_commit_skip, 1);
                tracing::warn!(task = %self.name, "offset commit skipped: {}; the records since the last commit will be delivered again", why);
                self.detail
                    .set(format!("offset commit skipped at a rebalance: {}", why));
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
            let partitions = partitions_of(tpl);
            // Before any message of theirs can be fetched: librdkafka starts fetching
            // only after this callback returns.
            self.forward(&partitions);
            self.assigned
                .store(!partitions.is_empty(), Ordering::SeqCst);
            super::offset_check::spawn(self.config.clone(), partitions.clone(), self.name.clone());
            let _ = self.events.send(ConsumerEvent::Assigned {
                generation,
                partitions,
            });
        }
    }
}

/// What to subscribe to.
#[derive(Debug, Clone)]
pub enum Subscription {
    Topics(Vec<String>),
    /// A regular expression (anchored with `^` as librdkafka requires).
    Pattern(String),
}

/// Handle to a running consumer thread.
pub struct ConsumerThread {
    pub events: mpsc::UnboundedReceiver<ConsumerEvent>,
    pub batches: mpsc::Receiver<Batch>,
    pub commands: std_mpsc::Sender<ConsumerCommand>,
    /// Wakes the thread from a wait for room in the batch channel to serve commands.
    wake: Arc<Notify>,
    pub generation: Arc<AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// How the consumer thread hands messages to the task.
pub struct Batching {
    /// The most messages in one batch (`consumer.max.poll.records`).
    pub max: usize,
    /// Asked once per batch: whether to copy the messages' headers.
    pub headers: Arc<dyn Fn() -> bool + Send + Sync>,
    /// Whether each message's key, and its value, get a buffer of their own (for a
    /// converter that keeps it) instead of a slice of the batch's shared buffer.
    pub own: (bool, bool),
}

impl ConsumerThread {
    /// Starts the thread: creates the consumer, subscribes, polls.
    pub fn start(
        config: ClientConfig,
        subscription: Subscription,
        batching: Batching,
        revoke_timeout: Duration,
        name: String,
        metrics: Arc<TaskMetrics>,
        detail: StatusDetail,
    ) -> Result<Self, String> {
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (batch_tx, batch_rx) = mpsc::channel(2);
        let (cmd_tx, cmd_rx) = std_mpsc::channel();
        let cmd_rx = Arc::new(std::sync::Mutex::new(cmd_rx));
        let generation = Arc::new(AtomicU64::new(0));
        let ctx = SinkConsumerContext {
            events: ev_tx.clone(),
            commands: cmd_rx.clone(),
            generation: generation.clone(),
            revoke_timeout,
            config: config.clone(),
            name: name.clone(),
            metrics,
            detail,
            fetch: std::sync::Mutex::new(None),
            assigned: std::sync::atomic::AtomicBool::new(false),
        };
        let mut config = config;
        if config.get("statistics.interval.ms").is_none() {
            // For the lag metrics; every 5 s is cheap (one JSON document per task).
            config.set("statistics.interval.ms", "5000");
        }
        let consumer: BaseConsumer<SinkConsumerContext> = config
            .create_with_context(ctx)
            .map_err(|e| format!("cannot create the Kafka consumer: {}", e))?;
        *consumer
            .context()
            .fetch
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(FetchQueue::new(&consumer));
        match &subscription {
            Subscription::Topics(t) => {
                let refs: Vec<&str> = t.iter().map(String::as_str).collect();
                consumer.subscribe(&refs)
            }
            Subscription::Pattern(p) => consumer.subscribe(&[p.as_str()]),
        }
        .map_err(|e| format!("cannot subscribe: {}", e))?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let gen2 = generation.clone();
        let long_stall = long_stall(&config);
        let wake = Arc::new(Notify::new());
        let ends = Ends {
            batches: batch_tx,
            events: ev_tx,
            commands: cmd_rx,
            wake: wake.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("consumer-{}", name))
            .spawn(move || {
                // A timer of its own to bound waits for room: the task's runtime may be
                // stuck in a blocking write (the stall this thread must notice), and
                // its timer with it.
                match tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                {
                    Ok(rt) => poll_loop(&consumer, ends, &rt, gen2, stop2, batching, long_stall),
                    // The task sees the channels close and fails with this.
                    Err(e) => tracing::error!("cannot build the consumer thread's timer: {}", e),
                }
                // The fetch queue goes before the consumer whose handle it uses.
                drop(
                    consumer
                        .context()
                        .fetch
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take(),
                );
            })
            .map_err(|e| format!("cannot start the consumer thread: {}", e))?;
        Ok(ConsumerThread {
            events: ev_rx,
            batches: batch_rx,
            commands: cmd_tx,
            wake,
            generation,
            stop,
            handle: Some(handle),
        })
    }

    /// Commits offsets through the consumer thread.
    pub async fn commit(&self, offsets: Vec<(TopicPartition, i64)>) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(ConsumerCommand::Commit(offsets, tx))
            .map_err(|_| "the consumer thread has stopped".to_string())?;
        self.wake.notify_one();
        rx.await
            .map_err(|_| "the consumer thread has stopped".to_string())?
    }

    /// Stops the thread (closing the consumer, which leaves the group).
    pub async fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        // Drain events so the thread is never stuck sending; answer revocations.
        let handle = self.handle.take();
        let mut events = self.events;
        let mut batches = self.batches;
        let drain = tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Some(ConsumerEvent::Revoked { reply, .. }) => { let _ = reply.send(Vec::new()); }
                        Some(_) => {}
                        None => break,
                    },
                    b = batches.recv() => if b.is_none() { break },
                }
            }
        });
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        drain.abort();
    }
}

/// Copies a message out of librdkafka's buffers; its headers only `with_headers`.
fn copy(m: &BorrowedMessage<'_>, topic: &Arc<str>, with_headers: bool) -> Consumed {
    let headers = with_headers
        .then(|| m.headers())
        .flatten()
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_string(), h.value.map(Bytes::copy_from_slice)))
                .collect()
        })
        .unwrap_or_default();
    let (timestamp, timestamp_type) = match m.timestamp() {
        rdkafka::Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
        rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
        rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
    };
    Consumed {
        topic: topic.clone(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(Bytes::copy_from_slice),
        value: m.payload().map(Bytes::copy_from_slice),
        headers,
        timestamp,
        timestamp_type,
    }
}

/// Runs the commits the task loop asked for.
fn serve_commands<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    commands: &std::sync::Mutex<std_mpsc::Receiver<ConsumerCommand>>,
) {
    let rx = commands.lock().unwrap_or_else(|e| e.into_inner());
    while let Ok(cmd) = rx.try_recv() {
        match cmd {
            ConsumerCommand::Commit(offsets, reply) => {
                let r = if offsets.is_empty() {
                    Ok(())
                } else {
                    consumer
                        .commit(&commit_list(&offsets), CommitMode::Sync)
                        .map_err(|e| format!("offset commit failed: {}", e))
                };
                let _ = reply.send(r);
            }
        }
    }
}

/// The poll loop's ends of its channels to the task loop.
struct Ends {
    batches: mpsc::Sender<Batch>,
    events: mpsc::UnboundedSender<ConsumerEvent>,
    commands: Arc<std::sync::Mutex<std_mpsc::Receiver<ConsumerCommand>>>,
    wake: Arc<Notify>,
}

fn poll_loop(
    consumer: &BaseConsumer<SinkConsumerContext>,
    ends: Ends,
    rt: &tokio::runtime::Runtime,
    generation: Arc<AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    batching: Batching,
    long_stall: Duration,
) {
    let Ends {
        batches,
        events,
        commands,
        wake,
    } = ends;
    let Batching {
        max: max_batch,
        headers,
        own,
    } = batching;
    let mut pending: Option<(u64, Vec<Consumed>)> = None;
    let mut blocked_since: Option<Instant> = None;
    let mut paused = false;
    let mut names = TopicNames::default();
    let mut last_forward = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        serve_commands(consumer, &commands);
        if let Some((g, batch)) = pending.take() {
            let batch = Batch {
                generation: g,
                messages: batch,
            };
            let unsent = match batches.try_send(batch) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(batch)) => Some(batch),
                Err(_) => break,
            };
            if let Some(batch) = unsent {
                let since = *blocked_since.get_or_insert_with(Instant::now);
                if since.elapsed() < long_stall {
                    // The task is busy: wait for room, waking for its commit requests.
                    match wait_for_room(rt, &batches, &wake, batch, ROOM_WAIT) {
                        Room::Sent => {}
                        Room::Woken(b) => {
                            pending = Some((b.generation, b.messages));
                            continue;
                        }
                        Room::Closed => break,
                    }
                } else {
                    pending = Some((batch.generation, batch.messages));
                    if !paused {
                        tracing::info!(
                            "the sink task is stalled; pausing its partitions to stay in the group"
                        );
                        paused = true;
                    }
                    // Keep (re)pausing: a rebalance may have assigned new partitions.
                    if let Ok(a) = consumer.assignment() {
                        let _ = consumer.pause(&a);
                    }
                }
            }
            if pending.is_none() {
                blocked_since = None;
                if paused {
                    if let Ok(a) = consumer.assignment() {
                        let _ = consumer.resume(&a);
                    }
                    paused = false;
                }
            }
        }
        let forwarding = consumer.context().assigned.load(Ordering::SeqCst);
        if forwarding && last_forward.elapsed() >= REFORWARD_EVERY {
            // Belt and braces: librdkafka clears a partition's forwarding when it stops
            // fetching it; should that land after a reassignment forwarded it again,
            // the partition would wait here for the next forward.
            if let Ok(a) = consumer.assignment() {
                consumer.context().forward(&partitions_of(&a));
            }
            last_forward = Instant::now();
        }
        let g = generation.load(Ordering::SeqCst);
        let mut batch = match pending.take() {
            Some((pg, b)) if pg == g => b,
            _ => Vec::with_capacity(max_batch.min(4096)),
        };
        let with_headers = headers();
        // The main queue: rebalances, errors and statistics, and the messages of
        // partitions not (yet) forwarded to the fetch queue.
        let wait = if forwarding && !paused {
            Duration::ZERO
        } else {
            Duration::from_millis(100)
        };
        let mut next = consumer.poll(wait);
        while let Some(r) = next.take() {
            match r {
                Ok(m) => {
                    let topic = names.of(m.topic());
                    batch.push(copy(&m, &topic, with_headers));
                }
                Err(e) => {
                    if is_fatal(&e) {
                        let _ = events.send(ConsumerEvent::Fatal(format!(
                            "Kafka consumer failed: {}",
                            e
                        )));
                        return;
                    }
                    tracing::warn!("Kafka consumer error (retrying): {}", e);
                }
            }
            if batch.len() >= max_batch {
                break;
            }
            next = consumer.poll(Duration::ZERO);
        }
        if generation.load(Ordering::SeqCst) != g {
            // A rebalance ran: what was read belongs to the assignment before it, whose
            // partitions restart from their committed offsets.
            continue;
        }
        if forwarding && !paused && batch.len() < max_batch {
            let wait = if batch.is_empty() {
                FETCH_WAIT
            } else {
                Duration::ZERO
            };
            let mut fetch = consumer
                .context()
                .fetch
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(fetch) = fetch.as_mut() {
                let fetched = fetch.read(wait, max_batch - batch.len());
                let copying = Copying {
                    headers: with_headers,
                    own,
                };
                if let Err(e) = copy_fetched(&fetched, &mut batch, &mut names, copying) {
                    let _ = events.send(ConsumerEvent::Fatal(format!(
                        "Kafka consumer failed: {}",
                        e
                    )));
                    return;
                }
            }
        }
        if !batch.is_empty() {
            pending = Some((g, batch));
        }
    }
}

/// How long a read of the fetch queue waits for a first message before the loop
/// polls the main queue again (rebalances are seen that late at most).
const FETCH_WAIT: Duration = Duration::from_millis(50);

/// How often the assigned partitions are forwarded to the fetch queue again.
const REFORWARD_EVERY: Duration = Duration::from_secs(2);

/// Topic names as shared strings, one per topic.
#[derive(Default)]
struct TopicNames {
    by_name: std::collections::HashMap<String, Arc<str>>,
    last: Option<Arc<str>>,
}

impl TopicNames {
    fn of(&mut self, name: &str) -> Arc<str> {
        // Most messages come from the topic of the one before: compare before hashing.
        if let Some(t) = self.last.as_ref().filter(|t| ***t == *name) {
            return t.clone();
        }
        let t = self
            .by_name
            .entry(name.to_string())
            .or_insert_with(|| Arc::from(name))
            .clone();
        self.last = Some(t.clone());
        t
    }
}

/// What [`copy_fetched`] copies, and how.
#[derive(Clone, Copy)]
struct Copying {
    headers: bool,
    /// Key and value: a buffer of their own for each message (see [`Batching::own`]).
    own: (bool, bool),
}

/// Copies fetched messages onto `batch`. Keys and values are copied into one buffer
/// that the batch's records share (one allocation per batch, not two per message),
/// unless `copying.own` asks for a buffer per message. Returns a consumer error that
/// the task cannot recover from.
fn copy_fetched(
    fetched: &Fetched<'_>,
    batch: &mut Vec<Consumed>,
    names: &mut TopicNames,
    copying: Copying,
) -> Result<(), rdkafka::error::KafkaError> {
    if fetched.is_empty() {
        return Ok(());
    }
    let (own_key, own_value) = copying.own;
    let size: usize = fetched
        .iter()
        .map(|m| {
            let len = |b: Option<&[u8]>, own: bool| if own { 0 } else { b.map_or(0, <[u8]>::len) };
            len(m.key(), own_key) + len(m.payload(), own_value)
        })
        .sum();
    let mut buf = Vec::with_capacity(size);
    let mut spans = Vec::with_capacity(fetched.len());
    let first = batch.len();
    let mut handle = std::ptr::null();
    let mut topic: Option<Arc<str>> = None;
    for m in fetched.iter() {
        if let Some(e) = m.error() {
            if is_fatal(&e) {
                return Err(e);
            }
            tracing::warn!("Kafka consumer error (retrying): {}", e);
            continue;
        }
        // Within one batch a topic's messages share its handle.
        let topic = match &topic {
            Some(t) if handle == m.topic_handle() => t.clone(),
            _ => {
                handle = m.topic_handle();
                topic.insert(names.of(m.topic())).clone()
            }
        };
        let mut span = |bytes: Option<&[u8]>, own: bool| match bytes {
            Some(b) if !own => {
                let start = buf.len();
                buf.extend_from_slice(b);
                Some(start..buf.len())
            }
            _ => None,
        };
        spans.push((span(m.key(), own_key), span(m.payload(), own_value)));
        let owned =
            |bytes: Option<&[u8]>, own: bool| bytes.filter(|_| own).map(Bytes::copy_from_slice);
        let (timestamp, timestamp_type) = m.timestamp();
        batch.push(Consumed {
            topic,
            partition: m.partition(),
            offset: m.offset(),
            key: owned(m.key(), own_key),
            value: owned(m.payload(), own_value),
            headers: if copying.headers {
                m.headers()
            } else {
                Vec::new()
            },
            timestamp,
            timestamp_type,
        });
    }
    let buf = Bytes::from(buf);
    for (c, (key, value)) in batch[first..].iter_mut().zip(spans) {
        if let Some(r) = key {
            c.key = Some(buf.slice(r));
        }
        if let Some(r) = value {
            c.value = Some(buf.slice(r));
        }
    }
    Ok(())
}

/// How long the task may keep the consumer waiting before it pauses its partitions:
/// 20 s, or half of `max.poll.interval.ms` if that is shorter (the group evicts a
/// consumer that does not poll within it).
fn long_stall(config: &ClientConfig) -> Duration {
    let interval = config
        .get("max.poll.interval.ms")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(300_000);
    Duration::from_millis(interval / 2).min(Duration::from_secs(20))
}

/// The longest one wait for room lasts before the loop looks at its stop flag and the
/// stall time again.
const ROOM_WAIT: Duration = Duration::from_millis(50);

/// How a wait for room in the batch channel ended.
enum Room {
    Sent,
    /// A commit request came, or the time was up: the batch is still to send.
    Woken(Batch),
    Closed,
}

/// Waits until the task loop takes `batch`, a commit request arrives (`wake`), or
/// `up_to` passes. The thread sleeps meanwhile: the task wakes it when it takes a
/// batch, so a full channel costs no polling delay.
fn wait_for_room(
    rt: &tokio::runtime::Runtime,
    batches: &mpsc::Sender<Batch>,
    wake: &Notify,
    batch: Batch,
    up_to: Duration,
) -> Room {
    rt.block_on(async {
        tokio::select! {
            permit = batches.reserve() => match permit {
                Ok(permit) => {
                    permit.send(batch);
                    Room::Sent
                }
                Err(_) => Room::Closed,
            },
            _ = wake.notified() => Room::Woken(batch),
            _ = tokio::time::sleep(up_to) => Room::Woken(batch),
        }
    })
}

fn is_fatal(e: &rdkafka::error::KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(rdkafka::types::RDKafkaErrorCode::Fatal)
            | Some(rdkafka::types::RDKafkaErrorCode::InvalidGroupId)
            | Some(rdkafka::types::RDKafkaErrorCode::GroupAuthorizationFailed)
            | Some(rdkafka::types::RDKafkaErrorCode::TopicAuthorizationFailed)
    )
}
