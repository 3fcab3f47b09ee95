//! Distributed mode: several worker processes form one cluster through the broker.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Parses a log line's leading `2026-11-21T08:26:09.310429Z` into epoch ms.
fn log_time(line: &str) -> Option<i64> {
    let t = line.get(..26)?;
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + us / 1000)
}

struct Cluster {
    dir: PathBuf,
    group: String,
    workers: BTreeMap<u16, Sluice>,
    /// Logs of workers that are gone, with the kill time for SIGKILLed ones.
    gone: Vec<(String, Option<i64>)>,
}

impl Cluster {
    fn new(dir: &Path) -> Cluster {
        Cluster {
            dir: dir.to_path_buf(),
            group: unique("cluster"),
            workers: BTreeMap::new(),
            gone: Vec::new(),
        }
    }

    fn yaml(&self, port: u16) -> String {
        let g = &self.group;
        format!(
            "bootstrap.servers: {}\ngroup.id: {g}\nconfig.storage.topic: {g}-configs\noffset.storage.topic: {g}-offsets\n\
             status.storage.topic: {g}-status\noffset.storage.partitions: 5\n\
             config.storage.replication.factor: 1\noffset.storage.replication.factor: 1\nstatus.storage.replication.factor: 1\nlisteners: http://127.0.0.1:{port}\n\
             session.timeout.ms: 6000\nheartbeat.interval.ms: 1000\nscheduled.rebalance.max.delay.ms: 1000\n\
             offset.flush.interval.ms: 500\ntask.auto.restart.enable: false\n\
             key.converter: org.apache.kafka.connect.storage.StringConverter\n\
             value.converter: org.apache.kafka.connect.storage.StringConverter\n\
             consumer.session.timeout.ms: 6000\nconsumer.heartbeat.interval.ms: 1000\n",
            bootstrap()
        )
    }

    fn start(&mut self, port: u16) -> Api {
        let wdir = self.dir.join(format!("w{}", port));
        std::fs::create_dir_all(&wdir).unwrap();
        let w = Sluice::distributed(&wdir, &self.yaml(port));
        self.workers.insert(port, w);
        let api = Api::new(port);
        api.wait_ready();
        api
    }

    fn kill(&mut self, port: u16) {
        let mut w = self.workers.remove(&port).unwrap();
        w.kill();
        self.gone.push((w.log_text(), Some(now_ms())));
    }

    fn stop(&mut self, port: u16) {
        let mut w = self.workers.remove(&port).unwrap();
        assert!(
            w.terminate().success(),
            "worker {} did not stop cleanly:\n{}",
            port,
            w.log_text()
        );
        self.gone.push((w.log_text(), None));
    }

    fn stop_all(&mut self) {
        let ports: Vec<u16> = self.workers.keys().copied().collect();
        for p in ports {
            self.stop(p);
        }
    }

    /// Every worker's log (finished and running), with a kill time if SIGKILLed.
    fn logs(&self) -> Vec<(String, Option<i64>)> {
        let mut all = self.gone.clone();
        for w in self.workers.values() {
            all.push((w.log_text(), None));
        }
        all
    }
}

/// A failed test shows what each running worker logged last (the logs are in a
/// temporary folder that the failure removes).
impl Drop for Cluster {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for (port, w) in &self.workers {
            let log = w.log_text();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            eprintln!("--- worker {} (last 60 lines) ---\n{}", port, tail);
        }
    }
}

