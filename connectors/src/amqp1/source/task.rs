//! The `amqp1-source` task: polls batches from the link driver, builds records, and
//! hands the driver the accept commands once Kafka has a batch (see the module doc of
//! `amqp1::source`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fe2o3_amqp::types::messaging::message::Body;
use fe2o3_amqp::types::messaging::Message;
use fe2o3_amqp::types::primitives::Value as Amqp;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::Polled;
use sluice_runtime::connector::{
    AckToken, Acknowledger, ConnectError, FailedSourceRecord, SourceBatch, SourceTask,
    SourceTaskContext, StartSourceTask, StatusDetail,
};
use sluice_runtime::data::{SourcePartition, SourceRecord};
use sluice_runtime::task::Backoff;
use tokio::sync::mpsc;

use super::config::SourceConfig;
use super::driver::{self, Command, Ended, Incoming};
use super::record::{id_text, raw_body, raw_headers, RecordMaker};
use crate::amqp::committed_ids::{self, CommittedIds};
use crate::amqp1::connection::{self, Nagle};

const CLASS: &str = "io.sluice.connect.amqp1.Amqp1SourceTask";
const SEQ_BITS: u32 = 44;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;

fn token(generation: u64, seq: u64) -> AckToken {
    AckToken(((generation & 0xF_FFFF) << SEQ_BITS) | (seq & SEQ_MASK))
}

fn untoken(t: AckToken) -> (u64, u64) {
    (t.0 >> SEQ_BITS, t.0 & SEQ_MASK)
}

/// The driver of the current connection, shared with the acknowledger.
#[derive(Default)]
struct Live(Mutex<Option<(u64, mpsc::Sender<Command>)>>);

impl Live {
    fn get(&self, generation: u64) -> Option<mpsc::Sender<Command>> {
        match &*self.0.lock().unwrap() {
            Some((g, tx)) if *g == generation => Some(tx.clone()),
            _ => None,
        }
    }
}

/// Hands accept commands to the driver of the connection a batch was read on.
struct Amqp1Acknowledger {
    live: Arc<Live>,
}

#[async_trait]
impl Acknowledger for Amqp1Acknowledger {
    async fn ack(&self, t: AckToken) -> Result<(), ConnectError> {
        let (generation, seq) = untoken(t);
        match self.live.get(generation) {
            Some(tx) => tx.send(Command::Accept(seq)).await.map_err(|_| {
                ConnectError::retriable(
                    "the AMQP 1.0 link is gone; the broker redelivers the batch",
                )
            }),
            None => {
                tracing::debug!(
                    seq,
                    generation,
                    "not accepting a batch read on an earlier connection; the broker redelivers it"
                );
                Ok(())
            }
        }
    }
    /// The driver accepts every delivery up to the token's.
    fn cumulative(&self) -> bool {
        true
    }
}

/// One connection's receiving end.
struct Link {
    generation: u64,
    rx: mpsc::Receiver<Incoming>,
    commands: mpsc::Sender<Command>,
    ended: Arc<Ended>,
    driver: tokio::task::JoinHandle<()>,
}

/// Reads one AMQP 1.0 address into one Kafka topic.
pub struct Amqp1SourceTask {
    cfg: SourceConfig,
    maker: RecordMaker,
    container_id: String,
    link_name: String,
    live: Arc<Live>,
    link: Option<Link>,
    generation: u64,
    backoff: Backoff,
    next_attempt: Option<Instant>,
    attempts: u32,
    status: StatusDetail,
    /// With exactly-once delivery: where the batch transactions store the window of
    /// committed message ids, and the window (see `amqp::committed_ids`).
    exactly_once: Option<(Arc<SourcePartition>, CommittedIds)>,
}

