//! Exactly-once sources: each batch is a Kafka transaction together with its offsets.

mod common;

use std::time::Duration;

use common::*;

fn setup(
    dir: &std::path::Path,
    topic: &str,
    offsets_topic: &str,
    support: &str,
) -> (String, std::path::PathBuf) {
    let worker = worker_yaml(
        dir,
        free_port(),
        // A group.id of its own: the transactional id is <group.id>-<connector>-<task>,
        // so tests running at the same time never fence each other.
        &format!("offset.storage.topic: {offsets_topic}\noffset.storage.partitions: 3\nexactly.once.source.support: enabled\ngroup.id: {}", unique("eos-test")),
    );
    let c = dir.join("src.yaml");
    std::fs::write(
        &c,
        format!(
            "name: eos-src\nconfig:\n  connector.class: FileStreamSource\n  file: {}/in.txt\n  topic: {topic}\n  batch.size: 1000\n  exactly.once.support: {support}\n",
            dir.display()
        ),
    )
    .unwrap();
    (worker, c)
}

#[test]
fn a_crash_after_a_commit_leaves_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("eos");
    create_topic(&topic, 1);
    let offsets_topic = unique("eos-offsets");
    write_lines(&d.join("in.txt"), 0, 10_000);
    let (worker, c) = setup(d, &topic, &offsets_topic, "required");

    // The worker dies right after its third transaction commits.
    let mut w = Sluice::standalone_with_env(
        d,
        &worker,
        &[&c],
        &[("SLUICE_FAULT_EXIT_AFTER_COMMITS", "3")],
    );
    let status = w
        .wait_exit(Duration::from_secs(120))
        .expect("the fault hook ends the worker");
    assert_eq!(status.code(), Some(137), "{}", w.log_text());
    assert!(
        w.log_text()
            .contains("exactly-once: each batch is a Kafka transaction"),
        "{}",
        w.log_text()
    );
    let after_crash = read_all(&topic).len();
    assert_eq!(after_crash, 3_000, "three committed batches");

    // A restart continues right after the committed batches.
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("all 10000 records", Duration::from_secs(120), || {
        read_all(&topic).len() >= 10_000
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    let msgs = read_all(&topic);
    let values: Vec<&str> = msgs.iter().map(|m| m.value_str()).collect();
    let want: Vec<String> = (0..10_000).map(|i| format!("line-{}", i)).collect();
    assert_eq!(
        values,
        want.iter().map(String::as_str).collect::<Vec<_>>(),
        "every line exactly once, in order"
    );

    // The offsets went to the offsets topic in Connect's format, inside the transactions.
    let offsets = read_all(&offsets_topic);
    let key = format!(r#"["eos-src",{{"filename":"{}/in.txt"}}]"#, d.display());
    let last = offsets
        .iter()
        .rev()
        .find(|m| m.key_str() == Some(key.as_str()))
        .expect("offset record");
    let size = std::fs::metadata(d.join("in.txt")).unwrap().len();
    assert_eq!(last.value_str(), format!(r#"{{"position":{}}}"#, size));
}

#[test]
fn a_crash_inside_a_transaction_hides_its_records_and_every_line_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("eos-mid");
    create_topic(&topic, 1);
    let offsets_topic = unique("eos-mid-offsets");
    write_lines(&d.join("in.txt"), 0, 10_000);
    let (worker, c) = setup(d, &topic, &offsets_topic, "required");

    // The worker dies inside its third transaction: its 1,000 records are on the
    // broker, the commit never happens.
    let mut w = Sluice::standalone_with_env(
        d,
        &worker,
        &[&c],
        &[("SLUICE_FAULT_EXIT_BEFORE_COMMIT", "3")],
    );
    let status = w
        .wait_exit(Duration::from_secs(120))
        .expect("the fault hook ends the worker");
    assert_eq!(status.code(), Some(137), "{}", w.log_text());
    let uncommitted = read_for(&topic, "read_uncommitted", Duration::from_secs(3));
    assert_eq!(
        uncommitted.len(),
        3_000,
        "two committed batches and the open one reached the broker"
    );
    let committed = read_for(&topic, "read_committed", Duration::from_secs(3));
    let values: Vec<&str> = committed.iter().map(|m| m.value_str()).collect();
    let want: Vec<String> = (0..2_000).map(|i| format!("line-{}", i)).collect();
    assert_eq!(
        values,
        want.iter().map(String::as_str).collect::<Vec<_>>(),
        "read_committed sees the two committed batches and nothing of the open one"
    );

    // The restarted task fences the dead producer (its transaction is aborted) and
    // continues after the last committed batch.
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("all 10000 records", Duration::from_secs(120), || {
        read_all(&topic).len() >= 10_000
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    let values: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    let want: Vec<String> = (0..10_000).map(|i| format!("line-{}", i)).collect();
    assert_same_lines(&values, &want, "every line exactly once, in order");
    // The aborted records are still in the log, just never visible when committed.
    assert!(end_offset(&topic) > 10_000);
}

#[test]
fn a_second_worker_with_the_same_task_fences_the_first() {
    let base = tempfile::tempdir().unwrap();
    let (d1, d2) = (base.path().join("a"), base.path().join("b"));
    std::fs::create_dir_all(&d1).unwrap();
    std::fs::create_dir_all(&d2).unwrap();
    let topic = unique("eos-fence");
    create_topic(&topic, 1);
    let offsets_topic = unique("eos-fence-offsets");
    let input = base.path().join("in.txt");
    write_lines(&input, 0, 2_000);
    // Both workers run the same connector with the same group.id, so the same
    // transactional.id, reading the same file. Auto-restart is on: the fenced worker
    // must not take the task back.
    let make = |d: &std::path::Path| {
        let worker = worker_yaml(
            d,
            free_port(),
            &format!("offset.storage.topic: {offsets_topic}\noffset.storage.partitions: 3\nexactly.once.source.support: enabled\ngroup.id: eos-fence\ntask.auto.restart.backoff.initial.ms: 200"),
        )
        .replace("task.auto.restart.enable: false", "task.auto.restart.enable: true");
        let c = d.join("src.yaml");
        std::fs::write(
            &c,
            format!(
                "name: fenced-src\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n  batch.size: 200\n  exactly.once.support: required\n",
                input.display()
            ),
        )
        .unwrap();
        (worker, c)
    };
    let (wa, ca) = make(&d1);
    let (wb, cb) = make(&d2);
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let input = input.clone();
        let writing = writing.clone();
        std::thread::spawn(move || {
            for chunk in 0..36 {
                write_lines(&input, 2_000 + chunk * 500, 500);
                std::thread::sleep(Duration::from_millis(150));
            }
            writing.store(false, std::sync::atomic::Ordering::SeqCst);
        })
    };

    let mut a = Sluice::standalone(&d1, &wa, &[&ca]);
    let api_a = Api::new(a.port);
    api_a.wait_ready();
    wait_for(
        "the first worker to deliver",
        Duration::from_secs(60),
        || end_offset(&topic) >= 2_000,
    );
    let mut b = Sluice::standalone(&d2, &wb, &[&cb]);
    let api_b = Api::new(b.port);
    api_b.wait_ready();
    wait_for(
        "the first worker's task to be fenced",
        Duration::from_secs(60),
        || api_a.get("/connectors/fenced-src/status").body["tasks"][0]["state"] == "FAILED",
    );
    let st = api_a.get("/connectors/fenced-src/status").body;
    let trace = st["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(trace.contains("was fenced"), "{}", st);
    assert!(trace.contains("is not restarted"), "{}", st);
    // Well past the auto-restart backoff, the fenced task is still down.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        api_a.get("/connectors/fenced-src/status").body["tasks"][0]["state"],
        "FAILED"
    );
    assert!(a
        .log_text()
        .contains("not restarting the task automatically"));
    writer.join().unwrap();
    assert!(!writing.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        api_b.get("/connectors/fenced-src/status").body["tasks"][0]["state"],
        "RUNNING"
    );
    wait_for(
        "every line through the second worker",
        Duration::from_secs(120),
        || read_all(&topic).len() >= 20_000,
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(b.terminate().success());
    assert!(a.terminate().success());
    let values: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    let want: Vec<String> = (0..20_000).map(|i| format!("line-{}", i)).collect();
    assert_same_lines(
        &values,
        &want,
        "every line exactly once, in order, across the takeover",
    );
}

#[test]
fn required_without_worker_support_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("eos-off");
    write_lines(&d.join("in.txt"), 0, 10);
    let (worker, c) = setup(d, &topic, &unique("eos-offsets"), "required");
    let worker = worker.replace(
        "exactly.once.source.support: enabled",
        "exactly.once.source.support: disabled",
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let api = Api::new(w.port);
    api.wait_ready();
    wait_for("the task to fail", Duration::from_secs(60), || {
        api.get("/connectors/eos-src/status").body["tasks"][0]["state"] == "FAILED"
    });
    let trace = api.get("/connectors/eos-src/status").body["tasks"][0]["trace"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        trace.contains(
            "exactly.once.support=required but the worker has exactly.once.source.support disabled"
        ),
        "{}",
        trace
    );
    assert!(w.terminate().success());
}
