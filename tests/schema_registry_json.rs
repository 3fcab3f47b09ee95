//! Confluent's `JsonSchemaConverter` against a real Confluent-compatible registry
//! (Apicurio Registry 3.0.9, `scripts/stack.sh start-registry`, Confluent's API under
//! /apis/ccompat/v7) and the real broker, checked with confluent-kafka's own
//! `JSONSerializer` / `JSONDeserializer` (`tests/python/schema_registry_json.py`).

mod common;
#[path = "common/registry.rs"]
mod registry;

use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use registry::*;
use serde_json::{json, Value as Json};

const CLASS: &str = "io.confluent.connect.json.JsonSchemaConverter";

fn py(args: &[&str], stdin: &str) -> String {
    run_python("schema_registry_json.py", args, stdin, &[])
}

fn read_json(topic: &str, n: usize) -> Vec<Json> {
    py(
        &["read-json", &bootstrap(), topic, REGISTRY, &n.to_string()],
        "",
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

fn write_json(topic: &str, schema: &Json, rows: &[Json]) {
    let stdin: String = rows.iter().map(|r| format!("{}\n", r)).collect();
    let n = py(
        &[
            "write-json",
            &bootstrap(),
            topic,
            REGISTRY,
            &schema.to_string(),
        ],
        &stdin,
    );
    assert_eq!(n.trim(), rows.len().to_string());
}

/// The latest schema of `subject` (its type and parsed text).
fn latest(subject: &str) -> (String, Json) {
    let j: Json = serde_json::from_str(py(&["latest", REGISTRY, subject], "").trim()).unwrap();
    (
        j["schemaType"].as_str().unwrap_or("").to_string(),
        serde_json::from_str(j["schema"].as_str().unwrap()).unwrap(),
    )
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

/// Rows of a PostgreSQL table with most column types (optional ones, a Decimal, a Date
/// and a Timestamp) through the JDBC source and JsonSchemaConverter (keys and values),
/// read back by confluent-kafka's JSONDeserializer, which also validates each value
/// against the schema Sluice registered.
#[test]
fn jdbc_source_writes_json_schema_that_confluent_reads() {
    start_registry();
    let t = unique("srjson").replace('-', "_");
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
    let prefix = format!("{}-", unique("srj"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        &t,
        &format!(
            "  connector.class: jdbc-source\n  connection.url: \"{PG_URL}\"\n  poll.interval.ms: 300\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  key.converter: {CLASS}\n  key.converter.schema.registry.url: {REGISTRY}\n  value.converter: json-schema\n  value.converter.schema.registry.url: {REGISTRY}\n  value.converter.json.fail.invalid.schema: true\n"
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 3, &w);
    pg_exec(&format!("INSERT INTO {t} (name) VALUES ('d');"));
    wait_records(&topic, 4, &w);
    assert!(w.terminate().success());

    let got = read_json(&topic, 4);
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    let nulls = |id: i64, name: &str| {
        json!({"id":id,"name":name,"score":null,"small":null,"big":null,"ratio":null,
               "flag":null,"price":null,"born":null,"seen":null,"blob":null})
    };
    assert_eq!(
        values,
        vec![
            // price 12.34: the unscaled 1234 as base64 of its bytes (Connect's Decimal);
            // born: days since the epoch; seen: epoch milliseconds
            json!({"id":1,"name":"a","score":1,"small":7,"big":9000000000i64,"ratio":0.5,"flag":true,
                   "price":"BNI=","born":19782,"seen":1709296496789i64,"blob":"AP8="}),
            nulls(2, "b"),
            json!({"id":3,"name":"ç","score":-3,"small":-2,"big":-1,"ratio":-1.25,"flag":false,
                   "price":"/w==","born":-1,"seen":0,"blob":""}),
            nulls(4, "d"),
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
    let ids: std::collections::BTreeSet<i64> = got
        .iter()
        .map(|r| r["value_schema_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one value schema for every record: {:?}", got);

    let (kind, schema) = latest(&format!("{}-value", topic));
    assert_eq!(kind, "JSON");
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["title"], t.as_str());
    let p = &schema["properties"];
    assert_eq!(
        p["id"],
        json!({"type":"integer","connect.type":"int32","connect.index":0})
    );
    assert_eq!(p["name"], json!({"type":"string","connect.index":1}));
    assert_eq!(
        p["score"],
        json!({"oneOf":[{"type":"null"},{"type":"integer","connect.type":"int32"}],"connect.index":2})
    );
    assert_eq!(p["small"]["oneOf"][1]["connect.type"], "int16");
    assert_eq!(p["ratio"]["oneOf"][1]["connect.type"], "float64");
    let price = &p["price"]["oneOf"][1];
    assert_eq!(price["type"], "string");
    assert_eq!(price["title"], "org.apache.kafka.connect.data.Decimal");
    assert_eq!(price["connect.type"], "bytes");
    assert_eq!(price["connect.parameters"]["scale"], "2");
    assert_eq!(
        p["born"]["oneOf"][1]["title"],
        "org.apache.kafka.connect.data.Date"
    );
    assert_eq!(
        p["seen"]["oneOf"][1]["title"],
        "org.apache.kafka.connect.data.Timestamp"
    );
    let (kind, key_schema) = latest(&format!("{}-key", topic));
    assert_eq!(kind, "JSON");
    assert_eq!(key_schema["type"], "object");

    // Sluice reads back what it wrote: the FileStream sink through the same converter
    // (it prints structs as JSON: the same values confluent-kafka read)
    let dir2 = tempfile::tempdir().unwrap();
    let out = dir2.path().join("out.txt");
    let worker = worker_yaml(dir2.path(), free_port(), "");
    let c = write_connector(
        dir2.path(),
        "srj-back",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  key.converter: {CLASS}\n  key.converter.schema.registry.url: {REGISTRY}\n  value.converter: {CLASS}\n  value.converter.schema.registry.url: {REGISTRY}\n  value.converter.json.fail.invalid.schema: true\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(dir2.path(), &worker, &[&c]);
    let back = wait_lines(&out, 4, &w);
    assert!(w.terminate().success());
    let back: Vec<Json> = back
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {}", l, e)))
        .collect();
    // The file sink prints a Decimal as a number (Connect prints BigDecimal's text);
    // confluent-kafka read it as base64 of the unscaled two's-complement bytes, scale 2.
    let values: Vec<Json> = values
        .into_iter()
        .map(|mut v| {
            if let Some(b64) = v["price"].as_str() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                let unscaled = bytes
                    .iter()
                    .fold(if bytes[0] & 0x80 != 0 { -1i64 } else { 0 }, |acc, b| {
                        (acc << 8) | i64::from(*b)
                    });
                v["price"] = serde_json::json!(unscaled as f64 / 100.0);
            }
            v
        })
        .collect();
    assert_eq!(back, values);
}

/// Records written by confluent-kafka's JSONSerializer with a schema written by hand
/// (no connect.* properties), read by the FileStream sink through JsonSchemaConverter;
/// with use.optional.for.nonrequired the properties outside `required` are optional.
#[test]
fn confluent_json_into_a_file_sink() {
    start_registry();
    let topic = unique("srjsink");
    create_topic(&topic, 1);
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Order",
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "customer": {"type": "string"},
            "note": {"type": ["string", "null"]},
            "weight": {"type": "number"},
            "paid": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "attrs": {"type": "object", "properties": {"color": {"type": "string"}}},
            "ship": {"$ref": "#/definitions/Address"}
        },
        "required": ["id", "customer"],
        "definitions": {
            "Address": {"type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
                "required": ["city"]}
        }
    });
    write_json(
        &topic,
        &schema,
        &[
            json!({"id": 1, "customer": "ann", "note": null, "weight": 1.5, "paid": true,
                   "tags": ["x", "y"], "attrs": {"color": "red"}, "ship": {"city": "Oslo", "zip": 150}}),
            json!({"id": 2, "customer": "bob", "note": "fragile", "weight": -0.25, "paid": false,
                   "tags": [], "ship": {"city": "Bergen"}}),
            json!({"id": 3, "customer": "çé"}),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "srj-sink",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: {CLASS}\n  value.converter.schema.registry.url: {REGISTRY}\n  value.converter.use.optional.for.nonrequired: true\n  value.converter.json.fail.invalid.schema: true\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let got = wait_lines(&out, 3, &w);
    assert!(w.terminate().success());
    let got: Vec<Json> = got
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {}", l, e)))
        .collect();
    assert_eq!(
        got,
        vec![
            json!({"id":1,"customer":"ann","note":null,"weight":1.5,"paid":true,"tags":["x","y"],
                   "attrs":{"color":"red"},"ship":{"city":"Oslo","zip":150}}),
            json!({"id":2,"customer":"bob","note":"fragile","weight":-0.25,"paid":false,"tags":[],
                   "attrs":null,"ship":{"city":"Bergen","zip":null}}),
            json!({"id":3,"customer":"çé","note":null,"weight":null,"paid":null,"tags":null,
                   "attrs":null,"ship":null}),
        ]
    );
    // the fields keep the schema's order, whatever order the JSON text had
    let l = lines(&out);
    assert!(
        l[0].starts_with("{\"id\":1,\"customer\":\"ann\",\"note\""),
        "{}",
        l[0]
    );
}

/// Bytes that are not in the wire format, an id the registry does not know and JSON
/// that does not fit its schema are record errors: with errors.tolerance=all they go to
/// the dead letter queue with the reason, and the good records around them are written.
#[test]
fn bad_bytes_go_to_the_dead_letter_queue() {
    start_registry();
    let topic = unique("srjbad");
    let dlq = format!("{}-dlq", topic);
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    let schema = json!({"type":"object","title":"Good","properties":{"n":{"type":"integer"}},"required":["n"]});
    write_json(&topic, &schema, &[json!({"n": 1})]);
    // the id JSONSerializer registered, for a record whose JSON does not fit it
    let first = read_json(&topic, 1);
    let id = first[0]["value_schema_id"].as_i64().unwrap() as u32;
    let mut misfit = vec![0u8];
    misfit.extend_from_slice(&id.to_be_bytes());
    misfit.extend_from_slice(b"{\"n\": \"one\"}");
    let unknown_id: &[u8] = &[0, 0x7f, 0xff, 0xff, 0x00, b'{', b'}'];
    produce(
        &topic,
        &[
            (None, Some(b"{\"n\": 5}"), vec![]),
            (None, Some(unknown_id), vec![]),
            (None, Some(&misfit), vec![]),
        ],
    );
    write_json(&topic, &schema, &[json!({"n": 2})]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "srj-bad",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: {CLASS}\n  value.converter.schema.registry.url: {REGISTRY}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.context.headers.enable: true\n",
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
    assert_eq!(dead[0].value.as_deref(), Some(&b"{\"n\": 5}"[..]));
    let why = |i: usize| {
        dead[i]
            .header("__connect.errors.exception.message")
            .unwrap()
    };
    assert!(why(0).contains("unknown magic byte 123"), "{}", why(0));
    assert!(
        why(1).contains("schema id 2147483392") && why(1).contains("127.0.0.1:8081"),
        "{}",
        why(1)
    );
    assert!(
        why(2).contains("field n") && why(2).contains(&format!("id {}", id)),
        "{}",
        why(2)
    );
    for d in &dead {
        assert_eq!(
            d.header("__connect.errors.class.name").as_deref(),
            Some(CLASS)
        );
    }
}

/// use.latest.version with auto.register.schemas=false writes with the subject's latest
/// schema (registered by confluent-kafka); json.fail.invalid.schema=true makes a value
/// that breaks it (too long for maxLength) a record error, skipped with
/// errors.tolerance=all, while the others are written under that schema's id.
#[test]
fn latest_version_and_invalid_values() {
    start_registry();
    let topic = unique("srjlatest");
    create_topic(&topic, 1);
    // Apicurio recognises a JSON Schema that is not an object only by its $schema
    let schema = json!({"$schema": "http://json-schema.org/draft-07/schema#",
                        "type": "string", "maxLength": 5});
    write_json(&topic, &schema, &[json!("abc")]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.txt");
    std::fs::write(&input, "short\nmuch too long\nok\n").unwrap();
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "srj-latest",
        &format!(
            "  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n  value.converter: jsonschema\n  value.converter.schema.registry.url: {REGISTRY}\n  value.converter.auto.register.schemas: false\n  value.converter.use.latest.version: true\n  value.converter.json.fail.invalid.schema: true\n  errors.tolerance: all\n  errors.log.enable: true\n",
            input.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 3, &w);
    std::thread::sleep(Duration::from_secs(2));
    assert!(w.terminate().success());
    assert_eq!(end_offset(&topic), 3, "the long line is not written");
    let got = read_json(&topic, 3);
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(values, vec![json!("abc"), json!("short"), json!("ok")]);
    let ids: std::collections::BTreeSet<i64> = got
        .iter()
        .map(|r| r["value_schema_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{:?}", got);
    let log = w.log_text();
    assert!(
        log.contains("does not match its JSON Schema") && log.contains("length 13"),
        "{}",
        tail(&log)
    );
}

/// A registry that cannot be reached is not the records' fault: the sink retries for
/// errors.retry.timeout and then fails with the registry's URL in its trace; nothing
/// goes to the dead letter queue or the file.
#[test]
fn unreachable_registry_is_retriable() {
    start_registry();
    let topic = unique("srjdown");
    let dlq = format!("{}-dlq", topic);
    create_topic(&topic, 1);
    create_topic(&dlq, 1);
    let schema = json!({"type":"object","properties":{"n":{"type":"integer"}}});
    write_json(&topic, &schema, &[json!({"n": 1})]);
    let down = format!("http://127.0.0.1:{}/apis/ccompat/v7", free_port());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.txt");
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let c = write_connector(
        d,
        "srj-down",
        &format!(
            "  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: {CLASS}\n  value.converter.schema.registry.url: {down}\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.retry.timeout: 1500\n  errors.retry.delay.max.ms: 300\n",
            out.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let deadline = Instant::now() + Duration::from_secs(60);
    let trace = loop {
        let r = api.get("/connectors/srj-down/status");
        if r.status == 200 && r.body["tasks"][0]["state"] == "FAILED" {
            break r.body["tasks"][0]["trace"]
                .as_str()
                .unwrap_or("")
                .to_string();
        }
        assert!(Instant::now() < deadline, "task did not fail: {}", r.body);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(w.terminate().success());
    assert!(
        trace.contains(&down) && trace.contains("retriable"),
        "{}",
        trace
    );
    assert_eq!(end_offset(&dlq), 0, "nothing goes to the dead letter queue");
    assert!(!out.exists() || lines(&out).is_empty());
}

/// RecordNameStrategy names the subject after the struct's name (its JSON Schema
/// `title`): lines of a file, made structs named `shop.Line` by HoistField and
/// SetSchemaMetadata, are registered under the subject `shop.Line<unique>` and read by
/// confluent-kafka.
#[test]
fn record_name_strategy_uses_the_struct_name() {
    start_registry();
    let topic = unique("srjrecord");
    let name = format!("shop.Line{}", unique("x").replace('-', ""));
    create_topic(&topic, 1);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.txt");
    std::fs::write(&input, "one\ntwo\n").unwrap();
    let worker = worker_yaml(d, free_port(), "");
    let c = write_connector(
        d,
        "srj-record",
        &format!(
            "  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n  transforms: wrap,meta\n  transforms.wrap.type: HoistField$Value\n  transforms.wrap.field: line\n  transforms.meta.type: SetSchemaMetadata$Value\n  transforms.meta.schema.name: {name}\n  value.converter: {CLASS}\n  value.converter.schema.registry.url: {REGISTRY}\n  value.converter.value.subject.name.strategy: io.confluent.kafka.serializers.subject.RecordNameStrategy\n",
            input.display()
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 2, &w);
    assert!(w.terminate().success());
    let got = read_json(&topic, 2);
    let values: Vec<Json> = got.iter().map(|r| r["value"].clone()).collect();
    assert_eq!(values, vec![json!({"line": "one"}), json!({"line": "two"})]);
    let (kind, schema) = latest(&name);
    assert_eq!(kind, "JSON");
    assert_eq!(schema["title"], name.as_str());
    assert_eq!(
        schema["properties"]["line"],
        json!({"type": "string", "connect.index": 0})
    );
}
