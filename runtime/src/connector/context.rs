//! What the runtime hands to connectors and tasks: their identity, stored offsets,
//! a way to show what they are doing, and a way to report bad records.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::ConnectError;
use crate::data::{SinkRecord, SourceOffset, SourcePartition};
use crate::offsets::OffsetStore;

/// A Kafka topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

/// A short, human-readable note on what a running task is doing right now
/// (e.g. "reconnecting to RabbitMQ, attempt 3: connection refused"). Shown in the
/// task's status; cleared when things are normal again.
#[derive(Debug, Clone, Default)]
pub struct StatusDetail(Arc<Mutex<Option<String>>>);

impl StatusDetail {
    pub fn new() -> Self {
        StatusDetail::default()
    }
    pub fn set(&self, detail: impl Into<String>) {
        *self.0.lock().unwrap() = Some(detail.into());
    }
    pub fn clear(&self) {
        *self.0.lock().unwrap() = None;
    }
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Requests a connector can make of the runtime.
#[derive(Debug, Clone)]
pub enum ConnectorRequest {
    /// The connector's task configs changed (e.g. tables appeared).
    ReconfigureTasks,
    /// The connector hit an error it cannot recover from.
    Failed(String),
}

/// Handed to a connector at start.
#[derive(Clone)]
pub struct ConnectorContext {
    pub name: String,
    requests: mpsc::Sender<(String, ConnectorRequest)>,
    pub offsets: OffsetReader,
}

impl ConnectorContext {
    pub fn new(
        name: String,
        requests: mpsc::Sender<(String, ConnectorRequest)>,
        offsets: OffsetReader,
    ) -> Self {
        ConnectorContext {
            name,
            requests,
            offsets,
        }
    }
    /// Asks the runtime to fetch new task configs and restart the tasks if they changed.
    pub fn request_task_reconfiguration(&self) {
        let _ = self
            .requests
            .try_send((self.name.clone(), ConnectorRequest::ReconfigureTasks));
    }
    /// Marks the connector FAILED with this message.
    pub fn raise_error(&self, error: impl std::fmt::Display) {
        let _ = self.requests.try_send((
            self.name.clone(),
            ConnectorRequest::Failed(error.to_string()),
        ));
    }
}

/// Reads the stored source offsets of one connector.
#[derive(Clone)]
pub struct OffsetReader {
    connector: String,
    store: Arc<dyn OffsetStore>,
}

impl OffsetReader {
    pub fn new(connector: String, store: Arc<dyn OffsetStore>) -> Self {
        OffsetReader { connector, store }
    }
    /// The stored offset of a source partition, if any.
    pub async fn offset(
        &self,
        partition: &SourcePartition,
    ) -> Result<Option<SourceOffset>, ConnectError> {
        self.store
            .get(&self.connector, partition)
            .await
            .map_err(|e| ConnectError::retriable(format!("cannot read stored offsets: {}", e)))
    }
    /// Every stored partition and offset of the connector.
    pub async fn all(&self) -> Result<Vec<(SourcePartition, SourceOffset)>, ConnectError> {
        self.store
            .all(&self.connector)
            .await
            .map_err(|e| ConnectError::retriable(format!("cannot read stored offsets: {}", e)))
    }
}

/// Where a queue source reports how many messages wait in its queue (ready, not yet
/// delivered to it), exported as `sluice_source_task_queue_backlog`.
#[derive(Clone, Default)]
pub struct BacklogGauge(Option<Arc<crate::task::TaskMetrics>>);

impl BacklogGauge {
    pub fn new(metrics: Arc<crate::task::TaskMetrics>) -> Self {
        BacklogGauge(Some(metrics))
    }

    /// The queue's current backlog.
    pub fn set(&self, messages: u64) {
        if let Some(m) = &self.0 {
            m.queue_backlog
                .store(messages, std::sync::atomic::Ordering::Relaxed);
            m.queue_backlog_known
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// Handed to a source task at start.
#[derive(Clone)]
pub struct SourceTaskContext {
    pub connector: String,
    pub task: u32,
    pub offsets: OffsetReader,
    pub status: StatusDetail,
    /// The runtime writes each polled batch in a Kafka transaction together with the
    /// batch's source offsets (exactly-once delivery). A task that can tell a
    /// redelivered message from a new one uses this to skip what was already committed.
    pub exactly_once: bool,
    /// For queue sources: report the queue's backlog here.
    pub backlog: BacklogGauge,
}

/// Reports records a sink task could not write, honouring `errors.tolerance`.
#[async_trait]
pub trait ErrantRecordHandler: Send + Sync {
    /// With tolerance `none` returns the error that must fail the task; with `all` logs
    /// it and sends the record to the dead letter queue (if configured) and returns Ok.
    async fn report(&self, record: &SinkRecord, error: &str) -> Result<(), ConnectError>;
}

/// A handle to the runtime's errant record handler (Connect's `ErrantRecordReporter`).
#[derive(Clone)]
pub struct ErrantRecordReporter(pub Arc<dyn ErrantRecordHandler>);

impl ErrantRecordReporter {
    pub async fn report(&self, record: &SinkRecord, error: &str) -> Result<(), ConnectError> {
        self.0.report(record, error).await
    }
}

/// Handed to a sink task at start.
#[derive(Clone)]
pub struct SinkTaskContext {
    pub connector: String,
    pub task: u32,
    pub status: StatusDetail,
    pub errant: ErrantRecordReporter,
}
