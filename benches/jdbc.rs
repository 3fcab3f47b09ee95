//! End-to-end benchmark of the JDBC source: rows/s for a table of 1,000,000 rows
//! through Sluice (release build, incrementing mode, JsonConverter without schemas)
//! into Kafka, against two plain loops in the same run, both with the same producer
//! settings as Sluice's source producer (acks=all, idempotent):
//!
//! - the plain client loop: the rows streamed with tokio-postgres (`query_raw`, binary
//!   rows, as Sluice reads them), each written as JSON with serde (the key `{"id":..}`
//!   and the value with the same fields as Sluice's record, the numeric as Connect's
//!   JSON writes a Decimal) and produced as one message: what a user would write by
//!   hand for the same output;
//! - the ceiling: `COPY (SELECT ...) TO STDOUT` text lines sent as they are, with no
//!   decoding and no JSON.
//!
//! Run with `cargo bench --bench jdbc` against the servers `scripts/stack.sh up`
//! starts (PostgreSQL 15 and Apache Kafka on 127.0.0.1:9092; set SLUICE_TEST_BOOTSTRAP
//! to use another broker).
//! `SLUICE_BENCH_JDBC_N` sets the row count, `SLUICE_BENCH_JDBC_BATCH` batch.max.rows,
//! `SLUICE_BENCH_ROUNDS` the rounds (default 3; odd rounds run the plain loop first,
//! even rounds Sluice first, each after a 3 s pause; the median ratio is printed last).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

fn env_n(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

async fn pg() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test",
        tokio_postgres::NoTls,
    )
    .await
    .expect("PostgreSQL at 127.0.0.1:5432");
    tokio::spawn(conn);
    client
}

const COLUMNS: &str = "id, name, qty, price, created_at";

fn plain_producer() -> ThreadedProducer<DefaultProducerContext> {
    sluice_runtime::kafka::client_config(&[&sluice_runtime::kafka::source_producer_defaults()])
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap()
}

fn send(
    p: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    key: Option<&[u8]>,
    payload: &[u8],
) {
    let mut r: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).payload(payload);
    if let Some(k) = key {
        r = r.key(k);
    }
    send_retrying(p, r, Duration::from_millis(1));
}

/// A PostgreSQL binary numeric as Connect's JsonConverter writes a Decimal of this
/// scale without schemas: base64 of the unscaled value, big-endian two's complement.
struct Numeric(String);

impl<'a> tokio_postgres::types::FromSql<'a> for Numeric {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        b: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        use base64::Engine;
        let word = |i: usize| i16::from_be_bytes([b[i], b[i + 1]]) as i64;
        let (ndigits, weight, negative, scale) = (word(0), word(2), word(4) != 0, 2i64);
        let mut unscaled: i128 = 0;
        for i in 0..ndigits as usize {
            unscaled = unscaled * 10_000 + word(8 + 2 * i) as i128;
        }
        let tens = 4 * (weight - ndigits + 1) + scale;
        unscaled = if tens >= 0 {
            unscaled * 10i128.pow(tens as u32)
        } else {
            unscaled / 10i128.pow((-tens) as u32)
        };
        if negative {
            unscaled = -unscaled;
        }
        let bytes = unscaled.to_be_bytes();
        let skip = (0..15)
            .take_while(|i| {
                (bytes[*i] == 0 && bytes[i + 1] < 0x80)
                    || (bytes[*i] == 0xff && bytes[i + 1] >= 0x80)
            })
            .count();
        Ok(Numeric(
            base64::engine::general_purpose::STANDARD.encode(&bytes[skip..]),
        ))
    }
    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        *ty == tokio_postgres::types::Type::NUMERIC
    }
}

#[derive(serde::Serialize)]
struct JsonKey {
    id: i64,
}

#[derive(serde::Serialize)]
struct JsonRow<'a> {
    id: i64,
    name: &'a str,
    qty: i32,
    price: String,
    created_at: i64,
}

