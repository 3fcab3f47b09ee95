//! What the user writes: the `amqp-source` keys, parsed once into [`AmqpSourceConfig`].

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::uri::{AMQPScheme, AMQPUri};
use sluice_record_builders::BuilderConfig;
use sluice_runtime::config::{
    millis, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig, TypedValue,
    Validator,
};

const GROUP: &str = "AMQP";
const TLS_GROUP: &str = "AMQP TLS";

/// IBM MQ source keys: amqp-source reads RabbitMQ (AMQP 0-9-1) with amqp.* keys.
const IBM_MQ_SOURCE_KEYS: &[&str] = &[
    "mq.queue.manager",
    "mq.connection.mode",
    "mq.connection.name.list",
    "mq.channel.name",
    "mq.queue",
    "mq.user.name",
    "mq.password",
    "mq.user.authentication.mqcsp",
    "mq.ccdt.url",
    "mq.record.builder",
    "mq.message.body.jms",
    "mq.record.builder.key.header",
    "mq.ssl.cipher.suite",
    "mq.ssl.peer.name",
    "mq.ssl.keystore.location",
    "mq.ssl.keystore.password",
    "mq.ssl.truststore.location",
    "mq.ssl.truststore.password",
    "mq.batch.size",
    "mq.message.mqmd.read",
    "mq.jms.properties.copy.to.kafka.headers",
    "mq.max.poll.blocked.time.ms",
    "mq.reconnect.delay.min.ms",
    "mq.reconnect.delay.max.ms",
];

/// Every key of the AMQP source (the runtime adds the common ones).
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .merge(&uri_def())
        .define(ConfigKey::string("amqp.queue").validator(Validator::NonEmpty).importance(Importance::High).group(GROUP)
            .doc("The queue to consume from. It must exist (Sluice does not declare it); a missing queue is retried with backoff and shown in the task status."))
        .define(ConfigKey::string("topic").validator(Validator::NonEmpty).importance(Importance::High).group(GROUP)
            .doc("The Kafka topic the records are written to."))
        .define(ConfigKey::int("amqp.batch.size").default("250").at_least(1.0).importance(Importance::Medium).group(GROUP)
            .doc("The most messages one poll returns. Each batch is acknowledged to RabbitMQ with one basic.ack(multiple=true) once Kafka has acknowledged every record of it and of every earlier batch (batches Kafka finished together share one basic.ack)."))
        .define(ConfigKey::int("amqp.prefetch").default("1000").between(0.0, 65535.0).importance(Importance::Medium).group(GROUP)
            .doc("basic.qos prefetch count: how many unacknowledged messages RabbitMQ hands to this task at once. It bounds what is in flight (read but not yet acknowledged) and so the duplicates after a crash. Keep it a few times amqp.batch.size so several batches can be in flight while Kafka acknowledges earlier ones. 0 means no limit (not recommended: memory is then unbounded)."))
        .define(ConfigKey::long("amqp.poll.wait.ms").default("1000").between(0.0, 60000.0).importance(Importance::Low).group(GROUP)
            .doc("How long a poll waits for the first message when the queue is empty. Once one message arrived the poll takes whatever else is already buffered (up to amqp.batch.size) without waiting."))
        .define(ConfigKey::long("amqp.max.poll.blocked.time.ms").optional().between(0.0, 60000.0).importance(Importance::Low).group(GROUP)
            .doc("Deprecated name of amqp.poll.wait.ms (still read when amqp.poll.wait.ms is not set). It was renamed because IBM's mq.max.poll.blocked.time.ms means something else: how long a poll waits for the previous batch to reach Kafka."))
        .merge(&connection_def())
        .merge(&sluice_record_builders::config_def("amqp.", "AMQP basic properties and application headers", "Record builder"))
        // IBM MQ source keys: amqp-source reads RabbitMQ (AMQP 0-9-1) with amqp.* keys.
        .not_supported_keys(IBM_MQ_SOURCE_KEYS, "a key of IBM's MQ source connector; amqp-source reads RabbitMQ over AMQP 0-9-1 and is configured with amqp.* keys (see docs/amqp-source.md)")
}

