//! The worker config: Connect's worker keys plus Sluice's own (`connectors.dir`,
//! automatic task restarts), and the Kafka client settings every client of the worker
//! gets (`bootstrap.servers`, the top-level security keys, then `producer.*`,
//! `consumer.*`, `admin.*`).

use std::path::PathBuf;
use std::time::Duration;

use super::providers::ConfigProviders;
use super::{
    millis, sub_config, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, RawConfig,
};
use crate::kafka::security::{is_security_key, security_settings};

pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// The declared worker keys (standalone and distributed).
pub fn worker_config_def() -> ConfigDef {
    standalone_keys()
        .merge(&crate::distributed::distributed_config_def())
        .merge(&crate::kafka::security::security_config_def())
}

fn standalone_keys() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::list("bootstrap.servers").default("localhost:9092").importance(Importance::High)
            .doc("Kafka brokers to connect to, host:port, comma-separated."))
        .define(ConfigKey::class("key.converter").default(JSON_CONVERTER).importance(Importance::High)
            .doc("Converter for record keys, unless a connector sets its own. Sub-keys go under key.converter.*"))
        .define(ConfigKey::class("value.converter").default(JSON_CONVERTER).importance(Importance::High)
            .doc("Converter for record values, unless a connector sets its own. Sub-keys go under value.converter.*"))
        .define(ConfigKey::class("header.converter").default(SIMPLE_HEADER_CONVERTER).importance(Importance::Low)
            .doc("Converter for header values."))
        .define(ConfigKey::string("offset.storage.file.filename").optional().importance(Importance::High)
            .doc("Standalone: the file that stores source offsets (JSON, written atomically)."))
        .define(ConfigKey::string("offset.storage.file.format").default("auto").one_of(&["auto", "json", "connect"])
            .doc("Standalone: how the offsets file is written. auto: as the file already is (a file Kafka Connect's standalone worker wrote stays in Connect's format, so Connect can take it back), JSON for a new file. json: Sluice's readable JSON. connect: Kafka Connect's format (Java serialization)."))
        .define(ConfigKey::string("offset.storage.topic").optional()
            .doc("Kafka topic that stores source offsets. Standalone uses the file store unless this is set; distributed mode defaults it to connect-offsets."))
        .define(ConfigKey::int("offset.storage.partitions").default("25").at_least(1.0)
            .doc("Partitions of the offsets topic when Sluice creates it."))
        .define(ConfigKey::int("offset.storage.replication.factor").default("3")
            .doc("Replication factor of the offsets topic when Sluice creates it (-1 = the broker's default.replication.factor). More than the cluster's brokers is an error at start-up."))
        .define(ConfigKey::long("offset.flush.interval.ms").default("60000").at_least(1.0)
            .doc("How often source offsets are written and source tasks committed."))
        .define(ConfigKey::long("offset.flush.timeout.ms").default("5000").at_least(0.0)
            .doc("Accepted for compatibility with Connect. Sluice never waits at flush time: offsets advance as Kafka acknowledges records, and each flush writes what is acknowledged."))
        .define(ConfigKey::long("task.shutdown.graceful.timeout.ms").default("5000").at_least(0.0)
            .doc("How long a stopping task may take to deliver what is in flight and commit."))
        .define(ConfigKey::list("listeners").default("http://127.0.0.1:8083")
            .doc("REST API listeners. Use http://0.0.0.0:8083 to listen on all interfaces."))
        .define(ConfigKey::string("rest.auth.type").default("none").one_of(&["none", "basic", "bearer"])
            .doc("Authentication for the REST API (Sluice): none, basic (HTTP Basic) or bearer (tokens). When on, every endpoint but /health needs it."))
        .define(ConfigKey::list("rest.auth.basic.users").optional()
            .doc("With rest.auth.type=basic: user:password pairs, comma-separated (config providers work, e.g. admin:${env:SLUICE_ADMIN_PASSWORD})."))
        .define(ConfigKey::list("rest.auth.bearer.tokens").optional()
            .doc("With rest.auth.type=bearer: the accepted tokens, comma-separated (config providers work)."))
        .define(ConfigKey::string("listeners.https.ssl.certificate.location").optional()
            .doc("For an https:// listener: a PEM file with the server certificate chain."))
        .define(ConfigKey::string("listeners.https.ssl.key.location").optional()
            .doc("For an https:// listener: a PEM file with the server's private key."))
        .define(ConfigKey::string("rest.advertised.host.name").optional()
            .doc("Host name other workers and the status API use for this worker."))
        .define(ConfigKey::int("rest.advertised.port").optional()
            .doc("Port other workers and the status API use for this worker."))
        .define(ConfigKey::string("config.storage.file.filename").optional()
            .doc("Standalone: the file that keeps connectors created through the REST API and target states set through it. Default: connectors.json beside offset.storage.file.filename (or in the working directory)."))
        .define(ConfigKey::string("connectors.dir").optional()
            .doc("A folder of connector configs (YAML, properties, JSON) the worker watches: adding a file starts a connector, changing it reconfigures it, deleting it removes it."))
        .define(ConfigKey::long("connectors.dir.poll.interval.ms").default("1000").at_least(50.0)
            .doc("How often connectors.dir is scanned for changes."))
        .define(ConfigKey::list("config.providers").optional()
            .doc("Names of config providers; each needs config.providers.<name>.class."))
        .define(ConfigKey::boolean("topic.creation.enable").default("true")
            .doc("Whether source connectors may create the topics they write to, with their topic.creation.* settings (Connect's KIP-158)."))
        .define(ConfigKey::boolean("topic.tracking.enable").default("true")
            .doc("Track the topics each connector uses (GET /connectors/{name}/topics; in a cluster, topic records in the status topic). false: those endpoints answer 403 and nothing is written, as in Connect."))
        .define(ConfigKey::boolean("topic.tracking.allow.reset").default("true")
            .doc("Allow PUT /connectors/{name}/topics/reset. false: it answers 403, as in Connect."))
        .define(ConfigKey::string("exactly.once.source.support").default("disabled").one_of(&["disabled", "preparing", "enabled"])
            .doc("enabled: source connectors that request it produce each polled batch in a Kafka transaction together with its offsets (needs offsets in a Kafka topic). Connect's key."))
        .define(ConfigKey::boolean("tap.enable").default("true")
            .doc("Whether GET /connectors/{c}/tap (and `sluice tap`) may stream samples of the records passing through connectors. Samples show record contents (never the values of PASSWORD keys); set false where records must not be seen through the REST API."))
        .define(ConfigKey::boolean("task.auto.restart.enable").default("true")
            .doc("Restart failed tasks automatically, with exponential backoff (Sluice extension; Connect leaves them FAILED)."))
        .define(ConfigKey::long("task.auto.restart.backoff.initial.ms").default("1000").at_least(0.0)
            .doc("Delay before the first automatic restart of a failed task."))
        .define(ConfigKey::long("task.auto.restart.backoff.max.ms").default("60000").at_least(0.0)
            .doc("Longest delay between automatic restarts of a failed task."))
}