/// The plain client loop: rows streamed with tokio-postgres, each one JSON message.
fn plain_rows(table: &str, n: usize) -> (f64, String) {
    let topic = unique("bench-jdbc-rows");
    create_topic(&topic, 1);
    let p = plain_producer();
    let rt = rt();
    let start = Instant::now();
    let cpu0 = (cpu_seconds(std::process::id()), machine_cpu());
    let rows = rt.block_on(async {
        let c = pg().await;
        let stream = c
            .query_raw(
                &format!("SELECT {} FROM {} ORDER BY id", COLUMNS, table),
                std::iter::empty::<i32>(),
            )
            .await
            .unwrap();
        futures::pin_mut!(stream);
        let mut rows = 0usize;
        let mut json = Vec::with_capacity(256);
        let mut key = Vec::with_capacity(32);
        while let Some(row) = stream.next().await {
            let row = row.unwrap();
            let created: std::time::SystemTime = row.get(4);
            let v = JsonRow {
                id: row.get(0),
                name: row.get(1),
                qty: row.get(2),
                price: row.get::<_, Numeric>(3).0,
                created_at: created
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64,
            };
            key.clear();
            serde_json::to_writer(&mut key, &JsonKey { id: v.id }).unwrap();
            json.clear();
            serde_json::to_writer(&mut json, &v).unwrap();
            send(&p, &topic, Some(&key), &json);
            rows += 1;
        }
        rows
    });
    p.flush(Duration::from_secs(300)).unwrap();
    assert_eq!(rows, n);
    report_cpu("plain loop", cpu_seconds(std::process::id()), cpu0, n);
    (n as f64 / start.elapsed().as_secs_f64(), topic)
}

/// Prints a process's CPU per row since `before` (its CPU seconds and the machine's),
/// and how busy the machine's CPUs were meanwhile.
fn report_cpu(who: &str, now: f64, before: (f64, (f64, f64)), n: usize) {
    let (busy, all) = machine_cpu();
    let (busy0, all0) = before.1;
    println!(
        "      {}: {:.2} us CPU per row; machine {:.0} % busy",
        who,
        (now - before.0) / n as f64 * 1e6,
        (busy - busy0) / (all - all0).max(1e-9) * 100.0
    );
}

/// The key and value of a topic's first message, as text.
fn first_message(topic: &str) -> String {
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::Message;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("bench"))
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    loop {
        if let Some(Ok(m)) = c.poll(Duration::from_secs(10)) {
            return format!(
                "key {} value {}",
                String::from_utf8_lossy(m.key().unwrap_or_default()),
                String::from_utf8_lossy(m.payload().unwrap_or_default())
            );
        }
    }
}

/// The ceiling: `COPY (SELECT ...) TO STDOUT`, each text line produced as one message.
fn plain(table: &str, n: usize) -> f64 {
    let topic = unique("bench-jdbc-plain");
    create_topic(&topic, 1);
    let p = plain_producer();
    let rt = rt();
    let start = Instant::now();
    let rows = rt.block_on(async {
        let c = pg().await;
        let stream = c
            .copy_out(&format!(
                "COPY (SELECT {} FROM {} ORDER BY id) TO STDOUT",
                COLUMNS, table
            ))
            .await
            .unwrap();
        futures::pin_mut!(stream);
        let mut rows = 0usize;
        let mut rest: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            rest.extend_from_slice(&chunk.unwrap());
            let mut from = 0;
            while let Some(nl) = rest[from..].iter().position(|b| *b == b'\n') {
                send(&p, &topic, None, &rest[from..from + nl]);
                rows += 1;
                from += nl + 1;
            }
            rest.drain(..from);
        }
        rows
    });
    p.flush(Duration::from_secs(300)).unwrap();
    assert_eq!(rows, n);
    n as f64 / start.elapsed().as_secs_f64()
}

