//! What the user writes: the `amqp-sink` keys (and IBM MQ sink aliases), parsed once
//! into [`AmqpSinkConfig`].

use std::str::FromStr;
use std::time::Duration;

use lapin::tcp::OwnedTLSConfig;
use lapin::uri::AMQPUri;
use sluice_runtime::config::{
    millis, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig, RawConfig,
    TypedValue, Validator,
};

use super::super::config::{connection_def, tls_config, uri_def};

const GROUP: &str = "AMQP sink";
const IBM_GROUP: &str = "IBM MQ sink aliases";

/// The default `amqp.message.id`: unique per Kafka record.
pub const DEFAULT_MESSAGE_ID: &str = "{topic}-{partition}-{offset}";

/// The IBM MQ sink's default message builder, the only one accepted.
const IBM_DEFAULT_BUILDER: &str =
    "com.ibm.eventstreams.connect.mqsink.builders.DefaultMessageBuilder";

/// IBM MQ sink keys with no meaning for RabbitMQ.
const IBM_MQ_SINK_KEYS: &[&str] = &[
    "mq.queue.manager",
    "mq.connection.mode",
    "mq.connection.name.list",
    "mq.channel.name",
    "mq.user.name",
    "mq.password",
    "mq.user.authentication.mqcsp",
    "mq.ccdt.url",
    "mq.message.body.jms",
    "mq.message.builder.value.converter",
    "mq.message.builder.topic.property",
    "mq.message.builder.partition.property",
    "mq.message.builder.offset.property",
    "mq.message.mqmd.write",
    "mq.message.mqmd.context",
    "mq.ssl.cipher.suite",
    "mq.ssl.peer.name",
    "mq.ssl.keystore.location",
    "mq.ssl.keystore.password",
    "mq.ssl.truststore.location",
    "mq.ssl.truststore.password",
    "mq.ssl.use.ibm.cipher.mappings",
    "mq.retry.backoff.ms",
    "mq.exactly.once.state.queue",
];

/// Where a message's routing key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingKeySource {
    /// `amqp.routing.key` for every message.
    Fixed,
    /// The record key as text.
    Key,
    /// The record's topic (after transforms).
    Topic,
    /// A Kafka header's value as text.
    Header(String),
}

impl RoutingKeySource {
    fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "fixed" => Ok(RoutingKeySource::Fixed),
            "key" => Ok(RoutingKeySource::Key),
            "topic" => Ok(RoutingKeySource::Topic),
            _ => match s.strip_prefix("header:") {
                Some(h) if !h.trim().is_empty() => Ok(RoutingKeySource::Header(h.trim().into())),
                _ => Err(format!(
                    "must be fixed, key, topic or header:<name>, not {:?}",
                    s
                )),
            },
        }
    }
}

/// Which AMQP property carries the record key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProperty {
    None,
    CorrelationId,
    MessageId,
}

/// The parsed settings of one AMQP sink task.
#[derive(Clone)]
pub struct AmqpSinkConfig {
    pub uri: AMQPUri,
    /// The URI as written (for the connection; holds the secret).
    pub uri_text: String,
    pub tls: OwnedTLSConfig,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub connection_timeout: Duration,
    pub exchange: String,
    pub routing_key: String,
    pub routing: RoutingKeySource,
    pub mandatory: bool,
    pub persistent: bool,
    /// Per-message TTL in milliseconds (`None`: no expiration).
    pub expiration_ms: Option<u64>,
    pub content_type: Option<String>,
    pub reply_to: Option<String>,
    pub key_property: KeyProperty,
    /// The `message_id` template (`None`: no message id unless the record carries one).
    pub message_id: Option<String>,
    pub headers_copy: bool,
    pub max_in_flight: usize,
}

impl std::fmt::Debug for AmqpSinkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpSinkConfig")
            .field("server", &self.server())
            .field("exchange", &self.exchange)
            .field("routing", &self.routing)
            .finish_non_exhaustive()
    }
}

fn check_routing_source(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => RoutingKeySource::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_short(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) if s.len() > 255 => Err(format!(
            "is {} bytes; AMQP allows at most 255 (a short string)",
            s.len()
        )),
        _ => Ok(()),
    }
}

fn check_template(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => check_message_id(s),
        _ => Ok(()),
    }
}

