//! A source whose topic does not exist, on a broker that does not create topics
//! automatically (as many production clusters run): without topic.creation.* settings
//! the task fails with a status that names the topic, and nothing is acknowledged
//! upstream; with them, the source creates the topic as its group says.

mod common;
#[path = "common/queues.rs"]
mod queues;

use std::time::Duration;

use common::*;
use queues::*;

#[test]
fn a_missing_topic_fails_the_task_naming_it_and_the_queue_keeps_every_message() {
    assert!(
        stack("start-strict-broker"),
        "cannot start the strict broker"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let queue = unique("missing-topic");
    declare_queue(&queue);
    publish(&queue, numbered(0, 100));
    let topic = unique("does-not-exist");
    let name = unique("missing-topic-src");
    let c = d.join("c.yaml");
    std::fs::write(
        &c,
        format!("name: {name}\nconfig:\n  connector.class: amqp-source\n  amqp.uri: {AMQP_URI}\n  amqp.queue: {queue}\n  topic: {topic}\n"),
    )
    .unwrap();
    let port = free_port();
    let worker = worker_yaml(d, port, "").replace(&bootstrap(), STRICT_BOOTSTRAP);
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    // librdkafka waits topic.metadata.propagation.max.ms (30 s) before it calls a
    // topic missing.
    wait_for("the task to fail", Duration::from_secs(90), || {
        api.get(&format!("/connectors/{name}/status")).body["tasks"][0]["state"] == "FAILED"
    });
    let st = api.get(&format!("/connectors/{name}/status")).body;
    let trace = st["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains(&format!("topic {topic} does not exist"))
            && trace.contains("auto.create.topics.enable"),
        "{st}"
    );
    assert!(w.terminate().success());
    // Every message is still in the queue, none acknowledged.
    wait_for(
        "the messages to be back in the queue",
        Duration::from_secs(30),
        || queue_counts(&queue) == (100, 100, 0),
    );
}

#[test]
fn topic_creation_settings_create_missing_topics_per_group() {
    assert!(
        stack("start-strict-broker"),
        "cannot start the strict broker"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = unique("created");
    write_lines(&d.join("in.txt"), 0, 100);
    let connector = |name: &str, topic: &str| {
        let c = d.join(format!("{name}.yaml"));
        std::fs::write(
            &c,
            format!(
                "name: {name}\nconfig:\n  connector.class: FileStreamSource\n  file: {}/in.txt\n  topic: {topic}\n\
                 \x20 topic.creation.default.replication.factor: 1\n  topic.creation.default.partitions: 3\n\
                 \x20 topic.creation.default.retention.ms: 3600000\n\
                 \x20 topic.creation.groups: short\n  topic.creation.short.include: .*-recent\n\
                 \x20 topic.creation.short.partitions: 2\n  topic.creation.short.retention.ms: 60000\n",
                d.display()
            ),
        )
        .unwrap();
        c
    };
    let (plain, state) = (format!("{base}-plain"), format!("{base}-recent"));
    let a = connector(&unique("creator-a"), &plain);
    let b = connector(&unique("creator-b"), &state);
    let port = free_port();
    let worker = worker_yaml(d, port, "").replace(&bootstrap(), STRICT_BOOTSTRAP);
    let mut w = Sluice::standalone(d, &worker, &[&a, &b]);
    Api::new(port).wait_ready();
    let count = |topic: &str| end_offset_at(STRICT_BOOTSTRAP, topic);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(count(&plain) >= 100 && count(&state) >= 100) {
        assert!(
            std::time::Instant::now() < deadline,
            "topics not created and filled:\n{}",
            w.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(w.terminate().success());
    let (p, rf, cfg) = topic_info_at(STRICT_BOOTSTRAP, &plain);
    assert_eq!((p, rf), (3, 1), "the default group");
    assert_eq!(cfg.get("retention.ms").map(String::as_str), Some("3600000"));
    let (p, _, cfg) = topic_info_at(STRICT_BOOTSTRAP, &state);
    assert_eq!(p, 2, "the short group");
    assert_eq!(cfg.get("retention.ms").map(String::as_str), Some("60000"));
    assert!(w.log_text().contains("created topic"), "{}", w.log_text());
}
