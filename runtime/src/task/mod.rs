//! Task loops: the code that moves records between a connector's tasks and Kafka.
//!
//! * [`source`]: poll → transform → convert → produce; offsets stored and batches
//!   acknowledged upstream only once Kafka acknowledged them, in order ([`in_order`]).
//! * [`sink`]: consume → convert → transform → put → flush → commit Kafka offsets.

mod active_topics;
pub mod failure;
pub mod in_order;
pub mod metrics;
mod offset_check;
mod own_thread;
mod pipeline;
mod producer;
mod retry;
pub mod sink;
mod sink_consumer;
pub mod source;
mod start;
pub mod topic_creation;
mod topic_handles;

use std::time::Duration;

pub use active_topics::ActiveTopics;
pub use failure::TaskFailure;
pub use metrics::TaskMetrics;
pub use own_thread::spawn_on_own_thread;
pub use pipeline::{ErrorHandler, OutRecord, Outcome, RecordPipeline, RetryRecord};
pub(crate) use start::wait_or_stop;

/// Identifies a task: connector name and task number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    pub connector: String,
    pub task: u32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// What the herder wants a running task to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskTarget {
    Running,
    Paused,
    /// Stop gracefully: deliver what is in flight, commit, then return.
    Stopped,
}

/// Exponential backoff between `initial` and `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    initial: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            next: initial,
            initial,
            max,
        }
    }
    /// The delay to wait now; doubles the next one.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// For a source task's poll while it waits to reconnect: sleeps toward `next_attempt`,
/// at most about a second (so that pausing and stopping stay timely), and tells
/// whether the attempt is due. `None`: due now.
pub async fn reconnect_due(next_attempt: Option<impl Into<tokio::time::Instant>>) -> bool {
    let Some(at) = next_attempt.map(Into::into) else {
        return true;
    };
    let now = tokio::time::Instant::now();
    if at > now {
        tokio::time::sleep((at - now).min(Duration::from_secs(1))).await;
    }
    tokio::time::Instant::now() >= at
}
