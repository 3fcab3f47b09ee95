//! Errors a connector or task reports, split by whether a retry can help.

use crate::config::ConfigErrors;

/// An error from a connector or task.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// Transient (connection lost, server restarting): the runtime retries with backoff.
    #[error("{0}")]
    Retriable(String),
    /// Permanent: the task fails with this message as its trace.
    #[error("{0}")]
    Fatal(String),
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
}

impl ConnectError {
    pub fn retriable(msg: impl std::fmt::Display) -> Self {
        ConnectError::Retriable(msg.to_string())
    }
    pub fn fatal(msg: impl std::fmt::Display) -> Self {
        ConnectError::Fatal(msg.to_string())
    }
    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectError::Retriable(_))
    }
    /// Adds context in front of the message, keeping the kind.
    pub fn context(self, ctx: impl std::fmt::Display) -> Self {
        match self {
            ConnectError::Retriable(m) => ConnectError::Retriable(format!("{}: {}", ctx, m)),
            ConnectError::Fatal(m) => ConnectError::Fatal(format!("{}: {}", ctx, m)),
            ConnectError::Config(c) => ConnectError::Fatal(format!("{}: {}", ctx, c)),
        }
    }
}
