//! REST conformance with Apache Kafka Connect: the same sequence of calls goes to a
//! Kafka Connect worker and to a Sluice worker (both distributed, on the same broker),
//! and the status codes and bodies are compared field by field. Volatile values (names
//! and paths of this run, worker ids, traces, versions, timestamps) are normalised.
//! The differences found must be exactly the ones listed in docs/rest-api.md
//! ("Checked differences"): a new difference, or a fixed one still listed, fails.

mod common;
#[path = "common/connect.rs"]
mod connect;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use connect::{connect_properties, Connect};
use serde_json::{json, Value};

/// One worker under test and what is particular to it.
struct Side {
    name: &'static str,
    api: Api,
    /// Prefix of every connector, topic and file name of this side.
    tag: String,
    dir: PathBuf,
    port: u16,
    /// The version this side reports for its plugins.
    version: String,
}

impl Side {
    fn sub(&self, s: &str) -> String {
        s.replace("{t}", &self.tag)
            .replace("{dir}", &self.dir.display().to_string())
    }

    /// Replaces what differs between the sides only by name with placeholders.
    fn normalise(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if *s == self.version => json!("<version>"),
            Value::String(s) => Value::String(self.normalise_str(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.normalise(x)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        let x = match (k.as_str(), x) {
                            ("trace", Value::String(_)) => json!("<trace>"),
                            ("version", Value::String(_)) => json!("<version>"),
                            ("commit", Value::String(_)) => json!("<commit>"),
                            ("last_modified", Value::Number(_)) => json!("<time>"),
                            ("discoverTimestamp", Value::Number(_)) => json!("<time>"),
                            _ => self.normalise(x),
                        };
                        (self.normalise_str(k), x)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn normalise_str(&self, s: &str) -> String {
        s.replace(&self.dir.display().to_string(), "<dir>")
            .replace(&self.tag, "<t>")
            .replace(&format!("127.0.0.1:{}", self.port), "<worker>")
            .replace(&format!("localhost:{}", self.port), "<worker>")
    }
}

/// A response reduced to what is compared.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
    location: Option<String>,
}

fn call(side: &Side, method: &str, path: &str, body: Option<&str>, ct: Option<&str>) -> Answer {
    let send = || {
        side.api.send_as(
            method,
            &side.sub(path),
            body.map(|b| side.sub(b)).as_deref(),
            ct,
        )
    };
    let mut r = send();
    // A read answered 500 is a transient server error, not an answer to compare: Kafka
    // Connect 4.3.1 sometimes answers GET .../config with 500 right after a PATCH while
    // it applies the new config (seen twice in full runs). Ask again.
    for _ in 0..10 {
        if method != "GET" || r.status != 500 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        r = send();
    }
    let body = if r.text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&r.text).unwrap_or_else(|_| json!({"<not json>": r.text}))
    };
    Answer {
        status: r.status,
        body: side.normalise(&body),
        location: r.location.map(|l| {
            side.normalise_str(&l)
                .replace(&format!("http://127.0.0.1:{}", side.port), "")
        }),
    }
}

/// Fields whose wording or layout is Sluice's own: compared once for all keys.
const TEXT_FIELDS: &[&str] = &[
    "documentation",
    "display_name",
    "width",
    "order",
    "dependents",
    "group",
];

/// The key of an array element, for arrays compared as keyed sets.
fn element_key(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    if let Some(n) = o
        .get("value")
        .and_then(|x| x.get("name"))
        .and_then(Value::as_str)
    {
        return Some(format!("name={n}")); // validate: {definition, value}
    }
    if let (Some(c), Some(t)) = (
        o.get("class").and_then(Value::as_str),
        o.get("type").and_then(Value::as_str),
    ) {
        return Some(format!("class={c} type={t}")); // a class can be a converter and a header converter
    }
    for k in ["class", "name"] {
        if let Some(s) = o.get(k).and_then(Value::as_str) {
            return Some(format!("{k}={s}"));
        }
    }
    if let Some(t) = o.get("task").and_then(Value::as_i64) {
        return Some(format!("task={t}"));
    }
    if let Some(id) = o.get("id") {
        return Some(format!("id={}", canonical(id)));
    }
    if let Some(p) = o.get("partition") {
        return Some(format!("partition={}", canonical(p)));
    }
    None
}

