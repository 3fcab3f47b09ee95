//! A transform that fails on a record, on Apache Kafka: in a source, tolerance none
//! fails the task with a trace naming the transformation stage and what was read, and
//! tolerance all skips the record and the rest flows; in a sink, tolerance all with a
//! dead letter queue sends the record there as it came from Kafka.
//!
//! The chain changes each record where it is (`TransformChain::apply_in_place`), so
//! these also check that a record a transform failed on half-way is not what goes on.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

const CAST_N: &str = "  transforms: hoist,cast\n  transforms.hoist.type: org.apache.kafka.connect.transforms.HoistField$Value\n  transforms.hoist.field: n\n  transforms.cast.type: org.apache.kafka.connect.transforms.Cast$Value\n  transforms.cast.spec: n:int32\n";

/// A worker running a FileStreamSource that reads `1`, `abc`, `3` into a new topic,
/// through a chain that makes each line a struct `{n}` and casts `n` to an int32:
/// `abc` cannot be. Returns the worker, its REST API, the connector and the topic.
fn run_source(d: &Path, extra: &str) -> (Sluice, Api, String, String) {
    let name = unique("cast-src");
    let topic = unique("cast-src");
    create_topic(&topic, 1);
    let file = d.join(format!("{name}.in"));
    std::fs::write(&file, "1\nabc\n3\n").unwrap();
    let cfg = d.join(format!("{name}.yaml"));
    std::fs::write(
        &cfg,
        format!(
            "name: {name}\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n{CAST_N}{extra}",
            file.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&cfg]);
    let api = Api::new(port);
    api.wait_ready();
    (w, api, name, topic)
}

/// The values in `topic`, once the worker had a second more to send anything else.
fn values_after_a_second(topic: &str) -> Vec<String> {
    std::thread::sleep(Duration::from_secs(1));
    read_all(topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect()
}

/// The task states of a connector, and its first task's trace.
fn task_status(api: &Api, name: &str) -> (String, String) {
    let r = api.get(&format!("/connectors/{name}/status"));
    let task = &r.body["tasks"][0];
    (
        task["state"].as_str().unwrap_or("").to_string(),
        task["trace"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn tolerance_none_fails_the_source_task_with_the_transformation_in_its_trace() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut w, api, name, topic) = run_source(d, "");
    let mut status = (String::new(), String::new());
    wait_for("the task to fail", Duration::from_secs(60), || {
        status = task_status(&api, &name);
        status.0 == "FAILED"
    });
    let trace = &status.1;
    assert!(
        trace.contains("failed in stage TRANSFORMATION")
            && trace.contains("Cast$Value")
            && trace.contains("transform cast failed"),
        "trace: {trace}"
    );
    // The line before the bad one went to Kafka; nothing after it.
    assert_eq!(
        values_after_a_second(&topic),
        vec![r#"{"n":1}"#],
        "records in {topic}"
    );
    assert!(w.terminate().success());
}

#[test]
fn tolerance_all_skips_the_record_the_source_transform_failed_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mut w, api, name, topic) = run_source(d, "  errors.tolerance: all\n");
    wait_for("both good lines", Duration::from_secs(60), || {
        end_offset(&topic) >= 2
    });
    assert_eq!(
        values_after_a_second(&topic),
        vec![r#"{"n":1}"#, r#"{"n":3}"#],
        "records in {topic}"
    );
    assert_eq!(task_status(&api, &name).0, "RUNNING");
    assert!(w.terminate().success());
}

#[test]
fn a_sink_sends_the_record_its_transform_failed_on_to_the_dlq_as_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("cast-sink");
    create_topic(&topic, 1);
    produce(
        &topic,
        &[
            (None, Some(br#"{"a":"1"}"#), vec![]),
            (
                Some(b"k2"),
                Some(br#"{"a":"abc"}"#),
                vec![("origin", b"test")],
            ),
            (None, Some(br#"{"a":"3"}"#), vec![]),
        ],
    );
    let dlq = unique("cast-dlq");
    let name = unique("cast-sink");
    let out = d.join(format!("{name}.txt"));
    let cfg = d.join(format!("{name}.yaml"));
    std::fs::write(
        &cfg,
        format!(
            "name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n  transforms: cast\n  transforms.cast.type: org.apache.kafka.connect.transforms.Cast$Value\n  transforms.cast.spec: a:int32\n  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.context.headers.enable: true\n",
            out.display()
        ),
    )
    .unwrap();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&cfg]);
    wait_for("the good records", Duration::from_secs(120), || {
        lines(&out).len() >= 2
    });
    assert_eq!(lines(&out), vec![r#"{"a":1}"#, r#"{"a":3}"#]);
    wait_for("the DLQ record", Duration::from_secs(60), || {
        end_offset(&dlq) >= 1
    });
    let dead = read_all(&dlq);
    assert_eq!(dead.len(), 1);
    let m = &dead[0];
    assert_eq!(
        m.value.as_deref(),
        Some(&br#"{"a":"abc"}"#[..]),
        "the bytes as read from Kafka, not as the chain left them"
    );
    assert_eq!(m.key.as_deref(), Some(&b"k2"[..]));
    assert_eq!(m.header("origin").as_deref(), Some("test"));
    assert_eq!(
        m.header("__connect.errors.stage").as_deref(),
        Some("TRANSFORMATION")
    );
    assert!(
        m.header("__connect.errors.class.name")
            .is_some_and(|c| c.ends_with("Cast$Value")),
        "{:?}",
        m.header("__connect.errors.class.name")
    );
    assert_eq!(m.header("__connect.errors.offset").as_deref(), Some("1"));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        committed_offset(&format!("connect-{name}"), &topic),
        Some(3),
        "all three committed"
    );
    assert!(w.terminate().success());
}
