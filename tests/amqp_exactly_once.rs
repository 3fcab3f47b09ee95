//! The RabbitMQ source with exactly-once delivery takes one task: each task remembers
//! only the message ids it committed, so with competing tasks a requeued message could
//! be written twice. Through the REST API of a worker with
//! `exactly.once.source.support=enabled`, `tasks.max: 2` fails every task with a trace
//! naming both settings and consumes nothing; `tasks.max: 1` then runs and delivers
//! every message once.

mod common;
#[path = "common/queues.rs"]
mod queues;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use queues::*;
use serde_json::json;

#[test]
fn exactly_once_with_two_tasks_is_refused_and_one_task_runs() {
    const N: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let queue = unique("amqp-eos-tasks");
    let topic = unique("amqp-eos-tasks");
    declare_queue(&queue);
    create_topic(&topic, 1);
    publish(&queue, numbered(0, N));
    let port = free_port();
    let worker = worker_yaml(
        d,
        port,
        &format!(
            "offset.storage.topic: {}\nexactly.once.source.support: enabled\ngroup.id: {}",
            unique("amqp-eos-tasks-offsets"),
            unique("amqp-eos-tasks")
        ),
    );
    let mut w = Sluice::standalone(d, &worker, &[]);
    let api = Api::new(port);
    api.wait_ready();

    let name = unique("amqp-eos-tasks");
    let mut config = json!({
        "connector.class": "amqp-source",
        "amqp.uri": AMQP_URI,
        "amqp.queue": queue,
        "topic": topic,
        "amqp.record.builder.body.type": "string",
        "amqp.prefetch": "100",
        "tasks.max": "2",
    });
    let r = api.post("/connectors", &json!({"name": name, "config": config}));
    assert_eq!(r.status, 201, "{}", r.text);

    // Both tasks fail at start, with the reason.
    let mut status = serde_json::Value::Null;
    wait_for("both tasks to fail", Duration::from_secs(60), || {
        status = api.get(&format!("/connectors/{name}/status")).body;
        status["tasks"]
            .as_array()
            .is_some_and(|t| t.len() == 2 && t.iter().all(|t| t["state"] == "FAILED"))
    });
    for t in status["tasks"].as_array().unwrap() {
        let trace = t["trace"].as_str().unwrap_or_default();
        assert!(
            trace.contains("needs tasks.max=1, but tasks.max=2")
                && trace.contains("exactly.once.source.support=enabled"),
            "{trace}"
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(queue_counts(&queue).0, N as u64, "nothing consumed");
    assert_eq!(end_offset(&topic), 0, "nothing written");

    // One task: runs and delivers every message once.
    config["tasks.max"] = json!("1");
    let r = api.put(&format!("/connectors/{name}/config"), &config);
    assert_eq!(r.status, 200, "{}", r.text);
    api.wait_state(&name, "RUNNING");
    wait_for("every message", Duration::from_secs(60), || {
        queue_counts(&queue).0 == 0
    });
    let msgs = read_for(&topic, "read_committed", Duration::from_secs(3));
    let values: HashSet<String> = msgs.iter().map(|m| m.value_str().to_string()).collect();
    assert_eq!(msgs.len(), N, "each message once");
    assert_eq!(values.len(), N);
    assert!(w.terminate().success());
}
