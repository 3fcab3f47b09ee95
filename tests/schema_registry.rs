//! The Schema Registry converters against a real Confluent-compatible registry
//! (Apicurio Registry 3.0.9, `scripts/stack.sh start-registry`, Confluent's API under
//! /apis/ccompat/v7) and the real broker, checked with confluent-kafka's own
//! `AvroSerializer` / `AvroDeserializer` and `SchemaRegistryClient`
//! (`tests/python/schema_registry.py`).

mod common;
#[path = "common/registry.rs"]
mod registry;
#[path = "common/tls.rs"]
mod tls;

use std::time::{Duration, Instant};

use common::*;
use registry::*;
use serde_json::{json, Value as Json};

const SECURE_REGISTRY: &str = "https://127.0.0.1:8082/apis/ccompat/v7";
const REGISTRY_USER_INFO: &str = "sluice:registry-secret";

/// Runs tests/python/schema_registry.py; `env` adds SR_CA / SR_USER_INFO.
fn py(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
    run_python("schema_registry.py", args, stdin, env)
}

fn start_secure_registry() {
    assert!(
        stack("start-secure-registry"),
        "cannot start the secured Schema Registry (scripts/stack.sh start-secure-registry)"
    );
}

fn read_avro(topic: &str, registry: &str, n: usize, env: &[(&str, &str)]) -> Vec<Json> {
    py(
        &["read-avro", &bootstrap(), topic, registry, &n.to_string()],
        "",
        env,
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

fn pg_exec(sql: &str) {
    block_on(async {
        let (client, conn) = tokio_postgres::connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test",
            tokio_postgres::NoTls,
        )
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (scripts/stack.sh up)");
        tokio::spawn(conn);
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {:?}", sql, e));
    });
}

/// Rows of a PostgreSQL table with most column types, through the JDBC source and
/// AvroConverter (keys and values), read back by confluent-kafka's AvroDeserializer.
#[test]
fn jdbc_source_writes_avro_that_confluent_reads() {
    start_registry();
    let t = unique("sravro").replace('-', "_");
    pg_exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, name text NOT NULL, score int, small smallint,
           big bigint, ratio double precision, flag boolean, price numeric(10,2), born date,
           seen timestamp, blob bytea);
         INSERT INTO {t} (name, score, small, big, ratio, flag, price, born, seen, blob) VALUES
           ('a', 1, 7, 9000000000, 0.5, true, 12.34, '2024-02-29', '2024-03-01 12:34:56.789', '\\x00ff'),
           ('b', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           ('ç', -3, -2, -1, -1.25, false, -0.01, '1969-12-31', '1970-01-01 00:00:00', '\\x');"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("sra"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        &t,
        &format!(
            "  connector.class: jdbc-source\n  connection.url: \"{PG_URL}\"\n  poll.interval.ms: 300\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  key.converter: io.confluent.connect.avro.AvroConverter\n  key.converter.schema.registry.url: {REGISTRY}\n  value.converter: avro\n  value.converter.schema.registry.url: {REGISTRY}\n"
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 3, &w);
    pg_exec(&format!("INSERT INTO {t} (name) VALUES ('d');"));
    wait_records(&topic, 4, &w);
    assert!(w.terminate().success());

    let got = read_avro(&topic, REGISTRY, 4, &[]);
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(
        values,
        vec![
            json!({"id":1,"name":"a","score":1,"small":7,"big":9000000000i64,"ratio":0.5,"flag":true,
                   "price":"12.34","born":"2024-02-29","seen":"2024-03-01T12:34:56.789000+00:00","blob":"00ff"}),
            json!({"id":2,"name":"b","score":null,"small":null,"big":null,"ratio":null,"flag":null,
                   "price":null,"born":null,"seen":null,"blob":null}),
            json!({"id":3,"name":"ç","score":-3,"small":-2,"big":-1,"ratio":-1.25,"flag":false,
                   "price":"-0.01","born":"1969-12-31","seen":"1970-01-01T00:00:00+00:00","blob":""}),
            json!({"id":4,"name":"d","score":null,"small":null,"big":null,"ratio":null,"flag":null,
                   "price":null,"born":null,"seen":null,"blob":null}),
        ]
    );
    let keys: Vec<Json> = got.iter().map(|r| r["key"].clone()).collect();
    assert_eq!(
        keys,
        vec![
            json!({"id":1}),
            json!({"id":2}),
            json!({"id":3}),
            json!({"id":4})
        ]
    );
    // one schema per subject, registered once and used by every record
    let ids: std::collections::BTreeSet<i64> = got
        .iter()
        .map(|r| r["value_schema_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{:?}", got);
    let subjects = py(&["subjects", REGISTRY], "", &[]);
    assert!(
        subjects.lines().any(|s| s == format!("{}-value", topic)),
        "{}",
        subjects
    );
    assert!(
        subjects.lines().any(|s| s == format!("{}-key", topic)),
        "{}",
        subjects
    );
    let schema: Json = serde_json::from_str(
        py(&["latest", REGISTRY, &format!("{}-value", topic)], "", &[]).trim(),
    )
    .unwrap();
    assert_eq!(schema["type"], "record");
    assert_eq!(schema["name"], t.as_str());
    assert_eq!(schema["connect.name"], t.as_str());
    let field = |n: &str| {
        schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(field("name")["type"], "string");
    assert_eq!(field("score")["type"], json!(["null", "int"]));
    assert_eq!(field("score")["default"], Json::Null);
    assert_eq!(field("small")["type"][1]["connect.type"], "int16");
    assert_eq!(field("price")["type"][1]["logicalType"], "decimal");
    assert_eq!(field("price")["type"][1]["scale"], 2);
    assert_eq!(field("born")["type"][1]["logicalType"], "date");
    assert_eq!(field("seen")["type"][1]["logicalType"], "timestamp-millis");
}

/// Records written by confluent-kafka's AvroSerializer, read by the FileStream sink
/// through AvroConverter.
#[test]
fn confluent_avro_into_a_file_sink() {
    start_registry();
    let topic = unique("srsink");
    create_topic(&topic, 1);
    let schema = json!({
        "type": "record", "name": "Order", "namespace": "shop",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "customer", "type": "string"},
            {"name": "note", "type": ["null", "string"], "default": null},
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "attrs", "type": {"type": "map", "values": "int"}},
            {"name": "ship", "type": {"type": "record", "name": "Address",
                "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": "int"}]}},
            {"name": "bill", "type": ["null", "Address"], "default": null},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "weight", "type": "float"}
        ]
    });
    let rows = [
        json!({"id": 1, "customer": "ann", "note": null, "tags": ["x", "y"], "attrs": {"a": 1},
               "ship": {"city": "Oslo", "zip": 150}, "bill": null, "day": {"$date": "1970-01-02"},
               "kind": "A", "weight": 1.5}),
        json!({"id": 2, "customer": "bob", "note": "fragile", "tags": [], "attrs": {},
               "ship": {"city": "Bergen", "zip": 5003}, "bill": {"city": "Lima", "zip": 1},
               "day": {"$date": "2024-02-29"}, "kind": "B", "weight": -0.25}),
    ];
    let stdin: String = rows.iter().map(|r| format!("{}\n", r)).collect();
    let n = py(
        &[
            "write-avro",
            &bootstrap(),
            &topic,
            REGISTRY,
            &schema.to_string(),
        ],
        &stdin,
        &[],
    );
    assert_eq!(n.trim(), "2");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "sr-sink",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: io.confluent.connect.avro.AvroConverter\n  value.converter.schema.registry.url: {REGISTRY}\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let got = wait_lines(&out, 2, &w);
    assert!(w.terminate().success());
    let got: Vec<Json> = got
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        got,
        vec![
            json!({"id":1,"customer":"ann","note":null,"tags":["x","y"],"attrs":{"a":1},
                   "ship":{"city":"Oslo","zip":150},"bill":null,"day":1,"kind":"A","weight":1.5}),
            json!({"id":2,"customer":"bob","note":"fragile","tags":[],"attrs":{},
                   "ship":{"city":"Bergen","zip":5003},"bill":{"city":"Lima","zip":1},
                   "day":19782,"kind":"B","weight":-0.25}),
        ]
    );
}

