//! Memory bounded by configuration, not by input (issue 18, goal 6): the peak RSS of a
//! standalone worker (release build, default settings) moving a large backlog, at two
//! backlog sizes. If memory followed the input, the larger backlog would show a larger
//! peak; bounded by configuration, both peaks are about the same.
//!
//! * **JDBC snapshot**: a PostgreSQL table of N rows read by `jdbc-source` (mode
//!   `incrementing`, defaults) until all N records are in Kafka.
//! * **Queue backlog**: N messages of 100 B waiting in a durable RabbitMQ queue before
//!   `amqp-source` starts (defaults), until all N are in Kafka.
//! * **Sink lag**: a topic holding N records of 100 B before `FileStreamSink` starts
//!   (defaults), until all N lines are in the file.
//!
//! Peak RSS is the kernel's high-water mark of the worker process (`VmHWM` in
//! `/proc/<pid>/status`), read just before it stops. Also printed: the idle worker
//! (REST ready, no connectors).
//!
//! Run: `cargo bench --bench memory` against the servers of `scripts/stack.sh up`.
//! `SLUICE_BENCH_MEMORY_N` sets the larger backlog (default 1,000,000); the smaller one
//! is a quarter of it; `SLUICE_BENCH_MEMORY_ONLY=jdbc`, `queue` or `sink` runs one
//! scenario.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;
#[path = "../tests/common/pg.rs"]
mod pg;
#[path = "../tests/common/queues.rs"]
#[allow(unused_imports)]
mod queues;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use pg::Pg;
use queues::*;

const SIZE: usize = 100;

fn n() -> usize {
    std::env::var("SLUICE_BENCH_MEMORY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// A field of `/proc/<pid>/status` in MiB (`VmHWM`: peak RSS, `VmRSS`: now).
fn status_mib(pid: u32, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{}/status", pid)).unwrap();
    let kib: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {} in /proc/{}/status", field, pid));
    kib / 1024.0
}

/// The worker config every run uses: the test worker's, with the default offset flush
/// interval and JSON converters (the defaults of a user's worker).
fn worker(dir: &Path) -> String {
    worker_yaml(dir, free_port(), "")
        .replace("offset.flush.interval.ms: 500\n", "")
        .replace(
            "org.apache.kafka.connect.storage.StringConverter",
            "org.apache.kafka.connect.json.JsonConverter",
        )
}

/// Runs a worker with one connector until `done`, returns its peak RSS in MiB.
fn peak_rss(connector: &str, mut done: impl FnMut() -> bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("connector.yaml");
    std::fs::write(&c, connector).unwrap();
    let mut w = Sluice::standalone(dir.path(), &worker(dir.path()), &[&c]);
    let deadline = Instant::now() + Duration::from_secs(900);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "the pipeline did not finish; log:\n{}",
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let peak = status_mib(w.pid(), "VmHWM");
    w.terminate();
    peak
}

fn idle_rss() -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let worker = worker(dir.path());
    let mut w = Sluice::standalone(dir.path(), &worker, &[]);
    Api::new(w.port).wait_ready();
    std::thread::sleep(Duration::from_secs(1));
    let rss = status_mib(w.pid(), "VmRSS");
    w.terminate();
    rss
}

fn jdbc_snapshot(n: usize) -> f64 {
    jdbc_snapshot_with(n, "")
}

/// The JDBC snapshot with extra connector settings (`  key: value` lines).
fn jdbc_snapshot_with(n: usize, extra: &str) -> f64 {
    let table = unique("bench_mem").replace('-', "_");
    let pg = Pg::connect();
    pg.exec(&format!(
        "CREATE TABLE {table} (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), created_at timestamptz);
         INSERT INTO {table} SELECT g, 'customer name ' || g, g % 1000, (g % 100000) / 100.0, now() FROM generate_series(1, {n}) g;"
    ));
    let prefix = unique("bench-mem-jdbc-");
    let topic = format!("{}{}", prefix, table);
    let connector = format!(
        "name: {table}\nconfig:\n  connector.class: jdbc-source\n  connection.url: jdbc:postgresql://127.0.0.1:5432/test?user=postgres\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {table}\n  topic.prefix: {prefix}\n{extra}"
    );
    let peak = peak_rss(&connector, || end_offset(&topic) >= n as i64);
    pg.exec(&format!("DROP TABLE {table}"));
    peak
}

fn queue_backlog(n: usize) -> f64 {
    let queue = unique("bench-mem-queue");
    let topic = unique("bench-mem-queue");
    declare_queue(&queue);
    let published = publish(
        &queue,
        (0..n).map(|i| AmqpOut {
            body: numbered_value(i, SIZE),
            properties: lapin::BasicProperties::default().with_delivery_mode(2),
        }),
    );
    assert_eq!(published, n);
    let connector = format!(
        "name: {queue}\nconfig:\n  connector.class: amqp-source\n  amqp.uri: {AMQP_URI}\n  amqp.queue: {queue}\n  topic: {topic}\n"
    );
    let peak = peak_rss(&connector, || end_offset(&topic) >= n as i64);
    drain(&queue);
    peak
}

fn sink_lag(n: usize) -> f64 {
    sink_lag_with(n, "")
}

/// The sink lag with extra connector settings (`  key: value` lines).
fn sink_lag_with(n: usize, extra: &str) -> f64 {
    let topic = unique("bench-mem-sink");
    fill_numbered(&topic, n, SIZE);
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("out.txt");
    let connector = format!(
        "name: {topic}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: org.apache.kafka.connect.storage.StringConverter\n{extra}",
        file.display()
    );
    let want = (n * (SIZE + 1)) as u64;
    peak_rss(&connector, || {
        std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) >= want
    })
}

