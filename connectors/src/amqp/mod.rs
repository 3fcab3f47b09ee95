//! RabbitMQ (AMQP 0-9-1) source: one queue into one Kafka topic. The sink (Kafka to
//! an exchange) is in [`sink`].
//!
//! # Delivery contract
//!
//! * The task consumes with manual acknowledgements and a `basic.qos` prefetch window
//!   (`amqp.prefetch`). Nothing is acknowledged on receipt.
//! * `poll` waits up to `amqp.poll.wait.ms` for a first message, then takes
//!   what is already buffered, up to `amqp.batch.size`. The batch carries an ack token
//!   holding the last delivery tag and the connection generation.
//! * The runtime hands the token to [`acknowledger::AmqpAcknowledger`] only after Kafka
//!   acknowledged every record of that batch and of every earlier batch. It then sends
//!   one `basic.ack(multiple=true)` with that tag, which acknowledges the batch and
//!   nothing after it. Batches Kafka finished together get one `basic.ack`, for the
//!   last of them (the acknowledger is cumulative).
//! * If Kafka rejects a record, or the task stops or crashes with records in flight,
//!   their batch is never acknowledged and RabbitMQ redelivers it: at least once.
//!   Duplicates are bounded by what was unacknowledged: at most `amqp.prefetch`
//!   messages per task.
//! * After a lost connection the task reconnects with backoff (shown in the task
//!   status). Tokens of the dead channel are ignored, since its unacknowledged
//!   messages are requeued by RabbitMQ.
//! * A message the record builder cannot build goes into the batch as a failed record:
//!   with `errors.tolerance=none` the task fails and the message (and everything after
//!   it) stays in the queue; with `all` it goes to the dead letter queue and counts as
//!   delivered.
//! * With `tasks.max` > 1 each task is a competing consumer on the same queue; order is
//!   kept within a task only.
//! * With exactly-once delivery (worker `exactly.once.source.support=enabled`) each
//!   batch is one Kafka transaction that also stores the ids of the latest committed
//!   messages; a redelivered message whose id is among them is acknowledged without
//!   being written again (see `committed_ids`). It takes one task: with `tasks.max` > 1
//!   every task fails at start with a trace naming both settings.

mod acknowledger;
pub(crate) mod committed_ids;
mod config;
mod dry_run;
mod mapping;
mod session;
pub mod sink;
mod task;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, DryRun, TaskFactory};

pub use config::{config_def, AmqpSourceConfig};
pub use sink::sink_plugin;
pub use task::AmqpSourceTask;

/// `amqp-source`.
pub fn source_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.sluice.connect.amqp.AmqpSourceConnector",
        aliases: &["amqp-source", "AmqpSource", "RabbitMQSource"],
        task_class: "io.sluice.connect.amqp.AmqpSourceTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Reads a RabbitMQ queue (AMQP 0-9-1) into a topic; acknowledges each batch with one basic.ack(multiple=true) only after Kafka acknowledged it. Several tasks are competing consumers.",
        config_def,
        create_connector: || {
            Box::new(CopyConfigConnector::new(false).with_validation(config::validate_raw))
        },
        create_task: TaskFactory::source::<AmqpSourceTask>(),
        dry_run: Some(DryRun::Source(dry_run::source_record)),
    }
}
