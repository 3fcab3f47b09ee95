//! The cluster's shared state as read from the config and status topics.

use std::collections::{BTreeMap, BTreeSet};

use super::assignment::Unit;
use super::records::{AssignmentRecord, ConfigRecord, StatusRecord, StatusValue};
use crate::config::files::TargetState;
use crate::config::RawConfig;
use crate::status::State;

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

/// When a unit came to its current owner: the assignment version (the previous
/// owner's UNASSIGNED must be at least this new to count) and the previous owner (none
/// for a unit new to the assignments read).
#[derive(Debug, Clone, PartialEq)]
pub struct HandOver {
    pub version: u64,
    pub from: Option<String>,
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
    /// For each assigned unit, since when and from whom its current owner holds it.
    pub assigned_since: BTreeMap<Unit, HandOver>,
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
                    let previous = std::mem::take(&mut self.assigned_since);
                    self.assigned_since = a
                        .assignment
                        .iter()
                        .map(|(u, w)| {
                            let before = self.assignment.assignment.get(u);
                            let held = match previous.get(u) {
                                Some(h) if before == Some(w) => h.clone(),
                                _ => HandOver {
                                    version: a.version,
                                    from: before.filter(|b| *b != w).cloned(),
                                },
                            };
                            (u.clone(), held)
                        })
                        .collect();
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

/// Whether a status read from the topic replaces the one held. An UNASSIGNED from one
/// worker says only that this worker let go: it does not hide another worker's live
/// state of the same or a later generation (a late stop of an old owner after the new
/// owner started: a worker's statuses carry the last assignment version that listed it
/// as a member, older than the hand-over that let the new owner start). Kafka Connect
/// checks the same on write (`putSafe`); checking on read makes every worker agree
/// whatever the timing of the writes.
fn replaces(held: Option<&StatusValue>, new: &StatusValue) -> bool {
    new.state != State::Unassigned
        || held.is_none_or(|h| {
            h.worker_id == new.worker_id
                || h.state == State::Unassigned
                || new.generation > h.generation
        })
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
                if replaces(self.connectors.get(&name), &s) {
                    self.connectors.insert(name, s);
                }
            }
            StatusRecord::Connector { name, status: None } => {
                self.connectors.remove(&name);
            }
            StatusRecord::Task {
                name,
                task,
                status: Some(s),
            } => {
                let key = (name, task);
                if replaces(self.tasks.get(&key), &s) {
                    self.tasks.insert(key, s);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn task_status(state: State, worker: &str, generation: i64) -> StatusRecord {
        StatusRecord::Task {
            name: "c".into(),
            task: 0,
            status: Some(StatusValue {
                state,
                trace: None,
                worker_id: worker.into(),
                generation,
            }),
        }
    }

    #[test]
    fn a_late_unassigned_of_an_old_owner_does_not_hide_the_new_owners_state() {
        let mut st = StatusState::default();
        st.apply(task_status(State::Running, "a", 1));
        st.apply(task_status(State::Running, "b", 2));
        st.apply(task_status(State::Unassigned, "a", 2));
        st.apply(task_status(State::Unassigned, "a", 1));
        let held = &st.tasks[&("c".to_string(), 0)];
        assert_eq!((held.state, held.worker_id.as_str()), (State::Running, "b"));
        // A newer one applies: the new owner's RUNNING is of an older hand-over (say,
        // a worker that left), and a member the unit was handed over from later says
        // it does not run it.
        st.apply(task_status(State::Unassigned, "d", 3));
        assert_eq!(st.tasks[&("c".to_string(), 0)].worker_id, "d");
        st.apply(task_status(State::Running, "b", 2));
        // The owner's own UNASSIGNED, and anything after an UNASSIGNED, apply.
        st.apply(task_status(State::Unassigned, "b", 3));
        assert_eq!(st.tasks[&("c".to_string(), 0)].worker_id, "b");
        st.apply(task_status(State::Unassigned, "a", 3));
        assert_eq!(st.tasks[&("c".to_string(), 0)].worker_id, "a");
        st.apply(task_status(State::Failed, "c", 3));
        assert_eq!(st.tasks[&("c".to_string(), 0)].state, State::Failed);
    }
}
