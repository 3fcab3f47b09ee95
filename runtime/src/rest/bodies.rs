//! JSON bodies of the REST API, field for field as Kafka Connect writes them, and the
//! request bodies the handlers read (what `fuzz/fuzz_targets/rest_bodies.rs` exercises).
//!
//! Request bodies are parsed by axum's `Json` extractor, that is serde_json, which
//! refuses arrays and objects nested 128 levels deep or more (a 400) before anything
//! here looks at them; nothing here recurses. Values quoted back in error messages are
//! cut to [`QUOTED_VALUE_CHARS`] characters.

use serde_json::{json, Map, Value as Json};

use crate::config::files::TargetState;
use crate::config::{ConfigKey, RawConfig};
use crate::connector_config::PLUGIN_VERSION;
use crate::herder::{ConnectorInfo, ConnectorStateInfo, OffsetEntry, ValidationReport};
use crate::status::Status;

/// `{name, config, tasks: [{connector, task}], type}`.
pub fn connector_info(info: &ConnectorInfo) -> Json {
    json!({
        "name": info.name,
        "config": info.config,
        "tasks": info.tasks.iter().map(|t| json!({"connector": t.connector, "task": t.task})).collect::<Vec<_>>(),
        "type": info.kind.map(|k| k.name()).unwrap_or("unknown"),
    })
}

fn state(s: &Status) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("state".into(), json!(s.state.name()));
    m.insert("worker_id".into(), json!(s.worker_id));
    if let Some(t) = s.trace.as_ref().filter(|t| !t.is_empty()) {
        m.insert("trace".into(), json!(t));
    }
    // Sluice: what a running task is doing (e.g. retrying a lost connection).
    if let Some(d) = &s.detail {
        m.insert("detail".into(), json!(d));
    }
    m
}

/// `{id, state, worker_id, version, trace?}`.
pub fn task_state(id: u32, s: &Status) -> Json {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.extend(state(s));
    m.insert("version".into(), json!(PLUGIN_VERSION));
    Json::Object(m)
}

/// `{name, connector: {state, worker_id, trace?}, tasks: [...], type}`.
pub fn connector_state(info: &ConnectorStateInfo) -> Json {
    let mut connector = state(&info.connector);
    if info.kind.is_some() {
        // Connect 4 (KIP-891): the version of the plugin that runs.
        connector.insert("version".into(), json!(PLUGIN_VERSION));
    }
    if let Some(e) = &info.config_error {
        connector.insert("config_error".into(), json!(e));
    }
    json!({
        "name": info.name,
        "connector": connector,
        "tasks": info.tasks.iter().map(|(id, s)| task_state(*id, s)).collect::<Vec<_>>(),
        "type": info.kind.map(|k| k.name()).unwrap_or("unknown"),
    })
}

/// Connect's `ConfigKeyInfo`. `position` is the key's place among its group's keys,
/// used when the key declares no `order_in_group` of its own.
pub fn key_definition(k: &ConfigKey, position: i32) -> Json {
    let order = match (&k.group, k.order_in_group) {
        (_, Some(o)) => o,
        (Some(_), None) => position,
        (None, None) => -1,
    };
    json!({
        "name": k.name,
        "type": k.kind.name(),
        "required": k.required(),
        "default_value": k.default_string(),
        "importance": k.importance.name(),
        "documentation": k.doc,
        "group": k.group,
        "order_in_group": order,
        "width": k.width.name(),
        "display_name": k.display_name.clone().unwrap_or_else(|| k.name.clone()),
        "dependents": Vec::<String>::new(),
    })
}

/// Each key's place among the keys of its group (1-based), in declaration order.
pub fn group_positions<'a>(keys: impl Iterator<Item = &'a ConfigKey>) -> Vec<i32> {
    let mut counts: std::collections::HashMap<Option<String>, i32> = Default::default();
    keys.map(|k| {
        let n = counts.entry(k.group.clone()).or_insert(0);
        *n += 1;
        *n
    })
    .collect()
}

