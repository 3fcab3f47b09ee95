//! The worker: starts connectors and tasks, supervises them, restarts failed tasks with
//! backoff, and builds each task's Kafka clients from layered settings
//! (Sluice defaults < worker `producer.*`/`consumer.*` < connector `*.override.*`).

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use rdkafka::ClientConfig;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::worker::WorkerConfig;
use crate::config::{split_list, sub_config, RawConfig};
use crate::connector::{ConnectorPlugin, ConnectorRequest, TaskFactory};
use crate::connector_config::parse_plugin_config;
use crate::errors::ErrorPolicy;
use crate::herder::ActiveTopics;
use crate::kafka::{client_config, sink_consumer_defaults, source_producer_defaults};
use crate::offsets::OffsetStore;
use crate::plugins::Plugins;
use crate::status::{SharedStatus, State};
use crate::task::sink::{run_sink_task, SinkSubscription, SinkTaskSettings};
use crate::task::source::{run_source_task, SourceTaskSettings};
use crate::task::{Backoff, RecordPipeline, TaskFailure, TaskId, TaskMetrics, TaskTarget};

/// Shared worker resources.
pub struct Worker {
    pub config: WorkerConfig,
    pub plugins: Plugins,
    pub offsets: Arc<dyn OffsetStore>,
    pub worker_id: String,
    /// Requests from connectors (task reconfiguration, failures) go here.
    pub requests: mpsc::Sender<(String, ConnectorRequest)>,
}

/// What it takes to start a task.
pub struct TaskLaunch {
    pub plugin: ConnectorPlugin,
    pub id: TaskId,
    /// The connector's resolved config: converters, transforms and error handling come
    /// from it.
    pub connector_config: RawConfig,
    /// What the connector produced for this task, resolved.
    pub task_config: RawConfig,
    /// The task config as stored and shown (config provider placeholders kept).
    pub stored_task_config: RawConfig,
    pub target: TaskTarget,
    pub topics: ActiveTopics,
}

/// A running task as the herder sees it.
pub struct TaskHandle {
    pub id: TaskId,
    pub status: SharedStatus,
    pub metrics: Arc<TaskMetrics>,
    pub config: RawConfig,
    control: watch::Sender<TaskTarget>,
    join: Option<JoinHandle<()>>,
}

impl TaskHandle {
    /// Asks the task to run or pause.
    pub fn set_target(&self, target: TaskTarget) {
        let _ = self.control.send(target);
    }

