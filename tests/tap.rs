//! The live tap against a real worker and broker: `GET /connectors/{c}/tap` (Server-Sent
//! Events) and `sluice tap`, for a file source with a transform chain and a file sink.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value as Json;

const SECRET: &str = "hunter2-tap-secret";

/// Reads the tap's `record` events in a thread; they arrive on the returned channel.
fn listen(port: u16, connector: &str, query: &str) -> mpsc::Receiver<Json> {
    let url = format!("http://127.0.0.1:{port}/connectors/{connector}/tap?{query}");
    let resp = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .unwrap()
        .get(&url)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut event = String::new();
        for line in BufReader::new(resp).lines() {
            let Ok(line) = line else { return };
            if let Some(e) = line.strip_prefix("event:") {
                event = e.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                if event == "record" {
                    let j: Json = serde_json::from_str(d.trim()).unwrap();
                    if tx.send(j).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The events that arrive within `wait`.
fn collect(rx: &mpsc::Receiver<Json>, wait: Duration) -> Vec<Json> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(e) => out.push(e),
            Err(_) => break,
        }
    }
    out
}

fn append(path: &Path, from: usize, n: usize) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..from + n {
        writeln!(f, "line-{i} pw={SECRET}").unwrap();
    }
}

/// Appends lines every 20 ms for `d`.
fn feed(path: &Path, from: usize, d: Duration) -> usize {
    let end = Instant::now() + d;
    let mut i = from;
    while Instant::now() < end {
        append(path, i, 5);
        i += 5;
        std::thread::sleep(Duration::from_millis(20));
    }
    i
}

#[test]
fn tap_shows_each_stage_of_sampled_records_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("tap");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    let out = d.join("out.txt");
    append(&input, 0, 1);
    let src = d.join("tap-src.yaml");
    std::fs::write(
        &src,
        format!(
            "name: tap-src\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n  \
             db.password: {SECRET}\n  \
             transforms: hoist,tag\n  \
             transforms.hoist.type: org.apache.kafka.connect.transforms.HoistField$Value\n  \
             transforms.hoist.field: line\n  \
             transforms.tag.type: org.apache.kafka.connect.transforms.InsertField$Value\n  \
             transforms.tag.static.field: origin\n  \
             transforms.tag.static.value: tapped\n  \
             value.converter: org.apache.kafka.connect.json.JsonConverter\n  \
             value.converter.schemas.enable: false\n",
            input.display()
        ),
    )
    .unwrap();
    let sink = d.join("tap-sink.yaml");
    let sink_name = unique("tap-sink");
    std::fs::write(
        &sink,
        format!(
            "name: {sink_name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n",
            out.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&src, &sink]);
    let api = Api::new(port);
    api.wait_ready();
    api.wait_state("tap-src", "RUNNING");

    // the source: every stage of a sampled record, in order, under one sample number
    let rx = listen(port, "tap-src", "rate=5");
    let next = feed(&input, 1, Duration::from_secs(3));
    let events = collect(&rx, Duration::from_secs(1));
    let by_sample =
        |n: &Json| -> Vec<&Json> { events.iter().filter(|e| &e["sample"] == n).collect() };
    let complete = events
        .iter()
        .filter(|e| e["stage"] == "source")
        .map(|e| by_sample(&e["sample"]))
        .find(|s| s.len() == 4)
        .unwrap_or_else(|| panic!("no record seen at all four stages: {events:#?}"));
    let stages: Vec<String> = complete
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["stage"].as_str().unwrap(),
                e["step"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        stages,
        ["source:", "transform:hoist", "transform:tag", "output:"]
    );
    let line = complete[0]["value"].as_str().unwrap().to_string();
    assert!(
        line.starts_with("line-") && line.ends_with("pw=********"),
        "{line}"
    );
    assert_eq!(complete[1]["value"]["line"], line.as_str());
    assert_eq!(complete[2]["value"]["origin"], "tapped");
    assert_eq!(complete[3]["topic"], topic.as_str());
    let written: Json = serde_json::from_str(complete[3]["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        written["origin"], "tapped",
        "the output is the bytes sent to Kafka"
    );
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(SECRET), "a secret value was shown: {text}");
    // at most the asked rate (5 a second, over about 4 s), all stages of each
    let samples: std::collections::HashSet<String> =
        events.iter().map(|e| e["sample"].to_string()).collect();
    assert!(
        (2..=25).contains(&samples.len()),
        "{} records sampled at rate 5 over ~4 s",
        samples.len()
    );

    // the sink: as read from Kafka (with its offset) and as handed to put, filtered
    let rx = listen(port, &sink_name, "stage=source&rate=50");
    let next = feed(&input, next, Duration::from_secs(2));
    let events = collect(&rx, Duration::from_secs(1));
    assert!(!events.is_empty(), "nothing tapped from the sink");
    assert!(events.iter().all(|e| e["stage"] == "source"), "{events:#?}");
    assert!(
        events.iter().all(|e| e["offset"].as_i64().is_some()),
        "{events:#?}"
    );

    // `sluice tap` prints the same, readable or as JSON lines, and stops at --limit
    let feeder = {
        let input = input.clone();
        std::thread::spawn(move || feed(&input, next, Duration::from_secs(4)))
    };
    let cli = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "tap",
            "tap-src",
            "--url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .args(["--stage", "transform", "--limit", "4", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let lines: Vec<Json> = String::from_utf8_lossy(&cli.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|e| e["stage"] == "transform"));
    let cli = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "tap",
            "tap-src",
            "--url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .args(["--stage", "output", "--limit", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        text.starts_with("task 0 #") && text.contains(" output  ") && text.contains(&topic),
        "{text}"
    );
    feeder.join().unwrap();

    // errors
    let r = api.get("/connectors/nope/tap");
    assert_eq!(r.status, 404, "{}", r.text);
    let r = api.get("/connectors/tap-src/tap?stage=after");
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("\\\"after\\\"") || r.text.contains("after"),
        "{}",
        r.text
    );
    let r = api.get("/connectors/tap-src/tap?rate=0");
    assert_eq!(r.status, 400, "{}", r.text);
    let cli = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["tap", "nope", "--url", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(!cli.status.success());
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(w.terminate().success());
}

#[test]
fn tap_can_be_switched_off_by_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.txt");
    append(&input, 0, 1);
    let src = d.join("off.yaml");
    std::fs::write(
        &src,
        format!(
            "name: tap-off\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {}\n",
            input.display(),
            unique("tapoff")
        ),
    )
    .unwrap();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, "tap.enable: false"), &[&src]);
    let api = Api::new(port);
    api.wait_ready();
    let r = api.get("/connectors/tap-off/tap");
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("tap.enable=false"), "{}", r.text);
    assert!(w.terminate().success());
}
