//! ActiveMQ Artemis <-> Kafka over AMQP 1.0: `amqp1-source` and `amqp1-sink` (release
//! build, default settings) against plain loops with the same client crates
//! (fe2o3-amqp, rdkafka) and the same durability, in one run:
//!
//! * Artemis -> Kafka. Plain: a receiver with 1000 link credit (the source's default)
//!   that keeps receiving while Kafka acknowledges, messages produced with Sluice's
//!   source producer settings (`acks=all`, idempotent),
//!   accepted in order (one disposition for what Kafka has) only once Kafka
//!   acknowledged them, credit topped up to 1000 minus the unaccepted whenever half is
//!   left. Sluice: `amqp1-source`;
//!   measured from its first record in Kafka to the last.
//! * Kafka -> Artemis. Plain: a consumer of the topic and an unsettled sender with at
//!   most 1000 messages awaiting their outcome (the sink's `amqp1.max.in.flight`),
//!   sending the message the sink sends (durable, its message id, creation-time and
//!   JMS type annotation). Sluice: `amqp1-sink`. Both sides are
//!   timed by the same drain receiver on the queue, from its first message to the last.
//!
//! Run with `cargo bench --bench amqp1` against the servers `scripts/stack.sh up`
//! starts. `SLUICE_BENCH_AMQP1_N` sets the message count (default 200,000; the issue's
//! figure is 1,000,000), each with a body of 100 bytes; `SLUICE_BENCH_ROUNDS` the rounds
//! (default 3, Artemis -> Kafka alternating which side goes first; the median ratio of
//! each direction is printed last);
//! `SLUICE_BENCH_ONLY=source` or `sink` runs one direction; `SLUICE_BENCH_AMQP1_SOURCE`
//! adds `amqp1-source` keys for experiments (`amqp1.credit=3000,amqp1.batch.size=500`).

#[path = "../tests/common/amqp1.rs"]
mod amqp1;
#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/queues.rs"]
#[allow(unused_imports)]
mod queues;
#[path = "../tests/common/tls.rs"]
mod tls;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use fe2o3_amqp::link::delivery::{DeliveryFut, DeliveryInfo};
use fe2o3_amqp::link::receiver::CreditMode;
use fe2o3_amqp::link::SendError;
use fe2o3_amqp::types::definitions::SenderSettleMode;
use fe2o3_amqp::types::messaging::message::Body;
use fe2o3_amqp::types::messaging::{
    Header, Message, MessageAnnotations, MessageId, Outcome, Properties, Source, Target,
};
use fe2o3_amqp::types::primitives::{Array, Binary, Symbol, Timestamp, Value};
use fe2o3_amqp::{Connection, Receiver, Sender, Session};
use futures::FutureExt;
use rdkafka::message::Message as _;
use rdkafka::producer::future_producer::DeliveryFuture;
use rdkafka::producer::{FutureProducer, FutureRecord};

use common::*;
use queues::rt;

const BODY: usize = 100;
const CREDIT: u32 = 1000;
const WINDOW: usize = 1000;
/// Outcomes awaited, oldest first.
type Pending = VecDeque<DeliveryFut<Result<Outcome, SendError>>>;

const URL: &str = amqp1::URI;

fn n() -> usize {
    std::env::var("SLUICE_BENCH_AMQP1_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000)
}

/// Extra `amqp1-source` keys for experiments (`SLUICE_BENCH_AMQP1_SOURCE`, e.g.
/// `amqp1.credit=2000,amqp1.batch.size=500`); none by default.
fn extra_source_config() -> String {
    std::env::var("SLUICE_BENCH_AMQP1_SOURCE")
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| format!("  {}: {}\n", k.trim(), v.trim()))
        .collect()
}

/// `SLUICE_BENCH_ONLY=source` or `sink` runs one direction.
fn runs(direction: &str) -> bool {
    std::env::var("SLUICE_BENCH_ONLY").map_or(true, |o| o == direction)
}

fn queue_source(address: &str) -> Source {
    Source::builder()
        .address(address.to_string())
        .capabilities(Array::from(vec![Symbol::from("queue")]))
        .build()
}

fn queue_target(address: &str) -> Target {
    Target::builder()
        .address(address.to_string())
        .capabilities(Array::from(vec![Symbol::from("queue")]))
        .build()
}