/// Connect's `ConfigInfos`.
pub fn validation(report: &ValidationReport) -> Json {
    let positions = group_positions(report.configs.iter().map(|c| &c.key));
    let configs: Vec<Json> = report
        .configs
        .iter()
        .zip(positions)
        .map(|(c, position)| {
            json!({
                "definition": key_definition(&c.key, position),
                "value": {
                    "name": c.key.name,
                    "value": c.value,
                    "recommended_values": c.recommended_values,
                    "errors": c.errors,
                    "visible": true,
                }
            })
        })
        .collect();
    let mut body = json!({
        "name": report.name,
        "error_count": report.error_count,
        "groups": report.groups,
        "configs": configs,
    });
    // Sluice: keys nothing reads, only when there are some (Connect has no such field).
    if !report.warnings.is_empty() {
        body["warnings"] = report
            .warnings
            .iter()
            .map(|w| json!({"key": w.key, "message": w.message}))
            .collect();
    }
    body
}

/// `{"offsets": [{"partition": {...}, "offset": {...}}]}`.
pub fn offsets(entries: &[OffsetEntry]) -> Json {
    json!({
        "offsets": entries.iter().map(|e| json!({"partition": e.partition, "offset": e.offset})).collect::<Vec<_>>()
    })
}

/// Parses a PATCH offsets body.
pub fn parse_offsets(body: &Json) -> Result<Vec<OffsetEntry>, String> {
    let list = body
        .get("offsets")
        .and_then(Json::as_array)
        .ok_or("Partitions / offsets need to be provided for an alter offsets request")?;
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let partition = item
            .get("partition")
            .and_then(Json::as_object)
            .ok_or_else(|| {
                format!(
                    "offsets[{}]: the partition must be a JSON object and may not be null",
                    i
                )
            })?
            .clone();
        let offset = match item.get("offset") {
            None | Some(Json::Null) => None,
            Some(Json::Object(o)) => Some(o.clone()),
            Some(_) => {
                return Err(format!(
                    "offsets[{}]: the offset must be a JSON object or null",
                    i
                ))
            }
        };
        out.push(OffsetEntry { partition, offset });
    }
    Ok(out)
}

/// The most characters of a rejected value quoted back in an error message.
pub const QUOTED_VALUE_CHARS: usize = 100;

/// A JSON value as text for an error message, cut to [`QUOTED_VALUE_CHARS`] characters.
pub fn quote_value(v: &Json) -> String {
    let text = v.to_string();
    match text.char_indices().nth(QUOTED_VALUE_CHARS) {
        Some((i, _)) => format!("{}... ({} bytes)", &text[..i], text.len()),
        None => text,
    }
}

/// Parses a request body as axum's `Json` extractor does (serde_json, with its nesting
/// limit).
pub fn parse_body(bytes: &[u8]) -> Result<Json, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("Invalid request body: {}", e))
}

/// A `POST /connectors` body.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRequest {
    /// The connector name, trimmed; never empty.
    pub name: String,
    pub config: RawConfig,
    pub initial_state: Option<TargetState>,
}

/// Parses a `POST /connectors` body: `{"name": ..., "config": {...}, "initial_state": ...}`.
pub fn parse_create(body: &Json) -> Result<CreateRequest, String> {
    let obj = body
        .as_object()
        .ok_or("The request body must be a JSON object with name and config")?;
    for k in obj.keys() {
        if !matches!(k.as_str(), "name" | "config" | "initial_state") {
            return Err(format!(
                "Unrecognized field \"{}\" (expected name, config, initial_state)",
                shorten(k)
            ));
        }
    }
    let name = obj
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let config = obj
        .get("config")
        .ok_or_else(|| "The request body has no \"config\" object".to_string())
        .and_then(config_map)?;
    let initial_state = parse_state(obj.get("initial_state"))?;
    if name.is_empty() {
        return Err("Connector configuration is invalid and contains the following 1 error(s):\nInvalid value  for configuration name: String may not be empty\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`".into());
    }
    Ok(CreateRequest {
        name,
        config,
        initial_state,
    })
}

