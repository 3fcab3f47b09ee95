//! What the user writes: the `mqtt-source` keys, parsed once into [`MqttSourceConfig`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::client::Version;
use sluice_record_builders::key::KeySource;
use sluice_record_builders::BuilderConfig;
use sluice_runtime::config::{
    millis, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig, TypedValue,
    Validator,
};

const GROUP: &str = "MQTT";
const TLS_GROUP: &str = "MQTT TLS";

/// Every key of the MQTT source (the runtime adds the common ones).
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::string("mqtt.server.uri").importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_uri))
            .doc("The MQTT broker: tcp://host:1883 (or mqtt://), ssl://host:8883 (or mqtts://) for TLS, checked against the system's root certificates or mqtt.ssl.ca.location."))
        .define(ConfigKey::list("mqtt.topics").importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_topics))
            .doc("Comma-separated MQTT topic filters to subscribe to; the wildcards + (one level) and # (all remaining levels) are allowed."))
        .define(ConfigKey::string("topic").validator(Validator::NonEmpty).importance(Importance::High).group(GROUP)
            .doc("The Kafka topic the records are written to."))
        .define(ConfigKey::int("mqtt.qos").default("1").between(0.0, 2.0).importance(Importance::High).group(GROUP)
            .doc("The subscription QoS. 1 and 2: each message is acknowledged to the broker (PUBACK, or PUBREC for QoS 2) only after Kafka acknowledged it and every message before it, so none is lost across crashes and restarts (with mqtt.clean.session=false). 0: the broker sends each message once and forgets it; messages in flight when the worker stops are lost."))
        .define(ConfigKey::string("mqtt.client.id").optional().importance(Importance::High).group(GROUP)
            .doc("The MQTT client id. The broker keeps a persistent session (subscriptions and unacknowledged or queued QoS 1/2 messages) under this id, so it must stay the same across restarts and be unique on the broker. Default: sluice-<connector name>."))
        .define(ConfigKey::string("mqtt.version").default("3.1.1").importance(Importance::Medium).group(GROUP)
            .validator(Validator::Custom(check_version))
            .doc("The MQTT protocol version: 3.1.1 or 5. With 5, message properties travel too: user properties, content type, response topic, correlation data and message expiry (see the docs for their Kafka headers), and refusals carry the broker's reason code into the task status."))
        .define(ConfigKey::long("mqtt.session.expiry.interval").optional().between(0.0, 4294967295.0).importance(Importance::Low).group(GROUP)
            .doc("MQTT 5: how long, in seconds, the broker keeps the session (subscriptions, unacknowledged and queued QoS 1/2 messages) after the connection ends. Default: 4294967295 (never expires, like an MQTT 3.1.1 persistent session) without a clean session, 0 with mqtt.clean.session=true. Ignored with 3.1.1."))
        .define(ConfigKey::string("mqtt.shared.subscription.group").optional().importance(Importance::Medium).group(GROUP)
            .validator(Validator::Custom(check_share_group))
            .doc("Subscribe as $share/<group>/<filter>: the broker hands each message to one subscriber of the group instead of to all, so the tasks (and any other member of the group) split the messages. Default: the connector name when tasks.max > 1 (each task then uses the client id with -<task number> appended); none with one task. Mosquitto supports shared subscriptions for 3.1.1 and 5 clients."))
        .define(ConfigKey::boolean("mqtt.clean.session").default("false").importance(Importance::Medium).group(GROUP)
            .doc("false (default): a persistent session, so QoS 1/2 messages published while the worker is away, and those read but not yet acknowledged, are delivered when it comes back. true: every connection starts afresh and those messages are lost."))
        .define(ConfigKey::string("mqtt.user.name").optional().importance(Importance::Medium).group(GROUP)
            .doc("User name for the broker, if it requires one."))
        .define(ConfigKey::password("mqtt.password").optional().importance(Importance::Medium).group(GROUP)
            .doc("Password for the broker. Use a config provider (${env:...} or ${file:...}); it is masked in REST responses and never logged."))
        .define(ConfigKey::boolean("mqtt.topic.to.key").default("false").importance(Importance::Medium).group(GROUP)
            .doc("Use the MQTT topic a message was published to as the record key (a string). Same as mqtt.record.builder.key.header=topic; do not set both."))
        .define(ConfigKey::string("mqtt.topic.header.name").optional().importance(Importance::Medium).group(GROUP)
            .doc("If set, the MQTT topic a message was published to is added as a Kafka header with this name."))
        .define(ConfigKey::int("mqtt.batch.size").default("250").at_least(1.0).importance(Importance::Medium).group(GROUP)
            .doc("The most messages one poll returns."))
        .define(ConfigKey::long("mqtt.max.poll.blocked.time.ms").default("1000").between(0.0, 60000.0).importance(Importance::Low).group(GROUP)
            .doc("How long a poll waits for the first message when none is buffered; then it takes whatever else is buffered, up to mqtt.batch.size, without waiting."))
        .define(ConfigKey::int("mqtt.keep.alive.interval").default("60").between(5.0, 65535.0).importance(Importance::Low).group(GROUP)
            .doc("Keep-alive interval in seconds: the client pings the broker at this interval; the broker drops the connection after 1.5 intervals of silence."))
        .define(ConfigKey::int("mqtt.receive.buffer.size").default("1000").between(1.0, 1000000.0).importance(Importance::Low).group(GROUP)
            .doc("How many received messages may wait for the next poll. When it is full the client stops reading from the network (back-pressure). It bounds memory for QoS 0; for QoS 1/2 the broker's own in-flight limit (Mosquitto: max_inflight_messages) bounds unacknowledged messages."))
        .define(ConfigKey::long("mqtt.reconnect.delay.min.ms").default("64").at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The first delay before reconnecting after the connection was lost or refused; doubles on each failed attempt up to mqtt.reconnect.delay.max.ms."))
        .define(ConfigKey::long("mqtt.reconnect.delay.max.ms").default("8192").at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The longest delay between reconnection attempts."))
        .define(ConfigKey::string("mqtt.ssl.ca.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With ssl:// or mqtts://: a PEM file of the CA certificates to trust instead of the system's roots (a private CA). The broker's name is always checked against the URI's host."))
        .define(ConfigKey::string("mqtt.ssl.certificate.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With ssl:// or mqtts://: the client's certificate chain (PEM), for brokers that require client certificates (Mosquitto's require_certificate); needs mqtt.ssl.key.location."))
        .define(ConfigKey::string("mqtt.ssl.key.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With ssl:// or mqtts://: the client's private key (PEM, unencrypted) for mqtt.ssl.certificate.location."))
        .define(ConfigKey::string("mqtt.ssl.keystore.location").optional().importance(Importance::Low).group(TLS_GROUP)
            .doc("With ssl:// or mqtts://: the client's certificate and key as a PKCS12 file, instead of the two PEM files (JKS: convert with keytool -importkeystore ... -deststoretype PKCS12)."))
        .define(ConfigKey::password("mqtt.ssl.keystore.password").optional().importance(Importance::Low).group(TLS_GROUP)
            .doc("The password of mqtt.ssl.keystore.location (masked in REST responses, never logged)."))
        .merge(&sluice_record_builders::config_def("mqtt.", "MQTT message properties (topic, qos, retain, dup)", "Record builder"))
}

fn check_uri(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => ServerUri::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_version(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => Version::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

fn check_share_group(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) if s.is_empty() || s.contains(['/', '+', '#']) => Err(format!(
            "{:?} is not a share name: it must not be empty or contain /, + or #",
            s
        )),
        _ => Ok(()),
    }
}

fn check_topics(v: &TypedValue) -> Result<(), String> {
    if let TypedValue::List(items) = v {
        if items.is_empty() {
            return Err("at least one topic filter is required".into());
        }
        for t in items {
            if !rumqttc::valid_filter(t) {
                return Err(format!("{} is not a valid MQTT topic filter", t));
            }
        }
    }
    Ok(())
}

/// `scheme://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUri {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl ServerUri {
    pub fn parse(s: &str) -> Result<ServerUri, String> {
        let s = s.trim();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("{} is not an MQTT URI like tcp://host:1883", s))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "tcp" | "mqtt" => false,
            "ssl" | "mqtts" | "tls" => true,
            other => {
                return Err(format!(
                    "unknown scheme {}; use tcp://, mqtt://, ssl:// or mqtts://",
                    other
                ))
            }
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (
                h.to_string(),
                p.parse::<u16>()
                    .map_err(|_| format!("invalid port {}", p))?,
            ),
            _ => (rest.to_string(), if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(format!("invalid host in {}", s));
        }
        Ok(ServerUri { host, port, tls })
    }
}

