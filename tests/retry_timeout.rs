//! `errors.retry.timeout` bounds how long a task retries an outside system that went
//! away: a MongoDB sink whose server is killed fails after its timeout with a trace
//! that says so, while one with `-1` keeps retrying (showing it in its status) and
//! writes everything once the server is back. The test runs its own MongoDB-protocol
//! server (SecantusDB from the stack's virtualenv) so that killing it disturbs no other
//! test.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use mongodb::bson::{doc, Document};

fn secantus() -> PathBuf {
    let stack = std::env::var("SLUICE_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/sluice"));
    stack.join("venv/bin/secantusd-py")
}

/// A private SecantusDB on `port`, storing under `dir`.
fn start_server(port: u16, dir: &std::path::Path) -> Child {
    let child = Command::new(secantus())
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("SecantusDB from the stack's virtualenv (scripts/stack.sh up)");
    wait_for(
        "the private MongoDB server",
        Duration::from_secs(60),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    child
}

fn count(port: u16, coll: &str) -> Option<u64> {
    block_on(async {
        let mut o = mongodb::options::ClientOptions::parse(format!("mongodb://127.0.0.1:{}", port))
            .await
            .ok()?;
        o.server_selection_timeout = Some(Duration::from_secs(2));
        let c = mongodb::Client::with_options(o).ok()?;
        c.database("sluice_retry")
            .collection::<Document>(coll)
            .count_documents(doc! {})
            .await
            .ok()
    })
}

fn task_state(api: &Api, name: &str) -> serde_json::Value {
    api.get(&format!("/connectors/{}/status", name)).body["tasks"][0].clone()
}

#[test]
fn retries_stop_after_errors_retry_timeout_and_minus_one_retries_forever() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mport = free_port();
    let data = d.join("mongo");
    std::fs::create_dir_all(&data).unwrap();
    let mut server = start_server(mport, &data);
    let topic = unique("retry-timeout");
    create_topic(&topic, 1);
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let connector = |name: &str, timeout: &str| {
        let r = api.post(
            "/connectors",
            &serde_json::json!({"name": name, "config": {
                "connector.class": "mongodb-sink",
                "topics": topic,
                "connection.uri": format!("mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=1000", mport),
                "database": "sluice_retry",
                "collection": name,
                "errors.retry.timeout": timeout,
                "errors.retry.delay.max.ms": "500",
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
            }}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
    };
    let bounded = unique("bounded");
    let forever = unique("forever");
    connector(&bounded, "4000");
    connector(&forever, "-1");
    let values: Vec<String> = (0..100).map(|i| format!("{{\"n\":{}}}", i)).collect();
    produce_to(&topic, 0, &values);
    for c in [&bounded, &forever] {
        wait_for("the first records", Duration::from_secs(60), || {
            count(mport, c) == Some(100)
        });
    }

    let _ = server.kill();
    let _ = server.wait();
    let more: Vec<String> = (100..200).map(|i| format!("{{\"n\":{}}}", i)).collect();
    produce_to(&topic, 0, &more);

    // The bounded one shows its retries, then fails saying why.
    let mut seen_retry = false;
    let mut status = serde_json::Value::Null;
    wait_for("the bounded task to fail", Duration::from_secs(60), || {
        status = task_state(&api, &bounded);
        seen_retry |= status["detail"]
            .as_str()
            .is_some_and(|d| d.contains("errors.retry.timeout=4000"));
        status["state"] == "FAILED"
    });
    assert!(seen_retry, "the status showed the retries: {}", status);
    let trace = status["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("failed in put") && trace.contains("errors.retry.timeout=4000"),
        "{}",
        trace
    );
    // The other keeps retrying.
    let other = task_state(&api, &forever);
    assert_eq!(other["state"], "RUNNING", "{}", other);
    assert!(
        other["detail"]
            .as_str()
            .is_some_and(|d| d.contains("errors.retry.timeout=-1") && d.contains("put failed")),
        "{}",
        other
    );

    // The server comes back: the -1 sink writes the rest. It comes back empty: SecantusDB
    // restarted on its old data answers writes while it still recovers, and was seen
    // acknowledging upserts (n=100, 100 upserted) of which only 95 were kept.
    let fresh = d.join("mongo-again");
    std::fs::create_dir_all(&fresh).unwrap();
    let mut server = start_server(mport, &fresh);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let n = count(mport, &forever);
        if n == Some(100) {
            break;
        }
        if std::time::Instant::now() > deadline {
            let log = w.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "the -1 sink's collection holds {:?} of the 100 records written after the comeback, after 120 s; status {}; log (last lines first):\n{}",
                n,
                task_state(&api, &forever),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(w.terminate().success());
    let _ = server.kill();
    let _ = server.wait();
}
