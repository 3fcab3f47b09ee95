//! The ledger of messages put and not yet acknowledged by the broker, and how the
//! client's events map onto them.
//!
//! rumqttc numbers QoS 1/2 publishes itself and reports each one going out as
//! `Outgoing::Publish(packet id)`, in the order the requests were handed to it. The
//! ledger keeps the messages handed over and not yet seen going out (`submitted`, in
//! that order), so each such event names the oldest of them; from then on the message
//! is known by its packet id until its PUBACK (QoS 1) or PUBREC then PUBCOMP (QoS 2).
//! A QoS 0 publish going out (packet id 0) is delivered as far as MQTT goes.
//!
//! After a reconnect with the session kept, rumqttc resends the unacknowledged
//! publishes with their packet ids (and the PUBRELs), before any new request: an
//! `Outgoing::Publish` for a packet id the ledger already holds as published is such a
//! resend. (rumqttc gives a new publish a packet id still awaiting its PUBACK only after
//! a collision, which it resolves after that PUBACK, so the two cannot be confused.)
//! When the broker lost the session, rumqttc drops what it had pending: the task then
//! starts a new client and every message of the ledger is queued again ([`Ledger::session_lost`]).
//!
//! An MQTT 5 broker may refuse a message (a PUBACK or PUBREC with a failure reason
//! code): it leaves the ledger as failed ([`Ledger::take_failed`]), for the task to
//! report as a record error.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use sluice_runtime::data::{KafkaOrigin, RawMessage, TimestampType};

use crate::mqtt::client::Properties;

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    /// MQTT 5 properties.
    pub properties: Option<Properties>,
    /// The record it came from, for the dead letter queue.
    pub origin: Option<Origin>,
}

/// What the errant record reporter needs of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub origin: KafkaOrigin,
    pub timestamp_type: TimestampType,
    pub raw: Option<Arc<RawMessage>>,
}

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Not handed to the client yet (not connected).
    Queued,
    /// Handed to the client, not yet seen going out.
    Submitted,
    /// Sent with this packet id; awaiting PUBACK (QoS 1) or PUBREC (QoS 2).
    Published(u16),
    /// QoS 2: PUBREC received, PUBREL sent; awaiting PUBCOMP.
    Released(u16),
}

struct Entry {
    message: Message,
    stage: Stage,
}

/// Messages put and not yet acknowledged, by sequence number (put order).
#[derive(Default)]
pub struct Ledger {
    entries: BTreeMap<u64, Entry>,
    next_seq: u64,
    queued: VecDeque<u64>,
    submitted: VecDeque<u64>,
    by_pkid: HashMap<u16, Vec<u64>>,
    connected: bool,
    delivered: u64,
    failed: Vec<(Message, String)>,
}

impl Ledger {
    /// An empty ledger, not connected.
    pub fn new() -> Self {
        Ledger::default()
    }

    /// Messages put and not acknowledged yet.
    pub fn outstanding(&self) -> usize {
        self.entries.len()
    }

    /// Messages acknowledged (or, QoS 0, written) since the start.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The message of `seq`.
    pub fn message(&self, seq: u64) -> &Message {
        &self.entries[&seq].message
    }

