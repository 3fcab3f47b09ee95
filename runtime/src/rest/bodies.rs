//! JSON bodies of the REST API, field for field as Kafka Connect writes them.

use serde_json::{json, Map, Value as Json};

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
                    k, other
                ))
            }
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}
