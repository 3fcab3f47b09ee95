//! Reading connector and worker configs from files: YAML, Java `.properties`, Connect's
//! JSON (`{"name":..., "config":{...}}`) and Strimzi `KafkaConnector` resources.
//!
//! Every value becomes the string Connect would see: YAML numbers and booleans are
//! written out (`tasks.max: 2` is `"2"`), YAML lists are joined with commas, and nested
//! maps are flattened with dots (`key.converter: {schemas.enable: false}` is
//! `key.converter.schemas.enable=false`).
//!
//! Limits, so that no file can exhaust the stack or the memory: a config file has at
//! most [`MAX_FILE_BYTES`]; its maps and lists nest at most [`MAX_DEPTH`] levels; and
//! what it expands to (YAML aliases resolved, nested keys flattened) is at most
//! [`MAX_EXPANDED_BYTES`]. Each is a config error naming the file.

mod yaml;

use std::io::Read;
use std::path::Path;

use serde_json::Value as Json;

use super::RawConfig;

/// The largest config file (connector or worker) read, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The deepest nesting of maps and lists in a YAML or JSON config (the top-level map is
/// level 1).
pub const MAX_DEPTH: usize = 64;

/// The most a config may expand to, in bytes: YAML aliases resolved and nested keys
/// flattened into dotted ones (a guard against "billion laughs" alias bombs).
pub const MAX_EXPANDED_BYTES: usize = 8 * 1024 * 1024;

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

/// Reads a config file as text: at most [`MAX_FILE_BYTES`] (a larger file is an error
/// and is not read further) of UTF-8.
pub fn read_config_file(path: &Path) -> Result<String, FileError> {
    let origin = path.display().to_string();
    let cannot =
        |e: std::io::Error| FileError::new(&origin, format!("cannot read the file: {}", e));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    check_size(bytes.len(), &origin)?;
    String::from_utf8(bytes).map_err(|_| FileError::new(&origin, "the file is not UTF-8 text"))
}

fn check_size(len: usize, origin: &str) -> Result<(), FileError> {
    if len > MAX_FILE_BYTES {
        return Err(FileError::new(
            origin,
            format!(
                "the config is larger than {} bytes, the most a config file may have",
                MAX_FILE_BYTES
            ),
        ));
    }
    Ok(())
}

/// Reads a connector config file.
pub fn load_connector_file(path: &Path) -> Result<ConnectorFile, FileError> {
    let origin = path.display().to_string();
    let text = read_config_file(path)?;
    parse_connector(&text, Format::detect(path, &text), &origin)
}

/// Parses a connector config in any supported format.
pub fn parse_connector(
    text: &str,
    format: Format,
    origin: &str,
) -> Result<ConnectorFile, FileError> {
    check_size(text.len(), origin)?;
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
        Format::Yaml => connector_from_json(&yaml::to_json(text, origin)?, origin),
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

/// Flattens a map into dotted keys with string values. Maps nested more than
/// [`MAX_DEPTH`] levels, or keys and values adding up to more than
/// [`MAX_EXPANDED_BYTES`], are errors.
pub fn flatten(doc: &Json, origin: &str) -> Result<RawConfig, FileError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| FileError::new(origin, "the config must be a map of keys to values"))?;
    let mut f = Flattener {
        out: RawConfig::new(),
        bytes: 0,
        origin,
    };
    for (k, v) in obj {
        f.add(k, v, 1)?;
    }
    Ok(f.out)
}

/// The config [`flatten`] builds, and how many bytes it holds.
struct Flattener<'a> {
    out: RawConfig,
    bytes: usize,
    origin: &'a str,
}

