//! Fetched messages read in batches, straight from librdkafka.
//!
//! rust-rdkafka's `poll` hands out one message per call, and every call reads the clock
//! three or four times (librdkafka times each poll for `max.poll.interval.ms` and its
//! telemetry). For a sink consumer that was a quarter of its thread's time.
//! librdkafka's `rd_kafka_consume_batch_queue` takes up to N messages in one call, but
//! it must not read the consumer's main queue: it would handle a rebalance event there
//! itself (by unassigning everything) instead of returning it to rust-rdkafka. So the
//! fetch queue of every assigned partition is forwarded to a queue of its own, which is
//! read here in batches, while the main queue (rebalances, errors, statistics) is still
//! polled through rust-rdkafka.
//!
//! librdkafka clears a partition's forwarding when it stops fetching it (at a
//! revocation) and, once an application has forwarded it, does not forward it to the
//! group queue again: the owner must forward every partition it is assigned, each time.
//! Messages fetched before a revocation or a pause are discarded by librdkafka's own
//! version check when this queue is read, as they are on the main queue.

use std::ffi::{CStr, CString};
use std::time::Duration;

use bytes::Bytes;
use rdkafka::bindings as rd;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::connector::TopicPartition;
use crate::data::TimestampType;

/// A librdkafka queue that assigned partitions' fetched messages are forwarded to.
///
/// Must be dropped before the consumer it was made from (it holds the client's handle
/// without keeping it alive).
pub struct FetchQueue {
    queue: *mut rd::rd_kafka_queue_t,
    client: *mut rd::rd_kafka_t,
    /// Where a read puts the message pointers; kept to reuse its allocation.
    slots: Vec<*mut rd::rd_kafka_message_t>,
}

// SAFETY: librdkafka's queue and client handles are thread-safe; the message slots are
// only used inside `read`, which takes `&mut self`.
unsafe impl Send for FetchQueue {}
unsafe impl Sync for FetchQueue {}

impl FetchQueue {
    /// A new, empty queue of `consumer`'s client.
    pub fn new<C: ConsumerContext>(consumer: &BaseConsumer<C>) -> Self {
        let client = consumer.client().native_ptr();
        // SAFETY: `client` is a live handle; the queue is destroyed in `drop`.
        let queue = unsafe { rd::rd_kafka_queue_new(client) };
        FetchQueue {
            queue,
            client,
            slots: Vec::new(),
        }
    }

    /// Forwards the fetched messages of `partitions` to this queue (again, if they
    /// were). Messages already waiting on a partition's own queue move along with it.
    pub fn forward(&self, partitions: &[TopicPartition]) {
        for tp in partitions {
            let Ok(topic) = CString::new(tp.topic.as_str()) else {
                continue;
            };
            // SAFETY: `client` and `queue` are live; the partition queue handle that
            // `rd_kafka_queue_get_partition` returns is ours to destroy, and forwarding
            // keeps its own reference to the destination.
            unsafe {
                let partition_queue =
                    rd::rd_kafka_queue_get_partition(self.client, topic.as_ptr(), tp.partition);
                if partition_queue.is_null() {
                    tracing::warn!(topic = %tp.topic, partition = tp.partition, "cannot read the fetch queue of an assigned partition");
                    continue;
                }
                rd::rd_kafka_queue_forward(partition_queue, self.queue);
                rd::rd_kafka_queue_destroy(partition_queue);
            }
        }
    }

    /// Takes up to `max` messages, waiting up to `wait` for the first one. The messages
    /// are librdkafka's until the returned batch is dropped.
    pub fn read(&mut self, wait: Duration, max: usize) -> Fetched<'_> {
        self.slots.clear();
        self.slots.reserve(max);
        let wait_ms = wait.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: `slots` has room for `max` pointers; librdkafka writes at most `max`
        // and returns how many (or -1 on an error, then none).
        let n = unsafe {
            rd::rd_kafka_consume_batch_queue(self.queue, wait_ms, self.slots.as_mut_ptr(), max)
        };
        if n > 0 {
            // SAFETY: librdkafka initialised the first `n` slots.
            unsafe { self.slots.set_len(n as usize) };
        }
        Fetched {
            slots: &mut self.slots,
        }
    }
}

