//! The distributed herder: runs this worker's share of the cluster's connectors and
//! tasks, leads the assignment when Kafka makes it leader, and serves the REST API for
//! the whole cluster (see the module doc of `distributed` for the protocol).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{mpsc, watch};

use super::assignment::{assign, Unit};
use super::membership::{GroupSettings, Membership, MembershipHandle};
use super::plan::{self, Action};
use super::records::{AssignmentRecord, ConfigRecord, StatusRecord, StatusValue};
use super::settings::DistributedSettings;
use super::state::{ConfigState, StatusState};
use super::topic_log::TopicLog;
use crate::config::files::TargetState;
use crate::config::worker::WorkerConfig;
use crate::config::RawConfig;
use crate::connector::{ConnectorContext, ConnectorRequest, ConnectorType, OffsetReader};
use crate::herder::{
    cluster_id, offsets_api, validate_for_api, validation_issues, ConfigOrigin, ConnectorInfo,
    ConnectorStateInfo, Herder, HerderError, MetricsSnapshot, OffsetEntry, PutOptions,
    TaskMetricsView, ValidationReport, OFFSETS_MESSAGE,
};
use crate::kafka::{client_config, ensure_internal_topic, InternalTopic};
use crate::lifecycle::checks::{check_name, check_offsets_modifiable, RestartPlan};
use crate::lifecycle::{ConnectorSpec, RunningConnector};
use crate::logging::LogControl;
use crate::offsets::KafkaOffsetStore;
use crate::plugins::Plugins;
use crate::status::{SharedStatus, State, Status};
use crate::task::{ActiveTopics, TaskId, TaskTarget};
use crate::worker::{TaskHandle, TaskLaunch, Worker};

const REBALANCING: &str =
    "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.";

struct LocalConnector {
    /// None when the connector failed to start (its status says why).
    running: Option<RunningConnector>,
    raw: RawConfig,
    target: TargetState,
    status: SharedStatus,
}

struct LocalTask {
    handle: TaskHandle,
    /// The stored (unresolved) task config it runs with.
    config: RawConfig,
    /// The connector config it was started with.
    connector_raw: RawConfig,
    target: TargetState,
}

#[derive(Default)]
struct Local {
    connectors: BTreeMap<String, LocalConnector>,
    tasks: BTreeMap<(String, u32), LocalTask>,
    /// Last status written per unit.
    published: HashMap<Unit, (State, Option<String>)>,
    topics: HashMap<String, ActiveTopics>,
    published_topics: BTreeSet<(String, String)>,
    /// Units disowned (plan rule 6), with the version of the hand-over it was done
    /// for, so that one UNASSIGNED is written per hand-over.
    disowned: HashMap<Unit, u64>,
    /// Restart requests up to this sequence number are handled.
    restarts_done: u64,
    /// Cluster-wide log levels up to this sequence number are applied (or were
    /// written before this worker started, and are ignored, as Connect does).
    logger_levels_done: u64,
}

/// A worker of a cluster.
pub struct DistributedHerder {
    worker: Arc<Worker>,
    settings: DistributedSettings,
    config: Arc<Mutex<ConfigState>>,
    config_log: TopicLog,
    status: Arc<Mutex<StatusState>>,
    status_log: TopicLog,
    offsets: Arc<KafkaOffsetStore>,
    membership: Mutex<Option<MembershipHandle>>,
    membership_state: watch::Receiver<Membership>,
    local: tokio::sync::Mutex<Local>,
    /// When each departed worker was first seen missing (leader only).
    departed: Mutex<HashMap<String, Instant>>,
    caught_up: AtomicBool,
    stopping: AtomicBool,
    generation: AtomicU64,
    log: Arc<LogControl>,
}

