//! MongoDB sink CDC handlers end to end (`change.data.capture.handler`): change events
//! shaped as Debezium (MongoDB 1.x `patch` events, MongoDB 2.x change stream events,
//! PostgreSQL) and the MongoDB source connector (change stream documents) write them,
//! produced to the test broker, replayed by the real `sluice` binary into SecantusDB
//! (MongoDB protocol) on 127.0.0.1:27017, and checked with the `mongodb` crate.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use serde_json::{json, Value};

const DB: &str = "sluice_cdc_test";

fn mongo_uri() -> String {
    std::env::var("SLUICE_TEST_MONGODB").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
}

/// Every document of a collection, sorted by `_id`.
fn docs(coll: &str) -> Vec<Document> {
    block_on(async {
        use futures::TryStreamExt;
        let c = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let cur = c
            .database(DB)
            .collection::<Document>(coll)
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .unwrap();
        cur.try_collect().await.unwrap()
    })
}

/// Writes a connector config with `extra` lines (`key: value`) under `config:`.
fn sink(dir: &Path, name: &str, topic: &str, coll: &str, extra: &[&str]) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    let mut s = format!(
        "name: {name}\nconfig:\n  connector.class: com.mongodb.kafka.connect.MongoSinkConnector\n  topics: {topic}\n  connection.uri: {}\n  database: {DB}\n  collection: {coll}\n",
        mongo_uri()
    );
    for l in extra {
        s.push_str(&format!("  {}\n", l));
    }
    std::fs::write(&p, s).unwrap();
    p
}

/// Produces (key, value) JSON pairs; `None` value = tombstone.
fn produce_events(topic: &str, events: &[(Value, Option<Value>)]) {
    let bytes: Vec<(Vec<u8>, Option<Vec<u8>>)> = events
        .iter()
        .map(|(k, v)| {
            (
                serde_json::to_vec(k).unwrap(),
                v.as_ref().map(|v| serde_json::to_vec(v).unwrap()),
            )
        })
        .collect();
    let msgs: Vec<Outgoing<'_>> = bytes
        .iter()
        .map(|(k, v)| (Some(k.as_slice()), v.as_deref(), vec![]))
        .collect();
    produce(topic, &msgs);
}

