//! The cluster's shared state as read from the config and status topics.

use std::collections::{BTreeMap, BTreeSet};

use super::records::{AssignmentRecord, ConfigRecord, StatusRecord, StatusValue};
use crate::config::files::TargetState;
use crate::config::RawConfig;

/// A restart request read from the config topic.
#[derive(Debug, Clone, PartialEq)]
pub enum RestartRequest {
    Connector {
        name: String,
        include_tasks: bool,
        only_failed: bool,
    },
    Task {
        name: String,
        task: u32,
    },
}

/// Everything the config topic says.
#[derive(Debug, Clone, Default)]
pub struct ConfigState {
    pub connectors: BTreeMap<String, RawConfig>,
    pub target_states: BTreeMap<String, TargetState>,
    /// Committed task configs.
    pub tasks: BTreeMap<String, Vec<RawConfig>>,
    pending: BTreeMap<(String, u32), RawConfig>,
    pub assignment: AssignmentRecord,
    /// Restart requests in the order they were read, numbered.
    pub restarts: Vec<(u64, RestartRequest)>,
    next_restart: u64,
    /// Cluster-wide log levels in the order they were read, numbered: (seq, namespace, level).
    pub logger_levels: Vec<(u64, String, String)>,
    next_logger_level: u64,
}

impl ConfigState {
    pub fn apply(&mut self, record: ConfigRecord) {
        match record {
            ConfigRecord::Connector {
                name,
                config: Some(c),
            } => {
                self.connectors.insert(name, c);
            }
            ConfigRecord::Connector { name, config: None } => {
                self.connectors.remove(&name);
                self.tasks.remove(&name);
                self.target_states.remove(&name);
                self.pending.retain(|(n, _), _| n != &name);
            }
            ConfigRecord::Task { name, task, config } => {
                self.pending.insert((name, task), config);
            }
            ConfigRecord::Commit { name, tasks } => {
                let configs: Option<Vec<RawConfig>> = (0..tasks)
                    .map(|i| self.pending.get(&(name.clone(), i)).cloned())
                    .collect();
                match configs {
                    Some(c) => {
                        self.tasks.insert(name, c);
                    }
                    None => {
                        tracing::warn!(connector = %name, "ignoring a task commit whose task configs are missing")
                    }
                }
            }
            ConfigRecord::TargetState {
                name,
                state: Some(s),
            } => {
                self.target_states.insert(name, s);
            }
            ConfigRecord::TargetState { name, state: None } => {
                self.target_states.remove(&name);
            }
            ConfigRecord::RestartConnector {
                name,
                include_tasks,
                only_failed,
            } => {
                self.next_restart += 1;
                self.restarts.push((
                    self.next_restart,
                    RestartRequest::Connector {
                        name,
                        include_tasks,
                        only_failed,
                    },
                ));
            }
            ConfigRecord::RestartTask { name, task, .. } => {
                self.next_restart += 1;
                self.restarts
                    .push((self.next_restart, RestartRequest::Task { name, task }));
            }
            ConfigRecord::Assignment(a) => {
                if a.version >= self.assignment.version {
                    self.assignment = a;
                }
            }
            ConfigRecord::LoggerLevel { namespace, level } => {
                self.next_logger_level += 1;
                self.logger_levels
                    .push((self.next_logger_level, namespace, level));
            }
            ConfigRecord::Other(_) => {}
        }
        // Keep the request lists short: only the latest matter to live workers.
        if self.restarts.len() > 1000 {
            self.restarts.drain(..500);
        }
        if self.logger_levels.len() > 200 {
            self.logger_levels.drain(..100);
        }
    }

    /// A connector's target state (RUNNING unless set).
    pub fn target(&self, name: &str) -> TargetState {
        self.target_states
            .get(name)
            .copied()
            .unwrap_or(TargetState::Running)
    }

    /// The sequence number of the latest cluster-wide log level.
    pub fn last_logger_level(&self) -> u64 {
        self.next_logger_level
    }

    /// The sequence number of the latest restart request.
    pub fn last_restart(&self) -> u64 {
        self.next_restart
    }
}

/// Everything the status topic says.
#[derive(Debug, Clone, Default)]
pub struct StatusState {
    pub connectors: BTreeMap<String, StatusValue>,
    pub tasks: BTreeMap<(String, u32), StatusValue>,
    pub topics: BTreeMap<String, BTreeSet<String>>,
}

impl StatusState {
    pub fn apply(&mut self, record: StatusRecord) {
        match record {
            StatusRecord::Connector {
                name,
                status: Some(s),
            } => {
                self.connectors.insert(name, s);
            }
            StatusRecord::Connector { name, status: None } => {
                self.connectors.remove(&name);
            }
            StatusRecord::Task {
                name,
                task,
                status: Some(s),
            } => {
                self.tasks.insert((name, task), s);
            }
            StatusRecord::Task {
                name,
                task,
                status: None,
            } => {
                self.tasks.remove(&(name, task));
            }
            StatusRecord::Topic {
                topic,
                connector,
                present,
                ..
            } => {
                let set = self.topics.entry(connector).or_default();
                if present {
                    set.insert(topic);
                } else {
                    set.remove(&topic);
                }
            }
            StatusRecord::Other(_) => {}
        }
    }
}
