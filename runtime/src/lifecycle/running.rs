//! A started connector instance: [`RunningConnector`].

use std::sync::Arc;

use super::spec::{ConnectorSpec, TaskConfig};
use crate::connector::{ConnectError, Connector, ConnectorContext};

/// A connector instance started from its spec. It generates task configs; the herder
/// decides where they are stored and who runs them.
pub struct RunningConnector {
    spec: Arc<ConnectorSpec>,
    instance: Box<dyn Connector>,
}

/// Why a connector could not start or generate task configs: the message shown as the
/// connector's trace.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorFailure {
    #[error("connector {name} failed to start: {cause}")]
    Start { name: String, cause: String },
    #[error("connector {name} failed to generate task configs: {cause}")]
    TaskConfigs { name: String, cause: String },
}

impl RunningConnector {
    /// Creates the plugin's connector and starts it with the spec's typed config.
    pub async fn start(
        spec: Arc<ConnectorSpec>,
        ctx: ConnectorContext,
    ) -> Result<Self, ConnectorFailure> {
        for w in &spec.warnings {
            tracing::warn!(connector = %spec.name, key = %w.key, "{}: {}", w.key, w.message);
        }
        let mut instance = (spec.plugin.create_connector)();
        if let Err(e) = instance.start(spec.config.clone(), ctx).await {
            instance.stop().await;
            return Err(ConnectorFailure::Start {
                name: spec.name.clone(),
                cause: describe(&e),
            });
        }
        tracing::info!(connector = %spec.name, "connector instance started");
        Ok(RunningConnector { spec, instance })
    }

    pub fn spec(&self) -> &Arc<ConnectorSpec> {
        &self.spec
    }

    /// Asks the connector for its task configs (at most `tasks.max`, see
    /// [`ConnectorSpec::finish_task_configs`]).
    pub async fn task_configs(&mut self) -> Result<Vec<TaskConfig>, ConnectorFailure> {
        match self.instance.task_configs(self.spec.tasks_max).await {
            Ok(generated) => Ok(self.spec.finish_task_configs(generated)),
            Err(e) => Err(ConnectorFailure::TaskConfigs {
                name: self.spec.name.clone(),
                cause: describe(&e),
            }),
        }
    }

    /// Stops the connector instance and frees its resources.
    pub async fn stop(mut self) {
        self.instance.stop().await;
        tracing::info!(connector = %self.spec.name, "connector instance stopped");
    }
}

fn describe(e: &ConnectError) -> String {
    e.to_string()
}