/// A connection and session. `nodelay`: TCP_NODELAY, as the connectors set it (on for
/// a receiver, whose small dispositions must not wait; off, fe2o3-amqp's default, for
/// a sender, whose transfers coalesce).
async fn open(
    name: &str,
    nodelay: bool,
) -> (
    fe2o3_amqp::connection::ConnectionHandle<()>,
    fe2o3_amqp::session::SessionHandle<()>,
) {
    let tcp = tokio::net::TcpStream::connect("127.0.0.1:5673")
        .await
        .unwrap();
    tcp.set_nodelay(nodelay).unwrap();
    let mut c = Connection::builder()
        .container_id(name.to_string())
        .hostname("127.0.0.1")
        .sasl_profile(fe2o3_amqp::sasl_profile::SaslProfile::Plain {
            username: amqp1::USER.to_string(),
            password: amqp1::PASSWORD.to_string(),
        })
        .scheme("amqp")
        .open_with_stream(tcp)
        .await
        .unwrap();
    let s = Session::begin(&mut c).await.unwrap();
    (c, s)
}

/// Sends `n` durable messages (bodies as `data` sections) to a queue, unsettled, with
/// at most WINDOW awaiting their outcome.
fn fill_queue(address: &str, n: usize) {
    rt().block_on(async {
        let (mut c, mut s) = open("bench-fill", false).await;
        let mut tx = Sender::builder()
            .name("bench-fill")
            .target(queue_target(address))
            .sender_settle_mode(SenderSettleMode::Unsettled)
            .attach(&mut s)
            .await
            .unwrap();
        let mut pending = Pending::with_capacity(WINDOW);
        for i in 0..n {
            if pending.len() >= WINDOW {
                pending.pop_front().unwrap().await.unwrap();
            }
            let m = Message::builder()
                .header(Header::builder().durable(true).build())
                .data(Binary::from(numbered_value(i, BODY)))
                .build();
            pending.push_back(tx.send_batchable(m).await.unwrap());
        }
        for f in pending {
            f.await.unwrap();
        }
        let _ = tx.close().await;
        let _ = s.end().await;
        let _ = c.close().await;
    });
}

/// The plain Artemis -> Kafka loop. Returns messages per second.
fn plain_source(address: &str, topic: &str, n: usize) -> f64 {
    // The same producer settings as Sluice's source tasks (acks=all, idempotent).
    let producer: FutureProducer =
        sluice_runtime::kafka::client_config(&[&sluice_runtime::kafka::source_producer_defaults()])
            .set("bootstrap.servers", bootstrap())
            .create()
            .unwrap();
    rt().block_on(async {
        let (mut c, mut s) = open("bench-plain-source", true).await;
        let mut rx = Receiver::builder()
            .name("bench-plain-source")
            .source(queue_source(address))
            .credit_mode(CreditMode::Manual)
            .attach(&mut s)
            .await
            .unwrap();
        rx.set_credit(CREDIT).await.unwrap();
        // Pipelined: keep receiving while Kafka acknowledges; accept what Kafka has,
        // in order, in one disposition; top the credit up when half is left.
        let mut inflight: VecDeque<(DeliveryInfo, DeliveryFuture)> = VecDeque::new();
        let mut outstanding = CREDIT;
        let (mut received, mut accepted) = (0, 0);
        let mut start = None;
        while accepted < n {
            tokio::select! {
                biased;
                r = async { (&mut inflight.front_mut().expect("not empty").1).await }, if !inflight.is_empty() => {
                    r.unwrap().unwrap();
                    let mut done = vec![inflight.pop_front().expect("not empty").0];
                    while let Some((_, f)) = inflight.front_mut() {
                        match f.now_or_never() {
                            Some(r) => {
                                r.unwrap().unwrap();
                                done.push(inflight.pop_front().expect("not empty").0);
                            }
                            None => break,
                        }
                    }
                    accepted += done.len();
                    rx.accept_all(done).await.unwrap();
                    // Spec credit: what may come counts from now, so unsettled plus
                    // credit stays within CREDIT.
                    if (inflight.len() as u32 + outstanding) < CREDIT / 2 {
                        outstanding = CREDIT - inflight.len() as u32;
                        rx.set_credit(outstanding).await.unwrap();
                    }
                }
                d = rx.recv::<Body<Value>>(), if received < n && outstanding > 0 => {
                    let (info, m) = d.unwrap().into_parts();
                    start.get_or_insert_with(Instant::now);
                    received += 1;
                    outstanding -= 1;
                    let payload = match m.body {
                        Body::Data(sections) => sections[0].0.to_vec(),
                        other => panic!("not a data section: {:?}", other),
                    };
                    let ack = producer
                        .send_result(FutureRecord::<(), _>::to(topic).payload(&payload))
                        .map_err(|(e, _)| e)
                        .unwrap();
                    inflight.push_back((info, ack));
                }
            }
        }
        let rate = n as f64 / start.unwrap().elapsed().as_secs_f64();
        let _ = rx.close().await;
        let _ = s.end().await;
        let _ = c.close().await;
        rate
    })
}

