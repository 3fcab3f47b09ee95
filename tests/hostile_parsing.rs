//! Input built to exhaust the stack, the memory or the CPU, through the real `sluice`
//! binary and real servers: deeply nested JSON through the JsonConverter (schemas on and
//! off) and deeply nested BSON into the MongoDB sink (a record error: the task fails or
//! the record goes to the dead letter queue), REST bodies nested 100,000 levels (a 400),
//! YAML depth and alias bombs in a connectors folder (a config problem), and a 300 MB
//! line without a newline in a file source (skipped or failing, in bounded memory). The
//! worker stays alive throughout.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn dlq_keys(dlq: &str) -> String {
    format!(
        "  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.topic.replication.factor: 1\n  errors.deadletterqueue.context.headers.enable: true\n"
    )
}

fn task(api: &Api, name: &str) -> serde_json::Value {
    api.get(&format!("/connectors/{name}/status")).body["tasks"][0].clone()
}

fn wait_failed(api: &Api, name: &str) -> String {
    let mut st = serde_json::Value::Null;
    wait_for(&format!("{name} to fail"), Duration::from_secs(120), || {
        st = task(api, name);
        st["state"] == "FAILED"
    });
    st["trace"].as_str().unwrap_or_default().to_string()
}

fn dead_letter(dlq: &str) -> Msg {
    wait_for("the dead letter", Duration::from_secs(90), || {
        end_offset(dlq) >= 1
    });
    let dead = read_all(dlq);
    assert_eq!(dead.len(), 1, "{:?}", dead);
    dead.into_iter().next().unwrap()
}

/// `levels` nested arrays.
fn nested_json(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

#[test]
fn deeply_nested_json_is_a_record_error_with_schemas_on_and_off() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deep = nested_json(100_000);
    let mut cases = Vec::new();
    let mut files = Vec::new();
    for schemas in [false, true] {
        let (good1, bad, good2) = if schemas {
            (
                r#"{"schema":{"type":"string"},"payload":"one"}"#.to_string(),
                format!(r#"{{"schema":null,"payload":{deep}}}"#),
                r#"{"schema":{"type":"string"},"payload":"two"}"#.to_string(),
            )
        } else {
            (r#""one""#.to_string(), deep.clone(), r#""two""#.to_string())
        };
        let topic = unique("deep-json");
        create_topic(&topic, 1);
        produce(
            &topic,
            &[
                (None, Some(good1.as_bytes()), vec![]),
                (None, Some(bad.as_bytes()), vec![]),
                (None, Some(good2.as_bytes()), vec![]),
            ],
        );
        for tolerance in ["none", "all"] {
            let name = unique(&format!("deep-json-{schemas}-{tolerance}"));
            let dlq = unique("deep-json-dlq");
            let extra = if tolerance == "all" {
                dlq_keys(&dlq)
            } else {
                String::new()
            };
            files.push(write(
                &d.join(format!("{name}.yaml")),
                &format!(
                    "name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}/{name}.txt\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: {schemas}\n{extra}",
                    d.display()
                ),
            ));
            cases.push((schemas, tolerance, topic.clone(), name, dlq, bad.len()));
        }
    }
    let port = free_port();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &paths);
    let api = Api::new(port);
    api.wait_ready();
    for (schemas, tolerance, topic, name, dlq, bad_len) in &cases {
        let what = format!("schemas.enable={schemas} errors.tolerance={tolerance}");
        let out = d.join(format!("{name}.txt"));
        if *tolerance == "none" {
            let trace = wait_failed(&api, name);
            assert!(
                trace.contains("128 levels")
                    && trace.contains(&format!("topic={topic} partition=0 offset=1")),
                "{what}: {trace}"
            );
            assert_eq!(lines(&out), vec!["one"], "{what}");
        } else {
            wait_for(&what, Duration::from_secs(90), || lines(&out).len() >= 2);
            assert_eq!(lines(&out), vec!["one", "two"], "{what}");
            let m = dead_letter(dlq);
            assert_eq!(
                m.value.as_ref().map(Vec::len),
                Some(*bad_len),
                "the original bytes"
            );
            assert!(
                m.header("__connect.errors.exception.message")
                    .unwrap_or_default()
                    .contains("128 levels"),
                "{what}: {:?}",
                m.headers
            );
            assert_eq!(task(&api, name)["state"], "RUNNING", "{what}");
        }
    }
    assert_eq!(api.get("/").status, 200);
    assert!(w.terminate().success(), "{}", w.log_text());
}

/// A BSON document nesting `levels` documents (the top one included).
fn nested_bson(levels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(levels * 8);
    for k in 0..levels - 1 {
        let len = 5 + 8 * (levels - 1 - k) as i32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&[0x03, b'a', 0]);
    }
    out.extend_from_slice(&[5, 0, 0, 0, 0]);
    out.extend(std::iter::repeat_n(0u8, levels - 1));
    out
}

