//! Acknowledging delivered messages to the MQTT broker.
//!
//! MQTT acknowledges each QoS 1/2 message by its packet id (PUBACK, or PUBREC for
//! QoS 2; rumqttc then completes QoS 2 with PUBCOMP when the broker sends PUBREL). The
//! task records, per batch, the packet ids and the connection generation they arrived
//! on; the runtime releases batches in poll order once Kafka has them, and this sends
//! their acks in that order, as MQTT requires.
//!
//! Packet ids are reused by the broker once acknowledged, and mean nothing on a new
//! connection without the session: acks for messages of an earlier connection are
//! dropped. With a persistent session (mqtt.clean.session=false) the broker resends
//! those messages after the reconnect, so they end up in Kafka again (a duplicate,
//! never a loss).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sluice_runtime::connector::{AckToken, Acknowledger, ConnectError};

use super::client::Client;

/// One message to acknowledge: the connection generation it arrived on, its QoS and
/// packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingAck {
    pub generation: u64,
    /// 0, 1 or 2.
    pub qos: u8,
    pub pkid: u16,
}

/// State shared by the task, the connection driver and the acknowledger.
pub struct Shared {
    /// The current connection generation; bumped by the driver when a connection ends.
    pub generation: Mutex<u64>,
    /// Batches not yet acknowledged, in poll order.
    pub batches: Mutex<VecDeque<(AckToken, Vec<PendingAck>)>>,
}

impl Shared {
    pub fn new() -> Arc<Shared> {
        Arc::new(Shared {
            generation: Mutex::new(1),
            batches: Mutex::new(VecDeque::new()),
        })
    }
    pub fn generation(&self) -> u64 {
        *self.generation.lock().unwrap()
    }
    /// A connection ended: acks of its messages must not be sent any more.
    pub fn bump(&self) -> u64 {
        let mut g = self.generation.lock().unwrap();
        *g += 1;
        *g
    }
}

/// Sends the PUBACK / PUBREC of each message of a delivered batch.
pub struct MqttAcknowledger {
    pub(super) shared: Arc<Shared>,
    pub(super) client: Client,
}

#[async_trait]
impl Acknowledger for MqttAcknowledger {
    async fn ack(&self, token: AckToken) -> Result<(), ConnectError> {
        let mut due = Vec::new();
        {
            let mut b = self.shared.batches.lock().unwrap();
            while b.front().is_some_and(|(t, _)| *t <= token) {
                due.push(b.pop_front().unwrap().1);
            }
        }
        // Holding the generation lock while queueing the acks: the driver cannot
        // declare the connection over half-way through a batch.
        let g = self.shared.generation.lock().unwrap();
        let mut skipped = 0usize;
        for a in due.into_iter().flatten() {
            if a.qos == 0 {
                continue;
            }
            if a.generation != *g {
                skipped += 1;
                continue;
            }
            self.client.try_ack(a.qos, a.pkid).map_err(|e| {
                ConnectError::retriable(format!("cannot queue the ack of packet {}: {}", a.pkid, e))
            })?;
        }
        if skipped > 0 {
            tracing::debug!(
                skipped,
                "not acknowledging messages of an earlier connection; the broker resends them"
            );
        }
        Ok(())
    }
}
