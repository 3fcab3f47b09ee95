//! What the user writes: the `mqtt-sink` keys, parsed once into [`MqttSinkConfig`]. The
//! connection keys (URI, credentials, keep-alive, reconnect delays, TLS) are the MQTT
//! source's, with the same docs and checks.

use std::time::Duration;

use sluice_runtime::config::{
    millis, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig, RawConfig,
    TypedValue, Validator,
};

use super::topic_template::TopicTemplate;
use crate::mqtt::client::Version;
use crate::mqtt::config::{self as source_config, ServerUri, TlsClient};

const GROUP: &str = "MQTT";

/// The source's keys the sink shares (connection and TLS).
const SHARED_KEYS: &[&str] = &[
    "mqtt.server.uri",
    "mqtt.version",
    "mqtt.session.expiry.interval",
    "mqtt.user.name",
    "mqtt.password",
    "mqtt.keep.alive.interval",
    "mqtt.reconnect.delay.min.ms",
    "mqtt.reconnect.delay.max.ms",
    "mqtt.ssl.ca.location",
    "mqtt.ssl.certificate.location",
    "mqtt.ssl.key.location",
    "mqtt.ssl.keystore.location",
    "mqtt.ssl.keystore.password",
];

/// Every key of the MQTT sink (the runtime adds the common ones and `topics`).
pub fn sink_config_def() -> ConfigDef {
    let source = source_config::config_def();
    let mut def = ConfigDef::new()
        .define(ConfigKey::string("mqtt.topic").importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_template))
            .doc("The MQTT topic each record is published to: a fixed topic (sensors/out) or a template with ${topic} (the record's Kafka topic) and ${key} (the record key as text), e.g. devices/${key}/state. A record whose key is null while the template uses ${key}, or whose topic would be empty or contain + or #, is a record error (errors.tolerance and the dead letter queue apply)."))
        .define(ConfigKey::int("mqtt.qos").default("1").between(0.0, 2.0).importance(Importance::High).group(GROUP)
            .doc("The QoS of the published messages. 1: a record's offset is committed only after the broker's PUBACK for it and every record before it. 2: only after PUBCOMP (the broker delivers each message once). 0: after the PUBLISH was written to the socket; the broker does not acknowledge it, so a message in flight when the connection drops is lost."))
        .define(ConfigKey::boolean("mqtt.retain").default("false").importance(Importance::Medium).group(GROUP)
            .doc("Publish with the retain flag: the broker keeps the last message of each topic and hands it to new subscribers. A record with a null value then publishes an empty payload, which clears the retained message."))
        .define(ConfigKey::string("mqtt.client.id").optional().importance(Importance::High).group(GROUP)
            .doc("The MQTT client id. The broker keeps a persistent session under it (unacknowledged QoS 1/2 messages survive a reconnect), so it must be stable and unique on the broker; with tasks.max > 1 each task appends -<task number>. Default: sluice-<connector name>-sink-<task number>."))
        .define(ConfigKey::int("mqtt.max.in.flight").default("20").between(1.0, 65535.0).importance(Importance::Medium).group(GROUP)
            .doc("The most messages published and not yet acknowledged by the broker, and the most records the task holds that are not yet delivered; put waits while the window is full. With QoS 2 keep it at or below the broker's limit on incoming QoS 2 messages in flight (Mosquitto: max_inflight_messages, default 20): MQTT 3.1.1 cannot tell the client that limit, and Mosquitto drops QoS 2 messages beyond it while still completing their handshake. QoS 1 may use a larger window."))
        .define(ConfigKey::long("mqtt.delivery.timeout.ms").default("60000").at_least(1000.0).importance(Importance::Low).group(GROUP)
            .doc("How long put (window full) and flush wait for the broker's acknowledgements before reporting a retriable error; the runtime retries, commits nothing for the records not acknowledged, and shows the error in the task status. With errors.retry.timeout=0 (the default) such an error fails the task; set errors.retry.timeout (-1: forever) to ride through a broker outage longer than this."))
        .define(ConfigKey::long("mqtt.message.expiry.interval").optional().between(1.0, 4294967295.0).importance(Importance::Low).group(GROUP)
            .doc("MQTT 5: the message expiry interval, in seconds, of every message (the broker drops a message not delivered within it). A record header mqtt.message_expiry_interval overrides it per message. Ignored with 3.1.1."))
        .define(ConfigKey::string("mqtt.content.type").optional().importance(Importance::Low).group(GROUP)
            .doc("MQTT 5: the content type of every message (e.g. application/json). A record header mqtt.content_type overrides it per message. Ignored with 3.1.1."));
    for k in SHARED_KEYS {
        def = def.define(source.key(k).expect("a key of the MQTT source").clone());
    }
    def
}

