//! RabbitMQ (AMQP 0-9-1) sink: records from Kafka topics published to an exchange.
//!
//! # Delivery: what is committed when, and why
//!
//! 1. The channel is in confirm mode (`confirm.select`): RabbitMQ answers every
//!    publish with `basic.ack` once the message is routed to its queues (and written to
//!    disk for persistent messages on durable queues), `basic.nack` if it could not take
//!    it, and with the mandatory flag (`amqp.mandatory`, default on) a `basic.return`
//!    before the ack if no queue is bound for it.
//! 2. `put` builds each record's message and keeps it in a window of unconfirmed
//!    messages in publish order; the messages that fit in the window are published
//!    together (in order), without waiting for confirms. When the window holds
//!    `amqp.max.in.flight` messages, `put` waits for the oldest confirm first, and takes
//!    every confirm that came with it before publishing more.
//! 3. `flush` waits until every message of the window is confirmed. The runtime commits
//!    a Kafka offset only after a `flush` that followed the `put` of that record, so an
//!    offset is committed only for records RabbitMQ confirmed (or that went to the dead
//!    letter queue, whose write Kafka acknowledged).
//! 4. A returned or nacked message, or a record that cannot become a message (no key to
//!    route by, a header that is not a valid property), is a failed record: with
//!    `errors.tolerance=none` the task fails with a trace naming the record, the
//!    exchange and the routing key, and from then on every `flush` fails, so nothing
//!    after the last commit is committed (the failed record and what follows it are
//!    consumed again after a restart). With `all` it goes to the dead letter queue
//!    with Connect's context headers and counts as written.
//! 5. A lost connection or channel: the task reconnects with backoff
//!    (`amqp.reconnect.delay.*`) for up to `amqp.connection.timeout.ms` and publishes
//!    every unconfirmed message of the window again, in order; if that does not work,
//!    `put`/`flush` fail retriably, so the runtime retries them within
//!    `errors.retry.timeout` (or fails the task, which then restarts) and commits
//!    nothing meanwhile. A retried `put` resumes after the records already in the
//!    window.
//! 6. After a crash, the records after the last committed offset are published again:
//!    at least once. Duplicates are bounded by what was published after the last
//!    commit (one `offset.flush.interval.ms`); each message's `message_id` defaults to
//!    `<topic>-<partition>-<offset>`, so consumers can recognise them.

mod config;
pub(super) mod message;
mod publisher;
mod task;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, DryRun, TaskFactory};

pub use config::{sink_config_def, AmqpSinkConfig};
pub use task::AmqpSinkTask;

/// `amqp-sink`.
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.sluice.connect.amqp.AmqpSinkConnector",
        aliases: &["amqp-sink", "AmqpSink", "RabbitMQSink"],
        task_class: "io.sluice.connect.amqp.AmqpSinkTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Publishes records to a RabbitMQ exchange (AMQP 0-9-1) with publisher confirms and many messages in flight; offsets are committed only after RabbitMQ confirmed every message before them. Unroutable (mandatory) or nacked messages follow errors.tolerance.",
        config_def: sink_config_def,
        create_connector: || {
            Box::new(CopyConfigConnector::new(false).with_validation(config::validate_raw))
        },
        create_task: TaskFactory::sink::<AmqpSinkTask>(),
        dry_run: Some(DryRun::Sink(super::dry_run::sink_message)),
    }
}