/// Every `{...}` of the template must be `{topic}`, `{partition}` or `{offset}`.
fn check_message_id(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let Some(j) = after.find('}') else {
            return Err(format!("unclosed {{ in {:?}", s));
        };
        let name = &after[..j];
        if !matches!(name, "topic" | "partition" | "offset") {
            return Err(format!(
                "unknown placeholder {{{}}}; known: {{topic}}, {{partition}}, {{offset}}",
                name
            ));
        }
        rest = &after[j + 1..];
    }
    Ok(())
}

/// Every key of the AMQP sink (the runtime adds the common ones and `topics`).
pub fn sink_config_def() -> ConfigDef {
    ConfigDef::new()
        .merge(&uri_def())
        .define(ConfigKey::string("amqp.exchange").default("").importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_short))
            .doc("The exchange to publish to. It must exist (Sluice does not declare it). Empty (the default) is RabbitMQ's default exchange, which routes a message to the queue named by its routing key."))
        .define(ConfigKey::string("amqp.routing.key").default("").importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_short))
            .doc("The routing key of every message with amqp.routing.key.source=fixed (with the default exchange: the queue's name)."))
        .define(ConfigKey::string("amqp.routing.key.source").default("fixed").importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_routing_source))
            .doc("Where each message's routing key comes from: `fixed` (amqp.routing.key), `key` (the record key as text), `topic` (the record's topic, after transforms) or `header:<name>` (the value of that Kafka header as text). A record without a key or without the header, or whose routing key is over 255 bytes, is a failed record (errors.tolerance)."))
        .define(ConfigKey::boolean("amqp.mandatory").default("true").importance(Importance::Medium).group(GROUP)
            .doc("Publish with the mandatory flag: a message no queue is bound for comes back (basic.return) and its record is a failed record (the task fails with errors.tolerance=none; the record goes to the dead letter queue with all). With false such messages are dropped silently by RabbitMQ."))
        .define(ConfigKey::boolean("amqp.persistent").default("true").importance(Importance::Medium).group(GROUP)
            .doc("delivery_mode 2 (persistent): durable queues keep the message across a broker restart. false sends delivery_mode 1. Alias: mq.persistent."))
        .define(ConfigKey::long("amqp.expiration.ms").optional().at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The per-message TTL (the expiration property), in milliseconds; unset or 0: no expiration. Alias: mq.time.to.live."))
        .define(ConfigKey::string("amqp.content.type").optional().importance(Importance::Low).group(GROUP)
            .doc("The content_type property of every message (e.g. application/json), unless the record carries one (an amqp.content_type header)."))
        .define(ConfigKey::string("amqp.reply.to").optional().importance(Importance::Low).group(GROUP)
            .doc("The reply_to property of every message, unless the record carries one. Alias: mq.reply.queue."))
        .define(ConfigKey::string("amqp.key.property").default("none").one_of(&["none", "correlation_id", "message_id"]).importance(Importance::Medium).group(GROUP)
            .doc("Which property carries the record key as text: `none`, `correlation_id` or `message_id` (the latter replaces amqp.message.id). A null key sets nothing. Alias: mq.message.builder.key.header=JMSCorrelationID."))
        .define(ConfigKey::string("amqp.message.id").default(DEFAULT_MESSAGE_ID).importance(Importance::Medium).group(GROUP)
            .validator(Validator::Custom(check_template))
            .doc("The message_id property: a template with {topic}, {partition} and {offset} of the Kafka record (the default makes it unique per record, so consumers can drop the duplicates a crash may cause). Empty: no message_id. A message_id the record carries (amqp.message_id header) or the key with amqp.key.property=message_id wins."))
        .define(ConfigKey::boolean("amqp.headers.copy").default("true").importance(Importance::Medium).group(GROUP)
            .doc("Copy the Kafka headers: a header named amqp.<property> (as amqp-source writes them with amqp.properties.copy.to.kafka.headers) sets that AMQP property (message_id, correlation_id, type, reply_to, content_type, content_encoding, expiration, user_id, app_id, cluster_id, timestamp, delivery_mode, priority); amqp.exchange, amqp.routing_key and amqp.redelivered are dropped; every other header becomes an application header with its type (strings, integers, floats, booleans, bytes, timestamps, decimals, lists, maps). Alias: mq.kafka.headers.copy.to.jms.properties."))
        .define(ConfigKey::int("amqp.max.in.flight").default("1000").between(1.0, 1_000_000.0).importance(Importance::Medium).group(GROUP)
            .doc("The publish window: how many messages may wait for RabbitMQ's publisher confirm at once. put publishes until the window is full, then waits for the oldest confirm; flush (before every offset commit) waits for all. It bounds memory and the messages published again after a lost connection."))
        .merge(&connection_def())
        .define(ConfigKey::string("mq.queue").optional().importance(Importance::Low).group(IBM_GROUP)
            .validator(Validator::Custom(check_short))
            .doc("IBM MQ sink key: the queue to send to. Here it is amqp.routing.key, with the default exchange delivering to the queue of that name."))
        .define(ConfigKey::boolean("mq.persistent").optional().importance(Importance::Low).group(IBM_GROUP)
            .doc("IBM MQ sink key: alias of amqp.persistent."))
        .define(ConfigKey::long("mq.time.to.live").optional().at_least(0.0).importance(Importance::Low).group(IBM_GROUP)
            .doc("IBM MQ sink key: alias of amqp.expiration.ms (milliseconds, 0: none)."))
        .define(ConfigKey::string("mq.reply.queue").optional().importance(Importance::Low).group(IBM_GROUP)
            .doc("IBM MQ sink key: alias of amqp.reply.to; a queue:///name URI gives name."))
        .define(ConfigKey::boolean("mq.kafka.headers.copy.to.jms.properties").optional().importance(Importance::Low).group(IBM_GROUP)
            .doc("IBM MQ sink key: alias of amqp.headers.copy (note: IBM's default is false, Sluice's true)."))
        .define(ConfigKey::string("mq.message.builder").optional().importance(Importance::Low).group(IBM_GROUP)
            .doc("IBM MQ sink key: only the default builder (com.ibm.eventstreams.connect.mqsink.builders.DefaultMessageBuilder, or `default`) is accepted; the mapping is the one described under amqp.headers.copy."))
        .define(ConfigKey::string("mq.message.builder.key.header").optional().importance(Importance::Low).group(IBM_GROUP)
            .doc("IBM MQ sink key: JMSCorrelationID is amqp.key.property=correlation_id."))
        .not_supported_keys(IBM_MQ_SINK_KEYS, "a key of IBM's MQ sink connector with no meaning for RabbitMQ; amqp-sink is configured with amqp.* keys (see docs/amqp-sink.md)")
}