/// Waits until `check` holds for the documents of `coll`.
fn wait_docs(coll: &str, what: &str, check: impl Fn(&[Document]) -> bool) -> Vec<Document> {
    let mut last = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        last = docs(coll);
        if check(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{}: {} has {:?}", what, coll, last);
}

fn oid(i: u8) -> ObjectId {
    ObjectId::parse_str(format!("5f1e2d3c4b5a69788796a5{:02x}", i)).unwrap()
}

/// The Debezium MongoDB key: the `_id` as (strict mode) Extended JSON in a string.
fn dbz_mongo_key(i: u8, with_schema: bool) -> Value {
    let payload = json!({"id": format!("{{\"$oid\" : \"{}\"}}", oid(i).to_hex())});
    if !with_schema {
        return payload;
    }
    json!({"schema": {"type": "struct", "optional": false, "name": "dbserver1.inventory.customers.Key",
        "fields": [{"type": "string", "optional": false, "field": "id"}]},
        "payload": payload})
}

fn dbz_mongo_source() -> Value {
    json!({"version": "1.9.7.Final", "connector": "mongodb", "name": "dbserver1", "ts_ms": 1_700_000_000_000i64,
        "snapshot": "false", "db": "inventory", "rs": "rs0", "collection": "customers", "ord": 1, "h": null, "tord": null, "stxnid": null})
}

/// A Debezium 1.x MongoDB event (JsonConverter with schemas): `after` for c/r,
/// `patch` for u, neither for d.
fn dbz1_event(op: &str, after: Option<String>, patch: Option<String>) -> Value {
    let json_field = |f: &str| json!({"type": "string", "optional": true, "name": "io.debezium.data.Json", "version": 1, "field": f});
    json!({"schema": {"type": "struct", "optional": false, "name": "dbserver1.inventory.customers.Envelope", "fields": [
            json_field("after"), json_field("patch"), json_field("filter"),
            {"type": "struct", "optional": false, "name": "io.debezium.connector.mongo.Source", "field": "source", "fields": [
                {"type": "string", "optional": false, "field": "version"},
                {"type": "string", "optional": false, "field": "connector"},
                {"type": "string", "optional": false, "field": "name"},
                {"type": "int64", "optional": false, "field": "ts_ms"},
                {"type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1, "parameters": {"allowed": "true,last,false,incremental"}, "default": "false", "field": "snapshot"},
                {"type": "string", "optional": false, "field": "db"},
                {"type": "string", "optional": false, "field": "rs"},
                {"type": "string", "optional": false, "field": "collection"},
                {"type": "int32", "optional": false, "field": "ord"},
                {"type": "int64", "optional": true, "field": "h"},
                {"type": "int64", "optional": true, "field": "tord"},
                {"type": "string", "optional": true, "field": "stxnid"}]},
            {"type": "string", "optional": true, "field": "op"},
            {"type": "int64", "optional": true, "field": "ts_ms"}]},
        "payload": {"after": after, "patch": patch, "filter": null, "source": dbz_mongo_source(), "op": op, "ts_ms": 1_700_000_000_123i64}})
}

/// A Debezium 2.x MongoDB event (change streams capture mode, schemaless JSON).
fn dbz2_event(op: &str, after: Option<String>, update: Option<Value>) -> Value {
    json!({"before": null, "after": after, "updateDescription": update, "source": dbz_mongo_source(), "op": op,
        "ts_ms": 1_700_000_000_123i64, "transaction": null})
}

/// `after` as Debezium writes it: relaxed Extended JSON of the document.
fn mongo_doc_json(i: u8, name: &str, visits: i64) -> String {
    format!(
        "{{\"_id\": {{\"$oid\": \"{}\"}}, \"name\": \"{}\", \"visits\": {{\"$numberLong\": \"{}\"}}, \"tags\": [\"a\", \"b\"]}}",
        oid(i).to_hex(),
        name,
        visits
    )
}

#[test]
fn debezium_mongodb_events_of_1x_and_2x_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Debezium 1.x (MongoDbHandler): inserts, a $set patch, a whole-document patch, a
    // delete and its tombstone, a snapshot read.
    let t1 = unique("dbz1-mongo");
    create_topic(&t1, 1);
    let c1 = unique("dbz1");
    let k = |i| dbz_mongo_key(i, true);
    produce_events(
        &t1,
        &[
            (k(1), Some(dbz1_event("c", Some(mongo_doc_json(1, "ann", 1)), None))),
            (k(2), Some(dbz1_event("c", Some(mongo_doc_json(2, "bob", 1)), None))),
            (k(3), Some(dbz1_event("r", Some(mongo_doc_json(3, "cid", 7)), None))),
            (
                k(1),
                Some(dbz1_event(
                    "u",
                    None,
                    Some(r#"{"$v" : 1, "$set" : {"name" : "ann marie"}, "$unset" : {"tags" : true}}"#.into()),
                )),
            ),
            (
                k(2),
                Some(dbz1_event("u", None, Some(mongo_doc_json(2, "bobby", 2)))),
            ),
            (k(3), Some(dbz1_event("d", None, None))),
            (k(3), None),
        ],
    );
    // Debezium 2.x (debezium.mongodb.ChangeStreamHandler), schemaless: the full
    // document in `after` for updates.
    let t2 = unique("dbz2-mongo");
    create_topic(&t2, 1);
    let c2 = unique("dbz2");
    let k2 = |i| dbz_mongo_key(i, false);
    produce_events(
        &t2,
        &[
            (
                k2(1),
                Some(dbz2_event("r", Some(mongo_doc_json(1, "ann", 1)), None)),
            ),
            (
                k2(2),
                Some(dbz2_event("c", Some(mongo_doc_json(2, "bob", 1)), None)),
            ),
            (
                k2(1),
                Some(dbz2_event(
                    "u",
                    Some(mongo_doc_json(1, "ann", 2)),
                    Some(
                        json!({"removedFields": null, "updatedFields": "{\"visits\": 2}", "truncatedArrays": null}),
                    ),
                )),
            ),
            (k2(2), Some(dbz2_event("d", None, None))),
            (k2(2), None),
        ],
    );
    let json_conv = |schemas: bool| {
        vec![
            "key.converter: org.apache.kafka.connect.json.JsonConverter".to_string(),
            format!("key.converter.schemas.enable: {}", schemas),
            "value.converter: org.apache.kafka.connect.json.JsonConverter".to_string(),
            format!("value.converter.schemas.enable: {}", schemas),
        ]
    };
    let mut e1 = json_conv(true);
    e1.push("change.data.capture.handler: com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.MongoDbHandler".into());
    let mut e2 = json_conv(false);
    e2.push("change.data.capture.handler: com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler".into());
    let r1: Vec<&str> = e1.iter().map(String::as_str).collect();
    let r2: Vec<&str> = e2.iter().map(String::as_str).collect();
    let f1 = sink(d, &unique("m-dbz1"), &t1, &c1, &r1);
    let f2 = sink(d, &unique("m-dbz2"), &t2, &c2, &r2);
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&f1, &f2]);
    let got1 = wait_docs(&c1, "Debezium 1.x", |all| {
        all.len() == 2 && all[1].get_str("name") == Ok("bobby")
    });
    let got2 = wait_docs(&c2, "Debezium 2.x", |all| {
        all.len() == 1 && all[0].get_i64("visits") == Ok(2)
    });
    // Let any late write land, then check the whole contents.
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    assert_eq!(got1, docs(&c1));
    assert_eq!(
        got1,
        vec![
            // $set applied, $unset applied, other fields kept.
            doc! {"_id": oid(1), "name": "ann marie", "visits": 1_i64},
            // Replaced by the whole document of the patch.
            doc! {"_id": oid(2), "name": "bobby", "visits": 2_i64, "tags": ["a", "b"]},
        ]
    );
    assert_eq!(got2, docs(&c2));
    assert_eq!(
        got2,
        vec![doc! {"_id": oid(1), "name": "ann", "visits": 2_i64, "tags": ["a", "b"]}]
    );
}