fn check_template(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::String(s) => TopicTemplate::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

/// The parsed settings of an MQTT sink task.
#[derive(Debug, Clone)]
pub struct MqttSinkConfig {
    pub server: ServerUri,
    pub topic: TopicTemplate,
    pub qos: u8,
    pub retain: bool,
    pub version: Version,
    /// MQTT 5 session expiry in seconds (never, by default: a persistent session).
    pub session_expiry: Option<u32>,
    /// MQTT 5 message expiry in seconds, for every message.
    pub message_expiry: Option<u32>,
    /// MQTT 5 content type, for every message.
    pub content_type: Option<String>,
    pub client_id: Option<String>,
    pub credentials: Option<(String, String)>,
    pub max_in_flight: u16,
    pub delivery_timeout: Duration,
    pub keep_alive: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// The TLS client config for ssl:// and mqtts:// (files read at parse time).
    pub tls: Option<TlsClient>,
}

impl MqttSinkConfig {
    /// Reads the typed config, listing every cross-key problem.
    pub fn from_parsed(p: &ParsedConfig) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let server = ServerUri::parse(&p.str("mqtt.server.uri"))
            .map_err(|e| issues.push(ConfigIssue::new("mqtt.server.uri", e)))
            .ok();
        let topic = TopicTemplate::parse(&p.str("mqtt.topic"))
            .map_err(|e| issues.push(ConfigIssue::new("mqtt.topic", e)))
            .ok();
        let min = millis(p.long("mqtt.reconnect.delay.min.ms"));
        let max = millis(p.long("mqtt.reconnect.delay.max.ms"));
        if max < min {
            issues.push(ConfigIssue::new(
                "mqtt.reconnect.delay.max.ms",
                "must not be less than mqtt.reconnect.delay.min.ms",
            ));
        }
        let tls = source_config::tls_client(p, server.as_ref().is_some_and(|s| s.tls), &mut issues);
        let user = p.string("mqtt.user.name").filter(|u| !u.is_empty());
        let password = p.string("mqtt.password");
        if password.is_some() && user.is_none() {
            issues.push(ConfigIssue::new("mqtt.password", "needs mqtt.user.name"));
        }
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        Ok(MqttSinkConfig {
            server: server.expect("checked"),
            topic: topic.expect("checked"),
            qos: p.int("mqtt.qos") as u8,
            retain: p.boolean("mqtt.retain"),
            version: source_config::version(p),
            session_expiry: source_config::session_expiry(p, false),
            message_expiry: p
                .opt_long("mqtt.message.expiry.interval")
                .map(|s| s.clamp(1, u32::MAX as i64) as u32),
            content_type: p.string("mqtt.content.type").filter(|c| !c.is_empty()),
            client_id: p.string("mqtt.client.id").filter(|c| !c.trim().is_empty()),
            credentials: user.map(|u| (u, password.unwrap_or_default())),
            max_in_flight: p.int("mqtt.max.in.flight") as u16,
            delivery_timeout: millis(p.long("mqtt.delivery.timeout.ms")),
            keep_alive: Duration::from_secs(p.int("mqtt.keep.alive.interval") as u64),
            reconnect_min: min.max(Duration::from_millis(1)),
            reconnect_max: max.max(Duration::from_millis(1)),
            tls,
        })
    }

    /// The client id of task `task` of connector `connector`: stable across restarts.
    pub fn client_id(&self, connector: &str, task: u32, tasks: usize) -> String {
        match &self.client_id {
            Some(id) if tasks > 1 => format!("{}-{}", id, task),
            Some(id) => id.clone(),
            None => format!("sluice-{}-sink-{}", connector, task),
        }
    }
}

/// The cross-key checks of [`MqttSinkConfig::from_parsed`] at validation time, for a
/// config whose keys parse.
pub fn validate_raw(raw: &RawConfig) -> Vec<ConfigIssue> {
    crate::cross_checks::cross_key_issues(&sink_config_def(), raw, MqttSinkConfig::from_parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<MqttSinkConfig, String> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = sink_config_def()
            .parse(&raw)
            .map_err(|e| format!("{:?}", e))?;
        MqttSinkConfig::from_parsed(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_checks() {
        let c = parse(&[
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topic", "out/${topic}/${key}"),
        ])
        .unwrap();
        assert_eq!(c.qos, 1);
        assert!(!c.retain);
        assert_eq!(c.max_in_flight, 20);
        assert_eq!(c.client_id("orders", 0, 1), "sluice-orders-sink-0");
        let err = parse(&[
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topic", "a/#"),
            ("mqtt.qos", "3"),
        ])
        .unwrap_err();
        assert!(
            err.contains("mqtt.topic") && err.contains("mqtt.qos"),
            "{}",
            err
        );
        let err = parse(&[
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topic", "x"),
            ("mqtt.password", "p"),
            ("mqtt.ssl.ca.location", "/nonexistent.pem"),
        ])
        .unwrap_err();
        assert!(
            err.contains("needs mqtt.user.name") && err.contains("not ssl://"),
            "{}",
            err
        );
    }

    #[test]
    fn client_ids_are_stable_and_per_task() {
        let mut c = parse(&[
            ("mqtt.server.uri", "tcp://localhost:1883"),
            ("mqtt.topic", "x"),
            ("mqtt.client.id", "bridge"),
        ])
        .unwrap();
        assert_eq!(c.client_id("n", 0, 1), "bridge");
        assert_eq!(c.client_id("n", 2, 3), "bridge-2");
        c.client_id = None;
        assert_eq!(c.client_id("n", 2, 3), "sluice-n-sink-2");
    }

    #[test]
    fn every_key_is_documented() {
        for k in sink_config_def().keys() {
            assert!(!k.doc.is_empty(), "{} has no doc", k.name);
        }
    }
}