fn opt_bool(p: &ParsedConfig, k: &str) -> Option<bool> {
    match p.get(k) {
        TypedValue::Boolean(b) => Some(*b),
        _ => None,
    }
}

/// The value of `key`, or of its IBM alias when only that is set; both set to
/// different values is an issue.
fn aliased<T: PartialEq + std::fmt::Debug>(
    p: &ParsedConfig,
    key: &str,
    alias: &str,
    get: impl Fn(&str) -> Option<T>,
    issues: &mut Vec<ConfigIssue>,
) -> Option<T> {
    let set = |k: &str| p.raw().contains_key(k);
    match (set(key), set(alias)) {
        (_, false) => get(key),
        (false, true) => get(alias),
        (true, true) => {
            let (a, b) = (get(key), get(alias));
            if a != b {
                issues.push(ConfigIssue::new(
                    alias,
                    format!("conflicts with {} (set only one of them)", key),
                ));
            }
            a
        }
    }
}

impl AmqpSinkConfig {
    /// Reads the typed settings; every problem is reported at once.
    pub fn from_parsed(p: &ParsedConfig) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let uri_text = p.str("amqp.uri").trim().to_string();
        let uri = AMQPUri::from_str(&uri_text).map_err(|e| {
            ConfigErrors(vec![ConfigIssue::new(
                "amqp.uri",
                format!("not a valid AMQP URI: {}", e.replace(&uri_text, "[hidden]")),
            )])
        })?;
        let tls = match tls_config(p, &uri) {
            Ok(t) => t,
            Err(e) => {
                issues.extend(e.0);
                OwnedTLSConfig::default()
            }
        };
        let min = millis(p.long("amqp.reconnect.delay.min.ms"));
        let max = millis(p.long("amqp.reconnect.delay.max.ms"));
        if max < min {
            issues.push(ConfigIssue::new(
                "amqp.reconnect.delay.max.ms",
                "must not be less than amqp.reconnect.delay.min.ms",
            ));
        }
        let routing = RoutingKeySource::parse(&p.str("amqp.routing.key.source"))
            .map_err(|e| ConfigErrors(vec![ConfigIssue::new("amqp.routing.key.source", e)]))?;
        let routing_key = aliased(
            p,
            "amqp.routing.key",
            "mq.queue",
            |k| p.string(k),
            &mut issues,
        )
        .unwrap_or_default();
        let persistent = aliased(
            p,
            "amqp.persistent",
            "mq.persistent",
            |k| opt_bool(p, k),
            &mut issues,
        )
        .unwrap_or(true);
        let expiration_ms = aliased(
            p,
            "amqp.expiration.ms",
            "mq.time.to.live",
            |k| p.opt_long(k),
            &mut issues,
        )
        .filter(|ms| *ms > 0)
        .map(|ms| ms as u64);
        let reply_to = aliased(
            p,
            "amqp.reply.to",
            "mq.reply.queue",
            |k| {
                p.string(k).map(|s| {
                    let s = s.trim();
                    // IBM's queue://qmgr/name form: the queue's name.
                    match s.strip_prefix("queue://") {
                        Some(rest) => rest.rsplit('/').next().unwrap_or(rest).to_string(),
                        None => s.to_string(),
                    }
                })
            },
            &mut issues,
        )
        .filter(|s| !s.is_empty());
        let headers_copy = aliased(
            p,
            "amqp.headers.copy",
            "mq.kafka.headers.copy.to.jms.properties",
            |k| opt_bool(p, k),
            &mut issues,
        )
        .unwrap_or(true);
        if let Some(b) = p.string("mq.message.builder") {
            let b = b.trim();
            if b != IBM_DEFAULT_BUILDER && !b.eq_ignore_ascii_case("default") {
                issues.push(ConfigIssue::new(
                    "mq.message.builder",
                    format!("only the default builder ({}) is supported; the AMQP message is built as described under amqp.headers.copy", IBM_DEFAULT_BUILDER),
                ));
            }
        }
        let mut key_property = match p.str("amqp.key.property").as_str() {
            "correlation_id" => KeyProperty::CorrelationId,
            "message_id" => KeyProperty::MessageId,
            _ => KeyProperty::None,
        };
        if let Some(h) = p.string("mq.message.builder.key.header") {
            match h.trim() {
                "JMSCorrelationID" if p.raw().contains_key("amqp.key.property") && key_property != KeyProperty::CorrelationId => {
                    issues.push(ConfigIssue::new(
                        "mq.message.builder.key.header",
                        "conflicts with amqp.key.property (set only one of them)",
                    ))
                }
                "JMSCorrelationID" => key_property = KeyProperty::CorrelationId,
                other => issues.push(ConfigIssue::new(
                    "mq.message.builder.key.header",
                    format!("only JMSCorrelationID is supported (IBM's only value), not {:?}; see amqp.key.property", other),
                )),
            }
        }
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        let message_id = Some(p.str("amqp.message.id")).filter(|s| !s.is_empty());
        Ok(AmqpSinkConfig {
            uri,
            uri_text,
            tls,
            reconnect_min: min.max(Duration::from_millis(1)),
            reconnect_max: max.max(Duration::from_millis(1)),
            connection_timeout: millis(p.long("amqp.connection.timeout.ms")),
            exchange: p.str("amqp.exchange"),
            routing_key,
            routing,
            mandatory: p.boolean("amqp.mandatory"),
            persistent,
            expiration_ms,
            content_type: p.string("amqp.content.type").filter(|s| !s.is_empty()),
            reply_to,
            key_property,
            message_id,
            headers_copy,
            max_in_flight: p.int("amqp.max.in.flight") as usize,
        })
    }

    /// `host:port/vhost`, without credentials: safe for logs and status.
    pub fn server(&self) -> String {
        format!(
            "{}:{}/{}",
            self.uri.authority.host, self.uri.authority.port, self.uri.vhost
        )
    }

    /// The exchange as logs and traces show it (`(default)` for "").
    pub fn exchange_name(&self) -> &str {
        if self.exchange.is_empty() {
            "(default)"
        } else {
            &self.exchange
        }
    }
}

