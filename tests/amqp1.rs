//! The AMQP 1.0 source and sink against ActiveMQ Artemis 2.40.0 and the Kafka broker
//! that `scripts/stack.sh` starts, with python-qpid-proton as the independent client:
//! JMS text, bytes, map messages and their properties as documented, selectors,
//! durable shared subscriptions, message-group keys, SIGKILL of the worker and an
//! Artemis restart losing nothing, poison messages with both tolerances (the broker's
//! own dead-letter address after its redelivery limit), exactly-once across a crash
//! between a batch's commit and its accept, a sink round trip, and TLS.

#[path = "common/amqp1.rs"]
mod amqp1;
mod common;
#[path = "common/queues.rs"]
mod queues;
#[path = "common/tls.rs"]
mod tls;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use queues::{read_topic, value_counts};
use serde_json::json;

/// Tests that restart Artemis or count duplicates must not overlap.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    amqp1::start_artemis();
    g
}

fn config(dir: &Path, name: &str, class: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    let uri = if body.contains("amqp1.uri:") {
        String::new()
    } else {
        format!("  amqp1.uri: {}\n", amqp1::URI)
    };
    std::fs::write(
        &p,
        format!("name: {name}\nconfig:\n  connector.class: {class}\n{uri}{body}"),
    )
    .unwrap();
    p
}

