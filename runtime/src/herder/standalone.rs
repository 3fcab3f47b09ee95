//! The standalone herder: every connector and task runs in this process.
//!
//! Connectors come from the command line, from `connectors.dir`, or from the REST API.
//! API-created connectors and target states set through the API are kept in a state
//! file (see [`StateFile`]), so a restart brings back the same connectors in the same
//! states. A connector defined by a file is changed by editing the file: the API may
//! pause, resume, stop and restart it, but not change or delete its config.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, Mutex};

use super::offsets_api::{self, OffsetEntry};
use super::{
    cluster_id, finish_task_configs, max_tasks, reverse_transform, validate_for_api, ActiveTopics,
    ConfigOrigin, ConnectorInfo, ConnectorStateInfo, Herder, HerderError, MetricsSnapshot,
    PutOptions, StateFile, TaskMetricsView, ValidationReport, OFFSETS_MESSAGE,
};
use crate::config::files::TargetState;
use crate::config::worker::WorkerConfig;
use crate::config::{ConfigIssue, RawConfig};
use crate::connector::{
    Connector, ConnectorContext, ConnectorPlugin, ConnectorRequest, ConnectorType, OffsetReader,
};
use crate::connector_config::{parse_plugin_config, validate_connector};
use crate::plugins::Plugins;
use crate::status::{SharedStatus, State, Status};
use crate::task::{TaskId, TaskTarget};
use crate::worker::{TaskHandle, TaskLaunch, Worker};

struct Entry {
    raw: RawConfig,
    origin: ConfigOrigin,
    target: TargetState,
    kind: Option<ConnectorType>,
    status: SharedStatus,
    connector: Option<Box<dyn Connector>>,
    tasks: Vec<TaskHandle>,
    config_error: Option<String>,
    topics: ActiveTopics,
}