/// A parsed worker config.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub raw: RawConfig,
    pub bootstrap_servers: String,
    /// `topic.creation.enable`.
    pub topic_creation: bool,
    /// `topic.tracking.enable`.
    pub topic_tracking: bool,
    /// `topic.tracking.allow.reset`.
    pub topic_tracking_reset: bool,
    /// `offset.storage.file.format`.
    pub offset_file_format: crate::offsets::FileFormat,
    pub offset_file: Option<PathBuf>,
    pub offset_topic: Option<String>,
    pub offset_topic_partitions: i32,
    pub offset_topic_replication: i32,
    pub offset_flush_interval: Duration,
    pub offset_flush_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub listeners: Vec<String>,
    pub advertised_host: Option<String>,
    pub advertised_port: Option<i32>,
    pub connectors_dir: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
    pub connectors_dir_poll: Duration,
    pub providers: ConfigProviders,
    pub auto_restart: bool,
    /// `tap.enable`: the live tap may be used.
    pub tap_enable: bool,
    /// `exactly.once.source.support=enabled`.
    pub exactly_once_source: bool,
    pub restart_backoff_initial: Duration,
    pub restart_backoff_max: Duration,
}

impl WorkerConfig {
    /// The offsets topic `name` as Sluice creates and checks it.
    pub fn offset_topic_spec(&self, name: &str) -> crate::kafka::InternalTopic {
        crate::kafka::InternalTopic {
            name: name.to_string(),
            partitions: self.offset_topic_partitions,
            replication: self.offset_topic_replication,
            topic_key: "offset.storage.topic",
            replication_key: "offset.storage.replication.factor",
            holds: "source connector offsets",
            single_partition: false,
        }
    }

