//! What the user writes for `amqp1-source`, parsed once into [`SourceConfig`].

use std::time::Duration;

use sluice_record_builders::key::KeySource;
use sluice_runtime::config::{
    millis, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig,
};

use crate::amqp1::config::{
    connection_def, ibm_connection_def, server_config, ServerConfig, GROUP,
};

const BUILDER_GROUP: &str = "AMQP 1.0 record builder";

/// The `amqp1.record.builder` names: Sluice's, then IBM's class names.
const BUILDERS: &[&str] = &[
    "jms",
    "json",
    "default",
    "com.ibm.eventstreams.connect.mqsource.builders.DefaultRecordBuilder",
    "com.ibm.eventstreams.connect.mqsource.builders.JsonRecordBuilder",
];

/// IBM MQ source keys that mean nothing on an AMQP channel.
const IBM_IGNORED: &[&str] = &[
    "mq.queue.manager",
    "mq.connection.mode",
    "mq.channel.name",
    "mq.user.authentication.mqcsp",
    "mq.ccdt.url",
    "mq.ssl.cipher.suite",
    "mq.ssl.peer.name",
    "mq.ssl.use.ibm.cipher.mappings",
    "mq.message.mqmd.read",
    "mq.max.poll.blocked.time.ms",
    "mq.reconnect.delay.min.ms",
    "mq.reconnect.delay.max.ms",
    "mq.exactly.once.state.queue",
];

/// How a message becomes the record value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderKind {
    /// The body section by JMS message type (see `record`).
    Jms,
    /// data and string bodies parsed as JSON (schemaless).
    Json,
}

/// The parsed settings of one `amqp1-source` task.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub server: ServerConfig,
    pub address: String,
    pub capabilities: Vec<String>,
    /// A durable shared subscription on a topic address (the link name).
    pub subscription: Option<String>,
    pub selector: Option<String>,
    pub credit: u32,
    pub batch_size: usize,
    pub poll_wait: Duration,
    pub topic: String,
    pub builder: BuilderKind,
    pub key: Option<KeySource>,
    pub copy_headers: bool,
}

