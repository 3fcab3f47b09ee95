//! End-to-end benchmark of the file connectors, against plain rdkafka loops with the
//! same client settings, measured in the same run:
//!
//! * file -> Kafka: Sluice's FileStreamSource vs a loop that reads the file and hands
//!   each line to an rdkafka producer (idempotent, acks=all, Sluice's producer defaults).
//!   Sluice is timed from its first record in Kafka (the topic's end offset, polled) to
//!   the stored offset of the last line, so process start-up is not counted (it is
//!   printed); the plain loop from its start to its final flush.
//! * Kafka -> file: Sluice's FileStreamSink vs a consumer-group loop that writes each
//!   record as a line and fsyncs at the end.
//!
//! Run: `scripts/bench.sh` (or `cargo bench --bench file_pipeline`). Settings:
//! SLUICE_BENCH_BOOTSTRAP (default 127.0.0.1:9092, the Apache Kafka broker that
//! `scripts/stack.sh up` starts), SLUICE_BENCH_RECORDS (default 2000000), SLUICE_BENCH_ROUNDS (default 3),
//! SLUICE_BENCH_RECORD_BYTES (default 100).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use sluice_runtime::kafka::{client_config, sink_consumer_defaults, source_producer_defaults};

struct Settings {
    bootstrap: String,
    records: usize,
    record_bytes: usize,
}

fn env_or<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn unique(p: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    format!("bench-{}-{}-{}", p, std::process::id(), n)
}

fn create_topic(s: &Settings, name: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &s.bootstrap)
        .create()
        .unwrap();
    let t = NewTopic::new(name, 1, TopicReplication::Fixed(1));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(admin.create_topics([&t], &AdminOptions::new()))
        .unwrap();
}

fn write_input(path: &Path, s: &Settings) -> u64 {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut total = 0u64;
    for i in 0..s.records {
        let mut line = format!("record-{:09}-", i);
        while line.len() < s.record_bytes {
            line.push('x');
        }
        line.push('\n');
        total += line.len() as u64;
        w.write_all(line.as_bytes()).unwrap();
    }
    w.flush().unwrap();
    total
}

fn producer_config(s: &Settings) -> ClientConfig {
    let mut base = sluice_runtime::config::RawConfig::new();
    base.insert("bootstrap.servers".into(), s.bootstrap.clone());
    client_config(&[&source_producer_defaults(), &base])
}