/// A Debezium PostgreSQL event for table `public.customers (id int primary key, name
/// text, email text)` (JsonConverter with schemas).
fn pg_event(
    op: &str,
    before: Option<(i32, &str, Option<&str>)>,
    after: Option<(i32, &str, Option<&str>)>,
) -> Value {
    let row = |r: Option<(i32, &str, Option<&str>)>| match r {
        Some((id, name, email)) => json!({"id": id, "name": name, "email": email}),
        None => Value::Null,
    };
    let value_fields = json!([
        {"type": "int32", "optional": false, "default": 0, "field": "id"},
        {"type": "string", "optional": true, "field": "name"},
        {"type": "string", "optional": true, "field": "email"}]);
    json!({"schema": {"type": "struct", "optional": false, "name": "pg.public.customers.Envelope", "version": 1, "fields": [
            {"type": "struct", "optional": true, "name": "pg.public.customers.Value", "field": "before", "fields": value_fields},
            {"type": "struct", "optional": true, "name": "pg.public.customers.Value", "field": "after", "fields": value_fields},
            {"type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source", "fields": [
                {"type": "string", "optional": false, "field": "version"},
                {"type": "string", "optional": false, "field": "connector"},
                {"type": "string", "optional": false, "field": "name"},
                {"type": "int64", "optional": false, "field": "ts_ms"},
                {"type": "string", "optional": false, "field": "db"},
                {"type": "string", "optional": false, "field": "schema"},
                {"type": "string", "optional": false, "field": "table"},
                {"type": "int64", "optional": true, "field": "txId"},
                {"type": "int64", "optional": true, "field": "lsn"}]},
            {"type": "string", "optional": false, "field": "op"},
            {"type": "int64", "optional": true, "field": "ts_ms"}]},
        "payload": {"before": row(before), "after": row(after),
            "source": {"version": "2.5.0.Final", "connector": "postgresql", "name": "pg", "ts_ms": 1_700_000_000_000i64,
                "db": "shop", "schema": "public", "table": "customers", "txId": 771, "lsn": 24023128},
            "op": op, "ts_ms": 1_700_000_000_123i64}})
}

