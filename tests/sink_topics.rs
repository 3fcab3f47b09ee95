//! Sinks on Apache Kafka: partitions added while running, and committed offsets that
//! retention removed.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use common::*;
use rdkafka::admin::{AdminOptions, NewPartitions};
use rdkafka::{Offset, TopicPartitionList};

fn sink_config(d: &Path, name: &str, topic: &str, extra: &str) -> std::path::PathBuf {
    let c = d.join(format!("{name}.yaml"));
    std::fs::write(
        &c,
        format!(
            "name: {name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}/out.txt\n{extra}",
            d.display()
        ),
    )
    .unwrap();
    c
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[test]
fn a_sink_consumes_partitions_added_to_its_topic_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("grow");
    create_topic(&topic, 1);
    produce_to(&topic, 0, &numbered("p0", 100));
    let name = unique("grow-sink");
    // Java's metadata.max.age.ms, as a Connect user would set it.
    let c = sink_config(
        d,
        &name,
        &topic,
        "  consumer.override.metadata.max.age.ms: 2000\n",
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    let out = d.join("out.txt");
    wait_for("partition 0", Duration::from_secs(60), || {
        lines(&out).len() >= 100
    });

    block_on(admin().create_partitions([&NewPartitions::new(&topic, 3)], &AdminOptions::new()))
        .unwrap()
        .into_iter()
        .for_each(|r| {
            r.unwrap();
        });
    produce_to(&topic, 1, &numbered("p1", 100));
    produce_to(&topic, 2, &numbered("p2", 100));
    // Within metadata.max.age.ms (2 s) plus a rebalance; no restart.
    wait_for("the new partitions", Duration::from_secs(30), || {
        lines(&out).len() >= 300
    });
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(w.terminate().success());
    let got: HashSet<String> = lines(&out).into_iter().collect();
    let mut want: HashSet<String> = HashSet::new();
    for p in ["p0", "p1", "p2"] {
        want.extend(numbered(p, 100));
    }
    assert_eq!(got, want);
    assert_eq!(lines(&out).len(), 300, "nothing twice");
}

#[test]
fn a_sink_whose_committed_offset_was_removed_by_retention_resumes_at_the_earliest_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("retained");
    create_topic(&topic, 1);
    produce_to(&topic, 0, &numbered("a", 100));
    let name = unique("retained-sink");
    let c = sink_config(d, &name, &topic, "");
    let worker = worker_yaml(d, free_port(), "");
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    let out = d.join("out.txt");
    wait_for("the first 100", Duration::from_secs(60), || {
        lines(&out).len() >= 100
    });
    let group = format!("connect-{name}");
    wait_for("the commit", Duration::from_secs(30), || {
        committed_offset(&group, &topic) == Some(100)
    });
    assert!(w.terminate().success());

    // While the sink is down, 100 more records arrive and retention removes the log
    // up to offset 150: the committed offset 100 no longer exists.
    produce_to(&topic, 0, &numbered("b", 100));
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, 0, Offset::Offset(150))
        .unwrap();
    block_on(admin().delete_records(&tpl, &AdminOptions::new())).unwrap();

    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("the rest of the log", Duration::from_secs(60), || {
        lines(&out).len() >= 150
    });
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(w.terminate().success());
    let got = lines(&out);
    let mut want = numbered("a", 100);
    want.extend(numbered("b", 100).into_iter().skip(50));
    assert_same_lines(
        &got,
        &want,
        "auto.offset.reset=earliest: from the start of what is left",
    );
    let log = w.log_text();
    assert!(
        log.contains(&format!(
            "committed offset 100 of {topic}-0 is no longer in the log"
        )) && log.contains("auto.offset.reset=earliest"),
        "{log}"
    );
}
