//! The RabbitMQ sink against the real RabbitMQ and Kafka broker that `scripts/stack.sh`
//! starts: properties and headers as documented, routing by key/topic/header,
//! unroutable messages with both error tolerances, a connection closed by the server,
//! RabbitMQ restarted and Kafka restarted (the spare broker) mid-stream, SIGKILL of the
//! worker, and a round trip queue -> amqp-source -> Kafka -> amqp-sink
//! -> queue. Messages are read back with a plain lapin consumer.

mod common;
#[path = "common/queues.rs"]
mod queues;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::BasicConsumeOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};

use common::*;
use queues::*;

/// A message read back from a queue.
#[derive(Debug)]
struct Got {
    body: Vec<u8>,
    props: BasicProperties,
}

impl Got {
    fn body_str(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> Option<&AMQPValue> {
        self.props
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(name))
    }
    fn prop(
        &self,
        f: fn(&BasicProperties) -> &Option<lapin::types::ShortString>,
    ) -> Option<String> {
        f(&self.props).as_ref().map(|s| s.as_str().to_string())
    }
}

/// Consumes (no-ack) every message of `queue` until `n` arrived and the queue stays
/// quiet for a second, or `timeout` passed.
fn take(queue: &str, n: usize, timeout: Duration) -> Vec<Got> {
    rt().block_on(async {
        let c = Connection::connect(AMQP_URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = c.create_channel().await.unwrap();
        let mut consumer = ch
            .basic_consume(
                queue.into(),
                "test-reader".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let mut out = Vec::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let wait = if out.len() >= n {
                Duration::from_secs(1)
            } else {
                Duration::from_millis(500)
            };
            match tokio::time::timeout(wait, consumer.next()).await {
                Ok(Some(Ok(d))) => out.push(Got {
                    body: d.data,
                    props: d.properties,
                }),
                Ok(_) => break,
                Err(_) if out.len() >= n => break,
                Err(_) => {}
            }
        }
        let _ = c.close(200, "bye".into()).await;
        out
    })
}

/// Every value `v-0..v-<total>` is among the messages read (duplicates allowed).
fn assert_none_lost(got: &[Got], total: usize) {
    let seen: HashSet<&str> = got.iter().map(Got::body_str).collect();
    let missing: Vec<usize> = (0..total)
        .filter(|i| !seen.contains(format!("v-{}", i).as_str()))
        .take(10)
        .collect();
    assert!(missing.is_empty(), "lost, e.g. {missing:?}");
}

/// A sink connector config file; `extra` lines go under `config:`.
fn sink(dir: &Path, name: &str, topic: &str, extra: &[&str]) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    let mut s = format!(
        "name: {name}\nconfig:\n  connector.class: amqp-sink\n  amqp.uri: {AMQP_URI}\n  topics: {topic}\n"
    );
    for l in extra {
        s.push_str("  ");
        s.push_str(l);
        s.push('\n');
    }
    std::fs::write(&p, s).unwrap();
    p
}

/// `n` records `v-<i>` keyed `k-<i>` with the given headers.
fn produce_numbered(topic: &str, n: usize, headers: &[(&str, &str)]) {
    let keys: Vec<String> = (0..n).map(|i| format!("k-{}", i)).collect();
    let values: Vec<String> = (0..n).map(|i| format!("v-{}", i)).collect();
    let msgs: Vec<Outgoing<'_>> = (0..n)
        .map(|i| {
            (
                Some(keys[i].as_bytes()),
                Some(values[i].as_bytes()),
                headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect(),
            )
        })
        .collect();
    for chunk in msgs.chunks(10_000) {
        produce(topic, chunk);
    }
}

/// Produces `v-0..v-<n>` in the background, 1,000 every 100 ms, so that something
/// happening meanwhile happens mid-stream; on the spare broker if `spare`.
fn produce_in_background(topic: &str, n: usize, spare: bool) -> std::thread::JoinHandle<()> {
    let t = topic.to_string();
    std::thread::spawn(move || {
        if spare {
            use_spare_broker();
        }
        for chunk in 0..n.div_ceil(1000) {
            let msgs: Vec<(String, String)> = (chunk * 1000..((chunk + 1) * 1000).min(n))
                .map(|i| (format!("k-{}", i), format!("v-{}", i)))
                .collect();
            let out: Vec<Outgoing<'_>> = msgs
                .iter()
                .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_bytes()), vec![]))
                .collect();
            produce(&t, &out);
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

/// Tests that use RabbitMQ hold this shared; the one that restarts it, exclusively.
static RABBIT: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn rabbit_shared() -> std::sync::RwLockReadGuard<'static, ()> {
    RABBIT.read().unwrap_or_else(|e| e.into_inner())
}

