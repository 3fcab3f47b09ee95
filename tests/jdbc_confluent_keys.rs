//! The JDBC source's keys that change data the way Confluent's connector does, against
//! the stack's PostgreSQL 15 and Kafka: `numeric.mapping` (every mapping, unbounded
//! numeric as Decimal(127)), the record key per connector class and `record.key`,
//! offsets stored by Confluent under a three-part `db.schema.table` partition, and
//! `query.suffix`, `quote.sql.identifiers`, `transaction.isolation.mode`,
//! `timestamp.granularity`, `query.retry.attempts` and
//! `table.monitoring.startup.polling.limit.ms`.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use pg::Pg;
use serde_json::{json, Value as Json};

const PG_URL: &str = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
const CONFLUENT: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";

/// A fresh table name (also used in topic names; topics are never reused).
fn table(prefix: &str) -> String {
    unique(prefix).replace('-', "_")
}

/// A connector file: `class`, the JsonConverter with schemas for keys and values, and
/// `body` (indented YAML lines).
fn connector(dir: &Path, name: &str, class: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nconfig:\n  connector.class: {class}\n  connection.url: \"{PG_URL}\"\n  poll.interval.ms: 300\n  key.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n{body}"
        ),
    )
    .unwrap();
    p
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

/// Big-endian two's complement bytes (a Connect Decimal's unscaled value) as a decimal
/// integer string, by long division (independent of the connector's encoder).
fn unscaled(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (s, o) = b.overflowing_add(1);
            *b = s;
            if !o {
                break;
            }
        }
    }
    let mut digits = Vec::new();
    while mag.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in mag.iter_mut() {
            let cur = (rem << 8) | *b as u32;
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(char::from(b'0' + rem as u8));
    }
    if digits.is_empty() {
        digits.push('0');
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

fn decimal_field(v: &Json) -> String {
    let b = base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_else(|| panic!("not base64: {}", v)))
        .unwrap();
    unscaled(&b)
}

fn decimal_schema(scale: i32, precision: i32) -> Json {
    json!({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,
           "parameters":{"scale":scale.to_string(),"connect.decimal.precision":precision.to_string()}})
}