/// `amqp.uri`, shared by the AMQP source and sink.
pub(super) fn uri_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::password("amqp.uri").importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_uri))
            .doc("The RabbitMQ server, as an AMQP URI with credentials and virtual host: amqp://user:password@host:5672/vhost (the vhost percent-encoded, %2f for the default `/`; amqps:// for TLS). Connection settings go in the query string: ?heartbeat=10&connection_timeout=10000&frame_max=131072. It holds a secret: use a config provider such as ${env:AMQP_URI} or ${file:/secrets/amqp.properties:uri}; it is masked in REST responses and never logged."))
}

/// The connection keys shared by the AMQP source and sink besides `amqp.uri`:
/// reconnection delays, the connection timeout and the `amqp.ssl.*` TLS keys.
pub(super) fn connection_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::long("amqp.reconnect.delay.min.ms").default("64").at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The first delay before reconnecting after the connection was lost or could not be made; it doubles on each failed attempt up to amqp.reconnect.delay.max.ms."))
        .define(ConfigKey::long("amqp.reconnect.delay.max.ms").default("8192").at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The longest delay between reconnection attempts."))
        .define(ConfigKey::long("amqp.connection.timeout.ms").default("10000").at_least(1.0).importance(Importance::Low).group(GROUP)
            .doc("How long one attempt to connect and open a channel (and, for the source, start consuming) may take before it counts as failed."))
        .define(ConfigKey::string("amqp.ssl.ca.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With amqps://: a PEM file of CA certificates that sign the server's certificate, trusted besides the system's roots (a private CA). The server's name is always checked against the URI's host."))
        .define(ConfigKey::string("amqp.ssl.certificate.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With amqps://: the client's certificate chain (PEM) for servers that ask for one (mutual TLS); needs amqp.ssl.key.location."))
        .define(ConfigKey::string("amqp.ssl.key.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With amqps://: the client's private key (PEM, unencrypted) for amqp.ssl.certificate.location."))
        .define(ConfigKey::string("amqp.ssl.keystore.location").optional().importance(Importance::Low).group(TLS_GROUP)
            .doc("With amqps://: the client's certificate and key as a PKCS12 file, instead of the two PEM files (JKS: convert with keytool -importkeystore ... -deststoretype PKCS12)."))
        .define(ConfigKey::password("amqp.ssl.keystore.password").optional().importance(Importance::Low).group(TLS_GROUP)
            .doc("The password of amqp.ssl.keystore.location (masked in REST responses, never logged)."))
}

fn check_uri(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::Password(s) | TypedValue::String(s) => parse_uri(s).map(|_| ()),
        _ => Ok(()),
    }
}

/// Parses the URI; the error never repeats the URI (it may hold a password).
fn parse_uri(s: &str) -> Result<AMQPUri, String> {
    let s = s.trim();
    AMQPUri::from_str(s).map_err(|e| format!("not a valid AMQP URI: {}", e.replace(s, "[hidden]")))
}

/// The parsed settings of one AMQP source task.
#[derive(Clone)]
pub struct AmqpSourceConfig {
    pub uri: AMQPUri,
    /// The URI as written (for the connection; holds the secret).
    pub uri_text: String,
    pub queue: String,
    pub topic: String,
    pub batch_size: usize,
    pub prefetch: u16,
    pub max_poll_blocked: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub connection_timeout: Duration,
    pub builder: BuilderConfig,
    /// The CA and client identity for amqps:// (file contents, read at parse time).
    pub tls: OwnedTLSConfig,
}

