//! What the user writes for `amqp1-sink`, parsed once into [`SinkConfig`]. The
//! connection keys are the source's (`amqp1::config`).

use std::time::Duration;

use sluice_runtime::config::{
    millis, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig, RawConfig,
};

use crate::amqp1::config::{connection_def, server_config, ServerConfig, GROUP};

/// Where the record key goes in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTo {
    /// The group-id property (JMSXGroupID): a key's messages form one message group.
    GroupId,
    /// An application property with this name.
    Property(String),
    /// Nowhere.
    None,
}

/// How the message-id is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageIdMode {
    /// `<topic>-<partition>-<offset>`.
    Kafka,
    /// The record's JMSMessageID header, else as `Kafka`.
    Header,
}

/// The parsed settings of one `amqp1-sink` task.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub server: ServerConfig,
    /// The target address; `${topic}` is replaced by the record's topic.
    pub address: String,
    /// A header whose value, when present, is the address instead.
    pub address_header: Option<String>,
    pub capabilities: Vec<String>,
    pub durable: bool,
    pub ttl: Option<u32>,
    pub key_to: KeyTo,
    pub message_id: MessageIdMode,
    pub max_in_flight: usize,
    pub delivery_timeout: Duration,
}

/// Every key of `amqp1-sink` (the runtime adds the common ones and `topics`).
pub fn sink_config_def() -> ConfigDef {
    ConfigDef::new()
        .merge(&connection_def())
        .define(ConfigKey::string("amqp1.address").default("${topic}").importance(Importance::High).group(GROUP)
            .doc("The address messages are sent to; `${topic}` stands for the record's topic (the default sends each topic to the address of the same name). One sender link is attached per address."))
        .define(ConfigKey::string("amqp1.address.header").optional().importance(Importance::Medium).group(GROUP)
            .doc("A Kafka header whose value, when a record has it, is the address instead of amqp1.address."))
        .define(ConfigKey::list("amqp1.capabilities").default("queue").importance(Importance::Medium).group(GROUP)
            .doc("Capabilities of the sender link's target: `queue` (default) or `topic` tell Artemis, ActiveMQ and IBM MQ which kind of address to create or use. Empty sends none."))
        .define(ConfigKey::boolean("amqp1.message.durable").default("true").importance(Importance::Medium).group(GROUP)
            .doc("The messages' durable header (JMS PERSISTENT); a record's JMSDeliveryMode header (1 or 2) overrides it."))
        .define(ConfigKey::long("amqp1.message.ttl.ms").default("0").between(0.0, 4294967295.0).importance(Importance::Low).group(GROUP)
            .doc("The messages' time to live in milliseconds (header ttl); 0 sets none."))
        .define(ConfigKey::string("amqp1.key.to").default("group-id").importance(Importance::Medium).group(GROUP)
            .doc("Where the record key goes: `group-id` (the group-id property, JMSXGroupID: the broker keeps a key's messages in order on one consumer), `property:<name>` (an application property) or `none`. A non-string key is written as text into group-id."))
        .define(ConfigKey::string("amqp1.message.id").default("kafka").one_of(&["kafka", "header"]).importance(Importance::Low).group(GROUP)
            .doc("`kafka`: the message-id is <topic>-<partition>-<offset>, the same for a record sent twice after a crash, so consumers (and Artemis' duplicate detection with _AMQ_DUPL_ID) can drop redeliveries. `header`: the record's JMSMessageID header when it has one."))
        .define(ConfigKey::int("amqp1.max.in.flight").default("1000").between(1.0, 100000.0).importance(Importance::Medium).group(GROUP)
            .doc("The most messages sent and not yet settled by the broker; put waits for the oldest outcome when it is reached."))
        .define(ConfigKey::long("amqp1.delivery.timeout.ms").default("60000").at_least(1000.0).importance(Importance::Low).group(GROUP)
            .doc("How long flush waits for the broker's outcome of one message before the task fails (and restarts from the last committed offset)."))
}

impl SinkConfig {
    /// Reads a parsed config; every problem is named by its key.
    pub fn from_parsed(p: &ParsedConfig) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let server = server_config(p, &mut issues);
        let key_to = match p.str("amqp1.key.to").trim() {
            "group-id" => KeyTo::GroupId,
            "none" => KeyTo::None,
            s => match s.strip_prefix("property:") {
                Some(name) if !name.trim().is_empty() => KeyTo::Property(name.trim().to_string()),
                _ => {
                    issues.push(ConfigIssue::new(
                        "amqp1.key.to",
                        format!("{} is not group-id, property:<name> or none", s),
                    ));
                    KeyTo::None
                }
            },
        };
        let address = p.str("amqp1.address").trim().to_string();
        if address.is_empty() {
            issues.push(ConfigIssue::new("amqp1.address", "must not be empty"));
        }
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        let ttl = p.long("amqp1.message.ttl.ms");
        Ok(SinkConfig {
            server: server.expect("no issues"),
            address,
            address_header: p
                .string("amqp1.address.header")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            capabilities: p.list("amqp1.capabilities"),
            durable: p.boolean("amqp1.message.durable"),
            ttl: (ttl > 0).then_some(ttl as u32),
            key_to,
            message_id: if p.str("amqp1.message.id") == "header" {
                MessageIdMode::Header
            } else {
                MessageIdMode::Kafka
            },
            max_in_flight: p.int("amqp1.max.in.flight") as usize,
            delivery_timeout: millis(p.long("amqp1.delivery.timeout.ms")),
        })
    }

    /// The address of a record of `topic` (before the header override).
    pub fn address_for(&self, topic: &str) -> String {
        self.address.replace("${topic}", topic)
    }

    /// Where a record goes: the `amqp1.address.header` header's value when the record
    /// has it, else `amqp1.address` for its topic.
    pub fn address_of(&self, r: &sluice_runtime::data::SinkRecord) -> String {
        self.address_header
            .as_ref()
            .and_then(|h| r.record.headers.last_with_name(h))
            .and_then(|h| h.value.value.as_str().map(str::to_string))
            .unwrap_or_else(|| self.address_for(&r.record.topic))
    }
}

/// The cross-key checks of [`SinkConfig::from_parsed`] at validation time.
pub fn validate_raw(raw: &RawConfig) -> Vec<ConfigIssue> {
    crate::cross_checks::cross_key_issues(&sink_config_def(), raw, SinkConfig::from_parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<SinkConfig, String> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = sink_config_def()
            .parse(&raw)
            .map_err(|e| format!("{:?}", e))?;
        SinkConfig::from_parsed(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_choices() {
        let c = parse(&[("amqp1.uri", "amqp://u:secret@h:5673")]).unwrap();
        assert_eq!(c.address_for("orders"), "orders");
        assert_eq!(c.capabilities, vec!["queue"]);
        assert!(c.durable);
        assert_eq!(c.ttl, None);
        assert_eq!(c.key_to, KeyTo::GroupId);
        assert_eq!(c.message_id, MessageIdMode::Kafka);
        assert!(!format!("{:?}", c).contains("secret"));
        let c = parse(&[
            ("amqp1.uri", "amqp://h"),
            ("amqp1.key.to", "property:kafka_key"),
            ("amqp1.address", "out.${topic}"),
        ])
        .unwrap();
        assert_eq!(c.key_to, KeyTo::Property("kafka_key".into()));
        assert_eq!(c.address_for("t"), "out.t");
        let err = parse(&[("amqp1.uri", "amqp://h"), ("amqp1.key.to", "somewhere")]).unwrap_err();
        assert!(err.contains("amqp1.key.to"), "{}", err);
    }
}
