//! TLS to the servers other than Kafka, against the TLS listeners the stack opens
//! (`scripts/stack.sh start-tls-servers`) with the certificates it makes: RabbitMQ on
//! 5671 (client certificates checked when presented), Mosquitto on 8883 (client
//! certificate required), PostgreSQL with TLS (the role sluice_client by certificate
//! only) and SecantusDB on 27018. Records go to the main test broker.

mod common;
#[path = "common/queues.rs"]
mod queues;
#[path = "common/tls.rs"]
mod tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use queues::*;
use tls::*;

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn wait_records(topic: &str, n: i64, w: &Sluice) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while end_offset(topic) < n {
        if Instant::now() > deadline {
            panic!(
                "topic {} has {} of {} records; log:\n{}",
                topic,
                end_offset(topic),
                n,
                tail(&w.log_text())
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the connector's status (connector and tasks, as JSON text) contains
/// `what`; returns it.
fn wait_status(api: &Api, name: &str, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    while Instant::now() < deadline {
        let r = api.get(&format!("/connectors/{}/status", name));
        last = r.text;
        if last.contains(what) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("the status of {} never said {:?}: {}", name, what, last);
}

fn write_connector(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(&p, format!("name: {}\nconfig:\n{}", name, body)).unwrap();
    p
}

// --- AMQP --------------------------------------------------------------------------

const AMQPS_URI: &str = "amqps://guest:guest@127.0.0.1:5671/%2f";

fn amqps_source(dir: &Path, name: &str, queue: &str, topic: &str, tls_keys: &str) -> PathBuf {
    write_connector(
        dir,
        name,
        &format!(
            "  connector.class: amqp-source\n  amqp.uri: {AMQPS_URI}\n  amqp.queue: {queue}\n  topic: {topic}\n  amqp.record.builder.body.type: string\n{tls_keys}"
        ),
    )
}

fn amqp_run(name: &str, tls_keys: &str) {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    let queue = unique(name);
    let topic = unique(name);
    declare_queue(&queue);
    create_topic(&topic, 1);
    publish(&queue, numbered(0, 100));
    let c = amqps_source(d.path(), name, &queue, &topic, tls_keys);
    let port = free_port();
    let mut w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[&c]);
    wait_records(&topic, 100, &w);
    let mut got: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    got.sort_by_key(|v| v[5..].parse::<usize>().unwrap());
    let want: Vec<String> = (0..100).map(|i| format!("body-{}", i)).collect();
    assert_eq!(got, want);
    let log = w.log_text();
    assert!(log.contains("consuming from RabbitMQ"), "{}", tail(&log));
    assert!(w.terminate().success());
}

#[test]
fn amqp_source_over_amqps_with_a_custom_ca() {
    amqp_run(
        "amqps-ca",
        &format!("  amqp.ssl.ca.location: {}\n", tls_file("ca.pem")),
    );
}

#[test]
fn amqp_source_over_amqps_with_a_client_certificate() {
    amqp_run(
        "amqps-cert",
        &format!(
            "  amqp.ssl.ca.location: {}\n  amqp.ssl.certificate.location: {}\n  amqp.ssl.key.location: {}\n",
            tls_file("ca.pem"),
            tls_file("client.pem"),
            tls_file("client.key")
        ),
    );
    amqp_run(
        "amqps-p12",
        &format!(
            "  amqp.ssl.ca.location: {}\n  amqp.ssl.keystore.location: {}\n  amqp.ssl.keystore.password: {}\n",
            tls_file("ca.pem"),
            tls_file("client.p12"),
            STORE_PASSWORD
        ),
    );
}

#[test]
fn amqp_source_refuses_an_unknown_server_ca_and_rabbitmq_an_unknown_client_ca() {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    let queue = unique("amqps-bad");
    declare_queue(&queue);
    let port = free_port();
    // no CA: the stack's CA is not among the system's roots
    let a = amqps_source(d.path(), "amqps-no-ca", &queue, &unique("t"), "");
    // a client certificate from another CA: RabbitMQ refuses it
    let b = amqps_source(
        d.path(),
        "amqps-rogue",
        &queue,
        &unique("t"),
        &format!(
            "  amqp.ssl.ca.location: {}\n  amqp.ssl.certificate.location: {}\n  amqp.ssl.key.location: {}\n",
            tls_file("ca.pem"),
            tls_file("other-client.pem"),
            tls_file("other-client.key")
        ),
    );
    let _w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[&a, &b]);
    let api = Api::new(port);
    api.wait_ready();
    let s = wait_status(&api, "amqps-no-ca", "cannot consume from RabbitMQ");
    assert!(s.contains("amqps (TLS)"), "{}", s);
    assert!(s.to_ascii_lowercase().contains("certificate"), "{}", s);
    let s = wait_status(&api, "amqps-rogue", "cannot consume from RabbitMQ");
    assert!(s.contains("amqps (TLS)"), "{}", s);
}

#[test]
fn amqp_tls_keys_are_checked_at_validation() {
    let d = tempfile::tempdir().unwrap();
    let c = write_connector(
        d.path(),
        "v",
        &format!(
            "  connector.class: amqp-source\n  amqp.uri: amqp://guest:guest@127.0.0.1:5672/%2f\n  amqp.queue: q\n  topic: t\n  amqp.ssl.ca.location: /nonexistent/ca.pem\n  amqp.ssl.certificate.location: {}\n  amqp.ssl.keystore.password: hunter2\n",
            tls_file("client.pem")
        ),
    );
    let (code, out, err) = run_cli(&["validate", c.to_str().unwrap()]);
    let all = format!("{}{}", out, err);
    assert_ne!(code, 0, "{}", all);
    assert!(all.contains("is not amqps://"), "{}", all);
    assert!(all.contains("/nonexistent/ca.pem"), "{}", all);
    assert!(all.contains("amqp.ssl.key.location"), "{}", all);
    assert!(!all.contains("hunter2"), "{}", all);
}

// --- MQTT --------------------------------------------------------------------------

/// Publishes lines to the TLS Mosquitto (QoS 1) with `mosquitto_pub`.
fn mqtt_tls_publish(topic: &str, n: usize) {
    let mut child = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "8883",
            "-q",
            "1",
            "-l",
            "-t",
            topic,
        ])
        .args(["--cafile", &tls_file("ca.pem")])
        .args([
            "--cert",
            &tls_file("client.pem"),
            "--key",
            &tls_file("client.key"),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("mosquitto_pub");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for i in 0..n {
            writeln!(stdin, "msg-{}", i).unwrap();
        }
    }
    assert!(child.wait().unwrap().success());
}

fn mqtt_run(name: &str, tls_keys: &str) {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    // a new client id: a session the broker kept would keep its old subscription
    let name = &unique(name);
    let filter = format!("sluice/{}", unique(name));
    let topic = unique(name);
    create_topic(&topic, 1);
    let c = write_connector(
        d.path(),
        name,
        &format!(
            "  connector.class: mqtt-source\n  mqtt.server.uri: ssl://127.0.0.1:8883\n  mqtt.topics: {filter}\n  topic: {topic}\n  mqtt.qos: 1\n  mqtt.record.builder.body.type: string\n{tls_keys}"
        ),
    );
    let port = free_port();
    let mut w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[&c]);
    wait_for("the MQTT subscription", Duration::from_secs(60), || {
        w.log_text().contains("connected to the MQTT broker")
    });
    std::thread::sleep(Duration::from_millis(500));
    mqtt_tls_publish(&filter, 50);
    wait_records(&topic, 50, &w);
    let got: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    let want: Vec<String> = (0..50).map(|i| format!("msg-{}", i)).collect();
    assert_eq!(got, want);
    assert!(w.terminate().success());
}