fn pg_key(id: i32) -> Value {
    json!({"schema": {"type": "struct", "optional": false, "name": "pg.public.customers.Key",
        "fields": [{"type": "int32", "optional": false, "default": 0, "field": "id"}]},
        "payload": {"id": id}})
}

#[test]
fn debezium_postgres_and_mongodb_change_stream_events_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Debezium PostgreSQL: snapshot reads, an insert, updates, a delete and its
    // tombstone, and a schema change event without op (skipped).
    let t1 = unique("dbz-pg");
    create_topic(&t1, 1);
    produce_events(
        &t1,
        &[
            (
                pg_key(1),
                Some(pg_event("r", None, Some((1, "ann", Some("a@x"))))),
            ),
            (pg_key(2), Some(pg_event("r", None, Some((2, "bob", None))))),
            (
                pg_key(3),
                Some(pg_event("c", None, Some((3, "cid", Some("c@x"))))),
            ),
            (
                pg_key(1),
                Some(pg_event(
                    "u",
                    Some((1, "ann", Some("a@x"))),
                    Some((1, "ann", None)),
                )),
            ),
            (
                pg_key(3),
                Some(pg_event("d", Some((3, "cid", Some("c@x"))), None)),
            ),
            (pg_key(3), None),
        ],
    );
    let pg_colls = [unique("pg"), unique("pg-nonull")];
    // MongoDB change stream events as the MongoDB source connector publishes them
    // (a JSON string, StringConverter).
    let t2 = unique("mongo-cs");
    create_topic(&t2, 1);
    let ev = |op: &str, id: i32, extra: Value| {
        let mut v = json!({"_id": {"_data": format!("8264{}", id)}, "operationType": op,
            "clusterTime": {"$timestamp": {"t": 1_700_000_000u32, "i": 1}},
            "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": id}});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        (json!({"_id": {"_data": format!("8264{}", id)}}), Some(v))
    };
    produce_events(
        &t2,
        &[
            ev(
                "insert",
                1,
                json!({"fullDocument": {"_id": 1, "item": "pen", "qty": 5, "note": "x"}}),
            ),
            ev(
                "insert",
                2,
                json!({"fullDocument": {"_id": 2, "item": "ink", "qty": 1}}),
            ),
            ev(
                "insert",
                3,
                json!({"fullDocument": {"_id": 3, "item": "pad", "qty": 2}}),
            ),
            ev(
                "update",
                1,
                json!({"updateDescription": {"updatedFields": {"qty": 6}, "removedFields": ["note"], "truncatedArrays": []}}),
            ),
            ev(
                "replace",
                2,
                json!({"fullDocument": {"_id": 2, "item": "ink", "qty": 9, "color": "blue"}}),
            ),
            ev("delete", 3, json!({})),
            (
                json!({"_id": {"_data": "82dr"}}),
                Some(
                    json!({"_id": {"_data": "82dr"}, "operationType": "drop", "ns": {"db": "shop", "coll": "other"}}),
                ),
            ),
        ],
    );
    let cs_coll = unique("cs");
    let pg_extra = |remove_nulls: bool| {
        vec![
            "key.converter: org.apache.kafka.connect.json.JsonConverter".to_string(),
            "value.converter: org.apache.kafka.connect.json.JsonConverter".to_string(),
            "change.data.capture.handler: com.mongodb.kafka.connect.sink.cdc.debezium.rdbms.postgres.PostgresHandler".to_string(),
            format!("change.data.capture.handler.remove.null.values: {}", remove_nulls),
        ]
    };
    let mut files = Vec::new();
    for (coll, remove) in pg_colls.iter().zip([false, true]) {
        let e = pg_extra(remove);
        let r: Vec<&str> = e.iter().map(String::as_str).collect();
        files.push(sink(d, &unique("m-pg"), &t1, coll, &r));
    }
    files.push(sink(
        d,
        &unique("m-cs"),
        &t2,
        &cs_coll,
        &["change.data.capture.handler: com.mongodb.kafka.connect.sink.cdc.mongodb.ChangeStreamHandler"],
    ));
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &paths);
    for coll in &pg_colls {
        wait_docs(coll, "Debezium PostgreSQL", |all| {
            all.len() == 2 && all[0].get_str("email") != Ok("a@x")
        });
    }
    wait_docs(&cs_coll, "change stream", |all| {
        all.len() == 2 && all[0].get_i32("qty") == Ok(6) && all[1].get_i32("qty") == Ok(9)
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    // The key columns become the _id; the other columns of `after` the fields.
    assert_eq!(
        docs(&pg_colls[0]),
        vec![
            doc! {"_id": {"id": 1}, "name": "ann", "email": Bson::Null},
            doc! {"_id": {"id": 2}, "name": "bob", "email": Bson::Null},
        ]
    );
    // change.data.capture.handler.remove.null.values: the null columns are left out.
    assert_eq!(
        docs(&pg_colls[1]),
        vec![
            doc! {"_id": {"id": 1}, "name": "ann"},
            doc! {"_id": {"id": 2}, "name": "bob"},
        ]
    );
    assert_eq!(
        docs(&cs_coll),
        vec![
            doc! {"_id": 1, "item": "pen", "qty": 6},
            doc! {"_id": 2, "item": "ink", "qty": 9, "color": "blue"},
        ]
    );
}

#[test]
fn a_malformed_change_event_fails_the_task_naming_the_record_or_goes_to_the_dlq() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let topic = unique("dbz-bad");
    create_topic(&topic, 1);
    // An event without op, between two good ones.
    let k = |i| dbz_mongo_key(i, false);
    produce_events(
        &topic,
        &[
            (
                k(1),
                Some(dbz2_event("c", Some(mongo_doc_json(1, "ann", 1)), None)),
            ),
            (k(2), Some(json!({"after": mongo_doc_json(2, "bob", 1)}))),
            (
                k(3),
                Some(dbz2_event("c", Some(mongo_doc_json(3, "cid", 1)), None)),
            ),
        ],
    );
    let (fail_coll, dlq_coll) = (unique("bad-none"), unique("bad-all"));
    let dlq = unique("cdc-dlq");
    let (fail_name, dlq_name) = (unique("m-bad-none"), unique("m-bad-all"));
    let common = [
        "key.converter: org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable: false",
        "value.converter: org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable: false",
        "change.data.capture.handler: com.mongodb.kafka.connect.sink.cdc.debezium.mongodb.ChangeStreamHandler",
    ];
    let f1 = sink(d, &fail_name, &topic, &fail_coll, &common);
    let dlq_line = format!("errors.deadletterqueue.topic.name: {}", dlq);
    let mut all = common.to_vec();
    all.extend([
        "errors.tolerance: all",
        dlq_line.as_str(),
        "errors.deadletterqueue.topic.replication.factor: 1",
        "errors.deadletterqueue.context.headers.enable: true",
    ]);
    let f2 = sink(d, &dlq_name, &topic, &dlq_coll, &all);
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&f1, &f2]);
    let api = Api::new(port);
    api.wait_ready();
    let mut status = Value::Null;
    wait_for("the task to fail", Duration::from_secs(90), || {
        status = api.get(&format!("/connectors/{}/status", fail_name)).body["tasks"][0].clone();
        status["state"] == "FAILED"
    });
    let trace = status["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(&format!("topic={} partition=0 offset=1", topic))
            && trace.contains(
                "debezium.mongodb.ChangeStreamHandler: the value document has no op field"
            ),
        "{}",
        trace
    );
    wait_docs(&dlq_coll, "tolerance all", |all| all.len() == 2);
    wait_for("the DLQ record", Duration::from_secs(60), || {
        end_offset(&dlq) >= 1
    });
    let dead = read_all(&dlq);
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].header("__connect.errors.offset").as_deref(),
        Some("1")
    );
    assert!(dead[0]
        .header("__connect.errors.exception.message")
        .unwrap_or_default()
        .contains("no op field"));
    assert!(w.terminate().success());
    let ids: Vec<Bson> = docs(&dlq_coll)
        .iter()
        .map(|d| d.get("_id").unwrap().clone())
        .collect();
    assert_eq!(ids, vec![Bson::ObjectId(oid(1)), Bson::ObjectId(oid(3))]);
}
