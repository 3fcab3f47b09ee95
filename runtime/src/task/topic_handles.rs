//! librdkafka topic handles kept per topic, so that a source task hands each record to
//! librdkafka by handle (`RD_KAFKA_V_RKT`) rather than by name. rust-rdkafka's `send`
//! copies the topic name into a new C string for every record, and librdkafka then
//! looks the topic up by that name under a lock; together about 350 of the 10,350
//! instructions per row of the JDBC source (`scripts/jdbc-instructions.sh`).
//!
//! Everything else is as rust-rdkafka's `BaseProducer::send` does it: the payload and
//! key are copied (`RD_KAFKA_MSG_F_COPY`), the partition is -1 (the partitioner's
//! choice) unless given, the timestamp 0 (now) unless given, and the delivery opaque
//! is the slot number as a pointer, which rust-rdkafka's delivery callback turns back
//! into the `usize` its context receives. A record with headers still goes through
//! rust-rdkafka (it alone can hand over its headers).

use std::collections::HashMap;
use std::ffi::{c_void, CString};
use std::sync::Arc;

use rdkafka::bindings as rd;
use rdkafka::types::RDKafkaRespErr;

/// At most this many handles are kept; past it they are all released and made again
/// as records come (a task routed to ever new topics does not grow without bound).
const MAX_HANDLES: usize = 1024;

/// A handle on one topic, released when dropped.
struct Handle(*mut rd::rd_kafka_topic_t);

// SAFETY: librdkafka's topic handles may be used from any thread, at once too, and
// destroyed from any thread.
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from rd_kafka_topic_new and is destroyed once.
        unsafe { rd::rd_kafka_topic_destroy(self.0) }
    }
}

/// The topic handles of one producer. Must be dropped before the producer's last
/// reference (a field declared before it).
#[derive(Default)]
pub(crate) struct TopicHandles {
    handles: HashMap<Arc<str>, Handle>,
    /// The topic of the previous record and its handle: records of one stream share a
    /// topic, and comparing it costs less than hashing it (about 270 instructions per
    /// record for the JDBC source's topic names).
    last: Option<(Arc<str>, Borrowed)>,
}

/// A copy of a handle that `handles` owns.
#[derive(Clone, Copy)]
struct Borrowed(*mut rd::rd_kafka_topic_t);

// SAFETY: as for `Handle`; a `Borrowed` is never destroyed.
unsafe impl Send for Borrowed {}
unsafe impl Sync for Borrowed {}

impl TopicHandles {
    /// The handle of `topic` on producer `rk`, made on first use; `None` when the name
    /// cannot be a C string (the caller then sends through rust-rdkafka, which reports
    /// the error) or librdkafka refuses it.
    pub fn get(
        &mut self,
        rk: *mut rd::rd_kafka_t,
        topic: &Arc<str>,
    ) -> Option<*mut rd::rd_kafka_topic_t> {
        if let Some((name, rkt)) = &self.last {
            if Arc::ptr_eq(name, topic) || **name == **topic {
                return Some(rkt.0);
            }
        }
        let rkt = self.lookup(rk, topic)?;
        self.last = Some((topic.clone(), Borrowed(rkt)));
        Some(rkt)
    }

    fn lookup(
        &mut self,
        rk: *mut rd::rd_kafka_t,
        topic: &Arc<str>,
    ) -> Option<*mut rd::rd_kafka_topic_t> {
        if let Some(h) = self.handles.get(topic) {
            return Some(h.0);
        }
        let name = CString::new(topic.as_bytes()).ok()?;
        // SAFETY: `rk` is a live producer; a null configuration means the producer's
        // default topic configuration, as a send by name uses.
        let rkt = unsafe { rd::rd_kafka_topic_new(rk, name.as_ptr(), std::ptr::null_mut()) };
        if rkt.is_null() {
            return None;
        }
        if self.handles.len() >= MAX_HANDLES {
            // `last` is replaced by the caller before it could point at a freed handle.
            self.last = None;
            self.handles.clear();
        }
        self.handles.insert(topic.clone(), Handle(rkt));
        Some(rkt)
    }
}

/// A record without headers, as rust-rdkafka's `send` hands it over but by topic
/// handle. Returns librdkafka's answer (`QueueFull` when its queue is full).
///
/// # Safety
/// `rk` must be the live producer that `rkt` was made on.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn produce(
    rk: *mut rd::rd_kafka_t,
    rkt: *mut rd::rd_kafka_topic_t,
    partition: Option<i32>,
    key: Option<&[u8]>,
    payload: Option<&[u8]>,
    timestamp: Option<i64>,
    opaque: usize,
) -> RDKafkaRespErr {
    let parts = |b: Option<&[u8]>| match b {
        Some(b) => (b.as_ptr() as *mut c_void, b.len()),
        None => (std::ptr::null_mut(), 0),
    };
    let (payload_ptr, payload_len) = parts(payload);
    let (key_ptr, key_len) = parts(key);
    rd::rd_kafka_producev(
        rk,
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_RKT,
        rkt,
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_PARTITION,
        partition.unwrap_or(-1),
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_MSGFLAGS,
        rd::RD_KAFKA_MSG_F_COPY,
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_VALUE,
        payload_ptr,
        payload_len,
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_KEY,
        key_ptr,
        key_len,
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_OPAQUE,
        opaque as *mut c_void,
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_TIMESTAMP,
        timestamp.unwrap_or(0),
        rd::rd_kafka_vtype_t::RD_KAFKA_VTYPE_END,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::producer::{DefaultProducerContext, Producer, ThreadedProducer};

    #[test]
    fn one_handle_per_topic_and_none_for_a_name_c_cannot_hold() {
        // Making handles needs no broker.
        let p: ThreadedProducer<DefaultProducerContext> = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .create()
            .unwrap();
        let rk = p.client().native_ptr();
        let mut handles = TopicHandles::default();
        let a: Arc<str> = Arc::from("topic-a");
        let first = handles.get(rk, &a).unwrap();
        assert_eq!(handles.get(rk, &Arc::from("topic-a")), Some(first));
        assert_ne!(handles.get(rk, &Arc::from("topic-b")), Some(first));
        assert_eq!(handles.get(rk, &Arc::from("bad\0name")), None);
        // Back to a topic seen before: its own handle, not the last one used.
        let b = handles.get(rk, &Arc::from("topic-b")).unwrap();
        assert_eq!(handles.get(rk, &a), Some(first));
        assert_eq!(handles.get(rk, &Arc::from("topic-b")), Some(b));
        drop(handles);
    }
}
