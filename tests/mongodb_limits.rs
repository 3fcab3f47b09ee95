//! MongoDB's size limits: write commands are cut by encoded size (a command document
//! may be at most `maxBsonObjectSize` + 16 KiB = 16,793,600 bytes), and a document over
//! `maxBsonObjectSize` (16 MiB) is never sent: it goes to the dead letter queue or fails
//! the task, naming the record and its size.
//!
//! The sink talks to SecantusDB (127.0.0.1:27017) through a small TCP proxy in the test
//! that reads the size of every command on the wire. SecantusDB is more lenient than
//! MongoDB here: it accepts command documents over 16 MiB + 16 KiB (MongoDB refuses the
//! whole command), and rejects a document over 16 MiB as one write error (MongoDB
//! refuses the whole command). So the limits are checked on the wire, not by relying
//! on the server's refusal.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use mongodb::bson::{doc, Document};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

const DB: &str = "sluice_limits";
/// MongoDB's `BSONObjMaxInternalSize`: the largest command document it accepts.
const MAX_COMMAND: usize = 16 * 1024 * 1024 + 16 * 1024;

fn mongo_addr() -> String {
    std::env::var("SLUICE_TEST_MONGODB_ADDR").unwrap_or_else(|_| "127.0.0.1:27017".into())
}

/// One command seen on the wire: its name and the size of its body document.
#[derive(Debug, Clone)]
struct Seen {
    command: String,
    body: usize,
}

/// A TCP proxy to the MongoDB server that records the OP_MSG commands clients send.
struct Proxy {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(mongo_addr()) else {
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
                let seen = s.clone();
                std::thread::spawn(move || forward_messages(client, server, seen));
            }
        });
        Proxy { port, seen }
    }

    fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// The write commands seen so far.
    fn writes(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| ["insert", "update", "delete"].contains(&s.command.as_str()))
            .cloned()
            .collect()
    }
}

/// Copies client messages to the server one by one, noting each OP_MSG's command.
fn forward_messages(mut client: TcpStream, mut server: TcpStream, seen: Arc<Mutex<Vec<Seen>>>) {
    loop {
        let mut header = [0u8; 16];
        if client.read_exact(&mut header).is_err() {
            break;
        }
        let len = i32::from_le_bytes(header[0..4].try_into().unwrap()) as usize;
        let op = i32::from_le_bytes(header[12..16].try_into().unwrap());
        let mut rest = vec![0u8; len.saturating_sub(16)];
        if client.read_exact(&mut rest).is_err() {
            break;
        }
        // OP_MSG: flags (4), then section kind 0: the body document.
        if op == 2013 && rest.len() > 10 && rest[4] == 0 {
            let body = i32::from_le_bytes(rest[5..9].try_into().unwrap()) as usize;
            // The first element: type byte, then the command name as a C string.
            let name_start = 10;
            let name_end = rest[name_start..]
                .iter()
                .position(|b| *b == 0)
                .map_or(name_start, |p| name_start + p);
            let command = String::from_utf8_lossy(&rest[name_start..name_end]).into_owned();
            seen.lock().unwrap().push(Seen { command, body });
        }
        if server.write_all(&header).is_err() || server.write_all(&rest).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Both);
}

fn count(coll: &str) -> u64 {
    block_on(async {
        let c = mongodb::Client::with_uri_str(format!("mongodb://{}", mongo_addr()))
            .await
            .unwrap();
        c.database(DB)
            .collection::<Document>(coll)
            .count_documents(doc! {})
            .await
            .unwrap()
    })
}

fn ids(coll: &str) -> Vec<String> {
    block_on(async {
        use futures::TryStreamExt;
        let c = mongodb::Client::with_uri_str(format!("mongodb://{}", mongo_addr()))
            .await
            .unwrap();
        let docs: Vec<Document> = c
            .database(DB)
            .collection::<Document>(coll)
            .find(doc! {})
            .projection(doc! {"_id": 1})
            .sort(doc! {"_id": 1})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        docs.iter()
            .map(|d| d.get_str("_id").unwrap().to_string())
            .collect()
    })
}