fn worker(dir: &std::path::Path) -> String {
    // the default offset flush interval (60 s), as a user's worker has
    worker_yaml(dir, free_port(), "").replace("offset.flush.interval.ms: 500\n", "")
}

/// A connector file for `class` with the defaults but `settings` (YAML lines), the
/// stack's Artemis and bytes as they are.
fn connector_file(dir: &std::path::Path, class: &str, settings: &str) -> std::path::PathBuf {
    let name = unique(&format!("bench-{class}"));
    let c = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: {class}\n  amqp1.uri: {URL}\n{settings}  value.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n"
        ),
    )
    .unwrap();
    c
}

/// `amqp1-source`, defaults: time from its first record in Kafka to the last.
fn sluice_source(dir: &std::path::Path, address: &str, topic: &str, n: usize) -> f64 {
    let c = connector_file(
        dir,
        "amqp1-source",
        &format!(
            "  amqp1.address: {address}\n  topic: {topic}\n{}",
            extra_source_config()
        ),
    );
    let mut w = Sluice::standalone(dir, &worker(dir), &[&c]);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(900);
    let mut first = None;
    loop {
        let end = end_offset(topic);
        if end > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if end >= n as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {end} of {n} records; log:\n{}",
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rate = n as f64 / first.unwrap_or(start).elapsed().as_secs_f64();
    w.terminate();
    rate
}

/// Receives (and accepts) `n` messages from the queue; returns the seconds from the
/// first to the last.
async fn drain(address: &str, n: usize) -> f64 {
    let (mut c, mut s) = open(&unique("bench-drain"), true).await;
    let mut rx = Receiver::builder()
        .name(unique("bench-drain"))
        .source(queue_source(address))
        .credit_mode(CreditMode::Auto(2000))
        .attach(&mut s)
        .await
        .unwrap();
    let mut start = None;
    let mut infos = Vec::with_capacity(500);
    for _ in 0..n {
        let d = tokio::time::timeout(Duration::from_secs(600), rx.recv::<Body<Value>>())
            .await
            .expect("messages keep coming")
            .unwrap();
        start.get_or_insert_with(Instant::now);
        infos.push(d.into_parts().0);
        if infos.len() == 500 {
            rx.accept_all(std::mem::take(&mut infos)).await.unwrap();
        }
    }
    let secs = start.unwrap().elapsed().as_secs_f64();
    if !infos.is_empty() {
        rx.accept_all(infos).await.unwrap();
    }
    let _ = rx.close().await;
    let _ = s.end().await;
    let _ = c.close().await;
    secs
}

/// The plain Kafka -> Artemis loop, timed by the drain receiver.
fn plain_sink(topic: &str, address: &str, n: usize) -> f64 {
    let c = reader_from_start(topic, "bench-plain-amqp1-sink");
    rt().block_on(async {
        let drained = tokio::spawn({
            let address = address.to_string();
            async move { drain(&address, n).await }
        });
        let (mut conn, mut s) = open("bench-plain-sink", false).await;
        let mut tx = Sender::builder()
            .name("bench-plain-sink")
            .target(queue_target(address))
            .sender_settle_mode(SenderSettleMode::Unsettled)
            .attach(&mut s)
            .await
            .unwrap();
        let mut pending = Pending::with_capacity(WINDOW);
        let mut sent = 0;
        while sent < n {
            let Some(Ok(m)) = c.poll(Duration::ZERO) else {
                tokio::task::yield_now().await;
                continue;
            };
            if pending.len() >= WINDOW {
                let outcome = pending.pop_front().unwrap().await.unwrap();
                assert!(matches!(outcome, Outcome::Accepted(_)));
            }
            // what the sink sends by default: durable, the message id
            // <topic>-<partition>-<offset>, the record timestamp as creation-time, the
            // JMS type annotation (BytesMessage), the body as one data section
            let msg = Message::builder()
                .header(Header::builder().durable(true).build())
                .message_annotations(
                    MessageAnnotations::builder()
                        .insert(Symbol::from("x-opt-jms-msg-type"), Value::Byte(3))
                        .build(),
                )
                .properties(Properties {
                    message_id: Some(MessageId::String(format!(
                        "{}-{}-{}",
                        m.topic(),
                        m.partition(),
                        m.offset()
                    ))),
                    creation_time: m
                        .timestamp()
                        .to_millis()
                        .filter(|t| *t >= 0)
                        .map(Timestamp::from_milliseconds),
                    ..Properties::default()
                })
                .data(Binary::from(m.payload().unwrap_or_default().to_vec()))
                .build();
            pending.push_back(tx.send_batchable(msg).await.unwrap());
            sent += 1;
        }
        for f in pending {
            assert!(matches!(f.await.unwrap(), Outcome::Accepted(_)));
        }
        let secs = drained.await.unwrap();
        let _ = tx.close().await;
        let _ = s.end().await;
        let _ = conn.close().await;
        n as f64 / secs
    })
}

/// `amqp1-sink`, defaults, timed by the drain receiver.
fn sluice_sink(dir: &std::path::Path, topic: &str, address: &str, n: usize) -> f64 {
    let c = connector_file(
        dir,
        "amqp1-sink",
        &format!("  amqp1.address: {address}\n  amqp1.capabilities: queue\n  topics: {topic}\n"),
    );
    let runtime = rt();
    let drained = runtime.spawn({
        let address = address.to_string();
        async move { drain(&address, n).await }
    });
    let mut w = Sluice::standalone(dir, &worker(dir), &[&c]);
    let secs = runtime.block_on(drained).unwrap();
    w.terminate();
    n as f64 / secs
}

fn main() {
    // `cargo test --all-targets` runs this binary without --bench: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("amqp1 benchmark: run it with `cargo bench --bench amqp1`");
        return;
    }
    amqp1::start_artemis();
    let n = n();
    let dir = tempfile::tempdir().unwrap();
    println!("AMQP 1.0 (ActiveMQ Artemis) <-> Kafka: {n} messages of {BODY} B, durable, acks=all");

    let mut sources = Vec::new();
    let mut sinks = Vec::new();
    for round in 1..=bench_rounds() {
        println!("round {round}");
        if runs("source") {
            // One queue filled at a time, each emptied before the next (the broker's heap).
            let (q_plain, q_sluice) = (unique("bench-amqp1-plain"), unique("bench-amqp1-sluice"));
            let (t_plain, t_sluice) = (unique("bench-amqp1-plain"), unique("bench-amqp1-sluice"));
            create_topic(&t_plain, 1);
            create_topic(&t_sluice, 1);
            // Even rounds run Sluice first: neither side always meets the broker
            // after the other's load (its heap, its paging at 1,000,000 messages).
            let plain = || {
                fill_queue(&q_plain, n);
                plain_source(&q_plain, &t_plain, n)
            };
            let sluice = || {
                fill_queue(&q_sluice, n);
                sluice_source(dir.path(), &q_sluice, &t_sluice, n)
            };
            let (s, p) = if round % 2 == 0 {
                let s = sluice();
                (s, plain())
            } else {
                let p = plain();
                (sluice(), p)
            };
            println!(
                "Artemis -> Kafka  sluice {:>9.0} msg/s   plain {:>9.0} msg/s   ratio {:.2}",
                s,
                p,
                s / p
            );
            sources.push((s, p));
        }

        if runs("sink") {
            let topic = unique("bench-amqp1-sink");
            fill_numbered(&topic, n, BODY);
            let (a_plain, a_sluice) = (
                unique("bench-amqp1-sink-plain"),
                unique("bench-amqp1-sink-sluice"),
            );
            let p = plain_sink(&topic, &a_plain, n);
            let s = sluice_sink(dir.path(), &topic, &a_sluice, n);
            println!(
                "Kafka -> Artemis  sluice {:>9.0} msg/s   plain {:>9.0} msg/s   ratio {:.2}",
                s,
                p,
                s / p
            );
            sinks.push((s, p));
        }
    }
    if runs("source") {
        median_ratio("Artemis -> Kafka", &sources);
    }
    if runs("sink") {
        median_ratio("Kafka -> Artemis", &sinks);
    }
}
