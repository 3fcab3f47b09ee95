//! The connection driver of the MQTT sink: a task that keeps polling rumqttc's event
//! loop (network I/O, keep-alive, reconnects with backoff) and turns its events into
//! ledger updates: a publish going out, PUBACK, PUBREC, PUBCOMP. When the broker lost
//! the session on a reconnect it replaces the client and queues every unacknowledged
//! message again (see `ledger`).

use std::sync::{Arc, Mutex};

use sluice_runtime::connector::StatusDetail;
use sluice_runtime::task::Backoff;
use tokio::sync::watch;

use super::config::MqttSinkConfig;
use super::ledger::Ledger;
use crate::mqtt::client::{self, Client, Event, EventLoop, Settings};
/// How long the task waits for the driver to send its DISCONNECT on stop.
pub use crate::mqtt::driver::STOP_TIMEOUT;
use crate::mqtt::driver::{pause_before_reconnect, server_disconnected};

/// The ledger and the client that takes its messages, behind one lock so that the
/// order messages are handed to the client is the order the ledger records.
pub struct Link {
    pub ledger: Ledger,
    pub client: Client,
}

impl Link {
    /// Hands the queued messages to the client (when connected).
    pub fn submit(&mut self, cfg: &MqttSinkConfig) {
        for seq in self.ledger.submit() {
            let m = self.ledger.message(seq);
            // The channel holds more than the ledger can: it is never full. A closed
            // channel means the driver is gone; put and flush report that.
            let _ = self.client.try_publish(
                &m.topic,
                cfg.qos,
                cfg.retain,
                m.payload.clone(),
                m.properties.as_ref(),
            );
        }
    }
}

/// State shared by the task and the driver.
pub struct Shared {
    pub link: Mutex<Link>,
    /// Bumped whenever messages are delivered or the connection changes.
    pub changed: watch::Sender<u64>,
}

/// A client and event loop for `cfg` under `client_id`.
pub fn new_client(cfg: &MqttSinkConfig, client_id: &str) -> (Client, EventLoop) {
    client::connect(&Settings {
        version: cfg.version,
        server: &cfg.server,
        client_id,
        clean: false,
        session_expiry: cfg.session_expiry,
        keep_alive: cfg.keep_alive,
        credentials: cfg.credentials.as_ref(),
        tls: cfg.tls.as_ref(),
        manual_acks: false,
        inflight: cfg.max_in_flight,
        capacity: cfg.max_in_flight as usize + 16,
    })
}

fn handle(ledger: &mut Ledger, event: Event) -> bool {
    match event {
        Event::Published(pkid) => ledger.published(pkid),
        Event::PubAck {
            pkid,
            refused: None,
        } => ledger.acked(pkid),
        Event::PubRec {
            pkid,
            refused: None,
        } => ledger.received(pkid),
        Event::PubAck {
            pkid,
            refused: Some(why),
        }
        | Event::PubRec {
            pkid,
            refused: Some(why),
        } => ledger.refused(pkid, why),
        Event::PubComp { pkid } => ledger.completed(pkid),
        _ => return false,
    }
    true
}

/// Runs until `stop` turns true and the DISCONNECT went out (or the connection is gone).
pub async fn run(
    mut eventloop: EventLoop,
    cfg: MqttSinkConfig,
    client_id: String,
    shared: Arc<Shared>,
    status: StatusDetail,
    mut stop: watch::Receiver<bool>,
) {
    let server = format!("{}:{}", cfg.server.host, cfg.server.port);
    let mut backoff = Backoff::new(cfg.reconnect_min, cfg.reconnect_max);
    let mut failures = 0u32;
    // No connection of this event loop succeeded yet: nothing was handed to it.
    let mut fresh = true;
    let bump = |shared: &Shared| shared.changed.send_modify(|n| *n += 1);
    loop {
        let event = tokio::select! {
            e = eventloop.poll() => e,
            r = stop.changed() => {
                if r.is_err() {
                    return;
                }
                // Keep polling: the DISCONNECT request queued by the task must go out.
                continue;
            }
        };
        match event {
            Ok(Event::ConnAck { session_present }) => {
                backoff.reset();
                let mut link = shared.link.lock().unwrap();
                if !fresh && !session_present && link.ledger.outstanding() > 0 {
                    // rumqttc dropped what it had pending: start over with a new client
                    // and send every unacknowledged message again.
                    tracing::warn!(server = %server, outstanding = link.ledger.outstanding(), "the MQTT broker lost the session; publishing the unacknowledged messages again");
                    let (client, el) = new_client(&cfg, &client_id);
                    link.client = client;
                    link.ledger.session_lost();
                    eventloop = el;
                    fresh = true;
                    continue;
                }
                fresh = false;
                if failures > 0 {
                    tracing::info!(server = %server, session_present, "reconnected to the MQTT broker");
                } else {
                    tracing::info!(server = %server, session_present, "connected to the MQTT broker");
                }
                failures = 0;
                status.clear();
                link.ledger.connected();
                link.submit(&cfg);
                drop(link);
                bump(&shared);
            }
            Ok(Event::Disconnecting) => {
                if *stop.borrow() {
                    return;
                }
            }
            Ok(Event::ServerDisconnect(why)) => server_disconnected(&server, &why, &status),
            Ok(e) => {
                // Wake the task only when a message left the ledger (acknowledged or
                // refused), not for every packet going out.
                let changed = {
                    let ledger = &mut shared.link.lock().unwrap().ledger;
                    let before = ledger.outstanding();
                    handle(ledger, e) && ledger.outstanding() != before
                };
                if changed {
                    bump(&shared);
                }
            }
            Err(e) => {
                {
                    let mut link = shared.link.lock().unwrap();
                    // Events read before the failure still count (acks the broker sent).
                    for ev in eventloop.take_pending_events() {
                        handle(&mut link.ledger, ev);
                    }
                    link.ledger.connection_lost();
                }
                bump(&shared);
                if *stop.borrow() {
                    return;
                }
                failures += 1;
                let failed = format!(
                    "(attempt {}; nothing is committed meanwhile): {}",
                    failures, e
                );
                if !pause_before_reconnect(&server, &failed, &mut backoff, &status, &mut stop).await
                {
                    return;
                }
            }
        }
    }
}
