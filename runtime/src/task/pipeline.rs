//! Per-record processing shared by the task loops: transforms, converters, and what to
//! do when a record fails (fail the task, skip it, or send it to the dead letter queue).

use std::sync::Arc;

use bytes::Bytes;

use crate::config::ConfigErrors;
use crate::connector::FailedSourceRecord;
use crate::convert::{build_converter, build_header_converter, Converter, HeaderConverter};
use crate::data::{
    Headers, KafkaOrigin, RawMessage, Record, SchemaAndValue, SinkRecord, SourceRecord,
    TimestampType,
};
use crate::errors::{dlq_headers, DeadLetter, ErrorPolicy, RecordError, RecordLocation, Stage};
use crate::lifecycle::PipelineSpec;
use crate::tap::{TapStage, TaskTap, WrittenRecord};
use crate::task::{TaskId, TaskMetrics};
use crate::transforms::{Fate, TransformChain};

/// A record ready for the Kafka producer.
#[derive(Debug, Clone)]
pub struct OutRecord {
    pub topic: Arc<str>,
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub timestamp: Option<i64>,
}

/// What became of one record.
pub enum Outcome<T> {
    /// Carry on with it.
    Ok(T),
    /// Dropped by a transform, or skipped after an error with tolerance `all`.
    Dropped,
    /// Skipped after an error; write this to the dead letter queue.
    DeadLetter(OutRecord),
    /// Tolerance `none`: the task must fail with this trace.
    Fail(String),
    /// A retriable error (a Schema Registry that cannot be reached): not the record's
    /// fault, so it is never skipped or dead-lettered; the task tries the record again
    /// within `errors.retry.timeout`, then fails.
    Retry(Box<RetryRecord>),
}

/// A record whose conversion failed retriably, with what is needed to convert it again.
pub struct RetryRecord {
    pub error: RecordError,
    pub again: Option<RetryInput>,
}

/// What a retriably failed record is converted again from.
pub enum RetryInput {
    /// Sink side: the record as read from Kafka.
    Sink(KafkaOrigin, Arc<RawMessage>, TimestampType),
    /// Source side: the record after its transforms (they are not applied twice), to be
    /// converted again with [`RecordPipeline::convert_source`].
    Source(Box<Record>),
}

impl RetryRecord {
    /// The trace of a task that gave up: what failed, where, why, and that the record
    /// was kept (it is read again after the restart).
    pub fn trace(&self, connector: &str, task: u32, retries: &str) -> String {
        let e = &self.error;
        format!(
            "task {}-{} failed in stage {} ({}) on record {} with a retriable error ({}); \
             the record was neither skipped nor sent to a dead letter queue: {}",
            connector, task, e.stage, e.class_name, e.location, retries, e.message
        )
    }
}

/// Applies a connector's error policy to failed records: fail, skip, or dead-letter.
#[derive(Clone)]
pub struct ErrorHandler {
    pub id: TaskId,
    pub policy: ErrorPolicy,
    pub metrics: Arc<TaskMetrics>,
}

impl ErrorHandler {
    /// Decides what a record error leads to, logging and counting it.
    pub fn handle(
        &self,
        err: RecordError,
        dead_letter: impl FnOnce() -> DeadLetter,
    ) -> Outcome<()> {
        TaskMetrics::add(&self.metrics.record_errors, 1);
        if !self.policy.tolerates_all() {
            TaskMetrics::add(&self.metrics.record_failures, 1);
            return Outcome::Fail(err.trace(&self.id.connector, self.id.task));
        }
        if self.policy.log_enable {
            TaskMetrics::add(&self.metrics.errors_logged, 1);
        }
        self.policy.log(&self.id.connector, self.id.task, &err);
        TaskMetrics::add(&self.metrics.records_skipped, 1);
        match &self.policy.dlq_topic {
            None => Outcome::Dropped,
            Some(topic) => {
                let dl = dead_letter();
                let mut headers = dl.headers;
                if self.policy.dlq_context_headers {
                    headers.extend(dlq_headers(&self.id.connector, self.id.task, &err));
                }
                TaskMetrics::add(&self.metrics.dlq_produce_requests, 1);
                Outcome::DeadLetter(OutRecord {
                    topic: Arc::from(topic.as_str()),
                    partition: None,
                    key: dl.key,
                    value: dl.value,
                    headers,
                    timestamp: dl.timestamp,
                })
            }
        }
    }
}

