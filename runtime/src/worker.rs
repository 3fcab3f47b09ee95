//! The worker: starts connectors and tasks, supervises them, restarts failed tasks with
//! backoff, and builds each task's Kafka clients from layered settings
//! (Sluice defaults < worker `producer.*`/`consumer.*` < connector `*.override.*`).

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use rdkafka::ClientConfig;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::secrets::{scrub_issues, secret_values};
use crate::config::worker::WorkerConfig;
use crate::config::RawConfig;
use crate::connector::{ConnectorRequest, TaskFactory};
use crate::kafka::{client_config, sink_consumer_defaults, source_producer_defaults};
use crate::lifecycle::{ConnectorSpec, ExactlyOnce, KindSpec, SourceSpec, SpecError};
use crate::offsets::OffsetStore;
use crate::plugins::Plugins;
use crate::status::{SharedStatus, State};
use crate::tap::TaskTap;
use crate::task::sink::{run_sink_task, SinkTaskSettings};
use crate::task::source::{run_source_task, SourceTaskSettings, Transactional};
use crate::task::topic_creation::TopicCreator;
use crate::task::{
    spawn_on_own_thread, wait_or_stop, ActiveTopics, Backoff, RecordPipeline, TaskFailure, TaskId,
    TaskMetrics, TaskTarget,
};

/// Shared worker resources.
pub struct Worker {
    pub config: WorkerConfig,
    pub plugins: Plugins,
    pub offsets: Arc<dyn OffsetStore>,
    pub worker_id: String,
    /// Requests from connectors (task reconfiguration, failures) go here.
    pub requests: mpsc::Sender<(String, ConnectorRequest)>,
    /// The live taps of this worker's connectors.
    pub taps: Arc<crate::tap::TapHub>,
}

/// What it takes to start a task.
pub struct TaskLaunch {
    /// The connector the task belongs to: converters, transforms, error handling and
    /// client settings come from it.
    pub spec: Arc<ConnectorSpec>,
    pub id: TaskId,
    /// The task config as stored and shown (provider placeholders kept); resolved at
    /// every (re)start of the task.
    pub config: RawConfig,
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
    /// then the connector's `*.override.*` keys.
    fn client(&self, defaults: RawConfig, worker_prefix: &str, over: &RawConfig) -> ClientConfig {
        let worker = self.config.client_config(worker_prefix);
        client_config(&[&defaults, &worker, over])
    }

    /// The admin client settings for a connector (worker `admin.*`, connector
    /// `admin.override.*`).
    pub fn admin_config(&self, over: &RawConfig) -> ClientConfig {
        self.client(RawConfig::new(), "admin.", over)
    }

    /// A task that cannot run here (its connector's config does not check out on
    /// this worker): shown FAILED with `trace`; a restart tries again.
    pub fn failed_task(&self, id: TaskId, config: RawConfig, trace: String) -> TaskHandle {
        let status = SharedStatus::new(State::Unassigned, &self.worker_id);
        status.fail(trace);
        let (control, _) = watch::channel(TaskTarget::Stopped);
        TaskHandle {
            id,
            status,
            metrics: Arc::new(TaskMetrics::default()),
            config,
            control,
            join: None,
        }
    }

    /// Starts a task under supervision.
    pub fn start_task(self: &Arc<Self>, launch: TaskLaunch) -> TaskHandle {
        let status = SharedStatus::new(State::Unassigned, &self.worker_id);
        let metrics = Arc::new(TaskMetrics::default());
        let (control, rx) = watch::channel(launch.target);
        let id = launch.id.clone();
        let config = launch.config.clone();
        let worker = self.clone();
        let st = status.clone();
        let m = metrics.clone();
        let join = spawn_on_own_thread(thread_name(&id), async move {
            worker.supervise(launch, st, m, rx).await;
        });
        TaskHandle {
            id,
            status,
            metrics,
            config,
            control,
            join: Some(join),
        }
    }