/// The parsed settings of the MQTT source task.
#[derive(Debug, Clone)]
pub struct MqttSourceConfig {
    pub server: ServerUri,
    pub topics: Vec<String>,
    pub kafka_topic: String,
    pub qos: u8,
    pub version: Version,
    /// MQTT 5 session expiry in seconds (see [`session_expiry`]).
    pub session_expiry: Option<u32>,
    pub shared_group: Option<String>,
    pub client_id: Option<String>,
    pub clean_session: bool,
    pub credentials: Option<(String, String)>,
    pub topic_header: Option<String>,
    pub batch_size: usize,
    pub max_poll_blocked: Duration,
    pub keep_alive: Duration,
    pub receive_buffer: usize,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    pub builder: BuilderConfig,
    /// The TLS client config for ssl:// and mqtts:// (files read at parse time).
    pub tls: Option<TlsClient>,
}

/// A rustls client config, shown without its contents.
#[derive(Clone)]
pub struct TlsClient(pub Arc<rustls::ClientConfig>);

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient")
    }
}

/// The `mqtt.ssl.*` keys read into a TLS client config (for a TLS URI), every problem
/// named by its key.
pub(crate) fn tls_client(
    p: &ParsedConfig,
    tls: bool,
    issues: &mut Vec<ConfigIssue>,
) -> Option<TlsClient> {
    use crate::tls::{Identity, TlsSettings, Verify};
    let path = |k: &str| {
        p.string(k)
            .filter(|s| !s.trim().is_empty())
            .map(PathBuf::from)
    };
    let ca = path("mqtt.ssl.ca.location");
    let cert = path("mqtt.ssl.certificate.location");
    let key = path("mqtt.ssl.key.location");
    let keystore = path("mqtt.ssl.keystore.location");
    if !tls {
        if ca.is_some() || cert.is_some() || key.is_some() || keystore.is_some() {
            issues.push(ConfigIssue::new(
                "mqtt.server.uri",
                "the mqtt.ssl.* keys are set but the URI is not ssl:// or mqtts://",
            ));
        }
        return None;
    }
    let identity = match (cert, key, keystore) {
        (Some(_), Some(_), Some(_)) => {
            issues.push(ConfigIssue::new(
                "mqtt.ssl.keystore.location",
                "set either mqtt.ssl.keystore.location or mqtt.ssl.certificate.location with mqtt.ssl.key.location, not both",
            ));
            return None;
        }
        (Some(cert), Some(key), None) => Some(Identity::Pem { cert, key }),
        (Some(_), None, _) => {
            issues.push(ConfigIssue::new(
                "mqtt.ssl.key.location",
                "is required with mqtt.ssl.certificate.location",
            ));
            return None;
        }
        (None, Some(_), _) => {
            issues.push(ConfigIssue::new(
                "mqtt.ssl.certificate.location",
                "is required with mqtt.ssl.key.location",
            ));
            return None;
        }
        (None, None, Some(path)) => Some(Identity::Pkcs12 {
            path,
            password: p.string("mqtt.ssl.keystore.password").unwrap_or_default(),
        }),
        (None, None, None) => None,
    };
    let identity_key = match &identity {
        Some(Identity::Pkcs12 { .. }) => "mqtt.ssl.keystore.location",
        _ => "mqtt.ssl.certificate.location",
    };
    let settings = TlsSettings {
        ca,
        identity,
        verify: Verify::Full,
    };
    match settings.client_config("mqtt.ssl.ca.location", identity_key) {
        Ok(c) => Some(TlsClient(Arc::new(c))),
        Err(e) => {
            let (k, m) = e.split_once(": ").unwrap_or(("mqtt.server.uri", &e));
            issues.push(ConfigIssue::new(k, m));
            None
        }
    }
}