/// The baseline producer: read lines, send each, wait for every delivery.
fn plain_produce(s: &Settings, input: &Path, topic: &str) -> Duration {
    let start = Instant::now();
    let p: ThreadedProducer<DefaultProducerContext> = producer_config(s).create().unwrap();
    let reader = BufReader::with_capacity(256 * 1024, std::fs::File::open(input).unwrap());
    for line in reader.lines() {
        let line = line.unwrap();
        let mut rec = BaseRecord::<(), str>::to(topic).payload(line.as_str());
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((_, back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
        }
    }
    p.flush(Duration::from_secs(600)).unwrap();
    start.elapsed()
}

fn worker_yaml(dir: &Path, s: &Settings) -> PathBuf {
    let p = dir.join("worker.yaml");
    std::fs::write(
        &p,
        format!(
            "bootstrap.servers: {}\noffset.storage.file.filename: {}/offsets.json\noffset.flush.interval.ms: 100\nlisteners: http://127.0.0.1:0\nkey.converter: org.apache.kafka.connect.storage.StringConverter\nvalue.converter: org.apache.kafka.connect.storage.StringConverter\nconsumer.session.timeout.ms: 6000\nconsumer.heartbeat.interval.ms: 1000\n",
            s.bootstrap,
            dir.display()
        ),
    )
    .unwrap();
    p
}

fn spawn_sluice(dir: &Path, worker: &Path, connector: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("standalone")
        .arg(worker)
        .arg(connector)
        .env("SLUICE_LOG", "warn")
        .stderr(std::fs::File::create(dir.join("sluice.log")).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid)).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// CPU seconds this process's threads used (for the plain loops run in-process).
fn self_cpu() -> f64 {
    cpu_seconds(std::process::id())
}

fn stop(mut c: Child) {
    let _ = Command::new("kill")
        .arg("-15")
        .arg(c.id().to_string())
        .status();
    let _ = c.wait();
}

/// Sluice's file source: done when the stored offset reaches the end of the file
/// (offsets are stored only after Kafka acknowledged the records).
fn sluice_produce(
    s: &Settings,
    dir: &Path,
    input: &Path,
    input_bytes: u64,
    topic: &str,
) -> Duration {
    sluice_produce_with(s, dir, input, input_bytes, topic, "")
}

/// A chain of three transforms on the JSON path: wrap the line in a struct, add a
/// field, rename the topic.
const CHAIN: &str = "  transforms: hoist,stamp,route\n  transforms.hoist.type: HoistField$Value\n  transforms.hoist.field: line\n  transforms.stamp.type: InsertField$Value\n  transforms.stamp.static.field: source\n  transforms.stamp.static.value: bench\n  transforms.route.type: RegexRouter\n  transforms.route.regex: (.*)\n  transforms.route.replacement: $1\n";
const JSON_VALUES: &str = "  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: true\n";

fn sluice_produce_with(
    s: &Settings,
    dir: &Path,
    input: &Path,
    input_bytes: u64,
    topic: &str,
    extra: &str,
) -> Duration {
    let conn = dir.join("source.yaml");
    std::fs::write(
        &conn,
        format!(
            "name: {}\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {}\n  batch.size: 2000\n{}",
            unique("src"),
            input.display(),
            topic,
            extra
        ),
    )
    .unwrap();
    let worker = worker_yaml(dir, s);
    // Watches the topic's end offset to see when the first record is in Kafka.
    let watcher: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &s.bootstrap)
        .create()
        .unwrap();
    // Connect before the clock starts, so each later check is one quick request.
    let _ = watcher.fetch_watermarks(topic, 0, Duration::from_secs(5));
    let start = Instant::now();
    let child = spawn_sluice(dir, &worker, &conn);
    let offsets = dir.join("offsets.json");
    let mut first: Option<Instant> = None;
    let mut last_empty_check = start;
    loop {
        if first.is_none() {
            let asked = Instant::now();
            if let Ok((_, high)) = watcher.fetch_watermarks(topic, 0, Duration::from_secs(1)) {
                if asked.elapsed() > Duration::from_millis(50) {
                    println!(
                        "  (a watermark check took {:.0} ms; the start time is that uncertain)",
                        asked.elapsed().as_secs_f64() * 1000.0
                    );
                }
                if high > 0 {
                    // The first record arrived after the previous check (which saw
                    // none) was sent: count from then, never in Sluice's favour.
                    first = Some(last_empty_check);
                } else {
                    last_empty_check = asked;
                }
            }
        }
        if let Ok(b) = std::fs::read(&offsets) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) {
                if v["offsets"][0]["value"]["position"].as_u64() == Some(input_bytes) {
                    break;
                }
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "sluice source did not finish; see {}/sluice.log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let end = Instant::now();
    let first = first.unwrap_or(start);
    println!(
        "  sluice source: {:.2} CPU s; start-up until the first record was in Kafka {:.2} s (not counted)",
        cpu_seconds(child.id()),
        (first - start).as_secs_f64()
    );
    stop(child);
    end - first
}

/// The baseline consumer: join a group, write each record as a line, fsync at the end.
fn plain_consume(s: &Settings, topic: &str, out: &Path) -> Duration {
    let start = Instant::now();
    let mut base = sluice_runtime::config::RawConfig::new();
    base.insert("bootstrap.servers".into(), s.bootstrap.clone());
    base.insert("group.id".into(), unique("plain"));
    base.insert("session.timeout.ms".into(), "6000".into());
    base.insert("heartbeat.interval.ms".into(), "1000".into());
    let c: BaseConsumer = client_config(&[&sink_consumer_defaults(), &base])
        .create()
        .unwrap();
    c.subscribe(&[topic]).unwrap();
    let f = std::fs::File::create(out).unwrap();
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let mut n = 0;
    while n < s.records {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            if n == 0 {
                println!(
                    "  plain consumer: first record after {:.2} s",
                    start.elapsed().as_secs_f64()
                );
            }
            w.write_all(m.payload().unwrap_or_default()).unwrap();
            w.write_all(b"\n").unwrap();
            n += 1;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "plain consumer did not finish"
        );
    }
    w.flush().unwrap();
    w.get_ref().sync_data().unwrap();
    start.elapsed()
}

