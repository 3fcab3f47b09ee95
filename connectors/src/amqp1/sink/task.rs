//! The `amqp1-sink` task: sends each record's message unsettled on the sender link of
//! its address, keeps the outcomes in a window in send order, and waits for them all
//! in `flush` (see the module doc of `amqp1::sink`).

use std::collections::{HashMap, VecDeque};

use async_trait::async_trait;
use fe2o3_amqp::link::delivery::DeliveryFut;
use fe2o3_amqp::link::SendError;
use fe2o3_amqp::types::definitions::SenderSettleMode;
use fe2o3_amqp::types::messaging::{Outcome, Target};
use fe2o3_amqp::types::primitives::{Array, Symbol};
use fe2o3_amqp::Sender;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{ConnectError, SinkTask, SinkTaskContext, StartSinkTask};
use sluice_runtime::data::SinkRecord;

use super::config::SinkConfig;
use super::message;
use crate::amqp1::connection::{self, Nagle, Opened};

type Settlement = DeliveryFut<Result<Outcome, SendError>>;

/// A message sent and not yet settled by the broker.
struct InFlight {
    record: SinkRecord,
    address: String,
    outcome: Settlement,
}

/// Sends records to AMQP 1.0 addresses.
pub struct Amqp1SinkTask {
    cfg: SinkConfig,
    ctx: SinkTaskContext,
    container_id: String,
    opened: Option<Opened>,
    senders: HashMap<String, Sender>,
    window: VecDeque<InFlight>,
    /// Set once the task must fail: every later put and flush fails with it.
    failed: Option<String>,
}

impl StartSinkTask for Amqp1SinkTask {
    async fn start(config: ParsedConfig, ctx: SinkTaskContext) -> Result<Self, ConnectError> {
        let cfg = SinkConfig::from_parsed(&config)?;
        let mut task = Amqp1SinkTask {
            container_id: format!("sluice-{}-{}", ctx.connector, ctx.task),
            cfg,
            ctx,
            opened: None,
            senders: HashMap::new(),
            window: VecDeque::new(),
            failed: None,
        };
        // Connect now so a wrong address or password shows at once (retried by the
        // runtime with backoff).
        task.connect().await?;
        Ok(task)
    }
}

impl Amqp1SinkTask {
    async fn connect(&mut self) -> Result<(), ConnectError> {
        if self.opened.is_some() {
            return Ok(());
        }
        match connection::open(&self.cfg.server, &self.container_id, Nagle::On).await {
            Ok(o) => {
                tracing::info!(server = %o.endpoint, "sending to the AMQP 1.0 broker");
                self.ctx.status.clear();
                self.opened = Some(o);
                Ok(())
            }
            Err(e) => {
                let msg = format!(
                    "cannot connect to the AMQP 1.0 broker {}: {}",
                    self.cfg.server.describe(),
                    e
                );
                self.ctx.status.set(msg.clone());
                Err(ConnectError::retriable(msg))
            }
        }
    }

    async fn sender(&mut self, address: &str) -> Result<&mut Sender, ConnectError> {
        if !self.senders.contains_key(address) {
            self.connect().await?;
            let opened = self.opened.as_mut().expect("connected");
            let mut target = Target::builder().address(address.to_string());
            if !self.cfg.capabilities.is_empty() {
                let caps: Vec<Symbol> = self
                    .cfg
                    .capabilities
                    .iter()
                    .map(|c| Symbol::from(c.as_str()))
                    .collect();
                target = target.capabilities(Array::from(caps));
            }
            let name = format!("{}-sender-{}", self.container_id, self.senders.len());
            let attach = Sender::builder()
                .name(name)
                .target(target.build())
                .sender_settle_mode(SenderSettleMode::Unsettled)
                .attach(&mut opened.session);
            let s = match tokio::time::timeout(self.cfg.server.connection_timeout, attach).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    return Err(self.lost(format!("cannot attach a sender to {}: {}", address, e)))
                }
                Err(_) => {
                    return Err(self.lost(format!("attaching a sender to {} timed out", address)))
                }
            };
            self.senders.insert(address.to_string(), s);
        }
        Ok(self.senders.get_mut(address).expect("inserted"))
    }

    /// The connection or a link failed. Messages in the window may or may not have
    /// reached the broker and nothing after the last commit is committed: the task
    /// fails and restarts from the last committed offset (at least once).
    fn lost(&mut self, why: String) -> ConnectError {
        let msg = format!(
            "AMQP 1.0 sink lost the link to {} ({}); the task restarts from the last committed offset",
            self.cfg.server.describe(),
            why
        );
        self.senders.clear();
        if let Some(o) = self.opened.take() {
            tokio::spawn(o.close());
        }
        self.window.clear();
        self.failed = Some(msg.clone());
        ConnectError::fatal(msg)
    }

    fn check_failed(&self) -> Result<(), ConnectError> {
        match &self.failed {
            Some(t) => Err(ConnectError::fatal(t.clone())),
            None => Ok(()),
        }
    }

    async fn report(&mut self, r: &SinkRecord, error: &str) -> Result<(), ConnectError> {
        if let Err(e) = self.ctx.errant.report(r, error).await {
            let trace = format!("AMQP 1.0 sink: {}", e);
            self.failed = Some(trace.clone());
            return Err(ConnectError::fatal(trace));
        }
        Ok(())
    }

    /// Waits for the oldest message's outcome; anything but `accepted` is a failed
    /// record.
    async fn settle_front(&mut self) -> Result<(), ConnectError> {
        let Some(m) = self.window.pop_front() else {
            return Ok(());
        };
        let outcome = match tokio::time::timeout(self.cfg.delivery_timeout, m.outcome).await {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => {
                return Err(self.lost(format!(
                    "no outcome for {}-{}-{}: {}",
                    m.record.origin.topic, m.record.origin.partition, m.record.origin.offset, e
                )))
            }
            Err(_) => {
                return Err(self.lost(format!("no outcome within {:?}", self.cfg.delivery_timeout)))
            }
        };
        let Some(why) = refusal(outcome, &m.address) else {
            return Ok(());
        };
        let r = m.record;
        let error = format!(
            "record {}-{}-{}: {}",
            r.origin.topic, r.origin.partition, r.origin.offset, why
        );
        self.report(&r, &error).await
    }
}