    /// Runs a task; when it fails, shows FAILED with the trace and (if enabled)
    /// restarts it after a growing delay.
    async fn supervise(
        self: Arc<Self>,
        launch: TaskLaunch,
        status: SharedStatus,
        metrics: Arc<TaskMetrics>,
        mut control: watch::Receiver<TaskTarget>,
    ) {
        let id = &launch.id;
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
            let run = self.run_task_once(&launch, &status, &metrics, control.clone());
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
                    if wait_or_stop(&mut control, delay).await {
                        return;
                    }
                    status.set_state(State::Restarting);
                }
            }
        }
    }

    /// Resolves and parses the task's config, builds its pipeline and Kafka clients,
    /// and runs its loop once.
    async fn run_task_once(
        &self,
        launch: &TaskLaunch,
        status: &SharedStatus,
        metrics: &Arc<TaskMetrics>,
        control: watch::Receiver<TaskTarget>,
    ) -> Result<(), TaskFailure> {
        let TaskLaunch {
            spec, id, config, ..
        } = launch;
        let (resolved, secret_keys) =
            self.config.providers.resolve(config).map_err(|issues| {
                format!("invalid task config: {}", SpecError::Providers(issues))
            })?;
        let task_config = (spec.plugin.config_def)()
            .parse(&resolved)
            .map_err(|issues| {
                let issues = scrub_issues(issues, config, &resolved, &secret_keys);
                format!("invalid task config: {}", SpecError::Invalid(issues))
            })?;
        let mut pipeline = RecordPipeline::new(
            id.clone(),
            &spec.pipeline,
            spec.errors.clone(),
            metrics.clone(),
        )
        .map_err(|e| format!("invalid connector config: {}", e))?;
        if let Some(tap) = self.taps.connector(&id.connector) {
            let def = (spec.plugin.config_def)();
            tap.set_secrets(secret_values(&def, &resolved, &secret_keys));
            pipeline.set_tap(TaskTap::new(tap, &id.connector, id.task));
        }
        let detail = status.detail_handle();
        status.set_state(State::Running);
        let admin_config = self.admin_config(&spec.clients.admin);
        let result = match (&spec.plugin.create_task, &spec.kind) {
            (TaskFactory::Source(create), KindSpec::Source(source)) => {
                let mut producer = self.client(
                    source_producer_defaults(),
                    "producer.",
                    &spec.clients.producer,
                );
                producer.set("client.id", format!("connector-producer-{}", id));
                let transactional = self.exactly_once(id, source)?;
                if transactional.is_some() {
                    self.make_transactional(&mut producer, id);
                }
                let max_in_flight = max_in_flight(&producer);
                let settings = SourceTaskSettings {
                    id: id.clone(),
                    task_config,
                    pipeline,
                    producer_config: producer,
                    admin_config: admin_config.clone(),
                    offsets: self.offsets.clone(),
                    flush_interval: self.config.offset_flush_interval,
                    flush_timeout: self.config.offset_flush_timeout,
                    shutdown_timeout: self.config.shutdown_timeout,
                    status: status.clone(),
                    detail,
                    metrics: metrics.clone(),
                    max_in_flight,
                    topics: launch.topics.clone(),
                    transactional,
                    topic_creator: source
                        .topic_creation
                        .clone()
                        .map(|rules| TopicCreator::new(rules, admin_config)),
                };
                run_source_task(*create, settings, control).await
            }
            (TaskFactory::Sink(create), KindSpec::Sink(sink)) => {
                let mut consumer = self.client(
                    sink_consumer_defaults(),
                    "consumer.",
                    &spec.clients.consumer,
                );
                consumer
                    .set("group.id", format!("connect-{}", id.connector))
                    .set("client.id", format!("connector-consumer-{}", id));
                let mut dlq_producer =
                    self.client(RawConfig::new(), "producer.", &spec.clients.producer);
                dlq_producer.set("acks", "all");
                let settings = SinkTaskSettings {
                    id: id.clone(),
                    task_config,
                    task_class: spec.plugin.class.to_string(),
                    pipeline,
                    consumer_config: consumer,
                    producer_config: dlq_producer,
                    admin_config,
                    subscription: sink.subscription.clone(),
                    commit_interval: self.config.offset_flush_interval,
                    commit_timeout: self.config.offset_flush_timeout,
                    shutdown_timeout: self.config.shutdown_timeout,
                    max_batch: sink.max_batch,
                    status: status.clone(),
                    detail,
                    metrics: metrics.clone(),
                    topics: launch.topics.clone(),
                };
                run_sink_task(*create, settings, control).await
            }
            _ => Err(TaskFailure::permanent(format!(
                "task {}: the plugin's task factory does not match its connector type",
                id
            ))),
        };
        status.set_detail(None);
        result
    }

    /// Makes a source producer transactional with Connect's transactional id: one per
    /// task, so that a new incarnation fences the old.
    fn make_transactional(&self, producer: &mut ClientConfig, id: &TaskId) {
        let group = self
            .config
            .raw
            .get("group.id")
            .cloned()
            .unwrap_or_else(|| "connect-cluster".into());
        producer
            .set(
                "transactional.id",
                format!("{}-{}-{}", group, id.connector, id.task),
            )
            .set("enable.idempotence", "true");
        // librdkafka requires message.timeout.ms <= transaction.timeout.ms; 60 s is the
        // Java producer's transaction timeout.
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
}

