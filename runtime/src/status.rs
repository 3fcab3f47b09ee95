//! Connector and task states as the REST API and status topic show them.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::connector::StatusDetail;

/// Connect's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "UNASSIGNED" => State::Unassigned,
            "RUNNING" => State::Running,
            "PAUSED" => State::Paused,
            "STOPPED" => State::Stopped,
            "FAILED" => State::Failed,
            "RESTARTING" => State::Restarting,
            _ => return None,
        })
    }
}

/// The status of one connector or task.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    /// Why it failed (only for FAILED).
    pub trace: Option<String>,
    /// What a running task is doing right now, e.g. retrying a lost connection.
    pub detail: Option<String>,
    pub worker_id: String,
}

impl Status {
    pub fn new(state: State, worker_id: &str) -> Self {
        Status {
            state,
            trace: None,
            detail: None,
            worker_id: worker_id.to_string(),
        }
    }
}

/// A status shared between a running task or connector and whoever reports on it.
/// The task writes its detail through the [`StatusDetail`] handle it was given.
#[derive(Debug, Clone)]
pub struct SharedStatus(Arc<Mutex<Status>>, StatusDetail);

impl SharedStatus {
    pub fn new(state: State, worker_id: &str) -> Self {
        SharedStatus(
            Arc::new(Mutex::new(Status::new(state, worker_id))),
            StatusDetail::new(),
        )
    }
    pub fn get(&self) -> Status {
        let mut s = self.0.lock().unwrap().clone();
        if s.detail.is_none() && s.state == State::Running {
            s.detail = self.1.get();
        }
        s
    }
    /// The handle a task uses to say what it is doing.
    pub fn detail_handle(&self) -> StatusDetail {
        self.1.clone()
    }
    pub fn set_state(&self, state: State) {
        let mut s = self.0.lock().unwrap();
        s.state = state;
        if state != State::Failed {
            s.trace = None;
        }
    }
    pub fn fail(&self, trace: impl Into<String>) {
        let mut s = self.0.lock().unwrap();
        s.state = State::Failed;
        s.trace = Some(trace.into());
    }
    pub fn set_detail(&self, detail: Option<String>) {
        match detail {
            Some(d) => self.1.set(d),
            None => self.1.clear(),
        }
    }
}