/// Parses an `initial_state`: absent or null, or `RUNNING`, `PAUSED`, `STOPPED`.
pub fn parse_state(v: Option<&Json>) -> Result<Option<TargetState>, String> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => TargetState::parse(s).map(Some).ok_or_else(|| {
            format!(
                "Invalid initial_state {}: must be one of RUNNING, PAUSED, STOPPED",
                shorten(s)
            )
        }),
        Some(other) => Err(format!("Invalid initial_state {}", quote_value(other))),
    }
}

/// Parses a `PATCH /connectors/{name}/config` body into the changes it asks for: a
/// string, number or boolean sets the key (`Some`), a null removes it (`None`).
pub fn parse_patch(body: &Json) -> Result<Vec<(String, Option<String>)>, String> {
    let patch = body.as_object().ok_or("The patch must be a JSON object")?;
    let mut out = Vec::with_capacity(patch.len());
    for (k, v) in patch {
        let value = match v {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            other => {
                return Err(format!(
                    "config key {} must have a string value or null, not {}",
                    shorten(k),
                    quote_value(other)
                ))
            }
        };
        out.push((k.clone(), value));
    }
    Ok(out)
}

/// A key or name cut for an error message.
fn shorten(s: &str) -> String {
    quote_value(&Json::String(s.to_string()))
        .trim_matches('"')
        .to_string()
}

/// A config map from a JSON object, values written as the strings Connect would see.
pub fn config_map(v: &Json) -> Result<RawConfig, String> {
    let obj = v
        .as_object()
        .ok_or("the connector config must be a JSON object of keys to values")?;
    let mut out = RawConfig::new();
    for (k, val) in obj {
        let s = match val {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Null => continue,
            other => {
                return Err(format!(
                    "config key {} must have a string value, not {}",
                    shorten(k),
                    quote_value(other)
                ))
            }
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_parse_as_the_handlers_need() {
        let body = parse_body(
            br#"{"name":" a ","config":{"tasks.max":2,"x":null,"ok":true},"initial_state":"paused"}"#,
        )
        .unwrap();
        let c = parse_create(&body).unwrap();
        assert_eq!(c.name, "a");
        assert_eq!(c.config["tasks.max"], "2");
        assert_eq!(c.config["ok"], "true");
        assert!(!c.config.contains_key("x"));
        assert_eq!(c.initial_state, Some(TargetState::Paused));
        for (body, want) in [
            (json!([]), "must be a JSON object"),
            (json!({"name": "a"}), "no \"config\" object"),
            (
                json!({"name": "a", "config": {}, "x": 1}),
                "Unrecognized field \"x\"",
            ),
            (
                json!({"name": " ", "config": {}}),
                "String may not be empty",
            ),
            (
                json!({"name": "a", "config": {}, "initial_state": "gone"}),
                "must be one of",
            ),
            (
                json!({"name": "a", "config": {"k": [1]}}),
                "must have a string value",
            ),
        ] {
            let e = parse_create(&body).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let patch = parse_patch(&json!({"a": "1", "b": null, "c": 3})).unwrap();
        assert_eq!(
            patch,
            vec![
                ("a".to_string(), Some("1".to_string())),
                ("b".to_string(), None),
                ("c".to_string(), Some("3".to_string()))
            ]
        );
        assert!(parse_patch(&json!("x")).is_err());
    }

    #[test]
    fn hostile_bodies_are_refused_briefly() {
        // Nesting: serde_json stops at 128 levels, without recursing further.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_body(deep.as_bytes()).unwrap_err();
        assert!(e.contains("recursion limit exceeded"), "{e}");
        // A large rejected value is quoted in part only.
        let big = json!({"name": "a", "config": {"k": {"v": "x".repeat(1_000_000)}}});
        let e = parse_create(&big).unwrap_err();
        assert!(e.len() < 400, "{} bytes", e.len());
        assert!(e.contains("... (1000008 bytes)"), "{e}");
        let e = parse_patch(&json!({"k".repeat(10_000): [1]})).unwrap_err();
        assert!(e.len() < 500, "{} bytes", e.len());
        let e = parse_state(Some(&json!("s".repeat(10_000)))).unwrap_err();
        assert!(e.len() < 500, "{} bytes", e.len());
    }
}
