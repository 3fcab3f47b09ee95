//! Progress of long work, against a real worker and broker: a file source's first read
//! of a large file, and a JDBC source's first snapshot of a large PostgreSQL table, are
//! reported in the log at every 10 % and when done, and in the task status while they
//! last.

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::io::Write;
use std::time::Duration;

use common::*;

#[test]
fn a_large_files_first_read_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("progress");
    create_topic(&topic, 1);
    let input = d.join("big.txt");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    let pad = "x".repeat(90);
    let n = 200_000;
    for i in 0..n {
        writeln!(f, "{i:08}{pad}").unwrap();
    }
    drop(f);
    let size = std::fs::metadata(&input).unwrap().len();
    assert!(size > 16 * 1024 * 1024);
    let src = d.join("big.yaml");
    std::fs::write(
        &src,
        format!(
            "name: big\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n",
            input.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&src]);
    let api = Api::new(port);
    api.wait_ready();
    // while it lasts, the status says how far the read is (best effort: it may be over
    // before the first look)
    let mut seen_detail = None;
    wait_for("every line in Kafka", Duration::from_secs(120), || {
        if seen_detail.is_none() {
            let s = api.get("/connectors/big/status");
            if let Some(d) = s.body["tasks"][0]["detail"].as_str() {
                if d.starts_with("first read of") {
                    seen_detail = Some(d.to_string());
                }
            }
        }
        end_offset(&topic) >= n
    });
    if let Some(d) = &seen_detail {
        assert!(d.contains("MiB (") && d.ends_with("%)"), "{d}");
    }
    wait_for(
        "the first read logged as done",
        Duration::from_secs(30),
        || w.log_text().contains("first read of") && w.log_text().contains(" done: "),
    );
    let log = w.log_text();
    let steps: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("first read of") && l.contains("MiB ("))
        .collect();
    assert!(
        steps.len() >= 5 && steps.len() <= 10,
        "a line at every 10 % (batches may skip a step): {steps:#?}"
    );
    assert!(
        steps
            .iter()
            .any(|l| l.contains("(50%)") || l.contains("(5")),
        "{steps:#?}"
    );
    let s = api.get("/connectors/big/status");
    assert!(
        s.body["tasks"][0]["detail"].is_null(),
        "the detail is cleared when done: {}",
        s.text
    );
    assert!(w.terminate().success());
}

#[test]
fn a_large_tables_first_snapshot_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let table = unique("snap").replace('-', "_");
    let prefix = unique("snap-");
    let n = 200_000;
    let pg = pg::Pg::connect();
    pg.exec(&format!(
        "CREATE TABLE {table} (id bigint PRIMARY KEY, v text);
         INSERT INTO {table} SELECT i, 'row-' || i FROM generate_series(1, {n}) i;
         ANALYZE {table};"
    ));
    let src = d.join("snap.yaml");
    std::fs::write(
        &src,
        format!(
            "name: snap\nconfig:\n  connector.class: jdbc-source\n  connection.url: \"jdbc:postgresql://127.0.0.1:5432/test?user=postgres\"\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {table}\n  topic.prefix: {prefix}\n"
        ),
    )
    .unwrap();
    let topic = format!("{prefix}{table}");
    create_topic(&topic, 1);
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&src]);
    let api = Api::new(port);
    api.wait_ready();
    let mut seen_detail = None;
    wait_for("every row in Kafka", Duration::from_secs(180), || {
        if seen_detail.is_none() {
            let s = api.get("/connectors/snap/status");
            if let Some(d) = s.body["tasks"][0]["detail"].as_str() {
                if d.starts_with("first snapshot of") {
                    seen_detail = Some(d.to_string());
                }
            }
        }
        end_offset(&topic) >= n
    });
    if let Some(d) = &seen_detail {
        assert!(d.contains(&format!("of ~{n} rows (")), "{d}");
    }
    let done = format!("done: {n} rows in");
    wait_for(
        "the snapshot logged as done",
        Duration::from_secs(30),
        || w.log_text().contains(&done),
    );
    let log = w.log_text();
    let steps: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("first snapshot of") && l.contains(" rows ("))
        .collect();
    assert!(
        steps.len() >= 5 && steps.len() <= 10,
        "a line at every 10 % (batches may skip a step): {steps:#?}"
    );
    assert!(steps.iter().all(|l| l.contains(&table)), "{steps:#?}");
    let s = api.get("/connectors/snap/status");
    assert!(
        s.body["tasks"][0]["detail"].is_null(),
        "the detail is cleared when done: {}",
        s.text
    );
    // the snapshot is done: later passes read only new rows and report nothing
    pg.exec(&format!("INSERT INTO {table} VALUES ({}, 'late')", n + 1));
    wait_for("the new row", Duration::from_secs(30), || {
        end_offset(&topic) > n
    });
    let later = w.log_text();
    assert_eq!(
        later.matches("first snapshot of").count(),
        log.matches("first snapshot of").count(),
        "no progress for an incremental pass"
    );
    assert!(w.terminate().success());
    pg.exec(&format!("DROP TABLE {table}"));
}
