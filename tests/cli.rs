//! The command line: validate, plugins, and the config formats it accepts.

mod common;

use common::*;

#[test]
fn validate_lists_every_problem_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: x\nconfig:\n  connector.class: FileStreamSink\n  tasks.max: many\n  errors.tolerance: some\n  value.converter: JsonConverter\n  value.converter.schemas.enable: perhaps\n",
    )
    .unwrap();
    let unknown = dir.path().join("unknown.properties");
    std::fs::write(&unknown, "name=y\nconnector.class=NoSuchConnector\n").unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"name":"z","config":{"connector.class":"file-source","topic":"t","file":"/tmp/x"}}"#,
    )
    .unwrap();
    let (code, out, _) = run_cli(&[
        "validate",
        bad.to_str().unwrap(),
        unknown.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{}", out);
    let b = bad.display().to_string();
    for line in [
        format!("{b}: tasks.max: Invalid value many for configuration tasks.max: Not a number of type INT"),
        format!("{b}: errors.tolerance: Invalid value some for configuration errors.tolerance: String must be one of: none, all"),
        format!("{b}: topics: Must configure one of topics or topics.regex"),
        format!("{b}: value.converter.schemas.enable: Invalid value perhaps for configuration schemas.enable: Expected value to be either true or false"),
        format!("{}: connector.class: Failed to find any class", unknown.display()),
        format!("{}: OK (connector z, file-source)", good.display()),
        "2 of 3 config(s) invalid".to_string(),
    ] {
        assert!(out.contains(&line), "output lacks {:?}:\n{}", line, out);
    }
    let (code, out, _) = run_cli(&["validate", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", out);
}

#[test]
fn validate_accepts_strimzi_resources_and_reports_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("kc.yaml");
    std::fs::write(
        &s,
        "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: from-strimzi\nspec:\n  class: org.apache.kafka.connect.file.FileStreamSourceConnector\n  tasksMax: 1\n  config:\n    file: /tmp/in.txt\n    topic: t\n",
    )
    .unwrap();
    let (code, out, _) = run_cli(&["validate", s.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", out);
    assert!(
        out.contains("OK (connector from-strimzi, file-source)"),
        "{}",
        out
    );
    let missing = dir.path().join("missing.yaml");
    let (code, out, _) = run_cli(&["validate", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("missing.yaml: cannot read the file"),
        "{}",
        out
    );
}

#[test]
fn plugins_lists_connectors_converters_and_keys() {
    let (code, out, _) = run_cli(&["plugins"]);
    assert_eq!(code, 0);
    for needle in [
        "file-source (org.apache.kafka.connect.file.FileStreamSourceConnector, source)",
        "file-sink (org.apache.kafka.connect.file.FileStreamSinkConnector, sink)",
        "batch.size (INT, default \"2000\"",
        "org.apache.kafka.connect.json.JsonConverter",
        "schemas.enable (BOOLEAN, default \"true\")",
        "errors.tolerance (STRING, default \"none\", one of [none, all])",
    ] {
        assert!(
            out.contains(needle),
            "plugins output lacks {:?}:\n{}",
            needle,
            out
        );
    }
    let (code, out, _) = run_cli(&["plugins", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let classes: Vec<&str> = v["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert!(classes.contains(&"org.apache.kafka.connect.file.FileStreamSinkConnector"));
}

#[test]
fn a_bad_connector_on_the_command_line_stops_the_start_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.yaml");
    std::fs::write(
        &c,
        "name: c\nconfig:\n  connector.class: FileStreamSource\n  batch.size: x\n",
    )
    .unwrap();
    let mut w = Sluice::standalone(dir.path(), &worker_yaml(dir.path(), free_port(), ""), &[&c]);
    let st = w
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("exits");
    assert_eq!(st.code(), Some(2));
    let log = w.log_text();
    assert!(
        log.contains("c.yaml: batch.size: Invalid value x"),
        "{}",
        log
    );
    assert!(
        log.contains("c.yaml: topic: Missing required configuration"),
        "{}",
        log
    );
}
