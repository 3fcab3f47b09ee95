//! The connection driver: a task that keeps polling rumqttc's event loop (network I/O,
//! keep-alive pings, acks, reconnects) and forwards received messages to the source
//! task through a bounded channel.

use std::sync::Arc;
use std::time::Duration;

use sluice_runtime::connector::StatusDetail;
use sluice_runtime::task::Backoff;
use tokio::sync::{mpsc, watch};

use super::acknowledger::Shared;
use super::client::{Client, Event, EventLoop, Received};
use super::config::MqttSourceConfig;

/// A received message and the connection generation it arrived on.
pub struct Incoming {
    pub generation: u64,
    pub publish: Received,
}

/// The client and what it subscribes to (again after a lost session).
pub struct Subscription {
    pub client: Client,
    pub filters: Vec<String>,
}

/// Runs until `stop` turns true and the DISCONNECT went out (or the connection is
/// gone), or until the receiving side is dropped.
pub async fn run(
    mut eventloop: EventLoop,
    Subscription { client, filters }: Subscription,
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
            Ok(Event::Publish(p)) => {
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
            Ok(Event::ConnAck { session_present }) => {
                backoff.reset();
                if failures > 0 {
                    tracing::info!(server = %server, session_present, "reconnected to the MQTT broker");
                } else {
                    tracing::info!(server = %server, session_present, "connected to the MQTT broker");
                }
                failures = 0;
                status.clear();
                // A resumed session keeps its subscriptions; subscribing again would make
                // the broker resend retained messages.
                if !session_present || cfg.clean_session {
                    if let Err(e) = client.try_subscribe_many(&filters, cfg.qos) {
                        tracing::error!("cannot subscribe: {}", e);
                    }
                }
            }
            Ok(Event::SubAck { refused }) if !refused.is_empty() => {
                let what: Vec<String> = refused
                    .iter()
                    .map(|(i, why)| {
                        format!("{} ({})", filters.get(*i).map_or("?", String::as_str), why)
                    })
                    .collect();
                let msg = format!(
                    "the MQTT broker refused the subscription to {}",
                    what.join(", ")
                );
                tracing::error!("{}", msg);
                status.set(msg);
            }
            Ok(Event::ServerDisconnect(why)) => server_disconnected(&server, &why, &status),
            Ok(Event::Disconnecting) => {
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
                let failed = format!("(attempt {}): {}", failures, e);
                if !pause_before_reconnect(&server, &failed, &mut backoff, &status, &mut stop).await
                {
                    return;
                }
            }
        }
    }
}

/// MQTT 5: the broker closed the connection with a reason; the task status shows it.
pub(crate) fn server_disconnected(server: &str, why: &str, status: &StatusDetail) {
    let msg = format!("the MQTT broker {} closed the connection: {}", server, why);
    tracing::warn!("{}", msg);
    status.set(msg);
}

/// After a failed connection (`failed`: the attempt and the error): logs it, shows it in
/// the task status, and waits the backoff delay. False when `stop` changed meanwhile.
pub(crate) async fn pause_before_reconnect(
    server: &str,
    failed: &str,
    backoff: &mut Backoff,
    status: &StatusDetail,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let delay = backoff.next_delay();
    let msg = format!(
        "MQTT connection to {} failed {}; reconnecting in {:?}",
        server, failed, delay
    );
    tracing::warn!("{}", msg);
    status.set(msg);
    tokio::select! {
        _ = tokio::time::sleep(delay) => true,
        _ = stop.changed() => false,
    }
}

/// How long the task waits for the driver to send its DISCONNECT on stop.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(3);