/// JSON with object keys sorted, for keys that must not depend on field order.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let m: BTreeMap<&String, String> = o.iter().map(|(k, x)| (k, canonical(x))).collect();
            format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, x)| format!("{k:?}:{x}"))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        other => other.to_string(),
    }
}

/// Field-by-field differences: `path: kind`, with the values for humans in `details`.
fn diff(path: &str, c: &Value, s: &Value, out: &mut BTreeSet<String>, details: &mut Vec<String>) {
    match (c, s) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff(&p, x, y, out, details),
                    (Some(x), None) => {
                        out.insert(format!("{p}: missing in sluice"));
                        details.push(format!("{p}: connect has {x}"));
                    }
                    (None, Some(y)) => {
                        out.insert(format!("{p}: only in sluice"));
                        details.push(format!("{p}: sluice has {y}"));
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let keyed = !a.is_empty() || !b.is_empty();
            let ka: Option<BTreeMap<String, &Value>> =
                a.iter().map(|v| element_key(v).map(|k| (k, v))).collect();
            let kb: Option<BTreeMap<String, &Value>> =
                b.iter().map(|v| element_key(v).map(|k| (k, v))).collect();
            match (ka, kb) {
                (Some(ka), Some(kb)) if keyed && (ka.len() == a.len() && kb.len() == b.len()) => {
                    let keys: BTreeSet<&String> = ka.keys().chain(kb.keys()).collect();
                    let mut only_sluice = Vec::new();
                    for k in keys {
                        match (ka.get(k), kb.get(k)) {
                            (Some(x), Some(y)) => diff(&format!("{path}[{k}]"), x, y, out, details),
                            (Some(_), None) => {
                                out.insert(format!("{path}[{k}]: missing in sluice"));
                            }
                            (None, Some(_)) => only_sluice.push(k.clone()),
                            (None, None) => {}
                        }
                    }
                    if !only_sluice.is_empty() {
                        out.insert(format!("{path}[*]: elements only in sluice"));
                        details.push(format!(
                            "{path}: only in sluice: {}",
                            only_sluice.join(", ")
                        ));
                    }
                }
                _ => {
                    // Lists of names or values: order does not matter.
                    let mut x: Vec<String> = a.iter().map(|v| v.to_string()).collect();
                    let mut y: Vec<String> = b.iter().map(|v| v.to_string()).collect();
                    x.sort();
                    y.sort();
                    if x != y {
                        out.insert(format!("{path}: differs"));
                        details.push(format!("{path}: connect {c} / sluice {s}"));
                    }
                }
            }
        }
        _ if c == s => {}
        _ => {
            out.insert(format!("{path}: differs"));
            details.push(format!("{path}: connect {c} / sluice {s}"));
        }
    }
}

/// Collapses per-key paths of text and layout fields of config definitions into one
/// `[*]` entry: Sluice documents its keys in its own words.
fn collapse(d: &str) -> String {
    for f in TEXT_FIELDS {
        let suffix = format!(".definition.{f}: differs");
        if let Some(head) = d.strip_suffix(&suffix) {
            if let Some(i) = head.rfind("[name=") {
                return format!("{}[*]{suffix}", &head[..i]);
            }
        }
        // GET /connector-plugins/{p}/config: a list of definitions keyed by name.
        let suffix = format!(".{f}: differs");
        if let Some(head) = d.strip_suffix(&suffix) {
            if head.ends_with(']') && head.contains("[name=") && !head.contains(".definition") {
                let i = head.rfind("[name=").unwrap();
                return format!("{}[*]{suffix}", &head[..i]);
            }
        }
    }
    d.to_string()
}