/// Converters, transforms and error policy of one task.
pub struct RecordPipeline {
    pub id: TaskId,
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    header: Box<dyn HeaderConverter>,
    key_class: String,
    value_class: String,
    header_class: String,
    transforms: TransformChain,
    pub policy: ErrorPolicy,
    pub metrics: Arc<TaskMetrics>,
    /// A converter may fail retriably: keep each sink record's bytes until converted.
    keep_raw: bool,
    /// The live tap (`None` when the worker disables it).
    tap: Option<TaskTap>,
}

impl RecordPipeline {
    /// Builds the task's own converters and transforms from the connector's spec.
    pub fn new(
        id: TaskId,
        spec: &PipelineSpec,
        policy: ErrorPolicy,
        metrics: Arc<TaskMetrics>,
    ) -> Result<Self, ConfigErrors> {
        let key = build_converter("key.converter", &spec.key.class, &spec.key.config, true)?;
        let value = build_converter(
            "value.converter",
            &spec.value.class,
            &spec.value.config,
            false,
        )?;
        Ok(RecordPipeline {
            keep_raw: key.may_fail_retriably() || value.may_fail_retriably(),
            key,
            value,
            header: build_header_converter(
                "header.converter",
                &spec.header.class,
                &spec.header.config,
            )?,
            key_class: spec.key.class.clone(),
            value_class: spec.value.class.clone(),
            header_class: spec.header.class.clone(),
            transforms: TransformChain::from_config(&spec.transforms)?,
            id,
            policy,
            metrics,
            tap: None,
        })
    }

    /// Publishes samples of this task's records to the connector's live tap.
    pub fn set_tap(&mut self, tap: TaskTap) {
        self.tap = Some(tap);
    }

    /// Applies the transforms to the record where it is; a sampled record is shown
    /// after each of them.
    fn transform(
        &mut self,
        record: &mut Record,
        sampled: bool,
    ) -> Result<Fate, crate::transforms::TransformFailure> {
        match self.tap.as_ref().filter(|_| sampled) {
            None => self.transforms.apply_in_place(record),
            Some(tap) => self.transforms.apply_observed(record, |alias, r| match r {
                Some(r) => tap.record(TapStage::Transform, Some(alias), r),
                None => tap.dropped(alias),
            }),
        }
    }

    fn on_error(&self, err: RecordError, dead_letter: impl FnOnce() -> DeadLetter) -> Outcome<()> {
        self.errors().handle(err, dead_letter)
    }

    /// Whether the key and the value converter make the buffer they convert their own
    /// (see [`Converter::keeps_buffer`]).
    pub fn keeps_buffers(&self) -> (bool, bool) {
        (self.key.keeps_buffer(), self.value.keeps_buffer())
    }

    /// Whether records need their Kafka headers for this pipeline's own work:
    /// transforms and predicates may look at them, dead letters carry them, and the
    /// live tap shows them while someone watches (checked again for every batch).
    pub fn headers_wanted(&self) -> Arc<dyn Fn() -> bool + Send + Sync> {
        if !self.transforms.is_empty() || self.policy.dlq_topic.is_some() {
            return Arc::new(|| true);
        }
        match &self.tap {
            Some(tap) => {
                let tap = tap.hub();
                Arc::new(move || tap.active())
            }
            None => Arc::new(|| false),
        }
    }

    /// The error handler of this pipeline.
    pub fn errors(&self) -> ErrorHandler {
        ErrorHandler {
            id: self.id.clone(),
            policy: self.policy.clone(),
            metrics: self.metrics.clone(),
        }
    }

    fn map_unit<T>(o: Outcome<()>) -> Outcome<T> {
        match o {
            Outcome::Ok(()) | Outcome::Dropped => Outcome::Dropped,
            Outcome::DeadLetter(r) => Outcome::DeadLetter(r),
            Outcome::Fail(t) => Outcome::Fail(t),
            Outcome::Retry(r) => Outcome::Retry(r),
        }
    }

