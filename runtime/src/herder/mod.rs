//! The herder decides which connectors and tasks run, in which state, on this worker.
//! The REST API and the connectors folder drive it through the [`Herder`] trait, which
//! `crate::standalone::StandaloneHerder` (everything in this process) and
//! `crate::distributed::DistributedHerder` (a cluster sharing Kafka topics) implement.
//! What both share lives here and in `crate::lifecycle`.

mod connectors_dir;
pub(crate) mod offsets_api;
mod validation;

pub use connectors_dir::ConnectorsDir;
pub use offsets_api::OffsetEntry;
pub use validation::{validation_report, ConfigValueReport, ValidationReport};

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::files::TargetState;
use crate::config::secrets::scrub_issues;
use crate::config::worker::WorkerConfig;
use crate::config::{ConfigIssue, RawConfig};
use crate::connector::ConnectorType;
use crate::plugins::Plugins;
use crate::status::Status;
use crate::task::{TaskId, TaskMetrics};

/// Where a connector's config came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "path", rename_all = "lowercase")]
pub enum ConfigOrigin {
    /// Created or changed through the REST API.
    Api,
    /// A file in `connectors.dir`.
    File(PathBuf),
    /// A file named on the command line.
    CommandLine(PathBuf),
}

/// A connector's config and tasks (Connect's `ConnectorInfo`).
#[derive(Debug, Clone)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: RawConfig,
    pub tasks: Vec<TaskId>,
    pub kind: Option<ConnectorType>,
}

/// A connector's and its tasks' states (Connect's `ConnectorStateInfo`).
#[derive(Debug, Clone)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: Status,
    pub tasks: Vec<(u32, Status)>,
    pub kind: Option<ConnectorType>,
    /// The latest config problem (from a file that did not parse or validate) that left
    /// the connector as it was.
    pub config_error: Option<String>,
}

/// Why the herder refused a request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HerderError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`", .0.len(), .0.iter().map(|i| i.message.clone()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
}

/// What a config put should do about target state.
#[derive(Debug, Clone, Copy)]
pub struct PutOptions {
    /// Fail if the connector exists (POST) instead of updating it (PUT).
    pub create_only: bool,
    /// The state to start in; `None` keeps the current state (or RUNNING when new).
    pub initial_state: Option<TargetState>,
}

/// One task's numbers for the metrics endpoint.
pub struct TaskMetricsView {
    pub id: TaskId,
    pub kind: ConnectorType,
    pub status: Status,
    pub metrics: Arc<TaskMetrics>,
}

/// What the metrics endpoint reports.
pub struct MetricsSnapshot {
    pub connectors: Vec<ConnectorStateInfo>,
    pub tasks: Vec<TaskMetricsView>,
}

/// The operations the REST API needs, for standalone and distributed workers alike.
#[async_trait]
pub trait Herder: Send + Sync {
    fn worker_id(&self) -> String;
    fn plugins(&self) -> &Plugins;
    fn worker_config(&self) -> &WorkerConfig;

