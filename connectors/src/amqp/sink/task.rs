//! The AMQP sink task: records -> messages -> publishes with a window of unconfirmed
//! messages; `flush` waits for every confirm (see the module doc of `amqp::sink`).

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use lapin::PublisherConfirm;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{
    ConnectError, SinkTask, SinkTaskContext, StartSinkTask, TopicPartition,
};
use sluice_runtime::data::{
    KafkaOrigin, RawMessage, Record, SchemaAndValue, SinkRecord, TimestampType,
};
use sluice_runtime::task::Backoff;

use super::config::AmqpSinkConfig;
use super::message::{self, OutMessage};
use super::publisher::{outcome, Outcome, Publisher};

/// A published message waiting for its confirm, with what the dead letter queue needs
/// of its record.
struct InFlight {
    msg: OutMessage,
    origin: KafkaOrigin,
    timestamp_type: TimestampType,
    raw: Option<Arc<RawMessage>>,
    /// The confirm on the current connection; `None` until (re)published on it.
    confirm: Option<PublisherConfirm>,
    /// Its outcome, when its confirm was read together with an earlier message's (see
    /// [`attribute_returns`]); it is not published again.
    settled: Option<Outcome>,
}

impl InFlight {
    /// The record as the errant record reporter needs it (origin and raw bytes).
    fn record(&self) -> SinkRecord {
        SinkRecord {
            record: Record::new(self.origin.topic.clone(), SchemaAndValue::NULL),
            origin: self.origin.clone(),
            timestamp_type: self.timestamp_type,
            raw: self.raw.clone(),
        }
    }
}

type Fingerprint = (usize, i64, i64, String);

fn fingerprint(records: &[SinkRecord]) -> Fingerprint {
    let first = records.first().map(|r| r.origin.offset).unwrap_or(-1);
    let last = records.last().map(|r| r.origin.offset).unwrap_or(-1);
    let topic = records
        .first()
        .map(|r| format!("{}/{}", r.origin.topic, r.origin.partition))
        .unwrap_or_default();
    (records.len(), first, last, topic)
}

/// Publishes records to a RabbitMQ exchange.
pub struct AmqpSinkTask {
    cfg: AmqpSinkConfig,
    ctx: SinkTaskContext,
    /// The connection name RabbitMQ shows (`sluice-<connector>-<task>`).
    name: String,
    publisher: Option<Publisher>,
    /// Published, not yet confirmed, in publish order.
    window: VecDeque<InFlight>,
    backoff: Backoff,
    /// A `put` that failed retriably: the records before this index are in the window
    /// (or settled), so its retry with the same records resumes there.
    resume: Option<(Fingerprint, usize)>,
    /// Set when the connection was lost: the window's messages must be published
    /// again on the next one.
    republish_needed: bool,
    /// A record failed for good (tolerance none): nothing more may be committed, so
    /// every later `flush` fails with this trace.
    failed: Option<String>,
}

impl StartSinkTask for AmqpSinkTask {
    async fn start(config: ParsedConfig, ctx: SinkTaskContext) -> Result<Self, ConnectError> {
        let cfg = AmqpSinkConfig::from_parsed(&config)?;
        let mut task = AmqpSinkTask {
            name: format!("sluice-{}-{}", ctx.connector, ctx.task),
            backoff: Backoff::new(cfg.reconnect_min, cfg.reconnect_max),
            cfg,
            ctx,
            publisher: None,
            window: VecDeque::new(),
            resume: None,
            republish_needed: false,
            failed: None,
        };
        // Connect now so that a wrong address, password or exchange shows at once; a
        // failure is not fatal here: put and flush retry.
        if let Err(e) = task.open().await {
            tracing::warn!("{}", e);
            task.ctx.status.set(e);
        }
        Ok(task)
    }
}

