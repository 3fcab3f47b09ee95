//! Kafka -> MQTT: the mqtt-sink (release build, default settings: QoS 1, a window of
//! 20 unacknowledged messages) against a plain loop doing the same work in the same
//! run: an rdkafka consumer reading the topic and a rumqttc client publishing each value
//! at QoS 1 with the same window, every PUBACK awaited. Both publish to the stack's
//! Mosquitto (127.0.0.1:1883) on a topic nobody subscribes to.
//!
//! The worker runs with the default offset flush interval (60 s), as a user's would.
//! The sink's rate is taken from its `kafka_connect_sink_task_sink_record_send_total`
//! metric (records put; with a window of 20, at most 20 ahead of the broker's
//! acknowledgements), polled every 100 ms, from the first record to the last.
//!
//! Run with `cargo bench --bench mqtt_sink` against the servers `scripts/stack.sh up`
//! starts. `SLUICE_BENCH_MQTT_SINK_N` sets the record count (default 1,000,000),
//! `SLUICE_BENCH_MQTT_SINK_BYTES` the value size (default 100), `SLUICE_BENCH_ROUNDS` the
//! rounds (default 3; the median ratio is printed last).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/queues.rs"]
#[allow(unused_imports)]
mod queues;

use std::time::{Duration, Instant};

use rdkafka::message::Message;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use common::*;
use queues::*;

/// The sink's default `mqtt.max.in.flight`.
const WINDOW: u16 = 20;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The plain loop: consume the topic, publish each value at QoS 1 with at most WINDOW
/// unacknowledged. Returns messages per second.
fn plain(topic: &str, mqtt_topic: &str, n: usize) -> f64 {
    let c = reader_from_start(topic, "bench-plain-mqtt-sink");
    rt().block_on(async {
        let mut opts = MqttOptions::new(unique("bench-plain"), "127.0.0.1", 1883);
        opts.set_keep_alive(Duration::from_secs(30))
            .set_inflight(WINDOW)
            .set_clean_session(false);
        let (client, mut ev) = AsyncClient::new(opts, WINDOW as usize + 16);
        let acks = tokio::spawn(async move {
            let mut acked = 0;
            while acked < n {
                match ev.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                    Ok(_) => {}
                    Err(e) => panic!("plain MQTT publisher failed: {e}"),
                }
            }
            Instant::now()
        });
        let mut sent = 0;
        let mut start = None;
        while sent < n {
            // rumqttc holds at most WINDOW unacknowledged; publish waits for room.
            let Some(Ok(m)) = c.poll(Duration::from_millis(100)) else {
                continue;
            };
            start.get_or_insert_with(Instant::now);
            client
                .publish(
                    mqtt_topic,
                    QoS::AtLeastOnce,
                    false,
                    m.payload().unwrap_or_default().to_vec(),
                )
                .await
                .unwrap();
            sent += 1;
        }
        let end = acks.await.unwrap();
        let _ = client.disconnect().await;
        n as f64 / (end - start.unwrap()).as_secs_f64()
    })
}

/// The mqtt-sink with its defaults: records per second by its committed offsets.
fn sluice(dir: &std::path::Path, topic: &str, mqtt_topic: &str, n: usize) -> f64 {
    let name = unique("bench-mqtt-sink");
    let c = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: mqtt-sink\n  mqtt.server.uri: {MQTT_URI}\n  topics: {topic}\n  mqtt.topic: {mqtt_topic}\n  value.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let worker = worker_yaml(dir, port, "").replace("offset.flush.interval.ms: 500\n", "");
    let mut w = Sluice::standalone(dir, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let sent = || -> i64 {
        api.get("/metrics")
            .text
            .lines()
            .find(|l| {
                l.starts_with("kafka_connect_sink_task_sink_record_send_total") && l.contains(&name)
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0) as i64
    };
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut first: Option<(Instant, i64)> = None;
    let end = loop {
        let o = sent();
        if o > 0 && first.is_none() {
            first = Some((Instant::now(), o));
        }
        if o >= n as i64 {
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {} sent; log:\n{}",
            o,
            n,
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    w.terminate();
    let (t0, o0) = first.unwrap();
    (n as i64 - o0) as f64 / (end - t0).as_secs_f64()
}

fn main() {
    // `cargo test --all-targets` runs this binary without --bench: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("mqtt_sink benchmark: run it with `cargo bench --bench mqtt_sink`");
        return;
    }
    let n = env("SLUICE_BENCH_MQTT_SINK_N", 1_000_000);
    let size = env("SLUICE_BENCH_MQTT_SINK_BYTES", 100);
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("bench-mqtt-sink");
    fill_numbered(&topic, n, size);
    println!("Kafka -> MQTT: {n} records of {size} B, QoS 1, {WINDOW} unacknowledged at most");
    let mut rounds = Vec::new();
    for _ in 0..bench_rounds() {
        let p = plain(&topic, &unique("bench/plain"), n);
        let s = sluice(dir.path(), &topic, &unique("bench/sluice"), n);
        println!(
            "MQTT sink  sluice {:>9.0} msg/s   plain {:>9.0} msg/s   ratio {:.2}",
            s,
            p,
            s / p
        );
        rounds.push((s, p));
    }
    median_ratio("Kafka -> MQTT", &rounds);
}
