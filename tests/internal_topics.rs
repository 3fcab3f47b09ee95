//! The worker's internal topics on Apache Kafka: created as Kafka Connect creates them,
//! refused when they would lose data, and their contents surviving compaction.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// A distributed worker config; `rf` is the replication factor line(s), `extra` more.
fn dist_worker(group: &str, port: u16, rf: &str, extra: &str) -> String {
    format!(
        "bootstrap.servers: {}\ngroup.id: {group}\nconfig.storage.topic: {group}-configs\n\
         offset.storage.topic: {group}-offsets\nstatus.storage.topic: {group}-status\n\
         listeners: http://127.0.0.1:{port}\nsession.timeout.ms: 6000\nheartbeat.interval.ms: 1000\n\
         scheduled.rebalance.max.delay.ms: 0\noffset.flush.interval.ms: 300\n\
         key.converter: org.apache.kafka.connect.storage.StringConverter\n\
         value.converter: org.apache.kafka.connect.storage.StringConverter\n{rf}\n{extra}\n",
        bootstrap()
    )
}

const RF1: &str = "config.storage.replication.factor: 1\noffset.storage.replication.factor: 1\nstatus.storage.replication.factor: 1";

#[test]
fn internal_topics_are_created_as_connect_creates_them() {
    let dir = tempfile::tempdir().unwrap();
    let group = unique("itopics");
    let port = free_port();
    let mut w = Sluice::distributed(dir.path(), &dist_worker(&group, port, RF1, ""));
    Api::new(port).wait_ready();
    assert!(w.terminate().success());
    // Connect's defaults: configs 1 partition, offsets 25, status 5; all compacted.
    for (suffix, partitions) in [("configs", 1), ("offsets", 25), ("status", 5)] {
        let (p, rf, configs) = topic_info(&format!("{group}-{suffix}"));
        assert_eq!(p, partitions, "{suffix} partitions");
        assert_eq!(
            rf, 1,
            "{suffix} replication factor (from the worker config)"
        );
        assert_eq!(
            configs.get("cleanup.policy").map(String::as_str),
            Some("compact"),
            "{suffix} is compacted: {configs:?}"
        );
    }
}

#[test]
fn a_replication_factor_above_the_broker_count_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let group = unique("itopics-rf");
    let port = free_port();
    // Connect's default replication factor (3) on a one-broker cluster.
    let mut w = Sluice::distributed(dir.path(), &dist_worker(&group, port, "", ""));
    let st = w
        .wait_exit(Duration::from_secs(60))
        .expect("the worker exits");
    assert!(!st.success());
    let log = w.log_text();
    assert!(
        log.contains(&format!("cannot create topic '{group}-offsets' (offset.storage.topic) with replication factor 3"))
            && log.contains("the Kafka cluster has 1 broker(s)")
            && log.contains("Set offset.storage.replication.factor to at most that"),
        "{log}"
    );
}

#[test]
fn an_internal_topic_that_is_not_compacted_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    for (suffix, key) in [
        ("offsets", "offset.storage.topic"),
        ("configs", "config.storage.topic"),
        ("status", "status.storage.topic"),
    ] {
        let group = unique("itopics-del");
        let topic = format!("{group}-{suffix}");
        create_topic_with(&topic, 1, &[("cleanup.policy", "delete")]);
        let port = free_port();
        let mut w = Sluice::distributed(dir.path(), &dist_worker(&group, port, RF1, ""));
        let st = w
            .wait_exit(Duration::from_secs(60))
            .expect("the worker exits");
        assert!(!st.success());
        let log = w.log_text();
        assert!(
            log.contains(&format!(
                "topic '{topic}' ({key}) has cleanup.policy=delete"
            )) && log.contains("cleanup.policy=compact")
                && log.contains(&format!(
                    "--entity-name {topic} --add-config cleanup.policy=compact"
                )),
            "{log}"
        );
    }
    // The same check for a standalone worker keeping offsets in a topic.
    let topic = unique("itopics-sa-offsets");
    create_topic_with(&topic, 1, &[("cleanup.policy", "compact,delete")]);
    let mut w = Sluice::standalone(
        dir.path(),
        &worker_yaml(
            dir.path(),
            free_port(),
            &format!("offset.storage.topic: {topic}"),
        ),
        &[],
    );
    let st = w
        .wait_exit(Duration::from_secs(60))
        .expect("the worker exits");
    assert!(!st.success());
    assert!(
        w.log_text().contains(&format!(
            "topic '{topic}' (offset.storage.topic) has cleanup.policy=compact,delete"
        )),
        "{}",
        w.log_text()
    );
}