    /// Parses and checks a worker config, listing every problem. Placeholders of the
    /// config providers it declares (e.g. `${env:POD_IP}`) are resolved first.
    pub fn parse(raw: RawConfig) -> Result<Self, ConfigErrors> {
        let def = worker_config_def();
        let mut issues = Vec::new();
        let raw = match ConfigProviders::from_worker(&raw) {
            Ok(p) if p.has_placeholders(&raw) => match p.resolve(&raw) {
                Ok((resolved, _)) => resolved,
                Err(i) => return Err(ConfigErrors(i)),
            },
            _ => raw,
        };
        let parsed = match def.parse(&raw) {
            Ok(p) => Some(p),
            Err(mut i) => {
                issues.append(&mut i);
                None
            }
        };
        let providers = match ConfigProviders::from_worker(&raw) {
            Ok(p) => p,
            Err(mut i) => {
                issues.append(&mut i);
                ConfigProviders::default()
            }
        };
        issues.append(&mut check_client_security(&raw));
        let Some(p) = parsed else {
            return Err(ConfigErrors(issues));
        };
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        issues.extend(crate::connector_config::check_assignment_strategy(
            &raw,
            "consumer.partition.assignment.strategy",
        ));
        for l in p.list("listeners") {
            if !(l.starts_with("http://") || l.starts_with("https://")) {
                issues.push(ConfigIssue::new(
                    "listeners",
                    format!("{} must start with http:// or https://", l),
                ));
            }
        }
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        Ok(WorkerConfig {
            bootstrap_servers: p.list("bootstrap.servers").join(","),
            offset_file: p.string("offset.storage.file.filename").map(PathBuf::from),
            topic_creation: p.boolean("topic.creation.enable"),
            topic_tracking: p.boolean("topic.tracking.enable"),
            topic_tracking_reset: p.boolean("topic.tracking.allow.reset"),
            offset_file_format: crate::offsets::FileFormat::parse(
                &p.str("offset.storage.file.format"),
            )
            .unwrap_or(crate::offsets::FileFormat::Auto),
            offset_topic: p.string("offset.storage.topic"),
            offset_topic_partitions: p.int("offset.storage.partitions"),
            offset_topic_replication: p.int("offset.storage.replication.factor"),
            offset_flush_interval: millis(p.long("offset.flush.interval.ms")),
            offset_flush_timeout: millis(p.long("offset.flush.timeout.ms")),
            shutdown_timeout: millis(p.long("task.shutdown.graceful.timeout.ms")),
            listeners: p.list("listeners"),
            advertised_host: p.string("rest.advertised.host.name"),
            advertised_port: p.opt_int("rest.advertised.port"),
            connectors_dir: p.string("connectors.dir").map(PathBuf::from),
            config_file: p.string("config.storage.file.filename").map(PathBuf::from),
            connectors_dir_poll: millis(p.long("connectors.dir.poll.interval.ms")),
            providers,
            auto_restart: p.boolean("task.auto.restart.enable"),
            tap_enable: p.boolean("tap.enable"),
            exactly_once_source: p
                .str("exactly.once.source.support")
                .eq_ignore_ascii_case("enabled"),
            restart_backoff_initial: millis(p.long("task.auto.restart.backoff.initial.ms")),
            restart_backoff_max: millis(p.long("task.auto.restart.backoff.max.ms")),
            raw,
        })
    }

    /// Client settings every Kafka client of this worker gets (`bootstrap.servers`, the
    /// top-level security keys: `security.protocol`, `sasl.*`, `ssl.*`), then `prefix.*`
    /// overrides (`producer.`, `consumer.`, `admin.`). Java-style; `kafka::client_config`
    /// translates them for librdkafka.
    pub fn client_config(&self, prefix: &str) -> RawConfig {
        let mut out = RawConfig::new();
        out.insert("bootstrap.servers".into(), self.bootstrap_servers.clone());
        out.extend(security_settings(&self.raw));
        for (k, v) in sub_config(&self.raw, prefix) {
            out.insert(k, v);
        }
        out
    }