impl std::fmt::Debug for AmqpSourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpSourceConfig")
            .field("server", &self.server())
            .field("queue", &self.queue)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl AmqpSourceConfig {
    pub fn from_parsed(p: &ParsedConfig) -> Result<Self, ConfigErrors> {
        let uri_text = p.str("amqp.uri").trim().to_string();
        let uri = AMQPUri::from_str(&uri_text).map_err(|e| {
            ConfigErrors(vec![ConfigIssue::new(
                "amqp.uri",
                format!("not a valid AMQP URI: {}", e),
            )])
        })?;
        let min = millis(p.long("amqp.reconnect.delay.min.ms"));
        let max = millis(p.long("amqp.reconnect.delay.max.ms"));
        if max < min {
            return Err(ConfigErrors(vec![ConfigIssue::new(
                "amqp.reconnect.delay.max.ms",
                "must not be less than amqp.reconnect.delay.min.ms",
            )]));
        }
        let tls = tls_config(p, &uri)?;
        Ok(AmqpSourceConfig {
            tls,
            uri,
            uri_text,
            queue: p.str("amqp.queue"),
            topic: p.str("topic"),
            batch_size: p.int("amqp.batch.size") as usize,
            prefetch: p.int("amqp.prefetch") as u16,
            max_poll_blocked: millis(poll_wait_ms(p)),
            reconnect_min: min.max(Duration::from_millis(1)),
            reconnect_max: max.max(Duration::from_millis(1)),
            connection_timeout: millis(p.long("amqp.connection.timeout.ms")),
            builder: BuilderConfig::from_parsed(p, "amqp.")?,
        })
    }

    /// `host:port/vhost`, without credentials: safe for logs and status.
    pub fn server(&self) -> String {
        format!(
            "{}:{}/{}",
            self.uri.authority.host, self.uri.authority.port, self.uri.vhost
        )
    }

    /// The source partition's name: `<vhost>/<queue>`.
    pub fn source_name(&self) -> String {
        format!("{}/{}", self.uri.vhost, self.queue)
    }
}

/// `amqp.poll.wait.ms`, or its deprecated name `amqp.max.poll.blocked.time.ms` (with a
/// warning) when only that one is set.
fn poll_wait_ms(p: &ParsedConfig) -> i64 {
    let raw = p.raw();
    if !raw.contains_key("amqp.poll.wait.ms") {
        if let Some(ms) = p.opt_long("amqp.max.poll.blocked.time.ms") {
            tracing::warn!("amqp.max.poll.blocked.time.ms is deprecated (IBM's mq.max.poll.blocked.time.ms means something else): write amqp.poll.wait.ms");
            return ms;
        }
    }
    p.long("amqp.poll.wait.ms")
}

/// The `amqp.ssl.*` keys as lapin's TLS settings, with the files read now so that a
/// missing or unreadable file is a config error naming its key.
pub(super) fn tls_config(p: &ParsedConfig, uri: &AMQPUri) -> Result<OwnedTLSConfig, ConfigErrors> {
    use crate::tls;
    let path = |k: &str| {
        p.string(k)
            .filter(|s| !s.trim().is_empty())
            .map(PathBuf::from)
    };
    let ca = path("amqp.ssl.ca.location");
    let cert = path("amqp.ssl.certificate.location");
    let key = path("amqp.ssl.key.location");
    let keystore = path("amqp.ssl.keystore.location");
    let mut issues = Vec::new();
    let any = ca.is_some() || cert.is_some() || key.is_some() || keystore.is_some();
    if any && uri.scheme != AMQPScheme::AMQPS {
        issues.push(ConfigIssue::new(
            "amqp.uri",
            "the amqp.ssl.* keys are set but the URI is not amqps://: use amqps://host:5671/... for TLS",
        ));
    }
    let mut out = OwnedTLSConfig::default();
    if let Some(ca) = &ca {
        match tls::read_certs(ca, "amqp.ssl.ca.location") {
            Ok(_) => out.cert_chain = std::fs::read_to_string(ca).ok(),
            Err(e) => issues.push(issue_of(e)),
        }
    }
    match (&cert, &key, &keystore) {
        (Some(_), Some(_), Some(_)) => issues.push(ConfigIssue::new(
            "amqp.ssl.keystore.location",
            "set either amqp.ssl.keystore.location or amqp.ssl.certificate.location with amqp.ssl.key.location, not both",
        )),
        (Some(c), Some(k), None) => {
            let checked = tls::read_certs(c, "amqp.ssl.certificate.location")
                .and_then(|_| tls::read_key(k, "amqp.ssl.key.location"));
            match checked {
                Ok(_) => {
                    out.identity = Some(OwnedIdentity::PKCS8 {
                        pem: std::fs::read(c).unwrap_or_default(),
                        key: std::fs::read(k).unwrap_or_default(),
                    })
                }
                Err(e) => issues.push(issue_of(e)),
            }
        }
        (Some(_), None, _) => issues.push(ConfigIssue::new(
            "amqp.ssl.key.location",
            "is required with amqp.ssl.certificate.location",
        )),
        (None, Some(_), _) => issues.push(ConfigIssue::new(
            "amqp.ssl.certificate.location",
            "is required with amqp.ssl.key.location",
        )),
        (None, None, Some(ks)) => {
            let password = p.string("amqp.ssl.keystore.password").unwrap_or_default();
            match tls::read_pkcs12(ks, &password, "amqp.ssl.keystore.location") {
                Ok(_) => {
                    out.identity = Some(OwnedIdentity::PKCS12 {
                        der: std::fs::read(ks).unwrap_or_default(),
                        password,
                    })
                }
                Err(e) => issues.push(issue_of(e)),
            }
        }
        (None, None, None) => {}
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(ConfigErrors(issues))
    }
}