#[test]
fn a_config_topic_with_several_partitions_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let group = unique("itopics-parts");
    let topic = format!("{group}-configs");
    create_topic_with(&topic, 3, &[("cleanup.policy", "compact")]);
    let mut w = Sluice::distributed(dir.path(), &dist_worker(&group, free_port(), RF1, ""));
    let st = w
        .wait_exit(Duration::from_secs(60))
        .expect("the worker exits");
    assert!(!st.success());
    assert!(
        w.log_text().contains(&format!(
            "topic '{topic}' (config.storage.topic) has 3 partitions, but it must have exactly one"
        )),
        "{}",
        w.log_text()
    );
}

/// Records in a topic right now (compaction removes superseded ones).
fn record_count(topic: &str) -> usize {
    read_all(topic).len()
}

#[test]
fn configs_and_offsets_survive_compaction_of_the_internal_topics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let group = unique("itopics-compact");
    // Internal topics that roll a segment every 100 ms and compact soon after, so
    // the broker's cleaner (every second on the test broker) compacts them in seconds.
    let fast = [
        ("cleanup.policy", "compact"),
        ("segment.ms", "100"),
        ("min.cleanable.dirty.ratio", "0.01"),
        ("delete.retention.ms", "100"),
        ("min.compaction.lag.ms", "0"),
    ];
    create_topic_with(&format!("{group}-configs"), 1, &fast);
    create_topic_with(&format!("{group}-offsets"), 5, &fast);
    create_topic_with(&format!("{group}-status"), 5, &fast);
    let data = unique("itopics-data");
    create_topic(&data, 1);
    let input = d.join("in.txt");
    write_lines(&input, 0, 100);
    let port = free_port();
    let worker = dist_worker(&group, port, RF1, "");
    let mut w = Sluice::distributed(d, &worker);
    let api = Api::new(port);
    api.wait_ready();

    // Many versions of one connector config and many offset records for one source
    // partition: the source reads a file that grows in small steps.
    let name = unique("compacted-src");
    let config = |batch: usize| {
        json!({"connector.class": "FileStreamSource", "file": input.display().to_string(),
               "topic": data, "batch.size": batch.to_string()})
    };
    for batch in 1..=30 {
        let r = api.put(&format!("/connectors/{name}/config"), &config(100 + batch));
        assert!(r.status == 200 || r.status == 201, "{:?}", r);
        std::thread::sleep(Duration::from_millis(150));
    }
    api.wait_state(&name, "RUNNING");
    for i in 1..40 {
        write_lines(&input, i * 100, 100);
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_for("every line in Kafka", Duration::from_secs(60), || {
        end_offset(&data) >= 4_000
    });
    std::thread::sleep(Duration::from_millis(1_000));
    let configs_written = end_offset(&format!("{group}-configs")) as usize;
    let offsets_written = end_offset(&format!("{group}-offsets")) as usize;
    assert!(
        configs_written >= 30 && offsets_written >= 10,
        "{configs_written} {offsets_written}"
    );

    // New records roll the segments; wait until the cleaner removed superseded ones.
    wait_for(
        "the broker to compact the config and offsets topics",
        Duration::from_secs(120),
        || {
            let _ = api.put(&format!("/connectors/{name}/config"), &config(131));
            record_count(&format!("{group}-configs")) < configs_written / 2
                && record_count(&format!("{group}-offsets")) < offsets_written
        },
    );
    assert!(w.terminate().success());

    // A new worker reads the compacted topics: same config, same position.
    let port2 = free_port();
    let mut w = Sluice::distributed(d, &dist_worker(&group, port2, RF1, ""));
    let api = Api::new(port2);
    api.wait_ready();
    api.wait_state(&name, "RUNNING");
    let got = api.get(&format!("/connectors/{name}/config")).body;
    assert_eq!(got["batch.size"], "131", "{got}");
    let offsets = api.get(&format!("/connectors/{name}/offsets")).body;
    let size = std::fs::metadata(&input).unwrap().len();
    assert_eq!(
        offsets["offsets"][0]["offset"]["position"], size,
        "{offsets}"
    );
    write_lines(&input, 4_000, 100);
    wait_for("the new lines", Duration::from_secs(60), || {
        end_offset(&data) >= 4_100
    });
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(w.terminate().success());
    let values: Vec<String> = read_all(&data)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    let want: Vec<String> = (0..4_100).map(|i| format!("line-{i}")).collect();
    assert_same_lines(
        &values,
        &want,
        "every line once after the restart on compacted topics",
    );
}
