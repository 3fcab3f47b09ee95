//! `/admin/loggers` with names that are not loggers: refused with 400 before anything
//! is stored, so later level changes keep working and no other logger changes.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::json;

fn worker(dir: &Path) -> (Sluice, Api) {
    let port = free_port();
    let w = Sluice::standalone(dir, &worker_yaml(dir, port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    (w, api)
}

#[test]
fn a_bad_logger_name_is_refused_and_later_changes_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, api) = worker(dir.path());

    // `a[b`, URL-encoded as a client sends it: EnvFilter reads `[` as a span filter.
    let r = api.put("/admin/loggers/a%5Bb", &json!({"level": "DEBUG"}));
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error_code"], 400);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains("invalid logger name 'a[b'"), "{msg}");
    assert!(msg.contains("'['"), "says which character: {msg}");
    assert!(
        !api.get("/admin/loggers")
            .body
            .as_object()
            .unwrap()
            .contains_key("a[b"),
        "nothing stored"
    );

    // A valid change afterwards works (it failed until restart when the bad name was
    // stored first).
    let r = api.put(
        "/admin/loggers/sluice_runtime::task",
        &json!({"level": "DEBUG"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!(["sluice_runtime::task"]));
    assert_eq!(
        api.get("/admin/loggers/sluice_runtime::task").body["level"],
        "DEBUG"
    );

    // Other names that would change the filter's meaning, or are not names at all.
    let long = "a".repeat(300);
    for (path, shown) in [
        ("x%3Dtrace", "x=trace"),
        ("a%20b", "a b"),
        ("a%7Bf%7D", "a{f}"),
        ("-x", "-x"),
        (long.as_str(), long.as_str()),
    ] {
        let r = api.put(&format!("/admin/loggers/{path}"), &json!({"level": "INFO"}));
        assert_eq!(r.status, 400, "{path}: {}", r.text);
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("invalid logger name '{shown}'")),
            "{}",
            r.text
        );
    }
    // A bad level is still Connect's 404, checked after the name.
    let r = api.put("/admin/loggers/ok_name", &json!({"level": "LOUD"}));
    assert_eq!(r.status, 404, "{}", r.text);

    // Dotted (Java-style) and dashed names are valid targets.
    for name in ["org.apache.kafka.connect", "my-app::db"] {
        let r = api.put(&format!("/admin/loggers/{name}"), &json!({"level": "WARN"}));
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        assert_eq!(
            api.get(&format!("/admin/loggers/{name}")).body["level"],
            "WARN"
        );
    }
    let all = api.get("/admin/loggers").body;
    assert_eq!(all["root"]["level"], "INFO");
    assert_eq!(all["sluice_runtime::task"]["level"], "DEBUG");
    assert!(w.terminate().success());
}

/// A self-signed certificate for 127.0.0.1.
fn certificate(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "openssl req");
    (cert, key)
}

/// `curl -X PUT` with a JSON body to the HTTPS API; returns (status, body).
fn https_put(port: u16, path: &str, body: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-skg", "-X", "PUT", "-H", "Content-Type: application/json"])
        .args(["-d", body, "-w", "\n%{http_code}"])
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap_or(0), body.to_string())
}

/// Opens connections that send garbage instead of a TLS ClientHello: the listener
/// logs each failed handshake at DEBUG (target `sluice_runtime::rest::tls`).
fn failed_handshakes(port: u16) {
    for _ in 0..3 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\n\r\nnot tls at all\r\n");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_name_with_a_comma_does_not_switch_on_other_loggers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cert, key) = certificate(d);
    let port = free_port();
    let yaml = worker_yaml(
        d,
        port,
        &format!(
            "listeners.https.ssl.certificate.location: {}\nlisteners.https.ssl.key.location: {}",
            cert.display(),
            key.display()
        ),
    )
    .replace(
        &format!("listeners: http://127.0.0.1:{port}"),
        &format!("listeners: https://127.0.0.1:{port}"),
    );
    let mut w = Sluice::standalone(d, &yaml, &[]);
    wait_for("the HTTPS API", Duration::from_secs(60), || {
        https_put(port, "/admin/loggers/root", r#"{"level":"INFO"}"#).0 == 200
    });

    // `x,sluice_runtime` written into the filter as `x,sluice_runtime=debug` would
    // switch on DEBUG for all of sluice_runtime.
    let (status, body) = https_put(
        port,
        "/admin/loggers/x,sluice_runtime",
        r#"{"level":"DEBUG"}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid logger name 'x,sluice_runtime'") && body.contains("','"),
        "{body}"
    );
    failed_handshakes(port);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !w.log_text().contains("TLS handshake failed"),
        "sluice_runtime's DEBUG lines stay off:\n{}",
        w.log_text()
    );

    // The same lines do show once that logger is set for real, so the check above
    // could see them.
    let (status, body) = https_put(
        port,
        "/admin/loggers/sluice_runtime::rest::tls",
        r#"{"level":"DEBUG"}"#,
    );
    assert_eq!(status, 200, "{body}");
    failed_handshakes(port);
    wait_for("the DEBUG line", Duration::from_secs(10), || {
        w.log_text().contains("TLS handshake failed")
    });
    assert!(w.terminate().success());
}

