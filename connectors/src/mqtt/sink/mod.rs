//! MQTT sink: Kafka records published to MQTT topics (MQTT 3.1.1 or 5).
//!
//! # Delivery: what is committed when, and why
//!
//! 1. `put` turns each record into a message: the topic from `mqtt.topic` (a fixed
//!    topic or a `${topic}`/`${key}` template), the value as the payload (bytes as
//!    they are, strings as UTF-8, null as an empty payload, anything else as JSON). A
//!    record with no valid topic or payload is a record error: the task fails with a
//!    trace naming topic/partition/offset (`errors.tolerance=none`) or the record goes
//!    to the dead letter queue (`all`).
//! 2. Each message enters the ledger (`ledger`) and is handed to the MQTT client at
//!    once: up to `mqtt.max.in.flight` messages are unacknowledged at a time, so `put`
//!    does not wait for each acknowledgement; it waits only while the window is full
//!    (at most `mqtt.delivery.timeout.ms`, then a retriable error; the retried `put`
//!    resumes after the records already taken).
//! 3. A message leaves the ledger when the broker acknowledged it: PUBACK (QoS 1),
//!    PUBCOMP (QoS 2), or, for QoS 0, when its PUBLISH was written to the socket
//!    (MQTT has no acknowledgement for QoS 0; a message in the socket buffer when the
//!    connection drops is lost).
//! 4. `flush` returns Ok only when the ledger is empty, i.e. every message put so far
//!    was acknowledged. The runtime commits a Kafka offset only after a `flush` that
//!    followed the `put` of that record, so an offset is committed only for records
//!    the broker has. A `flush` that waits longer than `mqtt.delivery.timeout.ms`
//!    fails retriably: nothing is committed and the runtime retries.
//! 5. The client uses a persistent session (clean session false) under a client id
//!    that is stable across restarts. On a lost connection it reconnects with backoff
//!    (`mqtt.reconnect.delay.*`), and rumqttc resends the unacknowledged publishes
//!    with their packet ids (and the PUBRELs of QoS 2), so the broker can tell
//!    resends from new messages. If the broker lost the session (restarted without
//!    persistence), the task replaces the client and publishes every unacknowledged
//!    message again. Nothing is committed while the connection is down.
//! 6. After a crash, the records after the last committed offset are published again:
//!    at least once. Duplicates are bounded by what was put since the last commit.
//! 7. MQTT 5: a PUBACK or PUBREC with a failure reason code (not authorized, quota
//!    exceeded, ...) refuses the message: its record is reported as a record error
//!    (the task fails naming the reason code, or the record goes to the dead letter
//!    queue) before the `put` or `flush` that sees it returns, so the commit after the
//!    flush covers it either way.

mod config;
mod driver;
mod ledger;
mod payload;
mod properties;
mod task;
mod topic_template;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, DryRun, TaskFactory};

pub use config::{sink_config_def, MqttSinkConfig};
pub(crate) use task::message;
pub use task::MqttSinkTask;
pub use topic_template::TopicTemplate;

/// `mqtt-sink` / `io.sluice.connect.mqtt.MqttSinkConnector`.
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.sluice.connect.mqtt.MqttSinkConnector",
        aliases: &["mqtt-sink", "MqttSink"],
        task_class: "io.sluice.connect.mqtt.MqttSinkTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Publishes records to MQTT topics (a fixed topic or a ${topic}/${key} template) at QoS 0, 1 or 2; offsets are committed only after the broker acknowledged the messages.",
        config_def: sink_config_def,
        create_connector: || {
            Box::new(CopyConfigConnector::new(false).with_validation(config::validate_raw))
        },
        create_task: TaskFactory::sink::<MqttSinkTask>(),
        dry_run: Some(DryRun::Sink(super::dry_run::sink_message)),
    }
}
