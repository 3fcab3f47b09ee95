//! Migration between Apache Kafka Connect and Sluice, both ways, on the same internal
//! topics: a Connect cluster runs a FileStreamSource and a FileStreamSink (with a
//! transform chain and a predicate) while lines keep arriving, and is stopped; Sluice
//! workers with the same group.id find the connectors, their target states and offsets
//! and continue; then Connect takes over again from what Sluice wrote. The output file
//! holds every input line, with no more duplicates than were delivered in the last
//! offset flush interval before each switch.

mod common;
#[path = "common/connect.rs"]
mod connect;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use connect::{connect_properties, Connect};
use serde_json::json;

/// Appends numbered lines to the input while running: 200 lines every 100 ms.
struct Writer {
    next: Arc<AtomicUsize>,
    run: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(input: &Path, from: usize) -> Writer {
        let next = Arc::new(AtomicUsize::new(from));
        let run = Arc::new(AtomicBool::new(true));
        let (n, r, input) = (next.clone(), run.clone(), input.to_path_buf());
        let handle = std::thread::spawn(move || {
            while r.load(Ordering::SeqCst) {
                let start = n.load(Ordering::SeqCst);
                write_lines(&input, start, 200);
                n.store(start + 200, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Writer {
            next,
            run,
            handle: Some(handle),
        }
    }
    /// Stops writing; returns how many lines the input holds.
    fn stop(mut self) -> usize {
        self.run.store(false, Ordering::SeqCst);
        self.handle.take().unwrap().join().unwrap();
        self.next.load(Ordering::SeqCst)
    }
}

fn sluice_worker(group: &str, port: u16) -> String {
    format!(
        "bootstrap.servers: {}\ngroup.id: {group}\nconfig.storage.topic: {group}-configs\n\
         offset.storage.topic: {group}-offsets\nstatus.storage.topic: {group}-status\n\
         config.storage.replication.factor: 1\noffset.storage.replication.factor: 1\nstatus.storage.replication.factor: 1\n\
         key.converter: org.apache.kafka.connect.storage.StringConverter\n\
         value.converter: org.apache.kafka.connect.storage.StringConverter\n\
         listeners: http://127.0.0.1:{port}\noffset.flush.interval.ms: 500\n",
        bootstrap()
    )
}

fn wait_running(api: &Api, name: &str) {
    wait_for(&format!("{name} RUNNING"), Duration::from_secs(120), || {
        let s = api.get(&format!("/connectors/{name}/status")).body;
        s["connector"]["state"] == "RUNNING"
            && s["tasks"]
                .as_array()
                .is_some_and(|t| !t.is_empty() && t.iter().all(|t| t["state"] == "RUNNING"))
    });
}

/// Lines of the output, and how many times each appears.
fn output(out: &Path) -> (Vec<String>, HashMap<String, usize>) {
    let lines = lines(out);
    let mut counts = HashMap::new();
    for l in &lines {
        *counts.entry(l.clone()).or_insert(0) += 1;
    }
    (lines, counts)
}

/// Waits until every line of `0..n` is in the output; returns the duplicates.
fn wait_complete(out: &Path, n: usize, who: &str) -> usize {
    let want: HashSet<String> = (0..n).map(|i| format!("line-{i}")).collect();
    wait_for(
        &format!("{who}: all {n} lines in the output"),
        Duration::from_secs(180),
        || {
            let (_, counts) = output(out);
            want.iter().all(|w| counts.contains_key(w))
        },
    );
    std::thread::sleep(Duration::from_millis(1_500));
    let (lines, counts) = output(out);
    assert!(
        counts.keys().all(|k| want.contains(k)),
        "{who}: nothing but the input lines"
    );
    lines.len() - counts.len()
}

/// At most what the writer produces in the flush interval (500 ms) plus a second of
/// slack for a flush under way: 200 lines per 100 ms.
const FLUSH_WINDOW_LINES: usize = 200 * 15;

#[test]
fn connect_to_sluice_and_back_keeps_connectors_states_and_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let group = unique("migrate");
    let input = d.join("in.txt");
    let out = d.join("out.txt");
    let topic = unique("migrate-lines");
    std::fs::write(&input, "").unwrap();

    // 1. Kafka Connect creates and runs the connectors.
    let cport = free_port();
    let mut connect =
        Connect::distributed(&d.join("connect1"), &connect_properties(&group, cport, ""));
    let capi = connect.wait_ready();
    let source = json!({
        "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic,
        "transforms": "tag,route",
        "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertHeader",
        "transforms.tag.header": "origin", "transforms.tag.value.literal": "file",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)", "transforms.route.replacement": "$1-routed"
    });
    // The sink keeps only records with the header the source's chain added.
    let sink = json!({
        "connector.class": "FileStreamSink", "file": out.display().to_string(), "topics": format!("{topic}-routed"),
        "transforms": "keep",
        "transforms.keep.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.keep.predicate": "untagged",
        "predicates": "untagged",
        "predicates.untagged.type": "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
        "predicates.untagged.name": "origin",
        "transforms.keep.negate": "true"
    });
    let parked = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": unique("parked")});
    for (name, cfg) in [("src", &source), ("sink", &sink), ("parked", &parked)] {
        let r = capi.put(&format!("/connectors/{name}/config"), cfg);
        assert_eq!(r.status, 201, "{}", r.text);
    }
    wait_running(&capi, "src");
    wait_running(&capi, "sink");
    assert_eq!(
        capi.send("PUT", "/connectors/parked/pause", None).status,
        202
    );
    let writer = Writer::start(&input, 0);
    wait_for("Connect to deliver", Duration::from_secs(120), || {
        lines(&out).len() >= 3_000
    });
    connect.terminate();
    let written = writer.stop();
    let connect_offsets = read_all(&format!("{group}-offsets")).len();
    assert!(connect_offsets > 0, "Connect wrote source offsets");

    // 2. Sluice takes over the same cluster: same connectors, states and offsets.
    let sport = free_port();
    std::fs::create_dir_all(d.join("sluice")).unwrap();
    let mut sluice = Sluice::distributed(&d.join("sluice"), &sluice_worker(&group, sport));
    let sapi = Api::new(sport);
    sapi.wait_ready();
    wait_running(&sapi, "src");
    wait_running(&sapi, "sink");
    let mut names: Vec<String> = serde_json::from_value(sapi.get("/connectors").body).unwrap();
    names.sort();
    assert_eq!(names, ["parked", "sink", "src"]);
    assert_eq!(
        sapi.get("/connectors/src/config").body["transforms.route.replacement"],
        "$1-routed"
    );
    wait_for("parked to stay PAUSED", Duration::from_secs(30), || {
        sapi.get("/connectors/parked/status").body["connector"]["state"] == "PAUSED"
    });
    let dups_to_sluice = wait_complete(&out, written, "after Connect -> Sluice");
    assert!(
        dups_to_sluice <= FLUSH_WINDOW_LINES,
        "{dups_to_sluice} duplicates after Connect -> Sluice"
    );
    // More lines through Sluice, then Sluice stops while they are arriving.
    let writer = Writer::start(&input, written);
    wait_for(
        "Sluice to deliver new lines",
        Duration::from_secs(120),
        || lines(&out).len() >= written + dups_to_sluice + 3_000,
    );
    assert!(sluice.terminate().success(), "{}", sluice.log_text());
    let written = writer.stop();

    // 3. Connect takes the cluster back from what Sluice wrote.
    let cport2 = free_port();
    let mut connect =
        Connect::distributed(&d.join("connect2"), &connect_properties(&group, cport2, ""));
    let capi = connect.wait_ready();
    wait_running(&capi, "src");
    wait_running(&capi, "sink");
    wait_for(
        "parked to stay PAUSED under Connect",
        Duration::from_secs(60),
        || capi.get("/connectors/parked/status").body["connector"]["state"] == "PAUSED",
    );
    let before = lines(&out).len();
    let total_dups = wait_complete(&out, written, "after Sluice -> Connect");
    let dups_back = total_dups - dups_to_sluice;
    assert!(
        dups_back <= FLUSH_WINDOW_LINES,
        "{dups_back} duplicates after Sluice -> Connect"
    );
    // And Connect keeps going with new lines.
    write_lines(&input, written, 500);
    let final_dups = wait_complete(&out, written + 500, "Connect after the switch back");
    assert_eq!(
        final_dups, total_dups,
        "no new duplicates once Connect runs"
    );
    connect.terminate();
    eprintln!(
        "{written} lines; duplicates: {dups_to_sluice} (Connect -> Sluice), {dups_back} (Sluice -> Connect); output had {before} lines at the switch back"
    );
}

/// Standalone workers keep offsets in a file; Connect writes it with Java serialization.
/// Sluice reads that file, keeps writing it in Connect's format, and Connect reads it
/// back: a FileStreamSource moves Connect -> Sluice -> Connect without a line lost or
/// repeated (each stop is graceful and stores the last offsets).
#[test]
fn a_standalone_offsets_file_moves_between_connect_and_sluice() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("sa-migrate");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    let offsets = d.join("offsets.dat");
    write_lines(&input, 0, 2_000);
    let connector = d.join("src.properties");
    std::fs::write(
        &connector,
        format!(
            "name=sa-src\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n",
            input.display()
        ),
    )
    .unwrap();
    let connect_worker = |port: u16| {
        format!(
            "bootstrap.servers={}\nkey.converter=org.apache.kafka.connect.storage.StringConverter\n\
             value.converter=org.apache.kafka.connect.storage.StringConverter\n\
             offset.storage.file.filename={}\noffset.flush.interval.ms=500\nlisteners=http://127.0.0.1:{port}\n",
            bootstrap(),
            offsets.display()
        )
    };
    let is_connect_format = || {
        std::fs::read(&offsets)
            .unwrap()
            .starts_with(&[0xAC, 0xED, 0x00, 0x05])
    };

    let mut c = Connect::standalone(&d.join("c1"), &connect_worker(free_port()), &[&connector]);
    wait_for("Connect's 2000 lines", Duration::from_secs(120), || {
        end_offset(&topic) >= 2_000
    });
    std::thread::sleep(Duration::from_millis(1_000));
    c.terminate();
    assert!(
        is_connect_format(),
        "Connect wrote its Java-serialized offsets file"
    );

    let port = free_port();
    let sluice_worker = format!(
        "bootstrap.servers: {}\noffset.storage.file.filename: {}\noffset.flush.interval.ms: 500\n\
         listeners: http://127.0.0.1:{port}\n\
         key.converter: org.apache.kafka.connect.storage.StringConverter\n\
         value.converter: org.apache.kafka.connect.storage.StringConverter\n",
        bootstrap(),
        offsets.display()
    );
    let mut s = Sluice::standalone(d, &sluice_worker, &[&connector]);
    Api::new(port).wait_ready();
    write_lines(&input, 2_000, 2_000);
    wait_for("Sluice's 2000 more", Duration::from_secs(120), || {
        end_offset(&topic) >= 4_000
    });
    std::thread::sleep(Duration::from_millis(1_000));
    assert!(s.terminate().success());
    assert!(
        s.log_text()
            .contains("read Kafka Connect's standalone offsets file"),
        "{}",
        s.log_text()
    );
    assert!(
        is_connect_format(),
        "Sluice kept the file in Connect's format"
    );

    let mut c = Connect::standalone(&d.join("c2"), &connect_worker(free_port()), &[&connector]);
    write_lines(&input, 4_000, 2_000);
    wait_for("Connect's last 2000", Duration::from_secs(120), || {
        end_offset(&topic) >= 6_000
    });
    std::thread::sleep(Duration::from_millis(1_000));
    c.terminate();
    let values: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    let want: Vec<String> = (0..6_000).map(|i| format!("line-{i}")).collect();
    assert_same_lines(
        &values,
        &want,
        "every line once across Connect -> Sluice -> Connect",
    );
}
