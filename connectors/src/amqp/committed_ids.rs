//! Exactly-once for RabbitMQ (and AMQP 1.0 brokers: `amqp1-source` uses the link
//! credit as the window and, having no reliable redelivered flag, skips on the id
//! alone): remembering which message ids Kafka already has.
//!
//! With exactly-once delivery the runtime writes each polled batch in one Kafka
//! transaction together with the batch's source offset, and sends the batch's
//! `basic.ack` only after the commit. A crash (or a lost connection) between the commit
//! and the ack makes RabbitMQ deliver those messages again, flagged `redelivered`.
//!
//! To recognise them, the offset of every batch carries the message ids of the last
//! `amqp.prefetch` messages committed (`{"message_ids": [...]}`). That window is
//! enough: RabbitMQ never has more than `amqp.prefetch` unacknowledged messages out on
//! a channel, so the messages that are committed but perhaps not acknowledged are at
//! most that many, and they are the latest committed ones.
//!
//! A message is skipped (acknowledged with its batch, not written again) only when
//! RabbitMQ flags it `redelivered` **and** its id is in the window. A first delivery is
//! never skipped, even if its id repeats an earlier one, and a message without a
//! `message_id` cannot be recognised: it is delivered at least once.
//!
//! The window belongs to one task, so exactly-once runs with **one task**: RabbitMQ
//! may requeue a message one task committed and hand it to another consumer of the
//! queue, which does not have that id in its window and would write it again. Sharing
//! the window would need every task's commits to be visible to the others before each
//! poll (tasks may run on different workers), so instead a task refuses to start with
//! exactly-once and `tasks.max` > 1 ([`require_single_task`]).

use std::collections::{HashMap, VecDeque};

use sluice_runtime::connector::ConnectError;
use sluice_runtime::data::{SourceOffset, SourcePartition};

/// The offset field that holds the ids.
pub const FIELD: &str = "message_ids";

/// The ids of the last `capacity` committed messages, oldest first.
#[derive(Debug)]
pub struct CommittedIds {
    order: VecDeque<String>,
    /// How often each id occurs in `order` (an id may repeat).
    counts: HashMap<String, u32>,
    capacity: usize,
}

impl CommittedIds {
    pub fn new(capacity: usize) -> Self {
        CommittedIds {
            order: VecDeque::with_capacity(capacity),
            counts: HashMap::with_capacity(capacity),
            capacity,
        }
    }

    /// Adds the ids stored in an offset written by [`CommittedIds::to_offset`].
    pub fn load(&mut self, offset: &SourceOffset) {
        if let Some(ids) = offset.get(FIELD).and_then(|v| v.as_array()) {
            for id in ids.iter().filter_map(|v| v.as_str()) {
                self.push(id.to_string());
            }
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.counts.contains_key(id)
    }

    /// Remembers a message that goes into the current batch; forgets the oldest id
    /// beyond the window.
    pub fn push(&mut self, id: String) {
        *self.counts.entry(id.clone()).or_insert(0) += 1;
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            let old = self.order.pop_front().expect("longer than capacity");
            if let Some(n) = self.counts.get_mut(&old) {
                *n -= 1;
                if *n == 0 {
                    self.counts.remove(&old);
                }
            }
        }
    }

    /// How many ids the window holds.
    pub fn remembered(&self) -> usize {
        self.order.len()
    }

    /// The offset that the batch's transaction stores: the whole window.
    pub fn to_offset(&self) -> SourceOffset {
        let mut o = SourceOffset::new();
        o.insert(
            FIELD.into(),
            serde_json::Value::Array(
                self.order
                    .iter()
                    .map(|s| serde_json::Value::String(s.clone()))
                    .collect(),
            ),
        );
        o
    }
}

/// With exactly-once delivery, refuses a connector configured for more than one task
/// (`tasks.max` as the task config holds it): a permanent failure that names both
/// settings, since each task's window only knows its own commits.
/// `broker` names the server kind in the message ("RabbitMQ", "the AMQP 1.0 broker").
pub fn require_single_task(tasks_max: Option<&str>, broker: &str) -> Result<(), ConnectError> {
    let n: u64 = tasks_max.and_then(|t| t.trim().parse().ok()).unwrap_or(1);
    if n <= 1 {
        return Ok(());
    }
    Err(ConnectError::fatal(format!(
        "exactly-once delivery from {broker} (the worker has exactly.once.source.support=enabled) \
         needs tasks.max=1, but tasks.max={n}: each task remembers only the message ids it \
         committed, and {broker} may hand a redelivered message to another task, which would \
         write it to Kafka again. Set tasks.max to 1, or run this connector on a worker \
         without exactly.once.source.support"
    )))
}

/// The partition a task stores its window under: `{"source": "<vhost>/<queue>"}` for
/// task 0, with `"task": "<n>"` added for the others so that competing tasks do not
/// overwrite each other's windows. Each task reads back only its own window.
pub fn partition(source: &str, task: u32) -> SourcePartition {
    let mut p = SourcePartition::new();
    p.insert("source".into(), serde_json::Value::String(source.into()));
    if task > 0 {
        p.insert("task".into(), serde_json::Value::String(task.to_string()));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_capacity_ids_and_round_trips_through_the_offset() {
        let mut c = CommittedIds::new(3);
        for id in ["a", "b", "c", "d"] {
            c.push(id.into());
        }
        assert!(!c.contains("a"), "evicted");
        assert!(c.contains("b") && c.contains("d"));
        assert_eq!(c.remembered(), 3);
        let o = c.to_offset();
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"message_ids":["b","c","d"]}"#
        );
        let mut back = CommittedIds::new(3);
        back.load(&o);
        assert!(back.contains("b") && back.contains("c") && back.contains("d"));
    }

    #[test]
    fn a_repeated_id_stays_until_its_last_occurrence_leaves() {
        let mut c = CommittedIds::new(2);
        c.push("x".into());
        c.push("x".into());
        c.push("y".into());
        assert!(c.contains("x"), "the second x is still in the window");
        c.push("z".into());
        assert!(!c.contains("x"));
    }

    #[test]
    fn exactly_once_takes_one_task() {
        assert!(require_single_task(None, "RabbitMQ").is_ok());
        assert!(require_single_task(Some("1"), "RabbitMQ").is_ok());
        let e = require_single_task(Some(" 3 "), "RabbitMQ").unwrap_err();
        assert!(!e.is_retriable());
        let m = e.to_string();
        assert!(
            m.contains("tasks.max=3") && m.contains("exactly.once.source.support"),
            "{m}"
        );
    }

    #[test]
    fn partitions_name_the_queue_and_the_task() {
        let p0 = partition("//q", 0);
        assert_eq!(serde_json::to_string(&p0).unwrap(), r#"{"source":"//q"}"#);
        let p2 = partition("//q", 2);
        assert_eq!(
            serde_json::to_string(&p2).unwrap(),
            r#"{"source":"//q","task":"2"}"#
        );
    }
}
