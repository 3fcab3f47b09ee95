//! Records of Kafka Connect's internal topics, in Connect's exact formats (string keys,
//! JSON values without a schema envelope), plus two Sluice-only config records that
//! Connect workers ignore: the leader's assignment and single-task restart requests.

use serde_json::{json, Map, Value as Json};

use super::assignment::{Assignment, Unit};
use crate::config::files::TargetState;
use crate::config::RawConfig;
use crate::status::State;

/// A record of the config topic.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigRecord {
    /// `connector-<name>` → `{"properties": {...}}`; `None` (a tombstone) deletes.
    Connector {
        name: String,
        config: Option<RawConfig>,
    },
    /// `task-<name>-<n>` → `{"properties": {...}}`.
    Task {
        name: String,
        task: u32,
        config: RawConfig,
    },
    /// `commit-<name>` → `{"tasks": N}`: task configs take effect with this record.
    Commit { name: String, tasks: u32 },
    /// `target-state-<name>` → `{"state": "STARTED|PAUSED", "state.v2": "STARTED|PAUSED|STOPPED"}`.
    TargetState {
        name: String,
        state: Option<TargetState>,
    },
    /// `restart-connector-<name>` → `{"include-tasks": bool, "only-failed": bool}`.
    RestartConnector {
        name: String,
        include_tasks: bool,
        only_failed: bool,
    },
    /// Sluice: `sluice-restart-task-<name>-<n>` → `{"requested": <ms>}`.
    RestartTask {
        name: String,
        task: u32,
        requested: i64,
    },
    /// Sluice: `sluice-assignment` → which worker runs what.
    Assignment(AssignmentRecord),
    /// `logger-cluster-<namespace>` → `{"level": "DEBUG"}`: a log level every worker
    /// applies (`PUT /admin/loggers/{l}?scope=cluster`).
    LoggerLevel { namespace: String, level: String },
    /// A key Sluice does not know (ignored, as Connect ignores unknown keys).
    Other(String),
}

/// The leader's assignment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssignmentRecord {
    pub version: u64,
    pub leader: String,
    pub members: Vec<String>,
    pub assignment: Assignment,
}

const ASSIGNMENT_KEY: &str = "sluice-assignment";

/// Splits `<name>-<n>` where the name may itself contain dashes.
fn name_and_task(s: &str) -> Option<(String, u32)> {
    let (name, n) = s.rsplit_once('-')?;
    Some((name.to_string(), n.parse().ok()?))
}

fn properties(v: &Json) -> Option<RawConfig> {
    let props = v.get("properties")?.as_object()?;
    Some(
        props
            .iter()
            .filter_map(|(k, v)| match v {
                Json::String(s) => Some((k.clone(), s.clone())),
                Json::Null => None,
                other => Some((k.clone(), other.to_string())),
            })
            .collect(),
    )
}

