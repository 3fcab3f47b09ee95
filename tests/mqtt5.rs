//! MQTT 5 on both sides, against real Mosquitto (2.0) and Kafka, checked with an
//! independent MQTT 5 client (paho-mqtt, `tests/python/mqtt5.py`):
//!
//! * properties round trip: paho publishes with user properties, content type,
//!   response topic, correlation data and message expiry; `mqtt-source` turns them into
//!   Kafka headers; `mqtt-sink` publishes the records again and paho receives the same
//!   properties;
//! * `tasks.max = 2` on the source: one shared subscription, every message in Kafka
//!   once (not once per task);
//! * a message the broker refuses (PUBACK reason code NotAuthorized from an ACL) goes to
//!   the dead letter queue with the reason when tolerated, and fails the task naming it
//!   otherwise.

mod common;
#[path = "common/queues.rs"]
mod queues;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use queues::read_topic;

fn python() -> PathBuf {
    let stack = std::env::var("SLUICE_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/sluice"));
    stack.join("venv/bin/python")
}

fn script() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/mqtt5.py")
}

/// Publishes with paho (MQTT 5), every message acknowledged.
fn paho_publish(port: u16, dir: &Path, msgs: &serde_json::Value) {
    let f = dir.join(format!("{}.json", unique("msgs")));
    std::fs::write(&f, msgs.to_string()).unwrap();
    let out = Command::new(python())
        .args([script(), "publish", &port.to_string(), f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "paho publish failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A paho subscriber, subscribed when `start` returns.
struct PahoSubscriber(Child);

impl PahoSubscriber {
    fn start(port: u16, filter: &str, n: usize, seconds: u64) -> PahoSubscriber {
        let mut child = Command::new(python())
            .args([
                script(),
                "subscribe",
                &port.to_string(),
                filter,
                &n.to_string(),
                &seconds.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the paho subscriber did not subscribe"
        );
        PahoSubscriber(child)
    }

    /// Every message received (waits for the subscriber to end).
    fn messages(self) -> Vec<serde_json::Value> {
        let out = self.0.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{:02x}", b)).collect()
}

fn write_config(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(&p, format!("name: {name}\nconfig:\n{body}")).unwrap();
    p
}

#[test]
fn properties_travel_from_mqtt_through_kafka_back_to_mqtt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = unique("m5");
    let topic = unique("mqtt5-props");
    create_topic(&topic, 1);
    let n = 20;
    let src = unique("m5src");
    let sink = unique("m5sink");
    let source_cfg = write_config(
        d,
        &src,
        &format!(
            "  connector.class: mqtt-source\n  mqtt.server.uri: tcp://127.0.0.1:1883\n  mqtt.version: 5\n  mqtt.topics: {base}/in/+\n  mqtt.client.id: {src}\n  topic: {topic}\n  mqtt.record.builder.body.type: string\n  mqtt.properties.copy.to.kafka.headers: true\n  mqtt.record.builder.key.header: correlation_data\n  key.converter: org.apache.kafka.connect.storage.StringConverter\n"
        ),
    );
    let sink_cfg = write_config(
        d,
        &sink,
        &format!(
            "  connector.class: mqtt-sink\n  mqtt.server.uri: tcp://127.0.0.1:1883\n  mqtt.version: 5\n  topics: {topic}\n  mqtt.topic: {base}/out/${{topic}}\n  key.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n  value.converter: org.apache.kafka.connect.storage.StringConverter\n  header.converter: org.apache.kafka.connect.storage.SimpleHeaderConverter\n"
        ),
    );
    let out = PahoSubscriber::start(1883, &format!("{base}/out/#"), n, 90);
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&source_cfg]);
    wait_for("the source's subscription", Duration::from_secs(60), || {
        w.log_text().contains("connected to the MQTT broker")
    });
    std::thread::sleep(Duration::from_millis(500));
    let msgs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "topic": format!("{base}/in/{}", i % 2),
                "payload": format!("{{\"n\":{i}}}"),
                "user": [["tenant", "acme"], ["seq", i.to_string()], ["seq", "again"]],
                "content_type": "application/json",
                "response_topic": format!("replies/{i}"),
                "correlation_hex": hex(&format!("cid-{i}")),
                "expiry": 3600,
            })
        })
        .collect();
    paho_publish(1883, d, &serde_json::Value::Array(msgs));

    // In Kafka: the standard properties as mqtt.* headers, user properties as headers
    // with their own names (repeated ones kept), the correlation data as the key.
    let mut records = Vec::new();
    wait_for("every record in Kafka", Duration::from_secs(60), || {
        records = read_topic(&topic, Duration::from_secs(5));
        records.len() >= n
    });
    assert_eq!(records.len(), n);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.value_str(), format!("{{\"n\":{i}}}"));
        assert_eq!(r.key_str(), Some(format!("cid-{i}").as_str()));
        assert_eq!(r.header("tenant").as_deref(), Some("acme"));
        let seqs: Vec<_> = r
            .headers
            .iter()
            .filter(|(k, _)| k == "seq")
            .map(|(_, v)| String::from_utf8_lossy(v.as_deref().unwrap()).into_owned())
            .collect();
        assert_eq!(seqs, vec![i.to_string(), "again".to_string()]);
        assert_eq!(
            r.header("mqtt.content_type").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            r.header("mqtt.response_topic"),
            Some(format!("replies/{i}"))
        );
        let expiry: i64 = r
            .header("mqtt.message_expiry_interval")
            .unwrap()
            .parse()
            .unwrap();
        assert!(expiry > 3500 && expiry <= 3600, "{expiry}");
        assert_eq!(r.header("mqtt.correlation_data"), Some(format!("cid-{i}")));
    }

    // Back out through the sink: paho sees the same properties.
    assert!(w.terminate().success());
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&sink_cfg]);
    let got = out.messages();
    assert!(w.terminate().success());
    assert_eq!(got.len(), n, "{:?}", got);
    let by_payload: HashMap<String, &serde_json::Value> = got
        .iter()
        .map(|m| (m["payload"].as_str().unwrap().to_string(), m))
        .collect();
    for i in 0..n {
        let m = by_payload[&format!("{{\"n\":{i}}}")];
        assert_eq!(m["topic"], format!("{base}/out/{topic}"));
        assert_eq!(m["content_type"], "application/json");
        assert_eq!(m["response_topic"], format!("replies/{i}"));
        assert_eq!(m["correlation_hex"], hex(&format!("cid-{i}")));
        let expiry = m["expiry"].as_i64().unwrap();
        assert!(expiry > 3000 && expiry <= 3600, "{m}");
        let user: Vec<(String, String)> = m["user"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                (
                    kv[0].as_str().unwrap().into(),
                    kv[1].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            user,
            vec![
                ("tenant".to_string(), "acme".to_string()),
                ("seq".to_string(), i.to_string()),
                ("seq".to_string(), "again".to_string()),
            ],
            "{m}"
        );
    }
}

