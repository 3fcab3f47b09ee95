//! Sluice beside Apache Kafka Connect, same broker, same run, same machine:
//!
//! * file → Kafka and Kafka → file, `SLUICE_BENCH_RECORDS` (1,000,000) lines of 100
//!   bytes through FileStreamSource / FileStreamSink on a standalone worker of each,
//!   with the same converters (StringConverter) and producer durability (acks=all,
//!   idempotent: both defaults): records/s and CPU-seconds per million records
//!   (user+system time of the worker process over the run);
//! * Kafka → MongoDB: `SLUICE_BENCH_MONGO_N` (50,000) JSON records of about 230 bytes
//!   from one topic into a collection each (SecantusDB from the stack), MongoDB's own
//!   sink connector (mongo-kafka-connect 2.0.1 from Maven Central, fetched by
//!   `scripts/stack.sh connect-plugins`) on Connect and `mongodb-sink` on Sluice, both
//!   with StringConverter values, `ProvidedInValueStrategy` and
//!   `InsertOneDefaultStrategy`, each on a fresh standalone worker: records/s and
//!   CPU-seconds per million records from the connector's creation to its last
//!   document (`SLUICE_BENCH_MONGO=0` skips it);
//! * RSS: idle (REST ready, no connectors) and the peak (VmHWM) after both file pipelines;
//! * time from process start to the REST API answering `GET /`;
//! * failover in a three-worker distributed cluster: time from SIGKILL of the worker
//!   running most tasks of a 6-task sink until every task is RUNNING on another
//!   worker (the last one that joined, not the leader), with each runtime's defaults (`scheduled.rebalance.max.delay.ms=300000`,
//!   `session.timeout.ms=10000`) and with `scheduled.rebalance.max.delay.ms=0`.
//!   `SLUICE_BENCH_FAILOVER=0` skips it (the default-settings runs take over 5 min).
//!
//! Connect runs with the JVM settings of Kafka's own launchers (`scripts/connect.sh`).
//! Run: `cargo bench --bench connect_compare` against `scripts/stack.sh up`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/connect.rs"]
mod connect;
#[path = "../tests/common/mongo_probe.rs"]
mod mongo_probe;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use connect::Connect;
use mongo_probe::{mongo_uri, Probe};
use serde_json::json;

fn env_n(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// A field of /proc/<pid>/status in MiB (VmRSS, VmHWM).
fn mem_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Debug, Default, Clone)]
struct Figures {
    ready_s: f64,
    idle_rss: f64,
    peak_rss: f64,
    source_rps: f64,
    source_cpu_per_m: f64,
    sink_rps: f64,
    sink_cpu_per_m: f64,
}

enum Proc {
    Connect(Connect),
    Sluice(Sluice),
}

impl Proc {
    fn pid(&self) -> u32 {
        match self {
            Proc::Connect(c) => c.pid(),
            Proc::Sluice(s) => s.pid(),
        }
    }
    fn stop(&mut self) {
        match self {
            Proc::Connect(c) => c.terminate(),
            Proc::Sluice(s) => {
                s.terminate();
            }
        }
    }
}

fn ready(port: u16, started: Instant) -> f64 {
    let url = format!("http://127.0.0.1:{port}/");
    loop {
        if reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()) {
            return started.elapsed().as_secs_f64();
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "REST never answered"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn write_input(path: &Path, n: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        // 100 bytes with the newline
        writeln!(f, "{:0>99}", i).unwrap();
    }
}

fn lines_in(path: &Path) -> usize {
    std::fs::read(path).map(|b| bytecount(&b)).unwrap_or(0)
}

fn bytecount(b: &[u8]) -> usize {
    b.iter().filter(|c| **c == b'\n').count()
}

/// A standalone worker of `which` ("connect" or "sluice") with StringConverters, its
/// REST API on `port`; `connect_extra` is added to Connect's properties.
fn standalone_worker(which: &str, d: &Path, port: u16, connect_extra: &str) -> Proc {
    if which == "connect" {
        let props = format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             offset.storage.file.filename={}/offsets.dat\noffset.flush.interval.ms=1000\n\
             listeners=http://127.0.0.1:{port}\n{connect_extra}\n",
            bootstrap(),
            d.display()
        );
        Proc::Connect(Connect::standalone(d, &props, &[]))
    } else {
        let yaml = format!(
            "bootstrap.servers: {}\nkey.converter: org.apache.kafka.connect.storage.StringConverter\n\
             value.converter: org.apache.kafka.connect.storage.StringConverter\n\
             offset.storage.file.filename: {}/offsets.json\noffset.flush.interval.ms: 1000\n\
             listeners: http://127.0.0.1:{port}\n",
            bootstrap(),
            d.display()
        );
        Proc::Sluice(Sluice::standalone(d, &yaml, &[]))
    }
}

