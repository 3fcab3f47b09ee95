//! Helpers for the queue source tests: publishing to RabbitMQ and Mosquitto, reading
//! queue depths, and reading large topics back.
#![allow(dead_code)]

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};

use super::{bootstrap, unique, Msg, Restore};

pub const AMQP_URI: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const MQTT_URI: &str = "tcp://127.0.0.1:1883";

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A message to publish to RabbitMQ.
pub struct AmqpOut {
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// `n` persistent messages `body-<i>` with message id `m-<i>`, correlation id
/// `c-<i>` and an integer header `seq`.
pub fn numbered(start: usize, n: usize) -> impl Iterator<Item = AmqpOut> {
    (start..start + n).map(|i| {
        let mut h = FieldTable::default();
        h.insert("seq".into(), AMQPValue::LongLongInt(i as i64));
        AmqpOut {
            body: format!("body-{}", i).into_bytes(),
            properties: BasicProperties::default()
                .with_delivery_mode(2)
                .with_message_id(format!("m-{}", i).into())
                .with_correlation_id(format!("c-{}", i).into())
                .with_headers(h),
        }
    })
}

/// Declares a durable queue (deleting an old one of the same name).
pub fn declare_queue(name: &str) {
    rt().block_on(async {
        let c = Connection::connect(AMQP_URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = c.create_channel().await.unwrap();
        let _ = ch
            .queue_delete(name.into(), QueueDeleteOptions::default())
            .await;
        let ch = c.create_channel().await.unwrap();
        ch.queue_declare(
            name.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        let _ = c.close(200, "bye".into()).await;
    });
}

/// Publishes to a queue through the default exchange with publisher confirms; returns
/// once RabbitMQ confirmed every message.
pub fn publish(queue: &str, msgs: impl Iterator<Item = AmqpOut>) -> usize {
    rt().block_on(async {
        let c = Connection::connect(AMQP_URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = c.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let mut pending = Vec::new();
        let mut n = 0;
        for m in msgs {
            let confirm = ch
                .basic_publish(
                    "".into(),
                    queue.into(),
                    BasicPublishOptions::default(),
                    &m.body,
                    m.properties,
                )
                .await
                .unwrap();
            pending.push(confirm);
            n += 1;
            if pending.len() >= 2000 {
                for p in pending.drain(..) {
                    assert!(p.await.unwrap().is_ack());
                }
            }
        }
        for p in pending {
            assert!(p.await.unwrap().is_ack());
        }
        let _ = c.close(200, "bye".into()).await;
        n
    })
}

/// (messages, ready, unacknowledged) of a queue, as `rabbitmqctl list_queues` shows
/// them.
pub fn queue_counts(name: &str) -> (u64, u64, u64) {
    let out = Command::new("rabbitmqctl")
        .args([
            "list_queues",
            "-q",
            "--no-table-headers",
            "name",
            "messages",
            "messages_ready",
            "messages_unacknowledged",
        ])
        .output()
        .expect("rabbitmqctl");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 4 && f[0] == name {
            return (
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            );
        }
    }
    panic!("queue {} not found in: {}", name, text);
}

/// Reads every message of a single-partition topic up to its current end, allowing
/// for the test broker's slow reads of large backlogs.
pub fn read_topic(topic: &str, timeout: Duration) -> Vec<Msg> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("queue-test-reader"))
        .set("enable.auto.commit", "false")
        // Small fetches: the test broker answers large ones very slowly.
        .set("fetch.max.bytes", "1048576")
        .set("max.partition.fetch.bytes", "1048576")
        .set("socket.timeout.ms", "120000")
        .create()
        .unwrap();
    let (_, end) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    let mut out = Vec::with_capacity(end as usize);
    if end == 0 {
        return out;
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            out.push(Msg {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(|k| k.to_vec()),
                value: m.payload().map(|v| v.to_vec()),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_string(), h.value.map(|v| v.to_vec())))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
            if m.offset() + 1 >= end {
                return out;
            }
        }
    }
    panic!(
        "could not read {} to offset {} in {:?} (got {})",
        topic,
        end,
        timeout,
        out.len()
    );
}

/// How often each value occurs.
pub fn value_counts(msgs: &[Msg]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for x in msgs {
        *m.entry(x.value_str().to_string()).or_insert(0) += 1;
    }
    m
}

/// Runs `rabbitmqctl <args>` and checks it succeeded.
pub fn rabbitmqctl(args: &[&str]) {
    let st = Command::new("rabbitmqctl").args(args).status().unwrap();
    assert!(st.success(), "rabbitmqctl {:?} failed", args);
}

/// `rabbitmqctl stop_app`; RabbitMQ is started again (and awaited) when the guard is
/// used up with `now()` or dropped, also if the test fails meanwhile.
pub fn stop_rabbitmq() -> Restore<impl FnOnce()> {
    rabbitmqctl(&["stop_app"]);
    Restore::new(|| {
        for args in [&["start_app"][..], &["await_startup"][..]] {
            let st = Command::new("rabbitmqctl").args(args).status();
            if !st.is_ok_and(|s| s.success()) {
                eprintln!("rabbitmqctl {:?} failed", args);
            }
        }
    })
}

/// Publishes `payloads` to MQTT topics with QoS 1 and waits for every PUBACK.
pub fn mqtt_publish(msgs: &[(String, Vec<u8>)]) {
    mqtt_publish_paced(msgs, None)
}

/// Like [`mqtt_publish`], sleeping `pause` after every 10 messages.
pub fn mqtt_publish_paced(msgs: &[(String, Vec<u8>)], pause: Option<Duration>) {
    rt().block_on(async {
        let mut opts = MqttOptions::new(unique("test-pub"), "127.0.0.1", 1883);
        opts.set_keep_alive(Duration::from_secs(30));
        let (client, mut ev) = AsyncClient::new(opts, 100);
        let total = msgs.len();
        let owned: Vec<(String, Vec<u8>)> = msgs.to_vec();
        let publisher = tokio::spawn(async move {
            for (i, (t, p)) in owned.into_iter().enumerate() {
                client.publish(t, QoS::AtLeastOnce, false, p).await.unwrap();
                if let (Some(d), true) = (pause, i % 10 == 9) {
                    tokio::time::sleep(d).await;
                }
            }
            client
        });
        let mut acked = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        while acked < total {
            assert!(Instant::now() < deadline, "publishing timed out");
            match tokio::time::timeout(Duration::from_secs(10), ev.poll()).await {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("MQTT publisher failed: {}", e),
                Err(_) => panic!("MQTT publisher stalled after {} acks", acked),
            }
        }
        let client = publisher.await.unwrap();
        client.disconnect().await.unwrap();
        // Let the DISCONNECT go out.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match ev.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                    _ => {}
                }
            }
        })
        .await;
    });
}

/// Consumes a queue with a plain lapin consumer until it is idle, for cleanups.
pub fn drain(queue: &str) {
    rt().block_on(async {
        let c = Connection::connect(AMQP_URI, ConnectionProperties::default())
            .await
            .unwrap();
        let ch = c.create_channel().await.unwrap();
        let mut consumer = ch
            .basic_consume(
                queue.into(),
                "drain".into(),
                lapin::options::BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        while let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(500), consumer.next()).await
        {}
    });
}
