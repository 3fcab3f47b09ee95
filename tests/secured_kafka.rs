//! Workers against a secured Apache Kafka: the stack's secure node
//! (`scripts/stack.sh start-secure-broker`) with a SASL_SSL listener (SCRAM users made
//! at format time, a CA and certificates made with openssl) and an SSL listener that
//! requires client certificates. Standalone and distributed workers configured with
//! Java-style keys (as Kafka Connect users write them) run a file source and a file
//! sink; a wrong password stops the worker saying authentication failed; a JKS
//! truststore is refused with the keytool command that converts it.

mod common;
#[path = "common/tls.rs"]
mod tls;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::json;
use tls::*;

/// The worker keys of the SASL_SSL listener: SCRAM in a JAAS line, the CA in a
/// PKCS12 truststore made by keytool.
fn sasl_ssl(mechanism: &str, password: &str) -> String {
    format!(
        "bootstrap.servers: {}\n\
         security.protocol: SASL_SSL\n\
         sasl.mechanism: {}\n\
         sasl.jaas.config: 'org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{}\" password=\"{}\";'\n\
         ssl.truststore.location: {}\n\
         ssl.truststore.password: {}\n\
         ssl.truststore.type: PKCS12\n",
        SECURE_SASL_SSL,
        mechanism,
        SCRAM_USER,
        password,
        tls_file("truststore.p12"),
        STORE_PASSWORD
    )
}

/// The worker keys of the mTLS listener: the CA as a PEM truststore and the client
/// certificate as a PKCS12 keystore (or a PEM file holding certificate and key).
fn mtls(pem_keystore: bool) -> String {
    let keystore = if pem_keystore {
        format!(
            "ssl.keystore.type: PEM\nssl.keystore.location: {}\n",
            tls_file("client-bundle.pem")
        )
    } else {
        format!(
            "ssl.keystore.location: {}\nssl.keystore.password: {}\nssl.keystore.type: PKCS12\nssl.key.password: {}\n",
            tls_file("client.p12"),
            STORE_PASSWORD,
            STORE_PASSWORD
        )
    };
    format!(
        "bootstrap.servers: {}\n\
         security.protocol: SSL\n\
         ssl.truststore.location: {}\n\
         ssl.endpoint.identification.algorithm: https\n\
         {}",
        SECURE_MTLS,
        tls_file("ca.pem"),
        keystore
    )
}

fn common_keys(dir: &Path, port: u16) -> String {
    format!(
        "listeners: http://127.0.0.1:{}\n\
         offset.flush.interval.ms: 500\n\
         key.converter: org.apache.kafka.connect.storage.StringConverter\n\
         value.converter: org.apache.kafka.connect.storage.StringConverter\n\
         consumer.session.timeout.ms: 6000\n\
         consumer.heartbeat.interval.ms: 1000\n\
         task.auto.restart.enable: false\n\
         config.storage.file.filename: {}/connectors.json\n",
        port,
        dir.display()
    )
}

fn standalone_worker(dir: &Path, port: u16, security: &str) -> String {
    format!(
        "{}{}offset.storage.file.filename: {}/offsets.json\n",
        security,
        common_keys(dir, port),
        dir.display()
    )
}

fn distributed_worker(dir: &Path, port: u16, security: &str) -> String {
    let g = unique("secure");
    format!(
        "{}{}group.id: {g}\nconfig.storage.topic: {g}-configs\noffset.storage.topic: {g}-offsets\n\
         status.storage.topic: {g}-status\noffset.storage.partitions: 2\n\
         config.storage.replication.factor: 1\noffset.storage.replication.factor: 1\n\
         status.storage.replication.factor: 1\nsession.timeout.ms: 6000\nheartbeat.interval.ms: 1000\n\
         scheduled.rebalance.max.delay.ms: 1000\n",
        security,
        common_keys(dir, port)
    )
}

