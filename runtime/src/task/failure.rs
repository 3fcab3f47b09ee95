//! Why a task stopped with an error, and whether restarting it can help.

/// A task's failure: the trace shown in its status, and whether the worker's
/// auto-restart may start it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub trace: String,
    /// False when a restart would do harm or cannot help, e.g. a source task fenced by
    /// a newer incarnation of itself: restarting it would fence that one in turn.
    pub restart: bool,
}

impl TaskFailure {
    /// A failure auto-restart must leave alone.
    pub fn permanent(trace: impl Into<String>) -> Self {
        TaskFailure {
            trace: trace.into(),
            restart: false,
        }
    }
}

impl From<String> for TaskFailure {
    fn from(trace: String) -> Self {
        TaskFailure {
            trace,
            restart: true,
        }
    }
}