    /// Adds a message; it is queued until [`submit`](Self::submit) hands it over.
    pub fn push(&mut self, message: Message) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            seq,
            Entry {
                message,
                stage: Stage::Queued,
            },
        );
        self.queued.push_back(seq);
        seq
    }

    /// When connected: the queued messages, in order, now counted as handed to the
    /// client (the caller hands them over, holding the lock around both).
    pub fn submit(&mut self) -> Vec<u64> {
        if !self.connected {
            return Vec::new();
        }
        let seqs: Vec<u64> = self.queued.drain(..).collect();
        for s in &seqs {
            self.entries.get_mut(s).expect("queued entry").stage = Stage::Submitted;
            self.submitted.push_back(*s);
        }
        seqs
    }

    /// The connection is up (CONNACK).
    pub fn connected(&mut self) {
        self.connected = true;
    }

    /// The connection is down: nothing is handed over until the next CONNACK. The
    /// client keeps what it has and resends it if the session is kept.
    pub fn connection_lost(&mut self) {
        self.connected = false;
    }

    /// The broker lost the session, or the client was replaced: every message not
    /// acknowledged is queued again, in put order.
    pub fn session_lost(&mut self) {
        self.connected = false;
        self.submitted.clear();
        self.by_pkid.clear();
        self.queued = self.entries.keys().copied().collect();
        for e in self.entries.values_mut() {
            e.stage = Stage::Queued;
        }
    }

    /// `Outgoing::Publish(pkid)`: the oldest submitted message went out (or a resend).
    pub fn published(&mut self, pkid: u16) {
        if pkid == 0 {
            // QoS 0: written to the socket, nothing more will come.
            if let Some(seq) = self.submitted.pop_front() {
                self.finish(seq);
            }
            return;
        }
        if self
            .find(pkid, |s| matches!(s, Stage::Published(_)))
            .is_some()
        {
            return; // a resend after a reconnect
        }
        if let Some(seq) = self.submitted.pop_front() {
            self.entries.get_mut(&seq).expect("submitted entry").stage = Stage::Published(pkid);
            self.by_pkid.entry(pkid).or_default().push(seq);
        }
    }

    /// PUBACK (QoS 1).
    pub fn acked(&mut self, pkid: u16) {
        if let Some(seq) = self.find(pkid, |s| matches!(s, Stage::Published(_))) {
            self.finish(seq);
        }
    }

    /// PUBREC (QoS 2): the broker has the message; rumqttc sends PUBREL.
    pub fn received(&mut self, pkid: u16) {
        if let Some(seq) = self.find(pkid, |s| matches!(s, Stage::Published(_))) {
            self.entries.get_mut(&seq).expect("entry").stage = Stage::Released(pkid);
        }
    }

    /// PUBCOMP (QoS 2): the exchange is complete.
    pub fn completed(&mut self, pkid: u16) {
        if let Some(seq) = self.find(pkid, |s| matches!(s, Stage::Released(_))) {
            self.finish(seq);
        }
    }

    fn find(&self, pkid: u16, stage: impl Fn(Stage) -> bool) -> Option<u64> {
        self.by_pkid
            .get(&pkid)?
            .iter()
            .copied()
            .find(|s| self.entries.get(s).is_some_and(|e| stage(e.stage)))
    }

    /// MQTT 5: the broker refused the message with packet id `pkid` (a failure reason
    /// code in its PUBACK or PUBREC): it leaves the ledger as failed.
    pub fn refused(&mut self, pkid: u16, reason: String) {
        if let Some(seq) = self.find(pkid, |s| matches!(s, Stage::Published(_))) {
            if let Some(e) = self.remove(seq) {
                self.failed.push((e.message, reason));
            }
        }
    }

    /// The messages refused since the last call, with the reason.
    pub fn take_failed(&mut self) -> Vec<(Message, String)> {
        std::mem::take(&mut self.failed)
    }

    fn finish(&mut self, seq: u64) {
        if self.remove(seq).is_some() {
            self.delivered += 1;
        }
    }

    fn remove(&mut self, seq: u64) -> Option<Entry> {
        let e = self.entries.remove(&seq)?;
        if let Stage::Published(p) | Stage::Released(p) = e.stage {
            if let Some(v) = self.by_pkid.get_mut(&p) {
                v.retain(|s| *s != seq);
                if v.is_empty() {
                    self.by_pkid.remove(&p);
                }
            }
        }
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: u32) -> Message {
        Message {
            topic: format!("t/{}", i),
            payload: Bytes::from(i.to_string()),
            properties: None,
            origin: None,
        }
    }

    fn ledger_with(n: u32) -> Ledger {
        let mut l = Ledger::new();
        for i in 0..n {
            l.push(msg(i));
        }
        l
    }

    #[test]
    fn nothing_is_handed_over_before_the_connection() {
        let mut l = ledger_with(2);
        assert!(l.submit().is_empty());
        l.connected();
        assert_eq!(l.submit(), vec![0, 1]);
        assert!(l.submit().is_empty());
    }

    #[test]
    fn qos1_acks_in_and_out_of_order() {
        let mut l = ledger_with(3);
        l.connected();
        l.submit();
        l.published(1);
        l.published(2);
        l.published(3);
        l.acked(2);
        assert_eq!(l.outstanding(), 2);
        l.acked(1);
        l.acked(3);
        assert_eq!(l.outstanding(), 0);
        assert_eq!(l.delivered(), 3);
        // a stray ack changes nothing
        l.acked(3);
        assert_eq!(l.delivered(), 3);
    }

    #[test]
    fn qos2_needs_pubcomp_and_a_released_id_may_be_reused() {
        let mut l = ledger_with(2);
        l.connected();
        l.submit();
        l.published(1);
        l.received(1);
        assert_eq!(l.outstanding(), 2);
        // packet id 1 given to the next publish while its PUBCOMP is pending
        l.published(1);
        l.completed(1);
        assert_eq!(l.outstanding(), 1);
        assert_eq!(l.message(1), &msg(1));
        l.received(1);
        l.completed(1);
        assert_eq!(l.outstanding(), 0);
    }

    #[test]
    fn qos0_is_delivered_when_written() {
        let mut l = ledger_with(2);
        l.connected();
        l.submit();
        l.published(0);
        assert_eq!(l.outstanding(), 1);
        l.published(0);
        assert_eq!(l.outstanding(), 0);
    }

    #[test]
    fn resends_after_a_reconnect_are_not_new_publishes() {
        let mut l = ledger_with(3);
        l.connected();
        l.submit();
        l.published(1);
        l.published(2);
        l.connection_lost();
        l.push(msg(3));
        assert!(l.submit().is_empty());
        l.connected();
        assert_eq!(l.submit(), vec![3]);
        // rumqttc resends 1 and 2, then sends 2 (seq 2) and 3 (seq 3)
        l.published(1);
        l.published(2);
        l.published(3);
        l.published(4);
        l.acked(1);
        l.acked(2);
        l.acked(3);
        assert_eq!(l.outstanding(), 1);
        assert_eq!(l.message(3), &msg(3));
        l.acked(4);
        assert_eq!(l.outstanding(), 0);
    }

    #[test]
    fn a_lost_session_queues_everything_again_in_order() {
        let mut l = ledger_with(3);
        l.connected();
        l.submit();
        l.published(1);
        l.received(1);
        l.published(2);
        l.acked(2);
        l.session_lost();
        l.connected();
        assert_eq!(l.submit(), vec![0, 2]);
        l.published(1);
        l.published(2);
        // the old PUBCOMP of packet 1 cannot complete the new publish 1
        l.completed(1);
        assert_eq!(l.outstanding(), 2);
        l.acked(1);
        l.acked(2);
        assert_eq!(l.outstanding(), 0);
    }

    #[test]
    fn a_refused_message_leaves_as_failed() {
        let mut l = ledger_with(2);
        l.connected();
        l.submit();
        l.published(1);
        l.published(2);
        l.refused(1, "reason code QuotaExceeded".into());
        l.acked(2);
        assert_eq!(l.outstanding(), 0);
        assert_eq!(l.delivered(), 1);
        let failed = l.take_failed();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0.topic, "t/0");
        assert!(l.take_failed().is_empty());
    }
}
