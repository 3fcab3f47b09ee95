//! The MQTT sink task: records -> (topic, payload) -> publishes within a window of
//! `mqtt.max.in.flight`; `flush` waits for the broker's acknowledgement of everything
//! put (see the module doc of `mqtt::sink` for the delivery rules).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{ConnectError, SinkTask, SinkTaskContext, StartSinkTask};
use sluice_runtime::data::{Record, SchemaAndValue, SinkRecord};
use tokio::sync::watch;

use super::config::MqttSinkConfig;
use super::driver::{self, Link, Shared};
use super::ledger::{Ledger, Message, Origin};
use super::payload::payload;
use super::properties::properties;
use crate::mqtt::client::Version;

/// Publishes records to MQTT topics.
pub struct MqttSinkTask {
    cfg: MqttSinkConfig,
    ctx: SinkTaskContext,
    shared: Arc<Shared>,
    changes: watch::Receiver<u64>,
    stop: watch::Sender<bool>,
    driver: Option<tokio::task::JoinHandle<()>>,
    /// A batch whose `put` stopped half-way (window full too long): its fingerprint
    /// and the index of the first record not yet taken, so the retry resumes there.
    progress: Option<((usize, i64, i64, String), usize)>,
    /// Set when a refused message could not be reported (tolerance none): nothing
    /// after it may be committed.
    failed: Option<String>,
}

fn fingerprint(records: &[SinkRecord]) -> (usize, i64, i64, String) {
    let first = records.first().map(|r| r.origin.offset).unwrap_or(-1);
    let last = records.last().map(|r| r.origin.offset).unwrap_or(-1);
    let topic = records
        .first()
        .map(|r| format!("{}/{}", r.origin.topic, r.origin.partition))
        .unwrap_or_default();
    (records.len(), first, last, topic)
}

impl StartSinkTask for MqttSinkTask {
    async fn start(config: ParsedConfig, ctx: SinkTaskContext) -> Result<Self, ConnectError> {
        let cfg = MqttSinkConfig::from_parsed(&config)?;
        let tasks = config
            .raw()
            .get("tasks.max")
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(1);
        let client_id = cfg.client_id(&ctx.connector, ctx.task, tasks);
        let (client, eventloop) = driver::new_client(&cfg, &client_id);
        let (changed, changes) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            link: Mutex::new(Link {
                ledger: Ledger::new(),
                client,
            }),
            changed,
        });
        let (stop, stop_rx) = watch::channel(false);
        let driver = tokio::spawn(driver::run(
            eventloop,
            cfg.clone(),
            client_id.clone(),
            shared.clone(),
            ctx.status.clone(),
            stop_rx,
        ));
        tracing::info!(server = %format!("{}:{}", cfg.server.host, cfg.server.port), client_id = %client_id, qos = cfg.qos, retain = cfg.retain, "MQTT sink started");
        Ok(MqttSinkTask {
            cfg,
            ctx,
            shared,
            changes,
            stop,
            driver: Some(driver),
            progress: None,
            failed: None,
        })
    }
}

/// The message of one record, or why it has none.
pub(crate) fn message(cfg: &MqttSinkConfig, r: &SinkRecord) -> Result<Message, String> {
    let topic = cfg.topic.render(&r.record.topic, &r.record.key)?;
    Ok(Message {
        topic,
        payload: payload(&r.record.value)?,
        properties: match cfg.version {
            Version::V5 => Some(properties(cfg, r)?),
            Version::V311 => None,
        },
        origin: Some(Origin {
            origin: r.origin.clone(),
            timestamp_type: r.timestamp_type,
            raw: r.raw.clone(),
        }),
    })
}

impl MqttSinkTask {
    fn message(&self, r: &SinkRecord) -> Result<Message, String> {
        message(&self.cfg, r)
    }

    /// Puts messages in the ledger and hands them to the client (when connected).
    fn hand_over(&self, messages: Vec<Message>) {
        if messages.is_empty() {
            return;
        }
        let mut link = self.shared.link.lock().unwrap();
        for m in messages {
            link.ledger.push(m);
        }
        link.submit(&self.cfg);
    }

