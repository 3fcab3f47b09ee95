//! The AMQP 1.0 connectors against RabbitMQ 3.10's AMQP 1.0 plugin (`rabbitmq_amqp1_0`,
//! on the AMQP port 5672; `scripts/stack.sh up` enables it), the subset of
//! tests/amqp1.rs that applies to that broker: a queue into Kafka with every message
//! accepted (the queue is empty afterwards) and nothing lost, and Kafka into a queue
//! with the sink's message ids, read back by an independent AMQP 1.0 client
//! (python-qpid-proton) and by RabbitMQ's own count. RabbitMQ addresses are
//! `/amq/queue/<queue>` (an existing queue) and take no capabilities; selectors, durable
//! shared subscriptions and the `modified` outcome are Artemis's (see
//! docs/amqp1-source.md#rabbitmq).

#[path = "common/amqp1.rs"]
mod amqp1;
mod common;
#[path = "common/queues.rs"]
mod queues;
#[path = "common/tls.rs"]
mod tls;

use std::time::Duration;

use common::*;
use queues::{declare_queue, queue_counts, read_topic};

const URI: &str = "amqp://guest:guest@127.0.0.1:5672";

fn connector(dir: &std::path::Path, name: &str, class: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nconfig:\n  connector.class: {class}\n  amqp1.uri: {URI}\n  amqp1.capabilities: \"\"\n{body}"
        ),
    )
    .unwrap();
    p
}

#[test]
fn a_rabbitmq_queue_into_kafka_over_amqp_1_0() {
    // Enough messages for many credit top-ups while the broker is sending: RabbitMQ
    // 3.x adds new credit to what is in flight, which fails the link unless the
    // source grants credit only once it is used up (it knows the broker by its open
    // frame).
    const N: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let queue = unique("amqp1-rmq-in");
    declare_queue(&queue);
    let topic = unique("amqp1-rmq-in");
    create_topic(&topic, 1);
    let address = format!("/amq/queue/{queue}");
    assert_eq!(amqp1::send_to(URI, &address, "", &amqp1::numbered(0, N)), N);
    assert_eq!(queue_counts(&queue).0, N as u64);
    let src = connector(
        d,
        &unique("amqp1-rmq-src"),
        "amqp1-source",
        &format!("  amqp1.address: {address}\n  topic: {topic}\n  amqp1.credit: 100\n"),
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&src]);
    wait_for("every message in Kafka", Duration::from_secs(60), || {
        end_offset(&topic) >= N as i64
    });
    // accepted only after Kafka has them: the queue empties, nothing is left unsettled
    wait_for("the queue empty", Duration::from_secs(30), || {
        queue_counts(&queue) == (0, 0, 0)
    });
    assert!(w.terminate().success());
    let log = w.log_text();
    assert!(
        log.contains("this broker adds new link credit to the messages in flight"),
        "RabbitMQ 3.x recognised; log:\n{}",
        log
    );
    assert!(!log.contains("lost the AMQP 1.0 link"), "log:\n{}", log);
    let got = read_topic(&topic, Duration::from_secs(30));
    assert_eq!(got.len(), N, "each message once; log:\n{}", log);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.value_str(), format!("body-{i}"), "in queue order");
        assert_eq!(m.header("JMSMessageID"), Some(format!("m-{i}")));
    }
}

#[test]
fn kafka_into_a_rabbitmq_queue_over_amqp_1_0() {
    const N: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("amqp1-rmq-out");
    create_topic(&topic, 1);
    let queue = unique("amqp1-rmq-out");
    declare_queue(&queue);
    let values: Vec<String> = (0..N).map(|i| format!("out-{i}")).collect();
    let out: Vec<Outgoing<'_>> = values
        .iter()
        .map(|v| (None, Some(v.as_bytes()), vec![("region", b"EU".as_slice())]))
        .collect();
    produce(&topic, &out);
    let address = format!("/amq/queue/{queue}");
    let sink = connector(
        d,
        &unique("amqp1-rmq-sink"),
        "amqp1-sink",
        &format!("  topics: {topic}\n  amqp1.address: {address}\n"),
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&sink]);
    // RabbitMQ accepted (and so stored) every message before the sink commits
    wait_for("every record in the queue", Duration::from_secs(60), || {
        queue_counts(&queue).0 >= N as u64
    });
    assert!(w.terminate().success());
    assert_eq!(queue_counts(&queue).0, N as u64, "each record once");
    let got = amqp1::receive_from(URI, &address, "", N + 10, 3.0);
    assert_eq!(got.len(), N);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m["body"], format!("out-{i}"), "in Kafka order: {m}");
        assert_eq!(m["kind"], "text");
        assert_eq!(m["id"], format!("{topic}-0-{i}"));
        assert_eq!(m["props"]["region"], "EU");
        assert_eq!(m["durable"], true);
    }
}
