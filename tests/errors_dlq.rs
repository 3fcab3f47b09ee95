//! A record the JsonConverter cannot read, in a sink: tolerance none fails the task
//! with a trace naming topic/partition/offset; tolerance all with a DLQ sends the
//! record there with Connect's context headers and the rest flows.

mod common;

use std::time::Duration;

use common::*;

fn poisoned_topic() -> String {
    let topic = unique("poison");
    create_topic(&topic, 1);
    produce(
        &topic,
        &[
            (None, Some(br#"{"a":1}"#), vec![]),
            (
                Some(b"k2"),
                Some(b"this is not json"),
                vec![("origin", b"test")],
            ),
            (None, Some(br#"{"a":3}"#), vec![]),
        ],
    );
    topic
}

fn sink_config(dir: &std::path::Path, name: &str, topic: &str, extra: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}/{name}.txt\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n{extra}",
            dir.display()
        ),
    )
    .unwrap();
    p
}

#[test]
fn tolerance_none_fails_the_task_naming_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = poisoned_topic();
    let name = unique("strict");
    let c = sink_config(d, &name, &topic, "");
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    let expected = format!(
        "failed in stage VALUE_CONVERTER (org.apache.kafka.connect.json.JsonConverter) on record topic={} partition=0 offset=1",
        topic
    );
    wait_for("the task to fail", Duration::from_secs(120), || {
        w.log_text().contains(&expected)
    });
    let log = w.log_text();
    assert!(
        log.contains("Converting byte[] to Kafka Connect data failed due to serialization error"),
        "{}",
        log
    );
    // The record before the bad one was written and committed; nothing after it.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lines(&d.join(format!("{}.txt", name))), vec![r#"{"a":1}"#]);
    assert_eq!(
        committed_offset(&format!("connect-{}", name), &topic),
        Some(1)
    );
    assert!(w.terminate().success());
}

#[test]
fn tolerance_all_sends_the_record_to_the_dlq_with_context_headers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = poisoned_topic();
    let dlq = unique("dlq");
    let name = unique("lenient");
    let c = sink_config(
        d,
        &name,
        &topic,
        &format!(
            "  errors.tolerance: all\n  errors.log.enable: true\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.context.headers.enable: true\n"
        ),
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    let out = d.join(format!("{}.txt", name));
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
        Some(&b"this is not json"[..]),
        "original bytes"
    );
    assert_eq!(m.key.as_deref(), Some(&b"k2"[..]));
    assert_eq!(
        m.header("origin").as_deref(),
        Some("test"),
        "original headers kept"
    );
    assert_eq!(
        m.header("__connect.errors.topic").as_deref(),
        Some(topic.as_str())
    );
    assert_eq!(m.header("__connect.errors.partition").as_deref(), Some("0"));
    assert_eq!(m.header("__connect.errors.offset").as_deref(), Some("1"));
    assert_eq!(
        m.header("__connect.errors.connector.name").as_deref(),
        Some(name.as_str())
    );
    assert_eq!(m.header("__connect.errors.task.id").as_deref(), Some("0"));
    assert_eq!(
        m.header("__connect.errors.stage").as_deref(),
        Some("VALUE_CONVERTER")
    );
    assert_eq!(
        m.header("__connect.errors.class.name").as_deref(),
        Some("org.apache.kafka.connect.json.JsonConverter")
    );
    assert!(m
        .header("__connect.errors.exception.message")
        .unwrap()
        .contains("serialization error"));
    assert!(m.header("__connect.errors.exception.stacktrace").is_some());
    // errors.log.enable logs the failure once, without the record's content.
    let log = w.log_text();
    assert!(
        log.contains(&format!(
            "Error encountered in task {}-0. Executing stage 'VALUE_CONVERTER'",
            name
        )),
        "{}",
        log
    );
    assert!(
        !log.contains("this is not json"),
        "record content must not be logged"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        committed_offset(&format!("connect-{}", name), &topic),
        Some(3),
        "all three committed"
    );
    assert!(w.terminate().success());
}
