//! The one connector lifecycle: the same rules on every path that (re)starts a
//! connector, and REST reads that never wait for a connector being started or stopped.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const FILE_PROVIDER: &str = "config.providers: file\nconfig.providers.file.class: org.apache.kafka.common.config.provider.FileConfigProvider";

/// Restarting only the connector (no `includeTasks`) resolves and checks its config as
/// a full start does: when a config provider can no longer supply a value, the
/// connector shows FAILED with a trace that names the key and the provider, and never
/// the value. (Before, this restart path returned quietly and the status said RUNNING.)
#[test]
fn a_connector_restart_fails_visibly_when_its_config_no_longer_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secrets = d.join("secrets.properties");
    let topic = unique("lifecycle");
    std::fs::write(&secrets, format!("topic={}\n", topic)).unwrap();
    let input = d.join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, FILE_PROVIDER), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let name = unique("restart-resolve");
    let created = api.post(
        "/connectors",
        &json!({"name": name, "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": format!("${{file:{}:topic}}", secrets.display()),
        }}),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    api.wait_state(&name, "RUNNING");

    std::fs::remove_file(&secrets).unwrap();
    let r = api.send("POST", &format!("/connectors/{}/restart", name), None);
    assert_eq!(r.status, 204, "{}", r.text);
    let mut status = serde_json::Value::Null;
    wait_for(
        "the connector to show FAILED",
        Duration::from_secs(30),
        || {
            status = api.get(&format!("/connectors/{}/status", name)).body;
            status["connector"]["state"] == "FAILED"
        },
    );
    let trace = status["connector"]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("topic"),
        "the trace names the key: {}",
        trace
    );
    assert!(
        trace.contains("provider") || trace.contains("${file:"),
        "the trace says a config provider failed: {}",
        trace
    );
    assert!(
        !trace.contains(&topic),
        "the trace shows no resolved value: {}",
        trace
    );
    // The task keeps running with the config it had (a connector-only restart).
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{}", status);

    // Fixed provider: the same restart brings the connector back.
    std::fs::write(&secrets, format!("topic={}\n", topic)).unwrap();
    let r = api.send("POST", &format!("/connectors/{}/restart", name), None);
    assert_eq!(r.status, 204, "{}", r.text);
    api.wait_state(&name, "RUNNING");
    w.terminate();
}

/// Stopping a connector waits for its tasks to finish (up to the graceful shutdown
/// timeout). Meanwhile the REST API keeps answering reads about every connector,
/// including the one being stopped: the herder never holds its map lock across a
/// connector's start or stop.
#[test]
fn reads_do_not_wait_for_a_connector_being_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let worker = worker_yaml(d, port, "task.shutdown.graceful.timeout.ms: 8000");
    let mut w = Sluice::standalone(d, &worker, &[]);
    let api = Api::new(port);
    api.wait_ready();
    // An MQTT source whose poll blocks for 30 s when nothing arrives: stopping it
    // waits for that poll up to the 8 s shutdown timeout.
    let slow = unique("slow-stop");
    let r = api.post(
        "/connectors",
        &json!({"name": slow, "config": {
            "connector.class": "mqtt-source",
            "mqtt.server.uri": "tcp://127.0.0.1:1883",
            "mqtt.topics": format!("sluice/{}/#", slow),
            "mqtt.max.poll.blocked.time.ms": "30000",
            "topic": unique("slow-stop-topic"),
        }}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let other = unique("bystander");
    let input = d.join("in.txt");
    std::fs::write(&input, "").unwrap();
    let r = api.post(
        "/connectors",
        &json!({"name": other, "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": unique("bystander-topic"),
        }}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    api.wait_state(&slow, "RUNNING");
    api.wait_state(&other, "RUNNING");
    // Let the MQTT task enter its long poll.
    std::thread::sleep(Duration::from_secs(2));

    let stopper = {
        let path = format!("/connectors/{}/stop", slow);
        std::thread::spawn(move || {
            let started = Instant::now();
            let r = Api::new(port).send("PUT", &path, None);
            (r.status, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let reads_started = Instant::now();
    let list = api.get("/connectors");
    let bystander = api.get(&format!("/connectors/{}/status", other));
    let stopping = api.get(&format!("/connectors/{}/status", slow));
    let reads_took = reads_started.elapsed();
    assert!(
        !stopper.is_finished(),
        "the stop should still be waiting for the task's poll"
    );
    assert_eq!(list.status, 200);
    assert_eq!(bystander.status, 200);
    assert_eq!(bystander.body["connector"]["state"], "RUNNING");
    assert_eq!(stopping.status, 200);
    let (stop_status, stop_took) = stopper.join().unwrap();
    assert_eq!(stop_status, 204);
    assert!(
        reads_took < stop_took,
        "reads ({:?}) finished while the stop ({:?}) was under way",
        reads_took,
        stop_took
    );
    api.wait_state(&slow, "STOPPED");
    w.terminate();
}