    /// Checks that a connector's `producer.override.*`, `consumer.override.*` and
    /// `admin.override.*` security keys translate for librdkafka on top of this
    /// worker's client settings; problems are named with the connector's key
    /// (`producer.override.ssl.truststore.type`). For connector validation.
    pub fn check_client_overrides(&self, connector: &RawConfig) -> Vec<ConfigIssue> {
        let mut issues: Vec<ConfigIssue> = Vec::new();
        for prefix in CLIENT_PREFIXES {
            let over_prefix = format!("{}override.", prefix);
            let over = sub_config(connector, &over_prefix);
            if !over.keys().any(|k| is_security_key(k)) {
                continue;
            }
            let worker = self.client_config(prefix);
            if let Err(found) = crate::kafka::security::translate(&[&worker, &over]) {
                for mut i in found {
                    if over.contains_key(&i.key) || !worker.contains_key(&i.key) {
                        i.key = format!("{}{}", over_prefix, i.key);
                    }
                    if !issues
                        .iter()
                        .any(|x| x.key == i.key && x.message == i.message)
                    {
                        issues.push(i);
                    }
                }
            }
        }
        issues
    }

    /// Where a standalone worker keeps API-created connectors and target states.
    pub fn config_storage_file(&self) -> PathBuf {
        if let Some(f) = &self.config_file {
            return f.clone();
        }
        match self.offset_file.as_ref().and_then(|f| f.parent()) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("connectors.json"),
            _ => PathBuf::from("connectors.json"),
        }
    }

    /// The worker id shown in status: the advertised `host:port` of the REST API.
    pub fn worker_id(&self) -> String {
        let (host, port) = self
            .listeners
            .first()
            .and_then(|l| parse_listener(l))
            .unwrap_or_else(|| ("127.0.0.1".into(), 8083));
        let host = self.advertised_host.clone().unwrap_or(match host.as_str() {
            "" | "0.0.0.0" | "::" | "[::]" => local_hostname(),
            _ => host,
        });
        let port = self.advertised_port.map(|p| p as u16).unwrap_or(port);
        format!("{}:{}", host, port)
    }
}

/// The prefixes of the worker's client layers.
const CLIENT_PREFIXES: [&str; 3] = ["producer.", "consumer.", "admin."];

/// Checks that the Kafka client settings translate for librdkafka: the top-level
/// security keys alone and under each of `producer.`, `consumer.`, `admin.`. A problem
/// names the key as written (`producer.ssl.truststore.type`), once.
fn check_client_security(raw: &RawConfig) -> Vec<ConfigIssue> {
    let top = security_settings(raw);
    let mut issues: Vec<ConfigIssue> = Vec::new();
    if !top.is_empty() {
        if let Err(found) = crate::kafka::security::translate(&[&top]) {
            issues = found;
        }
    }
    let top_issues = issues.len();
    for prefix in CLIENT_PREFIXES {
        let layer = sub_config(raw, prefix);
        if !layer.keys().any(|k| is_security_key(k)) {
            continue;
        }
        let Err(found) = crate::kafka::security::translate(&[&top, &layer]) else {
            continue;
        };
        for mut i in found {
            let same = |x: &ConfigIssue| x.key == i.key && x.message == i.message;
            if !layer.contains_key(&i.key) && issues[..top_issues].iter().any(same) {
                continue; // the top-level problem, reported once
            }
            if layer.contains_key(&i.key) || !top.contains_key(&i.key) {
                i.key = format!("{}{}", prefix, i.key);
            }
            if !issues
                .iter()
                .any(|x| x.key == i.key && x.message == i.message)
            {
                issues.push(i);
            }
        }
    }
    issues
}

/// Splits `http://host:port` into host and port.
pub fn parse_listener(l: &str) -> Option<(String, u16)> {
    let (scheme, rest) = l.split_once("://")?;
    let rest = rest.trim_end_matches('/');
    let default_port = if scheme == "https" { 443 } else { 80 };
    match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') => Some((h.to_string(), p.parse().ok()?)),
        _ => Some((rest.to_string(), default_port)),
    }
}