    /// A retriable converter error on the source side: the task converts the record
    /// again (see `task::source`); its offset is not committed meanwhile.
    fn source_retry<T>(err: RecordError, record: Record) -> Outcome<T> {
        Outcome::Retry(Box::new(RetryRecord {
            error: err,
            again: Some(RetryInput::Source(Box::new(record))),
        }))
    }

    /// Source side: transforms, then converters.
    pub fn source_record(
        &mut self,
        rec: SourceRecord,
        position: impl Fn() -> String,
    ) -> Outcome<OutRecord> {
        let mut record = rec.record;
        let sampled = self.tap.as_mut().is_some_and(TaskTap::sample);
        if let Some(tap) = self.tap.as_ref().filter(|_| sampled) {
            tap.record(TapStage::Source, None, &record);
        }
        let fallback = |r: &Record| DeadLetter {
            key: schemaless_json(&r.key),
            value: schemaless_json(&r.value),
            headers: Vec::new(),
            timestamp: r.timestamp,
        };
        if !self.transforms.is_empty() {
            let snapshot = if self.policy.dlq_topic.is_some() {
                Some(record.clone())
            } else {
                None
            };
            match self.transform(&mut record, sampled) {
                Ok(Fate::Keep) => {}
                Ok(Fate::Drop) => return Outcome::Dropped,
                Err(f) => {
                    let err = RecordError {
                        stage: Stage::Transformation,
                        class_name: f.class,
                        location: RecordLocation::Source {
                            description: position(),
                        },
                        message: f.message,
                    };
                    return Self::map_unit(
                        self.on_error(err, || fallback(snapshot.as_ref().unwrap())),
                    );
                }
            }
        }
        let out = self.convert_source(record, position);
        if let (Some(tap), Outcome::Ok(o)) = (self.tap.as_ref().filter(|_| sampled), &out) {
            tap.written(WrittenRecord {
                topic: &o.topic,
                partition: o.partition,
                key: o.key.as_ref(),
                value: o.value.as_ref(),
                headers: &o.headers,
                timestamp: o.timestamp,
            });
        }
        out
    }

    /// Source side: the converters, for a record that went through its transforms.
    /// Takes the box the record came in (see [`SourceRecord`]): unboxing it first would
    /// copy it.
    #[allow(clippy::boxed_local)]
    pub fn convert_source(
        &mut self,
        record: Box<Record>,
        position: impl Fn() -> String,
    ) -> Outcome<OutRecord> {
        let Record {
            topic,
            partition,
            key,
            value,
            headers: record_headers,
            timestamp,
            kafka_offset,
        } = *record;
        let loc = || RecordLocation::Source {
            description: position(),
        };
        let mut headers = Vec::with_capacity(record_headers.len());
        for h in record_headers.iter() {
            match self.header.from_connect_header(&topic, &h.key, &h.value) {
                Ok(b) => headers.push((h.key.clone(), b)),
                Err(e) => {
                    let err = RecordError {
                        stage: Stage::HeaderConverter,
                        class_name: self.header_class.clone(),
                        location: loc(),
                        message: format!("header {}: {}", h.key, e.0),
                    };
                    return Self::map_unit(self.on_error(err, || DeadLetter {
                        key: schemaless_json(&key),
                        value: schemaless_json(&value),
                        headers: Vec::new(),
                        timestamp,
                    }));
                }
            }
        }
        // Kept only when the value converter may fail retriably: the key is converted
        // again with the value then.
        let key_copy = self.value.may_fail_retriably().then(|| key.clone());
        // Key and value are converted by value: a string or bytes payload is not copied.
        let key = match self.key.from_connect_owned(&topic, &record_headers, key) {
            Ok(k) => k,
            Err((e, key)) => {
                let retriable = e.is_retriable();
                let err = RecordError {
                    stage: Stage::KeyConverter,
                    class_name: self.key_class.clone(),
                    location: loc(),
                    message: e.0,
                };
                if retriable {
                    let record = Record {
                        topic,
                        partition,
                        key,
                        value,
                        headers: record_headers,
                        timestamp,
                        kafka_offset,
                    };
                    return Self::source_retry(err, record);
                }
                return Self::map_unit(self.on_error(err, || DeadLetter {
                    key: schemaless_json(&key),
                    value: schemaless_json(&value),
                    headers: Vec::new(),
                    timestamp,
                }));
            }
        };
        let value = match self
            .value
            .from_connect_owned(&topic, &record_headers, value)
        {
            Ok(v) => v,
            Err((e, value)) => {
                let retriable = e.is_retriable();
                let err = RecordError {
                    stage: Stage::ValueConverter,
                    class_name: self.value_class.clone(),
                    location: loc(),
                    message: e.0,
                };
                if retriable {
                    let Some(key) = key_copy else {
                        // Not expected (the converter said it never fails retriably):
                        // the task fails rather than skip the record.
                        return Outcome::Retry(Box::new(RetryRecord {
                            error: err,
                            again: None,
                        }));
                    };
                    let record = Record {
                        topic,
                        partition,
                        key,
                        value,
                        headers: record_headers,
                        timestamp,
                        kafka_offset,
                    };
                    return Self::source_retry(err, record);
                }
                return Self::map_unit(self.on_error(err, || DeadLetter {
                    key: key.clone(),
                    value: schemaless_json(&value),
                    headers: Vec::new(),
                    timestamp,
                }));
            }
        };
        Outcome::Ok(OutRecord {
            topic,
            partition,
            key,
            value,
            headers,
            timestamp,
        })
    }