impl Flattener<'_> {
    /// Adds `v` under `key`; `depth` is the level of the map holding it.
    fn add(&mut self, key: &str, v: &Json, depth: usize) -> Result<(), FileError> {
        match v {
            Json::Null => {}
            Json::Object(m) => {
                self.check_depth(key, depth)?;
                for (k, inner) in m {
                    self.add(&format!("{}.{}", key, k), inner, depth + 1)?;
                }
            }
            Json::Array(items) => {
                self.check_depth(key, depth)?;
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    parts.push(scalar_string(item).ok_or_else(|| {
                        FileError::new(
                            self.origin,
                            format!("key {}: list items must be plain values", shorten(key)),
                        )
                    })?);
                }
                self.insert(key, parts.join(","))?;
            }
            other => self.insert(key, scalar_string(other).unwrap_or_default())?,
        }
        Ok(())
    }

    /// A map or list under `key` in a map at `depth` is at `depth + 1`.
    fn check_depth(&self, key: &str, depth: usize) -> Result<(), FileError> {
        if depth >= MAX_DEPTH {
            return Err(FileError::new(
                self.origin,
                format!(
                    "key {}: maps and lists nest more than {} levels deep",
                    shorten(key),
                    MAX_DEPTH
                ),
            ));
        }
        Ok(())
    }

    fn insert(&mut self, key: &str, value: String) -> Result<(), FileError> {
        self.bytes = self.bytes.saturating_add(key.len() + value.len());
        if self.bytes > MAX_EXPANDED_BYTES {
            return Err(FileError::new(
                self.origin,
                format!(
                    "the config's keys and values add up to more than {} bytes once nested keys are flattened",
                    MAX_EXPANDED_BYTES
                ),
            ));
        }
        insert_unique(&mut self.out, key, value, self.origin)
    }
}

/// A key cut to its first 200 characters for a message.
fn shorten(key: &str) -> String {
    match key.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &key[..i]),
        None => key.to_string(),
    }
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
            format!("key {} is set twice (once nested, once flat)", shorten(key)),
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
    let text = read_config_file(path)?;
    parse_worker(&text, Format::detect(path, &text), &origin)
}

