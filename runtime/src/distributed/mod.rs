//! Distributed mode: a cluster of workers coordinated through Kafka, compatible with
//! Kafka Connect's internal topics.
//!
//! * **State** lives in three compacted topics with Connect's keys and JSON values:
//!   configs (`connector-<name>`, `task-<name>-<n>`, `commit-<name>`,
//!   `target-state-<name>`, `restart-connector-<name>`), statuses
//!   (`status-connector-<name>`, `status-task-<name>-<n>`, `status-topic-...`) and
//!   source offsets (`["<connector>", {partition}]`). Every worker reads all of them
//!   from the start and follows them; task configs take effect with their commit.
//! * **Membership and failure detection** are Kafka's group coordinator's (see
//!   [`membership`]): the member holding config partition 0 leads.
//! * **Assignment**: the leader assigns connectors and tasks to members
//!   ([`assignment`]: sticky and balanced) and writes it to the config topic under
//!   `sluice-assignment` (Connect workers ignore keys they do not know).
//! * **No task runs twice**: a worker stops a unit it no longer owns and writes its
//!   status as UNASSIGNED (after its offsets are flushed); the new owner starts the
//!   unit only once it reads that status, or once the old owner has left the group —
//!   and the leader hands a departed worker's units over only after
//!   `scheduled.rebalance.max.delay.ms`. A worker that finds itself out of the group
//!   stops everything.
//! * **REST writes** go straight to the config topic from whichever worker receives
//!   them; the owners act on what they read. Single-task restarts use a Sluice record
//!   (`sluice-restart-task-<name>-<n>`).

pub mod assignment;
mod herder;
pub mod membership;
mod plan;
pub mod records;
mod settings;
mod start;
mod state;
mod topic_log;

pub use herder::DistributedHerder;
pub use settings::{distributed_config_def, DistributedSettings};
pub use start::start;
