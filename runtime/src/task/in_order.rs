//! In-order release of acknowledgements.
//!
//! Every record a source task hands over gets a slot, in poll order. Kafka acknowledges
//! records in any order (different partitions, retries); a slot is *released* only when
//! it and every slot before it are acknowledged. Only released slots count: their source
//! offsets may be stored and their batch tokens handed back to the task (which then
//! acknowledges upstream, e.g. one AMQP `basic.ack(multiple=true)`). A slot that failed
//! stops the release for good: nothing after a record that did not reach Kafka is ever
//! acknowledged, so the upstream system keeps (and redelivers) it.
//!
//! The hot path is lock-free: slot states live in a ring of atomics that the producer's
//! delivery callback (on librdkafka's thread) sets; everything else about a slot is
//! owned by the task loop.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::connector::AckToken;
use crate::data::{SourceOffset, SourcePartition};

/// What a slot carries besides its completion state.
#[derive(Debug, Default)]
pub struct SlotInfo {
    pub offset: Option<(Arc<SourcePartition>, SourceOffset)>,
    /// Set on the last slot of a batch that has a token.
    pub ack: Option<AckToken>,
}

const PENDING: u8 = 0;
const DONE: u8 = 1;
const FAILED: u8 = 2;

/// The part shared with the delivery callback.
#[derive(Debug)]
pub struct AckRing {
    states: Vec<AtomicU8>,
    mask: u64,
    failures: Mutex<HashMap<u64, String>>,
    notify: Notify,
}

impl AckRing {
    fn new(capacity: usize) -> Arc<Self> {
        let cap = capacity.next_power_of_two().max(2);
        Arc::new(AckRing {
            states: (0..cap).map(|_| AtomicU8::new(PENDING)).collect(),
            mask: cap as u64 - 1,
            failures: Mutex::new(HashMap::new()),
            notify: Notify::new(),
        })
    }

    fn state(&self, seq: u64) -> &AtomicU8 {
        &self.states[(seq & self.mask) as usize]
    }

    /// Records Kafka's answer for a slot. Called from the producer's delivery callback.
    pub fn complete(&self, seq: u64, result: Result<(), String>) {
        match result {
            Ok(()) => self.state(seq).store(DONE, Ordering::Release),
            Err(e) => {
                self.failures.lock().unwrap().insert(seq, e);
                self.state(seq).store(FAILED, Ordering::Release);
            }
        }
        self.notify.notify_one();
    }

    /// Resolves when some slot may have completed.
    pub async fn changed(&self) {
        self.notify.notified().await
    }
}

/// What one release produced.
#[derive(Debug, Default)]
pub struct Released {
    /// Latest offset per source partition among the released slots.
    pub offsets: HashMap<String, (Arc<SourcePartition>, SourceOffset)>,
    /// Tokens of batches now fully delivered, in order.
    pub acks: Vec<AckToken>,
    pub count: usize,
    /// The first failure at the head of the queue, if any.
    pub failure: Option<String>,
}

/// Tracks the records in flight of one task. Owned by the task loop; the
/// [`AckRing`] it hands out is shared with the producer.
#[derive(Debug)]
pub struct InOrderAcks {
    ring: Arc<AckRing>,
    base: u64,
    infos: VecDeque<SlotInfo>,
}

impl InOrderAcks {
    /// Tracks up to `capacity` records in flight.
    pub fn new(capacity: usize) -> Self {
        InOrderAcks {
            ring: AckRing::new(capacity),
            base: 0,
            infos: VecDeque::new(),
        }
    }

    /// The shared part, for the delivery callback.
    pub fn ring(&self) -> Arc<AckRing> {
        self.ring.clone()
    }

    /// How many more slots fit.
    pub fn room(&self) -> usize {
        self.ring.states.len() - self.infos.len()
    }

    /// Adds a slot waiting for Kafka; returns its sequence number.
    pub fn push_pending(&mut self, info: SlotInfo) -> u64 {
        assert!(
            self.room() > 0,
            "more records in flight than the ack ring holds"
        );
        let seq = self.base + self.infos.len() as u64;
        self.infos.push_back(info);
        seq
    }

    /// Adds a slot that needs no delivery (filtered or skipped record, empty batch).
    pub fn push_done(&mut self, info: SlotInfo) {
        let seq = self.push_pending(info);
        self.ring.state(seq).store(DONE, Ordering::Release);
    }