#[test]
fn mqtt_source_over_tls_with_a_client_certificate() {
    mqtt_run(
        "mqtts-pem",
        &format!(
            "  mqtt.ssl.ca.location: {}\n  mqtt.ssl.certificate.location: {}\n  mqtt.ssl.key.location: {}\n",
            tls_file("ca.pem"),
            tls_file("client.pem"),
            tls_file("client.key")
        ),
    );
    mqtt_run(
        "mqtts-p12",
        &format!(
            "  mqtt.ssl.ca.location: {}\n  mqtt.ssl.keystore.location: {}\n  mqtt.ssl.keystore.password: {}\n",
            tls_file("ca.pem"),
            tls_file("client.p12"),
            STORE_PASSWORD
        ),
    );
}

#[test]
fn mqtt_source_without_a_client_certificate_is_refused_by_the_broker() {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    let c = write_connector(
        d.path(),
        "mqtts-nocert",
        &format!(
            "  connector.class: mqtt-source\n  mqtt.server.uri: mqtts://127.0.0.1:8883\n  mqtt.topics: sluice/none\n  topic: {}\n  mqtt.ssl.ca.location: {}\n",
            unique("t"),
            tls_file("ca.pem")
        ),
    );
    let port = free_port();
    let w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    wait_for("a refused connection", Duration::from_secs(60), || {
        let log = w.log_text();
        log.contains("127.0.0.1:8883") && !log.contains("connected to the MQTT broker") && {
            let s = api.get("/connectors/mqtts-nocert/status").text;
            s.contains("8883")
        }
    });
    assert!(!w.log_text().contains("connected to the MQTT broker"));
}

