//! `sluice test`: config unit tests without servers. The example test files in
//! configs/tests (one per queue connector, the ones docs/config-tests.md shows) pass;
//! a wrong expectation prints the difference and exits 1; transforms and converters of
//! the connector config are applied; what cannot be run is an error that says why.

mod common;

use std::path::Path;

use common::run_cli;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn the_example_test_files_pass() {
    let mut files: Vec<String> = std::fs::read_dir("configs/tests")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".test.yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "one per queue connector: {files:?}");
    let mut args = vec!["test"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = run_cli(&args);
    assert_eq!(code, 0, "{out}{err}");
    for connector in [
        "amqp-source",
        "mqtt-source",
        "amqp1-source",
        "amqp-sink",
        "mqtt-sink",
        "amqp1-sink",
    ] {
        assert!(
            out.contains(&format!("configs/tests/{connector}.test.yaml: ")),
            "{out}"
        );
    }
    assert!(out.trim_end().ends_with("9 passed, 0 failed"), "{out}");
}

#[test]
fn a_wrong_expectation_prints_the_difference_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let connector = write(
        dir.path(),
        "src.yaml",
        "name: orders\nconfig:\n  connector.class: amqp-source\n  amqp.uri: amqp://127.0.0.1\n  amqp.queue: orders\n  topic: orders\n  amqp.record.builder.body.type: string\n  value.converter: org.apache.kafka.connect.storage.StringConverter\n",
    );
    let tests = write(
        dir.path(),
        "t.test.yaml",
        &format!(
            "connector: {connector}\ntests:\n  - name: right\n    input:\n      - body: abc\n    expect:\n      - value: abc\n  - name: wrong\n    input:\n      - body: abc\n      - body: def\n    expect:\n      - value: xyz\n"
        ),
    );
    let (code, out, _) = run_cli(&["test", &tests]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(": right: ok"), "{out}");
    assert!(out.contains(": wrong: FAILED"), "{out}");
    assert!(
        out.contains("output 1: value: expected \"xyz\", got \"abc\""),
        "{out}"
    );
    assert!(out.contains("output 2: not expected, got"), "{out}");
    assert!(out.contains("the output was:"), "{out}");
    assert!(out.trim_end().ends_with("1 passed, 1 failed"), "{out}");
}

