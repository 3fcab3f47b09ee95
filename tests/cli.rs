//! The command line: validate, plugins, and the config formats it accepts.

mod common;

use common::*;

#[test]
fn validate_lists_every_problem_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: x\nconfig:\n  connector.class: FileStreamSink\n  tasks.max: many\n  errors.tolerance: some\n  value.converter: JsonConverter\n  value.converter.schemas.enable: perhaps\n",
    )
    .unwrap();
    let unknown = dir.path().join("unknown.properties");
    std::fs::write(&unknown, "name=y\nconnector.class=NoSuchConnector\n").unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"name":"z","config":{"connector.class":"file-source","topic":"t","file":"/tmp/x"}}"#,
    )
    .unwrap();
    let (code, out, _) = run_cli(&[
        "validate",
        bad.to_str().unwrap(),
        unknown.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{}", out);
    let b = bad.display().to_string();
    for line in [
        format!("{b}: tasks.max: Invalid value many for configuration tasks.max: Not a number of type INT"),
        format!("{b}: errors.tolerance: Invalid value some for configuration errors.tolerance: String must be one of: none, all"),
        format!("{b}: topics: Must configure one of topics or topics.regex"),
        format!("{b}: value.converter.schemas.enable: Invalid value perhaps for configuration schemas.enable: Expected value to be either true or false"),
        format!("{}: connector.class: Failed to find any class", unknown.display()),
        format!("{}: OK (connector z, file-source)", good.display()),
        "2 of 3 config(s) invalid".to_string(),
    ] {
        assert!(out.contains(&line), "output lacks {:?}:\n{}", line, out);
    }
    let (code, out, _) = run_cli(&["validate", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", out);
}

#[test]
fn validate_accepts_strimzi_resources_and_reports_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("kc.yaml");
    std::fs::write(
        &s,
        "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: from-strimzi\nspec:\n  class: org.apache.kafka.connect.file.FileStreamSourceConnector\n  tasksMax: 1\n  config:\n    file: /tmp/in.txt\n    topic: t\n",
    )
    .unwrap();
    let (code, out, _) = run_cli(&["validate", s.to_str().unwrap()]);
    assert_eq!(code, 0, "{}", out);
    assert!(
        out.contains("OK (connector from-strimzi, file-source)"),
        "{}",
        out
    );
    let missing = dir.path().join("missing.yaml");
    let (code, out, _) = run_cli(&["validate", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("missing.yaml: cannot read the file"),
        "{}",
        out
    );
}

#[test]
fn plugins_lists_connectors_converters_and_keys() {
    let (code, out, _) = run_cli(&["plugins"]);
    assert_eq!(code, 0);
    for needle in [
        "file-source (org.apache.kafka.connect.file.FileStreamSourceConnector, source)",
        "file-sink (org.apache.kafka.connect.file.FileStreamSinkConnector, sink)",
        "batch.size (INT, default \"2000\"",
        "org.apache.kafka.connect.json.JsonConverter",
        "schemas.enable (BOOLEAN, default \"true\")",
        "errors.tolerance (STRING, default \"none\", one of [none, all])",
    ] {
        assert!(
            out.contains(needle),
            "plugins output lacks {:?}:\n{}",
            needle,
            out
        );
    }
    let (code, out, _) = run_cli(&["plugins", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let classes: Vec<&str> = v["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert!(classes.contains(&"org.apache.kafka.connect.file.FileStreamSinkConnector"));
}

#[test]
fn a_bad_connector_on_the_command_line_stops_the_start_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.yaml");
    std::fs::write(
        &c,
        "name: c\nconfig:\n  connector.class: FileStreamSource\n  batch.size: x\n",
    )
    .unwrap();
    let mut w = Sluice::standalone(dir.path(), &worker_yaml(dir.path(), free_port(), ""), &[&c]);
    let st = w
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("exits");
    assert_eq!(st.code(), Some(2));
    let log = w.log_text();
    assert!(
        log.contains("c.yaml: batch.size: Invalid value x"),
        "{}",
        log
    );
    assert!(
        log.contains("c.yaml: topic: Missing required configuration"),
        "{}",
        log
    );
}

/// Runs `sluice <args>` with stdout a pipe whose reader is already gone (what `| head`
/// leaves once it has its lines); returns (exit status, stderr).
fn run_into_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "name: z\nconfig:\n  connector.class: file-source\n  topic: t\n  file: /tmp/x\n",
    )
    .unwrap();
    for args in [
        vec!["plugins"],
        vec!["plugins", "--json"],
        vec!["validate", good.to_str().unwrap()],
        vec!["--help"],
    ] {
        let (status, stderr) = run_into_closed_pipe(&args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}: nothing on stderr");
        assert_eq!(status.code(), Some(0), "{args:?}: {status}");
    }

    // As `sluice plugins | head -n 1` does it: the reader leaves after one line.
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["plugins", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "{\n");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0));

    // Other write errors are reported and fail the command.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("plugins")
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output: No space left on device"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
