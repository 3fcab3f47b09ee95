//! End-to-end benchmark of the queue sources, each against a plain client in the same
//! run:
//!
//! * RabbitMQ -> Kafka through Sluice (release build) vs a plain bridge with the same
//!   guarantee: a `lapin` consumer with the same prefetch, an rdkafka producer with
//!   Sluice's settings (acks=all), and `basic.ack(multiple=true)` every `batch`
//!   messages once Kafka acknowledged them. It also prints the RabbitMQ ceiling (the
//!   same consumer writing nothing) and the Kafka ceiling (the producer alone).
//! * MQTT (QoS 1) -> Kafka through Sluice vs a plain `rumqttc` subscriber (automatic
//!   PUBACKs) that discards them.
//!
//! Run with `cargo bench --bench queues` against the servers `scripts/stack.sh up`
//! starts. `SLUICE_BENCH_AMQP_N` / `SLUICE_BENCH_MQTT_N` set the message counts,
//! `SLUICE_BENCH_ROUNDS` the rounds (default 3; the median ratio is printed last).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/queues.rs"]
#[allow(unused_imports)]
mod queues;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use common::*;
use queues::*;

const BODY: usize = 256;

fn prefetch() -> u16 {
    env_n("SLUICE_BENCH_PREFETCH", 1000) as u16
}

fn batch() -> usize {
    env_n("SLUICE_BENCH_BATCH", 250)
}

