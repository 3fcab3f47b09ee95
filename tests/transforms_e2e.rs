//! A transform chain with predicates and `negate`, end to end through the broker with
//! the file connectors and the JsonConverter.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn chains_with_predicates_run_on_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let raw_topic = unique("people-raw");
    let topic = raw_topic.replace("people-raw", "people");
    create_topic(&topic, 1);
    let input = d.join("names.txt");
    std::fs::write(&input, "alice\nbob\n").unwrap();
    // Source: line -> {"name": line} -> + {"source": "file"} -> routed from *-raw to the topic.
    let src = d.join("src.yaml");
    std::fs::write(
        &src,
        format!(
            "name: people-in\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {raw_topic}\n\
             \x20 value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: true\n\
             \x20 transforms: hoist,stamp,route\n\
             \x20 transforms.hoist.type: org.apache.kafka.connect.transforms.HoistField$Value\n  transforms.hoist.field: name\n\
             \x20 transforms.stamp.type: InsertField$Value\n  transforms.stamp.static.field: source\n  transforms.stamp.static.value: file\n\
             \x20 transforms.route.type: org.apache.kafka.connect.transforms.RegexRouter\n  transforms.route.regex: (.*)people-raw(.*)\n  transforms.route.replacement: $1people$2\n",
            input.display()
        ),
    )
    .unwrap();
    // Sink: drop tombstones; extract the name from everything that is not a tombstone.
    let out = d.join("out.txt");
    let sink = d.join("sink.yaml");
    std::fs::write(
        &sink,
        format!(
            "name: people-out\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n\
             \x20 value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: true\n\
             \x20 transforms: drop,extract\n\
             \x20 transforms.drop.type: org.apache.kafka.connect.transforms.Filter\n  transforms.drop.predicate: tomb\n\
             \x20 transforms.extract.type: org.apache.kafka.connect.transforms.ExtractField$Value\n  transforms.extract.field: name\n\
             \x20 transforms.extract.predicate: tomb\n  transforms.extract.negate: true\n\
             \x20 predicates: tomb\n  predicates.tomb.type: org.apache.kafka.connect.transforms.predicates.RecordIsTombstone\n",
            out.display()
        ),
    )
    .unwrap();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&src, &sink]);
    wait_for(
        "the two records in the routed topic",
        Duration::from_secs(60),
        || end_offset(&topic) >= 2,
    );
    // A tombstone in between: the sink drops it.
    produce(&topic, &[(Some(b"k"), None, vec![])]);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .map(|mut f| std::io::Write::write_all(&mut f, b"carol\n"))
        .unwrap()
        .unwrap();
    wait_for(
        "three names in the sink file",
        Duration::from_secs(120),
        || lines(&out).len() >= 3,
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        lines(&out),
        vec!["alice", "bob", "carol"],
        "names extracted, tombstone dropped"
    );

    // The source side wrote Connect envelopes with the transformed struct schema.
    let msgs = read_all(&topic);
    let first: serde_json::Value =
        serde_json::from_slice(msgs[0].value.as_deref().unwrap()).unwrap();
    assert_eq!(
        first["payload"],
        serde_json::json!({"name": "alice", "source": "file"})
    );
    let fields = first["schema"]["fields"].as_array().unwrap();
    assert_eq!(first["schema"]["type"], "struct");
    assert_eq!(fields[0]["field"], "name");
    assert_eq!(fields[0]["type"], "string");
    assert_eq!(fields[1]["field"], "source");
    assert_eq!(fields[1]["optional"], true);
    assert_eq!(
        end_offset(&raw_topic_or_zero(&raw_topic)),
        0,
        "nothing reached the unrouted topic"
    );
    assert!(w.terminate().success());
}

/// The raw topic if it was ever created (it must not be), else an empty stand-in.
fn raw_topic_or_zero(t: &str) -> String {
    create_topic(t, 1);
    t.to_string()
}

/// FileStreamSink writes values only, so its consumer skips parsing headers, unless
/// something in the pipeline needs them: here a predicate on a header key.
#[test]
fn a_header_predicate_sees_headers_in_a_file_sink() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("headers-to-file");
    create_topic(&topic, 1);
    produce(
        &topic,
        &[
            (None, Some(b"keep-1"), vec![]),
            (None, Some(b"drop-1"), vec![("skip", b"yes")]),
            (None, Some(b"keep-2"), vec![("other", b"x")]),
            (None, Some(b"drop-2"), vec![("other", b"x"), ("skip", b"")]),
            (None, Some(b"keep-3"), vec![]),
        ],
    );
    let out = d.join("out.txt");
    let sink = d.join("sink.yaml");
    std::fs::write(
        &sink,
        format!(
            "name: headers-out\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n\
             \x20 transforms: drop\n\
             \x20 transforms.drop.type: org.apache.kafka.connect.transforms.Filter\n  transforms.drop.predicate: flagged\n\
             \x20 predicates: flagged\n  predicates.flagged.type: org.apache.kafka.connect.transforms.predicates.HasHeaderKey\n\
             \x20 predicates.flagged.name: skip\n",
            out.display()
        ),
    )
    .unwrap();
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&sink]);
    wait_for(
        "three lines in the sink file",
        Duration::from_secs(60),
        || lines(&out).len() >= 3,
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        lines(&out),
        vec!["keep-1", "keep-2", "keep-3"],
        "the records with a `skip` header were dropped"
    );
    assert!(w.terminate().success());
}