fn wait_count(coll: &str, n: u64, timeout: Duration, w: &Sluice) {
    let deadline = Instant::now() + timeout;
    let mut last = 0;
    while Instant::now() < deadline {
        last = count(coll);
        if last == n {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "{coll}: expected {n} documents, have {last}; log:\n{}",
        w.log_text()
    );
}

/// Topics that take records up to 20 MB.
fn big_topic(prefix: &str) -> String {
    let t = unique(prefix);
    create_topic_with(&t, 1, &[("max.message.bytes", "20000000")]);
    t
}

/// Produces JSON values to partition 0 with a producer that sends records up to 20 MB.
fn produce_big(topic: &str, values: &[String]) {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("message.max.bytes", "20000000")
        .set("linger.ms", "20")
        .create()
        .unwrap();
    for v in values {
        let r = BaseRecord::<[u8], [u8]>::to(topic)
            .partition(0)
            .payload(v.as_bytes());
        send_retrying(&p, r, Duration::from_millis(5));
    }
    p.flush(Duration::from_secs(60)).unwrap();
}

/// `{"_id": "<id>", "p": "xxx..."}` of about `size` bytes.
fn json_doc(id: &str, size: usize) -> String {
    format!(r#"{{"_id":"{}","p":"{}"}}"#, id, "x".repeat(size))
}

fn sink(dir: &Path, name: &str, topic: &str, coll: &str, uri: &str, extra: &[String]) -> PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    let mut s = format!(
        "name: {name}\nconfig:\n  connector.class: mongodb-sink\n  topics: {topic}\n  \
         connection.uri: \"{uri}\"\n  database: {DB}\n  collection: {coll}\n  \
         value.converter: org.apache.kafka.connect.json.JsonConverter\n  \
         value.converter.schemas.enable: false\n  \
         consumer.override.max.partition.fetch.bytes: 52428800\n  \
         consumer.override.fetch.max.bytes: 52428800\n"
    );
    for e in extra {
        s.push_str(&format!("  {e}\n"));
    }
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn five_hundred_records_of_64_kb_arrive_in_commands_under_mongodbs_limit() {
    const N: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let proxy = Proxy::start();
    let topic = big_topic("mongo-64k");
    let coll = unique("big64k");
    let values: Vec<String> = (0..N)
        .map(|i| json_doc(&format!("{i:04}"), 64 * 1024))
        .collect();
    produce_big(&topic, &values);
    let name = unique("mongo-64k");
    let c = sink(d, &name, &topic, &coll, &proxy.uri(), &[]);
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_count(&coll, N as u64, Duration::from_secs(180), &w);
    wait_for("offsets committed", Duration::from_secs(60), || {
        committed_offset(&format!("connect-{name}"), &topic) == Some(N as i64)
    });
    assert!(w.terminate().success());

    let writes = proxy.writes();
    let largest = writes.iter().map(|s| s.body).max().unwrap_or(0);
    eprintln!(
        "{} write commands, the largest {} bytes",
        writes.len(),
        largest
    );
    assert!(
        largest <= MAX_COMMAND,
        "a write command of {largest} bytes, over MongoDB's {MAX_COMMAND}"
    );
    // The batches were big enough to need cutting by size: a command was filled to
    // near the limit (a batch of 500 records is 33 MB).
    assert!(
        largest > 15 * 1024 * 1024,
        "commands cut near the limit, largest {largest}"
    );
    let got = ids(&coll);
    let want: Vec<String> = (0..N).map(|i| format!("{i:04}")).collect();
    assert_eq!(got, want);
}

#[test]
fn a_document_over_16_mib_goes_to_the_dead_letter_queue_or_fails_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let proxy = Proxy::start();
    let port = free_port();
    // Two small records, one of 17 MB, two small ones after it.
    let values: Vec<String> = vec![
        json_doc("a0", 100),
        json_doc("a1", 100),
        json_doc("big", 17 * 1024 * 1024),
        json_doc("a3", 100),
        json_doc("a4", 100),
    ];
    let (t_all, t_none) = (big_topic("mongo-17m-all"), big_topic("mongo-17m-none"));
    let dlq = big_topic("mongo-17m-dlq");
    produce_big(&t_all, &values);
    produce_big(&t_none, &values);
    let (c_all, c_none) = (unique("all17m"), unique("none17m"));
    let (n_all, n_none) = (unique("mongo-17m-all"), unique("mongo-17m-none"));
    let all = sink(
        d,
        &n_all,
        &t_all,
        &c_all,
        &proxy.uri(),
        &[
            "errors.tolerance: all".into(),
            format!("errors.deadletterqueue.topic.name: {dlq}"),
            "errors.deadletterqueue.topic.replication.factor: 1".into(),
            "errors.deadletterqueue.context.headers.enable: true".into(),
            "producer.override.message.max.bytes: 20000000".into(),
        ],
    );
    let none = sink(d, &n_none, &t_none, &c_none, &proxy.uri(), &[]);
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&all, &none]);
    let api = Api::new(port);
    api.wait_ready();

    // errors.tolerance=all: the big record in the DLQ with the reason, the others
    // written, every offset committed.
    wait_count(&c_all, 4, Duration::from_secs(120), &w);
    assert_eq!(ids(&c_all), vec!["a0", "a1", "a3", "a4"]);
    wait_for("the DLQ record", Duration::from_secs(60), || {
        end_offset(&dlq) >= 1
    });
    let dead = read_all(&dlq);
    assert_eq!(dead.len(), 1);
    let m = &dead[0];
    assert_eq!(m.value.as_ref().map(Vec::len), Some(values[2].len()));
    assert_eq!(m.header("__connect.errors.offset").as_deref(), Some("2"));
    let reason = m
        .header("__connect.errors.exception.message")
        .unwrap_or_default();
    assert!(
        reason
            .contains("over MongoDB's maximum document size (maxBsonObjectSize) of 16777216 bytes"),
        "{reason}"
    );
    wait_for("offsets committed", Duration::from_secs(60), || {
        committed_offset(&format!("connect-{n_all}"), &t_all) == Some(5)
    });
    let status = api.get(&format!("/connectors/{n_all}/status")).body;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");

    // errors.tolerance=none: the task fails naming the record and its size; nothing
    // from the big record on is written or committed.
    let mut status = serde_json::Value::Null;
    wait_for("the task to fail", Duration::from_secs(120), || {
        status = api.get(&format!("/connectors/{n_none}/status")).body;
        status["tasks"][0]["state"] == "FAILED"
    });
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(&format!("topic={t_none} partition=0 offset=2")),
        "{trace}"
    );
    let size = regex_size(trace);
    assert!(
        size > 17 * 1024 * 1024 && trace.contains("maxBsonObjectSize) of 16777216 bytes"),
        "{trace}"
    );
    assert!(!ids(&c_none).contains(&"big".to_string()));
    assert!(committed_offset(&format!("connect-{n_none}"), &t_none).unwrap_or(0) <= 2);
    assert!(w.terminate().success());

    let largest = proxy.writes().iter().map(|s| s.body).max().unwrap_or(0);
    assert!(
        largest <= MAX_COMMAND,
        "a write command of {largest} bytes was sent"
    );
}

/// The size in "the document is <n> bytes".
fn regex_size(trace: &str) -> usize {
    trace
        .split("the document is ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