/// Sluice's file sink: done when every line is in the output file.
fn sluice_consume(
    s: &Settings,
    dir: &Path,
    topic: &str,
    out: &Path,
    expected_bytes: u64,
) -> Duration {
    let conn = dir.join("sink.yaml");
    std::fs::write(
        &conn,
        format!(
            "name: {}\nconfig:\n  connector.class: FileStreamSink\n  file: {}\n  topics: {}\n",
            unique("sink"),
            out.display(),
            topic
        ),
    )
    .unwrap();
    let worker = worker_yaml(dir, s);
    let start = Instant::now();
    let child = spawn_sluice(dir, &worker, &conn);
    let mut first = false;
    loop {
        let len = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
        if len > 0 && !first {
            first = true;
            println!(
                "  sluice sink: first bytes on disk after {:.2} s",
                start.elapsed().as_secs_f64()
            );
        }
        if len >= expected_bytes {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "sluice sink did not finish; see {}/sluice.log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let d = start.elapsed();
    println!("  sluice sink: {:.2} CPU s", cpu_seconds(child.id()));
    stop(child);
    d
}

fn report(what: &str, s: &Settings, bytes: u64, sluice: Duration, plain: Duration) {
    let rate = |d: Duration| s.records as f64 / d.as_secs_f64();
    let mb = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    println!(
        "{:<14} sluice {:>9.0} rec/s {:>7.1} MB/s ({:>6.2} s) | plain rdkafka {:>9.0} rec/s {:>7.1} MB/s ({:>6.2} s) | ratio {:.2}",
        what,
        rate(sluice),
        mb(sluice),
        sluice.as_secs_f64(),
        rate(plain),
        mb(plain),
        plain.as_secs_f64(),
        plain.as_secs_f64() / sluice.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let s = Settings {
        bootstrap: std::env::var("SLUICE_BENCH_BOOTSTRAP")
            .unwrap_or_else(|_| "127.0.0.1:9092".into()),
        records: env_or("SLUICE_BENCH_RECORDS", 2_000_000),
        record_bytes: env_or("SLUICE_BENCH_RECORD_BYTES", 100),
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    let bytes = write_input(&input, &s);
    println!(
        "file pipeline benchmark: {} records of {} bytes ({:.1} MB) via {}",
        s.records,
        s.record_bytes,
        bytes as f64 / 1e6,
        s.bootstrap
    );
    let rounds: usize = env_or("SLUICE_BENCH_ROUNDS", 3);
    let mut produce_ratios = Vec::new();
    let mut consume_ratios = Vec::new();
    let mut out = dir.path().join("sluice-out.txt");
    for round in 1..=rounds {
        println!("round {} of {}", round, rounds);
        let (ta, tb) = (unique("plain"), unique("sluice"));
        create_topic(&s, &ta);
        create_topic(&s, &tb);
        let cpu0 = self_cpu();
        let plain_p = plain_produce(&s, &input, &ta);
        println!("  plain producer: {:.2} CPU s", self_cpu() - cpu0);
        let sdir = dir.path().join(format!("src-{}", round));
        std::fs::create_dir(&sdir).unwrap();
        let sluice_p = sluice_produce(&s, &sdir, &input, bytes, &tb);
        report("file -> Kafka", &s, bytes, sluice_p, plain_p);
        produce_ratios.push(plain_p.as_secs_f64() / sluice_p.as_secs_f64());

        let kdir = dir.path().join(format!("sink-{}", round));
        std::fs::create_dir(&kdir).unwrap();
        out = dir.path().join(format!("sluice-out-{}.txt", round));
        let sluice_c = sluice_consume(&s, &kdir, &ta, &out, bytes);
        let cpu0 = self_cpu();
        let plain_c = plain_consume(
            &s,
            &ta,
            &dir.path().join(format!("plain-out-{}.txt", round)),
        );
        println!("  plain consumer: {:.2} CPU s", self_cpu() - cpu0);
        report("Kafka -> file", &s, bytes, sluice_c, plain_c);
        consume_ratios.push(plain_c.as_secs_f64() / sluice_c.as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "median ratio over {} rounds (sluice throughput / plain rdkafka throughput): file -> Kafka {:.2}, Kafka -> file {:.2}",
        rounds,
        median(&mut produce_ratios),
        median(&mut consume_ratios)
    );
    // The same source pipeline with JSON values, without and with a 3-transform chain.
    let mut plain_json = Vec::new();
    let mut chained = Vec::new();
    for round in 1..=rounds {
        for (label, extra, into) in [
            ("json", JSON_VALUES.to_string(), &mut plain_json),
            ("chain", format!("{}{}", JSON_VALUES, CHAIN), &mut chained),
        ] {
            let t = unique("chain");
            create_topic(&s, &t);
            // Each run gets its own folder: a leftover offsets file would end it at once.
            let tdir = dir.path().join(format!("{}-{}", label, round));
            std::fs::create_dir_all(&tdir).unwrap();
            into.push(sluice_produce_with(&s, &tdir, &input, bytes, &t, &extra).as_secs_f64());
        }
    }
    plain_json.sort_by(|a, b| a.partial_cmp(b).unwrap());
    chained.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (a, b) = (plain_json[plain_json.len() / 2], chained[chained.len() / 2]);
    println!(
        "file -> Kafka with JsonConverter: no transforms {:.0} rec/s, 3-transform chain (HoistField, InsertField, RegexRouter) {:.0} rec/s (ratio {:.2}, median of {})",
        s.records as f64 / a,
        s.records as f64 / b,
        a / b,
        rounds
    );
    let same = std::fs::read(&out).unwrap() == std::fs::read(&input).unwrap();
    println!("sluice's output file is identical to the input: {}", same);
}
