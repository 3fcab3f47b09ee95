//! `sluice top --once` against a real worker and broker: connectors, tasks, states,
//! the worker running each task, and the figures from its `/metrics`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn top(port: u16) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "top",
            "--once",
            "--url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn top_shows_connectors_tasks_and_their_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("top");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    let lines: String = (0..2_000).map(|i| format!("line-{i}\n")).collect();
    std::fs::write(&input, lines).unwrap();
    let src = d.join("top-src.yaml");
    std::fs::write(
        &src,
        format!(
            "name: top-src\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n",
            input.display()
        ),
    )
    .unwrap();
    let sink_name = unique("top-sink");
    let sink = d.join("top-sink.yaml");
    std::fs::write(
        &sink,
        format!(
            "name: {sink_name}\nconfig:\n  connector.class: FileStreamSink\n  topics: {topic}\n  file: {}\n",
            d.join("out.txt").display()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&src, &sink]);
    Api::new(port).wait_ready();
    wait_for("2000 records", Duration::from_secs(60), || {
        end_offset(&topic) >= 2_000
    });

    // the sink's lag shows once the consumer's statistics came in (every 5 s)
    let deadline = Instant::now() + Duration::from_secs(40);
    let view = loop {
        let view = top(port);
        let sink_task = view
            .lines()
            .skip_while(|l| !l.starts_with(&sink_name))
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let lag = sink_task
            .split_whitespace()
            .nth(5)
            .unwrap_or("-")
            .to_string();
        if lag.parse::<f64>().is_ok() {
            break view;
        }
        assert!(
            Instant::now() < deadline,
            "no lag for the sink task:\n{view}"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    eprintln!("{view}");
    let header = view.lines().next().unwrap();
    for col in [
        "CONNECTOR / TASK",
        "STATE",
        "WORKER",
        "IN/s",
        "OUT/s",
        "LAG",
        "BACKLOG",
        "ERRORS",
        "DLQ",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = |name: &str| {
        view.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{view}"))
            .to_string()
    };
    let src_row = row("top-src");
    assert!(
        src_row.contains("source")
            && src_row.contains("RUNNING")
            && src_row.contains("1/1 tasks running"),
        "{src_row}"
    );
    let sink_row = row(&sink_name);
    assert!(
        sink_row.contains("sink") && sink_row.contains("RUNNING"),
        "{sink_row}"
    );
    let task_rows: Vec<&str> = view.lines().filter(|l| l.starts_with("  task 0")).collect();
    assert_eq!(task_rows.len(), 2, "{view}");
    assert!(
        task_rows
            .iter()
            .all(|r| r.contains("RUNNING") && r.contains(&format!("127.0.0.1:{port}"))),
        "{view}"
    );
    // the source task's error count is a number from /metrics, not a dash
    let src_task: Vec<&str> = task_rows[0].split_whitespace().collect();
    assert_eq!(src_task.last().copied(), Some("0"), "DLQ count: {view}");

    // a worker that cannot be reached is an error that names it
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "top",
            "--once",
            "--url",
            &format!("http://127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1"));
    assert!(w.terminate().success());
}

/// `sluice top` on a real terminal (tmux): the dashboard, and its keys acting on the
/// selected connector and task through the REST API.
#[test]
fn top_keys_pause_resume_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = unique("top-keys");
    create_topic(&topic, 1);
    let input = d.join("in.txt");
    std::fs::write(&input, "a\nb\n").unwrap();
    let name = unique("top-keys-src");
    let src = d.join("src.yaml");
    std::fs::write(
        &src,
        format!(
            "name: {name}\nconfig:\n  connector.class: FileStreamSource\n  file: {}\n  topic: {topic}\n",
            input.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[&src]);
    let api = Api::new(port);
    api.wait_ready();
    api.wait_state(&name, "RUNNING");

    let socket = unique("sluice-top");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux (scripts/stack.sh up installs it)")
    };
    let cmd = format!(
        "{} top --interval 1 --url http://127.0.0.1:{port}",
        env!("CARGO_BIN_EXE_sluice")
    );
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "200",
        "-y",
        "30",
        &cmd,
    ]);
    assert!(started.status.success(), "{:?}", started);
    let screen =
        || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "top"]).stdout).into_owned();
    let keys = |k: &str| assert!(tmux(&["send-keys", "-t", "top", k]).status.success());
    let wait_screen = |what: &str, f: &dyn Fn(&str) -> bool| {
        let mut last = String::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            last = screen();
            if f(&last) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{what}: not on the screen:\n{last}");
    };
    wait_screen("the connector RUNNING, selected", &|s| {
        s.lines()
            .any(|l| l.contains(&format!("> {name}")) && l.contains("RUNNING"))
    });

    // p pauses the selected connector
    keys("p");
    api.wait_state(&name, "PAUSED");
    let s = wait_screen("PAUSED", &|s| {
        s.contains(&format!("pause {name}: requested"))
            && s.lines().any(|l| l.contains(&name) && l.contains("PAUSED"))
    });
    eprintln!("{s}");
    // r resumes it
    keys("r");
    api.wait_state(&name, "RUNNING");
    wait_screen("RUNNING again", &|s| {
        s.contains(&format!("resume {name}: requested"))
            && s.lines()
                .any(|l| l.contains(&name) && l.contains("RUNNING"))
    });
    // down to its task; R restarts that task
    keys("Down");
    wait_screen("the task selected", &|s| {
        s.contains("> ") && s.lines().any(|l| l.contains(">   task 0"))
    });
    keys("R");
    wait_screen("the task restarted", &|s| {
        s.contains(&format!("restart task 0 of {name}: requested"))
    });
    api.wait_state(&name, "RUNNING");
    // q quits and gives the terminal back
    keys("q");
    wait_for("top to quit", Duration::from_secs(10), || {
        !tmux(&["has-session", "-t", "top"]).status.success()
    });
    let _ = tmux(&["kill-server"]);
    assert!(w.terminate().success());
}
