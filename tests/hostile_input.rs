//! Input that used to crash the worker or kill a task silently: deeply nested and
//! malformed header values (through the REST API and through a sink), and a task that
//! panics.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

fn sink_file(d: &std::path::Path, name: &str, topic: &str) -> std::path::PathBuf {
    let c = d.join(format!("{name}.yaml"));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}/out.txt\n",
            d.display()
        ),
    )
    .unwrap();
    c
}

#[test]
fn nested_and_malformed_header_values_neither_crash_the_worker_nor_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("hostile-headers");
    create_topic(&topic, 1);
    let deep = "[".repeat(10_000);
    let escaped = "[\"\\é\"]";
    produce(
        &topic,
        &[
            (None, Some(b"first"), vec![("deep", deep.as_bytes())]),
            (None, Some(b"second"), vec![("escaped", escaped.as_bytes())]),
            (
                None,
                Some(b"third"),
                vec![("maps", "{\"a\":".repeat(5_000).as_bytes())],
            ),
        ],
    );
    let name = unique("hostile-sink");
    let port = free_port();
    let mut w = Sluice::standalone(
        d,
        &worker_yaml(d, port, ""),
        &[&sink_file(d, &name, &topic)],
    );
    let api = Api::new(port);
    api.wait_ready();

    // One unauthenticated request with such a literal used to overflow the stack.
    let r = api.put(
        "/connector-plugins/FileStreamSink/config/validate",
        &json!({"connector.class": "FileStreamSink", "name": "v", "topics": "t",
                "transforms": "h", "transforms.h.type": "org.apache.kafka.connect.transforms.InsertHeader",
                "transforms.h.header": "x", "transforms.h.value.literal": deep}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = api.put(
        "/connector-plugins/FileStreamSink/config/validate",
        &json!({"connector.class": "FileStreamSink", "name": "v", "topics": "t",
                "transforms": "h", "transforms.h.type": "org.apache.kafka.connect.transforms.InsertHeader",
                "transforms.h.header": "x", "transforms.h.value.literal": escaped}),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    // The sink reads the records with those headers, writes them and commits.
    let out = d.join("out.txt");
    wait_for("the three records", Duration::from_secs(60), || {
        lines(&out).len() >= 3
    });
    assert_eq!(lines(&out), ["first", "second", "third"]);
    wait_for("the commit", Duration::from_secs(30), || {
        committed_offset(&format!("connect-{name}"), &topic) == Some(3)
    });
    assert_eq!(
        api.get(&format!("/connectors/{name}/status")).body["tasks"][0]["state"],
        "RUNNING"
    );
    assert!(w.terminate().success(), "{}", w.log_text());
}

#[test]
fn a_panicking_task_is_failed_with_its_panic_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("panics");
    create_topic(&topic, 1);
    produce(
        &topic,
        &[(None, Some(b"fine"), vec![]), (None, Some(b"boom"), vec![])],
    );
    let name = unique("panicking-sink");
    let port = free_port();
    let worker = worker_yaml(d, port, "task.auto.restart.backoff.initial.ms: 300").replace(
        "task.auto.restart.enable: false",
        "task.auto.restart.enable: true",
    );
    let mut w = Sluice::standalone_with_env(
        d,
        &worker,
        &[&sink_file(d, &name, &topic)],
        &[("SLUICE_FAULT_PANIC_ON_VALUE", "boom")],
    );
    let api = Api::new(port);
    api.wait_ready();
    let mut seen_failed = None;
    wait_for(
        "the task to fail with the panic",
        Duration::from_secs(60),
        || {
            let st = api.get(&format!("/connectors/{name}/status")).body;
            if st["tasks"][0]["state"] == "FAILED" {
                seen_failed = Some(st);
                true
            } else {
                false
            }
        },
    );
    let st = seen_failed.unwrap();
    let trace = st["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("panicked") && trace.contains("SLUICE_FAULT_PANIC_ON_VALUE"),
        "{st}"
    );
    // Auto-restart applies: the task starts again (and meets the record again).
    wait_for("a restart", Duration::from_secs(30), || {
        w.log_text().matches("restarting the failed task").count() >= 2
    });
    // The worker is alive and answers.
    assert_eq!(api.get("/").status, 200);
    assert!(w.terminate().success(), "{}", w.log_text());
}
