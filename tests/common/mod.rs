//! Test harness: runs `sluice` as a real process against the real servers that
//! `scripts/stack.sh` starts, and checks results with plain Kafka clients.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

pub fn bootstrap() -> String {
    if let Some(b) = BOOTSTRAP.with(|b| b.borrow().clone()) {
        return b;
    }
    std::env::var("SLUICE_TEST_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

thread_local! {
    /// Set by [`use_spare_broker`]: each test runs on its own thread.
    static BOOTSTRAP: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The spare broker (`scripts/stack.sh start-spare-broker`), for tests that stop or
/// kill Kafka: the broker the other tests use stays up.
pub const SPARE_BOOTSTRAP: &str = "127.0.0.1:9101";

/// Starts the spare broker and makes it this test's broker: every helper here and
/// [`worker_yaml`] use it from now on, on this thread.
pub fn use_spare_broker() {
    assert!(stack("start-spare-broker"), "cannot start the spare broker");
    BOOTSTRAP.with(|b| *b.borrow_mut() = Some(SPARE_BOOTSTRAP.to_string()));
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}-{}-{}-{}",
        prefix,
        std::process::id(),
        nanos % 1_000_000_000,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// User + system CPU seconds a process has used so far (all its threads).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The machine's CPU time so far, in seconds: (busy, all), summed over every CPU
/// (`/proc/stat`). Busy over all between two readings is how loaded the machine was.
pub fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let all: f64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0.0) + f.get(4).copied().unwrap_or(0.0);
    ((all - idle) / 100.0, all / 100.0)
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `f` holds, panicking with `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {:?} waiting for {}", timeout, what);
}

/// Runs a future on a fresh single-threaded runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Creates a topic (no error if it exists).
pub fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let r = block_on(admin.create_topics([&t], &AdminOptions::new())).unwrap();
    for x in r {
        if let Err((n, e)) = x {
            if e != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                panic!("cannot create topic {}: {}", n, e);
            }
        }
    }
}

/// A message as read back.
#[derive(Debug, Clone)]
pub struct Msg {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Msg {
    pub fn value_str(&self) -> &str {
        std::str::from_utf8(self.value.as_deref().unwrap_or_default()).unwrap()
    }
    pub fn key_str(&self) -> Option<&str> {
        self.key.as_deref().map(|k| std::str::from_utf8(k).unwrap())
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// A message to produce: key, value, headers.
pub type Outgoing<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Vec<(&'a str, &'a [u8])>);

/// A benchmark value: `<i, 8 digits>-` padded with `x` to `size` bytes.
pub fn numbered_value(i: usize, size: usize) -> Vec<u8> {
    let mut b = format!("{:08}-", i).into_bytes();
    b.resize(size, b'x');
    b
}

/// Creates a one-partition topic holding `n` [`numbered_value`]s of `size` bytes.
pub fn fill_numbered(topic: &str, n: usize, size: usize) {
    create_topic(topic, 1);
    for start in (0..n).step_by(20_000) {
        let values: Vec<Vec<u8>> = (start..(start + 20_000).min(n))
            .map(|i| numbered_value(i, size))
            .collect();
        let msgs: Vec<Outgoing<'_>> = values
            .iter()
            .map(|v| (None, Some(&v[..]), vec![]))
            .collect();
        produce(topic, &msgs);
    }
}

/// A consumer (new group `<prefix>-...`, no commits) assigned partition 0 of `topic`
/// from its beginning: the plain loops of the sink benchmarks.
pub fn reader_from_start(topic: &str, prefix: &str) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique(prefix))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    c
}

/// Produces messages (key, value, headers) and waits for all acks.
/// Sends `r`, sleeping `pause` and trying again while the producer's queue is full.
pub fn send_retrying<K, P, C>(p: &ThreadedProducer<C>, mut r: BaseRecord<'_, K, P>, pause: Duration)
where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
    C: rdkafka::producer::ProducerContext<DeliveryOpaque = ()> + 'static,
{
    loop {
        match p.send(r) {
            Ok(()) => return,
            Err((_, back)) => {
                std::thread::sleep(pause);
                r = back;
            }
        }
    }
}

pub fn produce(topic: &str, msgs: &[Outgoing<'_>]) {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for (k, v, hs) in msgs {
        let mut r: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).partition(0);
        if let Some(k) = k {
            r = r.key(*k);
        }
        if let Some(v) = v {
            r = r.payload(*v);
        }
        if !hs.is_empty() {
            let mut h = OwnedHeaders::new();
            for (n, val) in hs {
                h = h.insert(Header {
                    key: n,
                    value: Some(*val),
                });
            }
            r = r.headers(h);
        }
        send_retrying(&p, r, Duration::from_millis(5));
    }
    // long enough for a broker that a test restarts meanwhile (the spare broker)
    p.flush(Duration::from_secs(120)).unwrap();
}

fn consumer() -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

fn partitions(c: &BaseConsumer, topic: &str) -> Vec<i32> {
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    md.topics()[0].partitions().iter().map(|p| p.id()).collect()
}

/// Sum of the high watermarks of a topic's partitions (records written so far).
pub fn end_offset(topic: &str) -> i64 {
    end_offset_at(&bootstrap(), topic)
}

/// [`end_offset`] on the broker at `at`.
pub fn end_offset_at(at: &str, topic: &str) -> i64 {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", at)
        .set("group.id", unique("test-reader"))
        .create()
        .unwrap();
    partitions(&c, topic)
        .into_iter()
        .map(|p| {
            c.fetch_watermarks(topic, p, Duration::from_secs(10))
                .map(|(_, h)| h)
                .unwrap_or(0)
        })
        .sum()
}

/// Reads every committed message of a topic from the beginning up to its current end
/// (transaction markers take offsets too, so the end of a partition is its EOF).
pub fn read_all(topic: &str) -> Vec<Msg> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("test-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for p in partitions(&c, topic) {
        let (_, h) = c
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .unwrap();
        if h > 0 {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
            ends.insert(p, h);
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return out;
    }
    c.assign(&tpl).unwrap();
    // The test broker reads large backlogs slowly, more so when tests run in parallel.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !ends.is_empty() && Instant::now() < deadline {
        let m = match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => m,
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                ends.remove(&p);
                continue;
            }
            _ => continue,
        };
        {
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
            if m.offset() + 1 >= ends[&m.partition()] {
                ends.remove(&m.partition());
            }
        }
    }
    assert!(ends.is_empty(), "could not read topic {} to its end", topic);
    out
}

/// The committed offset of a consumer group on partition 0 of a topic.
pub fn committed_offset(group: &str, topic: &str) -> Option<i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let r = c.committed_offsets(tpl, Duration::from_secs(10)).ok()?;
    match r.elements()[0].offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// Lines of a file (empty if it does not exist).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Writes `n` numbered lines (`line-<i>`), starting at `start`.
pub fn write_lines(path: &Path, start: usize, n: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut buf = String::with_capacity(n * 12);
    for i in start..start + n {
        buf.push_str(&format!("line-{}\n", i));
    }
    f.write_all(buf.as_bytes()).unwrap();
}

/// A worker config with the test defaults: local broker, fast group joins and flushes.
pub fn worker_yaml(dir: &Path, port: u16, extra: &str) -> String {
    format!(
        "bootstrap.servers: {}\n\
         offset.storage.file.filename: {}/offsets.json\n\
         offset.flush.interval.ms: 500\n\
         offset.storage.replication.factor: 1\n\
         listeners: http://127.0.0.1:{}\n\
         key.converter: org.apache.kafka.connect.storage.StringConverter\n\
         value.converter: org.apache.kafka.connect.storage.StringConverter\n\
         consumer.session.timeout.ms: 6000\n\
         consumer.heartbeat.interval.ms: 1000\n\
         task.auto.restart.enable: false\n\
         {}\n",
        bootstrap(),
        dir.display(),
        port,
        extra
    )
}

/// A `sluice` process.
pub struct Sluice {
    child: Option<Child>,
    pub dir: PathBuf,
    pub port: u16,
    pub log: PathBuf,
}

impl Sluice {
    /// Starts `sluice standalone <dir>/worker.yaml <connectors...>` with `worker` as the
    /// worker config.
    pub fn standalone(dir: &Path, worker: &str, connectors: &[&Path]) -> Sluice {
        Self::standalone_with_env(dir, worker, connectors, &[])
    }

    /// Like [`standalone`](Self::standalone), with extra environment variables.
    pub fn standalone_with_env(
        dir: &Path,
        worker: &str,
        connectors: &[&Path],
        env: &[(&str, &str)],
    ) -> Sluice {
        let port = worker
            .lines()
            .find_map(|l| l.trim().strip_prefix("listeners: http://127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(8083);
        let wpath = dir.join("worker.yaml");
        std::fs::write(&wpath, worker).unwrap();
        let log = dir.join(format!("worker-{}.log", unique("run")));
        let logf = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
        cmd.arg("standalone").arg(&wpath);
        for c in connectors {
            cmd.arg(c);
        }
        cmd.env("SLUICE_LOG", "info").env("NO_COLOR", "1");
        // the test's own variables win (SLUICE_LOG too)
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.stdout(Stdio::null()).stderr(logf).spawn().unwrap();
        Sluice {
            child: Some(child),
            dir: dir.to_path_buf(),
            port,
            log,
        }
    }

    /// Starts `sluice distributed <dir>/worker.yaml`.
    pub fn distributed(dir: &Path, worker: &str) -> Sluice {
        let port = worker
            .lines()
            .find_map(|l| l.trim().strip_prefix("listeners: http://127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(8083);
        let wpath = dir.join("worker.yaml");
        std::fs::write(&wpath, worker).unwrap();
        let log = dir.join(format!("worker-{}.log", unique("run")));
        let logf = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("distributed")
            .arg(&wpath)
            .env("SLUICE_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .unwrap();
        Sluice {
            child: Some(child),
            dir: dir.to_path_buf(),
            port,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGKILL: no chance to flush or commit.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        unsafe_kill(c.id(), 15);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = c.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "sluice did not stop within 60s of SIGTERM; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let c = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(st) = c.try_wait().unwrap() {
                self.child = None;
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn unsafe_kill(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{}", sig))
        .arg(pid.to_string())
        .status();
}

impl Drop for Sluice {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `sluice <args>` to completion; returns (exit code, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A response from the REST API.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: serde_json::Value,
    pub text: String,
    pub location: Option<String>,
}

/// A small blocking client for a worker's REST API.
pub struct Api {
    pub base: String,
    client: reqwest::blocking::Client,
    auth: Option<String>,
}

impl Api {
    pub fn new(port: u16) -> Api {
        Api {
            base: format!("http://127.0.0.1:{}", port),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            auth: None,
        }
    }

    pub fn with_auth(mut self, header: &str) -> Api {
        self.auth = Some(header.to_string());
        self
    }

    /// Waits until the API answers `/health`.
    pub fn wait_ready(&self) {
        wait_for("the REST API", Duration::from_secs(60), || {
            self.client
                .get(format!("{}/health", self.base))
                .send()
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        });
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        self.send_as(method, path, body, Some("application/json"))
    }

    /// Like [`send`](Self::send) with the given `Content-Type` (none if `None`).
    pub fn send_as(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> Resp {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        if let Some(b) = body {
            if let Some(ct) = content_type {
                req = req.header("Content-Type", ct);
            }
            req = req.body(b.to_string());
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let text = r.text().unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Resp {
            status,
            body,
            text,
            location,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None)
    }
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Resp {
        self.send("POST", path, Some(&body.to_string()))
    }
    pub fn put(&self, path: &str, body: &serde_json::Value) -> Resp {
        self.send("PUT", path, Some(&body.to_string()))
    }
    pub fn put_empty(&self, path: &str) -> Resp {
        self.send("PUT", path, None)
    }
    pub fn patch(&self, path: &str, body: &serde_json::Value) -> Resp {
        self.send("PATCH", path, Some(&body.to_string()))
    }
    pub fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None)
    }

    /// Waits until the connector (and every task) shows `state`.
    pub fn wait_state(&self, name: &str, state: &str) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let r = self.get(&format!("/connectors/{}/status", name));
            if r.status == 200 {
                let ok = r.body["connector"]["state"] == state
                    && r.body["tasks"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|t| t["state"] == state);
                if ok {
                    return r.body;
                }
                last = r.body;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("connector {} did not reach {}: {}", name, state, last);
    }
}

/// Creates a compacted topic.
pub fn create_topic_compacted(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let t = NewTopic::new(name, partitions, TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact");
    let r = block_on(admin.create_topics([&t], &AdminOptions::new())).unwrap();
    for x in r {
        if let Err((n, e)) = x {
            if e != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                panic!("cannot create topic {}: {}", n, e);
            }
        }
    }
}

/// Produces one keyed record to a partition.
pub fn produce_keyed(topic: &str, partition: i32, key: &[u8], value: &[u8]) {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    p.send(
        BaseRecord::<[u8], [u8]>::to(topic)
            .partition(partition)
            .key(key)
            .payload(value),
    )
    .map_err(|(e, _)| e)
    .unwrap();
    // long enough for a broker that a test restarts meanwhile (the spare broker)
    p.flush(Duration::from_secs(120)).unwrap();
}

/// Kafka's default (murmur2) partitioner: positive hash modulo partitions.
pub fn murmur2_partition(key: &[u8], partitions: i32) -> i32 {
    let m: u32 = 0x5bd1e995;
    let len = key.len();
    let mut h: u32 = 0x9747b28c ^ (len as u32);
    let mut i = 0;
    while i + 4 <= len {
        let mut k = u32::from_le_bytes([key[i], key[i + 1], key[i + 2], key[i + 3]]);
        k = k.wrapping_mul(m);
        k ^= k >> 24;
        k = k.wrapping_mul(m);
        h = h.wrapping_mul(m) ^ k;
        i += 4;
    }
    let rem = len - i;
    if rem >= 3 {
        h ^= (key[i + 2] as u32) << 16;
    }
    if rem >= 2 {
        h ^= (key[i + 1] as u32) << 8;
    }
    if rem >= 1 {
        h ^= key[i] as u32;
        h = h.wrapping_mul(m);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(m);
    h ^= h >> 15;
    ((h & 0x7fffffff) % partitions as u32) as i32
}

/// Every message a consumer with `isolation.level` (`read_committed` or
/// `read_uncommitted`) sees in a topic, read from the beginning for `time`. For the
/// cases [`read_all`] cannot handle: a partition whose end is held back by an open
/// transaction.
pub fn read_for(topic: &str, isolation: &str, time: Duration) -> Vec<Msg> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("test-reader"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in partitions(&c, topic) {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let deadline = Instant::now() + time;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            out.push(Msg {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(|k| k.to_vec()),
                value: m.payload().map(|v| v.to_vec()),
                headers: Vec::new(),
            });
        }
    }
    out
}

/// Asserts `got` equals `want`, reporting a short summary (lengths, duplicates,
/// missing, the first difference) instead of two huge lists.
pub fn assert_same_lines(got: &[String], want: &[String], what: &str) {
    if got == want {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    let dups = got.iter().filter(|v| !seen.insert(v.as_str())).count();
    let missing = want.iter().filter(|v| !seen.contains(v.as_str())).count();
    let first = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    panic!(
        "{}: got {} lines, want {}; {} duplicates, {} missing; first difference at {}: got {:?}, want {:?}",
        what,
        got.len(),
        want.len(),
        dups,
        missing,
        first,
        got.get(first),
        want.get(first)
    );
}

/// Partitions, replication factor (of partition 0) and the non-default configs of a
/// topic as the broker reports them.
pub fn topic_info(name: &str) -> (usize, usize, HashMap<String, String>) {
    topic_info_at(&bootstrap(), name)
}

/// [`topic_info`] on the broker at `bootstrap`.
pub fn topic_info_at(at: &str, name: &str) -> (usize, usize, HashMap<String, String>) {
    use rdkafka::admin::ResourceSpecifier;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", at)
        .set("group.id", unique("test-reader"))
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(name), Duration::from_secs(10))
        .unwrap();
    let t = &md.topics()[0];
    let partitions = t.partitions().len();
    let replication = t.partitions().first().map_or(0, |p| p.replicas().len());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", at)
        .create()
        .unwrap();
    let r =
        block_on(admin.describe_configs([&ResourceSpecifier::Topic(name)], &AdminOptions::new()))
            .unwrap();
    let mut configs = HashMap::new();
    for res in r {
        for e in res.unwrap().entries {
            if !e.is_default {
                if let Some(v) = e.value {
                    configs.insert(e.name, v);
                }
            }
        }
    }
    (partitions, replication, configs)
}

/// Creates a topic with topic-level configs (no error if it exists).
pub fn create_topic_with(name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let mut t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        t = t.set(k, v);
    }
    let r = block_on(admin.create_topics([&t], &AdminOptions::new())).unwrap();
    for x in r {
        if let Err((n, e)) = x {
            if e != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                panic!("cannot create topic {}: {}", n, e);
            }
        }
    }
}

/// Produces values (no key) to one partition and waits for the acks.
pub fn produce_to(topic: &str, partition: i32, values: &[String]) {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for v in values {
        p.send(
            BaseRecord::<[u8], [u8]>::to(topic)
                .partition(partition)
                .payload(v.as_bytes()),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    }
    // long enough for a broker that a test restarts meanwhile (the spare broker)
    p.flush(Duration::from_secs(120)).unwrap();
}

/// An admin client on the test broker.
pub fn admin() -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap()
}

/// Puts back a shared server a test stopped: runs `f` when dropped, also when the test
/// fails before it restarted the server itself, so the tests after it find it up.
/// `f` must not panic (it may run while a panic unwinds).
pub struct Restore<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Restore<F> {
    pub fn new(f: F) -> Self {
        Restore(Some(f))
    }

    /// Restarts the server now.
    pub fn now(mut self) {
        if let Some(f) = self.0.take() {
            f()
        }
    }
}

impl<F: FnOnce()> Drop for Restore<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            eprintln!("restoring a server this test stopped");
            f()
        }
    }
}

/// Runs `scripts/stack.sh <what>` (start or stop a server). Its output goes nowhere:
/// a server it starts must not hold the test's stdout open.
pub fn stack(what: &str) -> bool {
    // One at a time: two tests of a binary starting the same broker at once would both
    // launch it, and the second launch fails on the first one's lock.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stack.sh"))
        .arg(what)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// The broker with automatic topic creation off (`scripts/stack.sh start-strict-broker`).
pub const STRICT_BOOTSTRAP: &str = "127.0.0.1:9095";

/// Rounds for a benchmark that compares Sluice with a plain client loop:
/// `SLUICE_BENCH_ROUNDS` (default 3). One run's ratio swings widely on a busy 2-core
/// machine, so each round runs the plain loop and then Sluice, and the median of the
/// rounds' ratios is what a benchmark reports.
pub fn bench_rounds() -> usize {
    std::env::var("SLUICE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3)
}

/// The ratios of `(sluice, plain)` rates, one per round, and their median.
pub fn median_ratio(label: &str, rounds: &[(f64, f64)]) -> f64 {
    let mut ratios: Vec<f64> = rounds.iter().map(|(s, p)| s / p).collect();
    ratios.sort_by(|a, b| a.total_cmp(b));
    let median = ratios[ratios.len() / 2];
    let each: Vec<String> = rounds
        .iter()
        .map(|(s, p)| format!("{:.2}", s / p))
        .collect();
    println!(
        "{label}: median ratio {median:.2} over {} rounds (each: {})",
        rounds.len(),
        each.join(", ")
    );
    median
}

/// A child's stdout that nobody reads until [`start_reading`](Self::start_reading):
/// its pipe fills and the child's writes to it block. Then a thread reads it.
pub struct HeldStdout {
    reading: std::sync::Arc<std::sync::atomic::AtomicBool>,
    out: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl HeldStdout {
    pub fn new(mut stdout: std::process::ChildStdout) -> Self {
        use std::io::Read;
        let reading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = {
            let (reading, out) = (reading.clone(), out.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    if !reading.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    match stdout.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => out.lock().unwrap().extend_from_slice(&buf[..n]),
                    }
                }
            })
        };
        HeldStdout {
            reading,
            out,
            reader,
        }
    }

    pub fn start_reading(&self) {
        self.reading.store(true, Ordering::SeqCst);
    }

    /// The lines read so far that start with `prefix`.
    pub fn lines(&self, prefix: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.out.lock().unwrap())
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(str::to_string)
            .collect()
    }

    /// Waits for the reader to see the end of the pipe (the child gone).
    pub fn join(self) {
        self.start_reading();
        let _ = self.reader.join();
    }
}
