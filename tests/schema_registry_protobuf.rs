//! Confluent's `ProtobufConverter` against a real Confluent-compatible registry
//! (Apicurio Registry 3.0.9, `scripts/stack.sh start-registry`, Confluent's API under
//! /apis/ccompat/v7) and the real broker, checked with confluent-kafka's own
//! `ProtobufSerializer` / `ProtobufDeserializer` and `SchemaRegistryClient`
//! (`tests/python/schema_registry_protobuf.py`, message classes built at run time).

mod common;
#[path = "common/pg.rs"]
mod pg;
#[path = "common/registry.rs"]
mod registry;

use std::time::{Duration, Instant};

use common::*;
use pg::Pg;
use registry::*;
use serde_json::{json, Value as Json};

/// Rows of a PostgreSQL table with most column types, nullable ones and a timestamp,
/// through the JDBC source and ProtobufConverter (values with
/// `optional.for.nullables=true`, keys with the defaults), read back by
/// confluent-kafka's ProtobufDeserializer with a message class built in Python.
fn py(args: &[&str], stdin: &str) -> String {
    run_python("schema_registry_protobuf.py", args, stdin, &[])
}

#[test]
fn jdbc_source_writes_protobuf_that_confluent_reads() {
    start_registry();
    let t = unique("srpb").replace('-', "_");
    Pg::connect().exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, name text NOT NULL, score int, small smallint,
           big bigint, ratio double precision, flag boolean, price numeric(10,2),
           seen timestamp, blob bytea);
         INSERT INTO {t} (name, score, small, big, ratio, flag, price, seen, blob) VALUES
           ('a', 1, 7, 9000000000, 0.5, true, 12.34, '2024-03-01 12:34:56.789', '\\x00ff'),
           ('b', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           ('ç', -3, -2, -1, -1.25, false, -0.01, '1970-01-01 00:00:00', '\\x');"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("srp"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        &t,
        &format!(
            "  connector.class: jdbc-source\n  connection.url: \"{PG_URL}\"\n  poll.interval.ms: 300\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  key.converter: io.confluent.connect.protobuf.ProtobufConverter\n  key.converter.schema.registry.url: {REGISTRY}\n  value.converter: protobuf\n  value.converter.schema.registry.url: {REGISTRY}\n  value.converter.optional.for.nullables: true\n"
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 3, &w);
    assert!(w.terminate().success());

    // the message as a Python client declares it (proto3 optional for the nullable
    // scalars; message fields have presence anyway)
    let spec = json!({
        "file": format!("{}.proto", t), "package": "",
        "deps": ["google/protobuf/timestamp.proto", "confluent/type/decimal.proto"],
        "messages": [{"name": t, "fields": [
            ["id", 1, "int32"], ["name", 2, "string"], ["score", 3, "int32", "optional"],
            ["small", 4, "int32", "optional"], ["big", 5, "int64", "optional"],
            ["ratio", 6, "double", "optional"], ["flag", 7, "bool", "optional"],
            ["price", 8, ".confluent.type.Decimal"], ["seen", 9, ".google.protobuf.Timestamp"],
            ["blob", 10, "bytes", "optional"]
        ]}]
    });
    let got: Vec<Json> = py(
        &[
            "read",
            &bootstrap(),
            &topic,
            REGISTRY,
            "3",
            &spec.to_string(),
        ],
        "",
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(
        values,
        vec![
            json!({"id":1,"name":"a","score":1,"small":7,"big":9000000000i64,"ratio":0.5,"flag":true,
                   "price":"12.34","seen":1709296496789i64,"blob":"00ff"}),
            json!({"id":2,"name":"b","score":null,"small":null,"big":null,"ratio":null,"flag":null,
                   "price":null,"seen":null,"blob":null}),
            json!({"id":3,"name":"ç","score":-3,"small":-2,"big":-1,"ratio":-1.25,"flag":false,
                   "price":"-0.01","seen":0,"blob":""}),
        ]
    );
    // one schema for every record, the first message (index [0], the single byte 0)
    let ids: std::collections::BTreeSet<i64> = got
        .iter()
        .map(|r| r["schema_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{:?}", got);
    for r in &got {
        assert_eq!(r["framing_id"], r["schema_id"]);
        assert_eq!(r["indexes"], json!([0]), "{}", r);
        assert_eq!(r["schema_type"], "PROTOBUF");
    }
    let text = got[0]["schema"].as_str().unwrap();
    for want in [
        "syntax = \"proto3\";",
        "import \"google/protobuf/timestamp.proto\";",
        "import \"confluent/type/decimal.proto\";",
        &format!("message {} {{", t),
        "  int32 id = 1;",
        "  string name = 2;",
        "  optional int32 score = 3;",
        "  optional int32 small = 4 [(confluent.field_meta) = { params: [{ key: \"connect.type\", value: \"int16\" }] }];",
        "  optional google.protobuf.Timestamp seen = 9;",
        "  optional bytes blob = 10;",
    ] {
        assert!(text.contains(want), "missing {:?} in\n{}", want, text);
    }
    assert!(
        text.contains("optional confluent.type.Decimal price = 8 [(confluent.field_meta)")
            && text.contains("{ key: \"scale\", value: \"2\" }"),
        "{}",
        text
    );
    // the keys: magic byte, an id, message index [0], then field 1 (id) as a varint
    let keys: Vec<Vec<u8>> = read_all(&topic)
        .into_iter()
        .map(|m| m.key.unwrap())
        .collect();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(k[0], 0, "{:?}", k);
        assert_eq!(&k[5..], &[0, 0x08, i as u8 + 1], "{:?}", k);
    }
    assert_ne!(
        i32::from_be_bytes([keys[0][1], keys[0][2], keys[0][3], keys[0][4]]) as i64,
        *ids.iter().next().unwrap(),
        "keys and values are different subjects"
    );
}

/// Records written by confluent-kafka's ProtobufSerializer (a base64
/// FileDescriptorProto registered without references to the well-known and Confluent
/// types it imports), read by the FileStream sink through ProtobufConverter.
#[test]
fn confluent_protobuf_into_a_file_sink() {
    start_registry();
    let topic = unique("srpbsink");
    create_topic(&topic, 1);
    let file = format!("{}.proto", topic.replace('-', "_"));
    let spec = json!({
        "file": file, "package": "shop.v1",
        "deps": ["google/protobuf/timestamp.proto", "confluent/type/decimal.proto", "confluent/meta.proto"],
        "messages": [{"name": "Order", "fields": [
            ["id", 1, "int64"], ["customer", 2, "string"], ["note", 3, "string", "optional"],
            ["tags", 4, "string", "repeated"], ["attrs", 5, ".shop.v1.Order.AttrsEntry", "repeated"],
            ["ship", 6, ".shop.v1.Address"], ["bill", 7, ".shop.v1.Address"],
            ["at", 8, ".google.protobuf.Timestamp"],
            ["price", 9, ".confluent.type.Decimal", "", {"precision": "10", "scale": "2"}],
            ["weight", 10, "float"], ["delta", 11, "sint32"]
        ], "nested": [{"name": "AttrsEntry", "map_entry": true,
                       "fields": [["key", 1, "string"], ["value", 2, "int32"]]}]},
                     {"name": "Address", "fields": [["city", 1, "string"], ["zip", 2, "int32"]]}]
    });
    let rows = [
        json!({"id": 1, "customer": "ann", "tags": ["x", "y"], "attrs": {"a": 1},
               "ship": {"city": "Oslo", "zip": 150}, "at": {"$ts_ms": 1709296496789i64},
               "price": {"$decimal": "12.34"}, "weight": 1.5, "delta": -7}),
        json!({"id": 2, "customer": "bob", "note": "fragile", "tags": [], "attrs": {},
               "ship": {"city": "Bergen", "zip": 5003}, "bill": {"city": "Lima", "zip": 1},
               "weight": -0.25}),
    ];
    let stdin: String = rows.iter().map(|r| format!("{}\n", r)).collect();
    let n = py(
        &["write", &bootstrap(), &topic, REGISTRY, &spec.to_string()],
        &stdin,
    );
    assert_eq!(n.trim(), "2");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "srpb-sink",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: io.confluent.connect.protobuf.ProtobufConverter\n  value.converter.schema.registry.url: {REGISTRY}\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let got = wait_lines(&out, 2, &w);
    assert!(w.terminate().success());
    let got: Vec<Json> = got
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {}", l, e)))
        .collect();
    // the sink writes a Decimal as a number (scale 2 from the field's
    // (confluent.field_meta): 12.34)
    assert_eq!(
        got,
        vec![
            json!({"id":1,"customer":"ann","note":null,"tags":["x","y"],"attrs":{"a":1},
                   "ship":{"city":"Oslo","zip":150},"bill":null,"at":1709296496789i64,
                   "price":12.34,"weight":1.5,"delta":-7}),
            json!({"id":2,"customer":"bob","note":"fragile","tags":[],"attrs":{},
                   "ship":{"city":"Bergen","zip":5003},"bill":{"city":"Lima","zip":1},
                   "at":null,"price":null,"weight":-0.25,"delta":0}),
        ]
    );
}

fn message_spec(name: &str) -> Json {
    json!({"file": format!("{}.proto", name), "package": "dlq",
           "messages": [{"name": "Good", "fields": [["n", 1, "int32"]]}]})
}

/// Bytes that are not in the wire format, an id the registry does not know and a
/// payload that does not decode are record errors: with errors.tolerance=all they go
/// to the dead letter queue with the reason, and the good records around them are
/// written.
#[test]
fn bad_protobuf_records_go_to_the_dead_letter_queue() {
    start_registry();
    let topic = unique("srpbbad");
    let dlq = format!("{}-dlq", topic);
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    let spec = message_spec(&topic.replace('-', "_")).to_string();
    py(
        &["write", &bootstrap(), &topic, REGISTRY, &spec],
        "{\"n\": 1}\n",
    );
    let good = read_all(&topic)[0].value.clone().unwrap();
    let mut undecodable = good[..5].to_vec();
    undecodable.extend_from_slice(&[0, 0x0a, 0xff, 0x01]);
    let unknown_id: &[u8] = &[0, 0x7f, 0xff, 0xff, 0x00, 0, 0x08, 1];
    produce(
        &topic,
        &[
            (None, Some(b"{\"not\": \"protobuf\"}"), vec![]),
            (None, Some(unknown_id), vec![]),
            (None, Some(&undecodable), vec![]),
        ],
    );
    py(
        &["write", &bootstrap(), &topic, REGISTRY, &spec],
        "{\"n\": 2}\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "srpb-bad",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: io.confluent.connect.protobuf.ProtobufConverter\n  value.converter.schema.registry.url: {REGISTRY}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.context.headers.enable: true\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let got = wait_lines(&out, 2, &w);
    assert_eq!(got, vec!["{\"n\":1}", "{\"n\":2}"]);
    wait_for("three dead letters", Duration::from_secs(30), || {
        end_offset(&dlq) >= 3
    });
    assert!(w.terminate().success());
    let dead = read_all(&dlq);
    assert_eq!(dead.len(), 3);
    assert_eq!(
        dead[0].value.as_deref(),
        Some(&b"{\"not\": \"protobuf\"}"[..])
    );
    let why = |i: usize| {
        dead[i]
            .header("__connect.errors.exception.message")
            .unwrap()
    };
    assert!(why(0).contains("unknown magic byte 123"), "{}", why(0));
    assert!(
        why(1).contains("schema id 2147483392 is not in the registry"),
        "{}",
        why(1)
    );
    assert!(
        why(2).contains("the Protobuf data does not match its schema")
            && why(2).contains("dlq.Good"),
        "{}",
        why(2)
    );
    assert_eq!(dead[2].value.as_deref(), Some(&undecodable[..]));
    for m in &dead {
        assert_eq!(
            m.header("__connect.errors.class.name").as_deref(),
            Some("io.confluent.connect.protobuf.ProtobufConverter")
        );
    }
}

/// A registry that cannot be reached is not the record's fault: the sink retries for
/// errors.retry.timeout and fails, with nothing dead-lettered or written.
#[test]
fn unreachable_registry_is_retriable() {
    let topic = unique("srpbdown");
    let dlq = format!("{}-dlq", topic);
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    produce(
        &topic,
        &[(None, Some(&[0, 0, 0, 0, 1, 0, 0x08, 1][..]), vec![])],
    );
    let down = format!("http://127.0.0.1:{}/apis/ccompat/v7", free_port());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let c = write_connector(
        d,
        "srpb-down",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: protobuf\n  value.converter.schema.registry.url: {down}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.retry.timeout: 1000\n  errors.retry.delay.max.ms: 300\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let deadline = Instant::now() + Duration::from_secs(60);
    let trace = loop {
        let r = api.get("/connectors/srpb-down/status");
        if r.status == 200 && r.body["tasks"][0]["state"] == "FAILED" {
            break r.body["tasks"][0]["trace"]
                .as_str()
                .unwrap_or("")
                .to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the task did not fail: {}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(w.terminate().success());
    assert!(trace.contains(&down), "{}", trace);
    assert!(trace.contains("neither skipped nor sent"), "{}", trace);
    assert!(
        trace.contains("VALUE_CONVERTER") && trace.contains("retriable"),
        "{}",
        trace
    );
    assert_eq!(end_offset(&dlq), 0, "nothing goes to the dead letter queue");
    assert!(!out.exists() || lines(&out).is_empty());
}

/// `use.latest.version=true` with `auto.register.schemas=false`: the JDBC source writes
/// with the schema confluent-kafka's ProtobufSerializer registered (a base64
/// descriptor), so every record, Python's and Sluice's, has the same schema id.
#[test]
fn use_latest_version_writes_with_the_registered_schema() {
    start_registry();
    let t = unique("srpblatest").replace('-', "_");
    Pg::connect().exec(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, name text NOT NULL);
         INSERT INTO {t} VALUES (2, 'b'), (3, 'c');"
    ));
    let prefix = format!("{}-", unique("srpl"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let spec = json!({
        "file": format!("{}.proto", t), "package": "latest",
        "messages": [{"name": "Row", "fields": [["id", 1, "int32"], ["name", 2, "string"]]}]
    });
    py(
        &["write", &bootstrap(), &topic, REGISTRY, &spec.to_string()],
        "{\"id\": 1, \"name\": \"a\"}\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        &t,
        &format!(
            "  connector.class: jdbc-source\n  connection.url: \"{PG_URL}\"\n  poll.interval.ms: 300\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  key.converter: string\n  value.converter: protobuf\n  value.converter.schema.registry.url: {REGISTRY}\n  value.converter.auto.register.schemas: false\n  value.converter.use.latest.version: true\n"
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 3, &w);
    assert!(w.terminate().success());
    let got: Vec<Json> = py(
        &[
            "read",
            &bootstrap(),
            &topic,
            REGISTRY,
            "3",
            &spec.to_string(),
        ],
        "",
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(
        values,
        vec![
            json!({"id": 1, "name": "a"}),
            json!({"id": 2, "name": "b"}),
            json!({"id": 3, "name": "c"}),
        ]
    );
    assert!(
        got.iter().all(|r| r["schema_id"] == got[0]["schema_id"]),
        "{:?}",
        got
    );
    assert!(!got[0]["schema"].as_str().unwrap().contains("message"));
}
