//! The registry of plugins a worker knows. Connectors are handed in by the binary (one
//! line per connector, feature-gated); converters, transforms and predicates are built in.

use crate::config::ConfigIssue;
use crate::connector::ConnectorPlugin;

/// The connectors this build of Sluice has.
#[derive(Clone, Default)]
pub struct Plugins {
    connectors: Vec<ConnectorPlugin>,
}

impl Plugins {
    pub fn new(connectors: Vec<ConnectorPlugin>) -> Self {
        Plugins { connectors }
    }

    pub fn connectors(&self) -> &[ConnectorPlugin] {
        &self.connectors
    }

    /// Finds a connector by class name, short name or alias.
    pub fn find_connector(&self, name: &str) -> Option<&ConnectorPlugin> {
        self.connectors.iter().find(|p| p.matches(name))
    }

    /// Like [`find_connector`](Self::find_connector), with an error listing the known ones.
    pub fn connector_or_issue(&self, name: &str) -> Result<&ConnectorPlugin, ConfigIssue> {
        self.find_connector(name).ok_or_else(|| {
            let known: Vec<String> = self
                .connectors
                .iter()
                .map(|p| format!("{} ({})", p.short_name(), p.class))
                .collect();
            ConfigIssue::new(
                "connector.class",
                format!(
                    "Failed to find any class that implements Connector and which name matches {}; known connectors: {}",
                    name,
                    known.join(", ")
                ),
            )
        })
    }
}