/// Runs every connector in this process.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    entries: Mutex<BTreeMap<String, Entry>>,
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
            entries: Mutex::new(BTreeMap::new()),
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

    /// Validates a config (resolving config providers) and lists every problem.
    pub async fn validate_issues(&self, raw: &RawConfig) -> Vec<ConfigIssue> {
        let resolved = match self.worker.config.providers.resolve(raw) {
            Ok((r, _)) => r,
            Err(issues) => return issues,
        };
        validate_connector(&self.worker.plugins, &resolved, &self.worker.config)
            .await
            .issues
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
        match raw.get("name") {
            Some(n) if n != name => {
                return Err(HerderError::BadRequest(format!(
                "Connector name configuration ({}) doesn't match connector name in the URL ({})",
                n, name
            )))
            }
            _ => {
                raw.insert("name".into(), name.to_string());
            }
        }
        let issues = self.validate_issues(&raw).await;
        if !issues.is_empty() {
            return Err(HerderError::Invalid(issues));
        }
        let mut entries = self.entries.lock().await;
        if let Some(existing) = entries.get(name) {
            if opts.create_only {
                return Err(HerderError::AlreadyExists(format!(
                    "Connector {} already exists",
                    name
                )));
            }
            if origin == ConfigOrigin::Api {
                if let Some(e) = file_managed(name, &existing.origin) {
                    return Err(e);
                }
            }
        }
        let existing = entries.remove(name);
        let created = existing.is_none();
        let stored_target = self.state.as_ref().and_then(|s| s.target_state(name));
        let target = opts
            .initial_state
            .or(existing.as_ref().map(|e| e.target))
            .or(stored_target)
            .unwrap_or(TargetState::Running);
        let topics = existing
            .as_ref()
            .map(|e| e.topics.clone())
            .unwrap_or_default();
        if let Some(old) = existing {
            if old.raw == raw
                && old.target == target
                && old.origin == origin
                && old.status.get().state != State::Failed
            {
                let info = Self::info(name, &old);
                entries.insert(name.to_string(), old);
                return Ok((false, info));
            }
            tracing::info!(connector = %name, "reconfiguring connector");
            self.stop_entry(name, old).await;
        } else {
            tracing::info!(connector = %name, "creating connector");
        }
        if persist && origin == ConfigOrigin::Api {
            if let Some(s) = &self.state {
                self.persist(s.put_connector(name, raw.clone()))?;
            }
        }
        if let (Some(s), Some(t)) = (&self.state, opts.initial_state) {
            self.persist(s.set_target_state(name, t))?;
        }
        let kind = self
            .worker
            .plugins
            .find_connector(raw.get("connector.class").map(String::as_str).unwrap_or(""))
            .map(|p| p.kind());
        let mut entry = Entry {
            raw,
            origin,
            target,
            kind,
            status: SharedStatus::new(State::Unassigned, &self.worker.worker_id),
            connector: None,
            tasks: Vec::new(),
            config_error: None,
            topics,
        };
        self.start_entry(name, &mut entry).await;
        let info = Self::info(name, &entry);
        entries.insert(name.to_string(), entry);
        Ok((created, info))
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
        let mut entries = self.entries.lock().await;
        if let Some(e) = entries.get_mut(name) {
            e.config_error = Some(problem);
            return;
        }
        let raw = raw.unwrap_or_default();
        let kind = raw
            .get("connector.class")
            .and_then(|c| self.worker.plugins.find_connector(c))
            .map(|p| p.kind());
        let status = SharedStatus::new(State::Failed, &self.worker.worker_id);
        status.fail(problem.clone());
        entries.insert(
            name.to_string(),
            Entry {
                raw,
                origin,
                target: TargetState::Running,
                kind,
                status,
                connector: None,
                tasks: Vec::new(),
                config_error: Some(problem),
                topics: ActiveTopics::default(),
            },
        );
    }

    /// The origin of a connector's config.
    pub async fn origin_of(&self, name: &str) -> Option<ConfigOrigin> {
        self.entries
            .lock()
            .await
            .get(name)
            .map(|e| e.origin.clone())
    }

    /// Stops every connector (tasks deliver what is in flight and commit).
    pub async fn shutdown(&self) {
        let mut entries = self.entries.lock().await;
        let all = std::mem::take(&mut *entries);
        let stops = all
            .into_iter()
            .map(|(name, e)| async move { self.stop_entry(&name, e).await });
        futures::future::join_all(stops).await;
    }

    fn info(name: &str, e: &Entry) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_string(),
            config: e.raw.clone(),
            tasks: e.tasks.iter().map(|t| t.id.clone()).collect(),
            kind: e.kind,
        }
    }

    fn state_info(name: &str, e: &Entry) -> ConnectorStateInfo {
        ConnectorStateInfo {
            name: name.to_string(),
            connector: e.status.get(),
            tasks: e
                .tasks
                .iter()
                .map(|t| (t.id.task, t.status.get()))
                .collect(),
            kind: e.kind,
            config_error: e.config_error.clone(),
        }
    }

    async fn stop_tasks(&self, tasks: Vec<TaskHandle>) {
        let timeout = self.worker.config.shutdown_timeout + std::time::Duration::from_secs(5);
        futures::future::join_all(tasks.into_iter().map(|t| t.stop(timeout))).await;
    }

    async fn stop_entry(&self, name: &str, mut e: Entry) {
        let tasks = std::mem::take(&mut e.tasks);
        self.stop_tasks(tasks).await;
        if let Some(mut c) = e.connector.take() {
            c.stop().await;
        }
        tracing::info!(connector = %name, "connector stopped");
    }

    fn plugin(&self, e: &Entry) -> Option<&ConnectorPlugin> {
        e.raw
            .get("connector.class")
            .and_then(|c| self.worker.plugins.find_connector(c))
    }

    fn context(&self, name: &str) -> ConnectorContext {
        ConnectorContext::new(
            name.to_string(),
            self.worker.requests.clone(),
            OffsetReader::new(name.to_string(), self.worker.offsets.clone()),
        )
    }

    /// Starts the connector and its tasks according to the entry's target state.
    async fn start_entry(&self, name: &str, e: &mut Entry) {
        e.config_error = None;
        if e.target == TargetState::Stopped {
            e.status.set_state(State::Stopped);
            return;
        }
        let Some(plugin) = self.plugin(e).cloned() else {
            e.status.fail(format!(
                "unknown connector class {:?}",
                e.raw.get("connector.class")
            ));
            return;
        };
        let (resolved, secret_keys) = match self.worker.config.providers.resolve(&e.raw) {
            Ok(r) => r,
            Err(issues) => {
                e.status.fail(HerderError::Invalid(issues).to_string());
                return;
            }
        };
        let parsed = match parse_plugin_config(&plugin, &resolved) {
            Ok(p) => p,
            Err(err) => {
                e.status.fail(err.to_string());
                return;
            }
        };
        let mut connector = (plugin.create_connector)();
        if let Err(err) = connector.start(parsed, self.context(name)).await {
            e.status
                .fail(format!("connector {} failed to start: {}", name, err));
            tracing::error!(connector = %name, "failed to start: {}", err);
            return;
        }
        let configs = match connector.task_configs(max_tasks(&resolved)).await {
            Ok(c) => finish_task_configs(&plugin, c, &resolved),
            Err(err) => {
                connector.stop().await;
                e.status.fail(format!(
                    "connector {} failed to generate task configs: {}",
                    name, err
                ));
                return;
            }
        };
        e.connector = Some(connector);
        self.start_tasks(name, e, &plugin, &resolved, &secret_keys, configs);
        e.status.set_state(if e.target == TargetState::Paused {
            State::Paused
        } else {
            State::Running
        });
        tracing::info!(connector = %name, tasks = e.tasks.len(), "connector started");
    }

    fn start_tasks(
        &self,
        name: &str,
        e: &mut Entry,
        plugin: &ConnectorPlugin,
        resolved: &RawConfig,
        secret_keys: &[String],
        configs: Vec<RawConfig>,
    ) {
        for (i, tc) in configs.into_iter().enumerate() {
            let stored = reverse_transform(&tc, &e.raw, resolved, secret_keys);
            let handle = self.worker.start_task(TaskLaunch {
                plugin: plugin.clone(),
                id: TaskId {
                    connector: name.to_string(),
                    task: i as u32,
                },
                connector_config: resolved.clone(),
                task_config: tc,
                stored_task_config: stored,
                target: task_target(e.target),
                topics: e.topics.clone(),
            });
            e.tasks.push(handle);
        }
    }

    async fn restart_connector_only(&self, name: &str, e: &mut Entry) {
        if let Some(mut c) = e.connector.take() {
            c.stop().await;
        }
        if e.target == TargetState::Stopped {
            return;
        }
        let Some(plugin) = self.plugin(e).cloned() else {
            return;
        };
        let Ok((resolved, _)) = self.worker.config.providers.resolve(&e.raw) else {
            return;
        };
        let Ok(parsed) = parse_plugin_config(&plugin, &resolved) else {
            return;
        };
        let mut connector = (plugin.create_connector)();
        match connector.start(parsed, self.context(name)).await {
            Ok(()) => {
                e.connector = Some(connector);
                e.status.set_state(if e.target == TargetState::Paused {
                    State::Paused
                } else {
                    State::Running
                });
            }
            Err(err) => e
                .status
                .fail(format!("connector {} failed to start: {}", name, err)),
        }
    }

    async fn restart_task_in(&self, name: &str, e: &mut Entry, task: u32) {
        let idx = task as usize;
        if idx >= e.tasks.len() || e.target == TargetState::Stopped {
            return;
        }
        let Some(plugin) = self.plugin(e).cloned() else {
            return;
        };
        let Ok((resolved, _)) = self.worker.config.providers.resolve(&e.raw) else {
            return;
        };
        let Ok((task_resolved, _)) = self.worker.config.providers.resolve(&e.tasks[idx].config)
        else {
            return;
        };
        // Stop the old instance before the new one starts: one task never runs twice.
        let old = e.tasks.remove(idx);
        let stored = old.config.clone();
        let timeout = self.worker.config.shutdown_timeout + std::time::Duration::from_secs(5);
        old.stop(timeout).await;
        let handle = self.worker.start_task(TaskLaunch {
            plugin,
            id: TaskId {
                connector: name.to_string(),
                task,
            },
            connector_config: resolved,
            task_config: task_resolved,
            stored_task_config: stored,
            target: task_target(e.target),
            topics: e.topics.clone(),
        });
        e.tasks.insert(idx, handle);
    }

    /// Handles a connector's request (new task configs, failure).
    async fn on_request(&self, name: &str, req: ConnectorRequest) {
        let mut entries = self.entries.lock().await;
        let Some(e) = entries.get_mut(name) else {
            return;
        };
        match req {
            ConnectorRequest::Failed(msg) => {
                tracing::error!(connector = %name, "connector failed: {}", msg);
                e.status.fail(msg);
            }
            ConnectorRequest::ReconfigureTasks => {
                let Some(plugin) = self.plugin(e).cloned() else {
                    return;
                };
                let Ok((resolved, secret_keys)) = self.worker.config.providers.resolve(&e.raw)
                else {
                    return;
                };
                let Some(c) = e.connector.as_mut() else {
                    return;
                };
                let configs = match c.task_configs(max_tasks(&resolved)).await {
                    Ok(c) => finish_task_configs(&plugin, c, &resolved),
                    Err(err) => {
                        e.status.fail(format!(
                            "connector {} failed to generate task configs: {}",
                            name, err
                        ));
                        return;
                    }
                };
                let stored: Vec<RawConfig> = configs
                    .iter()
                    .map(|tc| reverse_transform(tc, &e.raw, &resolved, &secret_keys))
                    .collect();
                let current: Vec<RawConfig> = e.tasks.iter().map(|t| t.config.clone()).collect();
                if stored == current {
                    return;
                }
                tracing::info!(connector = %name, tasks = configs.len(), "task configs changed; restarting tasks");
                let tasks = std::mem::take(&mut e.tasks);
                self.stop_tasks(tasks).await;
                self.start_tasks(name, e, &plugin, &resolved, &secret_keys, configs);
            }
        }
    }

    /// Offsets may change only while the connector is STOPPED (as in Connect).
    async fn stopped_entry_info(
        &self,
        name: &str,
    ) -> Result<(RawConfig, Option<ConnectorType>), HerderError> {
        let entries = self.entries.lock().await;
        let e = entries.get(name).ok_or_else(|| not_found(name))?;
        if e.target != TargetState::Stopped || !e.tasks.is_empty() {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{}/stop' endpoint",
                name
            )));
        }
        Ok((e.raw.clone(), e.kind))
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

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    async fn connector_names(&self) -> Result<Vec<String>, HerderError> {
        Ok(self.entries.lock().await.keys().cloned().collect())
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let entries = self.entries.lock().await;
        entries
            .get(name)
            .map(|e| Self::info(name, e))
            .ok_or_else(|| not_found(name))
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
        let mut entries = self.entries.lock().await;
        let e = entries.get(name).ok_or_else(|| not_found(name))?;
        if origin == ConfigOrigin::Api {
            if let Some(err) = file_managed(name, &e.origin) {
                return Err(err);
            }
        }
        let e = entries.remove(name).expect("checked above");
        drop(entries);
        tracing::info!(connector = %name, "deleting connector");
        if let Some(s) = &self.state {
            self.persist(s.remove_connector(name))?;
        }
        self.stop_entry(name, e).await;
        Ok(())
    }

    async fn status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        let entries = self.entries.lock().await;
        let e = entries.get(name).ok_or_else(|| {
            HerderError::NotFound(format!("No status found for connector {}", name))
        })?;
        Ok(Self::state_info(name, e))
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<Status, HerderError> {
        let entries = self.entries.lock().await;
        let e = entries.get(name).ok_or_else(|| not_found(name))?;
        e.tasks
            .get(task as usize)
            .map(|t| t.status.get())
            .ok_or_else(|| HerderError::NotFound(format!("Task {}-{} not found", name, task)))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, RawConfig)>, HerderError> {
        let entries = self.entries.lock().await;
        let e = entries.get(name).ok_or_else(|| not_found(name))?;
        Ok(e.tasks
            .iter()
            .map(|t| (t.id.clone(), t.config.clone()))
            .collect())
    }

    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        let mut entries = self.entries.lock().await;
        let mut e = entries.remove(name).ok_or_else(|| not_found(name))?;
        if let Some(s) = &self.state {
            if let Err(err) = s.set_target_state(name, target) {
                entries.insert(name.to_string(), e);
                return Err(HerderError::Internal(err));
            }
        }
        let old = e.target;
        e.target = target;
        match (old, target) {
            (a, b) if a == b => {}
            (_, TargetState::Stopped) => {
                let tasks = std::mem::take(&mut e.tasks);
                self.stop_tasks(tasks).await;
                if let Some(mut c) = e.connector.take() {
                    c.stop().await;
                }
                e.status.set_state(State::Stopped);
            }
            (TargetState::Stopped, _) => {
                self.start_entry(name, &mut e).await;
            }
            (_, t) => {
                for task in &e.tasks {
                    task.set_target(task_target(t));
                }
                if e.status.get().state != State::Failed {
                    e.status.set_state(if t == TargetState::Paused {
                        State::Paused
                    } else {
                        State::Running
                    });
                }
            }
        }
        tracing::info!(connector = %name, "target state {:?}", target);
        entries.insert(name.to_string(), e);
        Ok(())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError> {
        let mut entries = self.entries.lock().await;
        let mut e = entries.remove(name).ok_or_else(|| not_found(name))?;
        let mut planned = Self::state_info(name, &e);
        let restart_connector = !only_failed || e.status.get().state == State::Failed;
        let restart_tasks: Vec<u32> = if include_tasks {
            e.tasks
                .iter()
                .filter(|t| !only_failed || t.status.get().state == State::Failed)
                .map(|t| t.id.task)
                .collect()
        } else {
            Vec::new()
        };
        if restart_connector {
            planned.connector.state = State::Restarting;
        }
        for (id, st) in planned.tasks.iter_mut() {
            if restart_tasks.contains(id) {
                st.state = State::Restarting;
            }
        }
        let everything = restart_connector && restart_tasks.len() == e.tasks.len() && include_tasks;
        if everything
            || (restart_connector && e.connector.is_none() && e.target != TargetState::Stopped)
        {
            let tasks = std::mem::take(&mut e.tasks);
            self.stop_tasks(tasks).await;
            if let Some(mut c) = e.connector.take() {
                c.stop().await;
            }
            self.start_entry(name, &mut e).await;
        } else {
            if restart_connector {
                self.restart_connector_only(name, &mut e).await;
            }
            for id in restart_tasks {
                self.restart_task_in(name, &mut e, id).await;
            }
        }
        entries.insert(name.to_string(), e);
        Ok(planned)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let mut entries = self.entries.lock().await;
        let e = entries.get_mut(name).ok_or_else(|| not_found(name))?;
        if task as usize >= e.tasks.len() {
            return Err(HerderError::NotFound(format!(
                "Task {}-{} not found",
                name, task
            )));
        }
        self.restart_task_in(name, e, task).await;
        Ok(())
    }

    async fn offsets(&self, name: &str) -> Result<Vec<OffsetEntry>, HerderError> {
        let (raw, kind) = {
            let entries = self.entries.lock().await;
            let e = entries.get(name).ok_or_else(|| not_found(name))?;
            (e.raw.clone(), e.kind)
        };
        match kind {
            Some(ConnectorType::Sink) => offsets_api::sink_offsets(&self.worker, name, &raw).await,
            _ => offsets_api::source_offsets(self.worker.offsets.as_ref(), name).await,
        }
    }

    async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<OffsetEntry>,
    ) -> Result<String, HerderError> {
        let (_, kind) = self.stopped_entry_info(name).await?;
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
        tracing::info!(connector = %name, "offsets altered");
        Ok(OFFSETS_MESSAGE.replace("{op}", "altered"))
    }

    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        let (raw, kind) = self.stopped_entry_info(name).await?;
        match kind {
            Some(ConnectorType::Sink) => {
                offsets_api::reset_sink_offsets(&self.worker, name, &raw).await?
            }
            _ => offsets_api::reset_source_offsets(self.worker.offsets.as_ref(), name).await?,
        }
        tracing::info!(connector = %name, "offsets reset");
        Ok(OFFSETS_MESSAGE.replace("{op}", "reset"))
    }

    async fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        let entries = self.entries.lock().await;
        let e = entries.get(name).ok_or_else(|| not_found(name))?;
        Ok(e.topics.list())
    }

    async fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        let entries = self.entries.lock().await;
        let e = entries.get(name).ok_or_else(|| not_found(name))?;
        e.topics.clear();
        Ok(())
    }

    async fn validate(&self, raw: RawConfig) -> ValidationReport {
        validate_for_api(&self.worker, raw).await
    }

    async fn metrics(&self) -> MetricsSnapshot {
        let entries = self.entries.lock().await;
        let mut tasks = Vec::new();
        let mut connectors = Vec::new();
        for (name, e) in entries.iter() {
            connectors.push(Self::state_info(name, e));
            if let Some(kind) = e.kind {
                for t in &e.tasks {
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
