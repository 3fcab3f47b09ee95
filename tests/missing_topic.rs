//! A source whose topic does not exist, on a broker that does not create topics
//! automatically (as many production clusters run): the task fails with a status that
//! names the topic, and nothing is acknowledged upstream.

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