/// Sluice from the first record in Kafka until the stored offset (written only after
/// Kafka acknowledged every record) reaches the last id.
fn sluice(dir: &std::path::Path, table: &str, n: usize, batch: usize) -> (f64, String) {
    let prefix = format!("{}-", unique("bench-jdbc"));
    create_topic(&format!("{}{}", prefix, table), 1);
    let name = unique("bench-jdbc");
    let c = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: jdbc-source\n  connection.url: jdbc:postgresql://127.0.0.1:5432/test?user=postgres\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {table}\n  topic.prefix: {prefix}\n  batch.max.rows: {batch}\n  key.converter: org.apache.kafka.connect.json.JsonConverter\n  key.converter.schemas.enable: false\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n"
        ),
    )
    .unwrap();
    // The default offset flush interval (60 s), as a user's worker has.
    let worker = worker_yaml(dir, free_port(), "").replace("offset.flush.interval.ms: 500\n", "");
    let _ = std::fs::remove_file(dir.join("offsets.json"));
    let mut w = Sluice::standalone(dir, &worker, &[&c]);
    let topic = format!("{}{}", prefix, table);
    let wm: rdkafka::consumer::BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("bench"))
        .create()
        .unwrap();
    // The clock starts at the first record in Kafka (process start-up excluded, as in
    // the queues benchmark) and stops when Kafka holds every record (as the plain
    // loop's stops when its producer's flush returns: every record acknowledged).
    let deadline = Instant::now() + Duration::from_secs(900);
    let (start, cpu0) = loop {
        let (_, high) = wm
            .fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .unwrap_or((0, 0));
        if high > 0 {
            break (Instant::now(), (cpu_seconds(w.pid()), machine_cpu()));
        }
        assert!(
            Instant::now() < deadline,
            "no record; log:\n{}",
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    while wm
        .fetch_watermarks(&topic, 0, Duration::from_secs(10))
        .map_or(0, |(_, high)| high)
        < n as i64
    {
        assert!(
            Instant::now() < deadline,
            "not done in time; log:\n{}",
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    report_cpu("sluice worker", cpu_seconds(w.pid()), cpu0, n);
    let status = std::fs::read_to_string(format!("/proc/{}/status", w.pid())).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("")
        .to_string();
    println!("      sluice worker peak RSS: {}", hwm.trim());
    w.terminate();
    // Stopping stored the last offset (every record was acknowledged).
    let offsets = std::fs::read_to_string(dir.join("offsets.json")).unwrap_or_default();
    assert!(
        offsets.contains(&format!("\"incrementing\": {}", n)),
        "the offset stored at shutdown is not the last id: {}",
        offsets
    );
    (rate, topic)
}

/// A pause before each measured run, the same for both sides.
fn settle() {
    std::thread::sleep(Duration::from_secs(3));
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("jdbc benchmark: run it with `cargo bench --bench jdbc`");
        return;
    }
    let n = env_n("SLUICE_BENCH_JDBC_N", 1_000_000);
    let batch = env_n("SLUICE_BENCH_JDBC_BATCH", 100);
    let table = unique("bench_jdbc").replace('-', "_");
    rt().block_on(async {
        let c = pg().await;
        c.batch_execute(&format!(
            "CREATE TABLE {table} (id int8 PRIMARY KEY, name text NOT NULL, qty int4 NOT NULL, price numeric(12,2) NOT NULL, created_at timestamptz NOT NULL);
             INSERT INTO {table} SELECT g, 'item ' || g, g % 100, (g % 10000) / 100.0, TIMESTAMPTZ '2024-01-01' + g * INTERVAL '1 second' FROM generate_series(1, {n}) g;"
        ))
        .await
        .unwrap();
        // Separate statement: VACUUM cannot run inside the multi-statement transaction.
        c.batch_execute(&format!("VACUUM ANALYZE {table}")).await.unwrap();
    });
    println!(
        "JDBC source: {} rows (id, text, int, numeric(12,2), timestamptz), broker {}, batch.max.rows {}",
        n,
        bootstrap(),
        batch
    );
    let dir = tempfile::tempdir().unwrap();
    eprintln!("plain COPY + producer (the ceiling)...");
    let ceiling = plain(&table, n);
    let mut rounds = Vec::new();
    for round in 1..=bench_rounds() {
        let rdir = dir.path().join(format!("round-{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        // The two sides take turns going first, and each starts after a pause: a run
        // right after another meets the broker still writing out its records.
        let ((base, plain_topic), (s, sluice_topic)) = if round % 2 == 1 {
            eprintln!("round {round}: plain rows + JSON + producer, then sluice...");
            settle();
            let plain = plain_rows(&table, n);
            settle();
            (plain, sluice(&rdir, &table, n, batch))
        } else {
            eprintln!("round {round}: sluice, then plain rows + JSON + producer...");
            settle();
            let mine = sluice(&rdir, &table, n, batch);
            settle();
            (plain_rows(&table, n), mine)
        };
        // The plain loop writes what Sluice writes.
        let (mine, theirs) = (first_message(&sluice_topic), first_message(&plain_topic));
        assert_eq!(mine, theirs, "the plain loop's JSON differs from Sluice's");
        if round == 1 {
            println!("      first record: {}", mine);
        }
        println!(
            "JDBC  sluice {:>9.0} rows/s   plain rows+JSON+producer {:>9.0} rows/s   ratio {:.2}   (against the COPY ceiling {:.0} rows/s: {:.2})",
            s,
            base,
            s / base,
            ceiling,
            s / ceiling
        );
        rounds.push((s, base));
    }
    median_ratio("JDBC source against the plain rows + JSON loop", &rounds);
    rt().block_on(async {
        pg().await
            .batch_execute(&format!("DROP TABLE {table}"))
            .await
            .unwrap();
    });
}