impl MqttSourceConfig {
    pub fn from_parsed(p: &ParsedConfig) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let server = ServerUri::parse(&p.str("mqtt.server.uri"))
            .map_err(|e| issues.push(ConfigIssue::new("mqtt.server.uri", e)))
            .ok();
        let mut builder = BuilderConfig::from_parsed(p, "mqtt.")?;
        if p.boolean("mqtt.topic.to.key") {
            if builder.key.is_some() {
                issues.push(ConfigIssue::new(
                    "mqtt.topic.to.key",
                    "set either mqtt.topic.to.key or mqtt.record.builder.key.header, not both",
                ));
            }
            builder.key = Some(KeySource::Named("topic".into()));
        }
        let min = millis(p.long("mqtt.reconnect.delay.min.ms"));
        let max = millis(p.long("mqtt.reconnect.delay.max.ms"));
        if max < min {
            issues.push(ConfigIssue::new(
                "mqtt.reconnect.delay.max.ms",
                "must not be less than mqtt.reconnect.delay.min.ms",
            ));
        }
        let tls = tls_client(p, server.as_ref().is_some_and(|s| s.tls), &mut issues);
        let user = p.string("mqtt.user.name").filter(|u| !u.is_empty());
        let password = p.string("mqtt.password");
        if password.is_some() && user.is_none() {
            issues.push(ConfigIssue::new("mqtt.password", "needs mqtt.user.name"));
        }
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        Ok(MqttSourceConfig {
            server: server.expect("checked"),
            topics: p.list("mqtt.topics"),
            kafka_topic: p.str("topic"),
            qos: p.int("mqtt.qos") as u8,
            version: version(p),
            session_expiry: session_expiry(p, p.boolean("mqtt.clean.session")),
            shared_group: p.string("mqtt.shared.subscription.group"),
            client_id: p.string("mqtt.client.id").filter(|c| !c.trim().is_empty()),
            clean_session: p.boolean("mqtt.clean.session"),
            credentials: user.map(|u| (u, password.unwrap_or_default())),
            topic_header: p.string("mqtt.topic.header.name").filter(|h| !h.is_empty()),
            batch_size: p.int("mqtt.batch.size") as usize,
            max_poll_blocked: millis(p.long("mqtt.max.poll.blocked.time.ms")),
            keep_alive: Duration::from_secs(p.int("mqtt.keep.alive.interval") as u64),
            receive_buffer: p.int("mqtt.receive.buffer.size") as usize,
            reconnect_min: min.max(Duration::from_millis(1)),
            reconnect_max: max.max(Duration::from_millis(1)),
            builder,
            tls,
        })
    }
}