fn source(dir: &Path, name: &str, address: &str, topic: &str, extra: &str) -> PathBuf {
    config(
        dir,
        name,
        "amqp1-source",
        &format!("  amqp1.address: {address}\n  topic: {topic}\n{extra}"),
    )
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Every `body-<i>` for i < n is present and nothing else; returns the duplicates.
fn check_all_present(msgs: &[Msg], n: usize) -> usize {
    let counts = value_counts(msgs);
    let missing: Vec<usize> = (0..n)
        .filter(|i| !counts.contains_key(&format!("body-{}", i)))
        .take(10)
        .collect();
    assert!(missing.is_empty(), "messages lost, e.g. {:?}", missing);
    assert_eq!(counts.len(), n, "unexpected values in the topic");
    msgs.len() - n
}

fn wait_records(topic: &str, n: usize, secs: u64, w: &Sluice) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while end_offset(topic) < n as i64 {
        if std::time::Instant::now() > deadline {
            panic!(
                "{} holds {} of {} records; log:\n{}",
                topic,
                end_offset(topic),
                n,
                tail(&w.log_text())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn jms_text_bytes_map_and_stream_messages_arrive_as_documented() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique("jms-types");
    let topic = unique("jms-types");
    create_topic(&topic, 1);
    let sent = amqp1::send(
        &address,
        "queue",
        &[
            json!({"kind": "text", "body": "héllo", "id": "ID:text-1", "correlation_id": "corr-1", "subject": "order", "group_id": "g-1",
               "group_sequence": 7, "reply_to": "replies", "priority": 7, "durable": true, "creation_time": 1_700_000_000_123u64,
               "props": {"region": "EU", "qty": 3, "vip": true, "score": 2.5}}),
            json!({"kind": "bytes", "body": "AAEC/w==", "b64": true, "id": "ID:bytes-1"}),
            json!({"kind": "map", "body": {"name": "bolt", "qty": 12, "price": 0.25}, "id": "ID:map-1"}),
            json!({"kind": "list", "body": [1, 2, 3], "id": "ID:list-1"}),
            json!({"kind": "null", "id": "ID:null-1"}),
        ],
    );
    assert_eq!(sent, 5);
    let c = source(d, &unique("jms-types"), &address, &topic,
        "  amqp1.record.builder.key.header: JMSXGroupID\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: true\n");
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_records(&topic, 5, 60, &w);
    assert!(w.terminate().success());
    // Artemis counts credit from the delivery count (unlike RabbitMQ 3.x): credit is
    // topped up while messages flow.
    assert!(!w
        .log_text()
        .contains("this broker adds new link credit to the messages in flight"));
    let msgs = read_all(&topic);
    assert_eq!(msgs.len(), 5, "{:?}", msgs);
    let v = |i: usize| -> serde_json::Value {
        serde_json::from_slice(msgs[i].value.as_deref().unwrap()).unwrap()
    };

    // TextMessage: an optional string, with every JMS header and typed property.
    let t = v(0);
    assert_eq!(t["schema"]["type"], "string");
    assert_eq!(t["payload"], "héllo");
    let m = &msgs[0];
    assert_eq!(m.key_str(), Some("g-1"), "key from JMSXGroupID");
    for (h, want) in [
        ("JMSMessageID", "ID:text-1"),
        ("JMSCorrelationID", "corr-1"),
        ("JMSType", "order"),
        ("JMSXGroupID", "g-1"),
        ("JMSXGroupSeq", "7"),
        ("JMSReplyTo", "replies"),
        ("JMSPriority", "7"),
        ("JMSDeliveryMode", "2"),
        ("JMSTimestamp", "2023-11-14T22:13:20.123Z"),
        ("JMSRedelivered", "false"),
        ("JMSXDeliveryCount", "1"),
        ("region", "EU"),
        ("qty", "3"),
        ("vip", "true"),
        ("score", "2.5"),
        ("x-opt-jms-msg-type", "5"),
    ] {
        assert_eq!(
            m.header(h).as_deref(),
            Some(want),
            "header {} of {:?}",
            h,
            m.headers
        );
    }
    // BytesMessage: optional bytes (base64 in JSON).
    let b = v(1);
    assert_eq!(b["schema"]["type"], "bytes");
    assert_eq!(b["payload"], "AAEC/w==");
    assert_eq!(msgs[1].key, None, "no group id: null key");
    // MapMessage: a struct with a field per entry, typed.
    let mm = v(2);
    assert_eq!(mm["schema"]["type"], "struct");
    let fields: Vec<(String, String)> = mm["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                f["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            ("name".into(), "string".into()),
            ("qty".into(), "int64".into()),
            ("price".into(), "double".into())
        ]
    );
    assert_eq!(
        mm["payload"],
        json!({"name": "bolt", "qty": 12, "price": 0.25})
    );
    // A list body: a schemaless array; no body: null.
    assert_eq!(v(3)["payload"], json!([1, 2, 3]));
    assert!(
        msgs[4].value.is_none(),
        "no body: a null value (a tombstone)"
    );
    assert_eq!(msgs[4].header("JMSMessageID").as_deref(), Some("ID:null-1"));
    // Everything was accepted: the queue is empty.
    assert!(amqp1::receive(&address, "queue", 10, 1.0).is_empty());
}

#[test]
fn selector_filters_and_group_keys_keep_each_groups_order() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique("selector");
    let topic = unique("selector");
    create_topic(&topic, 4);
    let msgs: Vec<_> = (0..300)
        .map(|i| {
            json!({"kind": "text", "body": format!("body-{}", i), "group_id": format!("g{}", i % 5),
                        "props": {"region": if i % 3 == 0 { "US" } else { "EU" }, "n": i}})
        })
        .collect();
    amqp1::send(&address, "queue", &msgs);
    let c = source(d, &unique("selector"), &address, &topic,
        "  amqp1.selector: region = 'EU' AND n >= 0\n  amqp1.record.builder.key.header: JMSXGroupID\n  amqp1.batch.size: 17\n");
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_records(&topic, 200, 60, &w);
    std::thread::sleep(Duration::from_secs(2));
    assert!(w.terminate().success());
    let got = read_all(&topic);
    assert_eq!(got.len(), 200, "only EU messages (2 of 3)");
    assert!(got
        .iter()
        .all(|m| m.header("region").as_deref() == Some("EU")));
    // Per group: one partition, in send order.
    let mut per_key: HashMap<String, (i32, Vec<usize>)> = HashMap::new();
    for m in &got {
        let n: usize = m
            .value_str()
            .strip_prefix("body-")
            .unwrap()
            .parse()
            .unwrap();
        let e = per_key
            .entry(m.key_str().unwrap().to_string())
            .or_insert((m.partition, Vec::new()));
        assert_eq!(e.0, m.partition, "a group's records share a partition");
        e.1.push(n);
    }
    let mut by_partition: HashMap<i32, Vec<&Msg>> = HashMap::new();
    for m in &got {
        by_partition.entry(m.partition).or_default().push(m);
    }
    for ms in by_partition.values_mut() {
        ms.sort_by_key(|m| m.offset);
        let mut last: HashMap<&str, usize> = HashMap::new();
        for m in ms.iter() {
            let n: usize = m
                .value_str()
                .strip_prefix("body-")
                .unwrap()
                .parse()
                .unwrap();
            if let Some(prev) = last.insert(m.key_str().unwrap(), n) {
                assert!(
                    prev < n,
                    "group {} out of order: {} after {}",
                    m.key_str().unwrap(),
                    n,
                    prev
                );
            }
        }
    }
    assert_eq!(per_key.len(), 5);
    // The US messages are still in the queue for other consumers.
    let left = amqp1::receive(&address, "queue", 200, 2.0);
    assert_eq!(left.len(), 100);
    assert!(left.iter().all(|m| m["props"]["region"] == "US"));
}

#[test]
fn sigkill_mid_stream_loses_nothing_and_duplicates_are_bounded_by_the_credit() {
    let _s = serial();
    // Enough that the kill comes well before the end: the source takes 10,000
    // messages between two looks at the topic on a quiet machine.
    const N: usize = 40_000;
    const CREDIT: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique("kill");
    let topic = unique("kill");
    create_topic(&topic, 1);
    amqp1::send(&address, "queue", &amqp1::numbered(0, N));
    let c = source(
        d,
        &unique("kill"),
        &address,
        &topic,
        &format!("  amqp1.credit: {CREDIT}\n  amqp1.batch.size: 100\n"),
    );
    let worker = worker_yaml(d, free_port(), "");
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, N / 3, 60, &w);
    w.kill();
    let at_kill = end_offset(&topic);
    eprintln!("killed with {} of {} records in Kafka", at_kill, N);
    assert!((at_kill as usize) < N, "killed too late to test anything");
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, N, 60, &w);
    std::thread::sleep(Duration::from_secs(2));
    assert!(w.terminate().success());
    let msgs = read_topic(&topic, Duration::from_secs(60));
    let dups = check_all_present(&msgs, N);
    eprintln!(
        "duplicates after SIGKILL: {} (bound: credit {})",
        dups, CREDIT
    );
    assert!(dups <= CREDIT, "{} duplicates > credit {}", dups, CREDIT);
    assert!(
        amqp1::receive(&address, "queue", 10, 1.0).is_empty(),
        "the queue is empty"
    );
}

