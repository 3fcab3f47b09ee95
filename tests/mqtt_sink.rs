//! The MQTT sink against real Mosquitto (the stack's on 127.0.0.1:1883, and an own
//! instance on a free port for the tests that kill the broker or need an unbounded
//! subscriber queue) and the Kafka broker: every record delivered at QoS 1 and 2 with
//! the topic template applied, the retain flag honoured, invalid topics sent to the
//! dead letter queue or failing the task, and nothing lost across a SIGKILL of the
//! worker or of the broker.
//!
//! Messages are checked with an independent rumqttc subscriber holding a persistent
//! session that is subscribed before the sink starts.

mod common;
#[path = "common/queues.rs"]
mod queues;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use queues::MQTT_URI;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::oneshot;

/// A message as the subscriber received it.
#[derive(Debug, Clone)]
struct Got {
    topic: String,
    payload: String,
    retain: bool,
}

/// A subscriber in its own thread, reconnecting (and resubscribing when the broker
/// lost its session) until dropped.
struct Subscriber {
    got: Arc<Mutex<Vec<Got>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Subscriber {
    /// Subscribes to `filter` on 127.0.0.1:`port` and returns once the broker granted it.
    fn start(port: u16, filter: &str, qos: QoS) -> Subscriber {
        let got = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let g = got.clone();
        let filter = filter.to_string();
        let thread = std::thread::spawn(move || {
            block_on(async move {
                let mut opts = MqttOptions::new(unique("sub"), "127.0.0.1", port);
                opts.set_clean_session(false)
                    .set_keep_alive(Duration::from_secs(30))
                    .set_max_packet_size(1 << 20, 1 << 20);
                let (client, mut ev) = AsyncClient::new(opts, 100);
                loop {
                    let e = tokio::select! {
                        e = ev.poll() => e,
                        _ = &mut stop_rx => return,
                    };
                    match e {
                        Ok(Event::Incoming(Packet::ConnAck(a))) => {
                            if !a.session_present {
                                client.subscribe(filter.clone(), qos).await.unwrap();
                            }
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = ready_tx.send(());
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => g.lock().unwrap().push(Got {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            retain: p.retain,
                        }),
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        });
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the subscription was granted");
        Subscriber {
            got,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Distinct payloads received.
    fn distinct(&self) -> HashSet<String> {
        self.got().into_iter().map(|g| g.payload).collect()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn sink_config(dir: &Path, name: &str, uri: &str, topics: &str, extra: &str) -> PathBuf {
    let p = dir.join(format!("{}.yaml", name));
    std::fs::write(
        &p,
        format!(
            "name: {name}\nconfig:\n  connector.class: mqtt-sink\n  mqtt.server.uri: {uri}\n  topics: {topics}\n{extra}"
        ),
    )
    .unwrap();
    p
}

fn produce_keyed_values(topic: &str, items: &[(Option<String>, String)]) {
    let msgs: Vec<Outgoing<'_>> = items
        .iter()
        .map(|(k, v)| (k.as_deref().map(str::as_bytes), Some(v.as_bytes()), vec![]))
        .collect();
    produce(topic, &msgs);
}

fn task_status(api: &Api, name: &str) -> serde_json::Value {
    api.get(&format!("/connectors/{}/status", name)).body["tasks"][0].clone()
}

fn group(name: &str) -> String {
    format!("connect-{}", name)
}

#[test]
fn qos1_and_qos2_deliver_every_record_with_the_template_and_retain_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = unique("sink-out");
    let sub = Subscriber::start(1883, &format!("{}/#", base), QoS::ExactlyOnce);
    let n = 600;
    let mut cases = Vec::new();
    let mut files = Vec::new();
    for qos in [1, 2] {
        let topic = unique(&format!("mqtt-sink-q{}", qos));
        create_topic(&topic, 1);
        let items: Vec<(Option<String>, String)> = (0..n)
            .map(|i| (Some(format!("dev{}", i % 5)), format!("q{}-{}", qos, i)))
            .collect();
        produce_keyed_values(&topic, &items);
        let name = unique(&format!("msink-q{}", qos));
        files.push(sink_config(
            d,
            &name,
            MQTT_URI,
            &topic,
            &format!("  mqtt.topic: \"{base}/${{topic}}/${{key}}\"\n  mqtt.qos: {qos}\n"),
        ));
        cases.push((qos, topic, name));
    }
    // retained: three values for one fixed topic; the broker keeps the last
    let rtopic = unique("mqtt-sink-retain");
    create_topic(&rtopic, 1);
    let retained_at = format!("{}-retained/state", base);
    produce_keyed_values(&rtopic, &["r0", "r1", "r2"].map(|v| (None, v.to_string())));
    let rname = unique("msink-retain");
    files.push(sink_config(
        d,
        &rname,
        MQTT_URI,
        &rtopic,
        &format!("  mqtt.topic: {retained_at}\n  mqtt.retain: true\n"),
    ));
    let port = free_port();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &paths);
    Api::new(port).wait_ready();
    wait_for(
        "every record at the subscriber",
        Duration::from_secs(120),
        || sub.distinct().len() >= 2 * n,
    );
    for (qos, topic, name) in &cases {
        let got: Vec<Got> = sub
            .got()
            .into_iter()
            .filter(|g| g.payload.starts_with(&format!("q{}-", qos)))
            .collect();
        let mut per_payload: HashMap<String, usize> = HashMap::new();
        for g in &got {
            let i: usize = g.payload.rsplit('-').next().unwrap().parse().unwrap();
            assert_eq!(
                g.topic,
                format!("{}/{}/dev{}", base, topic, i % 5),
                "the template names the Kafka topic and the key"
            );
            assert!(!g.retain, "published without retain");
            *per_payload.entry(g.payload.clone()).or_default() += 1;
        }
        assert_eq!(per_payload.len(), n, "qos {}: every record", qos);
        // Nothing was restarted: each record was published once.
        assert!(
            per_payload.values().all(|c| *c == 1),
            "qos {}: duplicates without a restart",
            qos
        );
        wait_for(
            &format!("qos {}: offsets committed", qos),
            Duration::from_secs(30),
            || committed_offset(&group(name), topic) == Some(n as i64),
        );
    }
    wait_for(
        "the retained records committed",
        Duration::from_secs(30),
        || committed_offset(&group(&rname), &rtopic) == Some(3),
    );
    // A subscriber that arrives later gets the last retained value, flagged retained.
    let late = Subscriber::start(1883, &retained_at, QoS::AtLeastOnce);
    wait_for("the retained message", Duration::from_secs(10), || {
        !late.got().is_empty()
    });
    let r = &late.got()[0];
    assert_eq!((r.payload.as_str(), r.retain), ("r2", true));
    assert!(w.terminate().success());
}

#[test]
fn an_invalid_topic_goes_to_the_dlq_when_tolerated_and_fails_the_task_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = unique("sink-bad");
    let sub = Subscriber::start(1883, &format!("{}/#", base), QoS::AtLeastOnce);
    let items = vec![
        (Some("a".to_string()), "v0".to_string()),
        (Some("x/+".to_string()), "v1".to_string()),
        (None, "v2".to_string()),
        (Some("c".to_string()), "v3".to_string()),
    ];
    let port = free_port();
    let mut files = Vec::new();
    let mut cases = Vec::new();
    for tolerance in ["all", "none"] {
        let topic = unique(&format!("mqtt-sink-bad-{}", tolerance));
        create_topic(&topic, 1);
        produce_keyed_values(&topic, &items);
        let name = unique(&format!("msink-bad-{}", tolerance));
        let dlq = unique("mqtt-sink-dlq");
        let mut extra = format!("  mqtt.topic: \"{base}/{tolerance}/${{key}}\"\n");
        if tolerance == "all" {
            extra.push_str(&format!(
                "  errors.tolerance: all\n  errors.deadletterqueue.topic.name: {dlq}\n  errors.deadletterqueue.topic.replication.factor: 1\n  errors.deadletterqueue.context.headers.enable: true\n"
            ));
        }
        files.push(sink_config(d, &name, MQTT_URI, &topic, &extra));
        cases.push((tolerance, topic, name, dlq));
    }
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut w = Sluice::standalone(d, &worker_yaml(d, port, ""), &paths);
    let api = Api::new(port);
    api.wait_ready();
    for (tolerance, topic, name, dlq) in &cases {
        let mine = |sub: &Subscriber| -> Vec<(String, String)> {
            sub.got()
                .into_iter()
                .filter(|g| g.topic.starts_with(&format!("{}/{}/", base, tolerance)))
                .map(|g| (g.topic, g.payload))
                .collect()
        };
        if *tolerance == "all" {
            wait_for("the valid records", Duration::from_secs(60), || {
                mine(&sub).len() >= 2
            });
            wait_for("the DLQ records", Duration::from_secs(60), || {
                end_offset(dlq) >= 2
            });
            wait_for("offsets committed", Duration::from_secs(30), || {
                committed_offset(&group(name), topic) == Some(4)
            });
            assert_eq!(
                mine(&sub),
                vec![
                    (format!("{}/all/a", base), "v0".to_string()),
                    (format!("{}/all/c", base), "v3".to_string())
                ]
            );
            let dead = read_all(dlq);
            assert_eq!(dead.len(), 2);
            assert_eq!(dead[0].value_str(), "v1");
            assert_eq!(
                dead[0].header("__connect.errors.offset").as_deref(),
                Some("1")
            );
            let why = dead[0]
                .header("__connect.errors.exception.message")
                .unwrap_or_default();
            assert!(why.contains("wildcard"), "{}", why);
            assert_eq!(dead[1].value_str(), "v2");
            let why = dead[1]
                .header("__connect.errors.exception.message")
                .unwrap_or_default();
            assert!(why.contains("no key"), "{}", why);
            assert_eq!(task_status(&api, name)["state"], "RUNNING");
        } else {
            let mut status = serde_json::Value::Null;
            wait_for("the task to fail", Duration::from_secs(60), || {
                status = task_status(&api, name);
                status["state"] == "FAILED"
            });
            let trace = status["trace"].as_str().unwrap_or_default();
            assert!(trace.contains("wildcard"), "{}", trace);
            assert!(
                trace.contains(topic.as_str()) && trace.contains("offset=1"),
                "the trace names the record: {}",
                trace
            );
            std::thread::sleep(Duration::from_secs(1));
            assert_eq!(
                mine(&sub),
                vec![(format!("{}/none/a", base), "v0".to_string())],
                "nothing after the failed record is published"
            );
            assert!(
                committed_offset(&group(name), topic).unwrap_or(0) <= 1,
                "nothing after the failed record is committed"
            );
        }
    }
    assert!(w.terminate().success());
}

/// An own Mosquitto on a free port: no limit on queued messages (the subscriber may
/// fall behind), sessions persisted in the test's directory at shutdown.
struct OwnBroker {
    port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

impl OwnBroker {
    fn start(dir: &Path) -> OwnBroker {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nmax_queued_messages 0\nmax_inflight_messages 0\nuser root\n",
                dir.display()
            ),
        )
        .unwrap();
        let mut b = OwnBroker {
            port,
            conf,
            child: None,
        };
        b.restart();
        b
    }

    /// Stops it gracefully (SIGTERM: sessions and queued messages are saved) and starts
    /// it again.
    fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-15")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed");
        self.child = Some(child);
        let port = self.port;
        wait_for("mosquitto to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn nothing_is_lost_across_a_sigkill_of_the_worker_or_of_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut broker = OwnBroker::start(d);
    let base = unique("sink-kill");
    let sub = Subscriber::start(broker.port, &format!("{}/#", base), QoS::AtLeastOnce);
    let topic = unique("mqtt-sink-kill");
    create_topic(&topic, 1);
    let n = 20_000;
    let items: Vec<(Option<String>, String)> = (0..n).map(|i| (None, format!("m-{}", i))).collect();
    produce_keyed_values(&topic, &items);
    let name = unique("msink-kill");
    let c = sink_config(
        d,
        &name,
        &format!("tcp://127.0.0.1:{}", broker.port),
        &topic,
        &format!(
            "  mqtt.topic: {base}/out\n  mqtt.qos: 1\n  mqtt.reconnect.delay.min.ms: 200\n  consumer.override.max.poll.records: 200\n"
        ),
    );
    let port = free_port();
    let worker = worker_yaml(d, port, "");
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for("a first part delivered", Duration::from_secs(120), || {
        sub.distinct().len() >= 3_000
    });
    w.kill();
    let before_restart = sub.got().len();
    let committed = committed_offset(&group(&name), &topic).unwrap_or(0);
    assert!(
        (committed as usize) < n,
        "the kill came mid-stream (committed {})",
        committed
    );
    let mut w = Sluice::standalone(d, &worker, &[&c]);
    wait_for(
        "more delivered after the restart",
        Duration::from_secs(120),
        || sub.distinct().len() >= 10_000,
    );
    // The broker goes away too (mid-stream, with messages in flight) and comes back
    // with its sessions: the sink reconnects and resends what was not acknowledged.
    broker.restart();
    wait_for(
        "every record after both kills",
        Duration::from_secs(180),
        || sub.distinct().len() >= n,
    );
    wait_for("every offset committed", Duration::from_secs(60), || {
        committed_offset(&group(&name), &topic) == Some(n as i64)
    });
    let distinct = sub.distinct();
    for i in 0..n {
        assert!(distinct.contains(&format!("m-{}", i)), "m-{} lost", i);
    }
    let total = sub.got().len();
    eprintln!(
        "{} records, {} messages received ({} duplicates; {} received before the worker restart, {} committed at the kill)",
        n,
        total,
        total - n,
        before_restart,
        committed
    );
    assert!(w.terminate().success());
    let log = w.log_text();
    assert!(log.contains("reconnected to the MQTT broker"), "{}", log);
}

#[test]
fn a_kafka_restart_mid_stream_loses_nothing() {
    // Kafka stops while records flow and comes back: the sink keeps its MQTT session,
    // commits nothing meanwhile, and every record reaches the subscriber.
    use_spare_broker();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let broker = OwnBroker::start(d);
    let base = unique("sink-kafka");
    let sub = Subscriber::start(broker.port, &format!("{}/#", base), QoS::AtLeastOnce);
    let topic = unique("mqtt-sink-kafka");
    create_topic(&topic, 1);
    let n = 10_000;
    // records keep coming (500 every 100 ms), so that Kafka stops mid-stream
    let t = topic.clone();
    let producer = std::thread::spawn(move || {
        use_spare_broker();
        for chunk in 0..n / 500 {
            let items: Vec<(Option<String>, String)> = (chunk * 500..(chunk + 1) * 500)
                .map(|i| (None, format!("m-{}", i)))
                .collect();
            produce_keyed_values(&t, &items);
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let name = unique("msink-kafka");
    let c = sink_config(
        d,
        &name,
        &format!("tcp://127.0.0.1:{}", broker.port),
        &topic,
        &format!(
            "  mqtt.topic: {base}/out\n  consumer.override.max.poll.records: 200\n  errors.retry.timeout: -1\n"
        ),
    );
    let mut w = Sluice::standalone(d, &worker_yaml(d, free_port(), ""), &[&c]);
    wait_for("a first part delivered", Duration::from_secs(60), || {
        sub.distinct().len() >= 1_000
    });
    assert!(stack("stop-spare-broker"), "cannot stop the spare broker");
    let at_stop = sub.distinct().len();
    std::thread::sleep(Duration::from_secs(3));
    assert!(stack("start-spare-broker"), "cannot start the spare broker");
    producer.join().unwrap();
    wait_for("every record", Duration::from_secs(120), || {
        sub.distinct().len() >= n
    });
    wait_for("every offset committed", Duration::from_secs(90), || {
        committed_offset(&group(&name), &topic) == Some(n as i64)
    });
    let distinct = sub.distinct();
    for i in 0..n {
        assert!(distinct.contains(&format!("m-{}", i)), "m-{} lost", i);
    }
    assert!(at_stop < n, "Kafka stopped after the last record");
    eprintln!(
        "Kafka restart: {at_stop} delivered at the stop; {} messages for {n} records",
        sub.got().len()
    );
    assert!(w.terminate().success());
}