fn mongo_ids(coll: &str) -> Vec<i32> {
    use mongodb::bson::{doc, Document};
    let uri =
        std::env::var("SLUICE_TEST_MONGODB").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
    block_on(async {
        use futures::TryStreamExt;
        let c = mongodb::Client::with_uri_str(uri).await.unwrap();
        let docs: Vec<Document> = c
            .database("sluice_test")
            .collection::<Document>(coll)
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        docs.iter().map(|d| d.get_i32("_id").unwrap()).collect()
    })
}

#[test]
fn deeply_nested_bson_into_the_mongodb_sink_is_a_record_error() {
    use mongodb::bson::doc;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bson = |id: i32| {
        let mut raw = Vec::new();
        doc! {"_id": id, "ok": true}.to_writer(&mut raw).unwrap();
        raw
    };
    // 120,000 levels: 960 KB, under Kafka's default message size.
    let deep = nested_bson(120_000);
    let (one, two) = (bson(1), bson(2));
    let mut cases = Vec::new();
    let mut files = Vec::new();
    for tolerance in ["none", "all"] {
        let topic = unique("deep-bson");
        create_topic(&topic, 1);
        produce(
            &topic,
            &[
                (None, Some(&one), vec![]),
                (None, Some(&deep), vec![]),
                (None, Some(&two), vec![]),
            ],
        );
        let name = unique(&format!("deep-bson-{tolerance}"));
        let coll = unique("deep");
        let dlq = unique("deep-bson-dlq");
        let extra = if tolerance == "all" {
            dlq_keys(&dlq)
        } else {
            String::new()
        };
        let uri = std::env::var("SLUICE_TEST_MONGODB")
            .unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
        files.push(write(
            &d.join(format!("{name}.yaml")),
            &format!(
                "name: {name}\nconfig:\n  connector.class: mongodb-sink\n  topics: {topic}\n  connection.uri: {uri}\n  database: sluice_test\n  collection: {coll}\n  value.converter: org.apache.kafka.connect.converters.ByteArrayConverter\n  document.id.strategy: ProvidedInValueStrategy\n  mongo.errors.tolerance: {tolerance}\n{extra}"
            ),
        ));
        cases.push((tolerance, topic, name, coll, dlq));
    }
    let port = free_port();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &paths);
    let api = Api::new(port);
    api.wait_ready();
    for (tolerance, topic, name, coll, dlq) in &cases {
        if *tolerance == "none" {
            let trace = wait_failed(&api, name);
            assert!(
                trace.contains("more than 100 levels")
                    && trace.contains(&format!("topic={topic} partition=0 offset=1")),
                "{trace}"
            );
            // The batch that holds the record is not written (it is prepared whole
            // before any write); nothing from it on is committed.
            let ids = mongo_ids(coll);
            assert!(ids.is_empty() || ids == vec![1], "{ids:?}");
            let committed = committed_offset(&format!("connect-{name}"), topic);
            assert!(committed.unwrap_or(0) <= 1, "{committed:?}");
        } else {
            wait_for("both good documents", Duration::from_secs(90), || {
                mongo_ids(coll) == vec![1, 2]
            });
            let m = dead_letter(dlq);
            assert_eq!(m.value.as_deref(), Some(&deep[..]), "the original bytes");
            assert!(
                m.header("__connect.errors.exception.message")
                    .unwrap_or_default()
                    .contains("more than 100 levels"),
                "{:?}",
                m.headers
            );
            assert_eq!(task(&api, name)["state"], "RUNNING");
        }
    }
    assert_eq!(api.get("/").status, 200);
    assert!(w.terminate().success(), "{}", w.log_text());
}