#[test]
fn exactly_once_skips_redeliveries_of_committed_messages_after_a_crash() {
    let _s = serial();
    const N: usize = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique("eos");
    let topic = unique("eos");
    create_topic(&topic, 1);
    amqp1::send(&address, "queue", &amqp1::numbered(0, N));
    let c = source(
        d,
        &unique("eos"),
        &address,
        &topic,
        "  amqp1.credit: 500\n  amqp1.batch.size: 100\n  exactly.once.support: required\n",
    );
    let worker = worker_yaml(
        d,
        free_port(),
        &format!(
            "offset.storage.topic: {}\nexactly.once.source.support: enabled\ngroup.id: {}",
            unique("amqp1-eos-offsets"),
            unique("amqp1-eos")
        ),
    );
    // The worker dies right after its fifth transaction commits, before Artemis gets
    // that batch's accept: Artemis delivers it again (with delivery-count 0).
    let mut w = Sluice::standalone_with_env(
        d,
        &worker,
        &[&c],
        &[("SLUICE_FAULT_EXIT_AFTER_COMMITS", "5")],
    );
    let status = w
        .wait_exit(Duration::from_secs(120))
        .expect("the fault hook ends the worker");
    assert_eq!(status.code(), Some(137), "{}", tail(&w.log_text()));
    let committed = read_all(&topic).len();
    assert!(committed > 0, "five batches were committed");
    eprintln!("crashed with {committed} records in Kafka");

    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("every record", Duration::from_secs(120), || {
        read_all(&topic).len() >= N
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(w.terminate().success());
    let log = w.log_text();
    assert!(
        log.contains("skipped redelivered messages whose ids Kafka already has"),
        "{}",
        tail(&log)
    );
    let msgs = read_all(&topic);
    assert_eq!(
        check_all_present(&msgs, N),
        0,
        "no message is in Kafka twice"
    );
    let values: Vec<&str> = msgs.iter().map(|m| m.value_str()).collect();
    let want: Vec<String> = (0..N).map(|i| format!("body-{}", i)).collect();
    assert_eq!(values, want, "in queue order");
    assert!(
        amqp1::receive(&address, "queue", 10, 1.0).is_empty(),
        "every message was accepted"
    );
}

#[test]
fn artemis_restart_mid_stream_loses_nothing() {
    let _s = serial();
    // Enough that the stop comes well before the end: the source takes about 7,000
    // messages while Artemis shuts down.
    const N: usize = 40_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique("restart");
    let topic = unique("restart");
    create_topic(&topic, 1);
    amqp1::send(&address, "queue", &amqp1::numbered(0, N));
    let c = source(
        d,
        &unique("restart"),
        &address,
        &topic,
        "  amqp1.credit: 200\n  amqp1.batch.size: 50\n  amqp1.reconnect.delay.max.ms: 1000\n",
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_records(&topic, N / 4, 60, &w);
    assert!(stack("stop-artemis"), "stop Artemis");
    let artemis = Restore::new(|| {
        if !stack("start-artemis") {
            eprintln!("cannot start ActiveMQ Artemis again");
        }
    });
    let at_stop = end_offset(&topic);
    eprintln!("Artemis stopped with {} of {} records in Kafka", at_stop, N);
    assert!((at_stop as usize) < N, "stopped too late to test anything");
    std::thread::sleep(Duration::from_secs(2));
    artemis.now();
    amqp1::start_artemis(); // asserts it is up
    wait_records(&topic, N, 90, &w);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        w.log_text().contains("reconnected to the AMQP 1.0 broker"),
        "{}",
        tail(&w.log_text())
    );
    assert!(w.terminate().success());
    let msgs = read_topic(&topic, Duration::from_secs(60));
    let dups = check_all_present(&msgs, N);
    eprintln!("duplicates after the Artemis restart: {}", dups);
    assert!(
        amqp1::receive(&address, "queue", 10, 1.0).is_empty(),
        "the queue is empty"
    );
}

#[test]
fn durable_shared_subscription_keeps_messages_while_the_worker_is_down() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique("prices");
    let topic = unique("prices");
    create_topic(&topic, 1);
    let name = unique("prices");
    let c = source(
        d,
        &name,
        &address,
        &topic,
        &format!("  amqp1.subscription.name: {}\n", unique("sub")),
    );
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    api.wait_state(&name, "RUNNING");
    wait_for("the subscription", Duration::from_secs(30), || {
        w.log_text().contains("receiving from the AMQP 1.0 broker")
    });
    amqp1::send(&address, "topic", &amqp1::numbered(0, 100));
    wait_records(&topic, 100, 60, &w);
    assert!(w.terminate().success());
    // Published while no worker is attached: the durable subscription keeps them.
    amqp1::send(&address, "topic", &amqp1::numbered(100, 100));
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 200, 60, &w);
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    let msgs = read_all(&topic);
    assert_eq!(
        check_all_present(&msgs, 200),
        0,
        "a graceful stop leaves no duplicates"
    );
}

