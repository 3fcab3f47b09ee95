//! Secrets never leave the worker: literal passwords are masked in every REST answer
//! that holds a config, a masked value sent back keeps the stored secret, values from
//! config providers are never echoed in errors, and the files that hold configs are
//! readable by their owner only.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::*;
use serde_json::json;

const PASSWORD: &str = "pw-literal-7731";
const URL_PASSWORD: &str = "url-secret-4456";

fn assert_no_secret(what: &str, text: &str) {
    for s in [PASSWORD, URL_PASSWORD] {
        assert!(!text.contains(s), "{} shows a secret: {}", what, text);
    }
}

#[test]
fn literal_secrets_are_masked_everywhere_and_survive_a_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let name = unique("masked");
    let topic = unique("masked-topic");
    // PostgreSQL trusts 127.0.0.1, so the passwords are checked by nobody but us.
    let config = json!({
        "connector.class": "jdbc-source",
        "connection.url": format!("jdbc:postgresql://127.0.0.1:5432/test?user=postgres&password={}", URL_PASSWORD),
        "connection.password": PASSWORD,
        "mode": "bulk",
        "query": "SELECT 1 AS one",
        "topic.prefix": topic,
        "poll.interval.ms": "60000",
    });
    let r = api.post("/connectors", &json!({"name": name, "config": config}));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_no_secret("POST /connectors", &r.text);
    assert_eq!(r.body["config"]["connection.password"], "[hidden]");
    assert_eq!(
        r.body["config"]["connection.url"],
        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&password=[hidden]"
    );
    api.wait_state(&name, "RUNNING");
    // The connector really uses its secrets: its query result reaches Kafka.
    wait_for("the query's row in Kafka", Duration::from_secs(60), || {
        end_offset(&topic) >= 1
    });

    for path in [
        format!("/connectors/{}", name),
        format!("/connectors/{}/config", name),
        format!("/connectors/{}/tasks", name),
        "/connectors?expand=info".to_string(),
        "/connectors?expand=info&expand=status".to_string(),
    ] {
        let r = api.get(&path);
        assert_eq!(r.status, 200, "{}: {}", path, r.text);
        assert_no_secret(&path, &r.text);
        assert!(r.text.contains("[hidden]"), "{}: {}", path, r.text);
    }

    // Read, change one key, write back: the masked secrets keep their stored values.
    let mut shown = api.get(&format!("/connectors/{}/config", name)).body;
    shown["poll.interval.ms"] = json!("50000");
    let r = api.put(&format!("/connectors/{}/config", name), &shown);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_secret("PUT .../config", &r.text);
    let state = std::fs::read_to_string(d.join("connectors.json")).unwrap();
    assert!(
        state.contains(PASSWORD),
        "the stored config keeps the secret"
    );
    assert!(
        state.contains(URL_PASSWORD),
        "the stored config keeps the URL secret"
    );
    assert!(state.contains("50000"), "and the change");
    api.wait_state(&name, "RUNNING");
    let r = api.patch(
        &format!("/connectors/{}/config", name),
        &json!({"connection.password": "[hidden]", "poll.interval.ms": "40000"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let state = std::fs::read_to_string(d.join("connectors.json")).unwrap();
    assert!(
        state.contains(PASSWORD),
        "a PATCH with the mask keeps the secret"
    );
    // A new value replaces the secret.
    let r = api.patch(
        &format!("/connectors/{}/config", name),
        &json!({"connection.password": "a-new-one"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let state = std::fs::read_to_string(d.join("connectors.json")).unwrap();
    assert!(state.contains("a-new-one") && !state.contains(PASSWORD));

    // The files that hold configs and positions: owner only. (A file source makes the
    // offsets file: the bulk query stores no offsets.)
    let input = d.join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let r = api.post(
        "/connectors",
        &json!({"name": unique("positions"), "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": unique("positions-topic"),
        }}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    for f in ["connectors.json", "offsets.json"] {
        let p = d.join(f);
        wait_for(&format!("{} to exist", f), Duration::from_secs(30), || {
            p.exists()
        });
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {:o}", f, mode);
    }
    assert_no_secret("the log", &w.log_text());
    assert!(w.terminate().success());
}

#[test]
fn values_from_config_providers_are_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secrets = d.join("secrets.properties");
    let secret = "not-a-number-SECRET-9911";
    std::fs::write(&secrets, format!("n={}\n", secret)).unwrap();
    let extra = format!(
        "config.providers: file\nconfig.providers.file.class: FileConfigProvider\nconfig.providers.file.param.allowed.paths: {}",
        d.display()
    );
    let port = free_port();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, &extra), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let placeholder = format!("${{file:{}:n}}", secrets.display());
    let config = json!({
        "connector.class": "FileStreamSource",
        "topic": unique("echo"),
        "file": d.join("in.txt").display().to_string(),
        "batch.size": placeholder,
    });
    let name = unique("echo");
    let r = api.post("/connectors", &json!({"name": name, "config": config}));
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        !r.text.contains(secret),
        "the 400 echoes the secret: {}",
        r.text
    );
    assert!(r.text.contains("batch.size"), "{}", r.text);
    let mut named = config.clone();
    named["name"] = json!(name);
    let v = api.put(
        "/connector-plugins/FileStreamSource/config/validate",
        &named,
    );
    assert_eq!(v.status, 200);
    assert_eq!(v.body["error_count"], 1, "{}", v.text);
    assert!(
        !v.text.contains(secret),
        "validate echoes the secret: {}",
        v.text
    );

    // A file outside allowed.paths is refused, naming the key.
    let outside = json!({
        "connector.class": "FileStreamSource",
        "topic": "${file:/etc/hostname:x}",
        "file": d.join("in.txt").display().to_string(),
    });
    let r = api.post(
        "/connectors",
        &json!({"name": unique("outside"), "config": outside}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("allowed.paths"), "{}", r.text);
    assert!(!w.log_text().contains("may read ANY file"));
    assert!(w.terminate().success());

    // Without allowed.paths the worker warns at start-up.
    let dir2 = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut w = Sluice::standalone(
        dir2.path(),
        &worker_yaml(
            dir2.path(),
            port,
            "config.providers: file\nconfig.providers.file.class: FileConfigProvider",
        ),
        &[],
    );
    Api::new(port).wait_ready();
    assert!(
        w.log_text().contains("may read ANY file"),
        "{}",
        w.log_text()
    );
    assert!(w.terminate().success());
}
