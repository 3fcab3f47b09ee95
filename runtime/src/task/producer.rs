//! The producer of a source task: many records in flight, each delivery report marks
//! its slot in [`InOrderAcks`].

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext};

use super::in_order::AckRing;
use super::pipeline::OutRecord;
use super::topic_handles::{produce, TopicHandles};
use super::TaskMetrics;
use crate::connector::StatusDetail;

/// Routes delivery reports to the task's in-order tracker.
pub(crate) struct DeliveryContext {
    acks: Arc<AckRing>,
    /// `errors.tolerance=all`: a record Kafka rejects is logged and skipped.
    tolerate: bool,
    task: String,
    metrics: Arc<TaskMetrics>,
    /// Where a refused password or certificate shows (the task's status detail).
    detail: StatusDetail,
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::error!(target: "librdkafka", task = %self.task, "librdkafka: {}: {}", error, reason);
        if let Some(why) = crate::kafka::diagnose::credential_failure(&error, reason) {
            self.detail
                .set(format!("Kafka refused the connection: {}", why));
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        if seq == UNTRACKED {
            // Offsets inside a transaction: the commit reports their fate.
            return;
        }
        match result {
            Ok(_) => {
                TaskMetrics::add(&self.metrics.source_record_write, 1);
                self.acks.complete(seq as u64, Ok(()))
            }
            Err((e, msg)) => {
                use rdkafka::Message;
                let what = rejection("did not accept", msg.topic(), e);
                if self.tolerate {
                    tracing::error!(task = %self.task, "{}; skipping it (errors.tolerance=all)", what);
                    TaskMetrics::add(&self.metrics.records_skipped, 1);
                    self.acks.complete(seq as u64, Ok(()))
                } else {
                    self.acks.complete(seq as u64, Err(what))
                }
            }
        }
    }
}

/// Why Kafka refused a record, in words that say what to do.
fn rejection(verb: &str, topic: &str, e: &KafkaError) -> String {
    match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::UnknownTopic | RDKafkaErrorCode::UnknownTopicOrPartition) => format!(
            "Kafka {} a record: topic {} does not exist and the broker did not create it (its auto.create.topics.enable is off, or this client may not create topics). Create the topic, or let the connector create it (set topic.creation.default.replication.factor and topic.creation.default.partitions), then restart the task ({})",
            verb, topic, e
        ),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed) => format!(
            "Kafka {} a record: this worker may not write to topic {} (check the ACLs of its principal) ({})",
            verb, topic, e
        ),
        _ => format!("Kafka {} a record for topic {}: {}", verb, topic, e),
    }
}

/// The delivery opaque of records that hold no slot (offsets inside a transaction).
pub(crate) const UNTRACKED: usize = usize::MAX;

/// A source task's producer.
pub(crate) struct SourceProducer {
    /// Declared first: dropped before the producer.
    topics: TopicHandles,
    producer: ThreadedProducer<DeliveryContext>,
    acks: Arc<AckRing>,
}

impl SourceProducer {
    pub fn new(
        config: &ClientConfig,
        acks: Arc<AckRing>,
        tolerate: bool,
        task: String,
        metrics: Arc<TaskMetrics>,
        detail: StatusDetail,
    ) -> Result<Self, KafkaError> {
        let ctx = DeliveryContext {
            acks: acks.clone(),
            tolerate,
            task,
            metrics,
            detail,
        };
        let producer = config.create_with_context(ctx)?;
        Ok(SourceProducer {
            topics: TopicHandles::default(),
            producer,
            acks,
        })
    }

