//! The connector API: what a connector plugin implements.
//!
//! A [`Connector`] turns its config into task configs; the runtime runs one
//! [`SourceTask`] or [`SinkTask`] per task config. Connectors never talk to Kafka: the
//! runtime's task loops do (see `task::source` and `task::sink` for the delivery rules).

mod context;
mod dry_run;
mod error;
mod progress;

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigIssue, ParsedConfig, RawConfig};
use crate::data::{SinkRecord, SourceRecord};

pub use context::{
    BacklogGauge, ConnectorContext, ConnectorRequest, ErrantRecordHandler, ErrantRecordReporter,
    OffsetReader, SinkTaskContext, SourceTaskContext, StatusDetail, TopicPartition,
};
pub use dry_run::{DryRun, TestMessage};
pub use error::ConnectError;
pub use progress::{Progress, ProgressUnit};

/// Source or sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectorType {
    Source,
    Sink,
}

impl ConnectorType {
    /// `source` or `sink`, as the REST API writes it.
    pub fn name(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// A connector: validates its config and splits the work into task configs.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Checks beyond the declared keys (cross-key rules, reachability). Called after the
    /// declared keys parsed; returns every problem found.
    async fn validate(&self, _config: &ParsedConfig) -> Vec<ConfigIssue> {
        Vec::new()
    }
    /// Cross-key checks on the raw config, run even when some declared keys did not
    /// parse, so that every problem is listed at once. Duplicates of the declared
    /// keys' problems are removed by the caller.
    fn validate_raw(&self, _config: &RawConfig) -> Vec<ConfigIssue> {
        Vec::new()
    }
    /// Starts the connector with its resolved config.
    async fn start(
        &mut self,
        config: ParsedConfig,
        ctx: ConnectorContext,
    ) -> Result<(), ConnectError>;
    /// Up to `max_tasks` task configs. Each is handed to one task's `start`.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>, ConnectError>;
    /// Stops the connector and frees its resources.
    async fn stop(&mut self) {}
}

/// A connector whose tasks all get the connector's own config: `tasks` copies, or one
/// if `single_task` is set; optionally with cross-key checks (`validate_raw`).
pub struct CopyConfigConnector {
    config: Option<RawConfig>,
    single_task: bool,
    validate: Option<fn(&RawConfig) -> Vec<ConfigIssue>>,
}

impl CopyConfigConnector {
    pub fn new(single_task: bool) -> Self {
        CopyConfigConnector {
            config: None,
            single_task,
            validate: None,
        }
    }
    /// Adds cross-key checks, run on the raw config (see [`Connector::validate_raw`]).
    pub fn with_validation(mut self, validate: fn(&RawConfig) -> Vec<ConfigIssue>) -> Self {
        self.validate = Some(validate);
        self
    }
}

#[async_trait]
impl Connector for CopyConfigConnector {
    fn validate_raw(&self, config: &RawConfig) -> Vec<ConfigIssue> {
        self.validate.map(|v| v(config)).unwrap_or_default()
    }
    async fn start(
        &mut self,
        config: ParsedConfig,
        _ctx: ConnectorContext,
    ) -> Result<(), ConnectError> {
        self.config = Some(config.raw().clone());
        Ok(())
    }
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>, ConnectError> {
        let config = self
            .config
            .clone()
            .ok_or_else(|| ConnectError::fatal("connector was not started"))?;
        let n = if self.single_task {
            1
        } else {
            max_tasks.max(1)
        };
        Ok(vec![config; n])
    }
}

/// Opaque token a source task attaches to a batch; handed back to [`SourceTask::ack`]
/// once Kafka acknowledged every record of that batch and of every earlier batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AckToken(pub u64);

/// A message a source could read but not turn into a record (e.g. invalid JSON). The
/// runtime fails the task or, with `errors.tolerance=all`, writes the raw message to the
/// dead letter queue and treats it as delivered.
#[derive(Debug, Clone)]
pub struct FailedSourceRecord {
    /// The topic the record was meant for.
    pub topic: String,
    pub key: Option<bytes::Bytes>,
    pub value: Option<bytes::Bytes>,
    pub headers: Vec<(String, Option<bytes::Bytes>)>,
    /// Where the message came from, for traces and logs (queue, delivery tag, id...).
    pub position: String,
    /// What went wrong.
    pub error: String,
    /// The class or component that failed, for `__connect.errors.class.name`.
    pub class_name: String,
}

/// One item of a polled batch.
#[derive(Debug, Clone)]
pub enum Polled {
    Record(SourceRecord),
    Failed(FailedSourceRecord),
}

/// What a source task's `poll` returns: records in order, and an optional ack token.
#[derive(Debug, Default)]
pub struct SourceBatch {
    pub items: Vec<Polled>,
    pub ack: Option<AckToken>,
}

impl SourceBatch {
    pub fn new() -> Self {
        SourceBatch::default()
    }
    pub fn with_capacity(n: usize) -> Self {
        SourceBatch {
            items: Vec::with_capacity(n),
            ack: None,
        }
    }
    pub fn push(&mut self, record: SourceRecord) {
        self.items.push(Polled::Record(record));
    }
    pub fn push_failed(&mut self, failed: FailedSourceRecord) {
        self.items.push(Polled::Failed(failed));
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Acknowledges delivered batches upstream (e.g. one AMQP `basic.ack(multiple=true)`).
/// It is separate from the task so acknowledgements flow while `poll` waits for data.
#[async_trait]
pub trait Acknowledger: Send + Sync {
    /// Every record of the batch with this token, and of every earlier batch, is in
    /// Kafka. Called in poll order.
    async fn ack(&self, token: AckToken) -> Result<(), ConnectError>;
    /// Whether acknowledging a token also acknowledges every earlier one (AMQP's
    /// `basic.ack(multiple=true)`, an AMQP 1.0 disposition over a range). Then, when
    /// Kafka finishes several batches at once, only the last token is handed over:
    /// one acknowledgement upstream instead of one per batch. Tokens of an earlier
    /// connection, which such a task ignores, may be skipped this way too.
    fn cumulative(&self) -> bool {
        false
    }
}

/// A source task: reads from the outside world and hands records to the runtime.
///
/// Delivery contract: the runtime acknowledges a batch's token (through the task's
/// [`Acknowledger`]) only after Kafka has acknowledged every record of that batch and
/// of all batches polled before it, in poll order. Source offsets attached to records
/// are stored under the same rule. A task must therefore never acknowledge anything
/// upstream on receipt.
///
/// `poll` is only cancelled (its future dropped) when the task is being stopped; it
/// should return within about a second when there is no data so that pausing and
/// shutdown are timely.
///
/// A task is created started, by its plugin's [`TaskFactory`] (see [`StartSourceTask`]).
#[async_trait]
pub trait SourceTask: Send {
    async fn poll(&mut self) -> Result<SourceBatch, ConnectError>;
    /// The handle that acknowledges batch tokens; asked for once, after `start`.
    fn acknowledger(&self) -> Option<std::sync::Arc<dyn Acknowledger>> {
        None
    }
    /// Offsets up to the acknowledged records were written (Connect's `commit()`).
    /// Called between polls.
    async fn commit(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }
    /// Stops the task. Anything not yet acknowledged must stay unacknowledged upstream.
    async fn stop(&mut self) {}
}

/// A sink task: receives records from Kafka and writes them out.
///
/// Delivery contract: the runtime commits a Kafka offset only after `flush` returned Ok
/// following the `put` of that record. `put` may write right away or buffer; `flush`
/// must make everything put so far durable.
///
/// A task is created started, by its plugin's [`TaskFactory`] (see [`StartSinkTask`]).
#[async_trait]
pub trait SinkTask: Send {
    /// Partitions newly assigned to this task.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        Ok(())
    }
    /// Writes or buffers records. On a retriable error the runtime calls `put` again
    /// with the same records after a backoff.
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError>;
    async fn flush(&mut self) -> Result<(), ConnectError>;
    /// Partitions taken away from this task (after a final flush).
    async fn close(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectError> {
        Ok(())
    }
    async fn stop(&mut self) {}
    /// Whether `put` looks at the records' headers. A task that never does (and whose
    /// connector has no transforms or dead letter queue) spares the consumer thread
    /// from parsing every message's headers: librdkafka allocates for that even when
    /// a message has none, a tenth of a sink's CPU.
    fn reads_headers(&self) -> bool {
        true
    }
}

/// A source task that can be created ready to poll.
pub trait StartSourceTask: SourceTask + Sized + 'static {
    /// Creates the task from its config: connected, positioned at its stored offsets.
    /// A retriable error is retried by the runtime with backoff; a fatal one fails the
    /// task.
    fn start(
        config: ParsedConfig,
        ctx: SourceTaskContext,
    ) -> impl Future<Output = Result<Self, ConnectError>> + Send;
}

/// A sink task that can be created ready to take records.
pub trait StartSinkTask: SinkTask + Sized + 'static {
    /// Creates the task from its config. Errors as for [`StartSourceTask::start`].
    fn start(
        config: ParsedConfig,
        ctx: SinkTaskContext,
    ) -> impl Future<Output = Result<Self, ConnectError>> + Send;
}

/// A started task, or why it could not start.
pub type Started<T> = Pin<Box<dyn Future<Output = Result<Box<T>, ConnectError>> + Send>>;

/// How to make the (started) tasks of a connector plugin.
#[derive(Clone, Copy)]
pub enum TaskFactory {
    Source(fn(ParsedConfig, SourceTaskContext) -> Started<dyn SourceTask>),
    Sink(fn(ParsedConfig, SinkTaskContext) -> Started<dyn SinkTask>),
}

impl TaskFactory {
    /// The factory of source task type `T`.
    pub fn source<T: StartSourceTask>() -> Self {
        TaskFactory::Source(|config, ctx| {
            Box::pin(async move {
                let task: Box<dyn SourceTask> = Box::new(T::start(config, ctx).await?);
                Ok(task)
            })
        })
    }
    /// The factory of sink task type `T`.
    pub fn sink<T: StartSinkTask>() -> Self {
        TaskFactory::Sink(|config, ctx| {
            Box::pin(async move {
                let task: Box<dyn SinkTask> = Box::new(T::start(config, ctx).await?);
                Ok(task)
            })
        })
    }
}

/// A connector plugin as registered by the binary.
#[derive(Clone)]
pub struct ConnectorPlugin {
    /// The class name Connect users know (e.g. `org.apache.kafka.connect.file.FileStreamSourceConnector`).
    pub class: &'static str,
    /// Other names: Sluice's short name first (`file-source`), then other aliases.
    pub aliases: &'static [&'static str],
    /// The task class Connect would run (`task.class` in task configs), so that
    /// task configs Sluice writes to the config topic work for Connect too.
    pub task_class: &'static str,
    pub version: &'static str,
    pub doc: &'static str,
    /// The connector's own keys (the runtime adds the common ones).
    pub config_def: fn() -> ConfigDef,
    pub create_connector: fn() -> Box<dyn Connector>,
    pub create_task: TaskFactory,
    /// How `sluice test` runs the connector's message mapping without a server (queue
    /// connectors).
    pub dry_run: Option<DryRun>,
}

impl std::fmt::Debug for ConnectorPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorPlugin")
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

impl ConnectorPlugin {
    pub fn kind(&self) -> ConnectorType {
        match self.create_task {
            TaskFactory::Source(_) => ConnectorType::Source,
            TaskFactory::Sink(_) => ConnectorType::Sink,
        }
    }
    /// Sluice's short name (first alias), or the class name.
    pub fn short_name(&self) -> &'static str {
        self.aliases.first().copied().unwrap_or(self.class)
    }
    /// Does this plugin answer to `name` (see `plugins::name_matches`)?
    pub fn matches(&self, name: &str) -> bool {
        crate::plugins::name_matches(self.class, self.aliases, Some("Connector"), name)
    }
}