#[test]
fn transforms_and_converters_of_the_config_apply() {
    let dir = tempfile::tempdir().unwrap();
    // a source: the JSON builder's struct, a field masked, a header added, JSON out
    let tests = write(
        dir.path(),
        "mqtt.test.yaml",
        r#"config:
  name: cards
  connector.class: mqtt-source
  mqtt.server.uri: tcp://127.0.0.1:1883
  mqtt.topics: cards/#
  topic: cards
  mqtt.record.builder: json
  value.converter: org.apache.kafka.connect.json.JsonConverter
  value.converter.schemas.enable: false
  transforms: mask,origin,drop
  transforms.mask.type: org.apache.kafka.connect.transforms.MaskField$Value
  transforms.mask.fields: card
  transforms.origin.type: org.apache.kafka.connect.transforms.InsertHeader
  transforms.origin.header: origin
  transforms.origin.value.literal: mqtt
  transforms.drop.type: org.apache.kafka.connect.transforms.Filter
  transforms.drop.predicate: isTest
  predicates: isTest
  predicates.isTest.type: org.apache.kafka.connect.transforms.predicates.TopicNameMatches
  predicates.isTest.pattern: never-.*
tests:
  - name: masked, with a header
    input:
      - body: '{"card": "4111", "amount": 5}'
        properties: {topic: cards/eu}
    expect:
      - value_json: {"card": "", "amount": 5}
        headers: {origin: mqtt}
"#,
    );
    let (code, out, _) = run_cli(&["test", &tests]);
    assert_eq!(code, 0, "{out}");
    // a sink: the record read with the JsonConverter, a filter drops one
    let tests = write(
        dir.path(),
        "amqp-sink.test.yaml",
        r#"config:
  name: out
  connector.class: amqp-sink
  topics: orders
  amqp.uri: amqp://127.0.0.1
  amqp.routing.key.source: key
  key.converter: org.apache.kafka.connect.storage.StringConverter
  value.converter: org.apache.kafka.connect.json.JsonConverter
  value.converter.schemas.enable: false
  transforms: onlyEu
  transforms.onlyEu.type: org.apache.kafka.connect.transforms.Filter
  transforms.onlyEu.predicate: isUs
  predicates: isUs
  predicates.isUs.type: org.apache.kafka.connect.transforms.predicates.HasHeaderKey
  predicates.isUs.name: us
tests:
  - name: JSON in, JSON body out, a filtered record sends nothing
    input:
      - key: eu.orders
        value_json: {"id": 1}
      - key: us.orders
        value_json: {"id": 2}
        headers: {us: "yes"}
    expect:
      - routing_key: eu.orders
        body_json: {"id": 1}
        properties: {message_id: orders-0-0, delivery_mode: 2}
"#,
    );
    let (code, out, _) = run_cli(&["test", &tests]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
}

#[test]
fn what_cannot_run_is_an_error_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // not a queue connector
    let t = write(
        dir.path(),
        "file.test.yaml",
        "config:\n  name: f\n  connector.class: FileStreamSource\n  topic: t\ntests: []\n",
    );
    let (code, out, _) = run_cli(&["test", &t]);
    assert_eq!(code, 1);
    assert!(
        out.contains("runs the queue connectors") && out.contains("file-source"),
        "{out}"
    );
    // an invalid connector config: every problem listed
    let t = write(
        dir.path(),
        "bad.test.yaml",
        "config:\n  name: b\n  connector.class: amqp-source\n  amqp.prefetch: lots\ntests: []\n",
    );
    let (code, out, _) = run_cli(&["test", &t]);
    assert_eq!(code, 1);
    for key in ["amqp.uri", "amqp.queue", "amqp.prefetch"] {
        assert!(out.contains(key), "{key}: {out}");
    }
    // a property the connector does not know
    let t = write(
        dir.path(),
        "prop.test.yaml",
        "config:\n  name: p\n  connector.class: amqp-source\n  amqp.uri: amqp://127.0.0.1\n  amqp.queue: q\n  topic: t\ntests:\n  - name: typo\n    input:\n      - body: x\n        properties: {mesage_id: m}\n    expect: []\n",
    );
    let (code, out, _) = run_cli(&["test", &t]);
    assert_eq!(code, 1);
    assert!(out.contains("unknown property mesage_id"), "{out}");
    // not a test file
    let t = write(dir.path(), "x.test.yaml", "- 1\n- 2\n");
    let (code, out, _) = run_cli(&["test", &t]);
    assert_eq!(code, 1);
    assert!(out.contains("expected a mapping"), "{out}");
}

/// The examples docs/config-tests.md shows are the files the first test runs.
#[test]
fn the_docs_show_the_example_files_as_they_are() {
    let docs = std::fs::read_to_string("docs/config-tests.md").unwrap();
    let blocks: Vec<&str> = docs
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    let mut shown = 0;
    for block in blocks {
        let Some(c) = block
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("connector: ../"))
            .and_then(|l| l.strip_suffix(".yaml"))
        else {
            continue;
        };
        let file = std::fs::read_to_string(format!("configs/tests/{c}.test.yaml")).unwrap();
        let a: serde_json::Value = serde_yaml::from_str(block).unwrap();
        let b: serde_json::Value = serde_yaml::from_str(&file).unwrap();
        assert_eq!(
            a, b,
            "docs/config-tests.md shows {c} otherwise than its file"
        );
        shown += 1;
    }
    assert_eq!(shown, 6);
}