impl StartSourceTask for Amqp1SourceTask {
    async fn start(config: ParsedConfig, ctx: SourceTaskContext) -> Result<Self, ConnectError> {
        let cfg = SourceConfig::from_parsed(&config)?;
        let exactly_once = if ctx.exactly_once {
            let tasks_max = config.raw().get("tasks.max").map(String::as_str);
            committed_ids::require_single_task(tasks_max, "the AMQP 1.0 broker")?;
            let partition = committed_ids::partition(&cfg.source_name(), ctx.task);
            // Two windows, a margin: unaccepted messages stay within one (a broker that
            // sends past the credit fails the link, see `driver`).
            let mut committed = CommittedIds::new(2 * cfg.credit as usize);
            if let Some(offset) = ctx.offsets.offset(&partition).await? {
                committed.load(&offset);
            }
            tracing::info!(
                source = %cfg.source_name(),
                remembered = committed.remembered(),
                "exactly-once: redelivered messages whose ids are among the last {} committed are skipped",
                2 * cfg.credit
            );
            Some((Arc::new(partition), committed))
        } else {
            None
        };
        let mut task = Amqp1SourceTask {
            maker: RecordMaker::new(cfg.clone()),
            container_id: format!("sluice-{}-{}", ctx.connector, ctx.task),
            link_name: format!("sluice-{}-{}-receiver", ctx.connector, ctx.task),
            live: Arc::new(Live::default()),
            link: None,
            generation: 0,
            backoff: Backoff::new(cfg.server.reconnect_min, cfg.server.reconnect_max),
            next_attempt: None,
            attempts: 0,
            status: ctx.status.clone(),
            exactly_once,
            cfg,
        };
        // Connect now so a wrong address or password shows at once; poll retries.
        task.connect().await;
        Ok(task)
    }
}

#[async_trait]
impl SourceTask for Amqp1SourceTask {
    async fn poll(&mut self) -> Result<SourceBatch, ConnectError> {
        self.poll_batch().await
    }

    fn acknowledger(&self) -> Option<Arc<dyn Acknowledger>> {
        Some(Arc::new(Amqp1Acknowledger {
            live: self.live.clone(),
        }))
    }

    async fn stop(&mut self) {
        *self.live.0.lock().unwrap() = None;
        if let Some(link) = self.link.take() {
            let _ = link.commands.send(Command::Stop).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), link.driver).await;
        }
    }
}

impl Amqp1SourceTask {
    async fn open(&mut self) -> Result<Link, String> {
        let mut opened = connection::open(&self.cfg.server, &self.container_id, Nagle::Off).await?;
        let receiver = match tokio::time::timeout(
            self.cfg.server.connection_timeout,
            driver::attach(&mut opened, &self.cfg, &self.link_name),
        )
        .await
        .unwrap_or_else(|_| Err("attaching the receiver timed out".into()))
        {
            Ok(r) => r,
            Err(e) => {
                opened.close().await;
                return Err(e);
            }
        };
        let endpoint = opened.endpoint.clone();
        let (tx, rx) = mpsc::channel(2 * self.cfg.credit as usize + 1);
        let (ctx, crx) = mpsc::channel(1024);
        let ended = Arc::new(Ended::default());
        let driver = tokio::spawn(driver::run(
            opened,
            receiver,
            self.cfg.credit,
            self.cfg.subscription.is_some(),
            tx,
            crx,
            ended.clone(),
        ));
        tracing::info!(server = %endpoint, address = %self.cfg.address, credit = self.cfg.credit, "receiving from the AMQP 1.0 broker");
        Ok(Link {
            generation: self.generation,
            rx,
            commands: ctx,
            ended,
            driver,
        })
    }