fn wait_committed(connector: &str, topic: &str, n: i64, w: &Sluice) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if committed_offset(&format!("connect-{connector}"), topic) == Some(n) {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "offset {} of {} not committed; log:\n{}",
        n,
        topic,
        w.log_text()
    );
}

fn setup(prefix: &str) -> (String, String) {
    let queue = unique(prefix);
    let topic = unique(prefix);
    declare_queue(&queue);
    create_topic(&topic, 1);
    (queue, topic)
}

#[test]
fn every_record_arrives_with_properties_and_headers_as_documented() {
    let _rabbit = rabbit_shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-sink-props");
    produce_numbered(
        &topic,
        300,
        &[
            ("tenant", "acme"),
            ("attempt", "3"),
            ("amqp.type", "order"),
            ("amqp.priority", "5"),
            ("amqp.routing_key", "old-queue"),
        ],
    );
    let name = unique("amqp-sink-props");
    let cfg = sink(
        d,
        &name,
        &topic,
        &[
            &format!("amqp.routing.key: {queue}"),
            "amqp.key.property: correlation_id",
            "amqp.content.type: text/plain",
            "amqp.expiration.ms: 600000",
            "amqp.max.in.flight: 50",
        ],
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&cfg]);
    wait_committed(&name, &topic, 300, &w);
    let got = take(&queue, 300, Duration::from_secs(30));
    assert_eq!(got.len(), 300, "exactly the records, once each");
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.body_str(), format!("v-{}", i), "in order");
        assert_eq!(
            m.prop(BasicProperties::message_id),
            Some(format!("{topic}-0-{i}"))
        );
        assert_eq!(
            m.prop(BasicProperties::correlation_id),
            Some(format!("k-{i}"))
        );
        assert_eq!(
            m.prop(BasicProperties::content_type).as_deref(),
            Some("text/plain")
        );
        assert_eq!(
            m.prop(BasicProperties::expiration).as_deref(),
            Some("600000")
        );
        assert_eq!(m.prop(BasicProperties::kind).as_deref(), Some("order"));
        assert_eq!(*m.props.delivery_mode(), Some(2));
        assert_eq!(*m.props.priority(), Some(5));
        assert!(m.props.timestamp().is_some());
        assert_eq!(
            m.header("tenant"),
            Some(&AMQPValue::LongString("acme".into()))
        );
        // "3" is read by the SimpleHeaderConverter as an int8
        assert_eq!(m.header("attempt"), Some(&AMQPValue::ShortShortInt(3)));
        assert!(m.header("amqp.routing_key").is_none() && m.header("amqp.type").is_none());
    }
    let status = Api::new(port)
        .get(&format!("/connectors/{name}/status"))
        .body;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert!(w.terminate().success());
}