#[test]
fn poison_message_goes_to_the_dead_letter_queue_with_tolerance_all() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique("poison-all");
    let topic = unique("poison-all");
    let dlq = unique("poison-all-dlq");
    create_topic(&topic, 1);
    amqp1::send(
        &address,
        "queue",
        &[
            json!({"kind": "text", "body": "{\"n\": 1}"}),
            json!({"kind": "text", "body": "not json", "id": "ID:poison", "props": {"tenant": "acme"}}),
            json!({"kind": "text", "body": "{\"n\": 3}"}),
        ],
    );
    let c = source(d, &unique("poison-all"), &address, &topic, &format!(
        "  amqp1.record.builder: json\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.topic.replication.factor: 1\n  errors.deadletterqueue.context.headers.enable: true\n"));
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_records(&topic, 2, 60, &w);
    wait_for("the dead letter record", Duration::from_secs(30), || {
        end_offset(&dlq) >= 1
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    let good: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert_eq!(good, vec!["{\"n\":1}", "{\"n\":3}"]);
    let bad = read_all(&dlq);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].value_str(), "not json");
    assert_eq!(bad[0].header("tenant").as_deref(), Some("acme"));
    let why = bad[0]
        .header("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(why.contains("JSON"), "{}", why);
    // accepted with its batch: nothing is left on the broker
    assert!(amqp1::receive(&address, "queue", 10, 1.0).is_empty());
}

