//! One connector lifecycle, shared by the standalone and the distributed herder.
//!
//! 1. [`ConnectorSpec::resolve`]: the stored config (provider placeholders and all) is
//!    resolved through the config providers, checked (every declared key, converters,
//!    transforms; nothing that needs the network) and typed, once per (re)start.
//! 2. [`RunningConnector::start`]: the plugin's connector instance is created and
//!    started with the typed config.
//! 3. [`RunningConnector::task_configs`]: at most `tasks.max` task configs, each with
//!    Connect's `task.class`, in two forms: resolved (to run) and stored (provider
//!    placeholders put back: what the config topic, the state file and REST hold).
//! 4. A task starts from its spec and its stored config (see `Worker::start_task`):
//!    the stored config is resolved again where the task runs, at every (re)start.
//!
//! The herders keep only policy: where state is stored, who runs what, and when to
//! start or stop. Checks both herders make on requests live in [`checks`].

pub mod checks;
mod running;
mod spec;

pub use running::{ConnectorFailure, RunningConnector};
pub use spec::{
    ClientOverrides, ConnectorSpec, ConverterSpec, ExactlyOnce, KindSpec, PipelineSpec, SinkSpec,
    SourceSpec, SpecError, TaskConfig,
};