/// A scenario's name and its run: backlog size in, peak RSS (MiB) out.
type Scenario = (&'static str, fn(usize) -> f64);

fn main() {
    // `cargo test --all-targets` runs this binary without --bench: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        println!("memory benchmark: run it with `cargo bench --bench memory`");
        return;
    }
    let large = n();
    let small = large / 4;
    println!(
        "Peak RSS of a standalone worker (default settings), backlogs of {} and {} records of {} B",
        small, large, SIZE
    );
    println!(
        "idle worker (REST ready, no connectors): {:.1} MiB",
        idle_rss()
    );
    let scenarios: [Scenario; 3] = [
        ("JDBC snapshot (jdbc-source -> Kafka)", jdbc_snapshot),
        (
            "queue backlog (RabbitMQ -> amqp-source -> Kafka)",
            queue_backlog,
        ),
        ("sink lag (Kafka -> FileStreamSink)", sink_lag),
    ];
    // SLUICE_BENCH_MEMORY_ONLY=jdbc|queue|sink runs one scenario.
    let only = std::env::var("SLUICE_BENCH_MEMORY_ONLY").unwrap_or_default();
    for (name, run) in scenarios {
        if !only.is_empty() && !name.to_lowercase().contains(&only) {
            continue;
        }
        let a = run(small);
        let b = run(large);
        println!(
            "{:<50} peak RSS {:>7.1} MiB at {:>9} records, {:>7.1} MiB at {:>9} (x{:.2} for x{} the input)",
            name,
            a,
            small,
            b,
            large,
            b / a,
            large / small
        );
    }
    // What sets the source's bound: the records its producer may queue.
    if only.is_empty() || only == "jdbc" {
        let queued = 20_000;
        let smaller = jdbc_snapshot_with(
            large,
            &format!("  producer.override.queue.buffering.max.messages: {queued}\n"),
        );
        println!(
            "{:<50} peak RSS {:>7.1} MiB at {:>9} records with producer.override.queue.buffering.max.messages: {} (default 200000)",
            "JDBC snapshot, smaller producer queue", smaller, large, queued
        );
    }
    if !only.is_empty() && only != "sink" {
        return;
    }
    // What sets the sink's bound: what its consumer prefetches.
    let messages = 10_000;
    let smaller = sink_lag_with(
        large,
        &format!("  consumer.override.queued.min.messages: {messages}\n"),
    );
    println!(
        "{:<50} peak RSS {:>7.1} MiB at {:>9} records with consumer.override.queued.min.messages: {} (default 100000)",
        "sink lag, smaller consumer prefetch", smaller, large, messages
    );
}
