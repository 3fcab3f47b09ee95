//! Cluster figures: time from a worker's SIGKILL to its tasks running elsewhere (with
//! where the time went), from a SIGTERM (a planned leave) to the same, from a join to
//! a balanced assignment (several runs each, with the median), and records/s of one
//! sink pipeline on 1 vs 3 workers.
//!
//! Run: `cargo bench --bench cluster` against the Apache Kafka broker of
//! `scripts/stack.sh up` (127.0.0.1:9092). Settings: SLUICE_BENCH_RUNS (5),
//! SLUICE_BENCH_RECORDS (600000).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

const INTERNAL: &str = "127.0.0.1:9092";

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
        .as_nanos();
    format!("bench-{}-{}-{}", p, std::process::id(), n % 1_000_000_000)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(admin.create_topics([&t], &AdminOptions::new()))
        .unwrap();
}

struct Worker {
    child: Child,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    dir: PathBuf,
    group: String,
    workers: BTreeMap<u16, Worker>,
}

impl Cluster {
    fn new(dir: &Path) -> Cluster {
        Cluster {
            dir: dir.to_path_buf(),
            group: unique("cl"),
            workers: BTreeMap::new(),
        }
    }
    fn start(&mut self, port: u16) {
        let g = &self.group;
        let yaml = format!(
            "bootstrap.servers: {INTERNAL}\ngroup.id: {g}\nconfig.storage.topic: {g}-configs\noffset.storage.topic: {g}-offsets\nstatus.storage.topic: {g}-status\noffset.storage.partitions: 5\nconfig.storage.replication.factor: 1\noffset.storage.replication.factor: 1\nstatus.storage.replication.factor: 1\nlisteners: http://127.0.0.1:{port}\nsession.timeout.ms: 6000\nheartbeat.interval.ms: 1000\nscheduled.rebalance.max.delay.ms: 0\nkey.converter: org.apache.kafka.connect.converters.ByteArrayConverter\nvalue.converter: org.apache.kafka.connect.converters.ByteArrayConverter\nconsumer.session.timeout.ms: 6000\nconsumer.heartbeat.interval.ms: 1000\noffset.flush.interval.ms: 1000\n"
        );
        let wdir = self.dir.join(format!("w{}", port));
        std::fs::create_dir_all(&wdir).unwrap();
        std::fs::write(wdir.join("worker.yaml"), yaml).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("distributed")
            .arg(wdir.join("worker.yaml"))
            // the failover breakdown reads membership, assignment and task starts
            .env("SLUICE_LOG", "warn,sluice_runtime::distributed=info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(wdir.join("log.txt")).unwrap())
            .spawn()
            .unwrap();
        self.workers.insert(port, Worker { child });
        wait(Duration::from_secs(60), || {
            get(port, "/health").map(|(s, _)| s == 200).unwrap_or(false)
        });
    }
    fn kill(&mut self, port: u16) {
        self.workers.remove(&port);
    }
    /// SIGTERM: the worker stops its tasks and leaves the group.
    fn terminate(&mut self, port: u16) {
        if let Some(mut w) = self.workers.remove(&port) {
            let _ = Command::new("kill")
                .args(["-TERM", &w.child.id().to_string()])
                .status();
            let _ = w.child.wait();
        }
    }
    fn log(&self, port: u16) -> String {
        std::fs::read_to_string(self.dir.join(format!("w{}", port)).join("log.txt"))
            .unwrap_or_default()
    }
    fn any(&self) -> u16 {
        *self.workers.keys().next().unwrap()
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn get(port: u16, path: &str) -> Option<(u16, Value)> {
    let r = http()
        .get(format!("http://127.0.0.1:{}{}", port, path))
        .send()
        .ok()?;
    let s = r.status().as_u16();
    Some((s, r.json().unwrap_or(Value::Null)))
}

fn post(port: u16, path: &str, body: &Value) -> u16 {
    http()
        .post(format!("http://127.0.0.1:{}{}", port, path))
        .json(body)
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn wait(timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {:?}", timeout);
}

/// Task owners once every task runs.
fn owners(port: u16, name: &str, tasks: usize) -> Option<Vec<String>> {
    let (_, b) = get(port, &format!("/connectors/{}/status", name))?;
    let t = b["tasks"].as_array()?;
    if t.len() == tasks && t.iter().all(|x| x["state"] == "RUNNING") {
        Some(
            t.iter()
                .map(|x| x["worker_id"].as_str().unwrap().to_string())
                .collect(),
        )
    } else {
        None
    }
}

fn balanced_over(o: &[String], workers: &[u16]) -> bool {
    let mut l: BTreeMap<&str, usize> = BTreeMap::new();
    for w in o {
        *l.entry(w.as_str()).or_insert(0) += 1;
    }
    let want: Vec<String> = workers.iter().map(|p| format!("127.0.0.1:{}", p)).collect();
    want.iter().all(|w| l.contains_key(w.as_str()))
        && l.len() == want.len()
        && l.values().max().unwrap() - l.values().min().unwrap() <= 1
}

fn stats(v: &[Duration]) -> String {
    let ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64()).collect();
    let min = ms.iter().cloned().fold(f64::MAX, f64::min);
    let max = ms.iter().cloned().fold(0.0, f64::max);
    let avg = ms.iter().sum::<f64>() / ms.len() as f64;
    let mut sorted = ms.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = sorted[sorted.len() / 2];
    format!(
        "runs {:?} s; min {:.2} s, median {:.2} s, avg {:.2} s, max {:.2} s",
        ms.iter()
            .map(|x| (x * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
        min,
        median,
        avg,
        max
    )
}

/// Seconds since midnight UTC, now.
fn now_of_day() -> f64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (d.as_secs() % 86_400) as f64 + d.subsec_nanos() as f64 / 1e9
}

/// Seconds since midnight UTC of a log line (`2026-12-05T15:21:09.349338Z ...`).
fn line_time(line: &str) -> Option<f64> {
    let t = line.get(11..line.find('Z')?)?;
    let mut p = t.split(':');
    let (h, m, s): (f64, f64, f64) = (
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
    );
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Where a failover's time went, from the survivors' logs, in seconds after the kill:
/// the first membership without the victim (Kafka's session timeout plus the
/// rebalance and this worker's next group description), the leader's new assignment,
/// and the last task start.
#[derive(Default, Clone, Copy)]
struct Phases {
    membership: f64,
    assignment: f64,
    started: f64,
}

fn phases(logs: &[String], victim: u16, killed_at: f64) -> Phases {
    let victim = format!("127.0.0.1:{}", victim);
    let mut p = Phases {
        membership: f64::MAX,
        assignment: f64::MAX,
        started: 0.0,
    };
    for log in logs {
        for line in log.lines() {
            let Some(t) = line_time(line).map(|t| t - killed_at) else {
                continue;
            };
            if t < 0.0 {
                continue;
            }
            if line.contains("cluster membership") && !line.contains(&victim) {
                p.membership = p.membership.min(t);
            } else if line.contains("publishing assignment") && !line.contains(&victim) {
                p.assignment = p.assignment.min(t);
            } else if line.contains("started task here") {
                p.started = p.started.max(t);
            }
        }
    }
    p
}

fn failover_and_join(runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::new(dir.path());
    let topic = unique("six");
    create_topic(INTERNAL, &topic, 6);
    let mut ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    for p in &ports {
        c.start(*p);
    }
    let cfg = json!({"connector.class": "FileStreamSink", "tasks.max": "6", "topics": topic, "file": dir.path().join("six.txt").display().to_string()});
    assert_eq!(
        post(
            ports[0],
            "/connectors",
            &json!({"name": "six", "config": cfg})
        ),
        201
    );
    wait(Duration::from_secs(120), || {
        owners(ports[0], "six", 6).is_some_and(|o| balanced_over(&o, &ports))
    });
    let mut failovers = Vec::new();
    let mut leaves = Vec::new();
    let mut joins = Vec::new();
    for _ in 0..runs {
        // SIGKILL a worker that runs tasks; time until all 6 run on the others.
        let victim = ports[0];
        let killed_at = now_of_day();
        c.kill(victim);
        ports.remove(0);
        let t = wait(Duration::from_secs(120), || {
            owners(ports[0], "six", 6).is_some_and(|o| balanced_over(&o, &ports))
        });
        failovers.push(t);
        let logs: Vec<String> = ports.iter().map(|p| c.log(*p)).collect();
        let p = phases(&logs, victim, killed_at);
        println!(
            "  failover {:.2} s: membership without the victim at {:.2} s, new assignment at {:.2} s, last task started at {:.2} s, seen RUNNING through REST at {:.2} s",
            t.as_secs_f64(),
            p.membership,
            p.assignment,
            p.started,
            t.as_secs_f64()
        );
        // A new worker joins; time until the assignment is balanced again.
        let p = free_port();
        let start = Instant::now();
        c.start(p);
        ports.push(p);
        wait(Duration::from_secs(120), || {
            owners(c.any(), "six", 6).is_some_and(|o| balanced_over(&o, &ports))
        });
        joins.push(start.elapsed());
        // A planned leave: SIGTERM; time until all 6 run on the others.
        let start = Instant::now();
        c.terminate(ports.remove(0));
        wait(Duration::from_secs(120), || {
            owners(ports[0], "six", 6).is_some_and(|o| balanced_over(&o, &ports))
        });
        leaves.push(start.elapsed());
        let p = free_port();
        c.start(p);
        ports.push(p);
        wait(Duration::from_secs(120), || {
            owners(c.any(), "six", 6).is_some_and(|o| balanced_over(&o, &ports))
        });
    }
    println!("SIGKILL -> all tasks running elsewhere (session.timeout.ms 6000, scheduled.rebalance.max.delay.ms 0): {}", stats(&failovers));
    println!(
        "SIGTERM (planned leave) -> all tasks running elsewhere: {}",
        stats(&leaves)
    );
    println!(
        "worker start -> balanced assignment including it: {}",
        stats(&joins)
    );
}

fn preload(topic: &str, n: usize) {
    create_topic(INTERNAL, topic, 6);
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", INTERNAL)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let payload = [b'x'; 100];
    for i in 0..n {
        let key = i.to_string();
        let mut r = BaseRecord::<str, [u8]>::to(topic)
            .key(&key)
            .payload(&payload[..]);
        loop {
            match p.send(r) {
                Ok(()) => break,
                Err((_, back)) => {
                    r = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
    p.flush(Duration::from_secs(120)).unwrap();
}

fn throughput(workers: usize, topic: &str, n: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::new(dir.path());
    let ports: Vec<u16> = (0..workers).map(|_| free_port()).collect();
    for p in &ports {
        c.start(*p);
    }
    let out = dir.path().join("out.txt");
    let cfg = json!({"connector.class": "FileStreamSink", "tasks.max": "6", "topics": topic, "file": out.display().to_string()});
    let start = Instant::now();
    assert_eq!(
        post(
            ports[0],
            "/connectors",
            &json!({"name": unique("tp"), "config": cfg})
        ),
        201
    );
    let expected = (n * 101) as u64;
    wait(Duration::from_secs(600), || {
        std::fs::metadata(&out)
            .map(|m| m.len() >= expected)
            .unwrap_or(false)
    });
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs: usize = env_or("SLUICE_BENCH_RUNS", 5);
    let n: usize = env_or("SLUICE_BENCH_RECORDS", 600_000);
    failover_and_join(runs);
    let topic = unique("tp");
    preload(&topic, n);
    let one = throughput(1, &topic, n);
    let three = throughput(3, &topic, n);
    println!(
        "sink pipeline (6 tasks, {} records of 100 bytes, group join included): 1 worker {:.0} rec/s, 3 workers {:.0} rec/s (ratio {:.2}; all workers share this machine's 2 cores)",
        n, one, three, three / one
    );
}