/// `mqtt.version` (checked by its validator).
pub(crate) fn version(p: &ParsedConfig) -> Version {
    Version::parse(&p.str("mqtt.version")).unwrap_or(Version::V311)
}

/// `mqtt.session.expiry.interval`, or its default: never for a persistent session, 0
/// for a clean one.
pub(crate) fn session_expiry(p: &ParsedConfig, clean: bool) -> Option<u32> {
    let default = if clean { 0 } else { u32::MAX };
    Some(
        p.opt_long("mqtt.session.expiry.interval")
            .map(|s| s.clamp(0, u32::MAX as i64) as u32)
            .unwrap_or(default),
    )
}

impl MqttSourceConfig {
    /// The filters to subscribe to: shared (`$share/<group>/<filter>`) when a group is
    /// set or, with several tasks, under the connector's name.
    pub fn filters(&self, connector: &str, tasks: usize) -> Vec<String> {
        let group = self
            .shared_group
            .clone()
            .or_else(|| (tasks > 1).then(|| connector.replace(['/', '+', '#'], "_")));
        self.topics
            .iter()
            .map(|t| match &group {
                Some(g) => format!("$share/{}/{}", g, t),
                None => t.clone(),
            })
            .collect()
    }

    /// The client id of task `task` of `tasks`.
    pub fn client_id_of(&self, connector: &str, task: u32, tasks: usize) -> String {
        let base = self
            .client_id
            .clone()
            .unwrap_or_else(|| format!("sluice-{}", connector));
        if tasks > 1 {
            format!("{}-{}", base, task)
        } else {
            base
        }
    }
}

/// The cross-key checks of [`MqttSourceConfig::from_parsed`] (TLS files, key pairs, ...) at
/// validation time, for a config whose keys parse.
pub fn validate_raw(raw: &sluice_runtime::config::RawConfig) -> Vec<ConfigIssue> {
    crate::cross_checks::cross_key_issues(&config_def(), raw, MqttSourceConfig::from_parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::config::RawConfig;

    fn parse(pairs: &[(&str, &str)]) -> Result<MqttSourceConfig, String> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = config_def().parse(&raw).map_err(|e| format!("{:?}", e))?;
        MqttSourceConfig::from_parsed(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn uris() {
        assert_eq!(
            ServerUri::parse("tcp://127.0.0.1:1883").unwrap(),
            ServerUri {
                host: "127.0.0.1".into(),
                port: 1883,
                tls: false
            }
        );
        assert_eq!(ServerUri::parse("ssl://broker").unwrap().port, 8883);
        assert!(ServerUri::parse("http://x:1").is_err());
        assert!(ServerUri::parse("localhost:1883").is_err());
    }

    #[test]
    fn defaults_and_checks() {
        let c = parse(&[
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topics", "sensors/+/temp, alarms/#"),
            ("topic", "k"),
            ("mqtt.topic.to.key", "true"),
        ])
        .unwrap();
        assert_eq!(c.qos, 1);
        assert!(!c.clean_session);
        assert_eq!(c.topics, vec!["sensors/+/temp", "alarms/#"]);
        assert_eq!(c.builder.key, Some(KeySource::Named("topic".into())));
        let err = parse(&[
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topics", "a/#/b"),
            ("topic", "k"),
            ("mqtt.qos", "3"),
        ])
        .unwrap_err();
        assert!(
            err.contains("mqtt.topics") && err.contains("mqtt.qos"),
            "{}",
            err
        );
        let err = parse(&[
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topics", "a"),
            ("topic", "k"),
            ("mqtt.topic.to.key", "true"),
            ("mqtt.record.builder.key.header", "qos"),
            ("mqtt.password", "p"),
        ])
        .unwrap_err();
        assert!(
            err.contains("not both") && err.contains("needs mqtt.user.name"),
            "{}",
            err
        );
    }

    #[test]
    fn every_key_is_documented() {
        for k in config_def().keys() {
            assert!(!k.doc.is_empty(), "{} has no doc", k.name);
        }
    }
}
