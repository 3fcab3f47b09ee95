//! The test file format of `sluice test` (see docs/config-tests.md): which connector,
//! and per test the input messages (sources) or Kafka records (sinks) and the expected
//! output.

use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value as Json};
use sluice_runtime::config::files::load_connector_file;
use sluice_runtime::config::RawConfig;
use sluice_runtime::connector::TestMessage;
use sluice_runtime::data::RawMessage;

/// One test file.
pub struct TestFile {
    pub path: PathBuf,
    /// The connector's name and config.
    pub connector: (String, RawConfig),
    pub worker: Option<PathBuf>,
    pub tests: Vec<Case>,
}

/// One test: inputs in, expected outputs out.
pub struct Case {
    pub name: String,
    pub input: Vec<Json>,
    pub expect: Vec<Json>,
}

fn err(path: &Path, what: impl std::fmt::Display) -> String {
    format!("{}: {}", path.display(), what)
}

/// A scalar of a config map as its string form.
fn config_string(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl TestFile {
    pub fn load(path: &Path) -> Result<TestFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| err(path, e))?;
        let doc: Json = serde_yaml::from_str(&text).map_err(|e| err(path, e))?;
        let Json::Object(doc) = doc else {
            return Err(err(
                path,
                "expected a mapping with connector (or config) and tests",
            ));
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let connector = match (doc.get("connector"), doc.get("config")) {
            (Some(Json::String(file)), None) => {
                let f = load_connector_file(&dir.join(file)).map_err(|e| err(path, e))?;
                (f.name, f.config)
            }
            (None, Some(Json::Object(map))) => {
                let config: RawConfig = map
                    .iter()
                    .map(|(k, v)| (k.clone(), config_string(v)))
                    .collect();
                let name = config.get("name").cloned().unwrap_or_else(|| {
                    path.file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "test".into())
                });
                (name, config)
            }
            _ => {
                return Err(err(
                    path,
                    "give either connector: <connector config file> or config: <map of keys>",
                ))
            }
        };
        let worker = match doc.get("worker") {
            None => None,
            Some(Json::String(w)) => Some(dir.join(w)),
            Some(other) => return Err(err(path, format!("worker: {other} is not a file name"))),
        };
        let Some(Json::Array(list)) = doc.get("tests") else {
            return Err(err(path, "tests: expected a list of tests"));
        };
        let mut tests = Vec::new();
        for (i, t) in list.iter().enumerate() {
            let name = t["name"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("test {}", i + 1));
            let list_of = |key: &str| -> Result<Vec<Json>, String> {
                match &t[key] {
                    Json::Array(a) => Ok(a.clone()),
                    Json::Null => Ok(Vec::new()),
                    other => Err(err(path, format!("{name}: {key}: {other} is not a list"))),
                }
            };
            tests.push(Case {
                input: list_of("input")?,
                expect: list_of("expect")?,
                name,
            });
        }
        Ok(TestFile {
            path: path.to_path_buf(),
            connector,
            worker,
            tests,
        })
    }
}

/// Bytes given as text, `{base64: ...}`, or (under `<field>_json`) any JSON value written
/// compactly. `None` for null or absent.
fn bytes_field(item: &Map<String, Json>, field: &str) -> Result<Option<Bytes>, String> {
    if let Some(j) = item.get(&format!("{field}_json")) {
        return Ok(Some(Bytes::from(j.to_string())));
    }
    match item.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(Bytes::from(s.clone()))),
        Some(Json::Object(o)) if o.len() == 1 && o.contains_key("base64") => {
            let b64 = o["base64"].as_str().unwrap_or_default();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| format!("{field}: base64: {e}"))
        }
        Some(other) => Ok(Some(Bytes::from(other.to_string()))),
    }
}

fn object<'a>(item: &'a Json, what: &str) -> Result<&'a Map<String, Json>, String> {
    item.as_object()
        .ok_or_else(|| format!("{what}: {item} is not a mapping"))
}

fn map_field(item: &Map<String, Json>, field: &str) -> Result<Map<String, Json>, String> {
    match item.get(field) {
        None | Some(Json::Null) => Ok(Map::new()),
        Some(Json::Object(m)) => Ok(m.clone()),
        Some(other) => Err(format!("{field}: {other} is not a mapping")),
    }
}

/// A queue message of a source test: `body` (or `body_json`), `properties`, `headers`.
pub fn message(item: &Json) -> Result<TestMessage, String> {
    let o = object(item, "input")?;
    Ok(TestMessage {
        body: bytes_field(o, "body")?.unwrap_or_default(),
        properties: map_field(o, "properties")?,
        headers: map_field(o, "headers")?,
    })
}

/// A Kafka record of a sink test: `topic`, `partition`, `offset`, `key`, `value` (or
/// `key_json`, `value_json`), `headers`, `timestamp`.
pub struct KafkaInput {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub raw: RawMessage,
}

pub fn kafka_record(
    item: &Json,
    default_topic: Option<&str>,
    n: usize,
) -> Result<KafkaInput, String> {
    let o = object(item, "input")?;
    let topic = match o.get("topic") {
        Some(Json::String(t)) => t.clone(),
        None => default_topic
            .ok_or("topic: required (the connector has no single topic in topics)")?
            .to_string(),
        Some(other) => return Err(format!("topic: {other} is not a string")),
    };
    let int = |k: &str| -> Result<Option<i64>, String> {
        match o.get(k) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{k}: {v} is not an integer")),
        }
    };
    let mut headers = Vec::new();
    for (k, v) in map_field(o, "headers")? {
        let b = match v {
            Json::Null => None,
            Json::String(s) => Some(Bytes::from(s)),
            other => Some(Bytes::from(other.to_string())),
        };
        headers.push((k, b));
    }
    Ok(KafkaInput {
        topic,
        partition: int("partition")?.unwrap_or(0) as i32,
        offset: int("offset")?.unwrap_or(n as i64),
        raw: RawMessage {
            key: bytes_field(o, "key")?,
            value: bytes_field(o, "value")?,
            headers,
            timestamp: int("timestamp")?,
        },
    })
}