impl ConfigRecord {
    /// Reads a record; malformed values become `Other`.
    pub fn parse(key: &str, value: Option<&[u8]>) -> ConfigRecord {
        let json: Option<Json> = value.and_then(|v| serde_json::from_slice(v).ok());
        let other = || ConfigRecord::Other(key.to_string());
        if let Some(name) = key.strip_prefix("connector-") {
            return match (value, json.as_ref().and_then(properties)) {
                (None, _) => ConfigRecord::Connector {
                    name: name.into(),
                    config: None,
                },
                (Some(_), Some(c)) => ConfigRecord::Connector {
                    name: name.into(),
                    config: Some(c),
                },
                _ => other(),
            };
        }
        if let Some(rest) = key.strip_prefix("task-") {
            return match (name_and_task(rest), json.as_ref().and_then(properties)) {
                (Some((name, task)), Some(config)) => ConfigRecord::Task { name, task, config },
                _ => other(),
            };
        }
        if let Some(name) = key.strip_prefix("commit-") {
            return match json
                .as_ref()
                .and_then(|j| j.get("tasks"))
                .and_then(Json::as_u64)
            {
                Some(n) => ConfigRecord::Commit {
                    name: name.into(),
                    tasks: n as u32,
                },
                None => other(),
            };
        }
        if let Some(name) = key.strip_prefix("target-state-") {
            if value.is_none() {
                return ConfigRecord::TargetState {
                    name: name.into(),
                    state: None,
                };
            }
            let j = json.unwrap_or(Json::Null);
            let s = j
                .get("state.v2")
                .or_else(|| j.get("state"))
                .and_then(Json::as_str)
                .and_then(TargetState::parse);
            return match s {
                Some(s) => ConfigRecord::TargetState {
                    name: name.into(),
                    state: Some(s),
                },
                None => other(),
            };
        }
        if let Some(name) = key.strip_prefix("restart-connector-") {
            let j = json.unwrap_or(Json::Null);
            return ConfigRecord::RestartConnector {
                name: name.into(),
                include_tasks: j
                    .get("include-tasks")
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
                only_failed: j
                    .get("only-failed")
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
            };
        }
        if let Some(rest) = key.strip_prefix("sluice-restart-task-") {
            return match name_and_task(rest) {
                Some((name, task)) => ConfigRecord::RestartTask {
                    name,
                    task,
                    requested: json
                        .and_then(|j| j.get("requested").and_then(Json::as_i64))
                        .unwrap_or(0),
                },
                None => other(),
            };
        }
        if let Some(namespace) = key.strip_prefix("logger-cluster-") {
            return match json
                .as_ref()
                .and_then(|j| j.get("level"))
                .and_then(Json::as_str)
            {
                Some(level) => ConfigRecord::LoggerLevel {
                    namespace: namespace.into(),
                    level: level.into(),
                },
                None => other(),
            };
        }
        if key == ASSIGNMENT_KEY {
            return match json.as_ref().and_then(parse_assignment) {
                Some(a) => ConfigRecord::Assignment(a),
                None => other(),
            };
        }
        other()
    }

    /// The key and value Connect writes for this record.
    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        let v = |j: Json| Some(serde_json::to_vec(&j).expect("JSON"));
        match self {
            ConfigRecord::Connector { name, config } => (
                format!("connector-{}", name),
                config.as_ref().and_then(|c| v(json!({ "properties": c }))),
            ),
            ConfigRecord::Task { name, task, config } => (
                format!("task-{}-{}", name, task),
                v(json!({ "properties": config })),
            ),
            ConfigRecord::Commit { name, tasks } => {
                (format!("commit-{}", name), v(json!({ "tasks": tasks })))
            }
            ConfigRecord::TargetState { name, state } => (
                format!("target-state-{}", name),
                state.and_then(|s| {
                    // `state` stays readable by old workers: STOPPED shows as PAUSED there.
                    let legacy = if s == TargetState::Running {
                        "STARTED"
                    } else {
                        "PAUSED"
                    };
                    v(json!({"state": legacy, "state.v2": s.connect_name()}))
                }),
            ),
            ConfigRecord::RestartConnector {
                name,
                include_tasks,
                only_failed,
            } => (
                format!("restart-connector-{}", name),
                v(json!({"include-tasks": include_tasks, "only-failed": only_failed})),
            ),
            ConfigRecord::RestartTask {
                name,
                task,
                requested,
            } => (
                format!("sluice-restart-task-{}-{}", name, task),
                v(json!({ "requested": requested })),
            ),
            ConfigRecord::Assignment(a) => (ASSIGNMENT_KEY.to_string(), v(assignment_json(a))),
            ConfigRecord::LoggerLevel { namespace, level } => (
                format!("logger-cluster-{}", namespace),
                v(json!({ "level": level })),
            ),
            ConfigRecord::Other(k) => (k.clone(), None),
        }
    }
}

fn assignment_json(a: &AssignmentRecord) -> Json {
    let units: Vec<Json> = a
        .assignment
        .iter()
        .map(|(u, w)| match u {
            Unit::Connector(c) => json!({"connector": c, "task": null, "worker": w}),
            Unit::Task(c, t) => json!({"connector": c, "task": t, "worker": w}),
        })
        .collect();
    json!({"version": a.version, "leader": a.leader, "members": a.members, "units": units})
}