#[test]
fn untolerated_poison_fails_the_task_and_ends_in_the_brokers_dead_letter_address() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // poison.* addresses: 3 delivery attempts, then Artemis' DLQ address
    let address = format!("poison.{}", unique("none"));
    let topic = unique("poison-none");
    create_topic(&topic, 1);
    let marker = unique("poison-id");
    amqp1::send(
        &address,
        "queue",
        &[
            json!({"kind": "text", "body": "{\"n\": 1}"}),
            json!({"kind": "text", "body": "not json", "id": marker.clone()}),
            json!({"kind": "text", "body": "{\"n\": 3}"}),
        ],
    );
    let name = unique("poison-none");
    let c = source(
        d,
        &name,
        &address,
        &topic,
        "  amqp1.record.builder: json\n  amqp1.batch.size: 1\n",
    );
    let port = free_port();
    let worker = worker_yaml(d, port, "").replace(
        "task.auto.restart.enable: false",
        "task.auto.restart.enable: true\ntask.auto.restart.backoff.initial.ms: 300\ntask.auto.restart.backoff.max.ms: 600",
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    // The task fails on the poison message, is restarted, fails again...
    wait_for(
        "a failed task with the reason",
        Duration::from_secs(30),
        || w.log_text().contains("cannot be read as JSON"),
    );
    // ... until Artemis' redelivery limit (3) moves the message to its DLQ; then the
    // task gets past it and the third message arrives.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !read_all(&topic)
        .iter()
        .any(|m| m.value_str() == "{\"n\":3}")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the third message did not arrive; log:\n{}",
            tail(&w.log_text())
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    api.wait_state(&name, "RUNNING");
    assert!(w.terminate().success());
    // The first message may come twice (released when the task failed before Kafka
    // acknowledged it); the poison one never arrives.
    let mut got: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    got.dedup();
    assert_eq!(got, vec!["{\"n\":1}", "{\"n\":3}"]);
    let log = w.log_text();
    assert!(
        log.contains("settled messages that failed to convert as modified"),
        "{}",
        tail(&log)
    );
    let dead = amqp1::receive("DLQ", "queue", 1000, 2.0);
    let ours: Vec<_> = dead.iter().filter(|m| m["id"] == json!(marker)).collect();
    assert_eq!(
        ours.len(),
        1,
        "the poison message is in Artemis' DLQ: {:?}",
        dead
    );
    assert_eq!(ours[0]["body"], "not json");
}

#[test]
fn sink_round_trip_kafka_artemis_kafka_keeps_body_key_and_properties() {
    let _s = serial();
    const N: usize = 2000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = unique("rt-in");
    let output = unique("rt-out");
    let address = unique("rt-q");
    create_topic(&input, 1);
    create_topic(&output, 1);
    let values: Vec<String> = (0..N).map(|i| format!("body-{}", i)).collect();
    let keys: Vec<String> = (0..N).map(|i| format!("k-{}", i % 7)).collect();
    let corr: Vec<String> = (0..N).map(|i| format!("c-{}", i)).collect();
    let out: Vec<Outgoing<'_>> = (0..N)
        .map(|i| {
            (
                Some(keys[i].as_bytes()),
                Some(values[i].as_bytes()),
                vec![
                    ("JMSCorrelationID", corr[i].as_bytes()),
                    ("region", b"EU".as_slice()),
                    ("JMSType", b"order".as_slice()),
                ],
            )
        })
        .collect();
    produce(&input, &out);
    let sink = config(
        d,
        &unique("rt-sink"),
        "amqp1-sink",
        &format!("  topics: {input}\n  amqp1.address: {address}\n"),
    );
    let src = source(
        d,
        &unique("rt-source"),
        &address,
        &output,
        "  amqp1.record.builder.key.header: JMSXGroupID\n",
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&sink, &src]);
    wait_records(&output, N, 60, &w);
    std::thread::sleep(Duration::from_secs(2));
    assert!(w.terminate().success());
    let got = read_topic(&output, Duration::from_secs(60));
    assert_eq!(check_all_present(&got, N), 0);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.value_str(), format!("body-{}", i), "order");
        assert_eq!(m.key_str(), Some(keys[i].as_str()), "key via group-id");
        assert_eq!(m.header("JMSCorrelationID"), Some(corr[i].clone()));
        assert_eq!(m.header("JMSType").as_deref(), Some("order"));
        assert_eq!(m.header("region").as_deref(), Some("EU"));
        assert_eq!(
            m.header("JMSMessageID"),
            Some(format!("{}-0-{}", input, i)),
            "message-id <topic>-<partition>-<offset>"
        );
        assert_eq!(
            m.header("x-opt-jms-msg-type").as_deref(),
            Some("5"),
            "a TextMessage"
        );
    }
}