#[test]
fn routing_by_key_topic_and_header() {
    let _rabbit = rabbit_shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (qa, qb) = (unique("amqp-sink-ra"), unique("amqp-sink-rb"));
    declare_queue(&qa);
    declare_queue(&qb);
    // by key: keys name the queues
    let t_key = unique("amqp-sink-rkey");
    create_topic(&t_key, 1);
    let msgs: Vec<Outgoing<'_>> = (0..40)
        .map(|i| {
            let q = if i % 4 == 0 { &qa } else { &qb };
            (Some(q.as_bytes()), Some(&b"by-key"[..]), vec![])
        })
        .collect();
    produce(&t_key, &msgs);
    // by topic: the queue has the topic's name
    let t_topic = unique("amqp-sink-rtopic");
    create_topic(&t_topic, 1);
    declare_queue(&t_topic);
    produce(&t_topic, &vec![(None, Some(&b"by-topic"[..]), vec![]); 7]);
    // by header
    let t_header = unique("amqp-sink-rheader");
    create_topic(&t_header, 1);
    let hmsgs: Vec<Outgoing<'_>> = (0..10)
        .map(|i| {
            let q = if i < 3 { &qa } else { &qb };
            (None, Some(&b"by-header"[..]), vec![("dest", q.as_bytes())])
        })
        .collect();
    produce(&t_header, &hmsgs);
    let (n1, n2, n3) = (unique("rkey"), unique("rtopic"), unique("rheader"));
    let c1 = sink(d, &n1, &t_key, &["amqp.routing.key.source: key"]);
    let c2 = sink(d, &n2, &t_topic, &["amqp.routing.key.source: topic"]);
    let c3 = sink(d, &n3, &t_header, &["amqp.routing.key.source: header:dest"]);
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&c1, &c2, &c3]);
    wait_committed(&n1, &t_key, 40, &w);
    wait_committed(&n2, &t_topic, 7, &w);
    wait_committed(&n3, &t_header, 10, &w);
    let count = |got: &[Got]| {
        let mut m: HashMap<String, usize> = HashMap::new();
        for g in got {
            *m.entry(g.body_str().to_string()).or_default() += 1;
        }
        m
    };
    let a = count(&take(&qa, 13, Duration::from_secs(20)));
    let b = count(&take(&qb, 37, Duration::from_secs(20)));
    let t = count(&take(&t_topic, 7, Duration::from_secs(20)));
    assert_eq!(a.get("by-key"), Some(&10), "{a:?}");
    assert_eq!(a.get("by-header"), Some(&3), "{a:?}");
    assert_eq!(b.get("by-key"), Some(&30), "{b:?}");
    assert_eq!(b.get("by-header"), Some(&7), "{b:?}");
    assert_eq!(t.get("by-topic"), Some(&7), "{t:?}");
    assert!(w.terminate().success());
}

#[test]
fn unroutable_messages_go_to_the_dlq_or_fail_the_task() {
    let _rabbit = rabbit_shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let queue = unique("amqp-sink-unroutable");
    declare_queue(&queue);
    let missing = unique("no-such-queue");
    let (t_all, t_none) = (unique("amqp-sink-unr-all"), unique("amqp-sink-unr-none"));
    let dlq = unique("amqp-sink-unr-dlq");
    for t in [&t_all, &t_none] {
        create_topic(t, 1);
        // records 0..9 to the queue, 10 to a queue that does not exist, 11..19 back
        let msgs: Vec<Outgoing<'_>> = (0..20)
            .map(|i| {
                let dest = if i == 10 { &missing } else { &queue };
                (None, Some(&b"x"[..]), vec![("dest", dest.as_bytes())])
            })
            .collect();
        produce(t, &msgs);
    }
    let (n_all, n_none) = (unique("unr-all"), unique("unr-none"));
    let all = sink(
        d,
        &n_all,
        &t_all,
        &[
            "amqp.routing.key.source: header:dest",
            "errors.tolerance: all",
            &format!("errors.deadletterqueue.topic.name: {dlq}"),
            "errors.deadletterqueue.topic.replication.factor: 1",
            "errors.deadletterqueue.context.headers.enable: true",
        ],
    );
    let none = sink(
        d,
        &n_none,
        &t_none,
        &["amqp.routing.key.source: header:dest"],
    );
    let port = free_port();
    let api = Api::new(port);
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&all, &none]);
    api.wait_ready();

    // all: the unroutable record in the DLQ with the reason, the rest delivered and
    // every offset committed
    wait_committed(&n_all, &t_all, 20, &w);
    let dead = read_all(&dlq);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        dead[0].header("__connect.errors.offset").as_deref(),
        Some("10")
    );
    assert_eq!(
        dead[0].header("__connect.errors.topic").as_deref(),
        Some(t_all.as_str())
    );
    let reason = dead[0]
        .header("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(
        reason.contains("unroutable") && reason.contains(&missing),
        "{reason}"
    );

    // none: the task fails naming the record, the exchange and the routing key;
    // nothing from the failed record on is committed
    let mut status = serde_json::Value::Null;
    wait_for("the task to fail", Duration::from_secs(60), || {
        status = api.get(&format!("/connectors/{n_none}/status")).body;
        status["tasks"][0]["state"] == "FAILED"
    });
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    for part in [
        "unroutable".to_string(),
        "exchange (default)".to_string(),
        format!("routing key \"{missing}\""),
        format!("topic={t_none} partition=0 offset=10"),
    ] {
        assert!(trace.contains(&part), "{part} not in {trace}");
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        committed_offset(&format!("connect-{n_none}"), &t_none).unwrap_or(0) <= 10,
        "the failed record's offset was committed"
    );
    assert!(w.terminate().success());
    // all sent its 19 routable messages, none at least the 10 before the failed one
    let got = take(&queue, 29, Duration::from_secs(20));
    assert!(got.len() >= 29 && got.len() <= 38, "{}", got.len());
}

