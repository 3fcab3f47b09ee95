//! Kafka -> RabbitMQ: the amqp-sink (release build) against a plain loop doing the same
//! work in the same run: an rdkafka consumer reading the topic and a lapin publisher
//! in confirm mode with the same window of unconfirmed messages (1000), persistent
//! messages with the sink's default properties (message id, timestamp) to a durable
//! queue through the default exchange.
//!
//! Run with `cargo bench --bench amqp_sink` against the servers `scripts/stack.sh up`
//! starts. `SLUICE_BENCH_AMQP_SINK_N` sets the record count (default 100,000),
//! `SLUICE_BENCH_AMQP_SINK_BYTES` the value size (default 100), `SLUICE_BENCH_ROUNDS` the
//! rounds (default 3; the median ratio is printed last).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/queues.rs"]
#[allow(unused_imports)]
mod queues;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rdkafka::message::Message;

use common::*;
use queues::*;

const WINDOW: usize = 1000;

fn env(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The plain loop: consume the topic, publish each value with confirms, at most
/// WINDOW unconfirmed. Returns messages per second.
fn plain(topic: &str, queue: &str, n: usize) -> f64 {
    let c = reader_from_start(topic, "bench-plain-sink");
    rt().block_on(async {
        let conn = Connection::connect(AMQP_URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let mut pending = VecDeque::with_capacity(WINDOW);
        let mut sent = 0;
        let mut start = None;
        while sent < n {
            let Some(Ok(m)) = c.poll(Duration::from_millis(100)) else {
                continue;
            };
            start.get_or_insert_with(Instant::now);
            if pending.len() >= WINDOW {
                let p: lapin::PublisherConfirm = pending.pop_front().unwrap();
                assert!(p.await.unwrap().is_ack());
            }
            let confirm = ch
                .basic_publish(
                    "".into(),
                    queue.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    m.payload().unwrap_or_default(),
                    // what the sink sets by default: persistent, the message id
                    // <topic>-<partition>-<offset>, the record timestamp in seconds
                    BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_message_id(
                            format!("{}-{}-{}", m.topic(), m.partition(), m.offset()).into(),
                        )
                        .with_timestamp(
                            m.timestamp().to_millis().unwrap_or_default().max(0) as u64 / 1000,
                        ),
                )
                .await
                .unwrap();
            pending.push_back(confirm);
            sent += 1;
        }
        for p in pending {
            assert!(p.await.unwrap().is_ack());
        }
        let secs = start.unwrap().elapsed().as_secs_f64();
        let _ = conn.close(200, "bye".into()).await;
        n as f64 / secs
    })
}

/// The amqp-sink: time from start to `n` messages in the queue.
fn sluice(dir: &std::path::Path, topic: &str, queue: &str, n: usize) -> f64 {
    let name = unique("bench-amqp-sink");
    let c = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: amqp-sink\n  amqp.uri: {AMQP_URI}\n  topics: {topic}\n  amqp.routing.key: {queue}\n  amqp.max.in.flight: {WINDOW}\n  value.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n"
        ),
    )
    .unwrap();
    // the default offset flush interval (60 s), as a user's worker has
    let worker = worker_yaml(dir, free_port(), "").replace("offset.flush.interval.ms: 500\n", "");
    let mut w = Sluice::standalone(dir, &worker, &[&c]);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(600);
    let mut first = None;
    loop {
        let (m, _, _) = queue_counts(queue);
        if m > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if m >= n as u64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {} messages; log:\n{}",
            m,
            n,
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let rate = n as f64 / first.unwrap_or(start).elapsed().as_secs_f64();
    w.terminate();
    rate
}

fn main() {
    // `cargo test --all-targets` runs this binary without --bench: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("amqp_sink benchmark: run it with `cargo bench --bench amqp_sink`");
        return;
    }
    let n = env("SLUICE_BENCH_AMQP_SINK_N", 100_000);
    let body = env("SLUICE_BENCH_AMQP_SINK_BYTES", 100);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("bench-amqp-sink");
    fill_numbered(&topic, n, body);
    println!(
        "Kafka -> RabbitMQ: {n} records of {body} B, persistent, {WINDOW} unconfirmed at most"
    );
    let mut rounds = Vec::new();
    for _ in 0..bench_rounds() {
        let (q_plain, q_sluice) = (unique("bench-sink-plain"), unique("bench-sink-sluice"));
        declare_queue(&q_plain);
        declare_queue(&q_sluice);
        let p = plain(&topic, &q_plain, n);
        let s = sluice(dir.path(), &topic, &q_sluice, n);
        println!(
            "AMQP sink  sluice {:>9.0} msg/s   plain {:>9.0} msg/s   ratio {:.2}",
            s,
            p,
            s / p
        );
        rounds.push((s, p));
        drain(&q_plain);
        drain(&q_sluice);
    }
    median_ratio("Kafka -> RabbitMQ", &rounds);
}