/// Bytes that are not in the wire format, and an id the registry does not know, are
/// record errors: with errors.tolerance=all they go to the dead letter queue with the
/// reason, and the good records around them are written.
#[test]
fn bad_magic_byte_and_unknown_schema_id_go_to_the_dead_letter_queue() {
    start_registry();
    let topic = unique("srbad");
    let dlq = format!("{}-dlq", topic);
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    let schema = json!({"type":"record","name":"Good","fields":[{"name":"n","type":"int"}]});
    py(
        &[
            "write-avro",
            &bootstrap(),
            &topic,
            REGISTRY,
            &schema.to_string(),
        ],
        "{\"n\": 1}\n",
        &[],
    );
    let unknown_id: &[u8] = &[0, 0x7f, 0xff, 0xff, 0x00, 2];
    produce(
        &topic,
        &[
            (None, Some(b"{\"not\": \"avro\"}"), vec![]),
            (None, Some(unknown_id), vec![]),
        ],
    );
    py(
        &[
            "write-avro",
            &bootstrap(),
            &topic,
            REGISTRY,
            &schema.to_string(),
        ],
        "{\"n\": 2}\n",
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "sr-bad",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: io.confluent.connect.avro.AvroConverter\n  value.converter.schema.registry.url: {REGISTRY}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.context.headers.enable: true\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let got = wait_lines(&out, 2, &w);
    assert_eq!(got, vec!["{\"n\":1}", "{\"n\":2}"]);
    wait_for("two dead letters", Duration::from_secs(30), || {
        end_offset(&dlq) >= 2
    });
    assert!(w.terminate().success());
    let dead = read_all(&dlq);
    assert_eq!(dead.len(), 2);
    assert_eq!(dead[0].value.as_deref(), Some(&b"{\"not\": \"avro\"}"[..]));
    let why0 = dead[0]
        .header("__connect.errors.exception.message")
        .unwrap();
    assert!(why0.contains("unknown magic byte 123"), "{}", why0);
    assert_eq!(
        dead[0].header("__connect.errors.class.name").as_deref(),
        Some("io.confluent.connect.avro.AvroConverter")
    );
    let why1 = dead[1]
        .header("__connect.errors.exception.message")
        .unwrap();
    assert!(
        why1.contains("schema id 2147483392") && why1.contains("127.0.0.1:8081"),
        "{}",
        why1
    );
}

/// Over TLS with HTTP basic auth: a wrong password fails the task with the registry
/// and the 401 named and the password nowhere; the right one (PKCS12 truststore)
/// writes records that confluent-kafka reads through the same secured registry.
#[test]
fn tls_registry_with_basic_auth() {
    start_secure_registry();
    let ca = tls::tls_file("ca.pem");
    let p12 = tls::tls_file("truststore.p12");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.txt");
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let bad_topic = unique("srauthbad");
    let good_topic = unique("srauth");
    create_topic(&bad_topic, 1);
    create_topic(&good_topic, 1);
    let bad_password = "not-the-password-4711";
    let bad = write_connector(
        d,
        "sr-badauth",
        &format!(
            "  connector.class: FileStreamSource\n  file: {}\n  topic: {bad_topic}\n  value.converter: avro\n  value.converter.schema.registry.url: {SECURE_REGISTRY}\n  value.converter.basic.auth.credentials.source: USER_INFO\n  value.converter.basic.auth.user.info: \"sluice:{bad_password}\"\n  value.converter.schema.registry.ssl.truststore.location: {ca}\n",
            input.display()
        ),
    );
    let good = write_connector(
        d,
        "sr-goodauth",
        &format!(
            "  connector.class: FileStreamSource\n  file: {}\n  topic: {good_topic}\n  value.converter: avro\n  value.converter.schema.registry.url: {SECURE_REGISTRY}\n  value.converter.basic.auth.credentials.source: USER_INFO\n  value.converter.basic.auth.user.info: \"{REGISTRY_USER_INFO}\"\n  value.converter.schema.registry.ssl.truststore.location: {p12}\n  value.converter.schema.registry.ssl.truststore.password: sluice-test-pass\n",
            input.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&bad, &good]);
    let api = Api::new(port);
    api.wait_ready();
    let trace = wait_task_failed(&api, "sr-badauth");
    assert!(
        trace.contains("https://127.0.0.1:8082/apis/ccompat/v7") && trace.contains("HTTP 401"),
        "{}",
        trace
    );
    wait_records(&good_topic, 3, &w);
    let config = api.get("/connectors/sr-badauth/config");
    assert!(w.terminate().success());
    let log = w.log_text();
    assert!(
        !trace.contains(bad_password) && !log.contains(bad_password),
        "{}",
        log
    );
    assert!(
        !config.body.to_string().contains(bad_password),
        "{}",
        config.body
    );
    assert_eq!(
        end_offset(&bad_topic),
        0,
        "nothing written without the registry"
    );
    let got = read_avro(
        &good_topic,
        SECURE_REGISTRY,
        3,
        &[("SR_CA", &ca), ("SR_USER_INFO", REGISTRY_USER_INFO)],
    );
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(values, vec![json!("one"), json!("two"), json!("three")]);
}

/// Forwards every connection on `listener` to the Apicurio registry (port 8081): the
/// registry "comes back" on a port where nothing answered before.
fn forward_to_registry(listener: std::net::TcpListener) {
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect("127.0.0.1:8081") else {
                continue;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c1, mut s1) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c1, &mut s1);
                let _ = s1.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
                let _ = c2.shutdown(std::net::Shutdown::Write);
            });
        }
    });
}

