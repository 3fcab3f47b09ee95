//! End-to-end benchmark of the MongoDB sink against a plain client in the same run:
//!
//! * plain: an rdkafka consumer reads the topic from the beginning, parses each JSON
//!   value into a BSON document and writes batches of `SLUICE_BENCH_BATCH` with the
//!   `mongodb` crate's `insert_many` (ordered), waiting for each before the next;
//! * Sluice (bench build): `mongodb-sink` with `InsertOneDefaultStrategy`,
//!   `ProvidedInValueStrategy`, `max.batch.size` and `consumer.override.max.poll.records`
//!   = the same batch size, reading the same topic into another collection;
//! * and, for reference, Sluice with the default write model (ReplaceOne upsert by
//!   `_id`), which costs the server more per document.
//!
//! The plain loop is timed from the first record consumed to the last acknowledged
//! `insert_many`; Sluice from the moment its first batch is in MongoDB (document `_id`
//! 0, looked up every 10 ms) to the last document, counting the records after the first
//! batch, so the consumer group join and process start are excluded.
//! Run with `cargo bench --bench mongodb` against `scripts/stack.sh up`.
//! `SLUICE_BENCH_MONGO_N` (default 50,000) sets the record count,
//! `SLUICE_BENCH_ROUNDS` the rounds of plain loop and InsertOne sink (default 3; the
//! median ratio is printed last).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/mongo_probe.rs"]
mod mongo_probe;

use std::time::{Duration, Instant};

use mongodb::bson::{doc, Bson, Document};
use rdkafka::message::Message;

use common::*;
use mongo_probe::{mongo_uri, Probe};

const DB: &str = "sluice_bench";

fn env_n(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn value(i: usize) -> String {
    format!(
        r#"{{"_id":{},"name":"customer-{:08}","city":"Lyon","active":true,"score":{}.5,"tags":["a","b","c"],"note":"{}"}}"#,
        i,
        i,
        i % 1000,
        "x".repeat(120)
    )
}

fn fill_topic(topic: &str, n: usize) {
    create_topic(topic, 1);
    let vals: Vec<String> = (0..n).map(value).collect();
    let t = Instant::now();
    for chunk in vals.chunks(20_000) {
        let msgs: Vec<Outgoing<'_>> = chunk
            .iter()
            .map(|v| (None, Some(v.as_bytes()), vec![]))
            .collect();
        produce(topic, &msgs);
    }
    eprintln!(
        "  produced {} records to {} in {:.1?}",
        n,
        topic,
        t.elapsed()
    );
}

/// A plain rdkafka consumer + `insert_many` loop. Returns records/s.
fn plain(topic: &str, coll: &str, n: usize, batch: usize) -> f64 {
    let c = reader_from_start(topic, "bench-plain");
    let r = rt();
    r.block_on(async {
        let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let coll = client.database(DB).collection::<Document>(coll);
        let mut buf: Vec<Document> = Vec::with_capacity(batch);
        let mut done = 0usize;
        let mut start = None;
        let deadline = Instant::now() + Duration::from_secs(900);
        while done < n {
            assert!(
                Instant::now() < deadline,
                "plain: only {} of {} written",
                done,
                n
            );
            match c.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    start.get_or_insert_with(Instant::now);
                    let j: serde_json::Value =
                        serde_json::from_slice(m.payload().unwrap()).unwrap();
                    match Bson::try_from(j).unwrap() {
                        Bson::Document(d) => buf.push(d),
                        other => panic!("not a document: {:?}", other),
                    }
                }
                Some(Err(e)) => panic!("plain consumer: {}", e),
                None => {}
            }
            if buf.len() >= batch || (done + buf.len() >= n && !buf.is_empty()) {
                let k = buf.len();
                coll.insert_many(std::mem::take(&mut buf))
                    .ordered(true)
                    .await
                    .unwrap();
                done += k;
            }
        }
        n as f64 / start.unwrap().elapsed().as_secs_f64()
    })
}

/// Sluice with `write_model`; returns records/s from the first document to the last.
fn sluice(
    dir: &std::path::Path,
    topic: &str,
    coll: &str,
    n: usize,
    batch: usize,
    write_model: &str,
) -> f64 {
    let name = unique("bench-mongo");
    let cfg = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &cfg,
        format!(
            "name: {name}\nconfig:\n  connector.class: mongodb-sink\n  topics: {topic}\n  connection.uri: {}\n  database: {DB}\n  collection: {coll}\n  value.converter: org.apache.kafka.connect.storage.StringConverter\n  document.id.strategy: ProvidedInValueStrategy\n  writemodel.strategy: {write_model}\n  max.batch.size: {batch}\n  consumer.override.max.poll.records: {batch}\n",
            mongo_uri()
        ),
    )
    .unwrap();
    let mut w = Sluice::standalone(dir, &worker_yaml(dir, free_port(), ""), &[&cfg]);
    // Records are written in order: the first batch is in when _id 0 is, all of
    // them when _id n-1 is. Timed over the batches after the first.
    let probe = Probe::new(DB);
    let deadline = Instant::now() + Duration::from_secs(900);
    let wait = |id: i64| {
        while !probe.has(coll, id) {
            assert!(
                Instant::now() < deadline,
                "sluice: document {} never arrived; log:\n{}",
                id,
                w.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Instant::now()
    };
    let t0 = wait(0);
    let t1 = wait(n as i64 - 1);
    let rate = n.saturating_sub(batch) as f64 / (t1 - t0).as_secs_f64();
    assert_eq!(probe.count(coll), n as u64, "documents written by Sluice");
    assert!(w.terminate().success());
    rate
}

fn main() {
    // `cargo test --all-targets` runs this binary without --bench: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("mongodb benchmark: run it with `cargo bench --bench mongodb`");
        return;
    }
    let n = env_n("SLUICE_BENCH_MONGO_N", 50_000);
    let batch = env_n("SLUICE_BENCH_BATCH", 1000);
    let dir = tempfile::tempdir().unwrap();
    println!(
        "mongodb sink: {} JSON records (~{} B), batch {}, broker {}, server {}",
        n,
        value(0).len(),
        batch,
        bootstrap(),
        mongo_uri()
    );
    let topic = unique("bench-mongo");
    fill_topic(&topic, n);
    rt().block_on(async {
        let c = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        c.database(DB).run_command(doc! {"ping": 1}).await.unwrap();
    });
    let mut rounds = Vec::new();
    for round in 1..=bench_rounds() {
        eprintln!("round {round}: plain, then sluice...");
        let p = plain(&topic, &unique("plain"), n, batch);
        println!("plain rdkafka + insert_many: {:>9.0} records/s", p);
        let s = sluice(
            dir.path(),
            &topic,
            &unique("sluice"),
            n,
            batch,
            "InsertOneDefaultStrategy",
        );
        println!(
            "sluice (InsertOne):          {:>9.0} records/s   ratio {:.2}",
            s,
            s / p
        );
        rounds.push((s, p));
    }
    let p = rounds.iter().map(|r| r.1).sum::<f64>() / rounds.len() as f64;
    if std::env::var("SLUICE_BENCH_SKIP_REPLACE").is_err() {
        let r = sluice(
            dir.path(),
            &topic,
            &unique("sluice-replace"),
            n,
            batch,
            "ReplaceOneDefaultStrategy",
        );
        println!(
            "sluice (ReplaceOne upsert):  {:>9.0} records/s   ratio {:.2} to the plain loop's mean (different write; for reference)",
            r,
            r / p
        );
    }
    median_ratio("Kafka -> MongoDB (InsertOne)", &rounds);
}