/// A worker running, with the same connection keys `good`, a source (queue -> `topic`),
/// a sink (`topic` -> a second queue) and a second source (that queue -> `back`), and
/// beside them a source with the keys `bad`.
struct RefusedBeside {
    w: Sluice,
    /// The bad source's status once `refused` held for it.
    trace: String,
    topic: String,
    back: String,
    _dir: tempfile::TempDir,
}

/// Starts [`RefusedBeside`] with `n` messages in the first queue; returns once both
/// topics hold `n` records and the bad source's status satisfies `refused`.
fn round_trip_beside_a_refused_source(
    prefix: &str,
    n: usize,
    good: &str,
    bad: &str,
    what: &str,
    refused: impl Fn(&str) -> bool,
) -> RefusedBeside {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let address = unique(prefix);
    let topic = unique(prefix);
    let back = unique(&format!("{prefix}-back"));
    create_topic(&topic, 1);
    create_topic(&back, 1);
    amqp1::send(&address, "queue", &amqp1::numbered(0, n));
    let src = source(d, &unique(&format!("{prefix}-src")), &address, &topic, good);
    let sink = config(
        d,
        &unique(&format!("{prefix}-sink")),
        "amqp1-sink",
        &format!("  topics: {topic}\n  amqp1.address: {back}-q\n{good}"),
    );
    let src_back = source(
        d,
        &unique(&format!("{prefix}-src2")),
        &format!("{back}-q"),
        &back,
        good,
    );
    let bad_name = unique(&format!("{prefix}-bad"));
    let bad = source(d, &bad_name, &address, &topic, bad);
    let port = free_port();
    let w = Sluice::standalone(
        d,
        &worker_yaml(d, port, ""),
        &[&src, &sink, &src_back, &bad],
    );
    wait_records(&topic, n, 60, &w);
    wait_records(&back, n, 60, &w);
    let api = Api::new(port);
    let mut trace = String::new();
    wait_for(what, Duration::from_secs(30), || {
        let s = api.get(&format!("/connectors/{}/status", bad_name));
        trace = s.body.to_string();
        refused(&trace)
    });
    RefusedBeside {
        w,
        trace,
        topic,
        back,
        _dir: dir,
    }
}

#[test]
fn tls_connections_with_the_stacks_ca_and_a_refused_one() {
    let _s = serial();
    let keys = |ca: &str| {
        format!(
            "  amqp1.uri: {}\n  amqp1.ssl.ca.location: {}\n",
            amqp1::TLS_URI,
            tls::tls_file(ca)
        )
    };
    let mut r = round_trip_beside_a_refused_source(
        "tls",
        50,
        &keys("ca.pem"),
        &keys("other-ca.pem"),
        "the refused handshake in the status",
        |t| t.contains("TLS handshake failed"),
    );
    assert!(
        !r.trace.contains("sluice-secret"),
        "no secret in the status: {}",
        r.trace
    );
    assert!(
        !r.w.log_text().contains("sluice-secret"),
        "no secret in the log"
    );
    assert!(r.w.terminate().success());
    let msgs = read_all(&r.back);
    assert_eq!(check_all_present(&msgs, 50), 0);
}

