//! Reading connector and worker configs from files: YAML, Java `.properties`, Connect's
//! JSON (`{"name":..., "config":{...}}`) and Strimzi `KafkaConnector` resources.
//!
//! Every value becomes the string Connect would see: YAML numbers and booleans are
//! written out (`tasks.max: 2` is `"2"`), YAML lists are joined with commas, and nested
//! maps are flattened with dots (`key.converter: {schemas.enable: false}` is
//! `key.converter.schemas.enable=false`).

use std::path::Path;

use serde_json::Value as Json;

use super::RawConfig;

/// The state a connector should be in, as a config file or the API asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    /// Connect's `STARTED` (shown to users as RUNNING).
    #[serde(alias = "STARTED")]
    Running,
    Paused,
    Stopped,
}

impl TargetState {
    /// Parses `RUNNING`/`STARTED`, `PAUSED`, `STOPPED` in any case.
    pub fn parse(s: &str) -> Option<TargetState> {
        match s.trim().to_ascii_uppercase().as_str() {
            "RUNNING" | "STARTED" => Some(TargetState::Running),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
    /// The name used in Connect's config topic (`STARTED`, `PAUSED`, `STOPPED`).
    pub fn connect_name(self) -> &'static str {
        match self {
            TargetState::Running => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }
}

/// A connector config read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorFile {
    pub name: String,
    /// The config map; always holds `name`.
    pub config: RawConfig,
    /// The state the file asks for (Strimzi `spec.state`, or `initial_state`).
    pub initial_state: Option<TargetState>,
}

/// A config file that could not be read or understood.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct FileError {
    /// The file (or other origin) the config came from.
    pub origin: String,
    pub message: String,
}

impl FileError {
    fn new(origin: &str, message: impl Into<String>) -> Self {
        FileError {
            origin: origin.to_string(),
            message: message.into(),
        }
    }
}

/// The formats a config file can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Properties,
    Json,
}

impl Format {
    /// Picks a format from the file extension, or from the content when there is none.
    pub fn detect(path: &Path, text: &str) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
        {
            Some(e) if e == "yaml" || e == "yml" => Format::Yaml,
            Some(e) if e == "properties" || e == "props" || e == "conf" => Format::Properties,
            Some(e) if e == "json" => Format::Json,
            _ => {
                let t = text.trim_start();
                if t.starts_with('{') {
                    Format::Json
                } else if looks_like_properties(t) {
                    Format::Properties
                } else {
                    Format::Yaml
                }
            }
        }
    }
}

fn looks_like_properties(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(|l| match (l.find('='), l.find(':')) {
            (Some(e), Some(c)) => e < c,
            (Some(_), None) => true,
            _ => false,
        })
        .unwrap_or(false)
}

/// Is this file one a connectors folder should load (by extension)?
pub fn is_config_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref(),
        Some("yaml" | "yml" | "properties" | "json")
    )
}

/// Reads a connector config file.
pub fn load_connector_file(path: &Path) -> Result<ConnectorFile, FileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(&origin, format!("cannot read the file: {}", e)))?;
    parse_connector(&text, Format::detect(path, &text), &origin)
}

/// Parses a connector config in any supported format.
pub fn parse_connector(
    text: &str,
    format: Format,
    origin: &str,
) -> Result<ConnectorFile, FileError> {
    match format {
        Format::Properties => {
            let config = parse_properties(text, origin)?;
            let name = config
                .get("name")
                .cloned()
                .ok_or_else(|| FileError::new(origin, "the connector has no \"name\" key"))?;
            check_name(&name, origin)?;
            Ok(ConnectorFile {
                name,
                config,
                initial_state: None,
            })
        }
        Format::Json => {
            let json: Json = serde_json::from_str(text).map_err(|e| {
                FileError::new(
                    origin,
                    format!(
                        "invalid JSON at line {} column {}: {}",
                        e.line(),
                        e.column(),
                        e
                    ),
                )
            })?;
            connector_from_json(&json, origin)
        }
        Format::Yaml => {
            let yaml: serde_yaml::Value =
                serde_yaml::from_str(text).map_err(|e| yaml_error(e, origin))?;
            let json = serde_json::to_value(&yaml)
                .map_err(|e| FileError::new(origin, format!("unsupported YAML: {}", e)))?;
            connector_from_json(&json, origin)
        }
    }
}

fn yaml_error(e: serde_yaml::Error, origin: &str) -> FileError {
    match e.location() {
        Some(l) => FileError::new(
            origin,
            format!(
                "invalid YAML at line {} column {}: {}",
                l.line(),
                l.column(),
                e
            ),
        ),
        None => FileError::new(origin, format!("invalid YAML: {}", e)),
    }
}

fn check_name(name: &str, origin: &str) -> Result<(), FileError> {
    if name.trim().is_empty() {
        return Err(FileError::new(origin, "the connector name is empty"));
    }
    if name.contains('/') || name.chars().any(|c| c.is_control()) {
        return Err(FileError::new(
            origin,
            format!(
                "the connector name {:?} may not contain '/' or control characters",
                name
            ),
        ));
    }
    Ok(())
}