/// A registry that cannot be reached is not the records' fault: with
/// `errors.tolerance=all` and a dead letter queue, the sink retries for
/// `errors.retry.timeout` and then fails with the registry's URL in its trace; nothing
/// is skipped, dead-lettered or written. When the registry answers again (a forwarder
/// to Apicurio on the same port) a task restart writes both records.
#[test]
fn unreachable_registry_fails_the_task_and_loses_nothing() {
    start_registry();
    let topic = unique("srdown");
    let dlq = format!("{}-dlq", topic);
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    let schema = json!({"type":"record","name":"Down","fields":[{"name":"n","type":"int"}]});
    py(
        &[
            "write-avro",
            &bootstrap(),
            &topic,
            REGISTRY,
            &schema.to_string(),
        ],
        "{\"n\": 1}\n{\"n\": 2}\n",
        &[],
    );
    let reg_port = free_port();
    let down = format!("http://127.0.0.1:{}/apis/ccompat/v7", reg_port);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let c = write_connector(
        d,
        "sr-down",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: io.confluent.connect.avro.AvroConverter\n  value.converter.schema.registry.url: {down}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.retry.timeout: 1500\n  errors.retry.delay.max.ms: 300\n",
            out.display()
        ),
    );
    let started = Instant::now();
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let trace = wait_task_failed(&api, "sr-down");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "failed before errors.retry.timeout: {}",
        trace
    );
    assert!(trace.contains(&down), "{}", trace);
    assert!(
        trace.contains("retriable") && trace.contains("neither skipped nor sent"),
        "{}",
        trace
    );
    assert!(trace.contains("errors.retry.timeout=1500 ms"), "{}", trace);
    assert_eq!(end_offset(&dlq), 0, "nothing goes to the dead letter queue");
    let written = if out.exists() {
        lines(&out)
    } else {
        Vec::new()
    };
    assert!(written.is_empty(), "nothing is written: {:?}", written);

    // the registry comes back on the same port; a restart reads the records again
    forward_to_registry(std::net::TcpListener::bind(("127.0.0.1", reg_port)).unwrap());
    let r = api.post("/connectors/sr-down/tasks/0/restart", &json!({}));
    assert!(r.status < 300, "restart: {} {}", r.status, r.body);
    let got = wait_lines(&out, 2, &w);
    assert_eq!(got, vec!["{\"n\":1}", "{\"n\":2}"]);
    assert_eq!(end_offset(&dlq), 0);
    assert!(w.terminate().success());
}

