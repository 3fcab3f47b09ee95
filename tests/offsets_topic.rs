//! Source offsets in a Kafka topic, in Kafka Connect's exact format, both ways.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn offsets_in_the_topic_use_connects_format_and_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("otopic-data");
    create_topic(&topic, 1);
    let offsets_topic = unique("otopic-offsets");
    let input = d.join("in.txt");
    write_lines(&input, 0, 100);
    let name = unique("osrc");
    let c = d.join("c.yaml");
    std::fs::write(
        &c,
        format!("name: {name}\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n", input.display()),
    )
    .unwrap();
    let worker = worker_yaml(
        d,
        free_port(),
        &format!("offset.storage.topic: {offsets_topic}\noffset.storage.partitions: 3"),
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("100 records", Duration::from_secs(60), || {
        end_offset(&topic) >= 100
    });
    assert!(w.terminate().success());

    // Read the offsets topic with a plain consumer: Connect's key and value format.
    let records = read_all(&offsets_topic);
    let size = std::fs::metadata(&input).unwrap().len();
    let expected_key = format!(r#"["{}",{{"filename":"{}"}}]"#, name, input.display());
    let last = records
        .iter()
        .rev()
        .find(|m| m.key_str() == Some(expected_key.as_str()))
        .unwrap_or_else(|| panic!("no record with key {} in {:?}", expected_key, records));
    assert_eq!(last.value_str(), format!(r#"{{"position":{}}}"#, size));
    assert!(
        !d.join("offsets.json").exists(),
        "the file store is not used when offset.storage.topic is set"
    );

    // A restart resumes from the topic: nothing is sent twice.
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    write_lines(&input, 100, 10);
    wait_for("the 10 new records", Duration::from_secs(60), || {
        end_offset(&topic) >= 110
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    assert_eq!(end_offset(&topic), 110);

    // Offsets written by someone else (a Connect cluster) in Connect's format are
    // honoured: move the position back to the start of line 50.
    let line50 = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .take(50)
        .map(|l| l.len() + 1)
        .sum::<usize>();
    let value = format!(r#"{{"position":{}}}"#, line50);
    // Java's default partitioner (murmur2) places the key on this partition of 3.
    let p = murmur2_partition(expected_key.as_bytes(), 3);
    produce_keyed(&offsets_topic, p, expected_key.as_bytes(), value.as_bytes());
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("lines 50.. again", Duration::from_secs(60), || {
        end_offset(&topic) >= 170
    });
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.terminate().success());
    let all = read_all(&topic);
    assert_eq!(all.len(), 170);
    assert_eq!(all[110].value_str(), "line-50");
}