/// Interprets a parsed JSON/YAML document as a connector: Strimzi resource,
/// `{name, config}` or a flat map with `name`.
pub fn connector_from_json(doc: &Json, origin: &str) -> Result<ConnectorFile, FileError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| FileError::new(origin, "expected a map at the top level"))?;
    if obj.get("kind").and_then(Json::as_str) == Some("KafkaConnector") {
        return strimzi_connector(doc, origin);
    }
    let (name, config_doc, initial_state) = if let Some(cfg) = obj.get("config") {
        let name = obj
            .get("name")
            .and_then(scalar_string)
            .or_else(|| cfg.get("name").and_then(scalar_string))
            .ok_or_else(|| FileError::new(origin, "the connector has no \"name\""))?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "name" | "config" | "initial_state") {
                return Err(FileError::new(
                    origin,
                    format!(
                        "unknown top-level key \"{}\" (expected name, config, initial_state)",
                        k
                    ),
                ));
            }
        }
        let state = match obj.get("initial_state").and_then(Json::as_str) {
            Some(s) => Some(TargetState::parse(s).ok_or_else(|| {
                FileError::new(
                    origin,
                    format!("initial_state {:?} is not RUNNING, PAUSED or STOPPED", s),
                )
            })?),
            None => None,
        };
        (name, cfg, state)
    } else {
        let name = obj
            .get("name")
            .and_then(scalar_string)
            .ok_or_else(|| FileError::new(origin, "the connector has no \"name\""))?;
        (name, doc, None)
    };
    check_name(&name, origin)?;
    let mut config = flatten(config_doc, origin)?;
    match config.get("name") {
        Some(n) if n != &name => {
            return Err(FileError::new(
                origin,
                format!("the name \"{}\" differs from config.name \"{}\"", name, n),
            ))
        }
        _ => {
            config.insert("name".into(), name.clone());
        }
    }
    Ok(ConnectorFile {
        name,
        config,
        initial_state,
    })
}

fn strimzi_connector(doc: &Json, origin: &str) -> Result<ConnectorFile, FileError> {
    let name = doc
        .pointer("/metadata/name")
        .and_then(scalar_string)
        .ok_or_else(|| FileError::new(origin, "KafkaConnector has no metadata.name"))?;
    check_name(&name, origin)?;
    let spec = doc
        .get("spec")
        .ok_or_else(|| FileError::new(origin, "KafkaConnector has no spec"))?;
    let mut config = match spec.get("config") {
        Some(c) => flatten(c, origin)?,
        None => RawConfig::new(),
    };
    if let Some(class) = spec.get("class").and_then(scalar_string) {
        config.insert("connector.class".into(), class);
    }
    if let Some(t) = spec.get("tasksMax").and_then(scalar_string) {
        config.insert("tasks.max".into(), t);
    }
    config.insert("name".into(), name.clone());
    let mut initial_state = None;
    if let Some(s) = spec.get("state").and_then(Json::as_str) {
        initial_state = Some(TargetState::parse(s).ok_or_else(|| {
            FileError::new(
                origin,
                format!("spec.state {:?} is not running, paused or stopped", s),
            )
        })?);
    } else if spec.get("pause").and_then(Json::as_bool) == Some(true) {
        initial_state = Some(TargetState::Paused);
    }
    Ok(ConnectorFile {
        name,
        config,
        initial_state,
    })
}

fn scalar_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Flattens a map into dotted keys with string values.
pub fn flatten(doc: &Json, origin: &str) -> Result<RawConfig, FileError> {
    let mut out = RawConfig::new();
    let obj = doc
        .as_object()
        .ok_or_else(|| FileError::new(origin, "the config must be a map of keys to values"))?;
    for (k, v) in obj {
        flatten_into(k, v, &mut out, origin)?;
    }
    Ok(out)
}

fn flatten_into(key: &str, v: &Json, out: &mut RawConfig, origin: &str) -> Result<(), FileError> {
    match v {
        Json::Null => {}
        Json::Object(m) => {
            for (k, inner) in m {
                flatten_into(&format!("{}.{}", key, k), inner, out, origin)?;
            }
        }
        Json::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                parts.push(scalar_string(item).ok_or_else(|| {
                    FileError::new(
                        origin,
                        format!("key {}: list items must be plain values", key),
                    )
                })?);
            }
            insert_unique(out, key, parts.join(","), origin)?;
        }
        other => insert_unique(out, key, scalar_string(other).unwrap_or_default(), origin)?,
    }
    Ok(())
}

fn insert_unique(
    out: &mut RawConfig,
    key: &str,
    value: String,
    origin: &str,
) -> Result<(), FileError> {
    if out.insert(key.to_string(), value).is_some() {
        return Err(FileError::new(
            origin,
            format!("key {} is set twice (once nested, once flat)", key),
        ));
    }
    Ok(())
}