/// A distributed worker of group `g` on `port`.
fn cluster_worker(dir: &Path, g: &str, port: u16) -> (Sluice, Api) {
    let wdir = dir.join(format!("w{}", port));
    std::fs::create_dir_all(&wdir).unwrap();
    let yaml = format!(
        "bootstrap.servers: {}\ngroup.id: {g}\nconfig.storage.topic: {g}-configs\n\
         offset.storage.topic: {g}-offsets\nstatus.storage.topic: {g}-status\n\
         offset.storage.partitions: 2\nconfig.storage.replication.factor: 1\n\
         offset.storage.replication.factor: 1\nstatus.storage.replication.factor: 1\n\
         listeners: http://127.0.0.1:{port}\nsession.timeout.ms: 6000\nheartbeat.interval.ms: 1000\n",
        bootstrap()
    );
    let w = Sluice::distributed(&wdir, &yaml);
    let api = Api::new(port);
    api.wait_ready();
    (w, api)
}

fn level_of(api: &Api, logger: &str) -> String {
    api.get(&format!("/admin/loggers/{}", logger)).body["level"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn cluster_scoped_levels_reach_every_running_worker_under_connect_names() {
    let dir = tempfile::tempdir().unwrap();
    let g = unique("loggers");
    let rest = "org.apache.kafka.connect.runtime.rest";
    let (mut a, api_a) = cluster_worker(dir.path(), &g, free_port());
    let (mut b, api_b) = cluster_worker(dir.path(), &g, free_port());

    // Before: REST requests are not logged (sluice_runtime::rest at INFO).
    assert_eq!(api_b.get("/connectors/probe-before").status, 404);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!b.log_text().contains("probe-before"));

    // Set on worker A for the whole cluster: 204, as Connect.
    let r = api_a.put(
        &format!("/admin/loggers/{}?scope=cluster", rest),
        &json!({"level": "debug"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty(), "{}", r.text);
    for api in [&api_a, &api_b] {
        wait_for("the level on both workers", Duration::from_secs(20), || {
            level_of(api, rest) == "DEBUG"
        });
    }
    // Connect's record in the config topic.
    let records = read_all(&format!("{}-configs", g));
    let key = format!("logger-cluster-{}", rest);
    let rec = records
        .iter()
        .find(|m| m.key_str() == Some(key.as_str()))
        .expect("a logger-cluster record");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(rec.value.as_deref().unwrap()).unwrap(),
        json!({"level": "DEBUG"})
    );
    // It works: the Connect name stands for Sluice's REST module, which now logs each
    // request at DEBUG on worker B too.
    assert_eq!(api_b.get("/connectors/probe-after").status, 404);
    wait_for("worker B logs the request", Duration::from_secs(10), || {
        b.log_text().contains("/connectors/probe-after 404")
    });

    // A level written the way Connect writes it (the level as the user typed it) is
    // applied as well.
    produce(
        &format!("{}-configs", g),
        &[(
            Some(b"logger-cluster-org.apache.kafka.connect.runtime.WorkerSinkTask".as_slice()),
            Some(br#"{"level":"warn"}"#.as_slice()),
            vec![],
        )],
    );
    wait_for("Connect's record applied", Duration::from_secs(20), || {
        level_of(&api_b, "org.apache.kafka.connect.runtime.WorkerSinkTask") == "WARN"
    });

    // A worker that starts later keeps its own levels (Connect applies only records
    // written while it runs).
    let (mut c, api_c) = cluster_worker(dir.path(), &g, free_port());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(level_of(&api_c, rest), "INFO");

    // An unknown scope is taken as `worker`: only worker A changes, and the answer is
    // the list of changed loggers.
    let r = api_a.put(
        "/admin/loggers/sluice_connectors?scope=galaxy",
        &json!({"level": "ERROR"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!(["sluice_connectors"]));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(level_of(&api_a, "sluice_connectors"), "ERROR");
    assert_eq!(level_of(&api_b, "sluice_connectors"), "INFO");

    // A bad level is refused before anything is written.
    let r = api_a.put(
        &format!("/admin/loggers/{}?scope=cluster", rest),
        &json!({"level": "LOUD"}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    for w in [&mut a, &mut b, &mut c] {
        w.terminate();
    }
}

#[test]
fn cluster_scope_on_a_standalone_worker_changes_that_worker() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, api) = worker(dir.path());
    let r = api.put(
        "/admin/loggers/org.apache.kafka.connect.runtime.rest?scope=cluster",
        &json!({"level": "DEBUG"}),
    );
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        level_of(&api, "org.apache.kafka.connect.runtime.rest"),
        "DEBUG"
    );
    assert_eq!(api.get("/connectors/probe-standalone").status, 404);
    wait_for("the request logged", Duration::from_secs(10), || {
        w.log_text().contains("/connectors/probe-standalone 404")
    });
    w.terminate();
}
