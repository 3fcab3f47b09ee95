//! MongoDB sink end to end: the real `sluice` binary reads the test broker and writes
//! to SecantusDB (MongoDB protocol) on 127.0.0.1:27017; documents are checked with the
//! `mongodb` crate. The test that stops and restarts MongoDB does it on a server of its
//! own (`scripts/stack.sh fresh-mongo-restart`, port 27019), so the others run beside it.

mod common;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use mongodb::bson::{doc, Bson, Document};

const DB: &str = "sluice_test";
/// The server of the restart test; each test runs on its own thread.
const RESTARTABLE: &str = "mongodb://127.0.0.1:27019";

thread_local! {
    /// Set by a test that works against another server than the shared one.
    static SERVER: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn mongo_uri() -> String {
    SERVER.with(|s| s.borrow().clone()).unwrap_or_else(|| {
        std::env::var("SLUICE_TEST_MONGODB").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
    })
}

/// Every document of a collection, sorted by `_id` as MongoDB orders it.
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

/// The number of documents, or None while the server does not answer.
fn count(coll: &str) -> Option<u64> {
    block_on(async {
        let mut o = mongodb::options::ClientOptions::parse(mongo_uri())
            .await
            .ok()?;
        o.server_selection_timeout = Some(Duration::from_secs(2));
        let c = mongodb::Client::with_options(o).ok()?;
        c.database(DB)
            .collection::<Document>(coll)
            .count_documents(doc! {})
            .await
            .ok()
    })
}

fn insert(coll: &str, d: Document) {
    block_on(async {
        let c = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        c.database(DB)
            .collection::<Document>(coll)
            .insert_one(d)
            .await
            .unwrap();
    });
}

/// Writes a connector config; `extra` lines (`key: value`) go under `config:` and
/// replace the defaults with the same key.
fn sink(dir: &Path, name: &str, topic: &str, coll: &str, extra: &[&str]) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    let uri = mongo_uri();
    let defaults = [
        "connector.class: mongodb-sink".to_string(),
        format!("topics: {topic}"),
        format!("connection.uri: {uri}"),
        format!("database: {DB}"),
        format!("collection: {coll}"),
        "value.converter: org.apache.kafka.connect.json.JsonConverter".to_string(),
        "value.converter.schemas.enable: false".to_string(),
    ];
    let key_of = |l: &str| l.split(':').next().unwrap_or("").trim().to_string();
    let mut s = format!("name: {name}\nconfig:\n");
    for l in defaults
        .iter()
        .map(String::as_str)
        .filter(|l| !extra.iter().any(|e| key_of(e) == key_of(l)))
        .chain(extra.iter().copied())
    {
        s.push_str("  ");
        s.push_str(l);
        s.push('\n');
    }
    std::fs::write(&p, s).unwrap();
    p
}

/// Produces keyed JSON records (`None` value = tombstone) in one go.
fn produce_json(topic: &str, recs: &[(Option<String>, Option<String>)]) {
    let msgs: Vec<Outgoing<'_>> = recs
        .iter()
        .map(|(k, v)| {
            (
                k.as_deref().map(str::as_bytes),
                v.as_deref().map(str::as_bytes),
                vec![],
            )
        })
        .collect();
    for chunk in msgs.chunks(20_000) {
        produce(topic, chunk);
    }
}