/// Parses Java `.properties` text.
pub fn parse_properties(text: &str, origin: &str) -> Result<RawConfig, FileError> {
    let map = java_properties::read(text.as_bytes())
        .map_err(|e| FileError::new(origin, format!("invalid properties: {}", e)))?;
    Ok(map.into_iter().collect())
}

/// Reads a worker config file (YAML, properties or JSON; a flat or nested map).
pub fn load_worker_file(path: &Path) -> Result<RawConfig, FileError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| FileError::new(&origin, format!("cannot read the file: {}", e)))?;
    parse_worker(&text, Format::detect(path, &text), &origin)
}

/// Parses a worker config in any supported format.
pub fn parse_worker(text: &str, format: Format, origin: &str) -> Result<RawConfig, FileError> {
    match format {
        Format::Properties => parse_properties(text, origin),
        Format::Json => {
            let json: Json = serde_json::from_str(text)
                .map_err(|e| FileError::new(origin, format!("invalid JSON: {}", e)))?;
            flatten(&json, origin)
        }
        Format::Yaml => {
            if text.trim().is_empty() {
                return Ok(RawConfig::new());
            }
            let yaml: serde_yaml::Value =
                serde_yaml::from_str(text).map_err(|e| yaml_error(e, origin))?;
            let json = serde_json::to_value(&yaml)
                .map_err(|e| FileError::new(origin, format!("unsupported YAML: {}", e)))?;
            flatten(&json, origin)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_connector_with_numbers_lists_and_nesting() {
        let text = r#"
name: lines
config:
  connector.class: FileStreamSource
  tasks.max: 1
  file: /tmp/in.txt
  topics: [a, b]
  value.converter:
    schemas.enable: false
  errors.log.enable: true
"#;
        let c = parse_connector(text, Format::Yaml, "x.yaml").unwrap();
        assert_eq!(c.name, "lines");
        assert_eq!(c.config["tasks.max"], "1");
        assert_eq!(c.config["topics"], "a,b");
        assert_eq!(c.config["value.converter.schemas.enable"], "false");
        assert_eq!(c.config["errors.log.enable"], "true");
        assert_eq!(c.config["name"], "lines");
    }

    #[test]
    fn strimzi_resource() {
        let text = r#"
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaConnector
metadata:
  name: my-source
  labels:
    strimzi.io/cluster: my-connect
spec:
  class: org.apache.kafka.connect.file.FileStreamSourceConnector
  tasksMax: 2
  state: paused
  config:
    file: /opt/in.txt
    topic: t
"#;
        let c = parse_connector(text, Format::Yaml, "s.yaml").unwrap();
        assert_eq!(c.name, "my-source");
        assert_eq!(
            c.config["connector.class"],
            "org.apache.kafka.connect.file.FileStreamSourceConnector"
        );
        assert_eq!(c.config["tasks.max"], "2");
        assert_eq!(c.config["file"], "/opt/in.txt");
        assert_eq!(c.initial_state, Some(TargetState::Paused));
    }

    #[test]
    fn connect_json_and_properties() {
        let j = r#"{"name":"a","config":{"connector.class":"FileStreamSink","tasks.max":3,"topics":"t"}}"#;
        let c = parse_connector(j, Format::Json, "a.json").unwrap();
        assert_eq!(c.config["tasks.max"], "3");
        let p = "name=b\nconnector.class=FileStreamSink\n# comment\ntopics = t1,t2\nfile=/tmp/x\\\n.txt\n";
        let c = parse_connector(p, Format::Properties, "b.properties").unwrap();
        assert_eq!(c.name, "b");
        assert_eq!(c.config["topics"], "t1,t2");
        assert_eq!(c.config["file"], "/tmp/x.txt");
    }

    #[test]
    fn errors_name_the_origin_and_line() {
        let e = parse_connector("name: [oops\n", Format::Yaml, "bad.yaml").unwrap_err();
        assert_eq!(e.origin, "bad.yaml");
        assert!(e.message.contains("line"), "{}", e.message);
        let e = parse_connector("config: {a: 1}\n", Format::Yaml, "n.yaml").unwrap_err();
        assert!(e.message.contains("no \"name\""), "{}", e.message);
        let e = parse_connector(
            r#"{"name":"a","config":{"name":"b"}}"#,
            Format::Json,
            "m.json",
        )
        .unwrap_err();
        assert!(e.message.contains("differs"), "{}", e.message);
    }

    #[test]
    fn format_detection() {
        assert_eq!(Format::detect(Path::new("x"), "{\"a\":1}"), Format::Json);
        assert_eq!(
            Format::detect(Path::new("x"), "# c\nname=a\n"),
            Format::Properties
        );
        assert_eq!(Format::detect(Path::new("x"), "name: a\n"), Format::Yaml);
        assert_eq!(Format::detect(Path::new("x.yml"), "a=b"), Format::Yaml);
    }
}