impl Drop for FetchQueue {
    fn drop(&mut self) {
        // SAFETY: the handle is ours; partitions still forwarded here keep the queue
        // itself alive until librdkafka stops fetching them.
        unsafe { rd::rd_kafka_queue_destroy(self.queue) }
    }
}

/// Messages taken from a [`FetchQueue`], given back to librdkafka on drop.
pub struct Fetched<'q> {
    slots: &'q mut Vec<*mut rd::rd_kafka_message_t>,
}

impl Fetched<'_> {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = FetchedMessage<'_>> {
        // SAFETY: every slot holds a message librdkafka returned, alive until drop.
        self.slots
            .iter()
            .map(|m| FetchedMessage { m: unsafe { &**m } })
    }
}

impl Drop for Fetched<'_> {
    fn drop(&mut self) {
        for m in self.slots.drain(..) {
            // SAFETY: each message was returned by `rd_kafka_consume_batch_queue` and
            // is destroyed once.
            unsafe { rd::rd_kafka_message_destroy(m) }
        }
    }
}

/// One fetched message (or a consumer error in a message's clothes).
pub struct FetchedMessage<'a> {
    m: &'a rd::rd_kafka_message_t,
}

impl<'a> FetchedMessage<'a> {
    /// The consumer error this message carries instead of data, if it does.
    pub fn error(&self) -> Option<KafkaError> {
        if self.m.err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return None;
        }
        let code: RDKafkaErrorCode = self.m.err.into();
        Some(KafkaError::MessageConsumption(code))
    }

    /// The topic handle: the same pointer for every message of one topic in a batch.
    pub fn topic_handle(&self) -> *const rd::rd_kafka_topic_t {
        self.m.rkt
    }

    pub fn topic(&self) -> &'a str {
        // SAFETY: a message keeps its topic alive; the name is a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(rd::rd_kafka_topic_name(self.m.rkt)) };
        name.to_str().unwrap_or_default()
    }

    pub fn partition(&self) -> i32 {
        self.m.partition
    }

    pub fn offset(&self) -> i64 {
        self.m.offset
    }

    pub fn key(&self) -> Option<&'a [u8]> {
        // SAFETY: librdkafka's key pointer and length describe one buffer it owns.
        (!self.m.key.is_null())
            .then(|| unsafe { std::slice::from_raw_parts(self.m.key as *const u8, self.m.key_len) })
    }

    pub fn payload(&self) -> Option<&'a [u8]> {
        // SAFETY: as for the key.
        (!self.m.payload.is_null())
            .then(|| unsafe { std::slice::from_raw_parts(self.m.payload as *const u8, self.m.len) })
    }

    pub fn timestamp(&self) -> (Option<i64>, TimestampType) {
        let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        // SAFETY: reads the message's own fields.
        let t = unsafe { rd::rd_kafka_message_timestamp(self.m, &mut kind) };
        match kind {
            rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME => {
                (Some(t), TimestampType::CreateTime)
            }
            rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME => {
                (Some(t), TimestampType::LogAppendTime)
            }
            _ => (None, TimestampType::NoTimestampType),
        }
    }

    /// The message's headers, copied (librdkafka parses them on the first call).
    pub fn headers(&self) -> Vec<(String, Option<Bytes>)> {
        let mut hdrs: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
        // SAFETY: on success `hdrs` points at headers the message owns.
        let err = unsafe { rd::rd_kafka_message_headers(self.m, &mut hdrs) };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || hdrs.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for idx in 0.. {
            let mut name: *const std::ffi::c_char = std::ptr::null();
            let mut value: *const std::ffi::c_void = std::ptr::null();
            let mut size = 0usize;
            // SAFETY: `idx` past the end returns an error and writes nothing.
            let err =
                unsafe { rd::rd_kafka_header_get_all(hdrs, idx, &mut name, &mut value, &mut size) };
            if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                break;
            }
            // SAFETY: librdkafka returned a NUL-terminated name and a value of `size`
            // bytes (or a null value).
            let key = unsafe { CStr::from_ptr(name) }
                .to_string_lossy()
                .into_owned();
            let value = (!value.is_null()).then(|| {
                Bytes::copy_from_slice(unsafe {
                    std::slice::from_raw_parts(value as *const u8, size)
                })
            });
            out.push((key, value));
        }
        out
    }
}