#[async_trait]
impl SinkTask for Amqp1SinkTask {
    /// Sends the records, waiting for outcomes only when the window is full.
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        self.check_failed()?;
        for r in records {
            while self.window.len() >= self.cfg.max_in_flight {
                self.settle_front().await?;
            }
            let msg = match message::build(&self.cfg, r) {
                Ok(m) => m,
                Err(e) => {
                    let error = format!(
                        "record {}-{}-{} cannot become an AMQP message: {}",
                        r.origin.topic, r.origin.partition, r.origin.offset, e
                    );
                    self.report(r, &error).await?;
                    continue;
                }
            };
            let address = self.cfg.address_of(r);
            let sender = self.sender(&address).await?;
            let outcome = match sender.send_batchable(msg).await {
                Ok(f) => f,
                Err(e) => return Err(self.lost(format!("sending to {} failed: {}", address, e))),
            };
            self.window.push_back(InFlight {
                record: r.clone(),
                address,
                outcome,
            });
        }
        Ok(())
    }

    /// Waits until the broker settled every message sent so far.
    async fn flush(&mut self) -> Result<(), ConnectError> {
        self.check_failed()?;
        while !self.window.is_empty() {
            self.settle_front().await?;
        }
        Ok(())
    }

    async fn stop(&mut self) {
        for (_, s) in self.senders.drain() {
            let _ = s.close().await;
        }
        if let Some(o) = self.opened.take() {
            o.close().await;
        }
    }
}

/// Why the broker did not take a message (`None`: it accepted it). `rejected`,
/// `released` and `modified` are all record failures: the record follows
/// `errors.tolerance`, and its offset is not committed past it otherwise.
fn refusal(outcome: Outcome, address: &str) -> Option<String> {
    Some(match outcome {
        Outcome::Accepted(_) => return None,
        Outcome::Rejected(r) => format!(
            "the broker rejected the message for address {}{}",
            address,
            r.error
                .map(|e| format!(": {:?} {}", e.condition, e.description.unwrap_or_default()))
                .unwrap_or_default()
        ),
        Outcome::Released(_) => format!(
            "the broker released the message for address {} (it could not take it)",
            address
        ),
        Outcome::Modified(_) => format!(
            "the broker returned the message for address {} as modified (not delivered)",
            address
        ),
        #[allow(unreachable_patterns)]
        _ => format!(
            "the broker settled the message for address {} with an unexpected outcome",
            address
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp::types::definitions::{AmqpError, Error};
    use fe2o3_amqp::types::messaging::{Accepted, Modified, Rejected, Released};

    #[test]
    fn only_accepted_is_delivered_released_rejected_and_modified_are_failures() {
        assert_eq!(refusal(Outcome::Accepted(Accepted {}), "orders"), None);
        let released = refusal(Outcome::Released(Released {}), "orders").unwrap();
        assert!(
            released.contains("released") && released.contains("orders"),
            "{released}"
        );
        let rejected = refusal(
            Outcome::Rejected(Rejected {
                error: Some(Error::new(
                    AmqpError::NotFound,
                    Some("no such address".to_string()),
                    None,
                )),
            }),
            "orders",
        )
        .unwrap();
        assert!(
            rejected.contains("rejected") && rejected.contains("no such address"),
            "{rejected}"
        );
        let modified = refusal(
            Outcome::Modified(Modified {
                delivery_failed: Some(true),
                undeliverable_here: None,
                message_annotations: None,
            }),
            "orders",
        )
        .unwrap();
        assert!(modified.contains("modified"), "{modified}");
    }
}