    /// Source side: a message the task could not build.
    pub fn failed_source_record(&mut self, f: FailedSourceRecord) -> Outcome<OutRecord> {
        let err = RecordError {
            stage: Stage::TaskPoll,
            class_name: f.class_name.clone(),
            location: RecordLocation::Source {
                description: f.position.clone(),
            },
            message: f.error.clone(),
        };
        Self::map_unit(self.on_error(err, || DeadLetter {
            key: f.key,
            value: f.value,
            headers: f.headers,
            timestamp: None,
        }))
    }

    /// Sink side: converters, then transforms.
    pub fn sink_record(
        &mut self,
        origin: KafkaOrigin,
        raw: RawMessage,
        ts_type: TimestampType,
    ) -> Outcome<SinkRecord> {
        // The original bytes are kept only when a dead letter queue may need them;
        // otherwise the converters take the buffers over without copying.
        let raw_copy = if self.policy.dlq_topic.is_some() || self.keep_raw {
            Some(Arc::new(raw.clone()))
        } else {
            None
        };
        let RawMessage {
            key: raw_key,
            value: raw_value,
            headers: raw_headers,
            timestamp,
        } = raw;
        panic_fault(raw_value.as_deref());
        let topic: &str = &origin.topic;
        let loc = || RecordLocation::Kafka {
            topic: origin.topic.to_string(),
            partition: origin.partition,
            offset: origin.offset,
        };
        let dl = || match &raw_copy {
            Some(raw) => DeadLetter {
                key: raw.key.clone(),
                value: raw.value.clone(),
                headers: raw.headers.clone(),
                timestamp: raw.timestamp,
            },
            None => DeadLetter {
                key: None,
                value: None,
                headers: Vec::new(),
                timestamp,
            },
        };
        let mut headers = Headers::new();
        for (k, v) in raw_headers {
            match self.header.to_connect_header(topic, &k, v.as_deref()) {
                Ok(h) => {
                    headers.add(k, h);
                }
                Err(e) => {
                    let err = RecordError {
                        stage: Stage::HeaderConverter,
                        class_name: self.header_class.clone(),
                        location: loc(),
                        message: format!("header {}: {}", k, e.0),
                    };
                    return Self::map_unit(self.on_error(err, dl));
                }
            }
        }
        let key = match self.key.to_connect_owned(topic, &headers, raw_key) {
            Ok(k) => k,
            Err(e) => {
                let retriable = e.is_retriable();
                let err = RecordError {
                    stage: Stage::KeyConverter,
                    class_name: self.key_class.clone(),
                    location: loc(),
                    message: e.0,
                };
                if let Some(raw) = raw_copy.as_ref().filter(|_| retriable) {
                    return Outcome::Retry(Box::new(RetryRecord {
                        error: err,
                        again: Some(RetryInput::Sink(origin.clone(), raw.clone(), ts_type)),
                    }));
                }
                return Self::map_unit(self.on_error(err, dl));
            }
        };
        let value = match self.value.to_connect_owned(topic, &headers, raw_value) {
            Ok(v) => v,
            Err(e) => {
                let retriable = e.is_retriable();
                let err = RecordError {
                    stage: Stage::ValueConverter,
                    class_name: self.value_class.clone(),
                    location: loc(),
                    message: e.0,
                };
                if let Some(raw) = raw_copy.as_ref().filter(|_| retriable) {
                    return Outcome::Retry(Box::new(RetryRecord {
                        error: err,
                        again: Some(RetryInput::Sink(origin.clone(), raw.clone(), ts_type)),
                    }));
                }
                return Self::map_unit(self.on_error(err, dl));
            }
        };
        let mut record = Record {
            topic: origin.topic.clone(),
            partition: Some(origin.partition),
            key,
            value,
            headers,
            timestamp,
            kafka_offset: Some(origin.offset),
        };
        let sampled = self.tap.as_mut().is_some_and(TaskTap::sample);
        if let Some(tap) = self.tap.as_ref().filter(|_| sampled) {
            tap.record(TapStage::Source, None, &record);
        }
        if !self.transforms.is_empty() {
            match self.transform(&mut record, sampled) {
                Ok(Fate::Keep) => {}
                Ok(Fate::Drop) => return Outcome::Dropped,
                Err(f) => {
                    let err = RecordError {
                        stage: Stage::Transformation,
                        class_name: f.class,
                        location: loc(),
                        message: f.message,
                    };
                    return Self::map_unit(self.on_error(err, dl));
                }
            }
        }
        if let Some(tap) = self.tap.as_ref().filter(|_| sampled) {
            tap.record(TapStage::Output, None, &record);
        }
        Outcome::Ok(SinkRecord {
            record,
            origin,
            timestamp_type: ts_type,
            raw: raw_copy,
        })
    }
}