/// Many unroutable messages among routable ones, with many confirms in flight:
/// RabbitMQ acknowledges runs of messages with one multiple ack, and lapin hands a
/// returned message to whichever confirm of the run it completes first. Each returned
/// message must still fail its own record: the dead letter queue holds exactly the
/// unroutable offsets, the queue exactly the others.
#[test]
fn each_returned_message_fails_its_own_record() {
    let _rabbit = rabbit_shared();
    const N: usize = 600;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let queue = unique("amqp-sink-many-unr");
    declare_queue(&queue);
    let missing = unique("no-such-queue");
    let topic = unique("amqp-sink-many-unr");
    create_topic(&topic, 1);
    let dlq = unique("amqp-sink-many-unr-dlq");
    let unroutable = |i: usize| i % 7 == 3;
    let bodies: Vec<String> = (0..N).map(|i| format!("m-{i}")).collect();
    let msgs: Vec<Outgoing<'_>> = (0..N)
        .map(|i| {
            let dest = if unroutable(i) { &missing } else { &queue };
            (
                None,
                Some(bodies[i].as_bytes()),
                vec![("dest", dest.as_bytes())],
            )
        })
        .collect();
    produce(&topic, &msgs);
    let name = unique("many-unr");
    let c = sink(
        d,
        &name,
        &topic,
        &[
            "amqp.routing.key.source: header:dest",
            "errors.tolerance: all",
            &format!("errors.deadletterqueue.topic.name: {dlq}"),
            "errors.deadletterqueue.topic.replication.factor: 1",
            "errors.deadletterqueue.context.headers.enable: true",
        ],
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_committed(&name, &topic, N as i64, &w);
    assert!(w.terminate().success());
    let mut dead: Vec<usize> = read_all(&dlq)
        .iter()
        .map(|m| {
            m.header("__connect.errors.offset")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    dead.sort();
    let want: Vec<usize> = (0..N).filter(|i| unroutable(*i)).collect();
    assert_eq!(
        dead, want,
        "the dead letter queue holds exactly the unroutable records"
    );
    let routable = N - want.len();
    let mut got: Vec<String> = take(&queue, routable, Duration::from_secs(30))
        .iter()
        .map(|g| g.body_str().to_string())
        .collect();
    got.sort();
    let mut expected: Vec<String> = (0..N)
        .filter(|i| !unroutable(*i))
        .map(|i| bodies[i].clone())
        .collect();
    expected.sort();
    assert_eq!(
        got, expected,
        "the queue holds exactly the routable records"
    );
}

/// A durable queue that holds at most `max` messages and nacks publishes beyond that
/// (`x-overflow: reject-publish`).
fn declare_bounded_queue(name: &str, max: i64) {
    rt().block_on(async {
        let c = Connection::connect(AMQP_URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = c.create_channel().await.unwrap();
        let mut args = FieldTable::default();
        args.insert("x-max-length".into(), AMQPValue::LongLongInt(max));
        args.insert(
            "x-overflow".into(),
            AMQPValue::LongString("reject-publish".into()),
        );
        ch.queue_declare(
            name.into(),
            lapin::options::QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .unwrap();
        let _ = c.close(200, "bye".into()).await;
    });
}

#[test]
fn nacked_messages_go_to_the_dlq_or_fail_the_task() {
    let _rabbit = rabbit_shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (full_all, full_none) = (unique("amqp-sink-full-all"), unique("amqp-sink-full-none"));
    declare_bounded_queue(&full_all, 5);
    declare_bounded_queue(&full_none, 5);
    let (t_all, t_none) = (unique("amqp-sink-nack-all"), unique("amqp-sink-nack-none"));
    let dlq = unique("amqp-sink-nack-dlq");
    for t in [&t_all, &t_none] {
        create_topic(t, 1);
        produce_numbered(t, 8, &[]);
    }
    let (n_all, n_none) = (unique("nack-all"), unique("nack-none"));
    let all = sink(
        d,
        &n_all,
        &t_all,
        &[
            &format!("amqp.routing.key: {full_all}"),
            // one at a time, so that exactly the records after the fifth are refused
            "amqp.max.in.flight: 1",
            "errors.tolerance: all",
            &format!("errors.deadletterqueue.topic.name: {dlq}"),
            "errors.deadletterqueue.topic.replication.factor: 1",
            "errors.deadletterqueue.context.headers.enable: true",
        ],
    );
    let none = sink(
        d,
        &n_none,
        &t_none,
        &[
            &format!("amqp.routing.key: {full_none}"),
            "amqp.max.in.flight: 1",
        ],
    );
    let port = free_port();
    let api = Api::new(port);
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&all, &none]);
    api.wait_ready();

    // all: records 5..7 nacked into the DLQ with the reason, every offset committed
    wait_committed(&n_all, &t_all, 8, &w);
    let dead = read_all(&dlq);
    let offsets: Vec<String> = dead
        .iter()
        .map(|m| m.header("__connect.errors.offset").unwrap_or_default())
        .collect();
    assert_eq!(offsets, vec!["5", "6", "7"], "{dead:?}");
    assert_eq!(dead[0].value_str(), "v-5");
    let reason = dead[0]
        .header("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(reason.contains("basic.nack"), "{reason}");
    assert_eq!(queue_counts(&full_all).0, 5);

    // none: the task fails naming the nack and the record; offset 5 is not committed
    let mut status = serde_json::Value::Null;
    wait_for("the task to fail", Duration::from_secs(60), || {
        status = api.get(&format!("/connectors/{n_none}/status")).body;
        status["tasks"][0]["state"] == "FAILED"
    });
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("basic.nack")
            && trace.contains(&format!("topic={t_none} partition=0 offset=5")),
        "{trace}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        committed_offset(&format!("connect-{n_none}"), &t_none).unwrap_or(0) <= 5,
        "the nacked record's offset was committed"
    );
    assert!(w.terminate().success());
    drain(&full_all);
    drain(&full_none);
}

/// The pid of the RabbitMQ connection named `name`.
fn connection_pid(name: &str) -> Option<String> {
    let out = Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains(name))
        .and_then(|l| l.split_whitespace().next())
        .map(str::to_string)
}

#[test]
fn a_connection_closed_by_the_server_loses_nothing() {
    let _rabbit = rabbit_shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-sink-close");
    let name = unique("amqp-sink-close");
    let cfg = sink(
        d,
        &name,
        &topic,
        &[
            &format!("amqp.routing.key: {queue}"),
            // retry a failed put or flush instead of failing the task
            "errors.retry.timeout: 60000",
        ],
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&cfg]);
    let conn = format!("sluice-{name}-0");
    let mut pid = None;
    wait_for("the sink's connection", Duration::from_secs(30), || {
        pid = connection_pid(&conn);
        pid.is_some()
    });
    let total = 30_000;
    produce_numbered(&topic, total / 2, &[]);
    std::thread::sleep(Duration::from_millis(300));
    // close it from the server while records flow
    let st = Command::new("rabbitmqctl")
        .args([
            "close_connection",
            pid.as_deref().unwrap(),
            "test closes the connection",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let msgs: Vec<(String, String)> = (total / 2..total)
        .map(|i| (format!("k-{}", i), format!("v-{}", i)))
        .collect();
    let out: Vec<Outgoing<'_>> = msgs
        .iter()
        .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_bytes()), vec![]))
        .collect();
    produce(&topic, &out);
    wait_committed(&name, &topic, total as i64, &w);
    let got = take(&queue, total, Duration::from_secs(60));
    assert_none_lost(&got, total);
    let log = w.log_text();
    assert!(log.contains("lost the connection to RabbitMQ"), "{log}");
    eprintln!(
        "connection closed mid-stream: {} messages for {} records ({} published again)",
        got.len(),
        total,
        got.len() - total
    );
    let status = Api::new(port)
        .get(&format!("/connectors/{name}/status"))
        .body;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert!(w.terminate().success());
}