fn env_n(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn body(i: usize) -> Vec<u8> {
    let mut b = format!("{:08}-", i).into_bytes();
    b.resize(BODY, b'x');
    b
}

fn fill_queue(queue: &str, n: usize) {
    declare_queue(queue);
    let t = Instant::now();
    publish(
        queue,
        (0..n).map(|i| AmqpOut {
            body: body(i),
            properties: BasicProperties::default().with_delivery_mode(2),
        }),
    );
    eprintln!(
        "  filled {} with {} persistent messages in {:.1?}",
        queue,
        n,
        t.elapsed()
    );
}

/// A lapin consumer of `queue` with the benchmark's prefetch: its connection, channel
/// and consumer.
async fn consume(queue: &str, tag: &str) -> (Connection, lapin::Channel, lapin::Consumer) {
    let c = Connection::connect(AMQP_URI, ConnectionProperties::default())
        .await
        .unwrap();
    let ch = c.create_channel().await.unwrap();
    ch.basic_qos(prefetch(), BasicQosOptions::default())
        .await
        .unwrap();
    let consumer = ch
        .basic_consume(
            queue.into(),
            tag.into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    (c, ch, consumer)
}

/// A plain lapin consumer: prefetch, ack every batch with multiple=true, discard.
fn plain_amqp(queue: &str, n: usize) -> f64 {
    rt().block_on(async {
        let (c, ch, mut consumer) = consume(queue, "bench-plain").await;
        let mut got = 0usize;
        let mut start = None;
        let mut last_tag = 0;
        while got < n {
            let d = consumer.next().await.unwrap().unwrap();
            start.get_or_insert_with(Instant::now);
            got += 1;
            last_tag = d.delivery_tag;
            if got.is_multiple_of(batch()) {
                ch.basic_ack(last_tag, BasicAckOptions { multiple: true })
                    .await
                    .unwrap();
            }
        }
        ch.basic_ack(last_tag, BasicAckOptions { multiple: true })
            .await
            .unwrap();
        let secs = start.unwrap().elapsed().as_secs_f64();
        let _ = c.close(200, "bye".into()).await;
        n as f64 / secs
    })
}

/// The plain bridge with Sluice's guarantee: a lapin consumer (same prefetch) whose
/// messages a plain rdkafka producer (Sluice's source producer settings: idempotent,
/// acks=all) writes to a one-partition topic; every `batch` messages go to a task that
/// waits for their Kafka acks, in order, then acks them in RabbitMQ with multiple=true,
/// while the loop keeps consuming. Timed from the first delivery to the last
/// RabbitMQ ack. This is the loop a user would write by hand for the same job.
fn plain_amqp_to_kafka(queue: &str, n: usize) -> f64 {
    use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
    let topic = unique("bench-plain-bridge");
    create_topic(&topic, 1);
    let producer: FutureProducer =
        sluice_runtime::kafka::client_config(&[&sluice_runtime::kafka::source_producer_defaults()])
            .set("bootstrap.servers", bootstrap())
            .create()
            .unwrap();
    rt().block_on(async {
        let (c, ch, mut consumer) = consume(queue, "bench-plain-bridge").await;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(u64, Vec<DeliveryFuture>)>(64);
        let acker_ch = ch.clone();
        let acker = tokio::spawn(async move {
            while let Some((tag, acks)) = rx.recv().await {
                for a in acks {
                    a.await.unwrap().map_err(|(e, _)| e).unwrap();
                }
                acker_ch
                    .basic_ack(tag, BasicAckOptions { multiple: true })
                    .await
                    .unwrap();
            }
            Instant::now()
        });
        let mut got = 0usize;
        let mut start = None;
        let mut acks = Vec::with_capacity(batch());
        while got < n {
            let d = consumer.next().await.unwrap().unwrap();
            start.get_or_insert_with(Instant::now);
            got += 1;
            let mut record = FutureRecord::<(), [u8]>::to(&topic).payload(&d.data[..]);
            let ack = loop {
                match producer.send_result(record) {
                    Ok(ack) => break ack,
                    Err((_, back)) => {
                        // the producer's queue is full: let it drain
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        record = back;
                    }
                }
            };
            acks.push(ack);
            if acks.len() >= batch() || got == n {
                tx.send((d.delivery_tag, std::mem::take(&mut acks)))
                    .await
                    .unwrap();
            }
        }
        drop(tx);
        let end = acker.await.unwrap();
        let _ = c.close(200, "bye".into()).await;
        n as f64 / (end - start.unwrap()).as_secs_f64()
    })
}

struct Watermark(BaseConsumer);

impl Watermark {
    fn new() -> Self {
        Watermark(
            ClientConfig::new()
                .set("bootstrap.servers", bootstrap())
                .set("group.id", unique("bench"))
                .create()
                .unwrap(),
        )
    }
    fn end(&self, topic: &str) -> i64 {
        self.0
            .fetch_watermarks(topic, 0, Duration::from_secs(10))
            .map(|(_, h)| h)
            .unwrap_or(0)
    }
}

/// Times Kafka's end offset from the first record to `n` records.
fn time_to_n(topic: &str, n: usize, w: &Sluice, timeout: Duration) -> f64 {
    let wm = Watermark::new();
    let deadline = Instant::now() + timeout;
    let mut start = None;
    loop {
        let e = wm.end(topic);
        if e > 0 && start.is_none() {
            start = Some(Instant::now());
        }
        if e >= n as i64 {
            break;
        }
        if Instant::now() >= deadline {
            // What the task polled and what Kafka acknowledged tells where the rest are.
            let counts: Vec<String> = Api::new(w.port)
                .get("/metrics")
                .text
                .lines()
                .filter(|l| {
                    l.contains("source_record_poll_total")
                        || l.contains("source_record_write_total")
                })
                .map(String::from)
                .collect();
            panic!(
                "only {} of {} records after {:?}; task counters:\n{}\nlog:\n{}",
                e,
                n,
                timeout,
                counts.join("\n"),
                w.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    n as f64 / start.unwrap().elapsed().as_secs_f64()
}

fn sluice_amqp(dir: &std::path::Path, queue: &str, n: usize) -> f64 {
    let topic = unique("bench-amqp");
    create_topic(&topic, 1);
    let name = unique("bench-amqp");
    let c = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: amqp-source\n  amqp.uri: {AMQP_URI}\n  amqp.queue: {queue}\n  topic: {topic}\n  amqp.prefetch: {}\n  amqp.batch.size: {}\n  value.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n",
            prefetch(),
            batch()
        ),
    )
    .unwrap();
    let mut w = Sluice::standalone(dir, &worker_yaml(dir, free_port(), ""), &[&c]);
    let rate = time_to_n(&topic, n, &w, Duration::from_secs(600));
    report_cpu(&w, n);
    w.terminate();
    rate
}

/// CPU time the sluice process used so far, per message.
fn report_cpu(w: &Sluice, n: usize) {
    let cpu = cpu_seconds(w.pid());
    println!(
        "      sluice process CPU: {:.2} s in all, {:.1} us per message (including start-up)",
        cpu,
        cpu / n as f64 * 1e6
    );
}

/// A plain rdkafka producer with Sluice's source producer settings, writing the same
/// messages: the ceiling the Kafka side puts on any source.
fn plain_kafka(n: usize) -> f64 {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let topic = unique("bench-kafka");
    create_topic(&topic, 1);
    let p: ThreadedProducer<DefaultProducerContext> =
        sluice_runtime::kafka::client_config(&[&sluice_runtime::kafka::source_producer_defaults()])
            .set("bootstrap.servers", bootstrap())
            .create()
            .unwrap();
    let start = Instant::now();
    for i in 0..n {
        let b = body(i);
        let r: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&topic).payload(&b[..]);
        send_retrying(&p, r, Duration::from_millis(1));
    }
    p.flush(Duration::from_secs(300)).unwrap();
    n as f64 / start.elapsed().as_secs_f64()
}

/// Publishes `n` QoS 1 messages, keeping at most `window` published but not yet
/// consumed (Mosquitto drops QoS 1 messages beyond its queue limit of 1000 per client).
fn paced_publish(base: &str, n: usize, window: usize, consumed: impl Fn() -> u64) {
    rt().block_on(async {
        let mut opts = MqttOptions::new(unique("bench-pub"), "127.0.0.1", 1883);
        opts.set_keep_alive(Duration::from_secs(30))
            .set_inflight(200);
        let (client, mut ev) = AsyncClient::new(opts, 1000);
        let driver = tokio::spawn(async move {
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Packet::Disconnect)) | Err(_) => break,
                    _ => {}
                }
            }
        });
        let mut sent = 0usize;
        let mut progress = (0u64, Instant::now());
        while sent < n {
            let c = consumed();
            if c != progress.0 {
                progress = (c, Instant::now());
            }
            assert!(
                progress.1.elapsed() < Duration::from_secs(60),
                "no message consumed for 60 s ({} of {} published, {} consumed)",
                sent,
                n,
                c
            );
            if sent as u64 >= c + window as u64 {
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            let upto = (sent + 50).min(n);
            for i in sent..upto {
                client
                    .publish(format!("{}/m", base), QoS::AtLeastOnce, false, body(i))
                    .await
                    .unwrap();
            }
            sent = upto;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), driver).await;
    });
}

