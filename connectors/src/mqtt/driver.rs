//! The connection driver: a task that keeps polling rumqttc's event loop (network I/O,
//! keep-alive pings, acks, reconnects) and forwards received messages to the source
//! task through a bounded channel.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, EventLoop, Outgoing, Packet, QoS, SubscribeFilter, SubscribeReasonCode,
};
use sluice_runtime::connector::StatusDetail;
use sluice_runtime::task::Backoff;
use tokio::sync::{mpsc, watch};

use super::acknowledger::Shared;
use super::config::MqttSourceConfig;

/// A received message and the connection generation it arrived on.
pub struct Incoming {
    pub generation: u64,
    pub publish: rumqttc::Publish,
}

pub fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// Runs until `stop` turns true and the DISCONNECT went out (or the connection is
/// gone), or until the receiving side is dropped.
pub async fn run(
    mut eventloop: EventLoop,
    client: AsyncClient,
    cfg: MqttSourceConfig,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Incoming>,
    status: StatusDetail,
    mut stop: watch::Receiver<bool>,
) {
    let server = format!("{}:{}", cfg.server.host, cfg.server.port);
    let mut backoff = Backoff::new(cfg.reconnect_min, cfg.reconnect_max);
    let mut failures = 0u32;
    let mut forward = true;
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
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if forward {
                    let generation = shared.generation();
                    if tx
                        .send(Incoming {
                            generation,
                            publish: p,
                        })
                        .await
                        .is_err()
                    {
                        // The task is gone: keep the session alive until the disconnect.
                        forward = false;
                    }
                }
            }
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff.reset();
                if failures > 0 {
                    tracing::info!(server = %server, session_present = ack.session_present, "reconnected to the MQTT broker");
                } else {
                    tracing::info!(server = %server, session_present = ack.session_present, "connected to the MQTT broker");
                }
                failures = 0;
                status.clear();
                // A resumed session keeps its subscriptions; subscribing again would make
                // the broker resend retained messages.
                if !ack.session_present || cfg.clean_session {
                    let filters: Vec<SubscribeFilter> = cfg
                        .topics
                        .iter()
                        .map(|t| SubscribeFilter::new(t.clone(), qos(cfg.qos)))
                        .collect();
                    if let Err(e) = client.try_subscribe_many(filters) {
                        tracing::error!("cannot subscribe: {}", e);
                    }
                }
            }
            Ok(Event::Incoming(Packet::SubAck(s))) => {
                if s.return_codes
                    .iter()
                    .any(|c| matches!(c, SubscribeReasonCode::Failure))
                {
                    let msg = format!(
                        "the MQTT broker refused the subscription to {:?}",
                        cfg.topics
                    );
                    tracing::error!("{}", msg);
                    status.set(msg);
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                if *stop.borrow() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                // rumqttc keeps the session's state and reconnects on the next poll.
                shared.bump();
                if *stop.borrow() || !forward {
                    return;
                }
                failures += 1;
                let delay = backoff.next_delay();
                let msg = format!(
                    "MQTT connection to {} failed (attempt {}), reconnecting in {:?}: {}",
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
