//! Acknowledging delivered batches to RabbitMQ.
//!
//! A batch's [`AckToken`] packs the connection generation (high 20 bits) and the
//! delivery tag of the batch's last message (low 44 bits). Delivery tags count per
//! channel, so a tag means nothing on another channel: after a reconnect the
//! generation changes and tokens of earlier generations are dropped unacknowledged.
//! That is safe because RabbitMQ requeues every unacknowledged message of a closed
//! channel and delivers it again (as a duplicate in Kafka, never a loss).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lapin::options::BasicAckOptions;
use lapin::Channel;
use sluice_runtime::connector::{AckToken, Acknowledger, ConnectError};

const TAG_BITS: u32 = 44;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

/// Packs a generation and a delivery tag into a token.
pub fn token(generation: u64, tag: u64) -> AckToken {
    debug_assert!(tag <= TAG_MASK);
    AckToken(((generation & 0xF_FFFF) << TAG_BITS) | (tag & TAG_MASK))
}

/// The generation and delivery tag of a token.
pub fn untoken(t: AckToken) -> (u64, u64) {
    (t.0 >> TAG_BITS, t.0 & TAG_MASK)
}

/// The channel of the current connection, shared by the task (which replaces it on
/// reconnect) and the acknowledger.
#[derive(Default)]
pub struct LiveChannel(Mutex<Option<(u64, Channel)>>);

impl LiveChannel {
    pub fn set(&self, generation: u64, channel: Channel) {
        *self.0.lock().unwrap() = Some((generation & 0xF_FFFF, channel));
    }
    pub fn clear(&self) {
        *self.0.lock().unwrap() = None;
    }
    fn channel_for(&self, generation: u64) -> Option<Channel> {
        match &*self.0.lock().unwrap() {
            Some((g, ch)) if *g == generation => Some(ch.clone()),
            _ => None,
        }
    }
}

/// Sends one `basic.ack(multiple=true)` per delivered batch (per group of batches
/// released together: it is cumulative).
pub struct AmqpAcknowledger {
    pub(super) live: Arc<LiveChannel>,
}

#[async_trait]
impl Acknowledger for AmqpAcknowledger {
    async fn ack(&self, t: AckToken) -> Result<(), ConnectError> {
        let (generation, tag) = untoken(t);
        let Some(channel) = self.live.channel_for(generation) else {
            tracing::debug!(
                tag,
                generation,
                "not acknowledging a batch read on an earlier connection; RabbitMQ redelivers it"
            );
            return Ok(());
        };
        channel
            .basic_ack(tag, BasicAckOptions { multiple: true })
            .await
            .map_err(|e| {
                ConnectError::retriable(format!("basic.ack of delivery tag {} failed: {}", tag, e))
            })
    }
    /// `basic.ack(multiple=true)` acknowledges every earlier delivery of the channel.
    fn cumulative(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for (g, tag) in [(1, 1), (7, 250), (0xF_FFFF, TAG_MASK), (3, 123_456_789_012)] {
            assert_eq!(untoken(token(g, tag)), (g, tag));
        }
        // Later generations and later tags give larger tokens.
        assert!(token(2, 1) > token(1, 1_000_000));
        assert!(token(1, 2) > token(1, 1));
    }
}
