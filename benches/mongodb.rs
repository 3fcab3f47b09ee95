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
//! Both sides are timed the same way, from outside: from the moment the first batch is
//! in MongoDB (document `_id` 0, looked up every 10 ms through one client) to the last
//! document, counting the records after the first batch. So process start and the
//! consumer group join are excluded, and the lookups load the server equally on both
//! sides. Each run's collection is dropped once it is timed; still the server slows
//! down at times (its store checkpoints), so the sides take turns going first, each
//! after a pause.
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

use mongodb::bson::{Bson, Document};
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

/// A plain rdkafka consumer + `insert_many` loop, on a thread of its own; returns
/// records/s by its own clock, from the first record consumed to the last write
/// acknowledged (printed beside the outside timing, as a check of it).
fn plain_loop(topic: String, coll: String, n: usize, batch: usize) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || {
        let c = reader_from_start(&topic, "bench-plain");
        rt().block_on(async {
            let client = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
            let coll = client.database(DB).collection::<Document>(&coll);
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
    })
}

/// Records/s into `coll` from its first batch to its last document (see the module
/// doc); `what` names the side in a timeout message.
fn time_writes(coll: &str, n: usize, batch: usize, what: &dyn Fn() -> String) -> f64 {
    let probe = Probe::new(DB);
    let deadline = Instant::now() + Duration::from_secs(900);
    let wait = |id: i64| {
        while !probe.has(coll, id) {
            assert!(
                Instant::now() < deadline,
                "{}: document {} never arrived",
                what(),
                id
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Instant::now()
    };
    let t0 = wait(0);
    let t1 = wait(n as i64 - 1);
    assert_eq!(
        probe.count(coll),
        n as u64,
        "documents written by {}",
        what()
    );
    let rate = n.saturating_sub(batch) as f64 / (t1 - t0).as_secs_f64();
    drop_from_bench_db(Some(coll));
    rate
}

/// Drops `coll` from the benchmark's database, or the whole database: each run's
/// collection is dropped once timed, and the database at the start, so that the
/// server's store does not grow from run to run.
fn drop_from_bench_db(coll: Option<&str>) {
    rt().block_on(async {
        let c = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let db = c.database(DB);
        match coll {
            Some(coll) => db.collection::<Document>(coll).drop().await.unwrap(),
            None => db.drop().await.unwrap(),
        }
    });
}

/// The plain loop's records/s, timed as [`sluice`] is.
fn plain(topic: &str, coll: &str, n: usize, batch: usize) -> f64 {
    let h = plain_loop(topic.to_string(), coll.to_string(), n, batch);
    let rate = time_writes(coll, n, batch, &|| "plain loop".to_string());
    let own = h.join().expect("plain loop");
    println!("  (plain, its own clock: {:.0} records/s)", own);
    rate
}

/// A pause between runs, so one run's leftover work on the server (and the host)
/// does not fall into the next one's time.
fn settle() {
    std::thread::sleep(Duration::from_secs(3));
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
    let rate = time_writes(coll, n, batch, &|| {
        format!("sluice; log:\n{}", w.log_text())
    });
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
    drop_from_bench_db(None);
    let mut rounds = Vec::new();
    for round in 1..=bench_rounds() {
        let plain_first = round % 2 == 1;
        eprintln!(
            "round {round}: {} first...",
            if plain_first { "plain" } else { "sluice" }
        );
        let run_plain = || {
            settle();
            let p = plain(&topic, &unique("plain"), n, batch);
            println!("plain rdkafka + insert_many: {:>9.0} records/s", p);
            p
        };
        let run_sluice = || {
            settle();
            let s = sluice(
                dir.path(),
                &topic,
                &unique("sluice"),
                n,
                batch,
                "InsertOneDefaultStrategy",
            );
            println!("sluice (InsertOne):          {:>9.0} records/s", s);
            s
        };
        let (s, p) = if plain_first {
            let p = run_plain();
            (run_sluice(), p)
        } else {
            let s = run_sluice();
            (s, run_plain())
        };
        println!("round {round}: ratio {:.2}", s / p);
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