fn parse_assignment(j: &Json) -> Option<AssignmentRecord> {
    let mut assignment = Assignment::new();
    for u in j.get("units")?.as_array()? {
        let c = u.get("connector")?.as_str()?.to_string();
        let w = u.get("worker")?.as_str()?.to_string();
        let unit = match u.get("task").and_then(Json::as_u64) {
            Some(t) => Unit::Task(c, t as u32),
            None => Unit::Connector(c),
        };
        assignment.insert(unit, w);
    }
    Some(AssignmentRecord {
        version: j.get("version")?.as_u64()?,
        leader: j
            .get("leader")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string(),
        members: j
            .get("members")
            .and_then(Json::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        assignment,
    })
}

/// A connector's or task's status as the status topic holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusValue {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i64,
}

/// A record of the status topic.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusRecord {
    /// `status-connector-<name>`; `None` = destroyed.
    Connector {
        name: String,
        status: Option<StatusValue>,
    },
    /// `status-task-<name>-<n>`; `None` = destroyed.
    Task {
        name: String,
        task: u32,
        status: Option<StatusValue>,
    },
    /// `status-topic-<topic>:connector-<name>`; `None` = reset.
    Topic {
        topic: String,
        connector: String,
        task: u32,
        discovered: i64,
        present: bool,
    },
    Other(String),
}

fn status_value(j: &Json) -> Option<StatusValue> {
    Some(StatusValue {
        state: State::parse(j.get("state")?.as_str()?)?,
        trace: j.get("trace").and_then(Json::as_str).map(String::from),
        worker_id: j
            .get("worker_id")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string(),
        generation: j.get("generation").and_then(Json::as_i64).unwrap_or(0),
    })
}

fn status_json(s: &StatusValue) -> Json {
    let mut m = Map::new();
    m.insert("state".into(), json!(s.state.name()));
    m.insert("trace".into(), json!(s.trace));
    m.insert("worker_id".into(), json!(s.worker_id));
    m.insert("generation".into(), json!(s.generation));
    Json::Object(m)
}