#[test]
fn a_kafka_restart_mid_stream_loses_nothing() {
    // Kafka stops while records flow and comes back: nothing is committed meanwhile,
    // the consumer resumes, every record reaches the queue.
    let _rabbit = rabbit_shared();
    use_spare_broker();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-sink-kafka");
    let total = 30_000;
    let producer = produce_in_background(&topic, total, true);
    let name = unique("amqp-sink-kafka");
    let cfg = sink(
        d,
        &name,
        &topic,
        &[
            &format!("amqp.routing.key: {queue}"),
            "consumer.override.max.poll.records: 200",
            "errors.retry.timeout: -1",
        ],
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&cfg]);
    wait_for("some messages", Duration::from_secs(60), || {
        queue_counts(&queue).0 >= 2_000
    });
    assert!(stack("stop-spare-broker"), "cannot stop the spare broker");
    let at_stop = queue_counts(&queue).0;
    std::thread::sleep(Duration::from_secs(3));
    assert!(stack("start-spare-broker"), "cannot start the spare broker");
    producer.join().unwrap();
    wait_committed(&name, &topic, total as i64, &w);
    let got = take(&queue, total, Duration::from_secs(60));
    assert_none_lost(&got, total);
    assert!(
        at_stop < total as u64,
        "Kafka stopped after the last record"
    );
    eprintln!(
        "Kafka restart: {at_stop} in the queue at the stop; {} messages for {total} records",
        got.len()
    );
    let status = Api::new(port)
        .get(&format!("/connectors/{name}/status"))
        .body;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert!(w.terminate().success());
}