impl ErrorHandler {
    /// Sink side: a record the task reported as unwritable (errant record reporter).
    pub fn errant_sink_record(
        &self,
        record: &SinkRecord,
        message: &str,
        task_class: &str,
    ) -> Outcome<()> {
        let err = RecordError {
            stage: Stage::TaskPut,
            class_name: task_class.to_string(),
            location: RecordLocation::Kafka {
                topic: record.origin.topic.to_string(),
                partition: record.origin.partition,
                offset: record.origin.offset,
            },
            message: message.to_string(),
        };
        let raw = record.raw.clone();
        self.handle(err, || match raw {
            Some(r) => DeadLetter {
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r.headers.clone(),
                timestamp: r.timestamp,
            },
            None => DeadLetter {
                key: None,
                value: None,
                headers: Vec::new(),
                timestamp: None,
            },
        })
    }
}

/// Best-effort bytes for a value that could not be converted: schemaless JSON.
fn schemaless_json(v: &SchemaAndValue) -> Option<Bytes> {
    if v.value.is_null() {
        return None;
    }
    crate::convert::value_to_json(None, &v.value, crate::convert::DecimalFormat::Base64, true)
        .ok()
        .and_then(|j| serde_json::to_vec(&j).ok())
        .map(Bytes::from)
}

/// Test hook for the panic a task must survive: with `SLUICE_FAULT_PANIC_ON_VALUE=<text>`
/// a sink task panics on a record whose value is that text. Never set it in
/// production.
fn panic_fault(value: Option<&[u8]>) {
    static ARMED: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    let armed = ARMED.get_or_init(|| {
        std::env::var("SLUICE_FAULT_PANIC_ON_VALUE")
            .ok()
            .map(String::into_bytes)
    });
    if let (Some(a), Some(v)) = (armed, value) {
        if a == v {
            panic!(
                "SLUICE_FAULT_PANIC_ON_VALUE: a record with value {:?}",
                String::from_utf8_lossy(v)
            );
        }
    }
}