fn task_target(t: TargetState) -> TaskTarget {
    match t {
        TargetState::Running => TaskTarget::Running,
        TargetState::Paused => TaskTarget::Paused,
        TargetState::Stopped => TaskTarget::Stopped,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl DistributedHerder {
    /// Creates the internal topics if missing, reads them to their ends and joins the
    /// cluster. `offsets` must be the store on `offset.storage.topic`.
    pub async fn start(
        worker: Arc<Worker>,
        settings: DistributedSettings,
        offsets: Arc<KafkaOffsetStore>,
        mut requests: mpsc::Receiver<(String, ConnectorRequest)>,
        log: Arc<LogControl>,
    ) -> Result<Arc<Self>, String> {
        let admin = client_config(&[&worker.config.client_config("admin.")]);
        let consumer = client_config(&[&worker.config.client_config("consumer.")]);
        let producer = client_config(&[&worker.config.client_config("producer.")]);
        for topic in [
            InternalTopic {
                name: settings.config_topic.clone(),
                partitions: 1,
                replication: settings.config_replication,
                topic_key: "config.storage.topic",
                replication_key: "config.storage.replication.factor",
                holds: "connector configurations",
                single_partition: true,
            },
            InternalTopic {
                name: settings.status_topic.clone(),
                partitions: settings.status_partitions,
                replication: settings.status_replication,
                topic_key: "status.storage.topic",
                replication_key: "status.storage.replication.factor",
                holds: "connector and task statuses",
                single_partition: false,
            },
        ] {
            crate::kafka::retry_retriable(
                &format!("creating or checking topic {}", topic.name),
                Duration::from_secs(300),
                || ensure_internal_topic(&admin, &topic),
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        let config = Arc::new(Mutex::new(ConfigState::default()));
        let c2 = config.clone();
        let config_log = TopicLog::start(
            &settings.config_topic,
            &consumer,
            &producer,
            Box::new(move |k, v| c2.lock().unwrap().apply(ConfigRecord::parse(k, v))),
        )?;
        let status = Arc::new(Mutex::new(StatusState::default()));
        let s2 = status.clone();
        let status_log = TopicLog::start(
            &settings.status_topic,
            &consumer,
            &producer,
            Box::new(move |k, v| s2.lock().unwrap().apply(StatusRecord::parse(k, v))),
        )?;
        config_log.read_to_end(Duration::from_secs(120)).await?;
        status_log.read_to_end(Duration::from_secs(120)).await?;
        let restarts_done = config.lock().unwrap().last_restart();
        let logger_levels_done = config.lock().unwrap().last_logger_level();
        tracing::info!(topic = %settings.config_topic, connectors = config.lock().unwrap().connectors.len(), "read the config topic to its end");
        let membership = MembershipHandle::start(
            &consumer,
            GroupSettings {
                group_id: settings.group_id.clone(),
                worker_id: worker.worker_id.clone(),
                topic: settings.config_topic.clone(),
                session_timeout: settings.session_timeout,
                heartbeat_interval: settings.heartbeat_interval,
                rebalance_timeout: settings.rebalance_timeout,
            },
        )?;
        let membership_state = membership.state.clone();
        let herder = Arc::new(DistributedHerder {
            worker,
            settings,
            config,
            config_log,
            status,
            status_log,
            offsets,
            membership: Mutex::new(Some(membership)),
            membership_state,
            local: tokio::sync::Mutex::new(Local {
                restarts_done,
                logger_levels_done,
                ..Default::default()
            }),
            departed: Mutex::new(HashMap::new()),
            caught_up: AtomicBool::new(true),
            stopping: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            log,
        });
        // Connectors asking for new task configs.
        let weak = Arc::downgrade(&herder);
        tokio::spawn(async move {
            while let Some((name, req)) = requests.recv().await {
                let Some(h) = weak.upgrade() else { return };
                h.on_connector_request(&name, req).await;
            }
        });
        let weak = Arc::downgrade(&herder);
        let mut cfg_rx = herder.config_log.subscribe();
        let mut st_rx = herder.status_log.subscribe();
        let mut m_rx = herder.membership_state.clone();
        tokio::spawn(async move {
            loop {
                let Some(h) = weak.upgrade() else { return };
                if h.stopping.load(Ordering::SeqCst) {
                    return;
                }
                h.tick().await;
                drop(h);
                tokio::select! {
                    _ = cfg_rx.changed() => {}
                    _ = st_rx.changed() => {}
                    _ = m_rx.changed() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        });
        Ok(herder)
    }

    fn membership(&self) -> Membership {
        self.membership_state.borrow().clone()
    }

    fn writable(&self) -> Result<(), HerderError> {
        if !self.caught_up.load(Ordering::SeqCst) || !self.membership().in_group {
            return Err(HerderError::Conflict(REBALANCING.into()));
        }
        Ok(())
    }

    /// Reads the config topic to its end, so that checks see every write made so far
    /// (by any worker).
    async fn sync_config(&self) -> Result<(), HerderError> {
        self.config_log
            .read_to_end(Duration::from_secs(30))
            .await
            .map_err(|_| HerderError::Conflict(REBALANCING.into()))
    }

    fn config_snapshot(&self) -> ConfigState {
        self.config.lock().unwrap().clone()
    }

    async fn write_config(&self, r: ConfigRecord) -> Result<(), HerderError> {
        let (k, v) = r.encode();
        self.config_log
            .write(&k, v)
            .await
            .map_err(HerderError::Internal)
    }

    async fn write_status(&self, r: StatusRecord) {
        let (k, v) = r.encode();
        if let Err(e) = self.status_log.write(&k, v).await {
            tracing::warn!("cannot write status: {}", e);
        }
    }

    /// One round: lead (if leader), then make local work match the assignment.
    async fn tick(&self) {
        let m = self.membership();
        let cfg = self.config_snapshot();
        self.apply_logger_levels(&cfg).await;
        if m.leader {
            self.lead(&m, &cfg).await;
        }
        self.reconcile(&m, &cfg).await;
        self.publish().await;
    }

    /// Applies the cluster-wide log levels written since this worker started.
    async fn apply_logger_levels(&self, cfg: &ConfigState) {
        let mut local = self.local.lock().await;
        for (seq, namespace, level) in &cfg.logger_levels {
            if *seq <= local.logger_levels_done {
                continue;
            }
            local.logger_levels_done = *seq;
            match self.log.set(namespace, level, now_ms()) {
                Ok(_) => {
                    tracing::info!(logger = %namespace, level = %level, "log level changed for the cluster")
                }
                Err(e) => {
                    tracing::warn!(logger = %namespace.escape_debug(), "ignoring a cluster-wide log level: {}", e)
                }
            }
        }
    }

    async fn lead(&self, m: &Membership, cfg: &ConfigState) {
        let previous = &cfg.assignment;
        let delay = self.settings.rebalance_delay;
        let may_reassign = {
            let mut departed = self.departed.lock().unwrap();
            departed.retain(|w, _| !m.members.contains(w));
            for w in previous.assignment.values() {
                if !m.members.contains(w) {
                    departed.entry(w.clone()).or_insert_with(Instant::now);
                }
            }
            let ready: BTreeSet<String> = departed
                .iter()
                .filter(|(_, t)| t.elapsed() >= delay)
                .map(|(w, _)| w.clone())
                .collect();
            move |w: &str| ready.contains(w)
        };
        let (next, held) = assign(
            &m.members,
            &plan::units(cfg),
            &previous.assignment,
            may_reassign,
        );
        let members: Vec<String> = m.members.iter().cloned().collect();
        if next == previous.assignment && members == previous.members {
            return;
        }
        if !held.units.is_empty() {
            tracing::info!(
                held = held.units.len(),
                "holding back a departed worker's units for scheduled.rebalance.max.delay.ms"
            );
        }
        let record = AssignmentRecord {
            version: previous.version + 1,
            leader: self.worker.worker_id.clone(),
            members,
            assignment: next,
        };
        tracing::info!(version = record.version, members = ?record.members, units = record.assignment.len(), "publishing assignment");
        if let Err(e) = self.write_config(ConfigRecord::Assignment(record)).await {
            tracing::warn!("cannot publish the assignment: {}", e);
        }
    }

    /// Makes local work match the cluster's: plans the round from what runs here and
    /// what the topics say (see [`plan`]), then carries the plan out.
    async fn reconcile(&self, m: &Membership, cfg: &ConfigState) {
        let me = self.worker.worker_id.clone();
        // Statuses carry the last assignment version that listed this worker: a
        // worker cut off from the group writes its late UNASSIGNEDs with the version
        // it was last a member at, which does not hide the next owner's state.
        if cfg.assignment.members.contains(&me) {
            self.generation
                .store(cfg.assignment.version, Ordering::SeqCst);
        }
        let mut local = self.local.lock().await;
        let statuses = self.status.lock().unwrap().clone();
        let seen = plan::Local {
            connectors: local
                .connectors
                .iter()
                .map(|(n, c)| {
                    let running = plan::RunningConnector {
                        raw: c.raw.clone(),
                        target: c.target,
                        failed: c.status.get().state == State::Failed,
                    };
                    (n.clone(), running)
                })
                .collect(),
            tasks: local
                .tasks
                .iter()
                .map(|(k, t)| {
                    let running = plan::RunningTask {
                        config: t.config.clone(),
                        connector_raw: t.connector_raw.clone(),
                        target: t.target,
                        failed: t.handle.status.get().state == State::Failed,
                    };
                    (k.clone(), running)
                })
                .collect(),
        };
        let p = plan::plan(&plan::Inputs {
            me: &me,
            membership: m,
            stopping: self.stopping.load(Ordering::SeqCst),
            config: cfg,
            statuses: &statuses,
            local: &seen,
            restarts_done: local.restarts_done,
        });
        if p.fenced_with_work {
            tracing::warn!("this worker is not in the group: stopping its work");
        }
        self.execute(&mut local, p.actions, cfg).await;
        local.restarts_done = p.restarts_done;
    }

    /// Carries out a plan's actions in order; consecutive task stops run together.
    async fn execute(&self, local: &mut Local, actions: Vec<Action>, cfg: &ConfigState) {
        let mut stopping: Vec<(String, u32, LocalTask)> = Vec::new();
        for action in actions {
            if !matches!(action, Action::StopTask(..)) && !stopping.is_empty() {
                self.stop_tasks(local, std::mem::take(&mut stopping)).await;
            }
            match action {
                Action::StopTask(n, t) => {
                    if let Some(lt) = local.tasks.remove(&(n.clone(), t)) {
                        stopping.push((n, t, lt));
                    }
                }
                Action::StopConnector(n) => {
                    if let Some(c) = local.connectors.remove(&n) {
                        if let Some(r) = c.running {
                            r.stop().await;
                        }
                        tracing::info!(connector = %n, "stopped connector here");
                    }
                    local.published.remove(&Unit::Connector(n.clone()));
                    self.write_status(StatusRecord::Connector {
                        name: n,
                        status: Some(self.status_value(State::Unassigned, None)),
                    })
                    .await;
                }
                Action::SetConnectorTarget(n, target) => {
                    if let Some(c) = local.connectors.get_mut(&n) {
                        c.target = target;
                        c.status.set_state(if target == TargetState::Paused {
                            State::Paused
                        } else {
                            State::Running
                        });
                    }
                }
                Action::SetTaskTarget(n, t, target) => {
                    if let Some(lt) = local.tasks.get_mut(&(n, t)) {
                        lt.target = target;
                        lt.handle.set_target(task_target(target));
                    }
                }
                Action::Disown(u) => {
                    // Once per hand-over: a second UNASSIGNED, newer than the new
                    // owner's RUNNING, would hide it.
                    let version = cfg.assigned_since.get(&u).map_or(0, |h| h.version);
                    if local.disowned.get(&u) == Some(&version) {
                        continue;
                    }
                    local
                        .disowned
                        .retain(|u, _| cfg.assignment.assignment.contains_key(u));
                    local.disowned.insert(u.clone(), version);
                    tracing::debug!(unit = %u, "writing UNASSIGNED for a unit another worker now holds");
                    let status = Some(self.status_value(State::Unassigned, None));
                    self.write_status(match u {
                        Unit::Connector(name) => StatusRecord::Connector { name, status },
                        Unit::Task(name, task) => StatusRecord::Task { name, task, status },
                    })
                    .await;
                }
                Action::StartConnector(n) => self.start_connector(local, &n, cfg).await,
                Action::StartTask(n, t) => self.start_task(local, &n, t, cfg).await,
                Action::RestartConnector(n) => {
                    if let Some(c) = local.connectors.remove(&n) {
                        if let Some(r) = c.running {
                            r.stop().await;
                        }
                        tracing::info!(connector = %n, "restarting connector");
                        self.start_connector(local, &n, cfg).await;
                    }
                }
                Action::RestartTask(n, t) => {
                    if let Some(lt) = local.tasks.remove(&(n.clone(), t)) {
                        lt.handle
                            .stop(self.worker.config.shutdown_timeout + Duration::from_secs(5))
                            .await;
                        tracing::info!(task = %format!("{}-{}", n, t), "restarting task");
                        self.start_task(local, &n, t, cfg).await;
                    }
                }
            }
        }
        if !stopping.is_empty() {
            self.stop_tasks(local, stopping).await;
        }
    }

    /// Stops tasks together; each one's UNASSIGNED status is written after it flushed
    /// its offsets, so that the new owner may start it.
    async fn stop_tasks(&self, local: &mut Local, tasks: Vec<(String, u32, LocalTask)>) {
        let timeout = self.worker.config.shutdown_timeout + Duration::from_secs(5);
        let stops = tasks.into_iter().map(|(n, t, lt)| async move {
            lt.handle.stop(timeout).await;
            (n, t)
        });
        for (n, t) in futures::future::join_all(stops).await {
            tracing::info!(task = %format!("{}-{}", n, t), "stopped task here");
            local.published.remove(&Unit::Task(n.clone(), t));
            self.write_status(StatusRecord::Task {
                name: n,
                task: t,
                status: Some(self.status_value(State::Unassigned, None)),
            })
            .await;
        }
    }

    fn status_value(&self, state: State, trace: Option<String>) -> StatusValue {
        StatusValue {
            state,
            trace,
            worker_id: self.worker.worker_id.clone(),
            generation: self.generation.load(Ordering::SeqCst) as i64,
        }
    }

    fn spec(&self, name: &str, raw: &RawConfig) -> Result<Arc<ConnectorSpec>, String> {
        ConnectorSpec::resolve(&self.worker.plugins, &self.worker.config, name, raw)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }

    /// Starts the connector instance here and writes its task configs if they changed.
    async fn start_connector(&self, local: &mut Local, name: &str, cfg: &ConfigState) {
        let Some(raw) = cfg.connectors.get(name).cloned() else {
            return;
        };
        let target = cfg.target(name);
        let status = SharedStatus::new(State::Unassigned, &self.worker.worker_id);
        let ctx = ConnectorContext::new(
            name.to_string(),
            self.worker.requests.clone(),
            OffsetReader::new(name.to_string(), self.worker.offsets.clone()),
        );
        let started: Result<(RunningConnector, Vec<RawConfig>), String> = async {
            let spec = self.spec(name, &raw)?;
            let mut running = RunningConnector::start(spec, ctx)
                .await
                .map_err(|e| e.to_string())?;
            match running.task_configs().await {
                Ok(c) => Ok((running, c.into_iter().map(|c| c.stored).collect())),
                Err(e) => {
                    running.stop().await;
                    Err(e.to_string())
                }
            }
        }
        .await;
        let running = match started {
            Ok((running, configs)) => {
                status.set_state(if target == TargetState::Paused {
                    State::Paused
                } else {
                    State::Running
                });
                if cfg.tasks.get(name) != Some(&configs) {
                    self.write_task_configs(name, &configs).await;
                }
                tracing::info!(connector = %name, "started connector here");
                Some(running)
            }
            Err(msg) => {
                tracing::error!(connector = %name, "{}", msg);
                status.fail(msg);
                None
            }
        };
        local.connectors.insert(
            name.to_string(),
            LocalConnector {
                running,
                raw,
                target,
                status,
            },
        );
    }

    /// Writes task configs, then the commit that makes them take effect.
    async fn write_task_configs(&self, name: &str, configs: &[RawConfig]) {
        for (i, c) in configs.iter().enumerate() {
            let r = ConfigRecord::Task {
                name: name.to_string(),
                task: i as u32,
                config: c.clone(),
            };
            if let Err(e) = self.write_config(r).await {
                tracing::warn!(connector = %name, "cannot write task configs: {}", e);
                return;
            }
        }
        if let Err(e) = self
            .write_config(ConfigRecord::Commit {
                name: name.to_string(),
                tasks: configs.len() as u32,
            })
            .await
        {
            tracing::warn!(connector = %name, "cannot commit task configs: {}", e);
        } else {
            tracing::info!(connector = %name, tasks = configs.len(), "task configs committed");
        }
    }

    /// Starts a task here from its stored config. A task whose connector config does
    /// not check out on this worker is shown FAILED with the reason.
    async fn start_task(&self, local: &mut Local, name: &str, task: u32, cfg: &ConfigState) {
        let (Some(raw), Some(stored)) = (
            cfg.connectors.get(name).cloned(),
            cfg.tasks
                .get(name)
                .and_then(|v| v.get(task as usize))
                .cloned(),
        ) else {
            return;
        };
        let id = TaskId {
            connector: name.to_string(),
            task,
        };
        let target = cfg.target(name);
        let handle = match self.spec(name, &raw) {
            Ok(spec) => {
                // Offsets written by the previous owner must be visible first.
                if spec.kind() == ConnectorType::Source {
                    if let Err(e) = self.offsets.reload().await {
                        tracing::warn!(task = %id, "cannot read the offsets topic (will retry): {}", e);
                        return;
                    }
                }
                let topics = local.topics.entry(name.to_string()).or_default().clone();
                self.worker.start_task(TaskLaunch {
                    spec,
                    id,
                    config: stored.clone(),
                    target: task_target(target),
                    topics,
                })
            }
            Err(msg) => {
                tracing::error!(task = %id, "cannot start the task: {}", msg);
                self.worker.failed_task(id, stored.clone(), msg)
            }
        };
        tracing::info!(task = %format!("{}-{}", name, task), "started task here");
        local.tasks.insert(
            (name.to_string(), task),
            LocalTask {
                handle,
                config: stored,
                connector_raw: raw,
                target,
            },
        );
    }

    /// Writes the statuses and topics of local units that changed.
    async fn publish(&self) {
        let mut writes = Vec::new();
        {
            let mut local = self.local.lock().await;
            let mut changed: Vec<(Unit, Status)> = Vec::new();
            for (n, c) in &local.connectors {
                changed.push((Unit::Connector(n.clone()), c.status.get()));
            }
            for ((n, t), lt) in &local.tasks {
                changed.push((Unit::Task(n.clone(), *t), lt.handle.status.get()));
            }
            for (u, s) in changed {
                let key = (s.state, s.trace.clone());
                if local.published.get(&u) == Some(&key) {
                    continue;
                }
                local.published.insert(u.clone(), key);
                let v = Some(self.status_value(s.state, s.trace));
                writes.push(match u {
                    Unit::Connector(n) => StatusRecord::Connector { name: n, status: v },
                    Unit::Task(n, t) => StatusRecord::Task {
                        name: n,
                        task: t,
                        status: v,
                    },
                });
            }
            let mut topic_records = Vec::new();
            // topic.tracking.enable=false: no topic records, as in Connect.
            let tracking = self.worker.config.topic_tracking;
            for (c, set) in local.topics.iter().filter(|_| tracking) {
                for t in set.list() {
                    if !local.published_topics.contains(&(c.clone(), t.clone())) {
                        topic_records.push((c.clone(), t));
                    }
                }
            }
            for (c, t) in topic_records {
                local.published_topics.insert((c.clone(), t.clone()));
                writes.push(StatusRecord::Topic {
                    topic: t,
                    connector: c,
                    task: 0,
                    discovered: now_ms(),
                    present: true,
                });
            }
        }
        for w in writes {
            self.write_status(w).await;
        }
    }

    async fn on_connector_request(&self, name: &str, req: ConnectorRequest) {
        let cfg = self.config_snapshot();
        let mut local = self.local.lock().await;
        let Some(c) = local.connectors.get_mut(name) else {
            return;
        };
        match req {
            ConnectorRequest::Failed(msg) => c.status.fail(msg),
            ConnectorRequest::ReconfigureTasks => {
                let Some(running) = c.running.as_mut() else {
                    return;
                };
                match running.task_configs().await {
                    Ok(configs) => {
                        let configs: Vec<RawConfig> =
                            configs.into_iter().map(|c| c.stored).collect();
                        if cfg.tasks.get(name) != Some(&configs) {
                            drop(local);
                            self.write_task_configs(name, &configs).await;
                        }
                    }
                    Err(e) => c.status.fail(e.to_string()),
                }
            }
        }
    }

    /// Leaves the cluster: stops local work (flushing offsets, writing UNASSIGNED),
    /// then leaves the group so others take over.
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let m = Membership {
            leader: false,
            members: BTreeSet::new(),
            in_group: false,
        };
        let cfg = self.config_snapshot();
        self.reconcile(&m, &cfg).await;
        let handle = self.membership.lock().unwrap().take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.leave()).await;
        }
    }

    fn connector_kind(&self, raw: &RawConfig) -> Option<ConnectorType> {
        raw.get("connector.class")
            .and_then(|c| self.worker.plugins.find_connector(c))
            .map(|p| p.kind())
    }

    fn status_of(&self, v: Option<&StatusValue>) -> Status {
        match v {
            Some(s) => Status {
                state: s.state,
                trace: s.trace.clone(),
                detail: None,
                worker_id: s.worker_id.clone(),
            },
            None => Status::new(State::Unassigned, ""),
        }
    }

    fn not_found(name: &str) -> HerderError {
        HerderError::NotFound(format!("Connector {} not found", name))
    }

    /// Like [`check_stopped`](Self::check_stopped), but a connector that is STOPPED
    /// while its tasks are still shutting down (a stop just requested) gets up to the
    /// task shutdown timeout to finish, so `stop` then `PATCH .../offsets` just works.
    async fn wait_stopped(
        &self,
        name: &str,
    ) -> Result<(RawConfig, Option<ConnectorType>), HerderError> {
        let deadline = tokio::time::Instant::now()
            + self.worker.config.shutdown_timeout
            + Duration::from_secs(5);
        loop {
            let target_stopped = self.config_snapshot().target(name) == TargetState::Stopped;
            match self.check_stopped(name) {
                Err(e) if target_stopped && tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                r => return r,
            }
        }
    }

    /// Offsets may change only while a connector is STOPPED and none of its tasks runs.
    fn check_stopped(&self, name: &str) -> Result<(RawConfig, Option<ConnectorType>), HerderError> {
        let cfg = self.config_snapshot();
        let raw = cfg
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| Self::not_found(name))?;
        let running = self.status.lock().unwrap().tasks.iter().any(|((n, _), s)| {
            n == name && matches!(s.state, State::Running | State::Paused | State::Restarting)
        });
        check_offsets_modifiable(name, cfg.target(name), running)?;
        let kind = self.connector_kind(&raw);
        Ok((raw, kind))
    }
}

#[async_trait]
impl Herder for DistributedHerder {
    fn worker_id(&self) -> String {
        self.worker.worker_id.clone()
    }

    fn plugins(&self) -> &Plugins {
        &self.worker.plugins
    }

    fn worker_config(&self) -> &WorkerConfig {
        &self.worker.config
    }

    fn taps(&self) -> Option<Arc<crate::tap::TapHub>> {
        Some(self.worker.taps.clone())
    }

    fn is_ready(&self) -> bool {
        self.caught_up.load(Ordering::SeqCst) && self.membership().in_group
    }

    async fn connector_names(&self) -> Result<Vec<String>, HerderError> {
        self.sync_config().await?;
        Ok(self
            .config
            .lock()
            .unwrap()
            .connectors
            .keys()
            .cloned()
            .collect())
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.sync_config().await?;
        let cfg = self.config.lock().unwrap();
        let raw = cfg
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| Self::not_found(name))?;
        let tasks = if cfg.target(name) == TargetState::Stopped {
            0
        } else {
            cfg.tasks.get(name).map(|v| v.len()).unwrap_or(0)
        };
        Ok(ConnectorInfo {
            name: name.to_string(),
            kind: self.connector_kind(&raw),
            config: raw,
            tasks: (0..tasks as u32)
                .map(|t| TaskId {
                    connector: name.to_string(),
                    task: t,
                })
                .collect(),
        })
    }

    async fn put_connector(
        &self,
        name: &str,
        mut config: RawConfig,
        _origin: ConfigOrigin,
        opts: PutOptions,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        self.writable()?;
        check_name(name, &mut config)?;
        let issues = validation_issues(&self.worker, &config).await;
        if !issues.is_empty() {
            return Err(HerderError::Invalid(issues));
        }
        self.sync_config().await?;
        let existed = self.config.lock().unwrap().connectors.get(name).cloned();
        if existed.is_some() && opts.create_only {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {} already exists",
                name
            )));
        }
        if let Some(s) = opts.initial_state {
            self.write_config(ConfigRecord::TargetState {
                name: name.to_string(),
                state: Some(s),
            })
            .await?;
        }
        if existed.as_ref() != Some(&config) {
            self.write_config(ConfigRecord::Connector {
                name: name.to_string(),
                config: Some(config),
            })
            .await?;
            tracing::info!(connector = %name, "{} connector in the cluster", if existed.is_some() { "updated" } else { "created" });
        }
        let mut info = self.connector_info(name).await?;
        if existed.is_none() {
            // As Connect's distributed herder answers: the new connector's tasks do not
            // exist yet (the leader generates them after reading the config back).
            info.tasks.clear();
        }
        Ok((existed.is_none(), info))
    }

    async fn delete_connector(&self, name: &str, _origin: ConfigOrigin) -> Result<(), HerderError> {
        self.writable()?;
        self.sync_config().await?;
        if !self.config.lock().unwrap().connectors.contains_key(name) {
            return Err(Self::not_found(name));
        }
        self.write_config(ConfigRecord::Connector {
            name: name.to_string(),
            config: None,
        })
        .await?;
        self.write_config(ConfigRecord::TargetState {
            name: name.to_string(),
            state: None,
        })
        .await?;
        tracing::info!(connector = %name, "deleted connector from the cluster");
        Ok(())
    }

    async fn status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        let info = self.connector_info(name).await.map_err(|_| {
            HerderError::NotFound(format!("No status found for connector {}", name))
        })?;
        let cfg_target = self.config.lock().unwrap().target(name);
        let st = self.status.lock().unwrap();
        let mut connector = self.status_of(st.connectors.get(name));
        if cfg_target == TargetState::Stopped {
            connector.state = State::Stopped;
            connector.trace = None;
            if connector.worker_id.is_empty() {
                connector.worker_id = self.worker.worker_id.clone();
            }
        }
        let tasks = info
            .tasks
            .iter()
            .map(|t| {
                (
                    t.task,
                    self.status_of(st.tasks.get(&(name.to_string(), t.task))),
                )
            })
            .collect();
        Ok(ConnectorStateInfo {
            name: name.to_string(),
            connector,
            tasks,
            kind: info.kind,
            config_error: None,
        })
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<Status, HerderError> {
        let info = self.connector_info(name).await?;
        if task as usize >= info.tasks.len() {
            return Err(HerderError::NotFound(format!(
                "Task {}-{} not found",
                name, task
            )));
        }
        Ok(self.status_of(
            self.status
                .lock()
                .unwrap()
                .tasks
                .get(&(name.to_string(), task)),
        ))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, RawConfig)>, HerderError> {
        let info = self.connector_info(name).await?;
        let cfg = self.config.lock().unwrap();
        Ok(info
            .tasks
            .into_iter()
            .filter_map(|t| {
                cfg.tasks
                    .get(name)
                    .and_then(|v| v.get(t.task as usize))
                    .cloned()
                    .map(|c| (t, c))
            })
            .collect())
    }

    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        self.writable()?;
        self.sync_config().await?;
        if !self.config.lock().unwrap().connectors.contains_key(name) {
            return Err(Self::not_found(name));
        }
        self.write_config(ConfigRecord::TargetState {
            name: name.to_string(),
            state: Some(target),
        })
        .await
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError> {
        self.writable()?;
        let current = self.status(name).await.map_err(|_| Self::not_found(name))?;
        let plan = RestartPlan::new(&current, include_tasks, only_failed);
        self.write_config(ConfigRecord::RestartConnector {
            name: name.to_string(),
            include_tasks,
            only_failed,
        })
        .await?;
        Ok(plan.answer)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        self.writable()?;
        self.task_status(name, task).await?;
        self.write_config(ConfigRecord::RestartTask {
            name: name.to_string(),
            task,
            requested: now_ms(),
        })
        .await
    }

    async fn offsets(&self, name: &str) -> Result<Vec<OffsetEntry>, HerderError> {
        let raw = self
            .config
            .lock()
            .unwrap()
            .connectors
            .get(name)
            .cloned()
            .ok_or_else(|| Self::not_found(name))?;
        match self.connector_kind(&raw) {
            Some(ConnectorType::Sink) => offsets_api::sink_offsets(&self.worker, name, &raw).await,
            _ => {
                self.offsets
                    .reload()
                    .await
                    .map_err(|e| HerderError::Internal(e.to_string()))?;
                offsets_api::source_offsets(self.worker.offsets.as_ref(), name).await
            }
        }
    }

    async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<OffsetEntry>,
    ) -> Result<String, HerderError> {
        self.writable()?;
        let (_, kind) = self.wait_stopped(name).await?;
        if entries.is_empty() {
            return Err(HerderError::BadRequest(
                "Partitions / offsets need to be provided for an alter offsets request".into(),
            ));
        }
        match kind {
            Some(ConnectorType::Sink) => {
                offsets_api::alter_sink_offsets(&self.worker, name, entries).await?
            }
            _ => {
                offsets_api::alter_source_offsets(self.worker.offsets.as_ref(), name, entries)
                    .await?
            }
        }
        Ok(OFFSETS_MESSAGE.replace("{op}", "altered"))
    }

    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        self.writable()?;
        let (raw, kind) = self.wait_stopped(name).await?;
        match kind {
            Some(ConnectorType::Sink) => {
                offsets_api::reset_sink_offsets(&self.worker, name, &raw).await?
            }
            _ => {
                self.offsets
                    .reload()
                    .await
                    .map_err(|e| HerderError::Internal(e.to_string()))?;
                offsets_api::reset_source_offsets(self.worker.offsets.as_ref(), name).await?
            }
        }
        Ok(OFFSETS_MESSAGE.replace("{op}", "reset"))
    }

    async fn set_cluster_logger_level(
        &self,
        namespace: &str,
        level: &str,
    ) -> Result<bool, HerderError> {
        // Any worker writes it (Connect does not forward it to the leader); every
        // worker, this one included, applies it when it reads the record.
        self.write_config(ConfigRecord::LoggerLevel {
            namespace: namespace.to_string(),
            level: level.to_string(),
        })
        .await?;
        Ok(true)
    }

    async fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        if !self.config.lock().unwrap().connectors.contains_key(name) {
            return Err(Self::not_found(name));
        }
        Ok(self
            .status
            .lock()
            .unwrap()
            .topics
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        self.writable()?;
        let topics = self.active_topics(name).await?;
        for t in topics {
            self.write_status(StatusRecord::Topic {
                topic: t.clone(),
                connector: name.to_string(),
                task: 0,
                discovered: 0,
                present: false,
            })
            .await;
        }
        let mut local = self.local.lock().await;
        if let Some(set) = local.topics.get(name) {
            set.clear();
        }
        local.published_topics.retain(|(c, _)| c != name);
        Ok(())
    }

    async fn validate(&self, raw: RawConfig) -> ValidationReport {
        validate_for_api(&self.worker, raw).await
    }

    async fn metrics(&self) -> MetricsSnapshot {
        let local = self.local.lock().await;
        let tasks: Vec<TaskMetricsView> = local
            .tasks
            .iter()
            .filter_map(|((n, _), t)| {
                let kind = self.connector_kind(&t.connector_raw)?;
                let _ = n;
                Some(TaskMetricsView {
                    id: t.handle.id.clone(),
                    kind,
                    status: t.handle.status.get(),
                    metrics: t.handle.metrics.clone(),
                })
            })
            .collect();
        let connectors = local
            .connectors
            .iter()
            .map(|(n, c)| ConnectorStateInfo {
                name: n.clone(),
                connector: c.status.get(),
                tasks: local
                    .tasks
                    .iter()
                    .filter(|((tn, _), _)| tn == n)
                    .map(|((_, t), lt)| (*t, lt.handle.status.get()))
                    .collect(),
                kind: self.connector_kind(&c.raw),
                config_error: None,
            })
            .collect();
        MetricsSnapshot { connectors, tasks }
    }

    async fn kafka_cluster_id(&self) -> Option<String> {
        cluster_id(&self.worker).await
    }
}