#[test]
fn a_rabbitmq_restart_mid_stream_loses_nothing() {
    // RabbitMQ stops (stop_app) while records flow: publishes fail, the sink reconnects
    // with backoff and publishes again what was not confirmed; nothing is committed
    // meanwhile. (This binary runs alone: RabbitMQ goes away for every client.)
    let _rabbit = RABBIT.write().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-sink-rabbit");
    let total = 30_000;
    let producer = produce_in_background(&topic, total, false);
    let name = unique("amqp-sink-rabbit");
    let cfg = sink(
        d,
        &name,
        &topic,
        &[
            &format!("amqp.routing.key: {queue}"),
            "consumer.override.max.poll.records: 200",
            "amqp.reconnect.delay.max.ms: 1000",
            "errors.retry.timeout: -1",
        ],
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&cfg]);
    wait_for("some messages", Duration::from_secs(60), || {
        queue_counts(&queue).0 >= 2_000
    });
    let rabbitmq = stop_rabbitmq();
    // Messages RabbitMQ confirmed before it went away are committed at the next offset
    // flush (every 500 ms here): let that one happen, then nothing more may.
    std::thread::sleep(Duration::from_millis(1500));
    let committed_at_stop = committed_offset(&format!("connect-{name}"), &topic).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        committed_offset(&format!("connect-{name}"), &topic).unwrap_or(0),
        committed_at_stop,
        "nothing is committed while RabbitMQ is down"
    );
    rabbitmq.now();
    producer.join().unwrap();
    wait_committed(&name, &topic, total as i64, &w);
    let got = take(&queue, total, Duration::from_secs(60));
    assert_none_lost(&got, total);
    assert!(
        (committed_at_stop as usize) < total,
        "RabbitMQ stopped after the last commit"
    );
    eprintln!(
        "RabbitMQ restart: {committed_at_stop} committed at the stop; {} messages for {total} records",
        got.len()
    );
    let status = Api::new(port)
        .get(&format!("/connectors/{name}/status"))
        .body;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    assert!(w.terminate().success());
}

