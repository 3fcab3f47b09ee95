//! ActiveMQ Artemis (AMQP 1.0, `scripts/stack.sh start-artemis`) and an independent
//! AMQP 1.0 client, python-qpid-proton from the stack's virtualenv
//! (`tests/common/amqp1_client.py`).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The stack's Artemis user.
pub const USER: &str = "sluice";
pub const PASSWORD: &str = "sluice-secret";
/// Plain AMQP and AMQP over TLS.
pub const URI: &str = "amqp://sluice:sluice-secret@127.0.0.1:5673";
pub const TLS_URI: &str = "amqps://sluice:sluice-secret@localhost:5674";
/// TLS that requires a client certificate and offers only SASL EXTERNAL: the stack's
/// client certificate (CN=sluice_client) logs in as the user `sluice-cert`.
pub const EXTERNAL_URI: &str = "amqps://localhost:5675";

fn python() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let stack = std::env::var("SLUICE_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".cache/sluice"));
    stack.join("venv/bin/python")
}

/// Starts Artemis if it is not running (idempotent).
pub fn start_artemis() {
    assert!(
        super::stack("start-artemis"),
        "cannot start ActiveMQ Artemis (scripts/stack.sh start-artemis)"
    );
}

fn client(args: &[&str], stdin: &str) -> String {
    let ca = super::tls::tls_file("ca.pem");
    let mut child = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/common/amqp1_client.py"
        ))
        .args(args)
        .env("SLUICE_CA", ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the stack's python (scripts/stack.sh up installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "amqp1_client.py {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Sends messages (JSON objects, see amqp1_client.py) to `address` with the link
/// capability `cap` (`queue`, `topic`); returns how many were sent.
pub fn send(address: &str, cap: &str, msgs: &[serde_json::Value]) -> usize {
    send_to(URI, address, cap, msgs)
}

/// [`send`] to another broker.
pub fn send_to(uri: &str, address: &str, cap: &str, msgs: &[serde_json::Value]) -> usize {
    let lines: String = msgs.iter().map(|m| format!("{}\n", m)).collect();
    client(&["send", uri, address, cap], &lines)
        .trim()
        .parse()
        .unwrap()
}

/// Text messages `body-<i>` for i in start..start+n, with message ids `m-<i>`.
pub fn numbered(start: usize, n: usize) -> Vec<serde_json::Value> {
    (start..start + n)
        .map(|i| serde_json::json!({"kind": "text", "body": format!("body-{}", i), "id": format!("m-{}", i), "durable": true}))
        .collect()
}

/// Receives (and accepts) up to `max` messages, stopping after `idle_s` seconds without one.
pub fn receive(address: &str, cap: &str, max: usize, idle_s: f64) -> Vec<serde_json::Value> {
    receive_from(URI, address, cap, max, idle_s)
}

/// [`receive`] from another broker.
pub fn receive_from(
    uri: &str,
    address: &str,
    cap: &str,
    max: usize,
    idle_s: f64,
) -> Vec<serde_json::Value> {
    client(
        &[
            "receive",
            uri,
            address,
            cap,
            &max.to_string(),
            &idle_s.to_string(),
        ],
        "",
    )
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}