    /// One connection attempt (over the failover list); on failure schedules the next.
    async fn connect(&mut self) -> bool {
        self.generation += 1;
        match self.open().await {
            Ok(link) => {
                if self.attempts > 0 {
                    tracing::info!(source = %self.cfg.describe(), "reconnected to the AMQP 1.0 broker");
                }
                *self.live.0.lock().unwrap() =
                    Some((link.generation & 0xF_FFFF, link.commands.clone()));
                self.link = Some(link);
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
                    "cannot receive from AMQP 1.0 address {} (attempt {}), retrying in {:?}: {}",
                    self.cfg.describe(),
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

    /// The link died: forget it (the broker redelivers its unsettled messages) and
    /// reconnect after the backoff delay.
    fn lost(&mut self) {
        *self.live.0.lock().unwrap() = None;
        let why = self
            .link
            .take()
            .and_then(|l| l.ended.0.lock().unwrap().take())
            .unwrap_or_else(|| "the connection closed".into());
        self.attempts += 1;
        let delay = self.backoff.next_delay();
        let msg = format!(
            "lost the AMQP 1.0 link to {} ({}); reconnecting in {:?}",
            self.cfg.describe(),
            why,
            delay
        );
        tracing::warn!("{}", msg);
        self.status.set(msg);
        self.next_attempt = Some(Instant::now() + delay);
    }

    async fn poll_batch(&mut self) -> Result<SourceBatch, ConnectError> {
        if self.link.is_none() {
            if !sluice_runtime::task::reconnect_due(self.next_attempt).await {
                return Ok(SourceBatch::new());
            }
            if !self.connect().await {
                return Ok(SourceBatch::new());
            }
        }
        let link = self.link.as_mut().expect("connected above");
        let first = match tokio::time::timeout(self.cfg.poll_wait, link.rx.recv()).await {
            Err(_) => return Ok(SourceBatch::new()),
            Ok(Some(m)) => m,
            Ok(None) => {
                self.lost();
                return Ok(SourceBatch::new());
            }
        };
        let generation = link.generation;
        let mut items = Vec::with_capacity(self.cfg.batch_size.min(1024));
        items.push(first);
        while items.len() < self.cfg.batch_size {
            match link.rx.try_recv() {
                Ok(m) => items.push(m),
                Err(_) => break,
            }
        }
        let last = items.last().expect("one at least").seq;
        let mut batch = SourceBatch::with_capacity(items.len());
        let mut skipped = 0;
        for m in items {
            if let Some((_, committed)) = self.exactly_once.as_mut() {
                if let Some(id) = message_id(&m.message) {
                    // Any repeat of a recently committed id, not only flagged
                    // redeliveries: Artemis redelivers the messages of a consumer whose
                    // connection died with delivery-count 0.
                    let skip = committed.contains(&id);
                    // A skipped id is remembered again: its accept (with this batch)
                    // may be lost too.
                    committed.push(id);
                    if skip {
                        skipped += 1;
                        continue; // Kafka has it: accepted with this batch, not written
                    }
                }
            }
            match self.maker.build(&m.message) {
                Ok(record) => {
                    let mut r = SourceRecord::new(record);
                    if let Some((partition, _)) = &self.exactly_once {
                        r.source_partition = Some(partition.clone());
                    }
                    batch.push(r)
                }
                Err(e) => {
                    if let Some(link) = &self.link {
                        let _ = link.commands.send(Command::Poisoned(m.seq)).await;
                    }
                    batch.push_failed(FailedSourceRecord {
                        topic: self.cfg.topic.clone(),
                        key: None,
                        value: raw_body(&m.message.body),
                        headers: raw_headers(&m.message),
                        position: format!(
                            "AMQP 1.0 address {} delivery {} message id {}",
                            self.cfg.address,
                            m.seq,
                            id_text(&m.message)
                        ),
                        error: e,
                        class_name: CLASS.to_string(),
                    });
                }
            }
        }
        if let Some((_, committed)) = &self.exactly_once {
            // The batch's transaction stores the window with the batch's last record.
            if let Some(r) = batch.items.iter_mut().rev().find_map(|i| match i {
                Polled::Record(r) => Some(r),
                Polled::Failed(_) => None,
            }) {
                r.source_offset = Some(committed.to_offset());
            }
            if skipped > 0 {
                tracing::info!(
                    source = %self.cfg.source_name(),
                    skipped,
                    "skipped redelivered messages whose ids Kafka already has (exactly-once)"
                );
            }
        }
        batch.ack = Some(token(generation, last));
        Ok(batch)
    }
}

/// The message id as text, when the message has one.
fn message_id(m: &Message<Body<Amqp>>) -> Option<String> {
    m.properties.as_ref()?.message_id.as_ref()?;
    Some(id_text(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_order() {
        for (g, s) in [(1, 1), (7, 250), (0xF_FFFF, SEQ_MASK)] {
            assert_eq!(untoken(token(g, s)), (g, s));
        }
        assert!(token(2, 1) > token(1, 1_000_000));
    }
}
