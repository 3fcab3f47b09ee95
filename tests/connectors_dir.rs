//! `connectors.dir`: files dropped, changed and removed start, reconfigure and stop
//! connectors; a bad file is reported and changes nothing else.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

fn source_yaml(name: &str, file: &Path, topic: &str) -> String {
    format!(
        "name: {name}\nconfig:\n  connector.class: file-source\n  file: {}\n  topic: {topic}\n",
        file.display()
    )
}

fn sink_props(name: &str, file: &Path, topic: &str) -> String {
    format!("name={name}\nconnector.class=org.apache.kafka.connect.file.FileStreamSinkConnector\ntopics={topic}\nfile={}\n", file.display())
}

#[test]
fn dropping_changing_and_removing_files_starts_reconfigures_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cdir = d.join("connectors");
    std::fs::create_dir(&cdir).unwrap();
    let (t1, t2) = (unique("dir-a"), unique("dir-b"));
    create_topic(&t1, 1);
    create_topic(&t2, 1);
    let input = d.join("in.txt");
    write_lines(&input, 0, 10);
    let extra = format!(
        "connectors.dir: {}\nconnectors.dir.poll.interval.ms: 200",
        cdir.display()
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), &extra), &[]);

    // Drop a source (YAML) and a sink (properties): both start.
    let src_name = unique("src");
    std::fs::write(
        cdir.join("source.yaml"),
        source_yaml(&src_name, &input, &t1),
    )
    .unwrap();
    let out1 = d.join("out1.txt");
    std::fs::write(
        cdir.join("sink.properties"),
        sink_props(&unique("sink"), &out1, &t1),
    )
    .unwrap();
    wait_for(
        "10 lines through the dropped connectors",
        Duration::from_secs(120),
        || lines(&out1).len() >= 10,
    );

    // Change the source to another topic: it is reconfigured (new lines go to t2).
    std::fs::write(
        cdir.join("source.yaml"),
        source_yaml(&src_name, &input, &t2),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    write_lines(&input, 10, 5);
    wait_for(
        "new lines in the new topic",
        Duration::from_secs(60),
        || end_offset(&t2) >= 5,
    );
    assert_eq!(
        end_offset(&t1),
        10,
        "the old topic got nothing after the change"
    );
    let moved = read_all(&t2);
    assert_eq!(
        moved.first().map(|m| m.value_str()),
        Some("line-10"),
        "resumed from the stored position"
    );

    // Remove the source file: it stops; lines written afterwards go nowhere.
    std::fs::remove_file(cdir.join("source.yaml")).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    write_lines(&input, 15, 5);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(end_offset(&t2), 5, "a removed connector produces nothing");
    let log = w.log_text();
    assert!(
        log.contains(&format!("deleting connector connector={}", src_name)),
        "log: {}",
        log
    );
    assert!(w.terminate().success());
}

#[test]
fn bad_files_are_reported_and_other_connectors_keep_running() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cdir = d.join("connectors");
    std::fs::create_dir(&cdir).unwrap();
    let topic = unique("good");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    write_lines(&input, 0, 5);
    let extra = format!(
        "connectors.dir: {}\nconnectors.dir.poll.interval.ms: 200",
        cdir.display()
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), &extra), &[]);
    let good = unique("good-src");
    std::fs::write(cdir.join("good.yaml"), source_yaml(&good, &input, &topic)).unwrap();
    wait_for(
        "the good connector to deliver",
        Duration::from_secs(60),
        || end_offset(&topic) >= 5,
    );

    // Three problems in one file, a file that does not parse, and an unknown class.
    std::fs::write(
        cdir.join("bad.yaml"),
        "name: bad-one\nconfig:\n  connector.class: FileStreamSource\n  batch.size: lots\n  tasks.max: 0\n",
    )
    .unwrap();
    std::fs::write(cdir.join("broken.yaml"), "name: [unclosed\n").unwrap();
    std::fs::write(
        cdir.join("unknown.json"),
        r#"{"name":"unknown-one","config":{"connector.class":"com.example.Nope"}}"#,
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));

    // The good connector keeps running.
    write_lines(&input, 5, 5);
    wait_for(
        "the good connector to keep delivering",
        Duration::from_secs(60),
        || end_offset(&topic) >= 10,
    );

    // A broken change to the good file keeps the old config running.
    std::fs::write(
        cdir.join("good.yaml"),
        format!(
            "name: {}\nconfig:\n  connector.class: FileStreamSource\n  batch.size: nope\n",
            good
        ),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    write_lines(&input, 10, 5);
    wait_for(
        "the old config to keep running",
        Duration::from_secs(60),
        || end_offset(&topic) >= 15,
    );

    let log = w.log_text();
    for needle in [
        "bad.yaml: batch.size: Invalid value lots for configuration batch.size: Not a number of type INT",
        "bad.yaml: tasks.max: Invalid value 0 for configuration tasks.max: Value must be at least 1",
        "bad.yaml: topic: Missing required configuration \"topic\" which has no default value.",
        "broken.yaml: invalid YAML at line",
        "unknown.json: connector.class: Failed to find any class that implements Connector and which name matches com.example.Nope",
        "good.yaml: batch.size: Invalid value nope",
    ] {
        assert!(log.contains(needle), "log lacks {:?}:\n{}", needle, log);
    }
    assert!(w.terminate().success());
}