#[test]
fn two_source_tasks_share_one_subscription_and_each_message_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = unique("m5shared");
    let topic = unique("mqtt5-shared");
    create_topic(&topic, 1);
    let name = unique("m5shared");
    let c = write_config(
        d,
        &name,
        &format!(
            "  connector.class: mqtt-source\n  tasks.max: 2\n  mqtt.server.uri: tcp://127.0.0.1:1883\n  mqtt.version: 5\n  mqtt.topics: {base}/#\n  topic: {topic}\n  mqtt.record.builder.body.type: string\n"
        ),
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    wait_for("two connected tasks", Duration::from_secs(60), || {
        w.log_text().matches("connected to the MQTT broker").count() >= 2
    });
    let status = api.get(&format!("/connectors/{name}/status")).body;
    assert_eq!(status["tasks"].as_array().unwrap().len(), 2, "{status}");
    std::thread::sleep(Duration::from_millis(500));
    let n = 300;
    let msgs: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({"topic": format!("{base}/d{}", i % 5), "payload": format!("m{i}")}))
        .collect();
    paho_publish(1883, d, &serde_json::Value::Array(msgs));
    let mut records = Vec::new();
    wait_for("every message in Kafka", Duration::from_secs(60), || {
        records = read_topic(&topic, Duration::from_secs(5));
        records.len() >= n
    });
    // Without the shared subscription each task would receive every message.
    std::thread::sleep(Duration::from_secs(2));
    let records = read_topic(&topic, Duration::from_secs(5));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &records {
        *counts.entry(r.value_str().to_string()).or_default() += 1;
    }
    assert_eq!(counts.len(), n);
    assert!(
        counts.values().all(|c| *c == 1),
        "duplicates: {:?}",
        counts
            .iter()
            .filter(|(_, c)| **c > 1)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(w.terminate().success());
}

