//! Sink rebalances while offsets are committed all the time: a partition revocation
//! never waits for a commit the task asked for just before (they used to wait on each
//! other until the 30 s revocation timeout, skipping the commit), nothing is lost, and
//! cooperative (incremental) assignment is refused with a clear message.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::json;

#[test]
fn joins_and_leaves_during_frequent_commits_never_stall_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("rebalance");
    create_topic(&topic, 4);
    let port = free_port();
    let worker = worker_yaml(d, port, "").replace(
        "offset.flush.interval.ms: 500",
        "offset.flush.interval.ms: 50",
    );
    let mut w = Sluice::standalone(d, &worker, &[]);
    let api = Api::new(port);
    api.wait_ready();
    let name = unique("rebalance-sink");
    let out = d.join("out.txt");
    let r = api.post(
        "/connectors",
        &json!({"name": name, "config": {
            "connector.class": "FileStreamSink",
            "topics": topic,
            "file": out.display().to_string(),
        }}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    api.wait_state(&name, "RUNNING");

    let total = 20_000;
    let producer = {
        let topic = topic.clone();
        std::thread::spawn(move || {
            for chunk in 0..20 {
                let values: Vec<String> = (chunk * 1000..(chunk + 1) * 1000)
                    .map(|i| format!("r{}", i))
                    .collect();
                produce_to(&topic, chunk % 4, &values);
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };

    // Another member joins the sink's group and leaves again, eight times: each time
    // the sink task's partitions are revoked while it commits every 50 ms.
    let group = format!("connect-{}", name);
    let mut slowest = Duration::ZERO;
    for _ in 0..8 {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap())
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000")
            .create()
            .unwrap();
        c.subscribe(&[&topic]).unwrap();
        let started = Instant::now();
        while c.assignment().map(|a| a.count()).unwrap_or(0) == 0 {
            let _ = c.poll(Duration::from_millis(100));
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the join never completed"
            );
        }
        slowest = slowest.max(started.elapsed());
        std::thread::sleep(Duration::from_millis(500));
        drop(c); // leaves the group
        std::thread::sleep(Duration::from_millis(500));
    }
    producer.join().unwrap();

    let want: HashSet<String> = (0..total).map(|i| format!("r{}", i)).collect();
    wait_for("every record in the file", Duration::from_secs(120), || {
        lines(&out).into_iter().collect::<HashSet<_>>() == want
    });
    let log = w.log_text();
    assert!(
        !log.contains("did not flush within"),
        "a revocation waited for the task: {}",
        log
    );
    // A revocation that waited for the 30 s timeout would make a join take that long.
    assert!(
        slowest < Duration::from_secs(20),
        "a join took {:?}",
        slowest
    );
    let metrics = api.get("/metrics").text;
    let skips: f64 = metrics
        .lines()
        .filter(|l| l.contains("offset_commit_skip") && l.contains(&name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(skips, 0.0, "no commit was skipped:\n{}", metrics);
    assert!(w.terminate().success());
}

#[test]
fn cooperative_assignment_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let r = api.post(
        "/connectors",
        &json!({"name": unique("coop"), "config": {
            "connector.class": "FileStreamSink",
            "topics": "t",
            "file": d.join("o.txt").display().to_string(),
            "consumer.override.partition.assignment.strategy": "cooperative-sticky",
        }}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text
            .contains("consumer.override.partition.assignment.strategy")
            && r.text.contains("not supported"),
        "{}",
        r.text
    );
    assert!(w.terminate().success());

    // The same on the worker: it refuses to start, naming the key.
    let (code, _, err) = {
        let wpath = d.join("w2.yaml");
        std::fs::write(
            &wpath,
            worker_yaml(
                d,
                free_port(),
                "consumer.partition.assignment.strategy: org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
            ),
        )
        .unwrap();
        run_cli(&["standalone", wpath.to_str().unwrap()])
    };
    assert_ne!(code, 0);
    assert!(
        err.contains("consumer.partition.assignment.strategy"),
        "{}",
        err
    );
}
