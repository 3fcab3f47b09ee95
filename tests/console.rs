//! The web console at `/ui` in a real browser (Debian's chromium, driven by playwright-core;
//! `scripts/stack.sh up` installs both): sign in with the REST API's own basic auth,
//! create a file source through the form (validated as typed), see it RUNNING with its
//! throughput moving, pause it and see PAUSED, resume it and open its tap, show its
//! offsets, edit its config, stop it and reset its offsets, delete it. Then the same facts are read back through the
//! REST API, the worker's log and Kafka.
//!
//! Set `SLUICE_CONSOLE_SCREENSHOTS=docs/console` to refresh the screenshots in the docs.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

const USER: &str = "operator";
const PASSWORD: &str = "console-secret-7";

fn browser_dir() -> String {
    let out = Command::new("scripts/stack.sh")
        .arg("browser-dir")
        .output()
        .expect("scripts/stack.sh browser-dir");
    assert!(
        out.status.success(),
        "scripts/stack.sh browser-dir: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string()
}

/// Appends a line every 20 ms until stopped.
fn feed(path: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            writeln!(f, "console-line-{i}").unwrap();
            i += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        i
    })
}

#[test]
fn console_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let topic = unique("console");
    create_topic(&topic, 1);
    let input = dir.path().join("input.txt");
    std::fs::write(&input, "").unwrap();
    let worker = worker_yaml(
        dir.path(),
        port,
        &format!("rest.auth.type: basic\nrest.auth.basic.users: {USER}:{PASSWORD}"),
    );
    let sluice = Sluice::standalone(dir.path(), &worker, &[]);
    let api = Api::new(port).with_auth(&format!(
        "Basic {}",
        base64_encode(&format!("{USER}:{PASSWORD}"))
    ));
    api.wait_ready();

    // the assets are public (no data in them) and locked down; the API is not
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let page = http.get(format!("{base}/ui/")).send().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(page.text().unwrap().contains("app.js"));
    let redirect = http.get(format!("{base}/ui")).send().unwrap();
    assert_eq!(redirect.status().as_u16(), 308);
    assert_eq!(redirect.headers()["location"], "/ui/");
    let js = http.get(format!("{base}/ui/app.js")).send().unwrap();
    assert_eq!(js.status().as_u16(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let plain = http.get(format!("{base}/connectors")).send().unwrap();
    assert_eq!(plain.status().as_u16(), 401);
    assert!(plain.headers().contains_key("www-authenticate"));
    let from_console = http
        .get(format!("{base}/connectors"))
        .header("X-Sluice-Console", "1")
        .send()
        .unwrap();
    assert_eq!(from_console.status().as_u16(), 401);
    assert!(
        !from_console.headers().contains_key("www-authenticate"),
        "the console's calls get no browser login dialog"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(input.clone(), stop.clone());
    let shots = match std::env::var("SLUICE_CONSOLE_SCREENSHOTS") {
        Ok(d) => PathBuf::from(d),
        Err(_) => dir.path().join("shots"),
    };
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg("tests/browser/console.cjs")
        .arg(&base)
        .arg(USER)
        .arg(PASSWORD)
        .arg(&input)
        .arg(&topic)
        .arg(&shots)
        .env("SLUICE_BROWSER_DIR", browser_dir())
        .output()
        .expect("node");
    stop.store(true, Ordering::Relaxed);
    let written = feeder.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "browser script failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nworker log:\n{}",
        sluice.log_text()
    );
    for step in [
        "wrong password refused",
        "signed in",
        "validated as typed",
        "created",
        "running with throughput",
        "paused",
        "listed as paused",
        "resumed",
        "tap open",
        "offsets shown",
        "edited",
        "offsets reset",
        "deleted",
    ] {
        assert!(
            stdout.contains(&format!("ok: {step}\n")),
            "step {step}: {stdout}"
        );
    }
    // the validation error was shown at the key, in the validate endpoint's words
    let err = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tasks.max error: "))
        .expect("tasks.max error");
    assert!(
        err.contains("many") || err.to_lowercase().contains("int"),
        "{err}"
    );
    // the tap showed a record of the file as the source built it
    let tap = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tap: "))
        .expect("tap line");
    let tap: String = serde_json::from_str(tap).unwrap();
    assert!(tap.starts_with("value: console-line-"), "{tap}");

    // what the browser did, read back through the REST API and from Kafka: the
    // connector ran with the config typed into the form, was edited, then deleted
    let saved: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("config after edit: "))
            .expect("config after edit"),
    )
    .unwrap();
    assert_eq!(saved["file"], input.display().to_string());
    assert_eq!(saved["topic"], topic);
    assert_eq!(saved["tasks.max"], "1");
    assert_eq!(saved["batch.size"], "7");
    let config = api.get("/connectors/console-file-source/config");
    assert_eq!(config.status, 404, "deleted: {}", config.text);
    let log = sluice.log_text();
    assert!(
        log.contains("creating connector connector=console-file-source"),
        "{log}"
    );
    assert!(
        log.contains("target state Paused connector=console-file-source"),
        "{log}"
    );
    let got = read_all(&topic);
    assert!(
        !got.is_empty() && got.len() <= written,
        "{} records for {written} lines",
        got.len()
    );
    assert!(got
        .iter()
        .all(|m| m.value_str().starts_with("console-line-")));
    for name in [
        "console-form",
        "console-connector",
        "console-list",
        "console-tap",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png");
    }
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