/// Parses a worker config in any supported format.
pub fn parse_worker(text: &str, format: Format, origin: &str) -> Result<RawConfig, FileError> {
    check_size(text.len(), origin)?;
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
            flatten(&yaml::to_json(text, origin)?, origin)
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

    fn nested_yaml(levels: usize) -> String {
        // name: n / config: {a: {a: ... {a: 1}}} in flow style.
        format!(
            "name: n\nconfig: {}1{}\n",
            "{a: ".repeat(levels),
            "}".repeat(levels)
        )
    }

    #[test]
    fn deep_yaml_is_a_config_error() {
        // The document's own map and 63 nested ones: 64 levels.
        let c = parse_connector(&nested_yaml(63), Format::Yaml, "ok.yaml").unwrap();
        assert_eq!(c.config[&format!("a{}", ".a".repeat(62))], "1");
        // Up to the most a file may have: libyaml's time grows with the square of the
        // flow nesting, so the check must stop early.
        for levels in [64, 1_000, 100_000, 200_000] {
            let started = std::time::Instant::now();
            let e = parse_connector(&nested_yaml(levels), Format::Yaml, "deep.yaml").unwrap_err();
            assert_eq!(e.origin, "deep.yaml");
            assert!(
                e.message.contains("more than 64 levels deep"),
                "{}",
                e.message
            );
            assert!(e.message.contains("at line 2"), "{}", e.message);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{levels} levels: {:?}",
                started.elapsed()
            );
        }
        // Aliases nest too: 40 levels under an alias of 40 levels.
        let forty = |v: &str| format!("{}{v}{}", "{a: ".repeat(40), "}".repeat(40));
        let doc = format!(
            "name: n\ndeep: &d {}\nconfig: {}\n",
            forty("1"),
            forty("*d")
        );
        let e = parse_connector(&doc, Format::Yaml, "alias.yaml").unwrap_err();
        assert!(
            e.message.contains("more than 64 levels deep"),
            "{}",
            e.message
        );
        let block = "name: n\nconfig:\n".to_string()
            + &(1..200)
                .map(|i| format!("{}k{}:\n", " ".repeat(i * 2), i))
                .collect::<String>();
        let e = parse_connector(&block, Format::Yaml, "block.yaml").unwrap_err();
        assert!(
            e.message.contains("more than 64 levels deep"),
            "{}",
            e.message
        );
        let e = parse_worker(&"[".repeat(1_000_000), Format::Yaml, "w.yaml").unwrap_err();
        assert!(
            e.message.contains("more than 64 levels deep") || e.message.contains("invalid YAML"),
            "{}",
            e.message
        );
    }

    #[test]
    fn yaml_alias_bombs_are_config_errors() {
        // Billion laughs: ten levels of ten aliases each.
        let mut doc =
            String::from("name: n\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let p = format!("*a{}", i - 1);
            doc += &format!("a{i}: &a{i} [{}]\n", [p.as_str(); 10].join(", "));
        }
        doc += "config:\n  x: *a9\n";
        let started = std::time::Instant::now();
        let e = parse_connector(&doc, Format::Yaml, "bomb.yaml").unwrap_err();
        assert!(
            e.message.contains("once its aliases are resolved"),
            "{}",
            e.message
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        // A large string repeated through aliases.
        let big = "x".repeat(500_000);
        let doc = format!(
            "name: n\nbig: &big {big}\nconfig:\n  list: [{}]\n",
            ["*big"; 100].join(", ")
        );
        let e = parse_connector(&doc, Format::Yaml, "strings.yaml").unwrap_err();
        assert!(
            e.message.contains("once its aliases are resolved"),
            "{}",
            e.message
        );
        // A few aliases are fine.
        let doc = "name: n\nconfig:\n  topic: &t lines\n  transforms.r.replacement: *t\n";
        let c = parse_connector(doc, Format::Yaml, "fine.yaml").unwrap();
        assert_eq!(c.config["transforms.r.replacement"], "lines");
    }

    #[test]
    fn flattening_is_bounded_in_depth_and_size() {
        // JSON: serde_json accepts up to 127 levels, the config at most 64.
        let deep = format!(
            "{{\"name\":\"n\",\"config\":{}1{}}}",
            "{\"a\":".repeat(100),
            "}".repeat(100)
        );
        let e = parse_connector(&deep, Format::Json, "d.json").unwrap_err();
        assert!(
            e.message.contains("more than 64 levels deep"),
            "{}",
            e.message
        );
        let e = parse_connector(&"[".repeat(100_000), Format::Json, "e.json").unwrap_err();
        assert!(e.message.contains("recursion limit"), "{}", e.message);
        // A long key prefix repeated by many nested keys.
        let prefix = "p".repeat(400_000);
        let inner: Vec<String> = (0..100).map(|i| format!("\"k{i}\":1")).collect();
        let wide = format!(
            "{{\"name\":\"n\",\"config\":{{\"{prefix}\":{{{}}}}}}}",
            inner.join(",")
        );
        let e = parse_connector(&wide, Format::Json, "w.json").unwrap_err();
        assert!(e.message.contains("add up to more than"), "{}", e.message);
    }

    #[test]
    fn files_larger_than_the_limit_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        let mut text = String::from("name: n\nconfig:\n  connector.class: FileStreamSink\n");
        text += &format!("  comment: {}\n", "x".repeat(MAX_FILE_BYTES));
        std::fs::write(&path, &text).unwrap();
        let e = load_connector_file(&path).unwrap_err();
        assert!(
            e.message.contains("larger than 1048576 bytes"),
            "{}",
            e.message
        );
        assert!(e.origin.ends_with("big.yaml"));
        let e = parse_connector(&text, Format::Yaml, "t.yaml").unwrap_err();
        assert!(e.message.contains("larger than"), "{}", e.message);
        std::fs::write(&path, b"name: \xff\n").unwrap();
        let e = load_connector_file(&path).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{}", e.message);
    }
}