/// A file source into `topic` and a file sink out of it, through the worker's REST API.
fn file_pipeline(api: &Api, dir: &Path, topic: &str) {
    let src = json!({"connector.class": "FileStreamSource", "file": dir.join("in.txt").display().to_string(), "topic": topic});
    let sink = json!({"connector.class": "FileStreamSink", "topics": topic, "file": dir.join("out.txt").display().to_string()});
    let r = api.post(
        "/connectors",
        &json!({"name": unique("src"), "config": src}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = api.post(
        "/connectors",
        &json!({"name": unique("sink"), "config": sink}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Lines written to the input arrive in the output (through the secured broker) and
/// in the topic (read back over the node's plaintext listener).
fn lines_flow(w: &Sluice, dir: &Path, topic: &str) {
    write_lines(&dir.join("in.txt"), 0, 200);
    let out = dir.join("out.txt");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while lines(&out).len() < 200 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let want: Vec<String> = (0..200).map(|i| format!("line-{}", i)).collect();
    let got = lines(&out);
    if got != want {
        panic!(
            "the output has {} of 200 lines; worker log:\n{}",
            got.len(),
            w.log_text()
        );
    }
    let values = read_values_secure(topic, 200, Duration::from_secs(30));
    assert_eq!(values, want);
    let log = w.log_text();
    assert!(!log.contains(SCRAM_PASSWORD), "the log shows the password");
    assert!(
        !log.contains(STORE_PASSWORD),
        "the log shows a store password"
    );
}

/// Waits for the REST API, showing the worker's log if it does not come up.
fn wait_ready(api: &Api, w: &Sluice) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::net::TcpStream::connect(("127.0.0.1", w.port)).is_err() {
        if std::time::Instant::now() > deadline {
            panic!("the REST API did not come up; log:\n{}", w.log_text());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    api.wait_ready();
}

fn standalone_run(security: &str) {
    start_secure_broker();
    let d = tempfile::tempdir().unwrap();
    let port = free_port();
    let topic = unique("secure-lines");
    let mut w = Sluice::standalone(d.path(), &standalone_worker(d.path(), port, security), &[]);
    let api = Api::new(port);
    wait_ready(&api, &w);
    file_pipeline(&api, d.path(), &topic);
    lines_flow(&w, d.path(), &topic);
    assert!(w.terminate().success());
}

fn distributed_run(security: &str) {
    start_secure_broker();
    let d = tempfile::tempdir().unwrap();
    let port = free_port();
    let topic = unique("secure-dist");
    let worker = distributed_worker(d.path(), port, security);
    let group = worker
        .lines()
        .find_map(|l| l.strip_prefix("group.id: "))
        .unwrap()
        .to_string();
    let mut w = Sluice::distributed(d.path(), &worker);
    let api = Api::new(port);
    wait_ready(&api, &w);
    // the internal topics were made through the secured listener
    for t in ["configs", "offsets", "status"] {
        assert!(
            secure_topic_exists(&format!("{}-{}", group, t)),
            "{}-{} missing",
            group,
            t
        );
    }
    file_pipeline(&api, d.path(), &topic);
    lines_flow(&w, d.path(), &topic);
    assert!(w.terminate().success());
}

#[test]
fn standalone_worker_over_sasl_ssl_with_scram() {
    standalone_run(&sasl_ssl("SCRAM-SHA-512", SCRAM_PASSWORD));
}

#[test]
fn standalone_worker_over_mtls() {
    standalone_run(&mtls(false));
}

#[test]
fn distributed_worker_over_sasl_ssl_with_scram() {
    distributed_run(&sasl_ssl("SCRAM-SHA-256", SCRAM_PASSWORD));
}

#[test]
fn distributed_worker_over_mtls() {
    distributed_run(&mtls(true));
}

/// The worker stops at start-up (creating its offsets topic) and says why, without the
/// password.
fn start_fails(worker: &str, d: &Path) -> String {
    let mut w = Sluice::standalone(d, worker, &[]);
    let st = w.wait_exit(Duration::from_secs(90));
    let log = w.log_text();
    assert!(
        st.is_some_and(|s| !s.success()),
        "the worker did not fail: {}",
        log
    );
    log
}

#[test]
fn a_wrong_password_stops_the_worker_saying_authentication_failed() {
    start_secure_broker();
    let d = tempfile::tempdir().unwrap();
    let worker = format!(
        "{}{}offset.storage.topic: {}\noffset.storage.replication.factor: 1\n",
        sasl_ssl("SCRAM-SHA-512", "not-the-password"),
        common_keys(d.path(), free_port()),
        unique("secure-offsets")
    );
    let started = std::time::Instant::now();
    let log = start_fails(&worker, d.path());
    assert!(log.contains("authentication failed"), "{}", log);
    assert!(log.contains("invalid credentials"), "{}", log);
    assert!(
        !log.contains("not-the-password"),
        "the log shows the password"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_missing_client_certificate_stops_the_worker_at_the_tls_handshake() {
    start_secure_broker();
    let d = tempfile::tempdir().unwrap();
    let worker = format!(
        "bootstrap.servers: {}\nsecurity.protocol: SSL\nssl.truststore.location: {}\n{}offset.storage.topic: {}\noffset.storage.replication.factor: 1\n",
        SECURE_MTLS,
        tls_file("ca.pem"),
        common_keys(d.path(), free_port()),
        unique("secure-offsets")
    );
    let log = start_fails(&worker, d.path());
    assert!(log.contains("TLS handshake failed"), "{}", log);
}

#[test]
fn a_jks_truststore_is_refused_with_the_keytool_conversion() {
    let d = tempfile::tempdir().unwrap();
    let jks = tls_file("truststore.jks");
    let worker = format!(
        "bootstrap.servers: {}\nsecurity.protocol: SSL\nssl.truststore.location: {}\nssl.truststore.password: {}\n{}offset.storage.file.filename: {}/offsets.json\nproducer.ssl.keystore.type: JKS\nproducer.ssl.keystore.location: {}\n",
        SECURE_MTLS,
        jks,
        STORE_PASSWORD,
        common_keys(d.path(), free_port()),
        d.path().display(),
        jks
    );
    let log = start_fails(&worker, d.path());
    let conversion = format!(
        "keytool -importkeystore -srckeystore {} -srcstoretype JKS -destkeystore {}.p12 -deststoretype PKCS12",
        jks,
        jks.trim_end_matches(".jks")
    );
    assert!(log.contains("ssl.truststore.type"), "{}", log);
    assert!(log.contains(&conversion), "{}", log);
    assert!(log.contains("producer.ssl.keystore.type"), "{}", log);
    assert!(!log.contains(STORE_PASSWORD), "the log shows the password");
    // `sluice validate --worker` lists the same problems
    let wpath = d.path().join("worker.yaml");
    let conn = d.path().join("c.yaml");
    std::fs::write(
        &conn,
        "name: c\nconfig:\n  connector.class: FileStreamSink\n  topics: t\n  file: /tmp/x\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&[
        "validate",
        "--worker",
        wpath.to_str().unwrap(),
        conn.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    let all = format!("{}{}", out, err);
    assert!(all.contains(&conversion), "{}", all);
}
