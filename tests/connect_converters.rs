//! Converter and transform settings beside Kafka Connect itself: the same connector
//! files run by Apache Kafka Connect (standalone, `scripts/connect.sh`) and by Sluice
//! over the same topic, and the FileStreamSink outputs compared line by line.
//!
//! Covered: JsonConverter `schema.content` (KIP-1054: bare payloads read with a schema
//! from the config) with its `replace.null.with.default` on and off, and
//! `replace.null.with.default` of MaskField and SetSchemaMetadata (KIP-1040: a null
//! field with a default reads as the default, or stays null).

mod common;
#[path = "common/connect.rs"]
mod connect;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use connect::Connect;

/// A struct with a required int, an optional string with a default and an optional
/// string without one.
const SCHEMA: &str = r#"{"type":"struct","name":"Person","fields":[{"field":"id","type":"int32"},{"field":"name","type":"string","optional":true,"default":"anon"},{"field":"note","type":"string","optional":true}]}"#;

const PAYLOADS: &[&str] = &[
    r#"{"id":1,"name":"ann","note":"x"}"#,
    r#"{"id":2,"name":null,"note":"y"}"#,
    r#"{"id":3,"note":null}"#,
    r#"{"id":4,"name":"bob"}"#,
];

/// The connectors, as Connect `.properties` files (Sluice reads the same files): each
/// writes the topic's records to its own file under `out`, named by its case. Connector
/// names start with `prefix` (a sink's consumer group is `connect-<name>`: the two
/// sides must not share groups).
fn connectors(dir: &Path, prefix: &str, topic: &str, out: &Path) -> Vec<PathBuf> {
    let conv = format!(
        "value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=true\nvalue.converter.schema.content={SCHEMA}\n"
    );
    let cases: &[(&str, &str)] = &[
        // schema.content with the converter's default (nulls read as the field default)
        ("content", ""),
        // the converter keeps nulls; MaskField masks `id` and reads the others with
        // their defaults (its default) or without
        (
            "mask-default",
            "value.converter.replace.null.with.default=false\ntransforms=m\ntransforms.m.type=org.apache.kafka.connect.transforms.MaskField$Value\ntransforms.m.fields=id\n",
        ),
        (
            "mask-nulls",
            "value.converter.replace.null.with.default=false\ntransforms=m\ntransforms.m.type=org.apache.kafka.connect.transforms.MaskField$Value\ntransforms.m.fields=id\ntransforms.m.replace.null.with.default=false\n",
        ),
        // SetSchemaMetadata rebuilds the struct under a new name
        (
            "meta-default",
            "value.converter.replace.null.with.default=false\ntransforms=s\ntransforms.s.type=org.apache.kafka.connect.transforms.SetSchemaMetadata$Value\ntransforms.s.schema.name=Renamed\n",
        ),
        (
            "meta-nulls",
            "value.converter.replace.null.with.default=false\ntransforms=s\ntransforms.s.type=org.apache.kafka.connect.transforms.SetSchemaMetadata$Value\ntransforms.s.schema.name=Renamed\ntransforms.s.replace.null.with.default=false\n",
        ),
        (
            "content-nulls",
            "value.converter.replace.null.with.default=false\n",
        ),
    ];
    cases
        .iter()
        .map(|(name, extra)| {
            let path = dir.join(format!("{name}.properties"));
            std::fs::write(
                &path,
                format!(
                    "name={prefix}-{name}\nconnector.class=FileStreamSink\ntopics={topic}\nfile={}\n{conv}{extra}",
                    out.join(format!("{name}.txt")).display()
                ),
            )
            .unwrap();
            path
        })
        .collect()
}

/// Sluice's FileStreamSink writes a struct as JSON where Connect's prints Java's
/// `Struct.toString()` (`Struct{id=1,name=ann}`, null fields left out): a documented
/// difference (docs/file-connectors.md). This renders Sluice's line (a flat struct
/// whose fields sort as the schema orders them) the Java way for the comparison.
fn as_java_struct(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("Sluice wrote a line that is not JSON ({e}): {line}");
    });
    let fields: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not a struct: {line}"))
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("Struct{{{}}}", fields.join(","))
}

/// Waits until each output has a line per payload; `log` is shown if it never does.
fn wait_outputs(out: &Path, names: &[String], who: &str, log: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let done = || {
        names.iter().all(|n| {
            let f = out.join(format!("{n}.txt"));
            f.exists() && lines(&f).len() >= PAYLOADS.len()
        })
    };
    while !done() {
        if std::time::Instant::now() > deadline {
            let log = log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "{who}: not {} lines in each output after 120 s; log:\n{}",
                PAYLOADS.len(),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn schema_content_and_replace_null_with_default_match_connect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("conv-compare");
    create_topic(&topic, 1);
    let values: Vec<String> = PAYLOADS.iter().map(|s| s.to_string()).collect();
    produce_to(&topic, 0, &values);

    let (connect_out, sluice_out) = (d.join("connect-out"), d.join("sluice-out"));
    std::fs::create_dir_all(&connect_out).unwrap();
    std::fs::create_dir_all(&sluice_out).unwrap();
    let (cdir, sdir) = (d.join("connect"), d.join("sluice"));
    std::fs::create_dir_all(&cdir).unwrap();
    std::fs::create_dir_all(&sdir).unwrap();
    let c_files = connectors(&cdir, &format!("{topic}-connect"), &topic, &connect_out);
    let s_files = connectors(&sdir, &format!("{topic}-sluice"), &topic, &sluice_out);
    let names: Vec<String> = c_files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();

    let cport = free_port();
    let cworker = format!(
        "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
         value.converter=org.apache.kafka.connect.storage.StringConverter\n\
         offset.storage.file.filename={}\noffset.flush.interval.ms=500\nlisteners=http://127.0.0.1:{cport}\n",
        bootstrap(),
        cdir.join("offsets.dat").display()
    );
    let c_refs: Vec<&Path> = c_files.iter().map(PathBuf::as_path).collect();
    let mut c = Connect::standalone(&cdir, &cworker, &c_refs);
    let sport = free_port();
    let s_refs: Vec<&Path> = s_files.iter().map(PathBuf::as_path).collect();
    let mut s = Sluice::standalone(&sdir, &worker_yaml(&sdir, sport, ""), &s_refs);
    Api::new(sport).wait_ready();

    wait_outputs(&sluice_out, &names, "Sluice", || s.log_text());
    wait_outputs(&connect_out, &names, "Connect", || c.log_text());
    std::thread::sleep(Duration::from_millis(500));
    c.terminate();
    assert!(s.terminate().success());

    let mut diffs = Vec::new();
    for n in &names {
        let want = lines(&connect_out.join(format!("{n}.txt")));
        let got: Vec<String> = lines(&sluice_out.join(format!("{n}.txt")))
            .iter()
            .map(|l| as_java_struct(l))
            .collect();
        if got != want {
            diffs.push(format!("{n}:\n  Connect: {want:?}\n  Sluice:  {got:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "Sluice's output differs from Connect's:\n{}",
        diffs.join("\n")
    );
    // The cases differ from each other, so the comparison shows each setting at work.
    let out = |n: &str| lines(&connect_out.join(format!("{n}.txt")));
    assert_ne!(out("content"), out("content-nulls"));
    assert_ne!(out("mask-default"), out("mask-nulls"));
    assert_ne!(out("meta-default"), out("meta-nulls"));
}