fn numbered(from: usize, to: usize, tag: &str) -> Vec<(Option<String>, Option<String>)> {
    (from..to)
        .map(|i| {
            (
                Some(format!(r#"{{"id":{}}}"#, i)),
                Some(format!(r#"{{"_id":{},"n":{},"tag":"{}"}}"#, i, i, tag)),
            )
        })
        .collect()
}

fn wait_count(coll: &str, n: u64, timeout: Duration) {
    let mut last = None;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        last = count(coll);
        if last == Some(n) {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{}: expected {} documents, have {:?}", coll, n, last);
}

fn task_status(api: &Api, name: &str) -> serde_json::Value {
    api.get(&format!("/connectors/{}/status", name)).body["tasks"][0].clone()
}

#[test]
// 10,000: SecantusDB's inserts slow down with the size of the collection (100,000 took
// four minutes), and the volume path is measured by `cargo bench --bench mongodb`.
fn ten_thousand_json_records_arrive_with_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("mongo-10k");
    let coll = unique("c10k");
    create_topic(&topic, 1);
    produce_json(&topic, &numbered(0, 10_000, "v1"));
    let name = unique("m10k");
    let c = sink(
        d,
        &name,
        &topic,
        &coll,
        &[
            "document.id.strategy: com.mongodb.kafka.connect.sink.processor.id.strategy.ProvidedInValueStrategy",
            // Inserts: the volume test measures the plain path (upserts are covered below).
            "writemodel.strategy: InsertOneDefaultStrategy",
            "max.batch.size: 1000",
            "consumer.override.max.poll.records: 2000",
        ],
    );
    let started = Instant::now();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_count(&coll, 10_000, Duration::from_secs(240));
    eprintln!("10000 records in MongoDB after {:?}", started.elapsed());
    assert!(w.terminate().success());
    let all = docs(&coll);
    assert_eq!(all.len(), 10_000);
    for (i, doc) in all.iter().enumerate() {
        assert_eq!(doc.get("_id"), Some(&Bson::Int64(i as i64)), "{:?}", doc);
        assert_eq!(doc.get("n"), Some(&Bson::Int64(i as i64)));
    }
    assert_eq!(
        committed_offset(&format!("connect-{}", name), &topic),
        Some(10_000)
    );
}

#[test]
fn every_id_strategy_gives_the_expected_id_and_upserts_and_tombstones_apply() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("mongo-ids");
    create_topic(&topic, 1);
    // 20 records keyed {"id":i}, then 5 upserts of ids 0..5 and 3 tombstones (5..8).
    let mut recs = numbered(0, 20, "v1");
    recs.extend(numbered(0, 5, "v2"));
    for i in 5..8 {
        recs.push((Some(format!(r#"{{"id":{}}}"#, i)), None));
    }
    produce_json(&topic, &recs);
    let strategies = [
        "BsonOidStrategy",
        "FullKeyStrategy",
        "KafkaMetaDataStrategy",
        "PartialKeyStrategy",
        "PartialValueStrategy",
        "ProvidedInKeyStrategy",
        "ProvidedInValueStrategy",
        "UuidStrategy",
    ];
    let mut files = Vec::new();
    let mut colls = Vec::new();
    for s in strategies {
        let coll = unique(&format!("ids-{}", s));
        // The values carry an _id (for ProvidedInValue): let the others replace it.
        let mut extra = vec![
            format!(
                "document.id.strategy: com.mongodb.kafka.connect.sink.processor.id.strategy.{}",
                s
            ),
            "document.id.strategy.overwrite.existing: true".to_string(),
        ];
        match s {
            "PartialKeyStrategy" => extra.extend([
                "key.projection.type: AllowList".to_string(),
                "key.projection.list: id".to_string(),
                "delete.on.null.values: true".to_string(),
            ]),
            "PartialValueStrategy" => extra.extend([
                "value.projection.type: AllowList".to_string(),
                "value.projection.list: n".to_string(),
            ]),
            "FullKeyStrategy" => extra.push("delete.on.null.values: true".to_string()),
            "ProvidedInKeyStrategy" => {
                // The key must hold _id: rename key.id to _id.
                extra.push("post.processor.chain: RenameByMapping,DocumentIdAdder".to_string());
                extra.push(
                    r#"field.renamer.mapping: '[{"oldName":"key.id","newName":"_id"}]'"#
                        .to_string(),
                );
                extra.push("delete.on.null.values: true".to_string());
            }
            "ProvidedInValueStrategy" => extra.push("delete.on.null.values: false".to_string()),
            _ => {}
        }
        let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
        let name = unique(&format!("m-{}", s));
        files.push(sink(d, &name, &topic, &coll, &refs));
        colls.push(coll);
    }
    // topic.override.<topic>.<key>: another collection and id strategy for this topic.
    let base_coll = unique("ids-base");
    let override_coll = unique("ids-override");
    let override_collection = format!("topic.override.{}.collection: {}", topic, override_coll);
    let override_id = format!(
        "topic.override.{}.document.id.strategy: KafkaMetaDataStrategy",
        topic
    );
    files.push(sink(
        d,
        &unique("m-override"),
        &topic,
        &base_coll,
        &[
            "document.id.strategy.overwrite.existing: true",
            &override_collection,
            &override_id,
        ],
    ));
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &paths);
    wait_count(&override_coll, 25, Duration::from_secs(120));
    let expect_count = |s: &str| -> u64 {
        match s {
            // Ids from the key: upserts replace, tombstones delete.
            "FullKeyStrategy" | "PartialKeyStrategy" | "ProvidedInKeyStrategy" => 17,
            // Ids from the value's _id / fields: upserts replace, tombstones skipped.
            "ProvidedInValueStrategy" => 20,
            // PartialValue on n: the v2 records replace n=0..5.
            "PartialValueStrategy" => 20,
            // A new id for every record: 25 documents.
            _ => 25,
        }
    };
    for (s, coll) in strategies.iter().zip(&colls) {
        wait_count(coll, expect_count(s), Duration::from_secs(120));
    }
    // Let any late write land before checking contents.
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    assert_eq!(
        count(&base_coll),
        Some(0),
        "the override's collection is used"
    );
    assert!(docs(&override_coll).iter().all(|d| d
        .get_str("_id")
        .is_ok_and(|id| id.starts_with(&format!("{}#0#", topic)))));
    for (s, coll) in strategies.iter().zip(&colls) {
        let all = docs(coll);
        assert_eq!(all.len() as u64, expect_count(s), "{}", s);
        let by_n = |n: i64| -> Vec<&Document> {
            all.iter()
                .filter(|d| d.get("n") == Some(&Bson::Int64(n)))
                .collect()
        };
        match *s {
            "BsonOidStrategy" => assert!(all
                .iter()
                .all(|d| matches!(d.get("_id"), Some(Bson::ObjectId(_))))),
            "UuidStrategy" => assert!(all
                .iter()
                .all(|d| matches!(d.get("_id"), Some(Bson::String(u)) if u.len() == 36))),
            "KafkaMetaDataStrategy" => {
                for (i, doc) in all.iter().enumerate() {
                    let _ = i;
                    let id = doc.get_str("_id").unwrap();
                    assert!(id.starts_with(&format!("{}#0#", topic)), "{}", id);
                }
                let offs: std::collections::BTreeSet<i64> = all
                    .iter()
                    .map(|d| {
                        d.get_str("_id")
                            .unwrap()
                            .rsplit('#')
                            .next()
                            .unwrap()
                            .parse()
                            .unwrap()
                    })
                    .collect();
                assert_eq!(
                    offs,
                    (0..25).collect(),
                    "one document per non-tombstone offset"
                );
            }
            "FullKeyStrategy" | "PartialKeyStrategy" => {
                for n in 0..20i64 {
                    let found = by_n(n);
                    if (5..8).contains(&n) {
                        assert!(found.is_empty(), "{} n={} deleted", s, n);
                        continue;
                    }
                    assert_eq!(found.len(), 1, "{} n={}", s, n);
                    // The key (StringConverter) is parsed as Extended JSON: small ints are int32.
                    assert_eq!(
                        found[0].get("_id"),
                        Some(&Bson::Document(doc! {"id": n as i32}))
                    );
                    let tag = if n < 5 { "v2" } else { "v1" };
                    assert_eq!(found[0].get_str("tag").unwrap(), tag, "{} n={}", s, n);
                }
            }
            "ProvidedInKeyStrategy" | "ProvidedInValueStrategy" => {
                for n in 0..20i64 {
                    let found = by_n(n);
                    if *s == "ProvidedInKeyStrategy" && (5..8).contains(&n) {
                        assert!(found.is_empty(), "{} n={} deleted", s, n);
                        continue;
                    }
                    assert_eq!(found.len(), 1, "{} n={}", s, n);
                    let want = if *s == "ProvidedInKeyStrategy" {
                        Bson::Int32(n as i32)
                    } else {
                        Bson::Int64(n)
                    };
                    assert_eq!(found[0].get("_id"), Some(&want), "{}", s);
                    let tag = if n < 5 { "v2" } else { "v1" };
                    assert_eq!(found[0].get_str("tag").unwrap(), tag);
                }
            }
            "PartialValueStrategy" => {
                for n in 0..20i64 {
                    let found = by_n(n);
                    assert_eq!(found.len(), 1, "{} n={}", s, n);
                    assert_eq!(found[0].get("_id"), Some(&Bson::Document(doc! {"n": n})));
                    let tag = if n < 5 { "v2" } else { "v1" };
                    assert_eq!(found[0].get_str("tag").unwrap(), tag);
                }
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn sigkill_mid_stream_then_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("mongo-kill");
    let coll = unique("ckill");
    create_topic(&topic, 1);
    let total = 8_000u64;
    produce_json(&topic, &numbered(0, total as usize, "v1"));
    let name = unique("mkill");
    let c = sink(
        d,
        &name,
        &topic,
        &coll,
        &[
            "document.id.strategy: ProvidedInValueStrategy",
            "max.batch.size: 500",
        ],
    );
    let worker = worker_yaml(d, free_port(), "");
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("some documents", Duration::from_secs(120), || {
        count(&coll).unwrap_or(0) >= 1_500
    });
    w.kill();
    let at_kill = count(&coll).unwrap();
    assert!(at_kill < total, "killed mid-stream ({} written)", at_kill);
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_count(&coll, total, Duration::from_secs(180));
    assert!(w.terminate().success());
    let all = docs(&coll);
    assert_eq!(all.len() as u64, total);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, d)| d.get("_id") == Some(&Bson::Int64(i as i64))));
}

/// Records 0..6 where record 3 has the _id of record 1 (and of a document inserted
/// beforehand, so the insert is a duplicate whatever the batching).
fn duplicate_batch(topic: &str, coll: &str) {
    insert(coll, doc! {"_id": 1i64, "n": -1i64});
    let ids = [0i64, 2, 3, 1, 4, 5];
    let recs: Vec<(Option<String>, Option<String>)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (None, Some(format!(r#"{{"_id":{},"n":{}}}"#, id, i))))
        .collect();
    produce_json(topic, &recs);
}

#[test]
fn a_duplicate_key_fails_the_task_or_goes_to_the_dlq_ordered_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut files = Vec::new();
    let mut cases = Vec::new();
    for tolerance in ["none", "all"] {
        for ordered in [true, false] {
            let topic = unique("mongo-dup");
            create_topic(&topic, 1);
            let coll = unique("cdup");
            duplicate_batch(&topic, &coll);
            let name = unique(&format!("mdup-{}-{}", tolerance, ordered));
            let dlq = unique("mongo-dlq");
            let mut extra = vec![
                "writemodel.strategy: com.mongodb.kafka.connect.sink.writemodel.strategy.InsertOneDefaultStrategy".to_string(),
                "document.id.strategy: ProvidedInValueStrategy".to_string(),
                format!("bulk.write.ordered: {}", ordered),
                format!("mongo.errors.tolerance: {}", tolerance),
            ];
            if tolerance == "all" {
                extra.extend([
                    "errors.tolerance: all".to_string(),
                    format!("errors.deadletterqueue.topic.name: {}", dlq),
                    "errors.deadletterqueue.topic.replication.factor: 1".to_string(),
                    "errors.deadletterqueue.context.headers.enable: true".to_string(),
                ]);
            }
            let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
            files.push(sink(d, &name, &topic, &coll, &refs));
            cases.push((tolerance, ordered, topic, coll, name, dlq));
        }
    }
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &paths);
    let api = Api::new(port);
    api.wait_ready();
    for (tolerance, ordered, topic, coll, name, dlq) in &cases {
        let what = format!("tolerance={} ordered={}", tolerance, ordered);
        if *tolerance == "none" {
            let mut status = serde_json::Value::Null;
            wait_for(
                &format!("{}: the task to fail", what),
                Duration::from_secs(90),
                || {
                    status = task_status(&api, name);
                    status["state"] == "FAILED"
                },
            );
            let trace = status["trace"].as_str().unwrap_or_default();
            assert!(
                trace.contains(&format!("topic={} partition=0 offset=3", topic)),
                "{}: {}",
                what,
                trace
            );
            assert!(trace.contains("E11000"), "{}: {}", what, trace);
            // Ordered: the server stopped at the duplicate; unordered: it wrote the rest.
            let want: Vec<i64> = if *ordered {
                vec![0, 1, 2, 3]
            } else {
                vec![0, 1, 2, 3, 4, 5]
            };
            let ids: Vec<i64> = docs(coll)
                .iter()
                .map(|d| d.get_i64("_id").unwrap())
                .collect();
            assert_eq!(ids, want, "{}", what);
            assert_eq!(
                docs(coll)[1].get_i64("n").unwrap(),
                -1,
                "{}: the existing document is untouched",
                what
            );
            let committed = committed_offset(&format!("connect-{}", name), topic);
            assert!(
                committed.unwrap_or(0) <= 3,
                "{}: nothing after the failed record is committed ({:?})",
                what,
                committed
            );
        } else {
            // Every other record written (ordered: those after the duplicate were
            // sent again), the duplicate in the DLQ with context headers.
            wait_count(coll, 6, Duration::from_secs(90));
            wait_for(
                &format!("{}: the DLQ record", what),
                Duration::from_secs(60),
                || end_offset(dlq) >= 1,
            );
            let dead = read_all(dlq);
            assert_eq!(dead.len(), 1, "{}", what);
            let m = &dead[0];
            assert_eq!(m.value_str(), r#"{"_id":1,"n":3}"#, "{}", what);
            assert_eq!(
                m.header("__connect.errors.topic").as_deref(),
                Some(topic.as_str())
            );
            assert_eq!(m.header("__connect.errors.offset").as_deref(), Some("3"));
            assert!(
                m.header("__connect.errors.exception.message")
                    .unwrap_or_default()
                    .contains("E11000"),
                "{}: {:?}",
                what,
                m.headers
            );
            assert_eq!(task_status(&api, name)["state"], "RUNNING", "{}", what);
            wait_for(
                &format!("{}: offsets committed", what),
                Duration::from_secs(30),
                || committed_offset(&format!("connect-{}", name), topic) == Some(6),
            );
            let all = docs(coll);
            let ns: Vec<i64> = all.iter().map(|d| d.get_i64("n").unwrap()).collect();
            assert_eq!(ns, vec![0, -1, 1, 2, 4, 5], "{}", what);
        }
    }
    assert!(w.terminate().success());
}

#[test]
fn mongodb_stopped_mid_stream_then_started_loses_nothing() {
    assert!(stack("fresh-mongo-restart"), "fresh-mongo-restart failed");
    SERVER.with(|s| *s.borrow_mut() = Some(RESTARTABLE.to_string()));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("mongo-down");
    let coll = unique("cdown");
    create_topic(&topic, 1);
    let total = 8_000u64;
    produce_json(&topic, &numbered(0, total as usize, "v1"));
    let name = unique("mdown");
    let c = sink(
        d,
        &name,
        &topic,
        &coll,
        &[
            "document.id.strategy: ProvidedInValueStrategy",
            "max.batch.size: 500",
            // ride through the outage (the default, 0, fails the task at once)
            "errors.retry.timeout: -1",
        ],
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&c]);
    let api = Api::new(port);
    wait_for("some documents", Duration::from_secs(120), || {
        count(&coll).unwrap_or(0) >= 1_500
    });
    assert!(stack("stop-mongo-restart"));
    let restart = || {
        assert!(stack("start-mongo-restart"), "start-mongo-restart failed");
    };
    // The task shows that it is retrying, and commits nothing it has not written.
    let mut status = serde_json::Value::Null;
    let saw_retry = {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = false;
        while Instant::now() < deadline {
            status = task_status(&api, &name);
            if status["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("retrying")
            {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        seen
    };
    let committed_while_down = committed_offset(&format!("connect-{}", name), &topic);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        committed_offset(&format!("connect-{}", name), &topic),
        committed_while_down,
        "no commit while MongoDB is down"
    );
    restart();
    assert!(saw_retry, "status did not show the retry: {}", status);
    assert_eq!(status["state"], "RUNNING");
    let written = count(&coll).unwrap();
    assert!(
        committed_while_down.unwrap_or(0) as u64 <= written,
        "committed {:?} but only {} documents exist",
        committed_while_down,
        written
    );
    wait_count(&coll, total, Duration::from_secs(180));
    wait_for(
        "the status detail to clear",
        Duration::from_secs(30),
        || task_status(&api, &name)["detail"].is_null(),
    );
    assert!(w.terminate().success());
    let all = docs(&coll);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, d)| d.get("_id") == Some(&Bson::Int64(i as i64))));
}

#[test]
fn struct_values_with_logical_types_land_as_bson_types() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("mongo-struct");
    let coll = unique("cstruct");
    create_topic(&topic, 1);
    // price = Decimal(scale 2) 12345 -> "MDk=" base64 of 0x3039; day = Date 19000;
    // at = Timestamp 1700000000123; raw = bytes [1,2,3].
    let value = r#"{"schema":{"type":"struct","name":"shop.Order","optional":false,"fields":[
        {"field":"id","type":"int32","optional":false},
        {"field":"price","type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},
        {"field":"day","type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},
        {"field":"at","type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},
        {"field":"raw","type":"bytes","optional":true},
        {"field":"tags","type":"array","items":{"type":"string"},"optional":true},
        {"field":"ratio","type":"float","optional":true}]},
      "payload":{"id":7,"price":"MDk=","day":19000,"at":1700000000123,"raw":"AQID","tags":["a","b"],"ratio":0.5}}"#
        .replace('\n', "");
    produce(&topic, &[(None, Some(value.as_bytes()), vec![])]);
    let name = unique("mstruct");
    let c = sink(
        d,
        &name,
        &topic,
        &coll,
        &[
            "value.converter.schemas.enable: true",
            "post.processor.chain: DocumentIdAdder,KafkaMetaAdder",
        ],
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_count(&coll, 1, Duration::from_secs(90));
    assert!(w.terminate().success());
    let doc = &docs(&coll)[0];
    assert!(matches!(doc.get("_id"), Some(Bson::ObjectId(_))), "{}", doc);
    assert_eq!(doc.get("id"), Some(&Bson::Int32(7)));
    assert_eq!(
        doc.get("price"),
        Some(&Bson::Decimal128("123.45".parse().unwrap())),
        "{}",
        doc
    );
    assert_eq!(
        doc.get("day"),
        Some(&Bson::DateTime(mongodb::bson::DateTime::from_millis(
            19000 * 86_400_000
        )))
    );
    assert_eq!(
        doc.get("at"),
        Some(&Bson::DateTime(mongodb::bson::DateTime::from_millis(
            1_700_000_000_123
        )))
    );
    match doc.get("raw") {
        Some(Bson::Binary(b)) => assert_eq!(b.bytes, vec![1, 2, 3]),
        other => panic!("raw: {:?}", other),
    }
    assert_eq!(
        doc.get("tags"),
        Some(&Bson::Array(vec![
            Bson::String("a".into()),
            Bson::String("b".into())
        ]))
    );
    assert_eq!(doc.get("ratio"), Some(&Bson::Double(0.5)));
    assert_eq!(
        doc.get_str("topic-partition-offset").unwrap(),
        format!("{}-0-0", topic)
    );
    assert!(matches!(doc.get("CreateTime"), Some(Bson::Int64(_))));
}

#[test]
fn a_bad_config_is_rejected_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(
        &p,
        "name: bad\nconfig:\n  connector.class: com.mongodb.kafka.connect.MongoSinkConnector\n  topics: t\n  connection.uri: notauri\n  document.id.strategy: NoSuchStrategy\n  writemodel.strategy: ReplaceOneBusinessKeyStrategy\n  max.batch.size: -1\n  topic.override.t.bulk.write.ordered: maybe\n",
    )
    .unwrap();
    // Cross-key rules and topic overrides are checked once the keys themselves parse.
    let q = dir.path().join("bad2.yaml");
    std::fs::write(
        &q,
        "name: bad2\nconfig:\n  connector.class: mongodb-sink\n  topics: t\n  database: d\n  writemodel.strategy: ReplaceOneBusinessKeyStrategy\n  delete.on.null.values: true\n  post.processor.chain: DocumentIdAdder,NoSuchProcessor\n  topic.override.t.bulk.write.ordered: maybe\n  topic.override.t.nonsense: 1\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&["validate", p.to_str().unwrap(), q.to_str().unwrap()]);
    let text = format!("{}{}", out, err);
    assert_ne!(code, 0, "{}", text);
    for key in [
        "bad.yaml: database",
        "bad.yaml: connection.uri",
        "bad.yaml: document.id.strategy",
        "bad.yaml: max.batch.size",
        "bad2.yaml: writemodel.strategy",
        "bad2.yaml: delete.on.null.values",
        "bad2.yaml: post.processor.chain",
        "bad2.yaml: topic.override.t.bulk.write.ordered",
        "bad2.yaml: topic.override.t.nonsense",
    ] {
        assert!(text.contains(key), "{} not reported: {}", key, text);
    }
}

/// Every document of `db.coll`, sorted by `_id`.
fn docs_in(db: &str, coll: &str) -> Vec<Document> {
    block_on(async {
        use futures::TryStreamExt;
        let c = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let cur = c
            .database(db)
            .collection::<Document>(coll)
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .unwrap();
        cur.try_collect().await.unwrap()
    })
}

/// Waits until `db.coll` holds `n` documents and returns them.
fn wait_docs_in(db: &str, coll: &str, n: usize) -> Vec<Document> {
    let mut last = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        last = docs_in(db, coll);
        if last.len() == n {
            return last;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("{}.{}: expected {} documents, have {:?}", db, coll, n, last);
}

#[test]
fn field_path_namespace_mapper_routes_records_and_reports_invalid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let (db1, db2) = (unique("nsdb1"), unique("nsdb2"));
    // Per connector: its topic, and records routed by value field route.db and key
    // field coll; the third record has neither.
    let recs = |tag: &str| -> Vec<(Option<String>, Option<String>)> {
        vec![
            (
                Some(format!(r#"{{"coll":"{}-a"}}"#, tag)),
                Some(format!(r#"{{"_id":1,"route":{{"db":"{}"}}}}"#, db1)),
            ),
            (
                Some(format!(r#"{{"coll":"{}-b"}}"#, tag)),
                Some(format!(r#"{{"_id":2,"route":{{"db":"{}"}}}}"#, db2)),
            ),
            (Some("{}".to_string()), Some(r#"{"_id":3}"#.to_string())),
            (
                Some(format!(r#"{{"coll":"{}-a"}}"#, tag)),
                Some(format!(r#"{{"_id":4,"route":{{"db":"{}"}}}}"#, db1)),
            ),
        ]
    };
    let mapper = [
        "namespace.mapper: com.mongodb.kafka.connect.sink.namespace.mapping.FieldPathNamespaceMapper",
        "namespace.mapper.value.database.field: route.db",
        "namespace.mapper.key.collection.field: coll",
        "key.converter: org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable: false",
        "document.id.strategy: ProvidedInValueStrategy",
    ];
    let mut files = Vec::new();
    let mut cases = Vec::new();
    for case in ["lenient", "strict-none", "strict-dlq"] {
        let topic = unique(&format!("mongo-ns-{}", case));
        create_topic(&topic, 1);
        let tag = unique(case);
        produce_json(&topic, &recs(&tag));
        let name = unique(&format!("mns-{}", case));
        let dlq = unique("mongo-ns-dlq");
        let mut extra: Vec<String> = mapper.iter().map(|s| s.to_string()).collect();
        match case {
            "lenient" => {}
            "strict-none" => extra.push("namespace.mapper.error.if.invalid: true".into()),
            _ => extra.extend([
                "namespace.mapper.error.if.invalid: true".to_string(),
                "errors.tolerance: all".to_string(),
                format!("errors.deadletterqueue.topic.name: {}", dlq),
                "errors.deadletterqueue.topic.replication.factor: 1".to_string(),
                "errors.deadletterqueue.context.headers.enable: true".to_string(),
            ]),
        }
        let refs: Vec<&str> = extra.iter().map(String::as_str).collect();
        // The default namespace: database sluice_test, collection <tag>-default.
        files.push(sink(d, &name, &topic, &format!("{}-default", tag), &refs));
        cases.push((case, topic, tag, name, dlq));
    }
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &paths);
    let api = Api::new(port);
    api.wait_ready();
    for (case, topic, tag, name, dlq) in &cases {
        let a = format!("{}-a", tag);
        let b = format!("{}-b", tag);
        match *case {
            "lenient" => {
                // The record without the fields goes to the default namespace.
                let ids = |v: Vec<Document>| -> Vec<i64> {
                    v.iter().map(|d| d.get_i64("_id").unwrap()).collect()
                };
                assert_eq!(ids(wait_docs_in(&db1, &a, 2)), vec![1, 4]);
                assert_eq!(ids(wait_docs_in(&db2, &b, 1)), vec![2]);
                assert_eq!(
                    ids(wait_docs_in(DB, &format!("{}-default", tag), 1)),
                    vec![3]
                );
            }
            "strict-none" => {
                let mut status = serde_json::Value::Null;
                wait_for("the task to fail", Duration::from_secs(90), || {
                    status = task_status(&api, name);
                    status["state"] == "FAILED"
                });
                let trace = status["trace"].as_str().unwrap_or_default();
                assert!(
                    trace.contains(&format!("topic={} partition=0 offset=2", topic))
                        && trace.contains("missing value document path 'route.db'"),
                    "{}",
                    trace
                );
                assert_eq!(count(&format!("{}-default", tag)), Some(0));
            }
            _ => {
                wait_docs_in(&db1, &a, 2);
                wait_docs_in(&db2, &b, 1);
                wait_for("the DLQ record", Duration::from_secs(60), || {
                    end_offset(dlq) >= 1
                });
                let dead = read_all(dlq);
                assert_eq!(dead.len(), 1);
                assert_eq!(dead[0].value_str(), r#"{"_id":3}"#);
                assert!(dead[0]
                    .header("__connect.errors.exception.message")
                    .unwrap_or_default()
                    .contains("missing value document path 'route.db'"));
                assert_eq!(count(&format!("{}-default", tag)), Some(0));
            }
        }
    }
    assert!(w.terminate().success());
}

#[test]
fn delete_and_update_write_models_uuid_ids_and_null_field_removal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut files = Vec::new();
    let json_keys = [
        "key.converter: org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable: false",
    ];
    // 1. Business keys: ReplaceOneBusinessKey on {a, b} (PartialKeyStrategy), and
    //    tombstones deleting by that business key (DeleteOneTombstoneBusinessKey).
    let t_bk = unique("mongo-bk");
    create_topic(&t_bk, 1);
    let mut recs: Vec<(Option<String>, Option<String>)> = (0..10)
        .map(|i| {
            (
                Some(format!(r#"{{"a":{},"b":"x","noise":{}}}"#, i, i * 7)),
                Some(format!(r#"{{"a":{},"b":"x","n":{}}}"#, i, i)),
            )
        })
        .collect();
    for i in [2, 5, 7] {
        recs.push((Some(format!(r#"{{"a":{},"b":"x","noise":0}}"#, i)), None));
    }
    produce_json(&t_bk, &recs);
    let c_bk = unique("bk");
    let mut e: Vec<&str> = json_keys.to_vec();
    e.extend([
        "document.id.strategy: PartialKeyStrategy",
        "key.projection.type: AllowList",
        "key.projection.list: a,b",
        "writemodel.strategy: ReplaceOneBusinessKeyStrategy",
        "delete.on.null.values: true",
        "delete.writemodel.strategy: com.mongodb.kafka.connect.sink.writemodel.strategy.DeleteOneTombstoneBusinessKeyStrategy",
    ]);
    files.push(sink(d, &unique("m-bk"), &t_bk, &c_bk, &e));
    // 2. DeleteOneBusinessKeyStrategy as the write model: each record deletes the
    //    document matching its value's business key {a}; {a: 99} stays.
    let c_del = unique("delbk");
    for a in [0i64, 1, 2, 99] {
        insert(&c_del, doc! {"a": a, "pre": true});
    }
    files.push(sink(
        d,
        &unique("m-delbk"),
        &t_bk,
        &c_del,
        &[
            "document.id.strategy: PartialValueStrategy",
            "value.projection.type: AllowList",
            "value.projection.list: a",
            "writemodel.strategy: DeleteOneBusinessKeyStrategy",
        ],
    ));
    // 3. UpdateOneDefaultStrategy: $set the fields, keep the others; a missing
    //    document is inserted.
    let t_up = unique("mongo-upd");
    create_topic(&t_up, 1);
    produce_json(
        &t_up,
        &[
            (None, Some(r#"{"_id":1,"n":5}"#.to_string())),
            (None, Some(r#"{"_id":2,"n":6}"#.to_string())),
        ],
    );
    let c_up = unique("upd");
    insert(&c_up, doc! {"_id": 1i64, "keep": "yes", "n": -1i64});
    files.push(sink(
        d,
        &unique("m-upd"),
        &t_up,
        &c_up,
        &[
            "document.id.strategy: ProvidedInValueStrategy",
            "writemodel.strategy: com.mongodb.kafka.connect.sink.writemodel.strategy.UpdateOneDefaultStrategy",
        ],
    ));
    // 4. UUIDs provided in the value (with dashes) and in the key (without), as
    //    binary subtype 4 ids; NullFieldValueRemover drops the null fields.
    let uuids: Vec<String> = (0..3)
        .map(|i| format!("123e4567-e89b-12d3-a456-42661417400{}", i))
        .collect();
    let t_uuid = unique("mongo-uuid");
    create_topic(&t_uuid, 1);
    let mut urecs: Vec<(Option<String>, Option<String>)> = uuids
        .iter()
        .enumerate()
        .map(|(i, u)| {
            (
                Some(format!(r#"{{"_id":"{}"}}"#, u.replace('-', ""))),
                Some(format!(
                    r#"{{"_id":"{}","n":{},"gone":null,"sub":{{"x":null,"y":1}},"arr":[null,{{"z":null}}]}}"#,
                    u, i
                )),
            )
        })
        .collect();
    urecs.push((
        Some(r#"{"_id":"not-a-uuid"}"#.to_string()),
        Some(r#"{"_id":"not-a-uuid","n":9}"#.to_string()),
    ));
    produce_json(&t_uuid, &urecs);
    let (c_uv, c_uk) = (unique("uuidv"), unique("uuidk"));
    let uuid_dlq = unique("mongo-uuid-dlq");
    let dlq_line = format!("errors.deadletterqueue.topic.name: {}", uuid_dlq);
    let mut ev: Vec<&str> = vec![
        "document.id.strategy: com.mongodb.kafka.connect.sink.processor.id.strategy.UuidProvidedInValueStrategy",
        // Without it the value's _id (a string) is kept, as in the MongoDB connector.
        "document.id.strategy.overwrite.existing: true",
        "post.processor.chain: com.mongodb.kafka.connect.sink.processor.DocumentIdAdder,com.mongodb.kafka.connect.sink.processor.NullFieldValueRemover",
        "errors.tolerance: all",
        "errors.deadletterqueue.topic.replication.factor: 1",
        "errors.deadletterqueue.context.headers.enable: true",
    ];
    ev.push(&dlq_line);
    files.push(sink(d, &unique("m-uuidv"), &t_uuid, &c_uv, &ev));
    let mut ek = json_keys.to_vec();
    ek.extend([
        "document.id.strategy: UuidProvidedInKeyStrategy",
        "document.id.strategy.overwrite.existing: true",
        "errors.tolerance: all",
    ]);
    files.push(sink(d, &unique("m-uuidk"), &t_uuid, &c_uk, &ek));

    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &paths);
    wait_count(&c_bk, 7, Duration::from_secs(90));
    wait_count(&c_del, 1, Duration::from_secs(90));
    wait_count(&c_up, 2, Duration::from_secs(90));
    wait_count(&c_uv, 3, Duration::from_secs(90));
    wait_count(&c_uk, 3, Duration::from_secs(90));
    wait_for("the UUID DLQ record", Duration::from_secs(60), || {
        end_offset(&uuid_dlq) >= 1
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());

    let mut bk: Vec<i64> = docs(&c_bk)
        .iter()
        .map(|d| d.get_i64("a").unwrap())
        .collect();
    bk.sort();
    assert_eq!(bk, vec![0, 1, 3, 4, 6, 8, 9], "tombstones deleted a=2,5,7");
    assert!(docs(&c_bk)
        .iter()
        .all(|d| matches!(d.get("_id"), Some(Bson::ObjectId(_))) && !d.contains_key("noise")));
    assert_eq!(
        docs(&c_del)
            .iter()
            .map(|d| d.get_i64("a").unwrap())
            .collect::<Vec<_>>(),
        vec![99]
    );
    assert_eq!(
        docs(&c_up),
        vec![
            doc! {"_id": 1i64, "keep": "yes", "n": 5i64},
            doc! {"_id": 2i64, "n": 6i64}
        ]
    );
    for coll in [&c_uv, &c_uk] {
        let all = docs(coll);
        assert_eq!(all.len(), 3, "{}", coll);
        for doc in &all {
            let n = doc.get_i64("n").unwrap() as usize;
            let want = mongodb::bson::Binary::from_uuid(
                mongodb::bson::Uuid::parse_str(&uuids[n]).unwrap(),
            );
            assert_eq!(doc.get("_id"), Some(&Bson::Binary(want)), "{}", doc);
            match doc.get("_id") {
                Some(Bson::Binary(b)) => {
                    assert_eq!(b.subtype, mongodb::bson::spec::BinarySubtype::Uuid)
                }
                other => panic!("{:?}", other),
            }
        }
    }
    // NullFieldValueRemover (value strategy connector only): nulls gone at every level,
    // null array elements kept.
    for doc in docs(&c_uv) {
        assert!(!doc.contains_key("gone"), "{}", doc);
        assert_eq!(doc.get_document("sub").unwrap(), &doc! {"y": 1i64});
        assert_eq!(
            doc.get_array("arr").unwrap(),
            &vec![Bson::Null, Bson::Document(doc! {})]
        );
    }
    assert!(docs(&c_uk)
        .iter()
        .all(|d| d.get("gone") == Some(&Bson::Null)));
    let dead = read_all(&uuid_dlq);
    assert_eq!(dead.len(), 1);
    assert!(dead[0]
        .header("__connect.errors.exception.message")
        .unwrap_or_default()
        .contains("UUID cannot be constructed from provided value: `not-a-uuid`"));
}

/// (type, options) of `db.coll` as listCollections reports them.
fn collection_info(db: &str, coll: &str) -> Option<(String, Document)> {
    block_on(async {
        let c = mongodb::Client::with_uri_str(mongo_uri()).await.unwrap();
        let reply = c
            .database(db)
            .run_command(doc! {"listCollections": 1, "filter": {"name": coll}})
            .await
            .unwrap();
        let batch = reply
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap()
            .clone();
        batch.first().and_then(|b| b.as_document()).map(|spec| {
            (
                spec.get_str("type").unwrap_or("collection").to_string(),
                spec.get_document("options").cloned().unwrap_or_default(),
            )
        })
    })
}

#[test]
fn timeseries_collections_are_created_and_written_and_a_plain_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let topic = unique("mongo-ts");
    create_topic(&topic, 1);
    produce_json(
        &topic,
        &[
            (
                None,
                Some(r#"{"ts":"2021-04-01T10:00:00Z","sensor":"a","v":1}"#.to_string()),
            ),
            (
                None,
                Some(r#"{"ts":1617271260000,"sensor":"a","v":2}"#.to_string()),
            ),
            (
                None,
                Some(r#"{"ts":"2021-04-01 12:02:00.500+02:00","sensor":"b","v":3}"#.to_string()),
            ),
        ],
    );
    let ts_coll = unique("ts");
    let plain = unique("ts-plain");
    insert(&plain, doc! {"_id": 1, "x": 1});
    let ts_keys = [
        "timeseries.timefield: ts",
        "timeseries.metafield: sensor",
        "timeseries.granularity: minutes",
        "timeseries.expire.after.seconds: 3600",
        "timeseries.timefield.auto.convert: true",
    ];
    let ok_name = unique("m-ts");
    let bad_name = unique("m-ts-plain");
    let f1 = sink(d, &ok_name, &topic, &ts_coll, &ts_keys);
    let f2 = sink(d, &bad_name, &topic, &plain, &ts_keys);
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&f1, &f2]);
    let api = Api::new(port);
    api.wait_ready();
    wait_count(&ts_coll, 3, Duration::from_secs(90));
    let mut status = serde_json::Value::Null;
    wait_for(
        "the plain collection's task to fail",
        Duration::from_secs(60),
        || {
            status = task_status(&api, &bad_name);
            status["state"] == "FAILED"
        },
    );
    assert!(status["trace"]
        .as_str()
        .unwrap_or_default()
        .contains(&format!(
            "A collection already exists for: `{}.{}` that is not a timeseries collection.",
            DB, plain
        )));
    assert!(w.terminate().success());
    let (kind, options) = collection_info(DB, &ts_coll).expect("created");
    // MongoDB reports type "timeseries"; SecantusDB "collection" with the options.
    assert!(kind == "timeseries" || kind == "collection", "{}", kind);
    assert_eq!(
        options.get_document("timeseries").unwrap(),
        &doc! {"timeField": "ts", "metaField": "sensor", "granularity": "minutes"}
    );
    assert_eq!(
        options
            .get("expireAfterSeconds")
            .and_then(Bson::as_i64)
            .or_else(|| options.get_i32("expireAfterSeconds").ok().map(i64::from)),
        Some(3600)
    );
    let mut all = docs(&ts_coll);
    all.sort_by_key(|d| d.get_i64("v").unwrap());
    let t = |ms: i64| Bson::DateTime(mongodb::bson::DateTime::from_millis(ms));
    assert_eq!(all[0].get("ts"), Some(&t(1_617_271_200_000)));
    assert_eq!(all[1].get("ts"), Some(&t(1_617_271_260_000)));
    assert_eq!(all[2].get("ts"), Some(&t(1_617_271_320_500)));
    // DefaultWriteModelStrategy inserts (new ObjectIds) into time series collections.
    assert!(all
        .iter()
        .all(|d| matches!(d.get("_id"), Some(Bson::ObjectId(_)))));
    assert_eq!(docs(&plain), vec![doc! {"_id": 1, "x": 1}]);
}

#[test]
fn new_keys_are_validated_with_every_problem_at_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad3.yaml");
    std::fs::write(
        &p,
        "name: bad3\nconfig:\n  connector.class: mongodb-sink\n  topics: t\n  database: d\n  namespace.mapper: FieldPathNamespaceMapper\n  namespace.mapper.key.collection.field: a\n  namespace.mapper.value.collection.field: b\n  timeseries.metafield: m\n  timeseries.granularity: weeks\n  timeseries.expire.after.seconds: 10\n  change.data.capture.handler: ChangeStreamHandler\n  document.id.strategy: UuidProvidedInKeyStrategy\n  delete.on.null.values: true\n  topic.override.t.delete.writemodel.strategy: DeleteOneTombstoneBusinessKeyStrategy\n",
    )
    .unwrap();
    let q = dir.path().join("bad4.yaml");
    std::fs::write(
        &q,
        "name: bad4\nconfig:\n  connector.class: mongodb-sink\n  topics: t\n  database: d\n  namespace.mapper: FieldPathNamespaceMapper\n  timeseries.timefield: ts\n  timeseries.timefield.auto.convert.date.format: MMM d yyyy\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&["validate", p.to_str().unwrap(), q.to_str().unwrap()]);
    let text = format!("{}{}", out, err);
    assert_ne!(code, 0, "{}", text);
    for key in [
        "bad3.yaml: namespace.mapper.key.collection.field",
        "bad3.yaml: timeseries.metafield",
        "bad3.yaml: timeseries.granularity",
        "bad3.yaml: timeseries.expire.after.seconds",
        "bad3.yaml: change.data.capture.handler",
        "bad3.yaml: delete.on.null.values",
        "bad3.yaml: topic.override.t.delete.writemodel.strategy",
        "bad4.yaml: namespace.mapper",
        "bad4.yaml: timeseries.timefield.auto.convert.date.format",
    ] {
        assert!(text.contains(key), "{} not reported: {}", key, text);
    }
    assert!(
        text.contains("Missing timeseries configuration: `timeseries.timefield`"),
        "{}",
        text
    );
    assert!(!text.contains("does not implement"), "{}", text);
}
