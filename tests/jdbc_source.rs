//! The JDBC source against the real PostgreSQL 15 and Kafka-protocol broker that
//! `scripts/stack.sh` starts: every mode end to end, restarts, the late-commit case
//! of safe mode, every column type through the JsonConverter envelope, bounded memory
//! on a million rows, and a database restart mid-stream.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use pg::Pg;
use serde_json::{json, Value as Json};

const PG_URL: &str = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

/// The database-restart test stops PostgreSQL: it takes this lock for writing, every
/// other test for reading (tests of a file run in parallel).
static DB: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn shared_db() -> std::sync::RwLockReadGuard<'static, ()> {
    DB.read().unwrap_or_else(|e| e.into_inner())
}

/// A fresh table name (also used in topic names; topics are never reused).
fn table(prefix: &str) -> String {
    unique(prefix).replace('-', "_")
}

fn worker_json(dir: &Path, extra: &str) -> (String, u16) {
    let port = free_port();
    (worker_yaml(dir, port, extra), port)
}

fn connector(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nconfig:\n  connector.class: jdbc-source\n  connection.url: \"{PG_URL}\"\n  poll.interval.ms: 300\n  key.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n{body}"
        ),
    )
    .unwrap();
    p
}

/// The largest stored `incrementing` offset in the standalone offsets file.
fn stored_incrementing(dir: &Path) -> Option<i64> {
    let text = std::fs::read_to_string(dir.join("offsets.json")).ok()?;
    let v: Json = serde_json::from_str(&text).ok()?;
    v["offsets"]
        .as_array()?
        .iter()
        .filter_map(|o| o["value"]["incrementing"].as_i64())
        .max()
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn wait_records(topic: &str, n: i64, timeout: Duration, w: &Sluice) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = end_offset(topic);
        if got >= n {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "topic {} has {} of {} records after {:?}; log:\n{}",
                topic,
                got,
                n,
                timeout,
                tail(&w.log_text())
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn values(topic: &str) -> Vec<Json> {
    read_all(topic)
        .iter()
        .map(|m| serde_json::from_str(m.value_str()).unwrap())
        .collect()
}

fn payload_ids(vals: &[Json]) -> Vec<i64> {
    vals.iter()
        .map(|v| v["payload"]["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn incrementing_mode_publishes_exactly_the_new_rows_with_schema_and_key() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jinc");
    pg.exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, name text NOT NULL, score int);
         INSERT INTO {t} (name, score) VALUES ('a', 1), ('b', NULL), ('c', 3);"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jinc"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 3, Duration::from_secs(60), &w);
    pg.exec(&format!(
        "INSERT INTO {t} (name, score) VALUES ('d', 4), ('e', 5);"
    ));
    wait_records(&topic, 5, Duration::from_secs(30), &w);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(w.terminate().success());
    let msgs = read_all(&topic);
    assert_eq!(msgs.len(), 5, "exactly the five rows, no repeats");
    let first: Json = serde_json::from_str(msgs[0].value_str()).unwrap();
    assert_eq!(
        first["schema"],
        json!({"type":"struct","fields":[
            {"type":"int32","optional":false,"field":"id"},
            {"type":"string","optional":false,"field":"name"},
            {"type":"int32","optional":true,"field":"score"}],
            "optional":false,"name":t})
    );
    let vals: Vec<Json> = msgs
        .iter()
        .map(|m| serde_json::from_str(m.value_str()).unwrap())
        .collect();
    let payloads: Vec<Json> = vals.iter().map(|v| v["payload"].clone()).collect();
    assert_eq!(
        payloads,
        vec![
            json!({"id":1,"name":"a","score":1}),
            json!({"id":2,"name":"b","score":null}),
            json!({"id":3,"name":"c","score":3}),
            json!({"id":4,"name":"d","score":4}),
            json!({"id":5,"name":"e","score":5}),
        ]
    );
    let key: Json = serde_json::from_str(msgs[1].key_str().unwrap()).unwrap();
    assert_eq!(
        key,
        json!({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":format!("{}.Key", t)},"payload":{"id":2}})
    );
    let offsets = std::fs::read_to_string(d.join("offsets.json")).unwrap();
    assert!(
        offsets.contains(&format!("\"public.{}\"", t)) && offsets.contains("\"protocol\": \"1\""),
        "stored partition: {}",
        offsets
    );
    assert_eq!(stored_incrementing(d), Some(5), "{}", offsets);
}

#[test]
fn timestamp_mode_publishes_inserts_and_updates() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jts");
    pg.exec(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, v text, updated_at timestamp NOT NULL DEFAULT (clock_timestamp() AT TIME ZONE 'UTC'));
         INSERT INTO {t} (id, v) VALUES (1, 'one'), (2, 'two');"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jts"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: timestamp\n  timestamp.column.name: updated_at\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 2, Duration::from_secs(60), &w);
    pg.exec(&format!(
        "UPDATE {t} SET v = 'uno', updated_at = clock_timestamp() AT TIME ZONE 'UTC' WHERE id = 1;"
    ));
    wait_records(&topic, 3, Duration::from_secs(30), &w);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(w.terminate().success());
    let vals = values(&topic);
    let got: Vec<(i64, String)> = vals
        .iter()
        .map(|v| {
            (
                v["payload"]["id"].as_i64().unwrap(),
                v["payload"]["v"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(1, "one".into()), (2, "two".into()), (1, "uno".into())]
    );
    assert_eq!(
        vals[0]["schema"]["fields"][2],
        json!({"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"updated_at"})
    );
    let db_ms = pg.one_i64(&format!(
        "SELECT (extract(epoch FROM updated_at) * 1000)::int8 / 1 FROM {t} WHERE id = 1"
    ));
    let pub_ms = vals[2]["payload"]["updated_at"].as_i64().unwrap();
    assert!(
        (db_ms - pub_ms).abs() <= 1,
        "timestamp {} read as UTC {}",
        pub_ms,
        db_ms
    );
}

#[test]
fn timestamp_incrementing_query_mode_sees_new_and_changed_rows() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jq");
    pg.exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, kind text NOT NULL, v int, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz);
         INSERT INTO {t} (kind, v) VALUES ('keep', 1), ('skip', 2), ('keep', 3);"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("jq-topic");
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: timestamp+incrementing\n  incrementing.column.name: id\n  timestamp.column.name: updated_at,created_at\n  query: \"SELECT id, v, created_at, updated_at FROM {t} WHERE kind = 'keep'\"\n  topic.prefix: {topic}\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 2, Duration::from_secs(60), &w);
    pg.exec(&format!(
        "UPDATE {t} SET v = 10, updated_at = now() WHERE id = 1; INSERT INTO {t} (kind, v) VALUES ('keep', 4), ('skip', 5);"
    ));
    wait_records(&topic, 4, Duration::from_secs(30), &w);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(w.terminate().success());
    let vals = values(&topic);
    let got: Vec<(i64, i64)> = vals
        .iter()
        .map(|v| {
            (
                v["payload"]["id"].as_i64().unwrap(),
                v["payload"]["v"].as_i64().unwrap(),
            )
        })
        .collect();
    // The update and the insert commit together (same now()): ordered by (ts, id).
    assert_eq!(got, vec![(1, 1), (3, 3), (1, 10), (4, 4)]);
    assert!(
        vals[0]["schema"].get("name").is_none(),
        "query mode: no schema name"
    );
    assert!(read_all(&topic)[0].key.is_none(), "query mode: no key");
    let offsets = std::fs::read_to_string(d.join("offsets.json")).unwrap();
    assert!(offsets.contains("\"query\": \"query\""), "{}", offsets);
}

#[test]
fn polls_of_batch_max_rows_cut_from_larger_fetches_keep_order_and_offsets() {
    // The cursor is read 5,000 rows per FETCH at least and handed on batch.max.rows
    // at a time: a pass whose rows are an exact multiple of it ends with an empty
    // last poll, and the next pass resumes after the stored offset.
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jsplit");
    pg.exec(&format!(
        "CREATE TABLE {t} (id int8 PRIMARY KEY, v text NOT NULL);
         INSERT INTO {t} SELECT g, 'v' || g FROM generate_series(1, 4) g;"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jsplit"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  batch.max.rows: 2\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 4, Duration::from_secs(60), &w);
    pg.exec(&format!(
        "INSERT INTO {t} SELECT g, 'v' || g FROM generate_series(5, 7) g;"
    ));
    wait_records(&topic, 7, Duration::from_secs(60), &w);
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored_incrementing(d) != Some(7) {
        assert!(
            Instant::now() < deadline,
            "offset {:?}",
            stored_incrementing(d)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A few more polls find nothing new, and no poll failed on the way.
    std::thread::sleep(Duration::from_millis(1000));
    let log = w.log_text();
    assert!(!log.contains("poll failed"), "{}", tail(&log));
    assert!(w.terminate().success());
    assert_eq!(payload_ids(&values(&topic)), (1..=7).collect::<Vec<i64>>());
    pg.exec(&format!("DROP TABLE {t}"));
}

#[test]
fn bulk_mode_republishes_the_whole_table_each_poll() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jbulk");
    pg.exec(&format!(
        "CREATE TABLE {t} (code text, n int);
         INSERT INTO {t} VALUES ('x', 1), ('y', 2), ('z', 3);"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jbulk"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: bulk\n  table.include.list: {t}\n  topic.prefix: {prefix}\n  batch.max.rows: 2\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 9, Duration::from_secs(60), &w);
    assert!(w.terminate().success());
    let vals = values(&topic);
    let rows: Vec<String> = vals
        .iter()
        .map(|v| v["payload"]["code"].as_str().unwrap().to_string())
        .collect();
    for pass in rows.chunks(3).filter(|c| c.len() == 3) {
        let set: BTreeSet<&String> = pass.iter().collect();
        assert_eq!(set.len(), 3, "each pass is the whole table: {:?}", rows);
    }
    assert!(read_all(&topic)[0].key.is_none(), "no primary key, no key");
}

#[test]
fn restart_between_polls_and_mid_table_neither_skips_nor_repeats() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jrestart");
    const N: i64 = 20_000;
    // The connector reads a view of the table that sleeps 0.3 s every 2,000 rows, so
    // that the first run is reliably stopped in the middle of the table. (Safe mode is
    // off here only because its per-pass max(id) would evaluate the slow view; the
    // database-restart test runs with it on.)
    let v = format!("{}_v", t);
    pg.exec(&format!(
        "CREATE TABLE {t} (id bigserial PRIMARY KEY, payload text NOT NULL);
         INSERT INTO {t} (payload) SELECT md5(g::text) FROM generate_series(1, {N}) g;
         CREATE VIEW {v} AS SELECT * FROM {t}
           WHERE coalesce(CASE WHEN id % 2000 = 0 THEN pg_sleep(0.3)::text END, '') = '';"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jrestart"));
    let topic = format!("{}{}", prefix, v);
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.types: VIEW\n  table.whitelist: {v}\n  validate.non.null: false\n  postgres.safe.mode: false\n  topic.prefix: {prefix}\n  batch.max.rows: 100\n"),
    );
    // Mid-table: stop as soon as some rows are in Kafka.
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 1, Duration::from_secs(60), &w);
    assert!(w.terminate().success());
    let mid = end_offset(&topic);
    eprintln!("stopped mid-table after {} of {} rows", mid, N);
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, N, Duration::from_secs(120), &w);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(w.terminate().success());
    // Between polls: new rows while stopped.
    pg.exec(&format!(
        "INSERT INTO {t} (payload) SELECT 'late' || g FROM generate_series(1, 50) g;"
    ));
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, N + 50, Duration::from_secs(60), &w);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(w.terminate().success());
    let ids = payload_ids(&values(&topic));
    assert!(mid < N, "the first run was stopped mid-table");
    assert_eq!(ids.len() as i64, N + 50, "nothing repeated");
    assert_eq!(
        ids,
        (1..=N + 50).collect::<Vec<_>>(),
        "nothing skipped, in order"
    );
}

#[test]
fn safe_mode_publishes_a_row_committed_late_that_plain_polling_skips() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jlate");
    pg.exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, v text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());"
    ));
    // The long transaction takes id 1 and timestamp now() first...
    let late = Pg::connect();
    late.exec(&format!("BEGIN; INSERT INTO {t} (v) VALUES ('late');"));
    std::thread::sleep(Duration::from_millis(50));
    // ...later rows commit before it.
    pg.exec(&format!(
        "INSERT INTO {t} (v) VALUES ('early1'), ('early2');"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (worker, _) = worker_json(d, "");
    let safe_inc = unique("jlate-safe-inc");
    let safe_ts = unique("jlate-safe-ts");
    let plain = unique("jlate-plain");
    for x in [&safe_inc, &safe_ts, &plain] {
        create_topic(x, 1);
    }
    let q = format!("SELECT * FROM {t}");
    let c1 = connector(d, &format!("{}-1", t), &format!("  mode: incrementing\n  incrementing.column.name: id\n  query: {q}\n  topic.prefix: {safe_inc}\n"));
    let c2 = connector(d, &format!("{}-2", t), &format!("  mode: timestamp\n  timestamp.column.name: created_at\n  query: {q}\n  topic.prefix: {safe_ts}\n"));
    let c3 = connector(d, &format!("{}-3", t), &format!("  mode: incrementing\n  incrementing.column.name: id\n  query: {q}\n  topic.prefix: {plain}\n  postgres.safe.mode: false\n"));
    let mut w = Sluice::standalone(d, &worker, &[&c1, &c2, &c3]);
    // Plain polling publishes the two early rows and moves its offset past id 1.
    wait_records(&plain, 2, Duration::from_secs(60), &w);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        end_offset(&safe_inc),
        0,
        "safe mode waits for the open transaction"
    );
    assert_eq!(
        end_offset(&safe_ts),
        0,
        "safe mode waits for the open transaction"
    );
    late.exec("COMMIT;");
    wait_records(&safe_inc, 3, Duration::from_secs(30), &w);
    wait_records(&safe_ts, 3, Duration::from_secs(30), &w);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(w.terminate().success());
    let v = |topic: &str| -> Vec<String> {
        values(topic)
            .iter()
            .map(|x| x["payload"]["v"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(v(&safe_inc), vec!["late", "early1", "early2"]);
    assert_eq!(v(&safe_ts), vec!["late", "early1", "early2"]);
    assert_eq!(
        v(&plain),
        vec!["early1", "early2"],
        "without safe mode the late row is skipped (the known pitfall)"
    );
}

#[test]
fn every_column_type_round_trips_through_the_json_envelope() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jtypes");
    pg.exec(&format!(
        "CREATE TABLE {t} (
            id int8 PRIMARY KEY, b bool, i2 int2, i4 int4, f4 float4, f8 float8,
            num numeric(12,3), num_any numeric, txt text, vc varchar(10), ch char(3),
            raw bytea, d date, tm time, ts timestamp, tstz timestamptz, u uuid,
            j json, jb jsonb, ia int4[], ta text[], iv interval, mood_enum_like inet);
         INSERT INTO {t} VALUES (1, true, -2, 40000, 1.5, 2.25, -12345.678, 3.14159, 'héllo', 'vc', 'ab',
            '\\x00ff10', '2024-02-29', '13:45:56.789', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05.678+02',
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{\"a\": 1}}', '{{\"b\": [1, 2]}}', '{{1,NULL,3}}', '{{x,y}}',
            '1 day 02:00:00', '10.0.0.1');
         INSERT INTO {t} (id) VALUES (2);"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jtypes"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: public.{t}\n  topic.prefix: {prefix}\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 2, Duration::from_secs(60), &w);
    assert!(w.terminate().success());
    let vals = values(&topic);
    let fields = vals[0]["schema"]["fields"].as_array().unwrap().clone();
    let f = |name: &str| -> Json {
        let mut x = fields
            .iter()
            .find(|x| x["field"] == name)
            .unwrap_or_else(|| panic!("no field {}", name))
            .clone();
        x.as_object_mut().unwrap().remove("field");
        x
    };
    let opt = |ty: &str| json!({"type": ty, "optional": true});
    assert_eq!(f("id"), json!({"type":"int64","optional":false}));
    assert_eq!(f("b"), opt("boolean"));
    assert_eq!(f("i2"), opt("int16"));
    assert_eq!(f("i4"), opt("int32"));
    assert_eq!(f("f4"), opt("float"));
    assert_eq!(f("f8"), opt("double"));
    assert_eq!(
        f("num"),
        json!({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"3","connect.decimal.precision":"12"}})
    );
    // Unbounded numeric: Confluent's Decimal with scale 127 (and precision 0).
    assert_eq!(
        f("num_any"),
        json!({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"127","connect.decimal.precision":"0"}})
    );
    for s in ["txt", "vc", "ch", "u", "j", "jb", "iv", "mood_enum_like"] {
        assert_eq!(f(s), opt("string"), "{}", s);
    }
    assert_eq!(f("raw"), opt("bytes"));
    assert_eq!(
        f("d"),
        json!({"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1})
    );
    assert_eq!(
        f("tm"),
        json!({"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Time","version":1})
    );
    for s in ["ts", "tstz"] {
        assert_eq!(
            f(s),
            json!({"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1})
        );
    }
    assert_eq!(
        f("ia"),
        json!({"type":"array","items":{"type":"int32","optional":true},"optional":true})
    );
    assert_eq!(
        f("ta"),
        json!({"type":"array","items":{"type":"string","optional":true},"optional":true})
    );
    let p = &vals[0]["payload"];
    assert_eq!(p["id"], json!(1));
    assert_eq!(p["b"], json!(true));
    assert_eq!(p["i2"], json!(-2));
    assert_eq!(p["i4"], json!(40000));
    assert_eq!(p["f4"], json!(1.5));
    assert_eq!(p["f8"], json!(2.25));
    // -12345.678 at scale 3 = unscaled -12345678 = 0xFF439EB2 (two's complement).
    assert_eq!(p["num"], json!("/0Oesg=="));
    // 3.14159 at scale 127: unscaled 314159 * 10^122.
    assert_eq!(
        p["num_any"],
        json!("ALmj0AilPz5MKYee2FRHnBNunzVnhcW5obxMNsErgn/rlrDHz3ncAAAAAAAAAAAAAAAAAAAA")
    );
    assert_eq!(p["txt"], json!("héllo"));
    assert_eq!(p["vc"], json!("vc"));
    assert_eq!(p["ch"], json!("ab "));
    assert_eq!(p["raw"], json!("AP8Q"));
    assert_eq!(p["d"], json!(19782));
    assert_eq!(p["tm"], json!(49_556_789));
    assert_eq!(p["ts"], json!(1_704_164_645_678i64));
    assert_eq!(p["tstz"], json!(1_704_164_645_678i64 - 7_200_000));
    assert_eq!(p["u"], json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    assert_eq!(p["j"], json!("{\"a\": 1}"));
    assert_eq!(p["jb"], json!("{\"b\": [1, 2]}"));
    assert_eq!(p["ia"], json!([1, null, 3]));
    assert_eq!(p["ta"], json!(["x", "y"]));
    assert_eq!(p["iv"], json!("1 day 02:00:00"));
    assert_eq!(p["mood_enum_like"], json!("10.0.0.1/32"));
    // The row of NULLs: every optional field is null.
    let p2 = vals[1]["payload"].as_object().unwrap();
    assert_eq!(p2["id"], json!(2));
    assert!(p2
        .iter()
        .filter(|(k, _)| *k != "id")
        .all(|(_, v)| v.is_null()));
}

fn vm_hwm_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{}/status", pid)).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Streams a table of `n` rows; returns the worker's peak RSS in kB.
fn stream_table_peak_rss(pg: &Pg, n: i64) -> u64 {
    let t = table("jbig");
    pg.exec(&format!(
        "CREATE TABLE {t} (id int8 PRIMARY KEY, a text NOT NULL, b int4, c float8);
         INSERT INTO {t} SELECT g, 'row number ' || g, g % 1000, g * 0.5 FROM generate_series(1, {n}) g;"
    ));
    pg.exec(&format!("VACUUM ANALYZE {t}"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jbig"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let (worker, _) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  batch.max.rows: 2000\n  value.converter.schemas.enable: false\n  key.converter.schemas.enable: false\n"),
    );
    let started = Instant::now();
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let deadline = Instant::now() + Duration::from_secs(240);
    // Done when the stored offset (written only after Kafka acknowledged) reaches n.
    while stored_incrementing(d) != Some(n) {
        assert!(
            Instant::now() < deadline,
            "{} rows not streamed in time; log:\n{}",
            n,
            tail(&w.log_text())
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let hwm = vm_hwm_kb(w.pid());
    eprintln!(
        "{} rows streamed in {:?}; worker peak RSS {} kB",
        n,
        started.elapsed(),
        hwm
    );
    assert!(w.terminate().success());
    assert!(end_offset(&topic) >= n, "every row is in Kafka");
    pg.exec(&format!("DROP TABLE {t}"));
    hwm
}

#[test]
fn a_million_rows_stream_with_bounded_memory() {
    let _db = shared_db();
    let pg = Pg::connect();
    // Memory is bounded by two FETCHes (max(batch.max.rows, 5000) rows each) plus the
    // runtime's in-flight window (at most 200,000 records sent but not yet acknowledged
    // by Kafka), not by the table. How much of the window fills depends on how far
    // Kafka lags behind, so the peak varies between runs, but a four times larger table
    // must not need anywhere near four times the memory (row data alone would double
    // it), and the peak stays under a fixed ceiling.
    let small = stream_table_peak_rss(&pg, 250_000);
    let large = stream_table_peak_rss(&pg, 1_000_000);
    eprintln!("peak RSS: 250k rows {} kB, 1M rows {} kB", small, large);
    assert!(
        large < 2 * small && large < 192 * 1024,
        "peak RSS grows with the table: {} kB for 250k rows, {} kB for 1M rows",
        small,
        large
    );
}

#[test]
fn database_restart_mid_stream_loses_nothing_and_shows_in_the_status() {
    let _db = DB.write().unwrap_or_else(|e| e.into_inner());
    let pg = Pg::connect();
    let t = table("jdbdown");
    const N: i64 = 30_000;
    pg.exec(&format!(
        "CREATE TABLE {t} (id bigserial PRIMARY KEY, v text NOT NULL);
         INSERT INTO {t} (v) SELECT 'first' || g FROM generate_series(1, {N}) g;"
    ));
    drop(pg);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jdbdown"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let (worker, port) = worker_json(d, "");
    let c = connector(
        d,
        &t,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  batch.max.rows: 100\n  connection.attempts: 1\n  connection.backoff.ms: 100\n  errors.retry.timeout: -1\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 1, Duration::from_secs(60), &w);
    let ctl = |what: &str| {
        let st = std::process::Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", "15", "main", what])
            .status()
            .unwrap();
        assert!(st.success(), "pg_ctlcluster {} failed", what);
    };
    ctl("stop");
    let postgres = Restore::new(|| {
        let _ = std::process::Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", "15", "main", "start"])
            .status();
    });
    let api = Api::new(port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    while Instant::now() < deadline {
        let s = api.get(&format!("/connectors/{}/status", t)).body;
        let task = &s["tasks"][0];
        if let Some(detail) = task["detail"].as_str() {
            if detail.contains("retrying") || detail.contains("connect") {
                assert_eq!(task["state"], "RUNNING", "retried, not failed: {}", s);
                seen = detail.to_string();
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    postgres.now();
    ctl("status");
    assert!(!seen.is_empty(), "the task status showed the outage");
    eprintln!("status while the database was down: {}", seen);
    let pg = Pg::connect();
    pg.exec(&format!(
        "INSERT INTO {t} (v) SELECT 'second' || g FROM generate_series(1, 1000) g;"
    ));
    wait_records(&topic, N + 1000, Duration::from_secs(120), &w);
    std::thread::sleep(Duration::from_millis(1000));
    assert!(w.terminate().success());
    let ids: BTreeSet<i64> = payload_ids(&values(&topic)).into_iter().collect();
    assert_eq!(ids, (1..=N + 1000).collect::<BTreeSet<_>>(), "nothing lost");
}

#[test]
fn validate_lists_every_problem() {
    let _db = shared_db();
    let pg = Pg::connect();
    let t = table("jval");
    pg.exec(&format!("CREATE TABLE {t} (id int, name text);"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.properties");
    std::fs::write(
        &p,
        format!("name=bad\nconnector.class=io.confluent.connect.jdbc.JdbcSourceConnector\nconnection.url={PG_URL}\nmode=timestamp+incrementing\nincrementing.column.name=nope\ntimestamp.column.name=name\ntable.whitelist={t},missing_table_x\ntopic.prefix=x-\n"),
    )
    .unwrap();
    let (code, out, err) = run_cli(&["validate", p.to_str().unwrap()]);
    let all = format!("{}{}", out, err);
    assert_ne!(code, 0, "{}", all);
    assert!(
        all.contains("has no column \\\"nope\\\"") || all.contains("has no column \"nope\""),
        "{}",
        all
    );
    assert!(all.contains("not timestamp or timestamptz"), "{}", all);
    assert!(all.contains("missing_table_x"), "{}", all);
    let q = dir.path().join("badq.properties");
    std::fs::write(
        &q,
        format!("name=badq\nconnector.class=jdbc-source\nconnection.url={PG_URL}\nmode=bulk\nquery=SELECT no_such_column FROM {t}\ntopic.prefix=x\n"),
    )
    .unwrap();
    let (code, out, err) = run_cli(&["validate", q.to_str().unwrap()]);
    let all = format!("{}{}", out, err);
    assert_ne!(code, 0, "{}", all);
    assert!(all.contains("no_such_column"), "{}", all);

    // The REST validate endpoint lists the same problems, on their keys.
    let (worker, port) = worker_json(dir.path(), "");
    let mut w = Sluice::standalone(dir.path(), &worker, &[]);
    let api = Api::new(port);
    api.wait_ready();
    let r = api.put(
        "/connector-plugins/jdbc-source/config/validate",
        &json!({
            "connector.class": "jdbc-source",
            "name": "bad",
            "connection.url": PG_URL,
            "mode": "timestamp+incrementing",
            "incrementing.column.name": "nope",
            "timestamp.column.name": "name",
            "table.whitelist": format!("{},missing_table_x", t),
            "topic.prefix": "x-",
        }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["error_count"].as_i64().unwrap() >= 3, "{}", r.body);
    let errors_of = |key: &str| -> String {
        r.body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"]["name"] == key)
            .map(|c| c["value"]["errors"].to_string())
            .unwrap_or_default()
    };
    assert!(
        errors_of("incrementing.column.name").contains("nope"),
        "{}",
        r.body
    );
    assert!(
        errors_of("timestamp.column.name").contains("not timestamp"),
        "{}",
        r.body
    );
    assert!(
        errors_of("table.whitelist").contains("missing_table_x"),
        "{}",
        r.body
    );
    assert!(w.terminate().success());
}

#[test]
fn tables_are_split_over_tasks_and_new_tables_are_discovered() {
    let _db = shared_db();
    let pg = Pg::connect();
    let schema = table("jsplit");
    pg.exec(&format!(
        "CREATE SCHEMA {schema};
         CREATE TABLE {schema}.a (id serial PRIMARY KEY, v text);
         CREATE TABLE {schema}.b (id serial PRIMARY KEY, v text);
         CREATE TABLE {schema}.\"odd \"\"name\" (id serial PRIMARY KEY, v text);
         INSERT INTO {schema}.a (v) VALUES ('a1');
         INSERT INTO {schema}.b (v) VALUES ('b1');
         INSERT INTO {schema}.\"odd \"\"name\" (v) VALUES ('o1');"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let prefix = format!("{}-", unique("jsplit"));
    for t in ["a", "b", "c", "odd"] {
        create_topic(&format!("{}{}", prefix, t), 1);
    }
    let (worker, port) = worker_json(d, "");
    let name = schema.clone();
    let c = connector(
        d,
        &name,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  schema.pattern: {schema}\n  table.blacklist: {schema}.b\n  topic.prefix: {prefix}\n  tasks.max: 2\n  table.poll.interval.ms: 500\n  transforms: rt\n  transforms.rt.type: org.apache.kafka.connect.transforms.RegexRouter\n  transforms.rt.regex: '(.*)odd \"name'\n  transforms.rt.replacement: '$1odd'\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&format!("{}a", prefix), 1, Duration::from_secs(60), &w);
    // A table name with a space and a quote is read (identifiers are quoted); its
    // topic name, invalid in Kafka, is rewritten by RegexRouter.
    wait_records(&format!("{}odd", prefix), 1, Duration::from_secs(60), &w);
    let api = Api::new(port);
    let tasks = api.get(&format!("/connectors/{}/tasks", name)).body;
    let assigned: Vec<String> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["config"]["tables"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        assigned.len(),
        2,
        "two tables over two tasks: {:?}",
        assigned
    );
    let b = format!("\"{}.b\"", schema);
    assert!(
        assigned.iter().all(|a| !a.contains(&b)),
        "blacklisted: {:?}",
        assigned
    );
    // A table created while running is discovered and read.
    pg.exec(&format!(
        "CREATE TABLE {schema}.c (id serial PRIMARY KEY, v text); INSERT INTO {schema}.c (v) VALUES ('c1'), ('c2');"
    ));
    wait_records(&format!("{}c", prefix), 2, Duration::from_secs(60), &w);
    assert!(w.terminate().success());
    assert_eq!(
        end_offset(&format!("{}b", prefix)),
        0,
        "the blacklisted table is not read"
    );
}

#[test]
fn the_example_config_validates_against_the_test_stack() {
    let _db = shared_db();
    let pg = Pg::connect();
    // The table configs/jdbc-source.yaml reads (as its comment says).
    pg.exec(
        "CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer text NOT NULL,
           total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
           updated_at timestamptz);",
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/jdbc-source.yaml");
    let (code, out, err) = run_cli(&["validate", path]);
    assert_eq!(code, 0, "{}{}", out, err);
    assert!(
        out.contains("OK (connector pg-orders, jdbc-source)"),
        "{}",
        out
    );
}
