//! Per-task counters, read by the metrics endpoint. Plain atomics: cheap to bump on the
//! hot path.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one task. Names follow Connect's metrics.
#[derive(Debug, Default)]
pub struct TaskMetrics {
    /// source-record-poll-total
    pub source_record_poll: AtomicU64,
    /// source-record-write-total
    pub source_record_write: AtomicU64,
    /// source-record-active-count (set, not added)
    pub source_record_active: AtomicU64,
    /// sink-record-read-total
    pub sink_record_read: AtomicU64,
    /// sink-record-send-total
    pub sink_record_send: AtomicU64,
    /// partition-count (set)
    pub partition_count: AtomicU64,
    /// Records in the assigned partitions not yet committed: the sum over partitions of
    /// end offset - committed offset, from the consumer's statistics (set every 5 s).
    pub records_lag: AtomicU64,
    /// The largest lag of one assigned partition (Connect's consumer `records-lag-max`).
    pub records_lag_max: AtomicU64,
    pub batches: AtomicU64,
    pub batch_records: AtomicU64,
    pub batch_size_max: AtomicU64,
    /// Time spent in poll or put, microseconds.
    pub batch_time_us: AtomicU64,
    pub batch_time_max_us: AtomicU64,
    pub offset_commit_success: AtomicU64,
    pub offset_commit_failure: AtomicU64,
    /// offset-commit-skip-total: commits that did not happen (a partition revoked
    /// before the task flushed in time, or a failed commit on revocation).
    pub offset_commit_skip: AtomicU64,
    pub offset_commit_time_us: AtomicU64,
    pub offset_commit_time_max_us: AtomicU64,
    /// total-record-errors
    pub record_errors: AtomicU64,
    /// total-record-failures
    pub record_failures: AtomicU64,
    /// total-records-skipped
    pub records_skipped: AtomicU64,
    /// total-errors-logged
    pub errors_logged: AtomicU64,
    /// total-retries
    pub retries: AtomicU64,
    /// deadletterqueue-produce-requests
    pub dlq_produce_requests: AtomicU64,
    /// deadletterqueue-produce-failures
    pub dlq_produce_failures: AtomicU64,
    /// Messages waiting in a queue source's queue (set by the connector; see
    /// `BacklogGauge`), shown only once `queue_backlog_known`.
    pub queue_backlog: AtomicU64,
    pub queue_backlog_known: std::sync::atomic::AtomicBool,
}

impl TaskMetrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
    pub fn max(counter: &AtomicU64, v: u64) {
        counter.fetch_max(v, Ordering::Relaxed);
    }
    pub fn set(counter: &AtomicU64, v: u64) {
        counter.store(v, Ordering::Relaxed);
    }
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
    /// Records one poll or put batch.
    pub fn batch(&self, size: usize, elapsed: std::time::Duration) {
        let us = elapsed.as_micros() as u64;
        Self::add(&self.batches, 1);
        Self::add(&self.batch_records, size as u64);
        Self::max(&self.batch_size_max, size as u64);
        Self::add(&self.batch_time_us, us);
        Self::max(&self.batch_time_max_us, us);
    }
    /// Records one offset commit.
    pub fn commit(&self, ok: bool, elapsed: std::time::Duration) {
        let us = elapsed.as_micros() as u64;
        if ok {
            Self::add(&self.offset_commit_success, 1);
        } else {
            Self::add(&self.offset_commit_failure, 1);
        }
        Self::add(&self.offset_commit_time_us, us);
        Self::max(&self.offset_commit_time_max_us, us);
    }
}