impl AmqpSinkTask {
    /// One connection attempt.
    async fn open(&mut self) -> Result<(), String> {
        let attempt = tokio::time::timeout(
            self.cfg.connection_timeout,
            Publisher::open(&self.cfg, &self.name),
        )
        .await
        .unwrap_or_else(|_| Err(format!("timed out after {:?}", self.cfg.connection_timeout)));
        match attempt {
            Ok(p) => {
                tracing::info!(server = %self.cfg.server(), exchange = %self.cfg.exchange_name(), in_flight = self.cfg.max_in_flight, "publishing to RabbitMQ with publisher confirms");
                self.publisher = Some(p);
                Ok(())
            }
            Err(e) => Err(format!(
                "cannot publish to RabbitMQ exchange {} at {}: {}",
                self.cfg.exchange_name(),
                self.cfg.server(),
                e
            )),
        }
    }

    /// The connection or channel died: forget it; every message in the window is
    /// published again on the next connection.
    fn lost(&mut self, why: impl std::fmt::Display) {
        if let Some(p) = self.publisher.take() {
            tokio::spawn(p.close());
        }
        for m in self.window.iter_mut() {
            m.confirm = None;
        }
        self.republish_needed = true;
        let msg = format!(
            "lost the connection to RabbitMQ at {} ({}); {} unconfirmed messages will be published again",
            self.cfg.server(),
            why,
            self.window.len()
        );
        tracing::warn!("{}", msg);
        self.ctx.status.set(msg);
    }

