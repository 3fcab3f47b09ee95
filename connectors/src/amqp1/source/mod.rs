//! `amqp1-source`: one AMQP 1.0 address (a queue, or a durable shared subscription on
//! a topic) into one Kafka topic, for JMS brokers (ActiveMQ Artemis and Classic, Qpid,
//! Solace, IBM MQ AMQP channels, Azure Service Bus, RabbitMQ 4).
//!
//! # Delivery contract
//!
//! * The receiver attaches with sender settle mode `unsettled`: every message waits
//!   for Sluice's disposition. Credit is granted by hand (`amqp1.credit`): received
//!   and unaccepted messages never exceed it.
//! * `poll` waits up to `amqp1.poll.wait.ms` for a first message, then takes what is
//!   buffered up to `amqp1.batch.size`. The batch's ack token holds the connection
//!   generation and the number of its last message.
//! * The runtime hands the token to the acknowledger only after Kafka acknowledged
//!   every record of that batch and of every earlier batch. The link driver then
//!   settles every delivery up to it as `accepted`, with one disposition per
//!   consecutive delivery-id range (tokens that arrive together, batches Kafka
//!   finished at once, make one disposition), and grants credit again.
//! * If the task stops or crashes, or the connection drops, with messages in flight,
//!   they are never accepted: at stop they are `released`, after a crash or a lost
//!   connection the broker gets them back when the link ends. At least once;
//!   duplicates are bounded by `amqp1.credit` per task.
//! * A message that cannot become a record is a failed record: with
//!   `errors.tolerance=all` it goes to the dead letter queue and is accepted with its
//!   batch; with `none` the task fails and, at stop, the message is settled as
//!   `modified` with delivery-failed, so the broker counts a delivery attempt and
//!   after its redelivery limit moves it to its own dead-letter address.
//! * After a lost connection the task reconnects with backoff over the failover list;
//!   tokens of an earlier connection are ignored (their messages are redelivered).
//! * Exactly-once (worker `exactly.once.source.support=enabled`, one task): each batch
//!   is a Kafka transaction that also stores the ids of the last `amqp1.credit`
//!   committed messages (`amqp::committed_ids`); the accept follows the commit. A
//!   message whose id is in that window (redelivered after a crash between the two)
//!   is accepted again without being written. Unlike RabbitMQ, AMQP 1.0 brokers do not
//!   reliably flag such redeliveries (Artemis sends them with delivery-count 0), so
//!   the id alone decides: ids must be unique among the last `amqp1.credit` messages.

mod config;
mod driver;
pub(crate) mod record;
mod task;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, DryRun, TaskFactory};

pub use config::{config_def, SourceConfig};
pub use task::Amqp1SourceTask;

/// `amqp1-source`.
pub fn source_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.sluice.connect.amqp1.Amqp1SourceConnector",
        aliases: &["amqp1-source", "Amqp1Source", "JmsSource"],
        task_class: "io.sluice.connect.amqp1.Amqp1SourceTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Reads an AMQP 1.0 queue or durable shared topic subscription (Artemis, ActiveMQ, Qpid, Solace, IBM MQ, Azure Service Bus, RabbitMQ 4) into a topic with JMS semantics; accepts each batch with one disposition only after Kafka acknowledged it.",
        config_def,
        create_connector: || {
            Box::new(CopyConfigConnector::new(false).with_validation(config::validate_raw))
        },
        create_task: TaskFactory::source::<Amqp1SourceTask>(),
        dry_run: Some(DryRun::Source(super::dry_run::source_record)),
    }
}