/// Every key of `amqp1-source` (the runtime adds the common ones).
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .merge(&connection_def())
        .define(ConfigKey::string("amqp1.address").optional().importance(Importance::High).group(GROUP)
            .doc("The address to receive from: a queue, or with amqp1.subscription.name a topic. Required unless mq.queue is set."))
        .define(ConfigKey::list("amqp1.capabilities").default("queue").importance(Importance::Medium).group(GROUP)
            .doc("Capabilities of the link's source: `queue` (the default) or `topic` tell Artemis, ActiveMQ and IBM MQ which kind of address is meant (Artemis would otherwise create a missing address as a multicast topic). With amqp1.subscription.name the default is topic,shared,global. Empty sends none (RabbitMQ ignores them)."))
        .define(ConfigKey::string("amqp1.subscription.name").optional().importance(Importance::Medium).group(GROUP)
            .doc("A durable shared subscription on the topic amqp1.address, by this name (the JMS createSharedDurableConsumer model): the broker keeps messages for it while no task is attached, and all tasks share it as competing consumers. A stopped task detaches without deleting it."))
        .define(ConfigKey::string("amqp1.selector").optional().importance(Importance::Medium).group(GROUP)
            .doc("A JMS message selector (SQL-92 subset over headers and properties, e.g. `region = 'EU' AND qty > 10`) sent as the source filter apache.org:selector-filter:string; the broker delivers only matching messages (Artemis, ActiveMQ, Qpid, Solace and IBM MQ support it; RabbitMQ and Azure Service Bus do not)."))
        .define(ConfigKey::int("amqp1.credit").default("1000").between(1.0, 100000.0).importance(Importance::Medium).group(GROUP)
            .doc("Link credit: the most messages received and not yet accepted (like a prefetch). It bounds memory and the duplicates after a crash; keep it a few times amqp1.batch.size."))
        .define(ConfigKey::int("amqp1.batch.size").default("250").at_least(1.0).importance(Importance::Medium).group(GROUP)
            .doc("The most messages one poll returns. A batch is accepted with one disposition over its delivery range once Kafka acknowledged it and every earlier batch (batches Kafka finished together share one disposition)."))
        .define(ConfigKey::long("amqp1.poll.wait.ms").default("1000").between(0.0, 60000.0).importance(Importance::Low).group(GROUP)
            .doc("How long a poll waits for the first message when none is buffered; it then takes what is buffered up to amqp1.batch.size without waiting."))
        .define(ConfigKey::string("topic").validator(sluice_runtime::config::Validator::NonEmpty).importance(Importance::High).group(GROUP)
            .doc("The Kafka topic the records are written to."))
        .define(ConfigKey::string("amqp1.record.builder").default("jms").one_of(BUILDERS).importance(Importance::High).group(BUILDER_GROUP)
            .doc("`jms` (default): the body section by JMS message type: a data section (BytesMessage) is bytes, an amqp-value string (TextMessage) a string, a map (MapMessage) a struct, a list or amqp-sequence (StreamMessage) an array, binary bytes, no body null. `json`: data and string bodies are parsed as JSON (schemaless); one that is not JSON is a failed record. IBM's DefaultRecordBuilder and JsonRecordBuilder class names are accepted as aliases of jms and json."))
        .define(ConfigKey::string("amqp1.record.builder.key.header").optional().group(BUILDER_GROUP)
            .doc("Where the record key comes from; unset gives a null key. JMSMessageID, JMSCorrelationID, JMSCorrelationIDAsBytes, JMSType (subject), JMSDestination (to), JMSReplyTo, JMSTimestamp (creation-time), JMSPriority, JMSExpiration (absolute-expiry-time), JMSXGroupID (group-id: keeps a message group's order on one partition), JMSXGroupSeq, JMSXUserID, JMSXDeliveryCount; any other name is an application property."))
        .define(ConfigKey::boolean("amqp1.properties.copy.to.kafka.headers").default("true").group(BUILDER_GROUP)
            .doc("Copy the message's properties and header fields to Kafka headers with JMS names (JMSMessageID, JMSCorrelationID, JMSDestination, JMSReplyTo, JMSType, JMSXGroupID, JMSXGroupSeq, JMSTimestamp, JMSExpiration, JMSPriority, JMSDeliveryMode, JMSRedelivered, JMSXDeliveryCount, JMSXUserID, JMS_AMQP_CONTENT_TYPE, JMS_AMQP_CONTENT_ENCODING), the x-opt-jms-* message annotations under their own names and every application property under its name, keeping their types."))
        .merge(&ibm_connection_def())
        .define(ConfigKey::string("mq.queue").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.address (amqp1.address wins)."))
        .define(ConfigKey::string("mq.record.builder").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.record.builder."))
        .define(ConfigKey::string("mq.record.builder.key.header").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.record.builder.key.header."))
        .define(ConfigKey::boolean("mq.message.body.jms").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias, always true on an AMQP channel: messages are read as JMS messages. false is refused."))
        .define(ConfigKey::boolean("mq.jms.properties.copy.to.kafka.headers").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.properties.copy.to.kafka.headers."))
        .define(ConfigKey::int("mq.batch.size").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.batch.size."))
        .not_supported_keys(IBM_IGNORED, "a key of IBM's MQ source connector that has no meaning on an AMQP channel (the channel's host(port) selects the queue manager); see docs/amqp1-source.md")
}

impl SourceConfig {
    /// Reads a parsed config; every problem is named by its key.
    pub fn from_parsed(p: &ParsedConfig) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let opt = |k: &str| {
            p.string(k)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let server = server_config(p, &mut issues);
        let address = opt("amqp1.address").or_else(|| opt("mq.queue"));
        if address.is_none() {
            issues.push(ConfigIssue::new(
                "amqp1.address",
                "is required (or the IBM MQ alias mq.queue)",
            ));
        }
        let subscription = opt("amqp1.subscription.name");
        let explicit_caps = p.raw().contains_key("amqp1.capabilities");
        let capabilities = match (&subscription, explicit_caps) {
            (Some(_), false) => vec!["topic".into(), "shared".into(), "global".into()],
            _ => p.list("amqp1.capabilities"),
        };
        let builder_name = opt("amqp1.record.builder")
            .filter(|_| p.raw().contains_key("amqp1.record.builder"))
            .or_else(|| opt("mq.record.builder"))
            .unwrap_or_else(|| "jms".into());
        let builder = match builder_name.as_str() {
            "jms"
            | "default"
            | "com.ibm.eventstreams.connect.mqsource.builders.DefaultRecordBuilder" => {
                BuilderKind::Jms
            }
            "json" | "com.ibm.eventstreams.connect.mqsource.builders.JsonRecordBuilder" => {
                BuilderKind::Json
            }
            other => {
                issues.push(ConfigIssue::new(
                    "mq.record.builder",
                    format!(
                        "unknown record builder {}; known: {}",
                        other,
                        BUILDERS.join(", ")
                    ),
                ));
                BuilderKind::Jms
            }
        };
        if p.raw()
            .get("mq.message.body.jms")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
        {
            issues.push(ConfigIssue::new("mq.message.body.jms", "false is not possible on an AMQP channel: messages arrive as JMS messages (set it to true or remove it)"));
        }
        let key = opt("amqp1.record.builder.key.header")
            .or_else(|| opt("mq.record.builder.key.header"))
            .map(|s| KeySource::parse(&s));
        let copy_headers = if p
            .raw()
            .contains_key("amqp1.properties.copy.to.kafka.headers")
        {
            p.boolean("amqp1.properties.copy.to.kafka.headers")
        } else if p
            .raw()
            .contains_key("mq.jms.properties.copy.to.kafka.headers")
        {
            p.boolean("mq.jms.properties.copy.to.kafka.headers")
        } else {
            true
        };
        let batch_size = if p.raw().contains_key("amqp1.batch.size") {
            p.int("amqp1.batch.size")
        } else {
            p.opt_int("mq.batch.size")
                .unwrap_or(p.int("amqp1.batch.size"))
        };
        if batch_size < 1 {
            issues.push(ConfigIssue::new("mq.batch.size", "must be at least 1"));
        }
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        Ok(SourceConfig {
            server: server.expect("no issues"),
            address: address.expect("no issues"),
            capabilities,
            subscription,
            selector: opt("amqp1.selector"),
            credit: p.int("amqp1.credit") as u32,
            batch_size: batch_size as usize,
            poll_wait: millis(p.long("amqp1.poll.wait.ms")),
            topic: p.str("topic"),
            builder,
            key,
            copy_headers,
        })
    }

    /// `<endpoints>/<address>` (and the subscription), for logs and status.
    /// What exactly-once offsets are stored under: the address, and the subscription
    /// when there is one.
    pub fn source_name(&self) -> String {
        match &self.subscription {
            Some(s) => format!("{}/{}", self.address, s),
            None => self.address.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match &self.subscription {
            Some(s) => format!(
                "{} {} (subscription {})",
                self.server.describe(),
                self.address,
                s
            ),
            None => format!("{} {}", self.server.describe(), self.address),
        }
    }
}

/// The cross-key checks of [`SourceConfig::from_parsed`] at validation time.
pub fn validate_raw(raw: &sluice_runtime::config::RawConfig) -> Vec<ConfigIssue> {
    crate::cross_checks::cross_key_issues(&config_def(), raw, SourceConfig::from_parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::config::RawConfig;

    fn parse(pairs: &[(&str, &str)]) -> Result<SourceConfig, String> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = config_def().parse(&raw).map_err(|e| format!("{:?}", e))?;
        SourceConfig::from_parsed(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse(&[
            ("amqp1.uri", "amqp://u:secret@h:5673"),
            ("amqp1.address", "orders"),
            ("topic", "t"),
        ])
        .unwrap();
        assert_eq!(c.capabilities, vec!["queue"]);
        assert_eq!(c.credit, 1000);
        assert_eq!(c.batch_size, 250);
        assert_eq!(c.builder, BuilderKind::Jms);
        assert!(c.copy_headers);
        assert!(!format!("{:?}", c).contains("secret"));
        assert_eq!(c.describe(), "amqp://h:5673 orders");
    }

    #[test]
    fn subscriptions_default_to_shared_topic_capabilities() {
        let c = parse(&[
            ("amqp1.uri", "amqp://h"),
            ("amqp1.address", "prices"),
            ("amqp1.subscription.name", "s1"),
            ("topic", "t"),
        ])
        .unwrap();
        assert_eq!(c.capabilities, vec!["topic", "shared", "global"]);
    }

    #[test]
    fn ibm_aliases() {
        let c = parse(&[
            ("mq.connection.name.list", "qm1(5672),qm2(5673)"),
            ("mq.user.name", "app"),
            ("mq.password", "pw"),
            ("mq.queue", "DEV.QUEUE.1"),
            (
                "mq.record.builder",
                "com.ibm.eventstreams.connect.mqsource.builders.JsonRecordBuilder",
            ),
            ("mq.record.builder.key.header", "JMSCorrelationID"),
            ("mq.jms.properties.copy.to.kafka.headers", "false"),
            ("mq.batch.size", "50"),
            ("mq.message.body.jms", "true"),
            ("topic", "t"),
        ])
        .unwrap();
        assert_eq!(c.address, "DEV.QUEUE.1");
        assert_eq!(c.server.endpoints.len(), 2);
        assert!(matches!(
            c.server.sasl,
            crate::amqp1::config::Sasl::Plain { .. }
        ));
        assert_eq!(c.builder, BuilderKind::Json);
        assert_eq!(c.key, Some(KeySource::parse("JMSCorrelationID")));
        assert!(!c.copy_headers);
        assert_eq!(c.batch_size, 50);
        let err = parse(&[
            ("mq.connection.name.list", "qm1(5672)"),
            ("mq.queue", "Q"),
            ("mq.message.body.jms", "false"),
            ("topic", "t"),
        ])
        .unwrap_err();
        assert!(err.contains("mq.message.body.jms"), "{}", err);
    }

    #[test]
    fn ibm_keys_without_meaning_get_a_warning() {
        let raw: RawConfig = [
            ("amqp1.uri", "amqp://h"),
            ("amqp1.address", "q"),
            ("topic", "t"),
            ("mq.queue.manager", "QM1"),
            ("mq.channel.name", "SLUICE"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let warnings =
            sluice_runtime::config::unknown_keys::unknown_key_warnings(&config_def(), &raw);
        let keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["mq.channel.name", "mq.queue.manager"],
            "{:?}",
            warnings
        );
        assert!(
            warnings[0].message.contains("AMQP channel"),
            "{:?}",
            warnings
        );
    }

    #[test]
    fn sasl_external_needs_tls_a_certificate_and_no_password() {
        let err = parse(&[
            ("amqp1.uri", "amqp://u:secret@h"),
            ("amqp1.sasl.mechanism", "EXTERNAL"),
            ("amqp1.address", "q"),
            ("topic", "t"),
        ])
        .unwrap_err();
        assert!(
            err.contains("remove the user and password") && !err.contains("secret"),
            "{}",
            err
        );
        let err = parse(&[
            ("amqp1.uri", "amqps://h1,amqp://h2"),
            ("amqp1.sasl.mechanism", "EXTERNAL"),
            ("amqp1.address", "q"),
            ("topic", "t"),
        ])
        .unwrap_err();
        assert!(
            err.contains("amqp://h2:5672 is not amqps://")
                && err.contains("EXTERNAL needs a client certificate"),
            "{}",
            err
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let err = parse(&[("amqp1.uri", "http://u:secret@h"), ("topic", "t")]).unwrap_err();
        assert!(
            err.contains("amqp1.uri") && !err.contains("secret"),
            "{}",
            err
        );
        let err = parse(&[("topic", "t")]).unwrap_err();
        assert!(
            err.contains("amqp1.uri") && err.contains("amqp1.address"),
            "{}",
            err
        );
        let err = parse(&[
            ("amqp1.uri", "amqp://h"),
            ("amqp1.address", "q"),
            ("amqp1.ssl.ca.location", "/nonexistent.pem"),
            ("topic", "t"),
        ])
        .unwrap_err();
        assert!(err.contains("amqps://"), "{}", err);
    }
}
