//! Keys nothing reads are accepted (as Kafka Connect accepts them) but reported: by
//! `sluice validate`, in the REST validate answer, and in the log when the connector
//! starts, with the closest known key or the note of a peer connector's key.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn unknown_keys_are_reported_everywhere_but_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.txt");
    std::fs::write(&input, "").unwrap();
    let topic = unique("unknown");
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": topic,
        "tranforms": "route",
        "batchsize": "10",
    });

    // The CLI: warnings, exit 0 (the config is valid).
    let file = d.join("c.json");
    std::fs::write(
        &file,
        json!({"name": "typos", "config": config}).to_string(),
    )
    .unwrap();
    let (code, out, err) = run_cli(&["validate", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{}{}", out, err);
    assert!(
        out.contains("tranforms: warning: unknown key, ignored (did you mean transforms?)"),
        "{}",
        out
    );
    assert!(out.contains("did you mean batch.size?"), "{}", out);

    // The REST API: warnings beside a config without errors; creating it works.
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let name = unique("typos");
    let mut named = config.clone();
    named["name"] = json!(name);
    let v = api.put(
        "/connector-plugins/FileStreamSource/config/validate",
        &named,
    );
    assert_eq!(v.status, 200);
    assert_eq!(v.body["error_count"], 0, "{}", v.text);
    let warnings = v.body["warnings"].as_array().cloned().unwrap_or_default();
    let keys: Vec<&str> = warnings.iter().filter_map(|w| w["key"].as_str()).collect();
    assert_eq!(keys, vec!["batchsize", "tranforms"], "{}", v.text);

    // A key of the connector Sluice is compatible with, but does not implement.
    let jdbc = json!({
        "name": "j",
        "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
        "connection.url": "jdbc:postgresql://127.0.0.1:5432/test?user=postgres",
        "mode": "bulk",
        "query": "SELECT 1 AS one",
        "topic.prefix": "p",
        "catalog.pattern": "test",
    });
    let v = api.put(
        "/connector-plugins/JdbcSourceConnector/config/validate",
        &jdbc,
    );
    assert_eq!(v.status, 200, "{}", v.text);
    let w0 = &v.body["warnings"][0];
    assert_eq!(w0["key"], "catalog.pattern", "{}", v.text);
    assert!(
        w0["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Confluent's JDBC source connector"),
        "{}",
        v.text
    );

    let r = api.post("/connectors", &json!({"name": name, "config": config}));
    assert_eq!(r.status, 201, "{}", r.text);
    api.wait_state(&name, "RUNNING");
    wait_for("the warnings in the log", Duration::from_secs(10), || {
        let log = w.log_text();
        log.contains("tranforms: unknown key, ignored (did you mean transforms?)")
            && log.contains("batchsize")
    });
    assert!(w.terminate().success());
}
