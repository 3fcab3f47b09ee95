//! MQTT source: topic filters on an MQTT 3.1.1 or 5 broker into one Kafka topic; the
//! MQTT sink (Kafka topics to MQTT topics) lives in [`sink`], the client for both
//! protocol versions in [`client`].
//!
//! # Delivery contract
//!
//! * The client connects with manual acknowledgements, so rumqttc sends no PUBACK
//!   (QoS 1) or PUBREC (QoS 2) on receipt.
//! * A driver task polls the connection continuously (keep-alive, reconnects) and
//!   hands messages to `poll` through a bounded buffer (`mqtt.receive.buffer.size`).
//! * `poll` returns up to `mqtt.batch.size` messages with an ack token. The runtime
//!   hands the token to [`acknowledger::MqttAcknowledger`] only after Kafka
//!   acknowledged every record of the batch and of every earlier batch; it then sends
//!   each message's PUBACK / PUBREC, in the order the messages arrived.
//! * With `mqtt.clean.session=false` (default) and a fixed client id the broker keeps
//!   unacknowledged messages, and messages published while the worker is away, and
//!   delivers them on the next connection: at least once for QoS 1 and 2. QoS 0 is at
//!   most once by definition.
//! * After a lost connection, acks of messages read on the old connection are not sent
//!   (packet ids are per connection); the broker resends those messages.
//! * MQTT subscribers each get every message, they do not compete for them: with
//!   `tasks.max > 1` the tasks subscribe as one shared subscription
//!   (`$share/<group>/<filter>`, group `mqtt.shared.subscription.group` or the
//!   connector name), so the broker hands each message to one of them.

mod acknowledger;
pub(crate) mod client;
mod config;
mod driver;
mod dry_run;
pub mod sink;
mod task;

use sluice_runtime::connector::{ConnectorPlugin, CopyConfigConnector, DryRun, TaskFactory};

pub use config::{config_def, MqttSourceConfig};
pub use sink::sink_plugin;
pub use task::MqttSourceTask;

/// `mqtt-source`.
pub fn source_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.sluice.connect.mqtt.MqttSourceConnector",
        aliases: &["mqtt-source", "MqttSource"],
        task_class: "io.sluice.connect.mqtt.MqttSourceTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Subscribes to MQTT topic filters and writes the messages to a topic; QoS 1/2 messages are acknowledged to the broker only after Kafka acknowledged them.",
        config_def,
        create_connector: || {
            Box::new(CopyConfigConnector::new(false).with_validation(config::validate_raw))
        },
        create_task: TaskFactory::source::<MqttSourceTask>(),
        dry_run: Some(DryRun::Source(dry_run::source_record)),
    }
}
