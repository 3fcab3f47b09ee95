//! The queue backlog a queue source reports (`sluice_source_task_queue_backlog` on
//! `/metrics`), against the real RabbitMQ: what waits in the queue while the connector
//! is paused, and zero once it has consumed everything.

mod common;
#[path = "common/queues.rs"]
mod queues;

use std::time::Duration;

use common::*;
use queues::*;
use serde_json::json;

/// The backlog the worker reports for the connector's task 0, if it reports one.
fn backlog(api: &Api, connector: &str) -> Option<u64> {
    let text = api.get("/metrics").text;
    let prefix =
        format!("sluice_source_task_queue_backlog{{connector=\"{connector}\",task=\"0\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .map(|v| v.trim().parse().unwrap())
}

#[test]
fn a_paused_rabbitmq_source_reports_what_waits_in_its_queue() {
    let queue = unique("backlog");
    let topic = unique("backlog");
    declare_queue(&queue);
    create_topic(&topic, 1);
    assert_eq!(publish(&queue, numbered(0, 500)), 500);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let name = unique("backlog-src");
    let r = api.post(
        "/connectors",
        &json!({"name": name, "initial_state": "PAUSED", "config": {
            "connector.class": "amqp-source", "amqp.uri": AMQP_URI, "amqp.queue": queue,
            "topic": topic, "amqp.prefetch": "100",
            "amqp.record.builder.body.type": "string"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    // Paused, the task holds at most its prefetch window: the rest is the backlog.
    wait_for(
        "the backlog of a paused source",
        Duration::from_secs(60),
        || backlog(&api, &name) == Some(400),
    );
    assert_eq!(end_offset(&topic), 0, "a paused source writes nothing");

    let r = api.put_empty(&format!("/connectors/{name}/resume"));
    assert!(r.status < 300, "{}", r.text);
    wait_for("every message in Kafka", Duration::from_secs(60), || {
        end_offset(&topic) >= 500
    });
    wait_for("the backlog back to 0", Duration::from_secs(30), || {
        backlog(&api, &name) == Some(0)
    });
    assert!(w.terminate().success());
}

#[test]
fn the_grafana_dashboard_charts_the_backlog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/sluice.json");
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panel = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["expr"] == "sluice_source_task_queue_backlog")
        })
        .expect("a panel of sluice_source_task_queue_backlog");
    assert!(panel["title"].as_str().unwrap().contains("backlog"));
}
