//! Time to first record: from `sluice standalone` being started to the first record of
//! an already filled topic being written by each sink (default settings), against a
//! plain rdkafka consumer with a fresh group from its creation to its first message, in
//! the same run on the same broker. The target (issue: performance) is at most 1 s plus
//! the broker's `group.initial.rebalance.delay.ms` (0 on the stack's broker; Kafka's
//! own default is 3 s).
//!
//! Sinks: FileStreamSink (a line in the file), mongodb-sink (a document in the
//! collection), amqp-sink (a message delivered to a consumer of the RabbitMQ queue),
//! mqtt-sink (a message on a subscribed Mosquitto topic). Each sink runs `SLUICE_BENCH_FIRST_ROUNDS` times (default
//! 3) with a new connector name (a new consumer group); the median is printed.
//!
//! Run with `cargo bench --bench first_record` against the servers of `scripts/stack.sh up`.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/queues.rs"]
#[allow(unused_imports)]
mod queues;

use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use common::*;
use queues::*;

const RECORDS: usize = 10;
const LIMIT: Duration = Duration::from_secs(90);

fn rounds() -> usize {
    std::env::var("SLUICE_BENCH_FIRST_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn filled_topic(prefix: &str) -> String {
    let topic = unique(prefix);
    create_topic(&topic, 1);
    let values: Vec<String> = (0..RECORDS).map(|i| format!("{{\"n\":{}}}", i)).collect();
    let msgs: Vec<Outgoing<'_>> = values
        .iter()
        .map(|v| (None, Some(v.as_bytes()), vec![]))
        .collect();
    produce(&topic, &msgs);
    topic
}

/// A plain consumer's time from creation (fresh group) to its first message.
fn plain_consumer(topic: &str) -> Duration {
    let start = Instant::now();
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("first-plain"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    loop {
        if let Some(Ok(_)) = c.poll(Duration::from_millis(10)) {
            return start.elapsed();
        }
        assert!(start.elapsed() < LIMIT, "plain consumer got nothing");
    }
}

/// Starts a worker with `connector` (YAML) and returns the time until `arrived` is true.
fn sluice_first(dir: &Path, connector: &str, mut arrived: impl FnMut() -> bool) -> Duration {
    let path = dir.join("connector.yaml");
    std::fs::write(&path, connector).unwrap();
    let port = free_port();
    let worker = worker_yaml(dir, port, "");
    let start = Instant::now();
    let mut w = Sluice::standalone(dir, &worker, &[&path]);
    loop {
        if arrived() {
            let t = start.elapsed();
            w.terminate();
            return t;
        }
        if start.elapsed() > LIMIT {
            panic!("no record after {:?}; log:\n{}", LIMIT, w.log_text());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn file_sink(dir: &Path) -> Duration {
    let topic = filled_topic("first-file");
    let out = dir.join("out.txt");
    let connector = format!(
        "name: {}\nconnector.class: FileStreamSink\ntopics: {topic}\nfile: {}\n",
        unique("first-file"),
        out.display()
    );
    sluice_first(dir, &connector, || {
        std::fs::metadata(&out)
            .map(|m| m.len() > 0)
            .unwrap_or(false)
    })
}

fn mongodb_sink(dir: &Path) -> Duration {
    let topic = filled_topic("first-mongo");
    let coll = unique("first");
    let connector = format!(
        "name: {}\nconnector.class: mongodb-sink\ntopics: {topic}\n\
         connection.uri: mongodb://127.0.0.1:27017\ndatabase: bench\ncollection: {coll}\n\
         value.converter: org.apache.kafka.connect.json.JsonConverter\n\
         value.converter.schemas.enable: false\n",
        unique("first-mongo")
    );
    let rt = rt();
    let client = rt
        .block_on(mongodb::Client::with_uri_str("mongodb://127.0.0.1:27017"))
        .unwrap();
    let c = client
        .database("bench")
        .collection::<mongodb::bson::Document>(&coll);
    sluice_first(dir, &connector, || {
        rt.block_on(async { c.count_documents(mongodb::bson::doc! {}).await })
            .unwrap_or(0)
            > 0
    })
}

fn amqp_sink(dir: &Path) -> Duration {
    use futures::StreamExt;
    use lapin::options::BasicConsumeOptions;
    use lapin::types::FieldTable;
    use lapin::{Connection, ConnectionProperties};
    let topic = filled_topic("first-amqp");
    let queue = unique("first-amqp");
    declare_queue(&queue);
    // A consumer already waiting on the queue, as a downstream service would be.
    let (tx, rx) = std::sync::mpsc::channel();
    let q = queue.clone();
    std::thread::spawn(move || {
        rt().block_on(async {
            let c = Connection::connect(AMQP_URI, ConnectionProperties::default())
                .await
                .unwrap();
            let ch = c.create_channel().await.unwrap();
            let mut consumer = ch
                .basic_consume(
                    q.as_str().into(),
                    "first".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await
                .unwrap();
            let _ = tx.send(false);
            if consumer.next().await.is_some() {
                let _ = tx.send(true);
            }
        })
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(false),
        "consuming"
    );
    let connector = format!(
        "name: {}\nconnector.class: amqp-sink\ntopics: {topic}\n\
         amqp.uri: amqp://guest:guest@127.0.0.1:5672/%2f\namqp.routing.key: {queue}\n",
        unique("first-amqp")
    );
    sluice_first(dir, &connector, || rx.try_recv() == Ok(true))
}

fn mqtt_sink(dir: &Path) -> Duration {
    use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
    let topic = filled_topic("first-mqtt");
    let mqtt_topic = unique("first/mqtt");
    let mut opts = MqttOptions::new(unique("first-sub"), "127.0.0.1", 1883);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut conn) = Client::new(opts, 100);
    client.subscribe(&mqtt_topic, QoS::AtLeastOnce).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for ev in conn.iter() {
            match ev {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = tx.send(false);
                }
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    let _ = tx.send(true);
                    return;
                }
                Err(_) => return,
                _ => {}
            }
        }
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok(false),
        "subscribed"
    );
    let connector = format!(
        "name: {}\nconnector.class: mqtt-sink\ntopics: {topic}\n\
         mqtt.server.uri: tcp://127.0.0.1:1883\nmqtt.topic: {mqtt_topic}\n",
        unique("first-mqtt")
    );
    let t = sluice_first(dir, &connector, || rx.try_recv() == Ok(true));
    let _ = client.disconnect();
    t
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    type Run = fn(&Path) -> Duration;
    let sinks: [(&str, Run); 4] = [
        ("FileStreamSink", file_sink),
        ("mongodb-sink", mongodb_sink),
        ("amqp-sink", amqp_sink),
        ("mqtt-sink", mqtt_sink),
    ];
    println!(
        "time from process start to the first record written ({} rounds, median)",
        rounds()
    );
    println!(
        "{:<16} {:>10} {:>16} {:>8} {:>10}",
        "sink", "sluice", "plain consumer", "ratio", "≤ 1 s"
    );
    for (name, run) in sinks {
        let mut sluice = Vec::new();
        let mut plain = Vec::new();
        for _ in 0..rounds() {
            let dir = tempfile::tempdir().unwrap();
            sluice.push(run(dir.path()));
            plain.push(plain_consumer(&filled_topic("first-plain")));
        }
        let (s, p) = (median(sluice), median(plain));
        println!(
            "{:<16} {:>8.0}ms {:>14.0}ms {:>8.2} {:>10}",
            name,
            s.as_secs_f64() * 1000.0,
            p.as_secs_f64() * 1000.0,
            s.as_secs_f64() / p.as_secs_f64(),
            if s <= Duration::from_secs(1) {
                "yes"
            } else {
                "NO"
            }
        );
    }
}
