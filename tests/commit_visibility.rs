//! A sink offset commit that fails is visible: in the task status, the log and the
//! metrics, and it clears once a commit succeeds again. The broker (the stack's spare
//! one, so other tests keep theirs) is SIGKILLed and restarted.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn a_failed_offset_commit_shows_in_status_log_and_metrics_until_one_succeeds() {
    use_spare_broker();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("commit-vis");
    create_topic(&topic, 1);
    let name = unique("commit-vis-sink");
    let c = d.join("sink.yaml");
    std::fs::write(
        &c,
        format!("name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}/out.txt\n", d.display()),
    )
    .unwrap();
    let port = free_port();
    let worker = worker_yaml(d, port, "").replace(
        "offset.flush.interval.ms: 500",
        "offset.flush.interval.ms: 4000",
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let out = d.join("out.txt");
    let group = format!("connect-{name}");

    // Records the sink has read (and written: the file sink writes at `put`) but not
    // yet flushed and committed when the broker dies.
    let metric = |m: &str| -> f64 {
        let text = api.get("/metrics").text;
        text.lines()
            .find(|l| l.starts_with(m) && l.contains(&name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let mut written = 0;
    let mut broker_down = false;
    for round in 0..5 {
        let values: Vec<String> = (0..100).map(|i| format!("r{round}-{i}")).collect();
        produce_to(&topic, 0, &values);
        written += 100;
        wait_for(
            "the sink to read the records",
            Duration::from_secs(60),
            || metric("kafka_connect_sink_task_sink_record_read_total") >= written as f64,
        );
        if committed_offset(&group, &topic).unwrap_or(0) < written as i64 {
            assert!(stack("kill-spare-broker"), "cannot kill the broker");
            broker_down = true;
            break;
        }
        wait_for("the flush and commit", Duration::from_secs(60), || {
            committed_offset(&group, &topic).unwrap_or(0) >= written as i64
        });
    }
    assert!(
        broker_down,
        "never caught the sink between a write and its commit"
    );
    let task_status = || api.get(&format!("/connectors/{name}/status")).body["tasks"][0].clone();
    wait_for(
        "the failed commit in the task status",
        Duration::from_secs(60),
        || {
            task_status()["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("offset commit failed"))
        },
    );
    assert_eq!(
        task_status()["state"],
        "RUNNING",
        "a failed commit does not fail the task"
    );
    let failure_pct = metric("kafka_connect_connector_task_offset_commit_failure_percentage");
    assert!(failure_pct > 0.0, "{failure_pct}");
    assert!(
        w.log_text()
            .contains("offset commit failed (will retry at the next flush)"),
        "{}",
        w.log_text()
    );

    assert!(stack("start-spare-broker"), "cannot start the broker again");
    wait_for(
        "a successful commit after the outage",
        Duration::from_secs(120),
        || committed_offset(&group, &topic) == Some(written as i64),
    );
    wait_for("the status to clear", Duration::from_secs(30), || {
        task_status()["detail"].is_null()
    });
    assert!(w.terminate().success());
    // Nothing is lost; the records whose commit failed may be written again (at least
    // once: the group restarts the partition at the last successful commit).
    let got = lines(&out);
    let distinct: std::collections::HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), written, "every record written");
    assert!(
        got.len() - written <= 100,
        "at most the uncommitted batch twice: {}",
        got.len()
    );
}