/// A `key: message` error of `crate::tls` as a config issue.
fn issue_of(e: String) -> ConfigIssue {
    match e.split_once(": ") {
        Some((k, m)) => ConfigIssue::new(k, m),
        None => ConfigIssue::new("amqp.uri", e),
    }
}

/// The cross-key checks of [`AmqpSourceConfig::from_parsed`] (TLS files, key pairs, ...) at
/// validation time, for a config whose keys parse.
pub fn validate_raw(raw: &sluice_runtime::config::RawConfig) -> Vec<ConfigIssue> {
    crate::cross_checks::cross_key_issues(&config_def(), raw, AmqpSourceConfig::from_parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::config::RawConfig;

    fn parse(pairs: &[(&str, &str)]) -> Result<AmqpSourceConfig, String> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = config_def().parse(&raw).map_err(|e| format!("{:?}", e))?;
        AmqpSourceConfig::from_parsed(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_names() {
        let c = parse(&[
            ("amqp.uri", "amqp://u:secret@rabbit:5673/%2f"),
            ("amqp.queue", "orders"),
            ("topic", "orders"),
        ])
        .unwrap();
        assert_eq!(c.batch_size, 250);
        assert_eq!(c.prefetch, 1000);
        assert_eq!(c.max_poll_blocked, Duration::from_millis(1000));
        let old_name = parse(&[
            ("amqp.uri", "amqp://u:secret@rabbit:5673/%2f"),
            ("amqp.queue", "orders"),
            ("topic", "orders"),
            ("amqp.max.poll.blocked.time.ms", "250"),
        ])
        .unwrap();
        assert_eq!(old_name.max_poll_blocked, Duration::from_millis(250));
        assert_eq!(c.reconnect_min, Duration::from_millis(64));
        assert_eq!(c.reconnect_max, Duration::from_millis(8192));
        assert_eq!(c.source_name(), "//orders");
        assert_eq!(c.server(), "rabbit:5673//");
        assert!(!format!("{:?}", c).contains("secret"));
    }

    #[test]
    fn every_problem_is_reported() {
        let err = parse(&[
            ("amqp.uri", "http://x"),
            ("amqp.batch.size", "0"),
            ("amqp.prefetch", "70000"),
        ])
        .unwrap_err();
        for key in [
            "amqp.uri",
            "amqp.queue",
            "topic",
            "amqp.batch.size",
            "amqp.prefetch",
        ] {
            assert!(err.contains(key), "{} missing in {}", key, err);
        }
    }

    #[test]
    fn every_key_is_documented() {
        for k in config_def().keys() {
            assert!(!k.doc.is_empty(), "{} has no doc", k.name);
        }
    }
}