    /// Hands a record to the producer; its slot `seq` completes on delivery. Waits while
    /// the producer's queue is full. An immediate rejection completes the slot with the
    /// error (or as skipped when tolerated).
    pub async fn send(&mut self, seq: u64, rec: &OutRecord) {
        if rec.headers.is_empty() && self.send_by_handle(seq, rec).await {
            return;
        }
        let mut headers = None;
        if !rec.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(rec.headers.len());
            for (k, v) in &rec.headers {
                h = h.insert(Header {
                    key: k,
                    value: v.as_deref(),
                });
            }
            headers = Some(h);
        }
        loop {
            let mut r: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(&rec.topic, seq as usize);
            if let Some(k) = &rec.key {
                r = r.key(&k[..]);
            }
            if let Some(v) = &rec.value {
                r = r.payload(&v[..]);
            }
            if let Some(p) = rec.partition {
                r = r.partition(p);
            }
            if let Some(ts) = rec.timestamp {
                r = r.timestamp(ts);
            }
            if let Some(h) = &headers {
                r = r.headers(h.clone());
            }
            match self.producer.send(r) {
                Ok(()) => return,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // Deliveries free room; wait for the next one (or a millisecond).
                    let _ =
                        tokio::time::timeout(Duration::from_millis(1), self.acks.changed()).await;
                }
                Err((e, _)) => {
                    self.rejected(seq, &rec.topic, &e);
                    return;
                }
            }
        }
    }

    /// [`send`](Self::send) for a record without headers, by topic handle; false when
    /// the topic has no handle (nothing was sent).
    async fn send_by_handle(&mut self, seq: u64, rec: &OutRecord) -> bool {
        loop {
            // The raw pointers stay in this block: the future holds none across an await.
            let err = {
                let rk = self.producer.client().native_ptr();
                let Some(rkt) = self.topics.get(rk, &rec.topic) else {
                    return false;
                };
                // SAFETY: `rkt` was made on `rk`, this task's live producer.
                unsafe {
                    produce(
                        rk,
                        rkt,
                        rec.partition,
                        rec.key.as_deref(),
                        rec.value.as_deref(),
                        rec.timestamp,
                        seq as usize,
                    )
                }
            };
            match RDKafkaErrorCode::from(err) {
                RDKafkaErrorCode::NoError => return true,
                RDKafkaErrorCode::QueueFull => {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(1), self.acks.changed()).await;
                }
                code => {
                    self.rejected(seq, &rec.topic, &KafkaError::MessageProduction(code));
                    return true;
                }
            }
        }
    }

    /// Completes slot `seq` of a record the producer refused at once: with the error,
    /// or as skipped when tolerated.
    fn rejected(&self, seq: u64, topic: &str, e: &KafkaError) {
        let what = rejection("rejected", topic, e);
        if self.producer.context().tolerate {
            tracing::error!("{}; skipping it (errors.tolerance=all)", what);
            self.acks.complete(seq, Ok(()));
        } else {
            self.acks.complete(seq, Err(what));
        }
    }

    /// Sends a record that holds no slot (an offset record inside a transaction).
    pub async fn send_untracked(
        &self,
        topic: &str,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), String> {
        loop {
            let mut r: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(topic, UNTRACKED).key(key);
            if let Some(v) = value {
                r = r.payload(v);
            }
            match self.producer.send(r) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    let _ =
                        tokio::time::timeout(Duration::from_millis(1), self.acks.changed()).await;
                }
                Err((e, _)) => return Err(format!("cannot write offsets to {}: {}", topic, e)),
            }
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ThreadedProducer<DeliveryContext>) -> Result<T, KafkaError> + Send + 'static,
    ) -> Result<T, String> {
        let p = self.producer.clone();
        tokio::task::spawn_blocking(move || f(&p).map_err(|e| e.to_string()))
            .await
            .map_err(|e| e.to_string())?
    }

    /// Registers the transactional id (fencing older producers with it, on brokers
    /// that fence).
    pub async fn init_transactions(&self) -> Result<(), String> {
        self.blocking(|p| p.init_transactions(Duration::from_secs(60)))
            .await
    }

    pub async fn begin_transaction(&self) -> Result<(), String> {
        self.blocking(|p| p.begin_transaction()).await
    }

    /// Commits: every record of the transaction is delivered when this returns Ok.
    pub async fn commit_transaction(&self) -> Result<(), String> {
        self.blocking(|p| p.commit_transaction(Duration::from_secs(60)))
            .await
    }

    /// The producer's fatal error, if it has one (after which it can do nothing more),
    /// e.g. fenced by a newer producer with the same `transactional.id`.
    pub fn fatal_error(&self) -> Option<(RDKafkaErrorCode, String)> {
        self.producer.client().fatal_error()
    }

    /// Delivers everything handed to the producer so far (used by fault hooks).
    pub fn flush(&self, timeout: Duration) {
        let _ = self.producer.flush(timeout);
    }

    pub async fn abort_transaction(&self) -> Result<(), String> {
        self.blocking(|p| p.abort_transaction(Duration::from_secs(60)))
            .await
    }
}