// --- PostgreSQL --------------------------------------------------------------------

fn pg_exec(sql: &str) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{}: {}",
        sql,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A table of 20 rows that sluice_client may read.
fn pg_table() -> String {
    let t = unique("tls_rows").replace('-', "_");
    pg_exec(&format!(
        "create table {t} (id serial primary key, name text); \
         insert into {t} (name) select 'row-' || g from generate_series(1, 20) g; \
         grant select on {t} to sluice_client"
    ));
    t
}

fn jdbc_connector(dir: &Path, name: &str, table: &str, url: &str) -> PathBuf {
    write_connector(
        dir,
        name,
        &format!(
            "  connector.class: jdbc-source\n  connection.url: \"{url}\"\n  mode: incrementing\n  incrementing.column.name: id\n  table.whitelist: {table}\n  topic.prefix: {name}-\n  poll.interval.ms: 300\n"
        ),
    )
}

#[test]
fn jdbc_source_with_sslmode_verify_full_and_a_client_certificate() {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    let table = pg_table();
    let name = unique("pgtls");
    // sluice_client may only log in over TLS with its certificate (hba `cert`)
    let url = format!(
        "jdbc:postgresql://localhost:5432/test?user=sluice_client&sslmode=verify-full&sslrootcert={}&sslcert={}&sslkey={}",
        tls_file("ca.pem"),
        tls_file("client.pem"),
        tls_file("client.key")
    );
    let c = jdbc_connector(d.path(), &name, &table, &url);
    let port = free_port();
    let mut w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[&c]);
    let topic = format!("{}-{}", name, table);
    wait_records(&topic, 20, &w);
    let names: Vec<String> = read_all(&topic)
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert!(names[0].contains("row-1"), "{}", names[0]);
    assert!(w.terminate().success());
}

