//! `amqp1-sink`: records from Kafka topics sent to AMQP 1.0 addresses.
//!
//! # Delivery: what is committed when, and why
//!
//! 1. Sender links attach with sender settle mode `unsettled`: the broker answers
//!    every message with an outcome once it has it (Artemis: routed and, for durable
//!    messages, journaled).
//! 2. `put` builds each record's message and sends it without waiting, keeping its
//!    outcome in a window in send order; at `amqp1.max.in.flight` it waits for the
//!    oldest outcome first. Link credit from the broker also bounds what is sent.
//! 3. `flush` waits until every message of the window is settled. The runtime
//!    commits a Kafka offset only after a `flush` that followed the `put` of that
//!    record, so an offset is committed only once the broker `accepted` every message
//!    up to it (or the record went to the dead letter queue).
//! 4. `rejected`, `released` or `modified`, or a record that cannot become a message
//!    (a nested header), is a failed record: `errors.tolerance=none` fails the task
//!    with a trace naming the record and the address; `all` sends it to the dead
//!    letter queue and counts it as written.
//! 5. A lost connection or link fails the task (the runtime restarts it with backoff)
//!    and nothing after the last commit is committed: the records are sent again.
//!    Each message-id is `<topic>-<partition>-<offset>` by default so consumers can
//!    recognise the duplicates.

mod config;
pub(crate) mod message;
mod task;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, DryRun, TaskFactory};

pub use config::{sink_config_def, SinkConfig};
pub use task::Amqp1SinkTask;

/// `amqp1-sink`.
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.sluice.connect.amqp1.Amqp1SinkConnector",
        aliases: &["amqp1-sink", "Amqp1Sink", "JmsSink"],
        task_class: "io.sluice.connect.amqp1.Amqp1SinkTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Sends records to AMQP 1.0 addresses (Artemis, ActiveMQ, Qpid, Solace, IBM MQ, Azure Service Bus, RabbitMQ 4) as JMS messages, unsettled with many in flight; offsets are committed only after the broker accepted every message before them. Rejected or released messages follow errors.tolerance.",
        config_def: sink_config_def,
        create_connector: || {
            Box::new(CopyConfigConnector::new(false).with_validation(config::validate_raw))
        },
        create_task: TaskFactory::sink::<Amqp1SinkTask>(),
        dry_run: Some(DryRun::Sink(super::dry_run::sink_message)),
    }
}