/// Checks from the workers' logs that no task or connector instance ever ran on two
/// workers at once: each worker logs "started task here" and "stopped task here" for
/// every task it runs, and the same for connectors. Returns the owner changes checked.
fn assert_no_unit_ran_twice(logs: &[(String, Option<i64>)]) -> usize {
    let mut intervals: HashMap<String, Vec<(usize, i64, i64)>> = HashMap::new();
    for (w, (log, killed)) in logs.iter().enumerate() {
        let end_of_log = killed.unwrap_or(i64::MAX);
        let mut open: HashMap<String, i64> = HashMap::new();
        for line in log.lines() {
            // Tasks and connector instances alike: "started task here task=c-0",
            // "started connector here connector=c".
            let unit = ["task", "connector"].into_iter().find_map(|kind| {
                let name = line.split(&format!(" {}=", kind)).nth(1)?;
                let name = name.split_whitespace().next().unwrap_or("");
                Some((kind, format!("{} {}", kind, name)))
            });
            let (Some((kind, task)), Some(t)) = (unit, log_time(line)) else {
                continue;
            };
            if line.contains(&format!("started {} here", kind)) {
                open.insert(task, t);
            } else if line.contains(&format!("stopped {} here", kind)) {
                if let Some(s) = open.remove(&task) {
                    intervals.entry(task).or_default().push((w, s, t));
                }
            }
        }
        for (task, s) in open {
            intervals.entry(task).or_default().push((w, s, end_of_log));
        }
    }
    let mut checked = 0;
    for (task, mut iv) in intervals {
        iv.sort_by_key(|x| x.1);
        for pair in iv.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            checked += 1;
            assert!(
                a.0 == b.0 || a.2 <= b.1,
                "{} ran on two workers at once: {:?} and {:?}",
                task,
                a,
                b
            );
        }
    }
    checked
}