/// A plain rumqttc subscriber at QoS 1 with automatic acks.
fn plain_mqtt(n: usize) -> f64 {
    let base = unique("bench-plain");
    let count = Arc::new(AtomicU64::new(0));
    let started = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let r = rt();
    let (c2, s2, b2) = (count.clone(), started.clone(), base.clone());
    let sub = r.spawn(async move {
        let opts = MqttOptions::new(unique("bench-sub"), "127.0.0.1", 1883);
        let (client, mut ev) = AsyncClient::new(opts, 100);
        client
            .subscribe(format!("{}/#", b2), QoS::AtLeastOnce)
            .await
            .unwrap();
        loop {
            let e = match ev.poll().await {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("  plain subscriber: {} (reconnecting)", e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match e {
                Event::Incoming(Packet::Publish(_)) => {
                    s2.lock().unwrap().get_or_insert_with(Instant::now);
                    if c2.fetch_add(1, Ordering::SeqCst) + 1 >= n as u64 {
                        break;
                    }
                }
                Event::Incoming(Packet::SubAck(_)) => {}
                _ => {}
            }
        }
        let _ = client.disconnect().await;
    });
    std::thread::sleep(Duration::from_millis(500));
    let c3 = count.clone();
    paced_publish(&base, n, 800, move || c3.load(Ordering::SeqCst));
    r.block_on(async { tokio::time::timeout(Duration::from_secs(60), sub).await })
        .expect("plain subscriber timed out")
        .unwrap();
    let secs = started.lock().unwrap().unwrap().elapsed().as_secs_f64();
    n as f64 / secs
}

fn sluice_mqtt(dir: &std::path::Path, n: usize) -> f64 {
    let base = unique("bench-sluice");
    let topic = unique("bench-mqtt");
    create_topic(&topic, 1);
    let name = unique("bench-mqtt");
    let c = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: mqtt-source\n  mqtt.server.uri: {MQTT_URI}\n  mqtt.topics: \"{base}/#\"\n  mqtt.client.id: {name}\n  topic: {topic}\n  value.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n"
        ),
    )
    .unwrap();
    let mut w = Sluice::standalone(dir, &worker_yaml(dir, free_port(), ""), &[&c]);
    wait_for("the subscription", Duration::from_secs(60), || {
        w.log_text().contains("connected to the MQTT broker")
    });
    std::thread::sleep(Duration::from_millis(500));
    let t = topic.clone();
    let publisher = std::thread::spawn(move || {
        let wm = Watermark::new();
        paced_publish(&base, n, 800, move || wm.end(&t) as u64);
    });
    let rate = time_to_n(&topic, n, &w, Duration::from_secs(600));
    publisher.join().unwrap();
    report_cpu(&w, n);
    w.terminate();
    rate
}