/// The cross-key checks of [`AmqpSinkConfig::from_parsed`] at validation time.
pub fn validate_raw(raw: &RawConfig) -> Vec<ConfigIssue> {
    crate::cross_checks::cross_key_issues(&sink_config_def(), raw, AmqpSinkConfig::from_parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<AmqpSinkConfig, String> {
        let mut raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        raw.entry("amqp.uri".into())
            .or_insert_with(|| "amqp://u:secret@rabbit:5672/%2f".into());
        let p = sink_config_def()
            .parse(&raw)
            .map_err(|e| format!("{:?}", e))?;
        AmqpSinkConfig::from_parsed(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.exchange, "");
        assert_eq!(c.exchange_name(), "(default)");
        assert_eq!(c.routing, RoutingKeySource::Fixed);
        assert!(c.mandatory && c.persistent && c.headers_copy);
        assert_eq!(c.expiration_ms, None);
        assert_eq!(c.key_property, KeyProperty::None);
        assert_eq!(c.message_id.as_deref(), Some(DEFAULT_MESSAGE_ID));
        assert_eq!(c.max_in_flight, 1000);
        assert!(!format!("{:?}", c).contains("secret"));
    }

    #[test]
    fn routing_sources() {
        for (s, want) in [
            ("key", RoutingKeySource::Key),
            ("topic", RoutingKeySource::Topic),
            ("header:dest", RoutingKeySource::Header("dest".into())),
        ] {
            assert_eq!(
                parse(&[("amqp.routing.key.source", s)]).unwrap().routing,
                want
            );
        }
        for bad in ["header:", "queue", ""] {
            let e = parse(&[("amqp.routing.key.source", bad)]).unwrap_err();
            assert!(e.contains("amqp.routing.key.source"), "{}", e);
        }
    }

    #[test]
    fn ibm_aliases() {
        let c = parse(&[
            ("mq.queue", "orders"),
            ("mq.persistent", "false"),
            ("mq.time.to.live", "5000"),
            ("mq.reply.queue", "queue:///replies"),
            ("mq.kafka.headers.copy.to.jms.properties", "false"),
            ("mq.message.builder", IBM_DEFAULT_BUILDER),
            ("mq.message.builder.key.header", "JMSCorrelationID"),
        ])
        .unwrap();
        assert_eq!(c.routing_key, "orders");
        assert!(!c.persistent && !c.headers_copy);
        assert_eq!(c.expiration_ms, Some(5000));
        assert_eq!(c.reply_to.as_deref(), Some("replies"));
        assert_eq!(c.key_property, KeyProperty::CorrelationId);
        let e = parse(&[
            ("amqp.persistent", "true"),
            ("mq.persistent", "false"),
            ("mq.message.builder", "com.example.Xml"),
            ("mq.message.builder.key.header", "JMSMessageID"),
        ])
        .unwrap_err();
        for k in [
            "mq.persistent",
            "mq.message.builder",
            "mq.message.builder.key.header",
        ] {
            assert!(e.contains(k), "{} missing in {}", k, e);
        }
        let unsupported = sink_config_def();
        assert!(unsupported.unsupported_note("mq.queue.manager").is_some());
        assert!(unsupported.unsupported_note("mq.persistent").is_none());
    }

    #[test]
    fn message_id_template_is_checked() {
        assert!(parse(&[("amqp.message.id", "{topic}/{offset}")]).is_ok());
        assert_eq!(parse(&[("amqp.message.id", "")]).unwrap().message_id, None);
        let e = parse(&[("amqp.message.id", "{topic}-{key}")]).unwrap_err();
        assert!(e.contains("{key}"), "{}", e);
        let long = "x".repeat(256);
        let e = parse(&[("amqp.exchange", long.as_str())]).unwrap_err();
        assert!(e.contains("amqp.exchange") && e.contains("255"), "{}", e);
    }

    #[test]
    fn every_key_is_documented() {
        for k in sink_config_def().keys() {
            assert!(!k.doc.is_empty(), "{} has no doc", k.name);
        }
    }
}