/// Task owners (worker ids) once every task of `name` runs.
fn owners(api: &Api, name: &str, tasks: usize) -> Vec<String> {
    let mut last = json!(null);
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        let r = api.get(&format!("/connectors/{}/status", name));
        if r.status == 200 {
            let t = r.body["tasks"].as_array().unwrap();
            if t.len() == tasks && t.iter().all(|x| x["state"] == "RUNNING") {
                return t
                    .iter()
                    .map(|x| x["worker_id"].as_str().unwrap().to_string())
                    .collect();
            }
            last = r.body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{} never had {} running tasks: {}", name, tasks, last);
}

fn loads(owners: &[String]) -> BTreeMap<String, usize> {
    let mut l = BTreeMap::new();
    for o in owners {
        *l.entry(o.clone()).or_insert(0) += 1;
    }
    l
}

/// Waits until the assignment is stable with the given workers all holding tasks.
fn wait_balanced(api: &Api, name: &str, tasks: usize, workers: &[u16]) -> Vec<String> {
    let want: HashSet<String> = workers.iter().map(|p| format!("127.0.0.1:{}", p)).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let o = owners(api, name, tasks);
        let l = loads(&o);
        let keys: HashSet<String> = l.keys().cloned().collect();
        let spread = l.values().max().unwrap() - l.values().min().unwrap();
        if keys == want && spread <= 1 {
            // Stable for a moment?
            std::thread::sleep(Duration::from_secs(2));
            if owners(api, name, tasks) == o {
                return o;
            }
        }
        assert!(
            Instant::now() < deadline,
            "never balanced over {:?}: {:?}",
            want,
            l
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn tasks_spread_evenly_move_minimally_and_never_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::new(dir.path());
    let topic = unique("dist-six");
    create_topic(&topic, 6);
    let p = [
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    ];
    let api = c.start(p[0]);
    c.start(p[1]);
    c.start(p[2]);
    let cfg = json!({"connector.class": "FileStreamSink", "tasks.max": "6", "topics": topic, "file": format!("{}/six.txt", dir.path().display())});
    assert_eq!(
        api.post("/connectors", &json!({"name": "six", "config": cfg}))
            .status,
        201
    );
    let three = wait_balanced(&api, "six", 6, &p[..3]);
    assert!(
        loads(&three).values().all(|n| *n == 2),
        "2/2/2: {:?}",
        loads(&three)
    );

    // A fourth worker joins: it gets a share, and only that moves.
    c.start(p[3]);
    let four = wait_balanced(&api, "six", 6, &p[..4]);
    let newcomer = format!("127.0.0.1:{}", p[3]);
    let moved: Vec<usize> = (0..6).filter(|i| three[*i] != four[*i]).collect();
    assert!(!moved.is_empty());
    assert!(
        moved.iter().all(|i| four[*i] == newcomer),
        "only moves to the newcomer: {:?} -> {:?}",
        three,
        four
    );
    assert_eq!(moved.len(), loads(&four)[&newcomer]);

    // A graceful leave, a SIGKILL and another join.
    c.stop(p[0]);
    let api = Api::new(p[1]);
    wait_balanced(&api, "six", 6, &[p[1], p[2], p[3]]);
    c.kill(p[1]);
    let api = Api::new(p[2]);
    wait_balanced(&api, "six", 6, &[p[2], p[3]]);
    c.start(p[4]);
    wait_balanced(&api, "six", 6, &[p[2], p[3], p[4]]);
    c.stop_all();
    let checked = assert_no_unit_ran_twice(&c.logs());
    assert!(checked >= 6, "owner changes checked: {}", checked);
}

#[test]
fn a_killed_workers_tasks_resume_elsewhere_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = Cluster::new(d);
    let topic = unique("dist-pipe");
    create_topic(&topic, 1);
    let p = [free_port(), free_port(), free_port()];
    let api = c.start(p[0]);
    c.start(p[1]);
    c.start(p[2]);
    let input = d.join("in.txt");
    std::fs::write(&input, "").unwrap();
    let out = d.join("out.txt");
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (input, writing) = (input.clone(), writing.clone());
        std::thread::spawn(move || {
            for chunk in 0..40 {
                write_lines(&input, chunk * 1_000, 1_000);
                std::thread::sleep(Duration::from_millis(500));
            }
            writing.store(false, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let src = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic});
    let sink = json!({"connector.class": "FileStreamSink", "topics": topic, "file": out.display().to_string()});
    assert_eq!(
        api.post("/connectors", &json!({"name": "src", "config": src}))
            .status,
        201
    );
    assert_eq!(
        api.post("/connectors", &json!({"name": "dist-sink", "config": sink}))
            .status,
        201
    );
    wait_for("lines flowing", Duration::from_secs(120), || {
        lines(&out).len() >= 3_000
    });

    // Kill the worker running the source task.
    let src_owner = owners(&api, "src", 1)[0].clone();
    let sink_owner = owners(&api, "dist-sink", 1)[0].clone();
    let victim: u16 = src_owner.rsplit(':').next().unwrap().parse().unwrap();
    let killed_at = Instant::now();
    c.kill(victim);
    let survivor = Api::new(*p.iter().find(|x| **x != victim).unwrap());
    let produced_at_kill = end_offset(&topic) as usize;
    let written_at_kill = lines(&out).len();
    let committed_at_kill = committed_offset("connect-dist-sink", &topic).unwrap_or(0) as usize;
    let mut new_owner = owners(&survivor, "src", 1)[0].clone();
    while new_owner == src_owner {
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "the source task never moved"
        );
        std::thread::sleep(Duration::from_millis(100));
        new_owner = owners(&survivor, "src", 1)[0].clone();
    }
    let took = killed_at.elapsed();
    assert_ne!(new_owner, src_owner);
    println!(
        "source task running again on {} {:?} after the SIGKILL",
        new_owner, took
    );
    assert!(
        took < Duration::from_secs(6 + 1 + 10),
        "moved within session.timeout.ms + delay + margin: {:?}",
        took
    );

    writer.join().unwrap();
    wait_for("every line", Duration::from_secs(300), || {
        lines(&out).iter().collect::<HashSet<_>>().len() >= 40_000
    });
    std::thread::sleep(Duration::from_secs(2));
    let want: HashSet<String> = lines(&input).into_iter().collect();
    let topic_msgs = read_all(&topic);
    let got: HashSet<String> = topic_msgs
        .iter()
        .map(|m| m.value_str().to_string())
        .collect();
    assert_eq!(got, want, "no gap in Kafka");
    let out_lines = lines(&out);
    assert_eq!(
        out_lines.iter().cloned().collect::<HashSet<_>>(),
        want,
        "no gap in the sink file"
    );
    // Duplicates come only from what was not yet flushed / committed at the kill.
    let source_dups = topic_msgs.len() - 40_000;
    assert!(
        source_dups <= produced_at_kill,
        "source duplicates {} bounded by what was produced",
        source_dups
    );
    let sink_tail = if sink_owner == src_owner {
        written_at_kill.saturating_sub(committed_at_kill)
    } else {
        0
    };
    assert!(
        out_lines.len() - topic_msgs.len() <= sink_tail,
        "sink duplicates {} bounded by its uncommitted tail {}",
        out_lines.len() - topic_msgs.len(),
        sink_tail
    );
    println!(
        "duplicates: {} in Kafka, {} in the file",
        source_dups,
        out_lines.len() - 40_000
    );
    c.stop_all();
    assert_no_unit_ran_twice(&c.logs());
}

#[test]
fn changes_through_one_worker_reach_all_and_survive_a_full_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = Cluster::new(d);
    let topic = unique("dist-api");
    create_topic(&topic, 1);
    let p = [free_port(), free_port(), free_port()];
    let apis: Vec<Api> = p.iter().map(|port| c.start(*port)).collect();
    let sink = |file: &str| json!({"connector.class": "FileStreamSink", "topics": topic, "file": d.join(file).display().to_string()});
    assert_eq!(
        apis[0]
            .post(
                "/connectors",
                &json!({"name": "s", "config": sink("a.txt")})
            )
            .status,
        201
    );
    assert_eq!(
        apis[1]
            .post(
                "/connectors",
                &json!({"name": "s", "config": sink("a.txt")})
            )
            .status,
        409
    );
    for a in &apis {
        assert_eq!(
            a.get("/connectors/s/config").body["file"],
            d.join("a.txt").display().to_string()
        );
    }
    let r = apis[1].put("/connectors/s/config", &sink("b.txt"));
    assert_eq!(r.status, 200, "{}", r.text);
    for a in &apis {
        wait_for("the new config everywhere", Duration::from_secs(30), || {
            a.get("/connectors/s/config").body["file"] == d.join("b.txt").display().to_string()
        });
    }
    owners(&apis[0], "s", 1);
    assert_eq!(apis[2].put_empty("/connectors/s/pause").status, 202);
    apis[0].wait_state("s", "PAUSED");
    assert_eq!(apis[0].put_empty("/connectors/s/resume").status, 202);
    apis[1].wait_state("s", "RUNNING");
    assert_eq!(apis[1].put_empty("/connectors/s/stop").status, 204);
    wait_for("STOPPED everywhere", Duration::from_secs(30), || {
        apis.iter()
            .all(|a| a.get("/connectors/s/status").body["connector"]["state"] == "STOPPED")
    });
    assert_eq!(apis[2].get("/connectors/s/status").body["tasks"], json!([]));

    // A source connector with offsets, and a paused one.
    let input = d.join("in.txt");
    write_lines(&input, 0, 100);
    let src = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic});
    assert_eq!(
        apis[0]
            .post("/connectors", &json!({"name": "src", "config": src}))
            .status,
        201
    );
    let paused = json!({"name": "p", "config": sink("p.txt"), "initial_state": "PAUSED"});
    assert_eq!(apis[2].post("/connectors", &paused).status, 201);
    wait_for("100 records", Duration::from_secs(60), || {
        end_offset(&topic) >= 100
    });
    std::thread::sleep(Duration::from_secs(2));

    // Restart every worker: the same connectors, states and offsets come back.
    c.stop_all();
    let apis: Vec<Api> = p.iter().map(|port| c.start(*port)).collect();
    for a in &apis {
        let mut names = a
            .get("/connectors")
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        names.sort();
        assert_eq!(names, vec!["p", "s", "src"]);
    }
    assert_eq!(
        apis[0].get("/connectors/s/status").body["connector"]["state"],
        "STOPPED"
    );
    apis[1].wait_state("p", "PAUSED");
    apis[2].wait_state("src", "RUNNING");
    write_lines(&input, 100, 10);
    wait_for("the 10 new lines", Duration::from_secs(60), || {
        end_offset(&topic) >= 110
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        end_offset(&topic),
        110,
        "the source resumed from its stored offset"
    );

    // Delete through one worker: gone everywhere.
    assert_eq!(apis[1].delete("/connectors/p").status, 204);
    for a in &apis {
        wait_for("p gone", Duration::from_secs(30), || {
            a.get("/connectors/p").status == 404
        });
    }
    c.stop_all();
    assert_no_unit_ran_twice(&c.logs());
}

