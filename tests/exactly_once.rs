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
        &format!("offset.storage.topic: {offsets_topic}\noffset.storage.partitions: 3\nexactly.once.source.support: enabled\ngroup.id: eos-test"),
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