    /// Records Kafka's answer for a slot (same as the ring's, for the loop's own use).
    pub fn complete(&self, seq: u64, result: Result<(), String>) {
        self.ring.complete(seq, result)
    }

    /// Pops every slot that is done and has no pending slot before it.
    pub fn release(&mut self) -> Released {
        let mut out = Released::default();
        // Most records of a task share one partition Arc: compute its key once.
        let mut last_key: Option<(*const SourcePartition, String)> = None;
        while !self.infos.is_empty() {
            let st = self.ring.state(self.base);
            match st.load(Ordering::Acquire) {
                PENDING => break,
                FAILED => {
                    out.failure = self.ring.failures.lock().unwrap().get(&self.base).cloned();
                    break;
                }
                _ => {
                    st.store(PENDING, Ordering::Relaxed);
                    let info = self.infos.pop_front().expect("checked non-empty");
                    self.base += 1;
                    out.count += 1;
                    if let Some((p, o)) = info.offset {
                        let ptr = Arc::as_ptr(&p);
                        let key = match &last_key {
                            Some((lp, k)) if *lp == ptr => k.clone(),
                            _ => {
                                let k = partition_key(&p);
                                last_key = Some((ptr, k.clone()));
                                k
                            }
                        };
                        out.offsets.insert(key, (p, o));
                    }
                    if let Some(t) = info.ack {
                        out.acks.push(t);
                    }
                }
            }
        }
        out
    }

    /// Records handed over but not yet released.
    pub fn in_flight(&self) -> usize {
        self.infos.len()
    }

    /// Resolves when the head of the queue may have changed.
    pub async fn changed(&self) {
        self.ring.changed().await
    }
}

/// A key identifying a source partition by content.
fn partition_key(p: &SourcePartition) -> String {
    serde_json::to_string(p).expect("JSON maps always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(n: i64) -> SlotInfo {
        let mut p = SourcePartition::new();
        p.insert("f".into(), "x".into());
        let mut o = SourceOffset::new();
        o.insert("position".into(), n.into());
        SlotInfo {
            offset: Some((Arc::new(p), o)),
            ack: None,
        }
    }

    #[test]
    fn releases_only_contiguous_prefix() {
        let mut acks = InOrderAcks::new(8);
        let a = acks.push_pending(off(1));
        let b = acks.push_pending(off(2));
        let c = acks.push_pending(SlotInfo {
            ack: Some(AckToken(7)),
            ..off(3)
        });
        acks.complete(c, Ok(()));
        acks.complete(b, Ok(()));
        let r = acks.release();
        assert_eq!(r.count, 0, "head still pending");
        acks.complete(a, Ok(()));
        let r = acks.release();
        assert_eq!(r.count, 3);
        assert_eq!(r.acks, vec![AckToken(7)]);
        let (_, o) = r.offsets.values().next().unwrap();
        assert_eq!(o["position"], 3);
        assert_eq!(acks.in_flight(), 0);
    }

    #[test]
    fn failure_blocks_everything_after_it() {
        let mut acks = InOrderAcks::new(8);
        let a = acks.push_pending(off(1));
        let b = acks.push_pending(off(2));
        let c = acks.push_pending(SlotInfo {
            ack: Some(AckToken(1)),
            ..off(3)
        });
        acks.complete(a, Ok(()));
        acks.complete(b, Err("broker down".into()));
        acks.complete(c, Ok(()));
        let r = acks.release();
        assert_eq!(r.count, 1);
        assert!(r.acks.is_empty(), "the batch token is never released");
        assert_eq!(r.failure.as_deref(), Some("broker down"));
        let r = acks.release();
        assert_eq!(r.count, 0);
    }

    #[test]
    fn the_ring_wraps_around() {
        let mut acks = InOrderAcks::new(4);
        for round in 0..10 {
            let seqs: Vec<u64> = (0..3)
                .map(|_| acks.push_pending(SlotInfo::default()))
                .collect();
            for s in seqs.iter().rev() {
                acks.complete(*s, Ok(()));
            }
            assert_eq!(acks.release().count, 3, "round {}", round);
        }
        assert_eq!(acks.room(), 4);
    }
}