#[test]
fn internal_topics_use_connects_formats_and_connect_offsets_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = Cluster::new(d);
    let topic = unique("dist-fmt");
    create_topic(&topic, 1);
    let port = free_port();
    let input = d.join("in.txt");
    write_lines(&input, 0, 100);
    // Offsets written by a Connect cluster before Sluice ever ran: start at line 60.
    let g = c.group.clone();
    let offsets_topic = format!("{}-offsets", g);
    create_topic_compacted(&offsets_topic, 5);
    let key = format!(r#"["migrated",{{"filename":"{}"}}]"#, input.display());
    let pos: usize = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .take(60)
        .map(|l| l.len() + 1)
        .sum();
    produce_keyed(
        &offsets_topic,
        murmur2_partition(key.as_bytes(), 5),
        key.as_bytes(),
        format!(r#"{{"position":{}}}"#, pos).as_bytes(),
    );

    let api = c.start(port);
    let src = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic});
    assert_eq!(
        api.post(
            "/connectors",
            &json!({"name": "migrated", "config": src, "initial_state": "PAUSED"})
        )
        .status,
        201
    );
    api.wait_state("migrated", "PAUSED");
    assert_eq!(api.put_empty("/connectors/migrated/resume").status, 202);
    wait_for("lines 60..100", Duration::from_secs(60), || {
        end_offset(&topic) >= 40
    });
    std::thread::sleep(Duration::from_secs(2));
    let msgs = read_all(&topic);
    assert_eq!(msgs.len(), 40, "started at the migrated offset");
    assert_eq!(msgs[0].value_str(), "line-60");

    // The config topic, read with a plain consumer, is in Connect's format.
    let configs = read_all(&format!("{}-configs", g));
    let value_of = |k: &str| -> serde_json::Value {
        let m = configs
            .iter()
            .rev()
            .find(|m| m.key_str() == Some(k))
            .unwrap_or_else(|| panic!("no {} in the config topic", k));
        serde_json::from_slice(m.value.as_deref().unwrap()).unwrap()
    };
    assert_eq!(
        value_of("connector-migrated")["properties"]["connector.class"],
        "FileStreamSource"
    );
    assert_eq!(
        value_of("connector-migrated")["properties"]["name"],
        "migrated"
    );
    assert_eq!(
        value_of("task-migrated-0")["properties"]["file"],
        input.display().to_string()
    );
    assert_eq!(value_of("commit-migrated"), json!({"tasks": 1}));
    assert_eq!(
        value_of("target-state-migrated"),
        json!({"state": "STARTED", "state.v2": "STARTED"})
    );
    let first_state = configs
        .iter()
        .find(|m| m.key_str() == Some("target-state-migrated"))
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(first_state.value.as_deref().unwrap()).unwrap(),
        json!({"state": "PAUSED", "state.v2": "PAUSED"})
    );
    // And the status topic.
    let statuses = read_all(&format!("{}-status", g));
    let st = statuses
        .iter()
        .rev()
        .find(|m| m.key_str() == Some("status-task-migrated-0"))
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(st.value.as_deref().unwrap()).unwrap();
    assert_eq!(st["state"], "RUNNING");
    assert_eq!(st["worker_id"], format!("127.0.0.1:{}", port));
    assert!(st["generation"].is_number());
    assert!(st.get("trace").is_some());
    assert!(statuses.iter().any(
        |m| m.key_str() == Some(format!("status-topic-{}:connector-migrated", topic).as_str())
    ));
    assert_eq!(
        api.get("/connectors/migrated/topics").body,
        json!({"migrated": {"topics": [topic]}})
    );
    c.stop_all();
}
