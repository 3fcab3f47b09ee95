//! Record error handling with Connect's keys: `errors.tolerance` (none|all),
//! `errors.retry.timeout`, `errors.retry.delay.max.ms`, `errors.log.enable`,
//! `errors.log.include.messages`, `errors.deadletterqueue.topic.name`,
//! `errors.deadletterqueue.context.headers.enable`.
//!
//! With tolerance `none`, the first bad record fails the task; the trace names the
//! record (topic/partition/offset, or its source position), the stage and the cause.
//! With `all`, the record is logged (if enabled) and skipped, or written to the dead
//! letter queue with Connect's `__connect.errors.*` headers. Sluice offers the DLQ to
//! source connectors too (Connect only has it for sinks).

mod dlq;
mod policy;

pub use dlq::{dlq_headers, DeadLetter};
pub use policy::{dlq_config_def, error_config_def, ErrorPolicy, Tolerance};

use std::fmt;

/// Where in the pipeline a record failed (Connect's `Stage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    TaskPoll,
    TaskPut,
    Transformation,
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    KafkaProduce,
    KafkaConsume,
}

impl Stage {
    /// Connect's enum name, as written in `__connect.errors.stage`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::TaskPoll => "TASK_POLL",
            Stage::TaskPut => "TASK_PUT",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which record failed: a Kafka position (sinks) or a source position (sources).
#[derive(Debug, Clone)]
pub enum RecordLocation {
    Kafka {
        topic: String,
        partition: i32,
        offset: i64,
    },
    Source {
        description: String,
    },
}

impl fmt::Display for RecordLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordLocation::Kafka {
                topic,
                partition,
                offset,
            } => {
                write!(
                    f,
                    "topic={} partition={} offset={}",
                    topic, partition, offset
                )
            }
            RecordLocation::Source { description } => f.write_str(description),
        }
    }
}

/// A failure of one record at one stage.
#[derive(Debug, Clone)]
pub struct RecordError {
    pub stage: Stage,
    /// The component that failed (converter or transform class, task class).
    pub class_name: String,
    pub location: RecordLocation,
    pub message: String,
}

impl RecordError {
    /// The trace a failed task shows: what failed, where, on which record, and why.
    pub fn trace(&self, connector: &str, task: u32) -> String {
        format!(
            "Tolerance exceeded in error handler: task {}-{} failed in stage {} ({}) on record {}: {}",
            connector, task, self.stage, self.class_name, self.location, self.message
        )
    }
}