fn local_hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let raw: RawConfig = [
            ("bootstrap.servers", "127.0.0.1:9092"),
            ("offset.storage.file.filename", "/tmp/o.json"),
            ("producer.linger.ms", "5"),
            ("listeners", "http://0.0.0.0:9999"),
            ("rest.advertised.host.name", "w1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let w = WorkerConfig::parse(raw).unwrap();
        assert_eq!(w.offset_flush_interval, Duration::from_secs(60));
        assert_eq!(w.client_config("producer.")["linger.ms"], "5");
        assert_eq!(w.worker_id(), "w1:9999");
    }

    #[test]
    fn every_problem_is_listed() {
        let raw: RawConfig = [
            ("offset.flush.interval.ms", "soon"),
            ("listeners", "ftp://x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let e = WorkerConfig::parse(raw).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].key, "offset.flush.interval.ms");
    }
}

#[cfg(test)]
mod security_tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const JAAS: &str = r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="connect" password="pw1";"#;

    #[test]
    fn top_level_security_reaches_every_client_and_prefixes_win() {
        let w = WorkerConfig::parse(raw(&[
            ("bootstrap.servers", "127.0.0.1:9099"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.jaas.config", JAAS),
            ("ssl.endpoint.identification.algorithm", ""),
            ("producer.sasl.mechanism", "SCRAM-SHA-256"),
            ("offset.storage.file.filename", "/tmp/o.json"),
        ]))
        .unwrap();
        for prefix in ["producer.", "consumer.", "admin."] {
            let c = w.client_config(prefix);
            assert_eq!(c["security.protocol"], "SASL_SSL");
            assert_eq!(c["sasl.jaas.config"], JAAS);
            let k = crate::kafka::security::translate(&[&c]).unwrap();
            assert_eq!(k["sasl.username"], "connect");
            assert_eq!(k["ssl.endpoint.identification.algorithm"], "none");
        }
        assert_eq!(
            w.client_config("producer.")["sasl.mechanism"],
            "SCRAM-SHA-256"
        );
        assert_eq!(
            w.client_config("consumer.")["sasl.mechanism"],
            "SCRAM-SHA-512"
        );
    }

    #[test]
    fn security_problems_are_listed_with_the_others_and_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let jks = dir.path().join("truststore.jks");
        std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let e = WorkerConfig::parse(raw(&[
            ("offset.flush.interval.ms", "soon"),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="topsecret""#,
            ),
            ("ssl.truststore.location", jks.to_str().unwrap()),
            ("ssl.truststore.password", "changeit"),
            ("consumer.sasl.mechanism", "GSSAPI"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "offset.flush.interval.ms",
                "ssl.truststore.type",
                "sasl.jaas.config",
                "consumer.sasl.mechanism"
            ],
            "{}",
            e
        );
        let text = e.to_string();
        assert!(text.contains("keytool -importkeystore"), "{}", text);
        assert!(
            !text.contains("topsecret") && !text.contains("changeit"),
            "{}",
            text
        );
    }
}

#[cfg(test)]
mod override_tests {
    use super::*;

    #[test]
    fn connector_overrides_are_checked_on_top_of_the_worker() {
        let raw: RawConfig = [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";"#,
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let w = WorkerConfig::parse(raw).unwrap();
        let ok: RawConfig = [("producer.override.sasl.mechanism", "SCRAM-SHA-256")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(w.check_client_overrides(&ok).is_empty());
        let bad: RawConfig = [
            ("consumer.override.ssl.truststore.type", "JKS"),
            ("consumer.override.ssl.truststore.location", "/x/t.jks"),
            ("admin.override.sasl.mechanism", "GSSAPI"),
            ("producer.override.linger.ms", "5"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let keys: Vec<String> = w
            .check_client_overrides(&bad)
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(
            keys,
            [
                "consumer.override.ssl.truststore.type",
                "admin.override.sasl.mechanism"
            ]
        );
    }
}

#[cfg(test)]
mod provider_tests {
    use super::*;

    #[test]
    fn worker_values_may_come_from_providers() {
        std::env::set_var("SLUICE_TEST_POD_IP", "10.1.2.3");
        let raw: RawConfig = [
            ("config.providers", "env"),
            (
                "config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            ),
            ("rest.advertised.host.name", "${env:SLUICE_TEST_POD_IP}"),
            ("listeners", "http://0.0.0.0:8083"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let w = WorkerConfig::parse(raw).unwrap();
        assert_eq!(w.worker_id(), "10.1.2.3:8083");
    }
}