/// The differences docs/rest-api.md lists under "Checked differences".
fn documented() -> BTreeSet<String> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rest-api.md")).unwrap();
    let section = doc
        .split("### Checked differences")
        .nth(1)
        .expect("docs/rest-api.md has a 'Checked differences' section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

fn wait_status(side: &Side, name: &str, connector: &str, tasks: Option<&[&str]>) {
    let path = format!("/connectors/{}/status", side.sub(name));
    let mut last = Value::Null;
    let ok = (0..600).any(|_| {
        let r = side.api.get(&path);
        last = r.body.clone();
        let got: Vec<&str> = r.body["tasks"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t["state"].as_str()).collect())
            .unwrap_or_default();
        let done = r.status == 200
            && r.body["connector"]["state"] == connector
            && tasks.is_none_or(|t| got == t);
        if !done {
            std::thread::sleep(Duration::from_millis(100));
        }
        done
    });
    assert!(
        ok,
        "{}: {} did not reach {} {:?}: {}",
        side.name, name, connector, tasks, last
    );
}

/// The sequence of calls, run on both sides in turn.
fn steps() -> Vec<Step> {
    use Step::*;
    let src = r#"{"name":"{t}-src","config":{"connector.class":"FileStreamSource","tasks.max":"1","file":"{dir}/in.txt","topic":"{t}-lines"}}"#;
    let sink = r#"{"name":"{t}-sink","config":{"connector.class":"FileStreamSink","tasks.max":"1","file":"{dir}/out.txt","topics":"{t}-lines","transforms":"upper,route","transforms.upper.type":"org.apache.kafka.connect.transforms.InsertHeader","transforms.upper.header":"h","transforms.upper.value.literal":"v","transforms.route.type":"org.apache.kafka.connect.transforms.RegexRouter","transforms.route.regex":"(.*)","transforms.route.replacement":"$1-x"}}"#;
    let src_cfg = r#"{"connector.class":"FileStreamSource","tasks.max":"1","file":"{dir}/in.txt","topic":"{t}-lines","batch.size":"10"}"#;
    vec![
        Call("root", "GET", "/", None, None),
        Call("plugins", "GET", "/connector-plugins", None, None),
        Call(
            "plugins all",
            "GET",
            "/connector-plugins?connectorsOnly=false",
            None,
            None,
        ),
        Call(
            "plugin config",
            "GET",
            "/connector-plugins/FileStreamSource/config",
            None,
            None,
        ),
        Call(
            "validate good",
            "PUT",
            "/connector-plugins/FileStreamSource/config/validate",
            Some(
                r#"{"connector.class":"FileStreamSource","name":"{t}-v","file":"{dir}/in.txt","topic":"{t}-v"}"#,
            ),
            None,
        ),
        Call(
            "validate missing",
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
            Some(r#"{"connector.class":"FileStreamSink","name":"{t}-v"}"#),
            None,
        ),
        Call(
            "validate bad types",
            "PUT",
            "/connector-plugins/FileStreamSource/config/validate",
            Some(
                r#"{"connector.class":"FileStreamSource","name":"{t}-v","topic":"{t}-v","tasks.max":"many","batch.size":"x"}"#,
            ),
            None,
        ),
        Call(
            "validate name mismatch",
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
            Some(r#"{"connector.class":"FileStreamSource","name":"{t}-v","topic":"{t}-v"}"#),
            None,
        ),
        Call("create", "POST", "/connectors", Some(src), None),
        Call("create twice", "POST", "/connectors", Some(src), None),
        Call(
            "create paused",
            "POST",
            "/connectors",
            Some(
                r#"{"name":"{t}-paused","config":{"connector.class":"FileStreamSource","file":"{dir}/in.txt","topic":"{t}-p"},"initial_state":"PAUSED"}"#,
            ),
            None,
        ),
        Call(
            "create stopped",
            "POST",
            "/connectors",
            Some(
                r#"{"name":"{t}-stopped","config":{"connector.class":"FileStreamSource","file":"{dir}/in.txt","topic":"{t}-s"},"initial_state":"STOPPED"}"#,
            ),
            None,
        ),
        Call("create sink", "POST", "/connectors", Some(sink), None),
        Call(
            "create without name",
            "POST",
            "/connectors",
            Some(r#"{"config":{"connector.class":"FileStreamSource","topic":"{t}-n"}}"#),
            None,
        ),
        Call(
            "create unknown class",
            "POST",
            "/connectors",
            Some(r#"{"name":"{t}-unknown","config":{"connector.class":"com.example.Nope"}}"#),
            None,
        ),
        Wait("{t}-src", "RUNNING", &["RUNNING"]),
        Wait("{t}-sink", "RUNNING", &["RUNNING"]),
        WaitConnector("{t}-paused", "PAUSED"),
        Wait("{t}-stopped", "STOPPED", &[]),
        Lines("{t}-lines", 20),
        Call("list", "GET", "/connectors", None, None),
        Call("list slash", "GET", "/connectors/", None, None),
        Call(
            "list expand status",
            "GET",
            "/connectors?expand=status",
            None,
            None,
        ),
        Call(
            "list expand info",
            "GET",
            "/connectors?expand=info",
            None,
            None,
        ),
        Call(
            "list expand both",
            "GET",
            "/connectors?expand=status&expand=info",
            None,
            None,
        ),
        Call("info", "GET", "/connectors/{t}-src", None, None),
        Call("config", "GET", "/connectors/{t}-src/config", None, None),
        Call("status", "GET", "/connectors/{t}-src/status", None, None),
        Call(
            "status stopped",
            "GET",
            "/connectors/{t}-stopped/status",
            None,
            None,
        ),
        Call("tasks", "GET", "/connectors/{t}-src/tasks", None, None),
        Call(
            "tasks stopped",
            "GET",
            "/connectors/{t}-stopped/tasks",
            None,
            None,
        ),
        Call(
            "task status",
            "GET",
            "/connectors/{t}-src/tasks/0/status",
            None,
            None,
        ),
        Call(
            "task status unknown",
            "GET",
            "/connectors/{t}-src/tasks/7/status",
            None,
            None,
        ),
        Call(
            "tasks-config",
            "GET",
            "/connectors/{t}-src/tasks-config",
            None,
            None,
        ),
        WaitList("/connectors/{t}-src/topics", "/{t}-src/topics", true),
        WaitList("/connectors/{t}-sink/topics", "/{t}-sink/topics", true),
        Call("topics", "GET", "/connectors/{t}-src/topics", None, None),
        Call(
            "sink topics",
            "GET",
            "/connectors/{t}-sink/topics",
            None,
            None,
        ),
        Call(
            "topics reset",
            "PUT",
            "/connectors/{t}-src/topics/reset",
            None,
            None,
        ),
        WaitList("/connectors/{t}-src/topics", "/{t}-src/topics", false),
        Call(
            "topics after reset",
            "GET",
            "/connectors/{t}-src/topics",
            None,
            None,
        ),
        Call(
            "config put",
            "PUT",
            "/connectors/{t}-src/config",
            Some(src_cfg),
            None,
        ),
        Call(
            "config patch",
            "PATCH",
            "/connectors/{t}-src/config",
            Some(r#"{"batch.size":"20","tasks.max":null}"#),
            None,
        ),
        Call(
            "config after patch",
            "GET",
            "/connectors/{t}-src/config",
            None,
            None,
        ),
        Call(
            "config put new",
            "PUT",
            "/connectors/{t}-new/config",
            Some(
                r#"{"connector.class":"FileStreamSource","file":"{dir}/in.txt","topic":"{t}-new"}"#,
            ),
            None,
        ),
        Call(
            "config put bad",
            "PUT",
            "/connectors/{t}-new/config",
            Some(
                r#"{"connector.class":"FileStreamSource","file":"{dir}/in.txt","topic":"{t}-new","tasks.max":"x"}"#,
            ),
            None,
        ),
        Call(
            "config put name mismatch",
            "PUT",
            "/connectors/{t}-new/config",
            Some(r#"{"connector.class":"FileStreamSource","name":"{t}-other","topic":"{t}-new"}"#),
            None,
        ),
        Wait("{t}-src", "RUNNING", &["RUNNING"]),
        Call("pause", "PUT", "/connectors/{t}-src/pause", None, None),
        Wait("{t}-src", "PAUSED", &["PAUSED"]),
        Call(
            "status paused",
            "GET",
            "/connectors/{t}-src/status",
            None,
            None,
        ),
        Call("resume", "PUT", "/connectors/{t}-src/resume", None, None),
        Wait("{t}-src", "RUNNING", &["RUNNING"]),
        Call("restart", "POST", "/connectors/{t}-src/restart", None, None),
        Wait("{t}-src", "RUNNING", &["RUNNING"]),
        Call(
            "restart only failed",
            "POST",
            "/connectors/{t}-src/restart?includeTasks=true&onlyFailed=true",
            None,
            None,
        ),
        Wait("{t}-src", "RUNNING", &["RUNNING"]),
        Call(
            "restart with tasks",
            "POST",
            "/connectors/{t}-src/restart?includeTasks=true&onlyFailed=false",
            None,
            None,
        ),
        Wait("{t}-src", "RUNNING", &["RUNNING"]),
        Call(
            "task restart",
            "POST",
            "/connectors/{t}-src/tasks/0/restart",
            None,
            None,
        ),
        Call(
            "task restart unknown",
            "POST",
            "/connectors/{t}-src/tasks/7/restart",
            None,
            None,
        ),
        Wait("{t}-src", "RUNNING", &["RUNNING"]),
        Call(
            "offsets running",
            "GET",
            "/connectors/{t}-src/offsets",
            None,
            None,
        ),
        Call(
            "offsets patch running",
            "PATCH",
            "/connectors/{t}-src/offsets",
            Some(
                r#"{"offsets":[{"partition":{"filename":"{dir}/in.txt"},"offset":{"position":5}}]}"#,
            ),
            None,
        ),
        Call("stop", "PUT", "/connectors/{t}-src/stop", None, None),
        Wait("{t}-src", "STOPPED", &[]),
        Call(
            "status after stop",
            "GET",
            "/connectors/{t}-src/status",
            None,
            None,
        ),
        Call("offsets", "GET", "/connectors/{t}-src/offsets", None, None),
        Call(
            "offsets patch",
            "PATCH",
            "/connectors/{t}-src/offsets",
            Some(
                r#"{"offsets":[{"partition":{"filename":"{dir}/in.txt"},"offset":{"position":5}}]}"#,
            ),
            None,
        ),
        Call(
            "offsets after patch",
            "GET",
            "/connectors/{t}-src/offsets",
            None,
            None,
        ),
        Call(
            "offsets delete",
            "DELETE",
            "/connectors/{t}-src/offsets",
            None,
            None,
        ),
        // Kafka Connect applies the reset's tombstones to the offsets it serves a
        // moment after the DELETE answered.
        WaitList("/connectors/{t}-src/offsets", "/offsets", false),
        Call(
            "offsets after delete",
            "GET",
            "/connectors/{t}-src/offsets",
            None,
            None,
        ),
        Call("sink stop", "PUT", "/connectors/{t}-sink/stop", None, None),
        Wait("{t}-sink", "STOPPED", &[]),
        Call(
            "sink offsets",
            "GET",
            "/connectors/{t}-sink/offsets",
            None,
            None,
        ),
        Call(
            "sink offsets patch",
            "PATCH",
            "/connectors/{t}-sink/offsets",
            Some(
                r#"{"offsets":[{"partition":{"kafka_topic":"{t}-lines","kafka_partition":0},"offset":{"kafka_offset":3}}]}"#,
            ),
            None,
        ),
        Call(
            "sink offsets after patch",
            "GET",
            "/connectors/{t}-sink/offsets",
            None,
            None,
        ),
        Call(
            "sink offsets delete",
            "DELETE",
            "/connectors/{t}-sink/offsets",
            None,
            None,
        ),
        Call("loggers", "GET", "/admin/loggers", None, None),
        Call("logger root", "GET", "/admin/loggers/root", None, None),
        Call(
            "logger put",
            "PUT",
            "/admin/loggers/conformance.check",
            Some(r#"{"level":"DEBUG"}"#),
            None,
        ),
        Call(
            "logger get new",
            "GET",
            "/admin/loggers/conformance.check",
            None,
            None,
        ),
        Call(
            "logger put bad level",
            "PUT",
            "/admin/loggers/conformance.check",
            Some(r#"{"level":"LOUD"}"#),
            None,
        ),
        Call("loggers slash", "GET", "/admin/loggers/", None, None),
        Call(
            "logger put cluster",
            "PUT",
            "/admin/loggers/conformance.cluster?scope=cluster",
            Some(r#"{"level":"WARN"}"#),
            None,
        ),
        Call(
            "logger put worker scope",
            "PUT",
            "/admin/loggers/conformance.scoped?scope=worker",
            Some(r#"{"level":"ERROR"}"#),
            None,
        ),
        Call(
            "logger put unknown scope",
            "PUT",
            "/admin/loggers/conformance.scoped2?scope=galaxy",
            Some(r#"{"level":"ERROR"}"#),
            None,
        ),
        Call(
            "list slash",
            "GET",
            "/connectors/?expand=status",
            None,
            None,
        ),
        Call(
            "unknown connector",
            "GET",
            "/connectors/{t}-nope",
            None,
            None,
        ),
        Call(
            "unknown connector status",
            "GET",
            "/connectors/{t}-nope/status",
            None,
            None,
        ),
        Call(
            "unknown connector pause",
            "PUT",
            "/connectors/{t}-nope/pause",
            None,
            None,
        ),
        Call(
            "malformed json",
            "POST",
            "/connectors",
            Some(r#"{"name": "x", "config": "#),
            None,
        ),
        Call("wrong method", "DELETE", "/connector-plugins", None, None),
        Call(
            "bad content type",
            "POST",
            "/connectors",
            Some(src),
            Some("text/plain"),
        ),
        Call("unknown path", "GET", "/nothing-here", None, None),
        Call("delete", "DELETE", "/connectors/{t}-src", None, None),
        Call("delete again", "DELETE", "/connectors/{t}-src", None, None),
        Call("delete sink", "DELETE", "/connectors/{t}-sink", None, None),
        Call(
            "delete paused",
            "DELETE",
            "/connectors/{t}-paused",
            None,
            None,
        ),
        Call(
            "delete stopped",
            "DELETE",
            "/connectors/{t}-stopped",
            None,
            None,
        ),
        Call("delete new", "DELETE", "/connectors/{t}-new", None, None),
        Call("list after delete", "GET", "/connectors", None, None),
    ]
}

enum Step {
    /// label, method, path, body, content type (JSON when a body is given and None)
    Call(
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    ),
    /// Wait until the connector and its tasks show these states.
    Wait(&'static str, &'static str, &'static [&'static str]),
    /// Wait until the connector shows this state (its tasks in whatever state).
    WaitConnector(&'static str, &'static str),
    /// Wait until a topic holds this many records.
    Lines(&'static str, i64),
    /// Wait until the value at a JSON pointer of a GET is non-empty (true) or empty.
    WaitList(&'static str, &'static str, bool),
}

fn run(side: &Side) -> Vec<(&'static str, Answer)> {
    write_lines(&side.dir.join("in.txt"), 0, 20);
    let mut answers = Vec::new();
    for step in steps() {
        match step {
            Step::Call(label, method, path, body, ct) => {
                let ct = ct.or(body.map(|_| "application/json"));
                answers.push((label, call(side, method, path, body, ct)));
            }
            Step::Wait(name, connector, tasks) => wait_status(side, name, connector, Some(tasks)),
            Step::WaitConnector(name, connector) => wait_status(side, name, connector, None),
            Step::WaitList(path, pointer, non_empty) => {
                let (path, pointer) = (side.sub(path), side.sub(pointer));
                wait_for(
                    &format!("{}: {pointer} of {path}", side.name),
                    Duration::from_secs(60),
                    || {
                        let body = side.api.get(&path).body;
                        let n = body
                            .pointer(&pointer)
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len);
                        (n > 0) == non_empty
                    },
                )
            }
            Step::Lines(topic, n) => {
                let t = side.sub(topic);
                wait_for(
                    &format!("{}: {n} records in {t}", side.name),
                    Duration::from_secs(60),
                    || end_offset(&t) >= n,
                )
            }
        }
    }
    answers
}

fn start_sluice(dir: &Path, group: &str, port: u16) -> Sluice {
    let yaml = format!(
        "bootstrap.servers: {}\ngroup.id: {group}\nconfig.storage.topic: {group}-configs\n\
         offset.storage.topic: {group}-offsets\nstatus.storage.topic: {group}-status\n\
         config.storage.replication.factor: 1\noffset.storage.replication.factor: 1\nstatus.storage.replication.factor: 1\n\
         key.converter: org.apache.kafka.connect.storage.StringConverter\n\
         value.converter: org.apache.kafka.connect.storage.StringConverter\n\
         listeners: http://127.0.0.1:{port}\noffset.flush.interval.ms: 500\n",
        bootstrap()
    );
    Sluice::distributed(dir, &yaml)
}

#[test]
fn the_rest_api_answers_as_kafka_connect_does_apart_from_the_documented_differences() {
    let base = tempfile::tempdir().unwrap();
    let run_id = unique("conf");
    let (cdir, sdir) = (base.path().join("c"), base.path().join("s"));
    std::fs::create_dir_all(&cdir).unwrap();
    std::fs::create_dir_all(&sdir).unwrap();
    let (cport, sport) = (free_port(), free_port());
    let mut connect = Connect::distributed(
        &cdir,
        &connect_properties(&format!("{run_id}-connect"), cport, ""),
    );
    let mut sluice = start_sluice(&sdir, &format!("{run_id}-sluice"), sport);
    let capi = connect.wait_ready();
    let sapi = Api::new(sport);
    sapi.wait_ready();
    let version = |api: &Api| {
        api.get("/").body["version"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let (cversion, sversion) = (version(&capi), env!("CARGO_PKG_VERSION").to_string());
    let sides = [
        Side {
            name: "connect",
            api: capi,
            tag: format!("{run_id}-c"),
            dir: cdir,
            port: cport,
            version: cversion,
        },
        Side {
            name: "sluice",
            api: sapi,
            tag: format!("{run_id}-s"),
            dir: sdir,
            port: sport,
            version: sversion,
        },
    ];

    let c = run(&sides[0]);
    let s = run(&sides[1]);
    let mut found = BTreeSet::new();
    let mut details = Vec::new();
    for ((label, a), (_, b)) in c.iter().zip(&s) {
        if a.status != b.status {
            found.insert(format!("{label}: status {} vs {}", a.status, b.status));
        }
        if a.location.is_some() != b.location.is_some() || a.location != b.location {
            found.insert(format!("{label}: Location differs"));
            details.push(format!(
                "{label}: Location connect {:?} / sluice {:?}",
                a.location, b.location
            ));
        }
        let mut here = BTreeSet::new();
        // Error messages are each worker's own words; their presence is compared.
        let (mut ab, mut bb) = if a.status >= 400 && b.status >= 400 {
            (strip_message(&a.body), strip_message(&b.body))
        } else {
            (a.body.clone(), b.body.clone())
        };
        if label.starts_with("loggers") {
            // Logger names are each runtime's own (Java classes, Rust modules): compare
            // the loggers both have by name, the rest as one item.
            if let (Some(x), Some(y)) = (ab.as_object_mut(), bb.as_object_mut()) {
                let shared = ["root", "conformance.check"];
                let others = |m: &serde_json::Map<String, Value>| {
                    m.keys().filter(|k| !shared.contains(&k.as_str())).count()
                };
                if others(x) > 0 || others(y) > 0 {
                    found.insert(format!("{label}.*: logger names differ"));
                }
                x.retain(|k, _| shared.contains(&k.as_str()));
                y.retain(|k, _| shared.contains(&k.as_str()));
            }
        }
        diff(label, &ab, &bb, &mut here, &mut details);
        found.extend(here.into_iter().map(|d| collapse(&d)));
    }
    connect.terminate();
    assert!(sluice.terminate().success());

    let documented = documented();
    let new: Vec<&String> = found.difference(&documented).collect();
    let gone: Vec<&String> = documented.difference(&found).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "REST differences from Kafka Connect changed.\nNew (fix Sluice or document them in docs/rest-api.md):\n  {}\nDocumented but no longer seen (remove them from docs/rest-api.md):\n  {}\nDetails:\n  {}",
        new.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
        gone.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
        details.join("\n  ")
    );
}

/// An error body with its message replaced by whether there is one.
fn strip_message(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("message") {
        *m = json!(if m.as_str().is_some_and(|s| !s.is_empty()) {
            "<message>"
        } else {
            "<none>"
        });
    }
    v
}