impl StatusRecord {
    pub fn parse(key: &str, value: Option<&[u8]>) -> StatusRecord {
        let json: Option<Json> = value.and_then(|v| serde_json::from_slice(v).ok());
        if let Some(name) = key.strip_prefix("status-connector-") {
            return StatusRecord::Connector {
                name: name.into(),
                status: json.as_ref().and_then(status_value),
            };
        }
        if let Some(rest) = key.strip_prefix("status-task-") {
            if let Some((name, task)) = name_and_task(rest) {
                return StatusRecord::Task {
                    name,
                    task,
                    status: json.as_ref().and_then(status_value),
                };
            }
        }
        if let Some(rest) = key.strip_prefix("status-topic-") {
            if let Some((topic, connector)) = rest.split_once(":connector-") {
                let t = json
                    .as_ref()
                    .and_then(|j| j.get("topic").cloned())
                    .unwrap_or(Json::Null);
                return StatusRecord::Topic {
                    topic: topic.into(),
                    connector: connector.into(),
                    task: t.get("task").and_then(Json::as_u64).unwrap_or(0) as u32,
                    discovered: t
                        .get("discoverTimestamp")
                        .and_then(Json::as_i64)
                        .unwrap_or(0),
                    present: value.is_some(),
                };
            }
        }
        StatusRecord::Other(key.to_string())
    }

    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        let v = |j: Json| Some(serde_json::to_vec(&j).expect("JSON"));
        match self {
            StatusRecord::Connector { name, status } => (
                format!("status-connector-{}", name),
                status.as_ref().and_then(|s| v(status_json(s))),
            ),
            StatusRecord::Task { name, task, status } => (
                format!("status-task-{}-{}", name, task),
                status.as_ref().and_then(|s| v(status_json(s))),
            ),
            StatusRecord::Topic {
                topic,
                connector,
                task,
                discovered,
                present,
            } => (
                format!("status-topic-{}:connector-{}", topic, connector),
                if *present {
                    v(
                        json!({"topic": {"name": topic, "connector": connector, "task": task, "discoverTimestamp": discovered}}),
                    )
                } else {
                    None
                },
            ),
            StatusRecord::Other(k) => (k.clone(), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_formats_round_trip() {
        let cfg: RawConfig = [("connector.class".to_string(), "file-sink".to_string())].into();
        let cases = vec![
            ConfigRecord::Connector {
                name: "my-conn".into(),
                config: Some(cfg.clone()),
            },
            ConfigRecord::Connector {
                name: "my-conn".into(),
                config: None,
            },
            ConfigRecord::Task {
                name: "my-conn".into(),
                task: 3,
                config: cfg.clone(),
            },
            ConfigRecord::Commit {
                name: "my-conn".into(),
                tasks: 4,
            },
            ConfigRecord::TargetState {
                name: "my-conn".into(),
                state: Some(TargetState::Stopped),
            },
            ConfigRecord::RestartConnector {
                name: "my-conn".into(),
                include_tasks: true,
                only_failed: false,
            },
            ConfigRecord::LoggerLevel {
                namespace: "org.apache.kafka.connect".into(),
                level: "DEBUG".into(),
            },
        ];
        for c in cases {
            let (k, v) = c.encode();
            assert_eq!(ConfigRecord::parse(&k, v.as_deref()), c, "{}", k);
        }
        // Exactly what Connect writes for PUT /admin/loggers/x.y?scope=cluster.
        assert_eq!(
            ConfigRecord::LoggerLevel {
                namespace: "x.y".into(),
                level: "WARN".into()
            }
            .encode(),
            (
                "logger-cluster-x.y".to_string(),
                Some(br#"{"level":"WARN"}"#.to_vec())
            )
        );
        let (k, v) = ConfigRecord::Connector {
            name: "a".into(),
            config: Some(cfg),
        }
        .encode();
        assert_eq!(k, "connector-a");
        assert_eq!(
            String::from_utf8(v.unwrap()).unwrap(),
            r#"{"properties":{"connector.class":"file-sink"}}"#
        );
        let (k, v) = ConfigRecord::TargetState {
            name: "a".into(),
            state: Some(TargetState::Stopped),
        }
        .encode();
        assert_eq!(k, "target-state-a");
        assert_eq!(
            String::from_utf8(v.unwrap()).unwrap(),
            r#"{"state":"PAUSED","state.v2":"STOPPED"}"#
        );
        assert_eq!(
            String::from_utf8(
                ConfigRecord::Commit {
                    name: "a".into(),
                    tasks: 2
                }
                .encode()
                .1
                .unwrap()
            )
            .unwrap(),
            r#"{"tasks":2}"#
        );
        // Connect's own older target state record (no state.v2).
        assert_eq!(
            ConfigRecord::parse("target-state-b", Some(br#"{"state":"STARTED"}"#)),
            ConfigRecord::TargetState {
                name: "b".into(),
                state: Some(TargetState::Running)
            }
        );
    }

    #[test]
    fn status_formats() {
        let s = StatusValue {
            state: State::Running,
            trace: None,
            worker_id: "10.0.0.1:8083".into(),
            generation: 3,
        };
        let (k, v) = StatusRecord::Task {
            name: "a-b".into(),
            task: 2,
            status: Some(s.clone()),
        }
        .encode();
        assert_eq!(k, "status-task-a-b-2");
        assert_eq!(
            String::from_utf8(v.clone().unwrap()).unwrap(),
            r#"{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":3}"#
        );
        assert_eq!(
            StatusRecord::parse(&k, v.as_deref()),
            StatusRecord::Task {
                name: "a-b".into(),
                task: 2,
                status: Some(s)
            }
        );
        let t = StatusRecord::Topic {
            topic: "t".into(),
            connector: "c".into(),
            task: 0,
            discovered: 5,
            present: true,
        };
        let (k, v) = t.encode();
        assert_eq!(k, "status-topic-t:connector-c");
        assert_eq!(StatusRecord::parse(&k, v.as_deref()), t);
    }

    #[test]
    fn assignment_round_trip() {
        let mut a = Assignment::new();
        a.insert(Unit::Connector("x".into()), "w1".into());
        a.insert(Unit::Task("x".into(), 0), "w2".into());
        let r = AssignmentRecord {
            version: 7,
            leader: "w1".into(),
            members: vec!["w1".into(), "w2".into()],
            assignment: a,
        };
        let (k, v) = ConfigRecord::Assignment(r.clone()).encode();
        assert_eq!(
            ConfigRecord::parse(&k, v.as_deref()),
            ConfigRecord::Assignment(r)
        );
    }
}
