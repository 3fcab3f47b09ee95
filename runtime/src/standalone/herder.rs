//! The standalone herder: every connector and task runs in this process.
//!
//! Connectors come from the command line, from `connectors.dir`, or from the REST API.
//! API-created connectors and target states set through the API are kept in a state
//! file (see [`StateFile`]), so a restart brings back the same connectors in the same
//! states. A connector defined by a file is changed by editing the file: the API may
//! pause, resume, stop and restart it, but not change or delete its config.
//!
//! Locking: the map of connectors is locked only to find or insert one, never across
//! an await. Each connector has an `ops` lock that serializes what changes it (start,
//! stop, restart, reconfigure, which await connectors and tasks) and a `view` that REST
//! reads take without waiting for those.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::StateFile;
use crate::config::files::TargetState;
use crate::config::worker::WorkerConfig;
use crate::config::RawConfig;
use crate::connector::{ConnectorContext, ConnectorRequest, ConnectorType, OffsetReader};
use crate::herder::offsets_api::{self, OffsetEntry};
use crate::herder::{
    cluster_id, validate_for_api, validation_issues, ConfigOrigin, ConnectorInfo,
    ConnectorStateInfo, Herder, HerderError, MetricsSnapshot, PutOptions, TaskMetricsView,
    ValidationReport, OFFSETS_MESSAGE,
};
use crate::lifecycle::checks::{check_name, check_offsets_modifiable, RestartPlan};
use crate::lifecycle::{ConnectorSpec, RunningConnector};
use crate::plugins::Plugins;
use crate::status::{SharedStatus, State, Status};
use crate::task::{ActiveTopics, TaskId, TaskMetrics, TaskTarget};
use crate::worker::{TaskHandle, TaskLaunch, Worker};

/// What REST reads see of a connector. Changed only under the connector's `ops` lock.
#[derive(Clone)]
struct View {
    raw: RawConfig,
    origin: ConfigOrigin,
    target: TargetState,
    kind: Option<ConnectorType>,
    status: SharedStatus,
    tasks: Vec<TaskView>,
    config_error: Option<String>,
    topics: ActiveTopics,
}

#[derive(Clone)]
struct TaskView {
    id: TaskId,
    status: SharedStatus,
    metrics: Arc<TaskMetrics>,
    /// As stored and shown.
    config: RawConfig,
}

/// What runs for a connector.
#[derive(Default)]
struct Runtime {
    /// The spec its tasks were started from.
    spec: Option<Arc<ConnectorSpec>>,
    connector: Option<RunningConnector>,
    tasks: Vec<TaskHandle>,
    /// Deleted: a request that found this slot before must look again.
    removed: bool,
}

struct Slot {
    ops: tokio::sync::Mutex<Runtime>,
    view: Mutex<View>,
}

impl Slot {
    fn new(view: View) -> Arc<Self> {
        Arc::new(Slot {
            ops: tokio::sync::Mutex::new(Runtime::default()),
            view: Mutex::new(view),
        })
    }
    fn view(&self) -> View {
        self.view.lock().unwrap().clone()
    }
    fn update(&self, f: impl FnOnce(&mut View)) {
        f(&mut self.view.lock().unwrap())
    }
}

/// Runs every connector in this process.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    slots: Mutex<BTreeMap<String, Arc<Slot>>>,
    state: Option<StateFile>,
    ready: AtomicBool,
}

fn task_target(t: TargetState) -> TaskTarget {
    match t {
        TargetState::Running => TaskTarget::Running,
        TargetState::Paused => TaskTarget::Paused,
        TargetState::Stopped => TaskTarget::Stopped,
    }
}

fn running_state(t: TargetState) -> State {
    if t == TargetState::Paused {
        State::Paused
    } else {
        State::Running
    }
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {} not found", name))
}

fn file_managed(name: &str, origin: &ConfigOrigin) -> Option<HerderError> {
    match origin {
        ConfigOrigin::File(p) | ConfigOrigin::CommandLine(p) => {
            Some(HerderError::Conflict(format!(
                "Connector {} is defined by the file {}; change or remove that file instead",
                name,
                p.display()
            )))
        }
        ConfigOrigin::Api => None,
    }
}