#[test]
fn jdbc_source_with_a_wrong_ca_fails_clearly_and_verify_ca_and_require_connect() {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    let table = pg_table();
    // the server's certificate is not signed by other-ca
    let wrong_ca = format!(
        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&sslmode=verify-full&sslrootcert={}",
        tls_file("other-ca.pem")
    );
    // verify-ca checks the chain only; require checks nothing (encryption only)
    let verify_ca = format!(
        "postgres://postgres@127.0.0.1:5432/test?sslmode=verify-ca&sslrootcert={}",
        tls_file("ca.pem")
    );
    let require = "postgres://postgres@127.0.0.1:5432/test?sslmode=require".to_string();
    let port = free_port();
    let mut w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[]);
    let api = Api::new(port);
    api.wait_ready();
    let config = |url: &str, prefix: &str| {
        serde_json::json!({
            "connector.class": "jdbc-source", "connection.url": url, "mode": "incrementing",
            "incrementing.column.name": "id", "table.whitelist": table,
            "topic.prefix": prefix, "poll.interval.ms": "300"
        })
    };
    // the connector is validated (and so connects) when it is created
    let r = api.post(
        "/connectors",
        &serde_json::json!({"name": "pg-wrong-ca", "config": config(&wrong_ca, "pg-wrong-ca-")}),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("cannot connect to 127.0.0.1:5432/test"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("invalid peer certificate: UnknownIssuer"),
        "{}",
        r.text
    );
    let r = api.post(
        "/connectors",
        &serde_json::json!({"name": "pg-verify-ca", "config": config(&verify_ca, "pg-verify-ca-")}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = api.post(
        "/connectors",
        &serde_json::json!({"name": "pg-require", "config": config(&require, "pg-require-")}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    wait_records(&format!("pg-verify-ca-{}", table), 20, &w);
    wait_records(&format!("pg-require-{}", table), 20, &w);
    assert!(w.terminate().success());
}

#[test]
fn jdbc_tls_keys_are_checked_at_validation() {
    let d = tempfile::tempdir().unwrap();
    let c = write_connector(
        d.path(),
        "v",
        "  connector.class: jdbc-source\n  connection.url: \"jdbc:postgresql://h/db?sslmode=verify-full&sslrootcert=/nonexistent/root.pem&password=hunter2\"\n  mode: bulk\n  topic.prefix: p-\n  connection.sslcert: /nonexistent/c.pem\n",
    );
    let (code, out, err) = run_cli(&["validate", c.to_str().unwrap()]);
    let all = format!("{}{}", out, err);
    assert_ne!(code, 0, "{}", all);
    assert!(all.contains("connection.sslkey"), "{}", all);
    assert!(!all.contains("hunter2"), "{}", all);
    let c = write_connector(
        d.path(),
        "v2",
        "  connector.class: jdbc-source\n  connection.url: \"jdbc:postgresql://h/db?sslmode=verify-full&sslrootcert=/nonexistent/root.pem\"\n  mode: bulk\n  topic.prefix: p-\n",
    );
    let (code, out, err) = run_cli(&["validate", c.to_str().unwrap()]);
    let all = format!("{}{}", out, err);
    assert_ne!(code, 0, "{}", all);
    assert!(all.contains("/nonexistent/root.pem"), "{}", all);
}

// --- MongoDB -----------------------------------------------------------------------

const MONGO_TLS: &str = "mongodb://127.0.0.1:27018";

fn mongo_count(db: &str, coll: &str) -> u64 {
    block_on(async {
        let uri = format!("{}/?tls=true&tlsCAFile={}", MONGO_TLS, tls_file("ca.pem"));
        let c = mongodb::Client::with_uri_str(uri).await.unwrap();
        c.database(db)
            .collection::<mongodb::bson::Document>(coll)
            .count_documents(mongodb::bson::doc! {})
            .await
            .unwrap_or(0)
    })
}

fn mongo_sink(dir: &Path, name: &str, topic: &str, uri: &str) -> PathBuf {
    write_connector(
        dir,
        name,
        &format!(
            "  connector.class: mongodb-sink\n  topics: {topic}\n  connection.uri: \"{uri}\"\n  database: sluice_tls\n  collection: {name}\n  value.converter: org.apache.kafka.connect.json.JsonConverter\n  value.converter.schemas.enable: false\n"
        ),
    )
}

#[test]
fn mongodb_sink_over_tls_with_a_custom_ca_and_a_client_certificate() {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    let topic = unique("mongotls");
    create_topic(&topic, 1);
    let values: Vec<String> = (0..30).map(|i| format!("{{\"n\":{}}}", i)).collect();
    produce_to(&topic, 0, &values);
    let ca_only = format!("{}/?tls=true&tlsCAFile={}", MONGO_TLS, tls_file("ca.pem"));
    let with_cert = format!(
        "{}/?tls=true&tlsCAFile={}&tlsCertificateKeyFile={}",
        MONGO_TLS,
        tls_file("ca.pem"),
        tls_file("client-bundle.pem")
    );
    let a_name = unique("ca_only").replace('-', "_");
    let b_name = unique("with_cert").replace('-', "_");
    let a = mongo_sink(d.path(), &a_name, &topic, &ca_only);
    let b = mongo_sink(d.path(), &b_name, &topic, &with_cert);
    let port = free_port();
    let mut w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[&a, &b]);
    wait_for(
        "30 documents in each collection",
        Duration::from_secs(90),
        || mongo_count("sluice_tls", &a_name) == 30 && mongo_count("sluice_tls", &b_name) == 30,
    );
    assert!(w.terminate().success());
}

#[test]
fn mongodb_sink_with_a_wrong_ca_fails_clearly() {
    start_tls_servers();
    let d = tempfile::tempdir().unwrap();
    let topic = unique("mongotls-bad");
    create_topic(&topic, 1);
    produce_to(&topic, 0, &["{\"n\":1}".to_string()]);
    let uri = format!(
        "{}/?tls=true&tlsCAFile={}&serverSelectionTimeoutMS=3000",
        MONGO_TLS,
        tls_file("other-ca.pem")
    );
    let c = mongo_sink(d.path(), "mongo-wrong-ca", &topic, &uri);
    let port = free_port();
    let _w = Sluice::standalone(d.path(), &worker_yaml(d.path(), port, ""), &[&c]);
    let api = Api::new(port);
    api.wait_ready();
    let s = wait_status(&api, "mongo-wrong-ca", "certificate");
    assert!(
        s.contains("UnknownIssuer") || s.contains("unknown"),
        "{}",
        s
    );
}