/// SASL EXTERNAL: the source and the sink authenticate by the stack's client
/// certificate on the acceptor that offers nothing else; a certificate from another CA
/// is refused, and the status says so.
#[test]
fn sasl_external_by_client_certificate_and_a_refused_certificate() {
    let _s = serial();
    let keys = |cert: &str, key: &str| {
        format!(
            "  amqp1.uri: {}\n  amqp1.sasl.mechanism: EXTERNAL\n  amqp1.ssl.ca.location: {}\n  amqp1.ssl.certificate.location: {}\n  amqp1.ssl.key.location: {}\n",
            amqp1::EXTERNAL_URI,
            tls::tls_file("ca.pem"),
            tls::tls_file(cert),
            tls::tls_file(key)
        )
    };
    let mut r = round_trip_beside_a_refused_source(
        "ext",
        40,
        &keys("client.pem", "client.key"),
        &keys("other-client.pem", "other-client.key"),
        "the refused certificate in the status",
        |t| t.contains("127.0.0.1:5675") || t.contains("localhost:5675"),
    );
    assert!(
        r.trace.contains("fatal alert: CertificateUnknown"),
        "the refusal names the TLS alert: {}",
        r.trace
    );
    assert!(r.w.terminate().success());
    assert_eq!(check_all_present(&read_all(&r.topic), 40), 0);
    assert_eq!(check_all_present(&read_all(&r.back), 40), 0);
}

/// Artemis refuses messages to a `full.*` address past 10 KB (stack.sh sets its
/// address-full-policy to FAIL) and settles them `rejected`: each is a failed record,
/// in the dead letter queue with the reason when tolerated, the task FAILED naming it
/// when not; nothing is lost either way (what the broker took plus the DLQ is everything).
#[test]
fn sink_messages_the_broker_rejects_are_record_failures() {
    let _s = serial();
    const N: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = unique("full-in");
    create_topic(&input, 1);
    let body = "x".repeat(1000);
    let values: Vec<String> = (0..N).map(|i| format!("{i:04}{body}")).collect();
    let out: Vec<Outgoing<'_>> = values
        .iter()
        .map(|v| (None, Some(v.as_bytes()), vec![]))
        .collect();
    produce(&input, &out);
    let dlq = unique("full-dlq");
    let tolerated = unique("full-all");
    let address = format!("full.{}", unique("q"));
    let sink = config(
        d,
        &tolerated,
        "amqp1-sink",
        &format!(
            "  topics: {input}\n  amqp1.address: {address}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.topic.replication.factor: 1\n  errors.deadletterqueue.context.headers.enable: true\n"
        ),
    );
    let strict = unique("full-none");
    let strict_address = format!("full.{}", unique("q"));
    let strict_sink = config(
        d,
        &strict,
        "amqp1-sink",
        &format!("  topics: {input}\n  amqp1.address: {strict_address}\n"),
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&sink, &strict_sink]);
    let api = Api::new(port);
    api.wait_ready();
    // tolerated: every record committed, the refused ones in the DLQ with the reason
    wait_for("every record committed", Duration::from_secs(60), || {
        committed_offset(&format!("connect-{tolerated}"), &input) == Some(N as i64)
    });
    let dead = read_topic(&dlq, Duration::from_secs(30));
    assert!(!dead.is_empty(), "some records were refused");
    for m in &dead {
        let why = m
            .header("__connect.errors.exception.message")
            .unwrap_or_default();
        assert!(
            why.contains("rejected") && why.contains(&address),
            "the reason: {why}"
        );
    }
    let taken = amqp1::receive(&address, "queue", N + 10, 2.0);
    assert!(!taken.is_empty(), "Artemis took the first ones");
    let mut all: Vec<String> = taken
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .chain(dead.iter().map(|m| m.value_str().to_string()))
        .collect();
    all.sort();
    assert_eq!(
        all, values,
        "what Artemis took plus the DLQ is every record, once"
    );
    // not tolerated: the task fails and says why
    let mut status = serde_json::Value::Null;
    wait_for("the strict sink to fail", Duration::from_secs(60), || {
        status = api.get(&format!("/connectors/{strict}/status")).body["tasks"][0].clone();
        status["state"] == "FAILED"
    });
    let trace = status["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("the broker rejected the message") && trace.contains(&strict_address),
        "{trace}"
    );
    assert!(w.terminate().success());
    let _ = amqp1::receive(&strict_address, "queue", N + 10, 1.0);
}