/// One standalone worker of `which` ("connect" or "sluice"), both pipelines.
fn pipelines(which: &str, input: &Path, n: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let started = Instant::now();
    let mut p = standalone_worker(which, d, port, "");
    let mut f = Figures {
        ready_s: ready(port, started),
        ..Default::default()
    };
    std::thread::sleep(Duration::from_secs(2));
    f.idle_rss = mem_mib(p.pid(), "VmRSS:");
    let api = Api::new(port);
    let topic = unique(&format!("cmp-{which}"));
    create_topic(&topic, 1);

    let cpu0 = cpu_seconds(p.pid());
    let t0 = Instant::now();
    let r = api.post(
        "/connectors",
        &json!({"name": format!("{which}-src"), "config": {"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    while end_offset(&topic) < n as i64 {
        assert!(
            t0.elapsed() < Duration::from_secs(900),
            "{which}: source too slow"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = t0.elapsed().as_secs_f64();
    f.source_rps = n as f64 / secs;
    f.source_cpu_per_m = (cpu_seconds(p.pid()) - cpu0) / (n as f64 / 1e6);

    let out = d.join("out.txt");
    let cpu0 = cpu_seconds(p.pid());
    let t0 = Instant::now();
    let r = api.post(
        "/connectors",
        &json!({"name": format!("{which}-sink"), "config": {"connector.class": "FileStreamSink", "file": out.display().to_string(), "topics": topic}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    while lines_in(&out) < n {
        assert!(
            t0.elapsed() < Duration::from_secs(900),
            "{which}: sink too slow"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = t0.elapsed().as_secs_f64();
    f.sink_rps = n as f64 / secs;
    f.sink_cpu_per_m = (cpu_seconds(p.pid()) - cpu0) / (n as f64 / 1e6);
    f.peak_rss = mem_mib(p.pid(), "VmHWM:");
    p.stop();
    f
}

const MONGO_DB: &str = "sluice_cmp";

/// A JSON document of about 230 bytes with `_id` `i` (as benches/mongodb.rs writes).
fn mongo_value(i: usize) -> String {
    format!(
        r#"{{"_id":{},"name":"customer-{:08}","city":"Lyon","active":true,"score":{}.5,"tags":["a","b","c"],"note":"{}"}}"#,
        i,
        i,
        i % 1000,
        "x".repeat(120)
    )
}

/// Kafka → MongoDB on a fresh standalone worker of `which`: `topic` holds `n` records;
/// returns records/s and CPU-seconds per 1M records, from the connector's creation to
/// its last document in MongoDB (both include the consumer group join).
fn mongo_sink(which: &str, topic: &str, n: usize, plugins: &str) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut p = standalone_worker(which, d, port, &format!("plugin.path={plugins}"));
    ready(port, Instant::now());
    let api = Api::new(port);
    let coll = unique(&format!("cmp-{which}")).replace('-', "_");
    let class = if which == "connect" {
        "com.mongodb.kafka.connect.MongoSinkConnector"
    } else {
        "mongodb-sink"
    };
    let name = format!("{which}-mongo");
    let probe = Probe::new(MONGO_DB);
    let cpu0 = cpu_seconds(p.pid());
    let t0 = Instant::now();
    let r = api.post(
        "/connectors",
        &json!({"name": name, "config": {
            "connector.class": class,
            "topics": topic,
            "connection.uri": mongo_uri(),
            "database": MONGO_DB,
            "collection": coll,
            "document.id.strategy": "com.mongodb.kafka.connect.sink.processor.id.strategy.ProvidedInValueStrategy",
            "writemodel.strategy": "com.mongodb.kafka.connect.sink.writemodel.strategy.InsertOneDefaultStrategy",
        }}),
    );
    assert_eq!(r.status, 201, "{which}: {}", r.text);
    // Ordered bulk writes: the last document is in when every one is.
    while !probe.has(&coll, n as i64 - 1) {
        let status = api.get(&format!("/connectors/{name}/status")).body;
        assert!(
            !status.to_string().contains("FAILED"),
            "{which}: the MongoDB sink failed: {status}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(900),
            "{which}: MongoDB sink too slow"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds(p.pid()) - cpu0;
    assert_eq!(
        probe.count(&coll),
        n as u64,
        "{which}: documents in MongoDB"
    );
    p.stop();
    (n as f64 / secs, cpu / (n as f64 / 1e6))
}

/// Seconds from SIGKILL of one of three workers until all six tasks run elsewhere.
fn failover(which: &str, delay_ms: Option<u64>) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let group = unique(&format!("fail-{which}"));
    let topic = unique("fail-data");
    create_topic(&topic, 6);
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let extra = delay_ms
        .map(|ms| format!("scheduled.rebalance.max.delay.ms={ms}"))
        .unwrap_or_default();
    let mut procs: Vec<Proc> = ports
        .iter()
        .map(|&port| {
            let wdir = d.join(format!("w{port}"));
            std::fs::create_dir_all(&wdir).unwrap();
            if which == "connect" {
                Proc::Connect(Connect::distributed(&wdir, &connect::connect_properties(&group, port, &extra)))
            } else {
                let yaml = format!(
                    "bootstrap.servers: {}\ngroup.id: {group}\nconfig.storage.topic: {group}-configs\n\
                     offset.storage.topic: {group}-offsets\nstatus.storage.topic: {group}-status\n\
                     config.storage.replication.factor: 1\noffset.storage.replication.factor: 1\nstatus.storage.replication.factor: 1\n\
                     listeners: http://127.0.0.1:{port}\n{}\n",
                    bootstrap(),
                    extra.replace('=', ": ")
                );
                Proc::Sluice(Sluice::distributed(&wdir, &yaml))
            }
        })
        .collect();
    for &port in &ports {
        ready(port, Instant::now());
    }
    let api = Api::new(ports[0]);
    let name = unique("fail-sink");
    let body = json!({"name": name, "config": {"connector.class": "FileStreamSink", "tasks.max": "6", "topics": topic, "file": d.join("out.txt").display().to_string()}});
    // Connect answers 409 while its workers are still joining: try again.
    let t0 = Instant::now();
    loop {
        let r = api.post("/connectors", &body);
        if r.status == 201 {
            break;
        }
        assert!(
            r.status == 409 && t0.elapsed() < Duration::from_secs(120),
            "{}",
            r.text
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = |api: &Api| api.get(&format!("/connectors/{name}/status")).body;
    let all_running = |s: &serde_json::Value| {
        s["tasks"]
            .as_array()
            .is_some_and(|t| t.len() == 6 && t.iter().all(|t| t["state"] == "RUNNING"))
    };
    wait_for("six running tasks", Duration::from_secs(180), || {
        all_running(&status(&api))
    });
    // Let the assignment settle, then kill the last worker that joined (not the group
    // leader, whose death would make the new leader assign everything at once), which
    // holds its share of the tasks.
    std::thread::sleep(Duration::from_secs(5));
    let victim = 2;
    let victim_id = format!("127.0.0.1:{}", ports[victim]);
    let s = status(&api);
    assert!(
        s["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["worker_id"] == victim_id.as_str()),
        "{which}: the last worker runs no task: {s}"
    );
    let survivor = Api::new(ports[(victim + 1) % 3]);
    let killed_at = Instant::now();
    match &mut procs[victim] {
        Proc::Connect(c) => c.kill(),
        Proc::Sluice(s) => s.kill(),
    }
    loop {
        let s = status(&survivor);
        let moved = all_running(&s)
            && s["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["worker_id"] != victim_id.as_str());
        if moved {
            break;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(900),
            "{which}: tasks never moved"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = killed_at.elapsed().as_secs_f64();
    for (i, p) in procs.iter_mut().enumerate() {
        if i != victim {
            p.stop();
        }
    }
    secs
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("connect_compare: run it with `cargo bench --bench connect_compare`");
        return;
    }
    let n = env_n("SLUICE_BENCH_RECORDS", 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    write_input(&input, n);
    println!("{n} records of 100 bytes, Apache Kafka on {}", bootstrap());
    let c = pipelines("connect", &input, n);
    let s = pipelines("sluice", &input, n);
    println!("| | Kafka Connect | Sluice | ratio |");
    println!("|---|---|---|---|");
    let row = |what: &str, a: f64, b: f64, unit: &str, better_high: bool| {
        let ratio = if better_high { b / a } else { a / b };
        println!("| {what} | {a:.2} {unit} | {b:.2} {unit} | {ratio:.1}× |");
    };
    row("file → Kafka", c.source_rps, s.source_rps, "rec/s", true);
    row(
        "file → Kafka, CPU s per 1M records",
        c.source_cpu_per_m,
        s.source_cpu_per_m,
        "s",
        false,
    );
    row("Kafka → file", c.sink_rps, s.sink_rps, "rec/s", true);
    row(
        "Kafka → file, CPU s per 1M records",
        c.sink_cpu_per_m,
        s.sink_cpu_per_m,
        "s",
        false,
    );
    row(
        "records per CPU-second, file → Kafka",
        1e6 / c.source_cpu_per_m,
        1e6 / s.source_cpu_per_m,
        "",
        true,
    );
    row(
        "records per CPU-second, Kafka → file",
        1e6 / c.sink_cpu_per_m,
        1e6 / s.sink_cpu_per_m,
        "",
        true,
    );
    if env_n("SLUICE_BENCH_MONGO", 1) == 1 {
        let m = env_n("SLUICE_BENCH_MONGO_N", 50_000);
        let plugins = std::process::Command::new("scripts/stack.sh")
            .arg("connect-plugins")
            .output()
            .expect("scripts/stack.sh connect-plugins");
        assert!(
            plugins.status.success(),
            "cannot fetch the MongoDB connector"
        );
        let plugins = String::from_utf8(plugins.stdout)
            .unwrap()
            .trim()
            .to_string();
        let topic = unique("cmp-mongo");
        create_topic(&topic, 1);
        let values: Vec<String> = (0..m).map(mongo_value).collect();
        produce_to(&topic, 0, &values);
        let (c_rps, c_cpu) = mongo_sink("connect", &topic, m, &plugins);
        let (s_rps, s_cpu) = mongo_sink("sluice", &topic, m, &plugins);
        row(
            &format!("Kafka → MongoDB ({m} records)"),
            c_rps,
            s_rps,
            "rec/s",
            true,
        );
        row(
            "Kafka → MongoDB, CPU s per 1M records",
            c_cpu,
            s_cpu,
            "s",
            false,
        );
        row(
            "records per CPU-second, Kafka → MongoDB",
            1e6 / c_cpu,
            1e6 / s_cpu,
            "",
            true,
        );
    }
    row("RSS idle", c.idle_rss, s.idle_rss, "MiB", false);
    row("RSS peak", c.peak_rss, s.peak_rss, "MiB", false);
    row("start to REST ready", c.ready_s, s.ready_s, "s", false);
    if env_n("SLUICE_BENCH_FAILOVER", 1) == 1 {
        for delay in [Some(0), None] {
            let label = match delay {
                Some(0) => "scheduled.rebalance.max.delay.ms=0",
                _ => "defaults",
            };
            let cf = failover("connect", delay);
            let sf = failover("sluice", delay);
            row(
                &format!("failover after SIGKILL ({label})"),
                cf,
                sf,
                "s",
                false,
            );
        }
    }
}