#[test]
fn rest_bodies_nested_100k_levels_are_400s_and_the_worker_answers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let deep = nested_json(100_000);
    let deep_object = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    for (method, path) in [
        ("POST", "/connectors"),
        ("PUT", "/connector-plugins/FileStreamSink/config/validate"),
        ("PUT", "/connectors/x/config"),
        ("PATCH", "/connectors/x/offsets"),
    ] {
        for body in [&deep, &deep_object] {
            let started = Instant::now();
            let r = api.send(method, path, Some(body));
            assert_eq!(r.status, 400, "{method} {path}: {}", r.text);
            assert_eq!(r.body["error_code"], 400);
            assert!(
                r.body["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("recursion limit exceeded"),
                "{method} {path}: {}",
                r.text
            );
            assert!(started.elapsed() < Duration::from_secs(10));
            // The worker answers the next request.
            assert_eq!(api.get("/connectors").status, 200);
        }
    }
    // Nesting serde_json accepts, in a config value: a short 400 naming the key.
    let value = format!("{}1{}", "{\"a\":".repeat(120), "}".repeat(120));
    let body = format!(
        r#"{{"name":"n","config":{{"connector.class":"FileStreamSink","topics":"t","k":{value}}}}}"#
    );
    let r = api.send("POST", "/connectors", Some(&body));
    assert_eq!(r.status, 400, "{}", r.text);
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("config key k must have a string value") && message.len() < 300,
        "{message}"
    );
    let r = api.put(
        "/connector-plugins/FileStreamSink/config/validate",
        &json!({"connector.class": "FileStreamSink", "topics": "t", "k": serde_json::from_str::<serde_json::Value>(&value).unwrap()}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(api.get("/").status, 200);
    assert!(w.terminate().success(), "{}", w.log_text());
}

#[test]
fn yaml_depth_and_alias_bombs_in_a_connectors_dir_are_config_problems() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cdir = d.join("connectors");
    std::fs::create_dir(&cdir).unwrap();
    let topic = unique("yaml-bombs");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    write_lines(&input, 0, 3);
    let port = free_port();
    let extra = format!(
        "connectors.dir: {}\nconnectors.dir.poll.interval.ms: 200",
        cdir.display()
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, &extra), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let name = unique("yaml-good");
    let good = format!(
        "name: {name}\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n",
        input.display()
    );
    std::fs::write(cdir.join("good.yaml"), &good).unwrap();
    wait_for("the good connector", Duration::from_secs(60), || {
        end_offset(&topic) >= 3
    });

    // The same file, now nested 200,000 levels deep (1 MB): the connector shows the
    // problem and keeps its last good config.
    let started = Instant::now();
    std::fs::write(
        cdir.join("good.yaml"),
        format!(
            "name: {name}\nconfig: {}1{}\n",
            "{a: ".repeat(200_000),
            "}".repeat(200_000)
        ),
    )
    .unwrap();
    let mut status = serde_json::Value::Null;
    wait_for("the config problem", Duration::from_secs(30), || {
        status = api.get(&format!("/connectors/{name}/status")).body;
        status["connector"]["config_error"]
            .as_str()
            .is_some_and(|e| e.contains("more than 64 levels deep"))
    });
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
    write_lines(&input, 3, 2);
    wait_for(
        "the old config to keep running",
        Duration::from_secs(60),
        || end_offset(&topic) >= 5,
    );

    // A billion laughs, and a file over the size limit: reported, nothing started.
    let mut bomb =
        String::from("name: bomb\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        bomb += &format!("a{i}: &a{i} [{}]\n", [p.as_str(); 10].join(", "));
    }
    bomb += "config:\n  connector.class: FileStreamSink\n  topics: t\n  x: *a9\n";
    std::fs::write(cdir.join("bomb.yaml"), bomb).unwrap();
    // written elsewhere and moved in whole: the watcher must not see the valid first
    // bytes of a file still being written
    let part = d.join("big.part");
    let mut big = std::fs::File::create(&part).unwrap();
    big.write_all(b"name: big\nconfig:\n  connector.class: FileStreamSink\n  topics: t\n  x: ")
        .unwrap();
    big.write_all(&vec![b'x'; 3 << 20]).unwrap();
    drop(big);
    std::fs::rename(&part, cdir.join("big.yaml")).unwrap();
    wait_for("both problems logged", Duration::from_secs(30), || {
        let log = w.log_text();
        log.contains("bomb.yaml: the YAML expands to more than 8388608 bytes")
            && log.contains("big.yaml: the config is larger than 1048576 bytes")
    });
    for n in ["bomb", "big"] {
        assert_eq!(api.get(&format!("/connectors/{n}")).status, 404);
    }
    assert_eq!(api.get("/").status, 200);
    assert!(w.terminate().success(), "{}", w.log_text());
}