    /// Reports the messages the broker refused (MQTT 5 reason codes) as record errors.
    async fn report_refused(&mut self) -> Result<(), ConnectError> {
        if let Some(t) = &self.failed {
            return Err(ConnectError::fatal(t.clone()));
        }
        let refused = self.shared.link.lock().unwrap().ledger.take_failed();
        for (m, why) in refused {
            let Some(o) = m.origin else { continue };
            let r = SinkRecord {
                record: Record::new(o.origin.topic.clone(), SchemaAndValue::NULL),
                origin: o.origin,
                timestamp_type: o.timestamp_type,
                raw: o.raw,
            };
            let error = format!(
                "MQTT sink: the broker refused the message to MQTT topic {}: {}",
                m.topic, why
            );
            if let Err(e) = self.ctx.errant.report(&r, &error).await {
                let trace = e.to_string();
                self.failed = Some(trace.clone());
                return Err(ConnectError::fatal(trace));
            }
        }
        Ok(())
    }

    /// Waits until `ready` holds for the ledger, at most until `deadline`.
    async fn wait(
        &mut self,
        deadline: Instant,
        ready: impl Fn(&Ledger) -> bool,
    ) -> Result<(), ConnectError> {
        loop {
            self.changes.borrow_and_update();
            if ready(&self.shared.link.lock().unwrap().ledger) {
                return Ok(());
            }
            if self.driver.as_ref().is_none_or(|d| d.is_finished()) {
                return Err(ConnectError::fatal("the MQTT connection driver stopped"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero()
                || tokio::time::timeout(left, self.changes.changed())
                    .await
                    .is_err()
            {
                let outstanding = self.shared.link.lock().unwrap().ledger.outstanding();
                let why = self
                    .ctx
                    .status
                    .get()
                    .map(|s| format!(" ({})", s))
                    .unwrap_or_default();
                return Err(ConnectError::retriable(format!(
                    "MQTT sink: {} messages not acknowledged by the broker within mqtt.delivery.timeout.ms={}{}; their offsets are not committed",
                    outstanding,
                    self.cfg.delivery_timeout.as_millis(),
                    why
                )));
            }
        }
    }
}

#[async_trait]
impl SinkTask for MqttSinkTask {
    /// Headers become MQTT 5 user properties; MQTT 3.1.1 messages carry none.
    fn reads_headers(&self) -> bool {
        matches!(self.cfg.version, Version::V5)
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        if records.is_empty() {
            return Ok(());
        }
        let fp = fingerprint(records);
        let start = match self.progress.take() {
            Some((p, i)) if p == fp => i,
            _ => 0,
        };
        let window = self.cfg.max_in_flight as usize;
        let mut i = start;
        while i < records.len() {
            let deadline = Instant::now() + self.cfg.delivery_timeout;
            if let Err(e) = self.wait(deadline, |l| l.outstanding() < window).await {
                self.progress = Some((fp, i));
                return Err(e);
            }
            self.report_refused().await?;
            // Fill the free part of the window at once: one lock and one hand-over for
            // as many messages as there is room for.
            let room = window.saturating_sub(self.shared.link.lock().unwrap().ledger.outstanding());
            let mut messages = Vec::with_capacity(room);
            while i < records.len() && messages.len() < room.max(1) {
                let r = &records[i];
                i += 1;
                match self.message(r) {
                    Ok(m) => messages.push(m),
                    // Tolerance none: the task fails with a trace naming the record;
                    // all: the record goes to the dead letter queue. The records
                    // before it go out first.
                    Err(e) => {
                        self.hand_over(std::mem::take(&mut messages));
                        self.ctx
                            .errant
                            .report(r, &format!("MQTT sink: {}", e))
                            .await?
                    }
                }
            }
            self.hand_over(messages);
        }
        Ok(())
    }

    /// Waits until the broker acknowledged every message put so far (QoS 0: written).
    async fn flush(&mut self) -> Result<(), ConnectError> {
        let deadline = Instant::now() + self.cfg.delivery_timeout;
        self.wait(deadline, |l| l.outstanding() == 0).await?;
        self.report_refused().await
    }

    async fn stop(&mut self) {
        // A clean DISCONNECT; messages not acknowledged are not committed and are
        // published again from the committed offsets by the next run.
        {
            let link = self.shared.link.lock().unwrap();
            tracing::info!(
                delivered = link.ledger.delivered(),
                unacknowledged = link.ledger.outstanding(),
                "MQTT sink stopping"
            );
            let _ = link.client.try_disconnect();
        }
        let _ = self.stop.send(true);
        if let Some(d) = self.driver.take() {
            if tokio::time::timeout(driver::STOP_TIMEOUT, d).await.is_err() {
                tracing::warn!("the MQTT connection did not close in time");
            }
        }
    }
}

impl Drop for MqttSinkTask {
    fn drop(&mut self) {
        if let Some(d) = self.driver.take() {
            d.abort();
        }
    }
}