fn report(what: &str, sluice: f64, plain: f64) {
    println!(
        "{:<5} sluice {:>9.0} msg/s   plain {:>9.0} msg/s   ratio {:.2}",
        what,
        sluice,
        plain,
        sluice / plain
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without
    // it, and the benchmark (minutes, real servers) must not run as a test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("queues benchmark: run it with `cargo bench --bench queues`");
        return;
    }
    let amqp_n = env_n("SLUICE_BENCH_AMQP_N", 100_000);
    let mqtt_n = env_n("SLUICE_BENCH_MQTT_N", 50_000);
    let dir = tempfile::tempdir().unwrap();
    println!(
        "queue sources: {} AMQP messages ({} B, persistent, prefetch {}, batch {}), {} MQTT QoS 1 messages",
        amqp_n, BODY, prefetch(), batch(), mqtt_n
    );

    let only = std::env::var("SLUICE_BENCH_ONLY").unwrap_or_default();
    if only != "mqtt" {
        bench_amqp(dir.path(), amqp_n);
    }
    if only != "amqp" {
        let mut rounds = Vec::new();
        for _ in 0..bench_rounds() {
            let plain = plain_mqtt(mqtt_n);
            let sluice = sluice_mqtt(dir.path(), mqtt_n);
            report("MQTT", sluice, plain);
            rounds.push((sluice, plain));
        }
        median_ratio("MQTT -> Kafka", &rounds);
    }
}

fn bench_amqp(dir: &std::path::Path, amqp_n: usize) {
    let q_plain = unique("bench-plain");
    fill_queue(&q_plain, amqp_n);
    let consume_only = plain_amqp(&q_plain, amqp_n);
    println!(
        "RabbitMQ ceiling: a plain lapin consumer that writes nothing reads them at {:.0} msg/s",
        consume_only
    );
    let kafka = plain_kafka(amqp_n);
    println!(
        "Kafka ceiling: a plain idempotent producer writes the same {} messages at {:.0} msg/s",
        amqp_n, kafka
    );
    let mut rounds = Vec::new();
    for _ in 0..bench_rounds() {
        let q_bridge = unique("bench-plain-bridge");
        fill_queue(&q_bridge, amqp_n);
        let plain = plain_amqp_to_kafka(&q_bridge, amqp_n);
        let q_sluice = unique("bench-sluice");
        fill_queue(&q_sluice, amqp_n);
        let sluice = sluice_amqp(dir, &q_sluice, amqp_n);
        report("AMQP", sluice, plain);
        println!(
            "      (plain = lapin consumer + rdkafka producer, acks=all, RabbitMQ acked after Kafka; against the consumer that writes nothing: {:.2})",
            sluice / consume_only
        );
        rounds.push((sluice, plain));
    }
    median_ratio("RabbitMQ -> Kafka", &rounds);
}