fn info(name: &str, v: &View) -> ConnectorInfo {
    ConnectorInfo {
        name: name.to_string(),
        config: v.raw.clone(),
        tasks: v.tasks.iter().map(|t| t.id.clone()).collect(),
        kind: v.kind,
    }
}

fn state_info(name: &str, v: &View) -> ConnectorStateInfo {
    ConnectorStateInfo {
        name: name.to_string(),
        connector: v.status.get(),
        tasks: v
            .tasks
            .iter()
            .map(|t| (t.id.task, t.status.get()))
            .collect(),
        kind: v.kind,
        config_error: v.config_error.clone(),
    }
}

fn task_views(tasks: &[TaskHandle]) -> Vec<TaskView> {
    tasks
        .iter()
        .map(|t| TaskView {
            id: t.id.clone(),
            status: t.status.clone(),
            metrics: t.metrics.clone(),
            config: t.config.clone(),
        })
        .collect()
}

impl StandaloneHerder {
    /// Creates the herder and starts handling connectors' requests. `state` keeps
    /// API-created connectors and target states across restarts.
    pub fn new(
        worker: Arc<Worker>,
        mut requests: mpsc::Receiver<(String, ConnectorRequest)>,
        state: Option<StateFile>,
    ) -> Arc<Self> {
        let herder = Arc::new(StandaloneHerder {
            worker,
            slots: Mutex::new(BTreeMap::new()),
            state,
            ready: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&herder);
        tokio::spawn(async move {
            while let Some((name, req)) = requests.recv().await {
                let Some(h) = weak.upgrade() else { return };
                h.on_request(&name, req).await;
            }
        });
        herder
    }

    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Marks the worker as started (for `/health`).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Brings back the connectors created through the API before a restart.
    pub async fn restore(&self) -> Vec<String> {
        let Some(state) = &self.state else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for (name, stored) in state.connectors() {
            let opts = PutOptions {
                create_only: true,
                initial_state: state.target_state(&name),
            };
            if let Err(e) = self
                .put(&name, stored.config, ConfigOrigin::Api, opts, false)
                .await
            {
                problems.push(format!("{}: {}", name, e));
            }
        }
        problems
    }

    fn persist<T>(&self, r: Result<T, String>) -> Result<T, HerderError> {
        r.map_err(HerderError::Internal)
    }

    fn slot(&self, name: &str) -> Result<Arc<Slot>, HerderError> {
        self.slots
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    fn kind_of(&self, raw: &RawConfig) -> Option<ConnectorType> {
        raw.get("connector.class")
            .and_then(|c| self.worker.plugins.find_connector(c))
            .map(|p| p.kind())
    }

    /// Creates or replaces a connector. Returns whether it was created.
    async fn put(
        &self,
        name: &str,
        mut raw: RawConfig,
        origin: ConfigOrigin,
        opts: PutOptions,
        persist: bool,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        check_name(name, &mut raw)?;
        let issues = validation_issues(&self.worker, &raw).await;
        if !issues.is_empty() {
            return Err(HerderError::Invalid(issues));
        }
        let kind = self.kind_of(&raw);
        loop {
            let (slot, created) = {
                let mut slots = self.slots.lock().unwrap();
                match slots.get(name) {
                    Some(s) => {
                        if opts.create_only {
                            return Err(HerderError::AlreadyExists(format!(
                                "Connector {} already exists",
                                name
                            )));
                        }
                        if origin == ConfigOrigin::Api {
                            if let Some(e) = file_managed(name, &s.view().origin) {
                                return Err(e);
                            }
                        }
                        (s.clone(), false)
                    }
                    None => {
                        let s = Slot::new(View {
                            raw: raw.clone(),
                            origin: origin.clone(),
                            target: TargetState::Running,
                            kind,
                            status: SharedStatus::new(State::Unassigned, &self.worker.worker_id),
                            tasks: Vec::new(),
                            config_error: None,
                            topics: ActiveTopics::default(),
                        });
                        slots.insert(name.to_string(), s.clone());
                        (s, true)
                    }
                }
            };
            let mut rt = slot.ops.lock().await;
            if rt.removed {
                continue; // deleted meanwhile: look again
            }
            let old = slot.view();
            let stored_target = self.state.as_ref().and_then(|s| s.target_state(name));
            let target = opts
                .initial_state
                .or(if created { None } else { Some(old.target) })
                .or(stored_target)
                .unwrap_or(TargetState::Running);
            if !created
                && old.raw == raw
                && old.target == target
                && old.origin == origin
                && old.status.get().state != State::Failed
            {
                return Ok((false, info(name, &old)));
            }
            let persisted = self.persist_put(name, &raw, &origin, &opts, persist);
            if let Err(e) = persisted {
                if created {
                    rt.removed = true;
                    self.forget(name, &slot);
                }
                return Err(e);
            }
            if created {
                tracing::info!(connector = %name, "creating connector");
            } else {
                tracing::info!(connector = %name, "reconfiguring connector");
                self.stop_runtime(name, &slot, &mut rt).await;
            }
            slot.update(|v| {
                v.raw = raw.clone();
                v.origin = origin.clone();
                v.target = target;
                v.kind = kind;
                v.status = SharedStatus::new(State::Unassigned, &self.worker.worker_id);
            });
            self.start(name, &slot, &mut rt).await;
            return Ok((created, info(name, &slot.view())));
        }
    }

    fn persist_put(
        &self,
        name: &str,
        raw: &RawConfig,
        origin: &ConfigOrigin,
        opts: &PutOptions,
        persist: bool,
    ) -> Result<(), HerderError> {
        let Some(s) = &self.state else { return Ok(()) };
        if persist && *origin == ConfigOrigin::Api {
            self.persist(s.put_connector(name, raw.clone()))?;
        }
        if let Some(t) = opts.initial_state {
            self.persist(s.set_target_state(name, t))?;
        }
        Ok(())
    }

    /// Removes `slot` from the map if it is still the one registered under `name`.
    fn forget(&self, name: &str, slot: &Arc<Slot>) {
        let mut slots = self.slots.lock().unwrap();
        if slots.get(name).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            slots.remove(name);
        }
    }

    /// Records a connector whose config file is broken: shown FAILED with the problems,
    /// or, if it already runs, kept as it is with the problem noted in its status.
    pub async fn record_config_problem(
        &self,
        name: &str,
        origin: ConfigOrigin,
        raw: Option<RawConfig>,
        problem: String,
    ) {
        let mut slots = self.slots.lock().unwrap();
        if let Some(s) = slots.get(name) {
            s.update(|v| v.config_error = Some(problem));
            return;
        }
        let raw = raw.unwrap_or_default();
        let status = SharedStatus::new(State::Failed, &self.worker.worker_id);
        status.fail(problem.clone());
        let kind = self.kind_of(&raw);
        slots.insert(
            name.to_string(),
            Slot::new(View {
                raw,
                origin,
                target: TargetState::Running,
                kind,
                status,
                tasks: Vec::new(),
                config_error: Some(problem),
                topics: ActiveTopics::default(),
            }),
        );
    }

    /// The origin of a connector's config.
    pub async fn origin_of(&self, name: &str) -> Option<ConfigOrigin> {
        self.slot(name).ok().map(|s| s.view().origin)
    }

    /// Stops every connector (tasks deliver what is in flight and commit).
    pub async fn shutdown(&self) {
        let all = std::mem::take(&mut *self.slots.lock().unwrap());
        let stops = all.into_iter().map(|(name, slot)| async move {
            let mut rt = slot.ops.lock().await;
            rt.removed = true;
            self.stop_runtime(&name, &slot, &mut rt).await;
        });
        futures::future::join_all(stops).await;
    }

    async fn stop_tasks(&self, tasks: Vec<TaskHandle>) {
        let timeout = self.worker.config.shutdown_timeout + std::time::Duration::from_secs(5);
        futures::future::join_all(tasks.into_iter().map(|t| t.stop(timeout))).await;
    }

    /// Stops the connector's tasks and instance.
    async fn stop_runtime(&self, name: &str, slot: &Slot, rt: &mut Runtime) {
        let tasks = std::mem::take(&mut rt.tasks);
        let had = !tasks.is_empty() || rt.connector.is_some();
        self.stop_tasks(tasks).await;
        slot.update(|v| v.tasks.clear());
        if let Some(c) = rt.connector.take() {
            c.stop().await;
        }
        if had {
            tracing::info!(connector = %name, "connector stopped");
        }
    }

    fn context(&self, name: &str) -> ConnectorContext {
        ConnectorContext::new(
            name.to_string(),
            self.worker.requests.clone(),
            OffsetReader::new(name.to_string(), self.worker.offsets.clone()),
        )
    }

    /// Starts the connector and its tasks according to its target state: the one
    /// lifecycle (spec, connector, task configs, tasks).
    async fn start(&self, name: &str, slot: &Slot, rt: &mut Runtime) {
        let view = slot.view();
        slot.update(|v| v.config_error = None);
        if view.target == TargetState::Stopped {
            view.status.set_state(State::Stopped);
            return;
        }
        let fail = |msg: String| {
            tracing::error!(connector = %name, "{}", msg);
            view.status.fail(msg);
        };
        let spec = match ConnectorSpec::resolve(
            &self.worker.plugins,
            &self.worker.config,
            name,
            &view.raw,
        ) {
            Ok(s) => Arc::new(s),
            Err(e) => return fail(e.to_string()),
        };
        let mut running = match RunningConnector::start(spec.clone(), self.context(name)).await {
            Ok(r) => r,
            Err(e) => return fail(e.to_string()),
        };
        let configs = match running.task_configs().await {
            Ok(c) => c,
            Err(e) => {
                running.stop().await;
                return fail(e.to_string());
            }
        };
        rt.connector = Some(running);
        rt.spec = Some(spec.clone());
        let stored: Vec<RawConfig> = configs.into_iter().map(|c| c.stored).collect();
        self.start_tasks(name, slot, rt, &spec, stored);
        view.status.set_state(running_state(view.target));
        tracing::info!(connector = %name, tasks = rt.tasks.len(), "connector started");
    }

    /// Starts one task per stored config (the connector's tasks must be stopped).
    fn start_tasks(
        &self,
        name: &str,
        slot: &Slot,
        rt: &mut Runtime,
        spec: &Arc<ConnectorSpec>,
        configs: Vec<RawConfig>,
    ) {
        let view = slot.view();
        for (i, config) in configs.into_iter().enumerate() {
            rt.tasks.push(self.worker.start_task(TaskLaunch {
                spec: spec.clone(),
                id: TaskId {
                    connector: name.to_string(),
                    task: i as u32,
                },
                config,
                target: task_target(view.target),
                topics: view.topics.clone(),
            }));
        }
        let views = task_views(&rt.tasks);
        slot.update(|v| v.tasks = views);
    }

    /// Restarts the connector instance only (its tasks keep running).
    async fn restart_connector_only(&self, name: &str, slot: &Slot, rt: &mut Runtime) {
        if let Some(c) = rt.connector.take() {
            c.stop().await;
        }
        let view = slot.view();
        if view.target == TargetState::Stopped {
            return;
        }
        let started = match ConnectorSpec::resolve(
            &self.worker.plugins,
            &self.worker.config,
            name,
            &view.raw,
        ) {
            Ok(spec) => RunningConnector::start(Arc::new(spec), self.context(name))
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match started {
            Ok(r) => {
                rt.connector = Some(r);
                view.status.set_state(running_state(view.target));
            }
            Err(msg) => {
                tracing::error!(connector = %name, "{}", msg);
                view.status.fail(msg);
            }
        }
    }

    /// Stops task `task` and starts it again with its stored config.
    async fn restart_task_in(&self, name: &str, slot: &Slot, rt: &mut Runtime, task: u32) {
        let idx = task as usize;
        let view = slot.view();
        if idx >= rt.tasks.len() || view.target == TargetState::Stopped {
            return;
        }
        let Some(spec) = rt.spec.clone() else { return };
        // Stop the old instance before the new one starts: one task never runs twice.
        let old = rt.tasks.remove(idx);
        let config = old.config.clone();
        let timeout = self.worker.config.shutdown_timeout + std::time::Duration::from_secs(5);
        old.stop(timeout).await;
        let handle = self.worker.start_task(TaskLaunch {
            spec,
            id: TaskId {
                connector: name.to_string(),
                task,
            },
            config,
            target: task_target(view.target),
            topics: view.topics.clone(),
        });
        rt.tasks.insert(idx, handle);
        let views = task_views(&rt.tasks);
        slot.update(|v| v.tasks = views);
    }

    /// Handles a connector's request (new task configs, failure).
    async fn on_request(&self, name: &str, req: ConnectorRequest) {
        let Ok(slot) = self.slot(name) else { return };
        match req {
            ConnectorRequest::Failed(msg) => {
                tracing::error!(connector = %name, "connector failed: {}", msg);
                slot.view().status.fail(msg);
            }
            ConnectorRequest::ReconfigureTasks => {
                let mut rt = slot.ops.lock().await;
                if rt.removed {
                    return;
                }
                let Some(running) = rt.connector.as_mut() else {
                    return;
                };
                let configs = match running.task_configs().await {
                    Ok(c) => c,
                    Err(e) => {
                        slot.view().status.fail(e.to_string());
                        return;
                    }
                };
                let spec = running.spec().clone();
                let stored: Vec<RawConfig> = configs.into_iter().map(|c| c.stored).collect();
                let current: Vec<RawConfig> = rt.tasks.iter().map(|t| t.config.clone()).collect();
                if stored == current {
                    return;
                }
                tracing::info!(connector = %name, tasks = stored.len(), "task configs changed; restarting tasks");
                let tasks = std::mem::take(&mut rt.tasks);
                self.stop_tasks(tasks).await;
                rt.spec = Some(spec.clone());
                self.start_tasks(name, &slot, &mut rt, &spec, stored);
            }
        }
    }
}

#[async_trait]
impl Herder for StandaloneHerder {
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
        self.ready.load(Ordering::SeqCst)
    }

    async fn connector_names(&self) -> Result<Vec<String>, HerderError> {
        Ok(self.slots.lock().unwrap().keys().cloned().collect())
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        Ok(info(name, &self.slot(name)?.view()))
    }

    async fn put_connector(
        &self,
        name: &str,
        config: RawConfig,
        origin: ConfigOrigin,
        opts: PutOptions,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        self.put(name, config, origin, opts, true).await
    }

    async fn delete_connector(&self, name: &str, origin: ConfigOrigin) -> Result<(), HerderError> {
        let slot = self.slot(name)?;
        if origin == ConfigOrigin::Api {
            if let Some(err) = file_managed(name, &slot.view().origin) {
                return Err(err);
            }
        }
        let mut rt = slot.ops.lock().await;
        if rt.removed {
            return Err(not_found(name));
        }
        tracing::info!(connector = %name, "deleting connector");
        if let Some(s) = &self.state {
            self.persist(s.remove_connector(name))?;
        }
        rt.removed = true;
        self.forget(name, &slot);
        self.stop_runtime(name, &slot, &mut rt).await;
        Ok(())
    }

    async fn status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        let slot = self.slot(name).map_err(|_| {
            HerderError::NotFound(format!("No status found for connector {}", name))
        })?;
        Ok(state_info(name, &slot.view()))
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<Status, HerderError> {
        self.slot(name)?
            .view()
            .tasks
            .get(task as usize)
            .map(|t| t.status.get())
            .ok_or_else(|| HerderError::NotFound(format!("Task {}-{} not found", name, task)))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, RawConfig)>, HerderError> {
        Ok(self
            .slot(name)?
            .view()
            .tasks
            .into_iter()
            .map(|t| (t.id, t.config))
            .collect())
    }

    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        let slot = self.slot(name)?;
        let mut rt = slot.ops.lock().await;
        if rt.removed {
            return Err(not_found(name));
        }
        if let Some(s) = &self.state {
            self.persist(s.set_target_state(name, target))?;
        }
        let view = slot.view();
        slot.update(|v| v.target = target);
        match (view.target, target) {
            (a, b) if a == b => {}
            (_, TargetState::Stopped) => {
                self.stop_runtime(name, &slot, &mut rt).await;
                view.status.set_state(State::Stopped);
            }
            (TargetState::Stopped, _) => self.start(name, &slot, &mut rt).await,
            (_, t) => {
                for task in &rt.tasks {
                    task.set_target(task_target(t));
                }
                if view.status.get().state != State::Failed {
                    view.status.set_state(running_state(t));
                }
            }
        }
        tracing::info!(connector = %name, "target state {:?}", target);
        Ok(())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError> {
        let slot = self.slot(name)?;
        let mut rt = slot.ops.lock().await;
        if rt.removed {
            return Err(not_found(name));
        }
        let view = slot.view();
        let plan = RestartPlan::new(&state_info(name, &view), include_tasks, only_failed);
        let never_started = rt.connector.is_none() && view.target != TargetState::Stopped;
        if (include_tasks && plan.everything()) || (plan.connector && never_started) {
            self.stop_runtime(name, &slot, &mut rt).await;
            self.start(name, &slot, &mut rt).await;
        } else {
            if plan.connector {
                self.restart_connector_only(name, &slot, &mut rt).await;
            }
            for t in &plan.tasks {
                self.restart_task_in(name, &slot, &mut rt, *t).await;
            }
        }
        Ok(plan.answer)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let slot = self.slot(name)?;
        let mut rt = slot.ops.lock().await;
        if task as usize >= rt.tasks.len() {
            return Err(HerderError::NotFound(format!(
                "Task {}-{} not found",
                name, task
            )));
        }
        self.restart_task_in(name, &slot, &mut rt, task).await;
        Ok(())
    }

    async fn offsets(&self, name: &str) -> Result<Vec<OffsetEntry>, HerderError> {
        let view = self.slot(name)?.view();
        match view.kind {
            Some(ConnectorType::Sink) => {
                offsets_api::sink_offsets(&self.worker, name, &view.raw).await
            }
            _ => offsets_api::source_offsets(self.worker.offsets.as_ref(), name).await,
        }
    }

    async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<OffsetEntry>,
    ) -> Result<String, HerderError> {
        let slot = self.slot(name)?;
        // Held while offsets change, so the connector cannot be resumed meanwhile.
        let rt = slot.ops.lock().await;
        let view = slot.view();
        check_offsets_modifiable(name, view.target, !rt.tasks.is_empty())?;
        if entries.is_empty() {
            return Err(HerderError::BadRequest(
                "Partitions / offsets need to be provided for an alter offsets request".into(),
            ));
        }
        match view.kind {
            Some(ConnectorType::Sink) => {
                offsets_api::alter_sink_offsets(&self.worker, name, entries).await?
            }
            _ => {
                offsets_api::alter_source_offsets(self.worker.offsets.as_ref(), name, entries)
                    .await?
            }
        }
        tracing::info!(connector = %name, "offsets altered");
        Ok(OFFSETS_MESSAGE.replace("{op}", "altered"))
    }

    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        let slot = self.slot(name)?;
        let rt = slot.ops.lock().await;
        let view = slot.view();
        check_offsets_modifiable(name, view.target, !rt.tasks.is_empty())?;
        match view.kind {
            Some(ConnectorType::Sink) => {
                offsets_api::reset_sink_offsets(&self.worker, name, &view.raw).await?
            }
            _ => offsets_api::reset_source_offsets(self.worker.offsets.as_ref(), name).await?,
        }
        tracing::info!(connector = %name, "offsets reset");
        Ok(OFFSETS_MESSAGE.replace("{op}", "reset"))
    }

    async fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        Ok(self.slot(name)?.view().topics.list())
    }

    async fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        self.slot(name)?.view().topics.clear();
        Ok(())
    }

    async fn validate(&self, raw: RawConfig) -> ValidationReport {
        validate_for_api(&self.worker, raw).await
    }

    async fn metrics(&self) -> MetricsSnapshot {
        let slots: Vec<(String, Arc<Slot>)> = self
            .slots
            .lock()
            .unwrap()
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        let mut tasks = Vec::new();
        let mut connectors = Vec::new();
        for (name, slot) in slots {
            let view = slot.view();
            connectors.push(state_info(&name, &view));
            if let Some(kind) = view.kind {
                for t in &view.tasks {
                    tasks.push(TaskMetricsView {
                        id: t.id.clone(),
                        kind,
                        status: t.status.get(),
                        metrics: t.metrics.clone(),
                    });
                }
            }
        }
        MetricsSnapshot { connectors, tasks }
    }

    async fn kafka_cluster_id(&self) -> Option<String> {
        cluster_id(&self.worker).await
    }

    async fn origin(&self, name: &str) -> Option<ConfigOrigin> {
        self.origin_of(name).await
    }

    async fn report_config_problem(
        &self,
        name: &str,
        origin: ConfigOrigin,
        raw: Option<RawConfig>,
        problem: String,
    ) {
        self.record_config_problem(name, origin, raw, problem).await
    }
}