/// A Mosquitto of the test's own that lets anonymous clients publish only under
/// `ok/`: a PUBLISH elsewhere gets PUBACK reason code NotAuthorized (MQTT 5).
struct AclBroker {
    port: u16,
    child: Child,
}

impl AclBroker {
    fn start(dir: &Path) -> AclBroker {
        let port = free_port();
        let acl = dir.join("acl");
        std::fs::write(&acl, "topic write ok/#\ntopic read #\n").unwrap();
        let conf = dir.join("mosquitto-acl.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {}\nuser root\n",
                acl.display()
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed");
        wait_for("mosquitto to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        AclBroker { port, child }
    }
}

impl Drop for AclBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_refused_message_goes_to_the_dlq_with_its_reason_code_or_fails_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let broker = AclBroker::start(d);
    let topic = unique("mqtt5-refused");
    create_topic(&topic, 1);
    let dlq = unique("mqtt5-dlq");
    let items: Vec<(Option<String>, String)> = (0..10)
        .map(|i| {
            let k = if i == 4 {
                "denied/x".to_string()
            } else {
                format!("ok/{i}")
            };
            (Some(k), format!("v{i}"))
        })
        .collect();
    let msgs: Vec<Outgoing<'_>> = items
        .iter()
        .map(|(k, v)| (k.as_deref().map(str::as_bytes), Some(v.as_bytes()), vec![]))
        .collect();
    produce(&topic, &msgs);
    let sub = PahoSubscriber::start(broker.port, "ok/#", 9, 60);
    let common = format!(
        "  connector.class: mqtt-sink\n  mqtt.server.uri: tcp://127.0.0.1:{}\n  mqtt.version: 5\n  topics: {topic}\n  mqtt.topic: ${{key}}\n  key.converter: org.apache.kafka.connect.storage.StringConverter\n  value.converter: org.apache.kafka.connect.storage.StringConverter\n",
        broker.port
    );

    // Tolerated: the refused record goes to the DLQ with the reason, the rest arrive
    // and every offset is committed.
    let name = unique("m5dlq");
    let c = write_config(
        d,
        &name,
        &format!("{common}  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.context.headers.enable: true\n"),
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    let got = sub.messages();
    assert_eq!(got.len(), 9, "{got:?}");
    assert!(got
        .iter()
        .all(|m| m["topic"].as_str().unwrap().starts_with("ok/")));
    let mut dead = Vec::new();
    wait_for(
        "the refused record in the DLQ",
        Duration::from_secs(60),
        || {
            dead = read_topic(&dlq, Duration::from_secs(3));
            !dead.is_empty()
        },
    );
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value_str(), "v4");
    let why = dead[0]
        .header("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(
        why.contains("NotAuthorized") && why.contains("denied/x"),
        "{why}"
    );
    wait_for("every offset committed", Duration::from_secs(60), || {
        committed_offset(&format!("connect-{name}"), &topic) == Some(10)
    });
    assert!(w.terminate().success());

    // Not tolerated: the task fails naming the reason code; nothing from the refused
    // record on is committed.
    let name = unique("m5fail");
    let c = write_config(d, &name, &common);
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let mut status = serde_json::Value::Null;
    wait_for("the task to fail", Duration::from_secs(60), || {
        status = api.get(&format!("/connectors/{name}/status")).body;
        status["tasks"][0]["state"] == "FAILED"
    });
    let trace = status["tasks"][0]["trace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        trace.contains("NotAuthorized") && trace.contains("denied/x"),
        "{status}"
    );
    let committed = committed_offset(&format!("connect-{name}"), &topic).unwrap_or(0);
    assert!(
        committed <= 4,
        "committed {committed} past the refused record"
    );
    w.kill();
}
