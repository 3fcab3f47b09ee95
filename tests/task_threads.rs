//! Each task runs on a thread of its own, named after its connector and task number.
//! Two sink tasks stuck in blocking writes (stdout that nobody reads) hold only their
//! own threads: the REST API, on the worker's shared runtime, still answers, and once
//! stdout is read again every line comes out.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const LINES: usize = 20_000;

/// The worker, killed when the test ends, also when it fails.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tasks_stuck_in_blocking_writes_leave_the_rest_api_answering() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("threads");
    create_topic(&topic, 1);
    let want: Vec<String> = (0..LINES)
        .map(|i| format!("line-{:06}-{}", i, "x".repeat(88)))
        .collect();
    for chunk in want.chunks(5_000) {
        produce_to(&topic, 0, chunk);
    }
    let mut configs = Vec::new();
    for name in ["stdout-a", "stdout-b"] {
        let p = dir.path().join(format!("{name}.yaml"));
        // No `file`: the sink writes to stdout. A 6 s poll interval makes each
        // consumer pause its partitions after 3 s of stall, which the log shows.
        std::fs::write(
            &p,
            format!("name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  consumer.override.max.poll.interval.ms: 6000\n"),
        )
        .unwrap();
        configs.push(p);
    }
    let port = free_port();
    let worker = dir.path().join("worker.yaml");
    std::fs::write(&worker, worker_yaml(dir.path(), port, "")).unwrap();
    let log = dir.path().join("worker.log");
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("standalone")
            .arg(&worker)
            .args(&configs)
            .env("SLUICE_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // Nobody reads stdout yet: the pipe fills and both sinks' writes block.
    let stdout = HeldStdout::new(child.0.stdout.take().unwrap());
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for(
        "both sinks' consumers to pause (both tasks stuck in a write)",
        Duration::from_secs(60),
        || {
            log_text()
                .matches("the sink task is stalled; pausing its partitions")
                .count()
                >= 2
        },
    );

    // Each task has its thread, named after it.
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", child.0.id()))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect();
    for name in ["stdout-a-0", "stdout-b-0"] {
        assert!(
            threads.iter().any(|t| t == name),
            "no thread {name} among {threads:?}"
        );
    }

    // Both tasks are blocked, and the REST API answers at once.
    let api = Api::new(port);
    let started = std::time::Instant::now();
    let r = api.get("/connectors?expand=status");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the REST API took {:?} to answer while two tasks were blocked",
        started.elapsed()
    );
    for name in ["stdout-a", "stdout-b"] {
        assert_eq!(
            r.body[name]["status"]["tasks"][0]["state"], "RUNNING",
            "{}",
            r.text
        );
    }

    // Read stdout again: every line of both sinks comes out.
    stdout.start_reading();
    let lines_out = || stdout.lines("line-");
    wait_for(
        "every line of both sinks on stdout",
        Duration::from_secs(60),
        || lines_out().len() >= 2 * LINES,
    );
    let mut got = lines_out();
    drop(child);
    stdout.join();
    got.sort_unstable();
    let mut expected: Vec<String> = want.iter().chain(want.iter()).cloned().collect();
    expected.sort_unstable();
    assert_eq!(got.len(), expected.len());
    assert!(
        got == expected,
        "stdout is not every line of both sinks once each"
    );
}
