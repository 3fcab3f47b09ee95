//! The RabbitMQ source against the real RabbitMQ and Kafka-protocol broker that
//! `scripts/stack.sh` starts: exactly once in a normal run, at least once across a
//! SIGKILL, a Kafka outage and a RabbitMQ restart, and poison messages with both error
//! tolerances.

mod common;
#[path = "common/queues.rs"]
mod queues;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use queues::*;

/// The tests stop RabbitMQ and the Kafka broker or count exact duplicates, so they
/// must not overlap: each takes this lock (cargo runs tests of a file in parallel).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connector config file for `queue` -> `topic`.
fn amqp_config(dir: &Path, name: &str, queue: &str, topic: &str, extra: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nconfig:\n  connector.class: amqp-source\n  amqp.uri: {AMQP_URI}\n  amqp.queue: {queue}\n  topic: {topic}\n  amqp.record.builder.body.type: string\n{extra}"
        ),
    )
    .unwrap();
    p
}

fn setup(prefix: &str) -> (String, String) {
    let queue = unique(prefix);
    let topic = unique(prefix);
    declare_queue(&queue);
    create_topic(&topic, 1);
    (queue, topic)
}

/// Waits until the queue is empty (nothing ready, nothing unacknowledged).
fn wait_queue_empty(queue: &str, timeout: Duration, w: &Sluice) {
    let deadline = Instant::now() + timeout;
    loop {
        let (m, _, _) = queue_counts(queue);
        if m == 0 {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "queue {} still holds {} messages after {:?}; log:\n{}",
                queue,
                m,
                timeout,
                tail(&w.log_text())
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// Every `body-<i>` for i < n occurs at least once and nothing else occurs; returns
/// the number of duplicates.
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

#[test]
fn hundred_thousand_persistent_messages_arrive_exactly_once_with_keys_and_headers() {
    let _serial = serial();
    const N: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-100k");
    let started = Instant::now();
    assert_eq!(publish(&queue, numbered(0, N)), N);
    eprintln!(
        "published {} persistent messages in {:?}",
        N,
        started.elapsed()
    );
    let name = unique("amqp-100k");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        "  amqp.record.builder.key.header: JMSMessageID\n  amqp.properties.copy.to.kafka.headers: true\n  amqp.prefetch: 4000\n  amqp.batch.size: 500\n",
    );
    let started = Instant::now();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_for("100k records in Kafka", Duration::from_secs(300), || {
        end_offset(&topic) >= N as i64
    });
    eprintln!("{} records in Kafka after {:?}", N, started.elapsed());
    wait_queue_empty(&queue, Duration::from_secs(60), &w);
    assert!(w.terminate().success());
    assert_eq!(
        end_offset(&topic),
        N as i64,
        "no duplicates in a normal run"
    );

    let msgs = read_topic(&topic, Duration::from_secs(240));
    assert_eq!(msgs.len(), N);
    assert_eq!(check_all_present(&msgs, N), 0);
    let mut keys = HashSet::new();
    for (pos, m) in msgs.iter().enumerate() {
        let i: usize = m
            .value_str()
            .strip_prefix("body-")
            .unwrap()
            .parse()
            .unwrap();
        // One queue, one task: Kafka has them in queue order.
        assert_eq!(i, pos, "order");
        assert_eq!(
            m.key_str(),
            Some(format!("m-{}", i).as_str()),
            "key from JMSMessageID"
        );
        assert!(keys.insert(m.key.clone()));
        assert_eq!(m.header("seq"), Some(i.to_string()), "typed header copied");
        assert_eq!(m.header("amqp.message_id"), Some(format!("m-{}", i)));
        assert_eq!(m.header("amqp.correlation_id"), Some(format!("c-{}", i)));
        assert_eq!(m.header("amqp.delivery_mode").as_deref(), Some("2"));
        assert_eq!(m.header("amqp.redelivered").as_deref(), Some("false"));
    }
    assert_eq!(queue_counts(&queue).0, 0);
}

#[test]
fn sigkill_mid_stream_loses_nothing_and_duplicates_are_bounded_by_the_prefetch() {
    let _serial = serial();
    // Enough that the kill comes well before the end: about 10,000 messages go by
    // between reaching a third and the kill.
    const N: usize = 60_000;
    const PREFETCH: u64 = 500;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-kill");
    publish(&queue, numbered(0, N));
    let name = unique("amqp-kill");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        &format!("  amqp.prefetch: {PREFETCH}\n  amqp.batch.size: 100\n"),
    );
    let worker = worker_yaml(d, free_port(), "");
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("a third of the records", Duration::from_secs(120), || {
        end_offset(&topic) >= (N / 3) as i64
    });
    w.kill();
    let at_kill = end_offset(&topic);
    let (left, _, _) = queue_counts(&queue);
    eprintln!(
        "killed with {} records in Kafka and {} messages left in the queue",
        at_kill, left
    );
    assert!(left > 0, "killed too late to test anything");

    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_queue_empty(&queue, Duration::from_secs(180), &w);
    wait_for("every record", Duration::from_secs(60), || {
        end_offset(&topic) >= N as i64
    });
    assert!(w.terminate().success());
    let msgs = read_topic(&topic, Duration::from_secs(120));
    let dups = check_all_present(&msgs, N);
    eprintln!(
        "duplicates after SIGKILL: {} (bound: prefetch {} = messages unacknowledged at the kill)",
        dups, PREFETCH
    );
    assert!(
        dups as u64 <= PREFETCH,
        "{} duplicates > prefetch {}",
        dups,
        PREFETCH
    );
    // Every duplicate was delivered before the kill and redelivered after it.
    let counts = value_counts(&msgs);
    assert!(counts.values().all(|&c| c <= 2));
}

#[test]
fn exactly_once_skips_redeliveries_of_committed_messages_after_a_crash() {
    let _serial = serial();
    const N: usize = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-eos");
    publish(&queue, numbered(0, N));
    let name = unique("amqp-eos");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        "  amqp.prefetch: 500\n  amqp.batch.size: 100\n  exactly.once.support: required\n",
    );
    let worker = worker_yaml(
        d,
        free_port(),
        &format!(
            "offset.storage.topic: {}\nexactly.once.source.support: enabled\ngroup.id: amqp-eos",
            unique("amqp-eos-offsets")
        ),
    );

    // The worker dies right after its fifth transaction commits, before that batch is
    // acknowledged to RabbitMQ: RabbitMQ must deliver it again.
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
    std::thread::sleep(Duration::from_secs(1));
    let (left, _, _) = queue_counts(&queue);
    eprintln!("crashed with {committed} records in Kafka and {left} messages in the queue");
    assert!(
        left as usize > N - committed,
        "some committed messages were not acknowledged, so RabbitMQ holds them again"
    );

    // The restarted worker recognises the redelivered messages by their ids.
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_queue_empty(&queue, Duration::from_secs(120), &w);
    wait_for("every record", Duration::from_secs(60), || {
        read_all(&topic).len() >= N
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    let log = w.log_text();
    assert!(
        log.contains("skipped redelivered messages whose ids Kafka already has"),
        "{}",
        tail(&log)
    );
    let msgs = read_all(&topic);
    let dups = check_all_present(&msgs, N);
    assert_eq!(dups, 0, "no message is in Kafka twice");
    let values: Vec<&str> = msgs.iter().map(|m| m.value_str()).collect();
    let want: Vec<String> = (0..N).map(|i| format!("body-{}", i)).collect();
    assert_eq!(values, want, "in queue order");
}

#[test]
fn kafka_outage_acks_nothing_and_everything_arrives_after() {
    let _serial = serial();
    // the stack's spare broker: the one the other tests use stays up
    use_spare_broker();
    const BEFORE: usize = 5_000;
    const DURING: usize = 20_000;
    const N: usize = BEFORE + DURING;
    const PREFETCH: u64 = 1000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-outage");
    publish(&queue, numbered(0, BEFORE));
    let name = unique("amqp-outage");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        &format!("  amqp.prefetch: {PREFETCH}\n  amqp.batch.size: 250\n"),
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_for("the first records", Duration::from_secs(120), || {
        end_offset(&topic) >= 1_000
    });
    assert!(stack("stop-spare-broker"), "cannot stop the broker");
    // Messages keep coming while Kafka is down.
    publish(&queue, numbered(BEFORE, DURING));
    // Let acks of batches Kafka confirmed just before the stop go out.
    std::thread::sleep(Duration::from_secs(2));
    let before = queue_counts(&queue);
    std::thread::sleep(Duration::from_secs(8));
    let after = queue_counts(&queue);
    assert!(stack("start-spare-broker"), "cannot start the broker again");
    eprintln!(
        "queue during the outage: {:?} -> {:?} (messages, ready, unacked)",
        before, after
    );
    assert_eq!(
        before.0, after.0,
        "a message was acknowledged while Kafka was down"
    );
    assert!(
        after.0 >= DURING as u64,
        "the queue keeps what was not delivered"
    );
    assert!(after.2 > 0, "the task holds unacknowledged messages");
    assert!(after.2 <= PREFETCH, "in flight bounded by the prefetch");

    wait_queue_empty(&queue, Duration::from_secs(240), &w);
    wait_for("every record", Duration::from_secs(120), || {
        end_offset(&topic) >= N as i64
    });
    assert!(w.terminate().success());
    let msgs = read_topic(&topic, Duration::from_secs(120));
    let dups = check_all_present(&msgs, N);
    eprintln!("duplicates after the Kafka outage: {}", dups);
}

#[test]
fn rabbitmq_restart_mid_stream_reconnects_and_loses_nothing() {
    let _serial = serial();
    // Enough that the stop comes mid-stream: the source takes some 25,000 messages
    // while `rabbitmqctl stop_app` starts and runs.
    const N: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-restart");
    publish(&queue, numbered(0, N));
    let name = unique("amqp-restart");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        "  amqp.prefetch: 500\n  amqp.batch.size: 100\n  amqp.reconnect.delay.max.ms: 1000\n",
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_for("the first records", Duration::from_secs(120), || {
        end_offset(&topic) >= 3_000
    });
    let rabbitmq = stop_rabbitmq();
    let stopped_at = end_offset(&topic);
    eprintln!(
        "RabbitMQ stopped with {} of {} records in Kafka",
        stopped_at, N
    );
    std::thread::sleep(Duration::from_secs(4));
    rabbitmq.now();
    wait_queue_empty(&queue, Duration::from_secs(240), &w);
    wait_for("every record", Duration::from_secs(120), || {
        end_offset(&topic) >= N as i64
    });
    let log = w.log_text();
    assert!(w.terminate().success());
    assert!(
        log.contains("lost the connection to RabbitMQ")
            || log.contains("cannot consume from RabbitMQ"),
        "the loss is reported: {}",
        tail(&log)
    );
    assert!(log.contains("reconnected to RabbitMQ"), "{}", tail(&log));
    assert!(stopped_at < N as i64, "RabbitMQ was stopped mid-stream");
    let msgs = read_topic(&topic, Duration::from_secs(120));
    let dups = check_all_present(&msgs, N);
    eprintln!(
        "duplicates after the RabbitMQ restart: {} (prefetch 500)",
        dups
    );
    assert!(dups <= 500);
}

fn poison_messages(queue: &str) {
    use lapin::types::{AMQPValue, FieldTable};
    use lapin::BasicProperties;
    let mut h = FieldTable::default();
    h.insert("tenant".into(), AMQPValue::LongString("acme".into()));
    publish(
        queue,
        vec![
            AmqpOut {
                body: b"{not json".to_vec(),
                properties: BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_message_id("poison-1".into())
                    .with_headers(h),
            },
            AmqpOut {
                body: br#"{"n":3}"#.to_vec(),
                properties: BasicProperties::default().with_delivery_mode(2),
            },
        ]
        .into_iter(),
    );
}

fn first_good(queue: &str) {
    publish(
        queue,
        vec![AmqpOut {
            body: br#"{"n":1}"#.to_vec(),
            properties: lapin::BasicProperties::default().with_delivery_mode(2),
        }]
        .into_iter(),
    );
}

#[test]
fn poison_message_with_tolerance_none_fails_the_task_and_stays_in_the_queue() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-poison-none");
    let name = unique("amqp-poison-none");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        "  amqp.record.builder: json\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n",
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    first_good(&queue);
    wait_for("the good record", Duration::from_secs(60), || {
        end_offset(&topic) >= 1
    });
    wait_queue_empty(&queue, Duration::from_secs(30), &w);
    poison_messages(&queue);
    wait_for("the task to fail", Duration::from_secs(60), || {
        w.log_text().contains("Tolerance exceeded")
    });
    let log = w.log_text();
    let expected = format!(
        "RabbitMQ queue //{} delivery tag 2 message id poison-1",
        queue
    );
    assert!(
        log.contains(&expected),
        "trace names queue, tag and id: {}",
        tail(&log)
    );
    assert!(log.contains("cannot be read as JSON"), "{}", tail(&log));
    // The poison message and the one after it are still in the queue, nothing acked.
    wait_for(
        "the messages to be requeued",
        Duration::from_secs(30),
        || queue_counts(&queue) == (2, 2, 0),
    );
    assert_eq!(end_offset(&topic), 1);
    assert!(w.terminate().success());
    assert_eq!(queue_counts(&queue).0, 2);
    drain(&queue);
}

#[test]
fn poison_message_with_tolerance_all_goes_to_the_dlq_and_is_acked() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-poison-all");
    let dlq = unique("amqp-dlq");
    let name = unique("amqp-poison-all");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        &format!(
            "  amqp.record.builder: json\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.context.headers.enable: true\n"
        ),
    );
    first_good(&queue);
    poison_messages(&queue);
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_for("the good records", Duration::from_secs(60), || {
        end_offset(&topic) >= 2
    });
    wait_for("the DLQ record", Duration::from_secs(60), || {
        end_offset(&dlq) >= 1
    });
    wait_queue_empty(&queue, Duration::from_secs(30), &w);
    let good: Vec<String> = read_topic(&topic, Duration::from_secs(30))
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert_eq!(good, vec![r#"{"n":1}"#, r#"{"n":3}"#]);
    let dead = read_topic(&dlq, Duration::from_secs(30));
    assert_eq!(dead.len(), 1);
    let m = &dead[0];
    assert_eq!(m.value.as_deref(), Some(&b"{not json"[..]), "the raw body");
    assert_eq!(
        m.header("tenant").as_deref(),
        Some("acme"),
        "AMQP headers kept"
    );
    assert_eq!(
        m.header("__connect.errors.stage").as_deref(),
        Some("TASK_POLL")
    );
    assert_eq!(
        m.header("__connect.errors.connector.name").as_deref(),
        Some(name.as_str())
    );
    assert!(m
        .header("__connect.errors.exception.message")
        .unwrap()
        .contains("cannot be read as JSON"));
    assert!(m
        .header("__connect.errors.class.name")
        .unwrap()
        .contains("JsonRecordBuilder"));
    assert!(w.terminate().success());
    assert_eq!(queue_counts(&queue), (0, 0, 0), "all acknowledged");
}

#[test]
fn two_tasks_share_the_queue_as_competing_consumers() {
    let _serial = serial();
    const N: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (queue, topic) = setup("amqp-compete");
    publish(&queue, numbered(0, N));
    let name = unique("amqp-compete");
    let c = amqp_config(
        d,
        &name,
        &queue,
        &topic,
        "  tasks.max: 2\n  amqp.prefetch: 200\n  amqp.batch.size: 50\n",
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_for("every record", Duration::from_secs(180), || {
        end_offset(&topic) >= N as i64
    });
    wait_queue_empty(&queue, Duration::from_secs(60), &w);
    let log = w.log_text();
    assert!(w.terminate().success());
    assert_eq!(
        log.matches("consuming from RabbitMQ").count(),
        2,
        "{}",
        tail(&log)
    );
    let msgs = read_topic(&topic, Duration::from_secs(120));
    assert_eq!(check_all_present(&msgs, N), 0);
}

#[test]
fn example_configs_validate_and_bad_ones_list_every_problem_without_secrets() {
    let (code, out, err) = run_cli(&[
        "validate",
        "configs/amqp-source.yaml",
        "configs/amqp-source-json.properties",
        "configs/mqtt-source.yaml",
    ]);
    assert_eq!(code, 0, "{}{}", out, err);
    assert_eq!(out.matches(": OK").count(), 3, "{}", out);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: bad\nconfig:\n  connector.class: amqp-source\n  amqp.uri: amqp://user:s3cret@host:notaport/%2f\n  amqp.batch.size: 0\n  amqp.record.builder: xml\n",
    )
    .unwrap();
    let (code, out, _) = run_cli(&["validate", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    for key in [
        "amqp.uri",
        "amqp.queue",
        "topic",
        "amqp.batch.size",
        "amqp.record.builder",
    ] {
        assert!(
            out.contains(&format!(": {}: ", key)),
            "{} not reported:\n{}",
            key,
            out
        );
    }
    assert!(!out.contains("s3cret"), "the password leaked:\n{}", out);
}