#[test]
fn sigkill_mid_stream_loses_nothing() {
    let _rabbit = rabbit_shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-sink-kill");
    let total = 40_000;
    let name = unique("amqp-sink-kill");
    let cfg = sink(d, &name, &topic, &[&format!("amqp.routing.key: {queue}")]);
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    // records keep arriving while the worker runs, so the kill lands mid-stream
    let t = topic.clone();
    let producer = std::thread::spawn(move || {
        for chunk in 0..40 {
            let msgs: Vec<(String, String)> = (chunk * 1000..(chunk + 1) * 1000)
                .map(|i| (format!("k-{}", i), format!("v-{}", i)))
                .collect();
            let out: Vec<Outgoing<'_>> = msgs
                .iter()
                .map(|(k, v)| (Some(k.as_bytes()), Some(v.as_bytes()), vec![]))
                .collect();
            produce(&t, &out);
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut w = Sluice::standalone(d, &worker, &[&cfg]);
    wait_for("some messages", Duration::from_secs(60), || {
        queue_counts(&queue).0 >= 8_000
    });
    w.kill();
    std::thread::sleep(Duration::from_secs(1));
    let committed = committed_offset(&format!("connect-{name}"), &topic).unwrap_or(0);
    let at_kill = queue_counts(&queue).0;
    producer.join().unwrap();
    assert!(
        (committed as u64) < total as u64,
        "killed too late to test anything"
    );
    let mut w = Sluice::standalone(d, &worker, &[&cfg]);
    wait_committed(&name, &topic, total as i64, &w);
    let got = take(&queue, total, Duration::from_secs(120));
    assert_none_lost(&got, total);
    let dups = got.len() - total;
    // what was published after the last commit before the kill is published again,
    // and no more
    assert!(
        dups as u64 <= at_kill.saturating_sub(committed as u64) + 1_000,
        "{dups} duplicates; {at_kill} in the queue at the kill, {committed} committed"
    );
    eprintln!("SIGKILL: {at_kill} delivered, {committed} committed at the kill; {dups} duplicates");
    assert!(w.terminate().success());
}

#[test]
fn round_trip_queue_source_kafka_sink_queue_keeps_body_key_and_properties() {
    let _rabbit = rabbit_shared();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (q_in, topic) = setup("amqp-sink-rt");
    let q_out = unique("amqp-sink-rt-out");
    declare_queue(&q_out);
    let n = 50;
    let msgs = (0..n).map(|i| {
        let mut h = FieldTable::default();
        h.insert("seq".into(), AMQPValue::LongLongInt(i as i64));
        h.insert("tenant".into(), AMQPValue::LongString("acme".into()));
        AmqpOut {
            // binary bodies, not UTF-8
            body: vec![0xff, 0x00, i as u8, 0xfe],
            properties: BasicProperties::default()
                .with_delivery_mode(2)
                .with_message_id(format!("m-{}", i).into())
                .with_correlation_id(format!("c-{}", i).into())
                .with_type("order".into())
                .with_app_id("shop".into())
                .with_priority(4)
                .with_timestamp(1_700_000_000 + i as u64)
                .with_headers(h),
        }
    });
    publish(&q_in, msgs);
    let (src, snk) = (unique("rt-src"), unique("rt-snk"));
    let src_cfg = d.join("src.yaml");
    std::fs::write(
        &src_cfg,
        format!(
            "name: {src}\nconfig:\n  connector.class: amqp-source\n  amqp.uri: {AMQP_URI}\n  amqp.queue: {q_in}\n  topic: {topic}\n  amqp.record.builder.key.header: correlation_id\n  amqp.properties.copy.to.kafka.headers: true\n  value.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n"
        ),
    )
    .unwrap();
    let snk_cfg = sink(
        d,
        &snk,
        &topic,
        &[
            &format!("amqp.routing.key: {q_out}"),
            "amqp.key.property: correlation_id",
            "value.converter: org.apache.kafka.connect.converters.ByteArrayConverter",
        ],
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&src_cfg, &snk_cfg]);
    wait_committed(&snk, &topic, n as i64, &w);
    let got = take(&q_out, n, Duration::from_secs(30));
    assert_eq!(got.len(), n);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.body, vec![0xff, 0x00, i as u8, 0xfe]);
        assert_eq!(
            m.prop(BasicProperties::message_id),
            Some(format!("m-{i}")),
            "the original id, not the default"
        );
        assert_eq!(
            m.prop(BasicProperties::correlation_id),
            Some(format!("c-{i}"))
        );
        assert_eq!(m.prop(BasicProperties::kind).as_deref(), Some("order"));
        assert_eq!(m.prop(BasicProperties::app_id).as_deref(), Some("shop"));
        assert_eq!(*m.props.priority(), Some(4));
        assert_eq!(*m.props.delivery_mode(), Some(2));
        assert_eq!(*m.props.timestamp(), Some(1_700_000_000 + i as u64));
        assert_eq!(
            m.header("tenant"),
            Some(&AMQPValue::LongString("acme".into()))
        );
        // the integer comes back as an integer (its width follows the header text)
        let seq = match m.header("seq") {
            Some(AMQPValue::ShortShortInt(x)) => *x as i64,
            Some(AMQPValue::ShortInt(x)) => *x as i64,
            Some(AMQPValue::LongInt(x)) => *x as i64,
            Some(AMQPValue::LongLongInt(x)) => *x,
            other => panic!("seq: {:?}", other),
        };
        assert_eq!(seq, i as i64);
        for dropped in [
            "amqp.exchange",
            "amqp.routing_key",
            "amqp.redelivered",
            "exchange",
        ] {
            assert!(m.header(dropped).is_none(), "{dropped} copied");
        }
    }
    assert!(w.terminate().success());
}
