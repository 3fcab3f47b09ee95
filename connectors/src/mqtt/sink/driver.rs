//! The connection driver of the MQTT sink: a task that keeps polling rumqttc's event
//! loop (network I/O, keep-alive, reconnects with backoff) and turns its events into
//! ledger updates: a publish going out, PUBACK, PUBREC, PUBCOMP. When the broker lost
//! the session on a reconnect it replaces the client and queues every unacknowledged
//! message again (see `ledger`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, Transport};
use sluice_runtime::connector::StatusDetail;
use sluice_runtime::task::Backoff;
use tokio::sync::watch;

use super::config::MqttSinkConfig;
use super::ledger::Ledger;
use crate::mqtt::driver::qos;

/// The ledger and the client that takes its messages, behind one lock so that the
/// order messages are handed to the client is the order the ledger records.
pub struct Link {
    pub ledger: Ledger,
    pub client: AsyncClient,
}

impl Link {
    /// Hands the queued messages to the client (when connected).
    pub fn submit(&mut self, cfg: &MqttSinkConfig) {
        for seq in self.ledger.submit() {
            let m = self.ledger.message(seq);
            // The channel holds more than the ledger can: it is never full. A closed
            // channel means the driver is gone; put and flush report that.
            let _ = self.client.try_publish(
                m.topic.clone(),
                qos(cfg.qos),
                cfg.retain,
                m.payload.to_vec(),
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
pub fn new_client(cfg: &MqttSinkConfig, client_id: &str) -> (AsyncClient, EventLoop) {
    let mut opts = MqttOptions::new(client_id, cfg.server.host.clone(), cfg.server.port);
    opts.set_clean_session(false)
        .set_keep_alive(cfg.keep_alive)
        .set_inflight(cfg.max_in_flight)
        .set_max_packet_size(256 * 1024 * 1024, 256 * 1024 * 1024);
    if let Some((u, p)) = &cfg.credentials {
        opts.set_credentials(u.clone(), p.clone());
    }
    if let Some(tls) = &cfg.tls {
        // the CA and client certificate of the mqtt.ssl.* keys
        opts.set_transport(Transport::tls_with_config(
            rumqttc::TlsConfiguration::Rustls(tls.0.clone()),
        ));
    }
    AsyncClient::new(opts, cfg.max_in_flight as usize + 16)
}

fn handle(ledger: &mut Ledger, event: &Event) -> bool {
    match event {
        Event::Outgoing(Outgoing::Publish(pkid)) => ledger.published(*pkid),
        Event::Incoming(Packet::PubAck(a)) => ledger.acked(a.pkid),
        Event::Incoming(Packet::PubRec(r)) => ledger.received(r.pkid),
        Event::Incoming(Packet::PubComp(c)) => ledger.completed(c.pkid),
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
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff.reset();
                let mut link = shared.link.lock().unwrap();
                if !fresh && !ack.session_present && link.ledger.outstanding() > 0 {
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
                    tracing::info!(server = %server, session_present = ack.session_present, "reconnected to the MQTT broker");
                } else {
                    tracing::info!(server = %server, session_present = ack.session_present, "connected to the MQTT broker");
                }
                failures = 0;
                status.clear();
                link.ledger.connected();
                link.submit(&cfg);
                drop(link);
                bump(&shared);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                if *stop.borrow() {
                    return;
                }
            }
            Ok(e) => {
                let changed = handle(&mut shared.link.lock().unwrap().ledger, &e);
                if changed {
                    bump(&shared);
                }
            }
            Err(e) => {
                {
                    let mut link = shared.link.lock().unwrap();
                    // Events read before the failure still count (acks the broker sent).
                    while let Some(ev) = eventloop.state.events.pop_front() {
                        handle(&mut link.ledger, &ev);
                    }
                    link.ledger.connection_lost();
                }
                bump(&shared);
                if *stop.borrow() {
                    return;
                }
                failures += 1;
                let delay = backoff.next_delay();
                let msg = format!(
                    "MQTT connection to {} failed (attempt {}), reconnecting in {:?}; nothing is committed meanwhile: {}",
                    server, failures, delay, e
                );
                tracing::warn!("{}", msg);
                status.set(msg);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// How long the task waits for the driver to send its DISCONNECT on stop.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(3);
