//! What the Schema Registry converter tests share: the registry's address, the stack's
//! Python (confluent-kafka's serializers), and waits that show the worker's log.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{end_offset, lines, stack, Api, Sluice};

/// Apicurio Registry's Confluent API (`scripts/stack.sh start-registry`).
pub const REGISTRY: &str = "http://127.0.0.1:8081/apis/ccompat/v7";
pub const PG_URL: &str = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

fn python() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let stack = std::env::var("SLUICE_STACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(&home).join(".cache/sluice"));
    stack.join("venv/bin/python")
}

pub fn start_registry() {
    assert!(
        stack("start-registry"),
        "cannot start the Schema Registry (scripts/stack.sh start-registry)"
    );
}

/// Runs `tests/python/<script>` with `args`, `stdin` and extra `env`; returns its output.
pub fn run_python(script: &str, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
    let mut child = Command::new(python())
        .arg(format!(
            "{}/tests/python/{}",
            env!("CARGO_MANIFEST_DIR"),
            script
        ))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the stack's python (scripts/stack.sh start-registry installs its packages)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} {:?} failed: {}",
        script,
        args.first(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

pub fn wait_records(topic: &str, n: i64, w: &Sluice) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while end_offset(topic) < n {
        assert!(
            Instant::now() < deadline,
            "topic {} has {} of {} records; log:\n{}",
            topic,
            end_offset(topic),
            n,
            tail(&w.log_text())
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn wait_lines(path: &Path, n: usize, w: &Sluice) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got = if path.exists() {
            lines(path)
        } else {
            Vec::new()
        };
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} has {} of {} lines; log:\n{}",
            path.display(),
            got.len(),
            n,
            tail(&w.log_text())
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until task 0 of `name` is FAILED and returns its trace.
pub fn wait_task_failed(api: &Api, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = serde_json::Value::Null;
    while Instant::now() < deadline {
        let r = api.get(&format!("/connectors/{}/status", name));
        if r.status == 200 && r.body["tasks"][0]["state"] == "FAILED" {
            return r.body["tasks"][0]["trace"]
                .as_str()
                .unwrap_or("")
                .to_string();
        }
        last = r.body;
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("task of {} did not fail: {}", name, last);
}

pub fn write_connector(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(&p, format!("name: {}\nconfig:\n{}", name, body)).unwrap();
    p
}