fn field_schema(envelope: &Json, name: &str) -> Json {
    let mut f = envelope["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["field"] == name)
        .unwrap_or_else(|| panic!("no field {} in {}", name, envelope["schema"]))
        .clone();
    f.as_object_mut().unwrap().remove("field");
    f
}

#[test]
fn numeric_mappings_and_the_record_key_per_class() {
    let pg = Pg::connect();
    let t = table("jnum");
    pg.exec(&format!(
        "CREATE TABLE {t} (id int PRIMARY KEY, n5 numeric(5,0), n12 numeric(12,0), n20 numeric(20,0),
            n10_2 numeric(10,2), n30_5 numeric(30,5), nneg numeric(5,-2), nany numeric);
         INSERT INTO {t} VALUES
            (1, 12345, 123456789012, 12345678901234567890, 12345678.91,
             1234567890123456789012345.12345, 12300, 12.12),
            (2, -1, -1, -1, -0.5, -0.00001, -100, 1e30),
            (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL);"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    // (mapping, class, record.key, key expected)
    let runs = [
        ("none", CONFLUENT, None, false),
        ("best_fit", "jdbc-source", None, true),
        ("precision_only", CONFLUENT, Some("primary.key"), true),
        ("best_fit_eager_double", "jdbc-source", Some("none"), false),
    ];
    let mut files = Vec::new();
    let mut topics = Vec::new();
    for (mapping, class, key, _) in runs {
        let prefix = format!("{}-", unique(&format!("jnum-{}", mapping.replace('_', ""))));
        let topic = format!("{}{}", prefix, t);
        create_topic(&topic, 1);
        let key_line = key.map_or(String::new(), |k| format!("  record.key: {k}\n"));
        files.push(connector(
            d,
            &format!("{}-{}", t, mapping),
            class,
            &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  numeric.mapping: {mapping}\n{key_line}"),
        ));
        topics.push(topic);
    }
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let mut w = Sluice::standalone(d, &worker, &refs);
    for topic in &topics {
        wait_records(topic, 3, Duration::from_secs(60), &w);
    }
    assert!(w.terminate().success());

    let int = |ty: &str| json!({"type": ty, "optional": true});
    let dbl = json!({"type":"double","optional":true});
    let big = "123456789012345678901234512345";
    for ((mapping, _, _, keyed), topic) in runs.iter().zip(&topics) {
        let msgs = read_all(topic);
        assert_eq!(msgs.len(), 3, "{}", mapping);
        let v: Vec<Json> = msgs
            .iter()
            .map(|m| serde_json::from_str(m.value_str()).unwrap())
            .collect();
        let s = |name: &str| field_schema(&v[0], name);
        let p = |row: usize, name: &str| v[row]["payload"][name].clone();
        // Unbounded numeric: Decimal(127) with precision 0, under every mapping.
        assert_eq!(s("nany"), decimal_schema(127, 0), "{}", mapping);
        assert_eq!(
            decimal_field(&p(0, "nany")),
            format!("1212{}", "0".repeat(125))
        );
        assert_eq!(
            decimal_field(&p(1, "nany")),
            format!("1{}", "0".repeat(157))
        );
        // numeric(20,0) never fits an integer.
        assert_eq!(s("n20"), decimal_schema(0, 20), "{}", mapping);
        assert_eq!(decimal_field(&p(0, "n20")), "12345678901234567890");
        assert_eq!(decimal_field(&p(1, "n20")), "-1");
        match *mapping {
            "none" => {
                assert_eq!(s("n5"), decimal_schema(0, 5));
                assert_eq!(s("n12"), decimal_schema(0, 12));
                assert_eq!(s("n10_2"), decimal_schema(2, 10));
                assert_eq!(s("n30_5"), decimal_schema(5, 30));
                assert_eq!(s("nneg"), decimal_schema(-2, 5));
                assert_eq!(decimal_field(&p(0, "n5")), "12345");
                assert_eq!(decimal_field(&p(0, "n12")), "123456789012");
                assert_eq!(decimal_field(&p(0, "n10_2")), "1234567891");
                assert_eq!(decimal_field(&p(1, "n10_2")), "-50");
                assert_eq!(decimal_field(&p(0, "n30_5")), big);
                assert_eq!(decimal_field(&p(1, "n30_5")), "-1");
                assert_eq!(decimal_field(&p(0, "nneg")), "123");
                assert_eq!(decimal_field(&p(1, "nneg")), "-1");
            }
            "precision_only" => {
                assert_eq!(s("n5"), int("int32"));
                assert_eq!(s("n12"), int("int64"));
                assert_eq!(s("n10_2"), decimal_schema(2, 10));
                assert_eq!(s("n30_5"), decimal_schema(5, 30));
                assert_eq!(s("nneg"), decimal_schema(-2, 5));
                assert_eq!(p(0, "n5"), json!(12345));
                assert_eq!(p(0, "n12"), json!(123456789012i64));
                assert_eq!(p(1, "n12"), json!(-1));
                assert_eq!(decimal_field(&p(0, "n10_2")), "1234567891");
            }
            "best_fit" => {
                assert_eq!(s("n5"), int("int32"));
                assert_eq!(s("n12"), int("int64"));
                assert_eq!(s("n10_2"), dbl);
                assert_eq!(s("n30_5"), decimal_schema(5, 30));
                assert_eq!(s("nneg"), int("int32"));
                assert_eq!(p(0, "n10_2"), json!(12345678.91));
                assert_eq!(p(1, "n10_2"), json!(-0.5));
                assert_eq!(decimal_field(&p(0, "n30_5")), big);
                assert_eq!(p(0, "nneg"), json!(12300));
                assert_eq!(p(1, "nneg"), json!(-100));
            }
            _ => {
                assert_eq!(s("n5"), int("int32"));
                assert_eq!(s("n12"), int("int64"));
                assert_eq!(s("n10_2"), dbl);
                assert_eq!(s("n30_5"), dbl);
                assert_eq!(s("nneg"), int("int32"));
                assert_eq!(
                    p(0, "n30_5"),
                    json!("1234567890123456789012345.12345".parse::<f64>().unwrap())
                );
                assert_eq!(p(1, "n30_5"), json!(-0.00001));
                assert_eq!(p(0, "n5"), json!(12345));
            }
        }
        // The row of NULLs.
        for c in ["n5", "n12", "n20", "n10_2", "n30_5", "nneg", "nany"] {
            assert!(p(2, c).is_null(), "{} {}", mapping, c);
        }
        // The key: a null key (Confluent's) or the primary key struct.
        for (i, m) in msgs.iter().enumerate() {
            if *keyed {
                let k: Json = serde_json::from_str(m.key_str().expect("a key")).unwrap();
                assert_eq!(
                    k,
                    json!({"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],
                        "optional":false,"name":format!("{}.Key", t)},"payload":{"id": i + 1}}),
                    "{}",
                    mapping
                );
            } else {
                assert_eq!(m.key, None, "{}: a null key, as Confluent writes", mapping);
            }
        }
    }
}

/// The stored offsets of a standalone worker: (partition, value) pairs.
fn stored_offsets(dir: &Path) -> Vec<(Json, Json)> {
    let text = std::fs::read_to_string(dir.join("offsets.json")).unwrap();
    let v: Json = serde_json::from_str(&text).unwrap();
    v["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["key"][1].clone(), o["value"].clone()))
        .collect()
}

#[test]
fn offsets_stored_by_confluent_under_db_schema_table_are_resumed_and_kept() {
    let pg = Pg::connect();
    let t = table("jcoff");
    pg.exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, v text NOT NULL);
         INSERT INTO {t} (v) SELECT 'r' || g FROM generate_series(1, 5) g;"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = format!("{}-conn", t);
    // As Confluent's connector stores it (pgJDBC names the database as the catalog).
    let three_part = json!({"protocol": "1", "table": format!("test.public.{}", t)});
    std::fs::write(
        d.join("offsets.json"),
        serde_json::to_string(&json!({"version": 1, "offsets": [
            {"key": [name, three_part], "value": {"incrementing": 3}}
        ]}))
        .unwrap(),
    )
    .unwrap();
    let prefix = format!("{}-", unique("jcoff"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let worker = worker_yaml(d, free_port(), "");
    let c = connector(
        d,
        &name,
        CONFLUENT,
        &format!("  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_records(&topic, 2, Duration::from_secs(60), &w);
    pg.exec(&format!("INSERT INTO {t} (v) VALUES ('r6');"));
    wait_records(&topic, 3, Duration::from_secs(30), &w);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(w.terminate().success());
    let ids: Vec<i64> = read_all(&topic)
        .iter()
        .map(|m| {
            serde_json::from_str::<Json>(m.value_str()).unwrap()["payload"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        vec![4, 5, 6],
        "resumed after Confluent's offset, nothing re-read"
    );
    let stored = stored_offsets(d);
    assert_eq!(
        stored,
        vec![(three_part, json!({"incrementing": 6}))],
        "still written under Confluent's three-part partition, no second partition"
    );
}

/// Waits until the connector's task 0 is FAILED and returns its trace.
fn wait_task_failed(api: &Api, name: &str, w: &Sluice) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = api.get(&format!("/connectors/{}/status", name));
        if r.body["tasks"][0]["state"] == "FAILED" {
            return r.body["tasks"][0]["trace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        if Instant::now() > deadline {
            panic!("{} did not fail: {}\n{}", name, r.text, tail(&w.log_text()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn payloads(topic: &str) -> Vec<Json> {
    read_all(topic)
        .iter()
        .map(|m| serde_json::from_str::<Json>(m.value_str()).unwrap()["payload"].clone())
        .collect()
}

#[test]
fn suffix_quoting_isolation_and_timestamp_granularity_as_confluent() {
    let pg = Pg::connect();
    let t = table("jsmall");
    let mixed = format!("Mixed_{}", t);
    pg.exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, ts timestamp NOT NULL, tstz timestamptz NOT NULL);
         INSERT INTO {t} (ts, tstz) VALUES
            ('2024-01-02 03:04:05.678901', '2024-01-02 03:04:05.678901+02'),
            ('1969-12-31 23:59:59.5', '1969-12-31 23:59:59.5+00'),
            ('2024-07-01 00:00:00', '2024-07-01 00:00:00+00');
         CREATE TABLE \"{mixed}\" (id int PRIMARY KEY);
         INSERT INTO \"{mixed}\" VALUES (1);"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let base = unique("jsmall");
    let inc = "  mode: incrementing\n  incrementing.column.name: id\n";
    // (name suffix, body); each writes to the topic <base>-<suffix>-<table>
    let runs: Vec<(&str, String)> = vec![
        ("iso", format!("{inc}  query: SELECT id, current_setting('transaction_isolation') AS iso FROM {t}\n  transaction.isolation.mode: REPEATABLE_READ\n")),
        ("isodefault", format!("{inc}  query: SELECT id, current_setting('transaction_isolation') AS iso FROM {t}\n")),
        ("suffix", format!("  mode: bulk\n  table.whitelist: {t}\n  query.suffix: LIMIT 2\n")),
        ("never", format!("{inc}  table.whitelist: {t}\n  quote.sql.identifiers: never\n")),
        ("nevermixed", format!("{inc}  table.whitelist: {mixed}\n  quote.sql.identifiers: never\n")),
        ("nanoslong", format!("{inc}  table.whitelist: {t}\n  timestamp.granularity: nanos_long\n")),
        ("nanosstring", format!("{inc}  table.whitelist: {t}\n  timestamp.granularity: nanos_string\n")),
        ("nanosiso", format!("{inc}  table.whitelist: {t}\n  timestamp.granularity: nanos_iso_datetime_string\n  db.timezone: Europe/Paris\n")),
        ("microsiso", format!("{inc}  table.whitelist: {t}\n  timestamp.granularity: MICROS_ISO_DATETIME_STRING\n")),
    ];
    let mut files = Vec::new();
    let mut topics = std::collections::HashMap::new();
    for (suffix, body) in &runs {
        let prefix = format!("{}-{}-", base, suffix);
        // query mode writes to the prefix itself
        let topic = if body.contains("query:") {
            prefix.clone()
        } else if *suffix == "nevermixed" {
            format!("{}{}", prefix, mixed)
        } else {
            format!("{}{}", prefix, t)
        };
        create_topic(&topic, 1);
        topics.insert(*suffix, topic);
        files.push(connector(
            d,
            &format!("{}-{}", t, suffix),
            CONFLUENT,
            &format!("{body}  topic.prefix: {prefix}\n"),
        ));
    }
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let mut w = Sluice::standalone(d, &worker, &refs);
    let api = Api::new(port);
    for (suffix, topic) in &topics {
        let n = match *suffix {
            "nevermixed" => continue,
            "suffix" => 4, // two passes of LIMIT 2
            _ => 3,
        };
        wait_records(topic, n, Duration::from_secs(60), &w);
    }
    // quote.sql.identifiers=never: the mixed-case name is folded to lower case by
    // PostgreSQL, as with Confluent's connector.
    let trace = wait_task_failed(&api, &format!("{}-nevermixed", t), &w);
    assert!(
        trace.contains(&format!(
            "relation \"public.{}\" does not exist",
            mixed.to_lowercase()
        )),
        "{}",
        trace
    );
    assert!(w.terminate().success());

    // transaction.isolation.mode
    for p in payloads(&topics["iso"]) {
        assert_eq!(p["iso"], json!("repeatable read"));
    }
    for p in payloads(&topics["isodefault"]) {
        assert_eq!(p["iso"], json!("read committed"));
    }
    // query.suffix: every bulk pass reads LIMIT 2 rows.
    let suffix_rows = payloads(&topics["suffix"]);
    let mut ids: Vec<i64> = suffix_rows
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 4, "{:?}", ids);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2, "only two rows per pass: {:?}", ids);
    // never on plain names works.
    assert_eq!(payloads(&topics["never"]).len(), 3);

    // timestamp.granularity, with the schema of each form.
    let first: Json = serde_json::from_str(read_all(&topics["nanoslong"])[0].value_str()).unwrap();
    assert_eq!(
        field_schema(&first, "ts"),
        json!({"type":"int64","optional":false})
    );
    let p = payloads(&topics["nanoslong"]);
    let ts1 = 1_704_164_645_678_901i64; // 2024-01-02 03:04:05.678901 UTC, microseconds
    assert_eq!(p[0]["ts"], json!(ts1 * 1000));
    assert_eq!(p[0]["tstz"], json!((ts1 - 7_200_000_000) * 1000));
    assert_eq!(p[1]["ts"], json!(-500_000_000i64), "before 1970");
    let first: Json =
        serde_json::from_str(read_all(&topics["nanosstring"])[0].value_str()).unwrap();
    assert_eq!(
        field_schema(&first, "tstz"),
        json!({"type":"string","optional":false})
    );
    let p = payloads(&topics["nanosstring"]);
    assert_eq!(p[0]["ts"], json!((ts1 * 1000).to_string()));
    assert_eq!(p[1]["tstz"], json!("-500000000"));
    let p = payloads(&topics["nanosiso"]);
    // db.timezone Europe/Paris: timestamp as stored, timestamptz in Paris time.
    assert_eq!(p[0]["ts"], json!("2024-01-02T03:04:05.678901000"));
    assert_eq!(p[0]["tstz"], json!("2024-01-02T02:04:05.678901000"));
    assert_eq!(p[2]["tstz"], json!("2024-07-01T02:00:00.000000000"));
    let p = payloads(&topics["microsiso"]);
    assert_eq!(p[0]["ts"], json!("2024-01-02T03:04:05.678901"));
    assert_eq!(p[0]["tstz"], json!("2024-01-02T01:04:05.678901"));
    assert_eq!(p[1]["tstz"], json!("1969-12-31T23:59:59.500000"));
}

#[test]
fn query_retry_attempts_retries_then_fails_with_the_last_error() {
    let pg = Pg::connect();
    let t = table("jretry");
    pg.exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, v text NOT NULL);
         INSERT INTO {t} (v) VALUES ('a'), ('b'), ('c');"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let base = unique("jretry");
    let inc = "  mode: incrementing\n  incrementing.column.name: id\n";
    let (fails, recovers, at_once) = (
        format!("{}-fails", t),
        format!("{}-recovers", t),
        format!("{}-atonce", t),
    );
    let files = [
        // Division by zero at id 2: every pass fails.
        connector(d, &fails, CONFLUENT, &format!(
            "{inc}  query: SELECT id, 10 / (id - 2) AS x FROM {t}\n  query.retry.attempts: 2\n  topic.prefix: {base}-fails\n")),
        connector(d, &at_once, CONFLUENT, &format!(
            "{inc}  query: SELECT id, 10 / (id - 2) AS x FROM {t}\n  topic.prefix: {base}-atonce\n")),
        // Fails while the column is renamed away, then recovers.
        connector(d, &recovers, CONFLUENT, &format!(
            "{inc}  query: SELECT id, v FROM {t}\n  query.retry.attempts: 100\n  topic.prefix: {base}-recovers\n")),
    ];
    let recovers_topic = format!("{}-recovers", base);
    create_topic(&recovers_topic, 1);
    create_topic(&format!("{}-fails", base), 1);
    create_topic(&format!("{}-atonce", base), 1);
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let mut w = Sluice::standalone(d, &worker, &refs);
    let api = Api::new(port);
    wait_records(&recovers_topic, 3, Duration::from_secs(60), &w);
    pg.exec(&format!("ALTER TABLE {t} RENAME COLUMN v TO v_gone;"));
    wait_for(
        "two failed attempts of the renamed column",
        Duration::from_secs(30),
        || w.log_text().contains("(attempt 2 of 101)"),
    );
    pg.exec(&format!(
        "ALTER TABLE {t} RENAME COLUMN v_gone TO v; INSERT INTO {t} (v) VALUES ('d');"
    ));
    wait_records(&recovers_topic, 4, Duration::from_secs(30), &w);
    let r = api.get(&format!("/connectors/{}/status", recovers));
    assert_eq!(r.body["tasks"][0]["state"], "RUNNING", "{}", r.text);

    let trace = wait_task_failed(&api, &fails, &w);
    assert!(
        trace.contains("failed 3 times in a row (query.retry.attempts=2)")
            && trace.contains("division by zero"),
        "{}",
        trace
    );
    let log = w.log_text();
    for attempt in ["attempt 1 of 3", "attempt 2 of 3"] {
        assert!(
            log.contains(attempt),
            "{} not logged:\n{}",
            attempt,
            tail(&log)
        );
    }
    assert!(!log.contains("attempt 3 of 3"), "{}", tail(&log));
    // The default (-1): an error a retry cannot fix fails the task at once.
    let trace = wait_task_failed(&api, &at_once, &w);
    assert!(
        trace.contains("division by zero") && !trace.contains("times in a row"),
        "{}",
        trace
    );
    assert!(w.terminate().success());
    assert_eq!(end_offset(&format!("{}-fails", base)), 0);
    let ids: Vec<i64> = payloads(&recovers_topic)
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4],
        "nothing lost or repeated across the failures"
    );
}

/// A TCP proxy to PostgreSQL that forwards its first connection at once and holds
/// every later one until `release` (a database that is slow to answer). Returns its
/// port.
fn slow_pg_proxy(release: Instant) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(client) = conn else { continue };
            std::thread::spawn(move || {
                if n > 0 {
                    std::thread::sleep(release.saturating_duration_since(Instant::now()));
                }
                let Ok(server) = std::net::TcpStream::connect("127.0.0.1:5432") else {
                    return;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut c, mut s) = (client, server);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut s2);
                    let _ = s2.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut s, &mut c);
                let _ = c.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

#[test]
fn a_slow_first_table_listing_does_not_hold_the_connector_past_the_limit() {
    let pg = Pg::connect();
    let t = table("jslow");
    pg.exec(&format!(
        "CREATE TABLE {t} (id serial PRIMARY KEY, v text NOT NULL);
         INSERT INTO {t} (v) VALUES ('a'), ('b');"
    ));
    let release = Instant::now() + Duration::from_secs(12);
    let proxy = slow_pg_proxy(release);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let prefix = format!("{}-", unique("jslow"));
    let topic = format!("{}{}", prefix, t);
    create_topic(&topic, 1);
    let name = format!("{}-conn", t);
    // The validation's connection goes through at once; the connector's first table
    // listing waits for the release.
    let p = d.join(format!("{}.yaml", name));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nconfig:\n  connector.class: {CONFLUENT}\n  connection.url: \"jdbc:postgresql://127.0.0.1:{proxy}/test?user=postgres\"\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {t}\n  topic.prefix: {prefix}\n  poll.interval.ms: 300\n  table.monitoring.startup.polling.limit.ms: 500\n"
        ),
    )
    .unwrap();
    let mut w = Sluice::standalone(d, &worker, &[&p]);
    let api = Api::new(port);
    wait_for("the listing limit to pass", Duration::from_secs(10), || {
        w.log_text()
            .contains("table.monitoring.startup.polling.limit.ms=500 ms")
    });
    // The log line can come before the REST server listens.
    wait_for("the REST server", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let r = api.get(&format!("/connectors/{}/status", name));
    assert!(
        Instant::now() < release,
        "the proxy released too early for the check"
    );
    assert_eq!(r.body["connector"]["state"], "RUNNING", "{}", r.text);
    assert_eq!(
        r.body["tasks"],
        json!([]),
        "no tasks before the listing: {}",
        r.text
    );
    assert_eq!(end_offset(&topic), 0);
    // Once the database answers, the tables are listed, tasks configured, rows read.
    wait_records(&topic, 2, Duration::from_secs(60), &w);
    assert!(Instant::now() >= release);
    assert!(w.terminate().success());
}