    /// Stops the task gracefully and waits for it (bounded by `timeout`).
    pub async fn stop(mut self, timeout: Duration) {
        let _ = self.control.send(TaskTarget::Stopped);
        if let Some(j) = self.join.take() {
            let abort = j.abort_handle();
            if tokio::time::timeout(timeout, j).await.is_err() {
                tracing::warn!(task = %self.id, "task did not stop in time; abandoning it");
                abort.abort();
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.join.as_ref().is_none_or(|j| j.is_finished())
    }
}

impl Worker {
    /// Kafka client settings for a connector: Sluice defaults, worker `<prefix>*`,
    /// connector `<override_prefix>*`.
    fn client(
        &self,
        defaults: RawConfig,
        worker_prefix: &str,
        connector: &RawConfig,
        override_prefix: &str,
    ) -> ClientConfig {
        let worker = self.config.client_config(worker_prefix);
        let over = sub_config(connector, override_prefix);
        client_config(&[&defaults, &worker, &over])
    }

    pub fn admin_config(&self, connector: &RawConfig) -> ClientConfig {
        self.client(RawConfig::new(), "admin.", connector, "admin.override.")
    }

    /// Starts a task under supervision.
    pub fn start_task(self: &Arc<Self>, launch: TaskLaunch) -> TaskHandle {
        let TaskLaunch {
            plugin,
            id,
            connector_config,
            task_config,
            stored_task_config,
            target,
            topics,
        } = launch;
        let status = SharedStatus::new(State::Unassigned, &self.worker_id);
        let metrics = Arc::new(TaskMetrics::default());
        let (control, rx) = watch::channel(target);
        let worker = self.clone();
        let st = status.clone();
        let m = metrics.clone();
        let tid = id.clone();
        let join = tokio::spawn(async move {
            worker
                .supervise(
                    plugin,
                    tid,
                    connector_config,
                    task_config,
                    st,
                    m,
                    rx,
                    topics,
                )
                .await;
        });
        TaskHandle {
            id,
            status,
            metrics,
            config: stored_task_config,
            control,
            join: Some(join),
        }
    }

    /// Runs a task; when it fails, shows FAILED with the trace and (if enabled)
    /// restarts it after a growing delay.
    #[allow(clippy::too_many_arguments)]
    async fn supervise(
        self: Arc<Self>,
        plugin: ConnectorPlugin,
        id: TaskId,
        connector_config: RawConfig,
        task_config: RawConfig,
        status: SharedStatus,
        metrics: Arc<TaskMetrics>,
        mut control: watch::Receiver<TaskTarget>,
        topics: ActiveTopics,
    ) {
        let mut backoff = Backoff::new(
            self.config.restart_backoff_initial,
            self.config.restart_backoff_max,
        );
        loop {
            if *control.borrow() == TaskTarget::Stopped {
                return;
            }
            // A panic anywhere in the task (connector code, a converter, a transform)
            // fails the task with the panic as its trace, instead of leaving it dead
            // while its status says RUNNING; auto-restart then applies as to any failure.
            let run = self.run_task_once(
                &plugin,
                &id,
                &connector_config,
                &task_config,
                &status,
                &metrics,
                control.clone(),
                &topics,
            );
            let result = match std::panic::AssertUnwindSafe(run).catch_unwind().await {
                Ok(r) => r,
                Err(panic) => {
                    let msg = panic_message(&panic);
                    tracing::error!(task = %id, "task panicked: {}", msg);
                    Err(TaskFailure::from(format!(
                        "task {} panicked (a bug in Sluice; please report it with this trace): {}",
                        id, msg
                    )))
                }
            };
            match result {
                Ok(()) => {
                    status.set_state(State::Unassigned);
                    return;
                }
                Err(failure) => {
                    status.fail(failure.trace);
                    status.set_detail(None);
                    if !failure.restart {
                        tracing::warn!(task = %id, "not restarting the task automatically: its failure is permanent");
                        return;
                    }
                    if !self.config.auto_restart || *control.borrow() == TaskTarget::Stopped {
                        return;
                    }
                    let delay = backoff.next_delay();
                    tracing::info!(task = %id, "restarting the failed task in {:?}", delay);
                    if crate::task::source::wait_or_stop(&mut control, delay).await {
                        return;
                    }
                    status.set_state(State::Restarting);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_task_once(
        &self,
        plugin: &ConnectorPlugin,
        id: &TaskId,
        connector_config: &RawConfig,
        task_config: &RawConfig,
        status: &SharedStatus,
        metrics: &Arc<TaskMetrics>,
        control: watch::Receiver<TaskTarget>,
        topics: &ActiveTopics,
    ) -> Result<(), TaskFailure> {
        let parsed_conn = crate::connector_config::common_config_def(Some(plugin.kind()))
            .parse(connector_config)
            .map_err(|e| {
                format!(
                    "invalid connector config: {}",
                    crate::config::ConfigErrors(e)
                )
            })?;
        let policy = ErrorPolicy::from_config(&parsed_conn);
        let pipeline = RecordPipeline::new(
            id.clone(),
            connector_config,
            &self.config,
            policy,
            metrics.clone(),
        )
        .map_err(|e| format!("invalid connector config: {}", e))?;
        let parsed_task = parse_plugin_config(plugin, task_config)
            .map_err(|e| format!("invalid task config: {}", e))?;
        let detail = status.detail_handle();
        status.set_state(State::Running);
        let result = match plugin.create_task {
            TaskFactory::Source(create) => {
                let mut producer = self.client(
                    source_producer_defaults(),
                    "producer.",
                    connector_config,
                    "producer.override.",
                );
                producer.set("client.id", format!("connector-producer-{}", id));
                let transactional = self.exactly_once(id, connector_config)?;
                if transactional.is_some() {
                    let group = self
                        .config
                        .raw
                        .get("group.id")
                        .cloned()
                        .unwrap_or_else(|| "connect-cluster".into());
                    // Connect's transactional id: one per task, so a new incarnation fences the old.
                    producer
                        .set(
                            "transactional.id",
                            format!("{}-{}-{}", group, id.connector, id.task),
                        )
                        .set("enable.idempotence", "true");
                    // librdkafka requires message.timeout.ms <= transaction.timeout.ms;
                    // 60 s is the Java producer's transaction timeout.
                    let tx_timeout: u64 = producer
                        .get("transaction.timeout.ms")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(60_000);
                    let msg_timeout: u64 = producer
                        .get("message.timeout.ms")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(300_000);
                    producer
                        .set("transaction.timeout.ms", tx_timeout.to_string())
                        .set(
                            "message.timeout.ms",
                            msg_timeout.min(tx_timeout).to_string(),
                        );
                }
                let settings = SourceTaskSettings {
                    id: id.clone(),
                    task_config: parsed_task,
                    pipeline,
                    producer_config: producer,
                    admin_config: self.admin_config(connector_config),
                    offsets: self.offsets.clone(),
                    flush_interval: self.config.offset_flush_interval,
                    flush_timeout: self.config.offset_flush_timeout,
                    shutdown_timeout: self.config.shutdown_timeout,
                    status: status.clone(),
                    detail,
                    metrics: metrics.clone(),
                    max_in_flight: 200_000,
                    topics: topics.clone(),
                    transactional,
                    topic_creator: if self.config.topic_creation {
                        crate::task::topic_creation::TopicCreation::from_config(connector_config)
                            .map_err(|e| {
                                format!(
                                    "invalid connector config: {}",
                                    crate::config::ConfigErrors(e)
                                )
                            })?
                            .map(|rules| {
                                crate::task::topic_creation::TopicCreator::new(
                                    rules,
                                    self.admin_config(connector_config),
                                )
                            })
                    } else {
                        None
                    },
                };
                run_source_task(create(), settings, control).await
            }
            TaskFactory::Sink(create) => {
                let worker_consumer = self.config.client_config("consumer.");
                let max_batch = sub_config(connector_config, "consumer.override.")
                    .get("max.poll.records")
                    .or(worker_consumer.get("max.poll.records"))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(500usize);
                let mut consumer = self.client(
                    sink_consumer_defaults(),
                    "consumer.",
                    connector_config,
                    "consumer.override.",
                );
                consumer
                    .set("group.id", format!("connect-{}", id.connector))
                    .set("client.id", format!("connector-consumer-{}", id));
                let mut dlq_producer = self.client(
                    RawConfig::new(),
                    "producer.",
                    connector_config,
                    "producer.override.",
                );
                dlq_producer.set("acks", "all");
                let subscription = match connector_config
                    .get("topics.regex")
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                {
                    Some(r) => SinkSubscription::Pattern(format!("^{}", r.trim_start_matches('^'))),
                    None => SinkSubscription::Topics(split_list(
                        connector_config
                            .get("topics")
                            .map(String::as_str)
                            .unwrap_or(""),
                    )),
                };
                let settings = SinkTaskSettings {
                    id: id.clone(),
                    task_config: parsed_task,
                    task_class: plugin.class.to_string(),
                    pipeline,
                    consumer_config: consumer,
                    producer_config: dlq_producer,
                    admin_config: self.admin_config(connector_config),
                    subscription,
                    commit_interval: self.config.offset_flush_interval,
                    commit_timeout: self.config.offset_flush_timeout,
                    shutdown_timeout: self.config.shutdown_timeout,
                    max_batch,
                    status: status.clone(),
                    detail,
                    metrics: metrics.clone(),
                    topics: topics.clone(),
                };
                run_sink_task(create(), settings, control)
                    .await
                    .map_err(TaskFailure::from)
            }
        };
        status.set_detail(None);
        result
    }
}

impl Worker {
    /// Whether a source task runs exactly-once: the worker enables it, the connector
    /// requests or requires it, and offsets live in a Kafka topic.
    fn exactly_once(
        &self,
        id: &TaskId,
        connector: &RawConfig,
    ) -> Result<Option<crate::task::source::Transactional>, String> {
        let wanted = connector
            .get("exactly.once.support")
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "requested".into());
        let topic = self.offsets.kafka_topic().map(str::to_string);
        match (self.config.exactly_once_source, topic) {
            (true, Some(offsets_topic)) => {
                Ok(Some(crate::task::source::Transactional { offsets_topic }))
            }
            (enabled, topic) if wanted == "required" => Err(format!(
                "task {}: exactly.once.support=required but {}",
                id,
                if !enabled {
                    "the worker has exactly.once.source.support disabled"
                } else if topic.is_none() {
                    "offsets are not in a Kafka topic (set offset.storage.topic)"
                } else {
                    "it is unavailable"
                }
            )),
            _ => Ok(None),
        }
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Resolves a plugin by class for a config; used when (re)starting tasks.
pub fn plugin_for<'a>(plugins: &'a Plugins, config: &RawConfig) -> Option<&'a ConnectorPlugin> {
    config
        .get("connector.class")
        .and_then(|c| plugins.find_connector(c))
}