impl Worker {
    /// Whether a source task runs exactly-once: the worker enables it, the connector
    /// requests or requires it, and offsets live in a Kafka topic.
    fn exactly_once(
        &self,
        id: &TaskId,
        source: &SourceSpec,
    ) -> Result<Option<Transactional>, TaskFailure> {
        let topic = self.offsets.kafka_topic().map(str::to_string);
        match (self.config.exactly_once_source, topic) {
            (true, Some(offsets_topic)) => Ok(Some(Transactional { offsets_topic })),
            (enabled, topic) if source.exactly_once == ExactlyOnce::Required => {
                Err(TaskFailure::from(format!(
                    "task {}: exactly.once.support=required but {}",
                    id,
                    if !enabled {
                        "the worker has exactly.once.source.support disabled"
                    } else if topic.is_none() {
                        "offsets are not in a Kafka topic (set offset.storage.topic)"
                    } else {
                        "it is unavailable"
                    }
                )))
            }
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

/// How many records a source task may have in flight (polled, not yet acknowledged by
/// Kafka): what its producer may queue (`queue.buffering.max.messages`, 200,000 unless
/// overridden; at most 10,000,000). A task polls no further ahead of Kafka's
/// acknowledgements, so the producer's settings bound its memory.
/// A task thread's name: the connector's name cut so that the task number stays
/// within the 15 bytes Linux shows (`top -H`, `ps -L`).
fn thread_name(id: &TaskId) -> String {
    let suffix = format!("-{}", id.task);
    let mut name = String::new();
    for c in id.connector.chars().filter(|c| !c.is_control()) {
        if name.len() + c.len_utf8() + suffix.len() > 15 {
            break;
        }
        name.push(c);
    }
    name + &suffix
}

fn max_in_flight(producer: &ClientConfig) -> usize {
    producer
        .get("queue.buffering.max.messages")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(200_000, |n| n.min(10_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_threads_are_named_after_the_connector_and_keep_the_task_number() {
        let id = |c: &str, t| TaskId {
            connector: c.into(),
            task: t,
        };
        assert_eq!(thread_name(&id("orders", 0)), "orders-0");
        assert_eq!(
            thread_name(&id("a-very-long-connector-name", 12)),
            "a-very-long--12"
        );
        assert_eq!(thread_name(&id("zürich\0\nx", 3)), "zürichx-3");
        assert_eq!(thread_name(&id("ééééééééé", 7)), "éééééé-7");
        for name in [
            thread_name(&id("ééééééééé", 7)),
            thread_name(&id("x", 4_000_000_000)),
        ] {
            assert!(name.len() <= 15, "{}", name);
        }
    }

    #[test]
    fn source_tasks_keep_in_flight_what_their_producer_may_queue() {
        let producer = |v: Option<&str>| {
            let mut c = client_config(&[&source_producer_defaults()]);
            if let Some(v) = v {
                c.set("queue.buffering.max.messages", v);
            }
            c
        };
        assert_eq!(max_in_flight(&producer(None)), 200_000);
        assert_eq!(max_in_flight(&producer(Some("5000"))), 5_000);
        assert_eq!(max_in_flight(&producer(Some("2147483647"))), 10_000_000);
        assert_eq!(max_in_flight(&producer(Some("0"))), 200_000);
    }
}
