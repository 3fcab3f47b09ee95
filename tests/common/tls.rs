//! The secured servers of the test stack: the secure Kafka node
//! (`scripts/stack.sh start-secure-broker`) and the TLS listeners of RabbitMQ,
//! Mosquitto, PostgreSQL and SecantusDB (`scripts/stack.sh start-tls-servers`), with
//! the certificates the stack made (`scripts/stack.sh tls-dir`).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// The secure node's plaintext listener, for the tests' own checks.
pub const SECURE_PLAINTEXT: &str = "127.0.0.1:9097";
/// The secure node's SASL_SSL listener (SCRAM-SHA-512 and -256 user `sluice`).
pub const SECURE_SASL_SSL: &str = "127.0.0.1:9099";
/// The secure node's SSL listener that requires a client certificate.
pub const SECURE_MTLS: &str = "127.0.0.1:9100";
/// The SCRAM user the stack creates.
pub const SCRAM_USER: &str = "sluice";
pub const SCRAM_PASSWORD: &str = "sluice-secret";
/// The password of the stack's PKCS12 and JKS stores.
pub const STORE_PASSWORD: &str = "sluice-test-pass";

/// The folder of the stack's certificates (made on first use).
pub fn tls_dir() -> PathBuf {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stack.sh"))
        .arg("tls-dir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("scripts/stack.sh tls-dir");
    assert!(out.status.success(), "scripts/stack.sh tls-dir failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A file of the stack's certificates, as a string path.
pub fn tls_file(name: &str) -> String {
    tls_dir().join(name).to_str().unwrap().to_string()
}

/// Starts the secure Kafka node (idempotent).
pub fn start_secure_broker() {
    assert!(
        super::stack("start-secure-broker"),
        "cannot start the secure broker (scripts/stack.sh start-secure-broker)"
    );
}

/// Starts the TLS listeners of the other servers (idempotent).
pub fn start_tls_servers() {
    assert!(
        super::stack("start-tls-servers"),
        "cannot start the TLS servers (scripts/stack.sh start-tls-servers)"
    );
}

/// The values of a topic on the secure node (read over its plaintext listener), until
/// `n` arrived or `timeout` passed.
pub fn read_values_secure(topic: &str, n: usize, timeout: Duration) -> Vec<String> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", SECURE_PLAINTEXT)
        .set("group.id", super::unique("test-reader"))
        .set("enable.auto.commit", "false")
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .unwrap();
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut assigned = false;
    while Instant::now() < deadline && out.len() < n {
        if !assigned {
            match c.fetch_metadata(Some(topic), Duration::from_secs(5)) {
                Ok(md)
                    if md
                        .topics()
                        .first()
                        .is_some_and(|t| !t.partitions().is_empty()) =>
                {
                    let mut tpl = TopicPartitionList::new();
                    for p in md.topics()[0].partitions() {
                        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                            .unwrap();
                    }
                    c.assign(&tpl).unwrap();
                    assigned = true;
                }
                _ => {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
            }
        }
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            out.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    out
}

/// Whether a topic exists on the secure node.
pub fn secure_topic_exists(topic: &str) -> bool {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", SECURE_PLAINTEXT)
        .set("allow.auto.create.topics", "false")
        .create()
        .unwrap();
    c.fetch_metadata(None, Duration::from_secs(10))
        .map(|md| md.topics().iter().any(|t| t.name() == topic))
        .unwrap_or(false)
}