/// The peak resident memory of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn a_300_mb_line_without_newline_is_skipped_or_fails_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("huge.txt");
    // "first", then 300 MB without a newline; the rest of the line and "second" come
    // later, as a writer would append them.
    {
        let mut f = std::fs::File::create(&input).unwrap();
        f.write_all(b"first\n").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..300 {
            f.write_all(&chunk).unwrap();
        }
    }
    let (lenient, strict) = (unique("long-all"), unique("long-none"));
    let (t_all, t_none, dlq) = (unique("long-all"), unique("long-none"), unique("long-dlq"));
    create_topic(&t_all, 1);
    create_topic(&t_none, 1);
    let source = |name: &str, topic: &str, extra: &str| {
        write(
            &d.join(format!("{name}.yaml")),
            &format!(
                "name: {name}\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n  max.line.bytes: 1048576\n{extra}",
                input.display()
            ),
        )
    };
    let files = [
        source(&lenient, &t_all, &dlq_keys(&dlq)),
        source(&strict, &t_none, ""),
    ];
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&files[0], &files[1]]);
    let api = Api::new(port);
    api.wait_ready();

    // Tolerance none: the task fails naming the file and the byte where the line starts.
    let trace = wait_failed(&api, &strict);
    assert!(
        trace.contains(&format!(
            "the line starting at byte 6 of {}",
            input.display()
        )) && trace.contains("max.line.bytes=1048576"),
        "{trace}"
    );
    // Tolerance all: the line goes to the dead letter queue (its first KiB) at once.
    let m = dead_letter(&dlq);
    assert_eq!(m.value.as_deref(), Some(&[b'x'; 1024][..]));
    assert!(
        m.header("__connect.errors.exception.message")
            .unwrap_or_default()
            .contains("longer than max.line.bytes=1048576"),
        "{:?}",
        m.headers
    );
    // The end of the long line, and the next line, arrive.
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&input)
            .unwrap();
        f.write_all(b"xxx\nsecond\n").unwrap();
    }
    wait_for("the next line", Duration::from_secs(120), || {
        end_offset(&t_all) >= 2
    });
    let got: Vec<String> = read_all(&t_all)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert_eq!(got, vec!["first", "second"]);
    let got: Vec<String> = read_all(&t_none)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert_eq!(got, vec!["first"]);
    // Two tasks read past 300 MB; neither held the line.
    let peak = peak_rss(w.pid());
    assert!(
        peak < 100 << 20,
        "peak RSS {} MB while skipping a 300 MB line",
        peak >> 20
    );
    eprintln!("peak RSS of the worker: {} MB", peak >> 20);
    assert_eq!(task(&api, &lenient)["state"], "RUNNING");
    // The position stored is past the long line and the next one.
    let past = 6 + (300u64 << 20) + 4 + 7;
    wait_for("the position to be stored", Duration::from_secs(30), || {
        api.get(&format!("/connectors/{lenient}/offsets")).body["offsets"][0]["offset"]["position"]
            == past
    });
    assert!(w.terminate().success(), "{}", w.log_text());
}