    /// The live taps of the connectors this worker runs tasks of.
    fn taps(&self) -> Option<Arc<crate::tap::TapHub>> {
        None
    }
    /// True once the worker has finished starting.
    fn is_ready(&self) -> bool;
    async fn connector_names(&self) -> Result<Vec<String>, HerderError>;
    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError>;
    /// Creates or replaces a connector; returns whether it was created.
    async fn put_connector(
        &self,
        name: &str,
        config: RawConfig,
        origin: ConfigOrigin,
        opts: PutOptions,
    ) -> Result<(bool, ConnectorInfo), HerderError>;
    async fn delete_connector(&self, name: &str, origin: ConfigOrigin) -> Result<(), HerderError>;
    async fn status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError>;
    async fn task_status(&self, name: &str, task: u32) -> Result<Status, HerderError>;
    async fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, RawConfig)>, HerderError>;
    async fn set_target(&self, name: &str, target: TargetState) -> Result<(), HerderError>;
    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, HerderError>;
    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError>;
    async fn offsets(&self, name: &str) -> Result<Vec<OffsetEntry>, HerderError>;
    /// Changes offsets of a STOPPED connector; returns Connect's success message.
    async fn alter_offsets(
        &self,
        name: &str,
        entries: Vec<OffsetEntry>,
    ) -> Result<String, HerderError>;
    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError>;
    async fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError>;
    async fn reset_active_topics(&self, name: &str) -> Result<(), HerderError>;
    /// Validates a config (providers resolved) and reports every key.
    async fn validate(&self, config: RawConfig) -> ValidationReport;
    async fn metrics(&self) -> MetricsSnapshot;
    /// The Kafka cluster id, if the brokers answer.
    async fn kafka_cluster_id(&self) -> Option<String>;
    /// `PUT /admin/loggers/{l}?scope=cluster`: stores a log level every worker of the
    /// cluster applies. `Ok(false)`: this worker is the whole cluster (standalone), and
    /// the caller applies the level to it.
    async fn set_cluster_logger_level(
        &self,
        _namespace: &str,
        _level: &str,
    ) -> Result<bool, HerderError> {
        Ok(false)
    }
    /// Where a connector's config came from, if this worker knows.
    async fn origin(&self, _name: &str) -> Option<ConfigOrigin> {
        None
    }
    /// A connector file that did not parse or validate (shown in status where the
    /// herder can; always logged by the caller).
    async fn report_config_problem(
        &self,
        _name: &str,
        _origin: ConfigOrigin,
        _raw: Option<RawConfig>,
        _problem: String,
    ) {
    }
}

/// Connect's message for a successful offsets change (`{op}`: altered or reset).
pub(crate) const OFFSETS_MESSAGE: &str =
    "The offsets for this connector have been {op} successfully";

/// Every key a connector config may declare: the common keys and its plugin's (used to
/// tell which keys hold secrets).
pub fn connector_config_def(plugins: &Plugins, raw: &RawConfig) -> crate::config::ConfigDef {
    let plugin = raw
        .get("connector.class")
        .and_then(|c| plugins.find_connector(c));
    let common = crate::connector_config::common_config_def(plugin.map(|p| p.kind()));
    match plugin {
        Some(p) => common.merge(&(p.config_def)()),
        None => common,
    }
}

/// Validates a config for the REST API (providers resolved, secrets hidden).
pub(crate) async fn validate_for_api(
    worker: &crate::worker::Worker,
    raw: RawConfig,
) -> ValidationReport {
    let class = raw.get("connector.class").cloned().unwrap_or_default();
    let (resolved, secret_keys, provider_issues) = match worker.config.providers.resolve(&raw) {
        Ok((r, s)) => (r, s, Vec::new()),
        Err(issues) => (raw.clone(), Vec::new(), issues),
    };
    let v = crate::connector_config::validate_connector(&worker.plugins, &resolved, &worker.config)
        .await;
    // As Connect: the connector class as the config gives it.
    let name = class;
    let mut issues = scrub_issues(v.issues, &raw, &resolved, &secret_keys);
    issues.extend(provider_issues);
    let mut report = validation_report(&name, &v.def, &raw, &issues, &secret_keys);
    report.warnings = v.warnings;
    report
}

/// Validates a config for creating a connector: every problem, providers resolved.
pub(crate) async fn validation_issues(
    worker: &crate::worker::Worker,
    raw: &RawConfig,
) -> Vec<ConfigIssue> {
    let (resolved, secret_keys) = match worker.config.providers.resolve(raw) {
        Ok(r) => r,
        Err(issues) => return issues,
    };
    let issues =
        crate::connector_config::validate_connector(&worker.plugins, &resolved, &worker.config)
            .await
            .issues;
    scrub_issues(issues, raw, &resolved, &secret_keys)
}

/// The Kafka cluster id, if the brokers answer.
pub(crate) async fn cluster_id(worker: &crate::worker::Worker) -> Option<String> {
    let config = crate::kafka::client_config(&[&worker.config.client_config("admin.")]);
    tokio::task::spawn_blocking(move || {
        let c: rdkafka::consumer::BaseConsumer = config.create().ok()?;
        rdkafka::consumer::Consumer::client(&c).fetch_cluster_id(std::time::Duration::from_secs(5))
    })
    .await
    .ok()
    .flatten()
}