    /// Makes sure there is a connection on which every message of the window is
    /// published. Reconnects with backoff for up to `amqp.connection.timeout.ms`, then
    /// fails retriably (nothing is committed meanwhile).
    async fn ready(&mut self) -> Result<(), ConnectError> {
        let since = Instant::now();
        loop {
            if self.publisher.is_none() {
                if let Err(e) = self.open().await {
                    let delay = self.backoff.next_delay();
                    if since.elapsed() + delay > self.cfg.connection_timeout {
                        self.ctx.status.set(e.clone());
                        return Err(ConnectError::retriable(format!(
                            "{} ({} messages wait for their confirm; nothing after them is committed)",
                            e,
                            self.window.len()
                        )));
                    }
                    tracing::warn!("{}; retrying in {:?}", e, delay);
                    self.ctx
                        .status
                        .set(format!("{}; retrying in {:?}", e, delay));
                    tokio::time::sleep(delay).await;
                    continue;
                }
                self.ctx.status.clear();
            }
            match self.republish().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let msg = format!("publishing again failed: {}", e);
                    self.lost(&msg);
                    if since.elapsed() > self.cfg.connection_timeout {
                        return Err(ConnectError::retriable(msg));
                    }
                    tokio::time::sleep(self.backoff.next_delay()).await;
                }
            }
        }
    }

    /// Publishes the window's messages that have no confirm on this connection.
    async fn republish(&mut self) -> Result<(), lapin::Error> {
        if !self.republish_needed {
            return Ok(());
        }
        if self.publisher.is_none() {
            return Ok(());
        }
        let again = self.publish_unconfirmed().await?;
        if again > 0 {
            tracing::info!(messages = again, "published the unconfirmed messages again");
        }
        self.republish_needed = false;
        Ok(())
    }

    /// Waits for the oldest message's confirm. A refused message is reported as a
    /// failed record; a lost connection is a retriable error.
    async fn settle_front(&mut self) -> Result<(), ConnectError> {
        if let Some(o) = self.window.front_mut().and_then(|f| f.settled.take()) {
            let m = self.window.pop_front().expect("front");
            return self.settled(m, o).await;
        }
        self.ready().await?;
        let Some(front) = self.window.front_mut() else {
            return Ok(());
        };
        let confirm = front.confirm.take().expect("published by ready()");
        match confirm.await {
            Ok(c) => {
                attribute_returns(&mut self.window, outcome(c));
                let o = self.window[0].settled.take().expect("attributed");
                let m = self.window.pop_front().expect("front");
                self.settled(m, o).await
            }
            Err(e) => {
                let msg = format!("no publisher confirm: {}", e);
                self.lost(&msg);
                Err(ConnectError::retriable(format!(
                    "lost the connection to RabbitMQ at {} while waiting for {} confirms ({}); they are published again",
                    self.cfg.server(),
                    self.window.len(),
                    msg
                )))
            }
        }
    }

    /// Acts on a message's final outcome.
    async fn settled(&mut self, m: InFlight, o: Outcome) -> Result<(), ConnectError> {
        match o {
            Outcome::Delivered => {
                self.backoff.reset();
                Ok(())
            }
            Outcome::Refused(why) | Outcome::Returned(why, _) => self.refused(&m, &why).await,
        }
    }

    /// A message RabbitMQ did not take: the errant record reporter decides
    /// (tolerance none: the task fails; all: dead letter queue).
    async fn refused(&mut self, m: &InFlight, why: &str) -> Result<(), ConnectError> {
        let error = format!(
            "{} (exchange {}, routing key {:?})",
            why,
            self.cfg.exchange_name(),
            m.msg.routing_key.as_str()
        );
        self.report(&m.record(), &error).await
    }

    /// Reports a failed record; a failure to do so (tolerance none, DLQ unreachable)
    /// poisons the task so that nothing after it is committed.
    async fn report(&mut self, r: &SinkRecord, error: &str) -> Result<(), ConnectError> {
        match self.ctx.errant.report(r, error).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let trace = format!("AMQP sink: {}", e);
                self.failed = Some(trace.clone());
                Err(ConnectError::fatal(trace))
            }
        }
    }

    fn check_failed(&self) -> Result<(), ConnectError> {
        match &self.failed {
            Some(t) => Err(ConnectError::fatal(t.clone())),
            None => Ok(()),
        }
    }

    async fn put_from(
        &mut self,
        records: &[SinkRecord],
        fp: &Fingerprint,
        start: usize,
    ) -> Result<(), ConnectError> {
        let mut i = start;
        while i < records.len() {
            self.make_room().await?;
            self.ready().await?;
            let room = self
                .cfg
                .max_in_flight
                .saturating_sub(self.window.len())
                .max(1);
            let end = (i + room).min(records.len());
            for (j, r) in records.iter().enumerate().take(end).skip(i) {
                self.resume = Some((fp.clone(), j));
                match message::build(&self.cfg, r) {
                    Ok(msg) => self.window.push_back(InFlight {
                        msg,
                        origin: r.origin.clone(),
                        timestamp_type: r.timestamp_type,
                        raw: r.raw.clone(),
                        confirm: None,
                        settled: None,
                    }),
                    Err(e) => self.report(r, &e).await?,
                }
                // From here the record is the window's (or reported): a retry resumes
                // after it.
                self.resume = Some((fp.clone(), j + 1));
            }
            i = end;
            self.publish_new().await?;
        }
        Ok(())
    }

    /// Waits until the window has room: for the oldest confirm when it is full, then
    /// takes every message whose confirm came with it (RabbitMQ acks many at once), so
    /// that the next publishes go out together.
    async fn make_room(&mut self) -> Result<(), ConnectError> {
        while self.window.len() >= self.cfg.max_in_flight {
            self.settle_front().await?;
        }
        while self.window.front().is_some_and(|f| f.settled.is_some()) {
            self.settle_front().await?;
        }
        Ok(())
    }

    /// Publishes the messages put into the window since the last publish, together.
    async fn publish_new(&mut self) -> Result<(), ConnectError> {
        match self.publish_unconfirmed().await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.lost(format!("basic.publish failed: {}", e));
                Err(ConnectError::retriable(format!(
                    "lost the connection to RabbitMQ at {} while publishing: {}",
                    self.cfg.server(),
                    e
                )))
            }
        }
    }

    /// Publishes, together and in order, the window's messages that have no confirm on
    /// this connection (and no outcome yet); returns how many.
    async fn publish_unconfirmed(&mut self) -> Result<usize, lapin::Error> {
        let Some(p) = self.publisher.as_ref() else {
            return Ok(0);
        };
        let unpublished = |m: &InFlight| m.confirm.is_none() && m.settled.is_none();
        let results = p
            .publish_all(
                &self.cfg.exchange,
                self.cfg.mandatory,
                self.window
                    .iter()
                    .filter(|m| unpublished(m))
                    .map(|m| &m.msg),
            )
            .await;
        let n = results.len();
        let mut failure = None;
        for (m, r) in self
            .window
            .iter_mut()
            .filter(|m| unpublished(m))
            .zip(results)
        {
            match r {
                Ok(c) => m.confirm = Some(c),
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
        failure.map_or(Ok(n), Err)
    }
}

/// Gives each returned message to the message it is a copy of. The front's confirm came
/// with `first`; the confirms completed together with it
/// (a multiple ack resolves a run of them at once) are read now, and each returned
/// message found among them refuses the message it is a copy of, while the message whose
/// confirm carried it counts as delivered (its own ack was positive). A returned message
/// that matches none of them stays with the message that carried it. Every read outcome
/// ends in `settled`, the front's too.
fn attribute_returns(window: &mut VecDeque<InFlight>, first: Outcome) {
    use futures::FutureExt;
    let mut outcomes = vec![first];
    for e in window.iter_mut().skip(1) {
        if e.settled.is_some() {
            break;
        }
        let Some(c) = e.confirm.as_mut() else { break };
        match c.now_or_never() {
            Some(Ok(c)) => {
                e.confirm = None;
                outcomes.push(outcome(c));
            }
            // not completed yet (or the connection is gone: left for settle_front)
            _ => break,
        }
    }
    let mut returned = Vec::new();
    for (i, o) in outcomes.iter_mut().enumerate() {
        if matches!(o, Outcome::Returned(..)) {
            let Outcome::Returned(why, r) = std::mem::replace(o, Outcome::Delivered) else {
                unreachable!("matched above")
            };
            returned.push((i, why, r));
        }
    }
    for (carrier, why, r) in returned {
        let owner = if super::publisher::is_returned_copy(&window[carrier].msg, &r) {
            carrier
        } else {
            (0..outcomes.len())
                .find(|&j| {
                    outcomes[j].is_delivered()
                        && super::publisher::is_returned_copy(&window[j].msg, &r)
                })
                .unwrap_or(carrier)
        };
        outcomes[owner] = Outcome::Refused(why);
    }
    for (e, o) in window.iter_mut().zip(outcomes) {
        e.settled = Some(o);
    }
}

#[async_trait]
impl SinkTask for AmqpSinkTask {
    /// Publishes the records, waiting for confirms only when the window is full.
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        self.check_failed()?;
        if records.is_empty() {
            return Ok(());
        }
        let fp = fingerprint(records);
        let start = match self.resume.take() {
            Some((f, i)) if f == fp => i,
            _ => 0,
        };
        let r = self.put_from(records, &fp, start).await;
        if r.is_ok() {
            self.resume = None;
        }
        r
    }

    /// Waits until RabbitMQ confirmed every message put so far.
    async fn flush(&mut self) -> Result<(), ConnectError> {
        self.check_failed()?;
        while !self.window.is_empty() {
            self.settle_front().await?;
        }
        Ok(())
    }

    /// Messages of partitions taken away are no longer ours to publish again: their
    /// uncommitted records go to the partitions' next owner.
    async fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        let gone: BTreeSet<(&str, i32)> = partitions
            .iter()
            .map(|p| (p.topic.as_str(), p.partition))
            .collect();
        self.window
            .retain(|m| !gone.contains(&(&*m.origin.topic, m.origin.partition)));
        Ok(())
    }

    async fn stop(&mut self) {
        self.window.clear();
        if let Some(p) = self.publisher.take() {
            p.close().await;
        }
    }
}
