//! The calls the tools people point at Kafka Connect make, served by Sluice: AKHQ's
//! client library (org.sourcelab:kafka-connect-client from Maven Central, run for real),
//! and the exact request sequences of kcctl and kafbat UI (paths, trailing slashes,
//! query parameters and version checks as in their sources), each answered as the tool
//! expects to parse it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn worker(dir: &std::path::Path) -> (Sluice, Api) {
    let port = free_port();
    let w = Sluice::standalone(dir, &worker_yaml(dir, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    (w, api)
}

fn stack_output(arg: &str) -> String {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stack.sh"))
        .arg(arg)
        .output()
        .unwrap();
    assert!(out.status.success(), "stack.sh {arg}: {:?}", out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn akhqs_client_library_drives_sluice() {
    let lib = stack_output("connect-client-lib");
    let dir = tempfile::tempdir().unwrap();
    write_lines(&dir.path().join("in.txt"), 0, 10);
    let (mut w, api) = worker(dir.path());
    let topic = unique("akhq");
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{}/*", lib))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/java/ConnectClientCheck.java"
        ))
        .arg(&api.base)
        .arg(dir.path())
        .arg(&topic)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("checks passed: "),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(end_offset(&topic), 10, "the connector AKHQ created ran");
    assert!(w.terminate().success());
}

/// kcctl's version check (org.kcctl.util.Version): `major.minor` from `version`.
fn kcctl_version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.');
    (
        parts.next().unwrap().parse().unwrap(),
        parts.next().unwrap().parse().unwrap(),
    )
}

#[test]
fn kcctl_and_kafbat_calls_are_served_as_they_expect() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    write_lines(&file, 0, 5);
    let (mut w, api) = worker(dir.path());
    let name = unique("kcctl");
    let topic = unique("kcctl-out");
    let call = |method: &str, path: &str, body: Option<Value>, want: u16| -> Value {
        let text = body.map(|b| b.to_string());
        let r = api.send(method, path, text.as_deref());
        assert_eq!(r.status, want, "{method} {path}: {}", r.text);
        r.body
    };

    // kcctl: `kcctl info`, and the version gates of stop (3.5), offsets (3.5/3.6) and
    // cluster-scoped log levels (3.7).
    let root = call("GET", "/", None, 200);
    assert!(
        kcctl_version(root["version"].as_str().unwrap()) >= (3, 7),
        "{root}"
    );
    assert!(root["kafka_cluster_id"].is_string());
    // kcctl get plugins / describe plugin.
    let plugins = call("GET", "/connector-plugins?connectorsOnly=false", None, 200);
    assert!(plugins
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["type"] == "transformation"));
    let keys = call(
        "GET",
        "/connector-plugins/FileStreamSource/config",
        None,
        200,
    );
    assert!(keys.as_array().unwrap().iter().any(|k| k["name"] == "file"));
    let v = call(
        "PUT",
        "/connector-plugins/org.apache.kafka.connect.file.FileStreamSourceConnector/config/validate",
        Some(json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "name": name, "topic": topic})),
        200,
    );
    assert_eq!(v["error_count"], 0, "{v}");
    // kcctl uses /connectors/ with a trailing slash for list and apply.
    let list = call("GET", "/connectors/", None, 200);
    assert!(list.is_array());
    let created = call(
        "POST",
        "/connectors/",
        Some(
            json!({"name": name, "config": {"connector.class": "FileStreamSource", "file": file, "topic": topic}}),
        ),
        201,
    );
    assert_eq!(created["name"], name.as_str());
    api.wait_state(&name, "RUNNING");
    // kcctl get connectors (expand, from 2.3).
    let all = call("GET", "/connectors?expand=status&expand=info", None, 200);
    assert_eq!(all[&name]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(all[&name]["info"]["config"]["topic"], topic.as_str());
    // kcctl describe connector (topics from 2.5).
    wait_for("topics", Duration::from_secs(30), || {
        api.get(&format!("/connectors/{name}/topics")).body[&name]["topics"] == json!([topic])
    });
    call("GET", &format!("/connectors/{name}/config"), None, 200);
    call("GET", &format!("/connectors/{name}/tasks"), None, 200);
    // kcctl restart connector --include-tasks (3.0), restart task.
    let restarted = call(
        "POST",
        &format!("/connectors/{name}/restart?includeTasks=true&onlyFailed=false"),
        None,
        202,
    );
    assert_eq!(restarted["name"], name.as_str(), "{restarted}");
    call(
        "POST",
        &format!("/connectors/{name}/tasks/0/restart"),
        None,
        204,
    );
    api.wait_state(&name, "RUNNING");
    call("PUT", &format!("/connectors/{name}/pause"), None, 202);
    call("PUT", &format!("/connectors/{name}/resume"), None, 202);
    api.wait_state(&name, "RUNNING");
    wait_for("the lines in Kafka", Duration::from_secs(30), || {
        end_offset(&topic) == 5
    });
    // kcctl stop (3.5), get / patch / delete offsets (3.5, 3.6).
    call("PUT", &format!("/connectors/{name}/stop"), None, 204);
    api.wait_state(&name, "STOPPED");
    let offsets = call("GET", &format!("/connectors/{name}/offsets"), None, 200);
    let partition = offsets["offsets"][0]["partition"].clone();
    assert!(partition.is_object(), "{offsets}");
    let patched = call(
        "PATCH",
        &format!("/connectors/{name}/offsets"),
        Some(json!({"offsets": [{"partition": partition, "offset": {"position": 0}}]})),
        200,
    );
    assert!(patched["message"].is_string(), "{patched}");
    let reset = call("DELETE", &format!("/connectors/{name}/offsets"), None, 200);
    assert!(reset["message"].is_string(), "{reset}");
    // kcctl patch loglevel with a Connect class name, for the worker and the cluster.
    let logger = "/admin/loggers/org.apache.kafka.connect.runtime.WorkerSourceTask";
    let affected = call("PUT", logger, Some(json!({"level": "DEBUG"})), 200);
    assert!(affected
        .as_array()
        .unwrap()
        .contains(&json!("org.apache.kafka.connect.runtime.WorkerSourceTask")));
    call(
        "PUT",
        &format!("{logger}?scope=cluster"),
        Some(json!({"level": "TRACE"})),
        204,
    );
    assert_eq!(call("GET", logger, None, 200)["level"], "TRACE");
    assert!(call("GET", "/admin/loggers", None, 200).is_object());
    assert!(call("GET", "/admin/loggers/", None, 200).is_object());

    // kafbat UI: cluster info, the connector list with both expands (and its optional
    // `search` parameter, which Connect ignores), and offsets reset.
    let info = call("GET", "/", None, 200);
    assert!(info["version"]
        .as_str()
        .unwrap()
        .starts_with("4.3.1-sluice-"));
    let listed = call(
        "GET",
        "/connectors?search=kcctl&expand=info&expand=status",
        None,
        200,
    );
    assert_eq!(listed[&name]["status"]["connector"]["state"], "STOPPED");
    call("DELETE", &format!("/connectors/{name}/offsets"), None, 200);

    call("DELETE", &format!("/connectors/{name}/"), None, 204);
    assert!(!call("GET", "/connectors/", None, 200)
        .as_array()
        .unwrap()
        .contains(&json!(name)));
    assert!(w.terminate().success());
}