/// The source side of an outage: a file source whose registry cannot be reached
/// converts the same record again (status RUNNING with the retry in its trace) instead
/// of failing or skipping it; nothing is written to the topic or the dead letter queue
/// meanwhile. When the registry answers (a forwarder to Apicurio on that port), every
/// line arrives once, in order.
#[test]
fn source_retries_conversions_while_the_registry_is_unreachable() {
    start_registry();
    let topic = unique("srsrcdown");
    let dlq = format!("{}-dlq", topic);
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    let reg_port = free_port();
    let down = format!("http://127.0.0.1:{}/apis/ccompat/v7", reg_port);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.txt");
    std::fs::write(&input, "one\ntwo\nthree\n").unwrap();
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let c = write_connector(
        d,
        "sr-src-down",
        &format!(
            "  connector.class: FileStreamSource\n  topic: {topic}\n  file: {}\n  value.converter: io.confluent.connect.avro.AvroConverter\n  value.converter.schema.registry.url: {down}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.retry.timeout: 120000\n  errors.retry.delay.max.ms: 500\n",
            input.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let s = api.get("/connectors/sr-src-down/status");
        let task = &s.body["tasks"][0];
        let trace = task["detail"].as_str().unwrap_or_default().to_string();
        if task["state"] == "RUNNING" && trace.contains("conversion failed, retrying") {
            break trace;
        }
        assert!(task["state"] != "FAILED", "the task failed: {}", s.text);
        assert!(
            Instant::now() < deadline,
            "no retry shown: {}\n{}",
            s.body,
            tail(&w.log_text())
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        trace.contains(&down),
        "the trace names the registry: {}",
        trace
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        end_offset(&topic),
        0,
        "nothing written without the registry"
    );
    assert_eq!(end_offset(&dlq), 0, "nothing dead-lettered");

    forward_to_registry(std::net::TcpListener::bind(("127.0.0.1", reg_port)).unwrap());
    wait_records(&topic, 3, &w);
    let got = read_avro(&topic, REGISTRY, 3, &[]);
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(values, vec![json!("one"), json!("two"), json!("three")]);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(end_offset(&topic), 3, "each line once");
    assert_eq!(end_offset(&dlq), 0);
    let s = api.get("/connectors/sr-src-down/status");
    assert_eq!(s.body["tasks"][0]["state"], "RUNNING", "{}", s.text);
    assert!(w.terminate().success());
}
