//! `/connector-plugins`: list plugins, show a plugin's keys, validate a config.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::{get, put};
use axum::{Json as Body, Router};
use serde_json::{json, Value as Json};

use super::bodies;
use super::error::{ApiError, JsonBody};
use super::{RestState, RouteWithSlash};
use crate::config::ConfigDef;
use crate::connector_config::common_config_def;
use crate::convert::converter_plugins;
use crate::transforms::{predicate_plugins, transform_plugins};

type S = State<Arc<RestState>>;

pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new()
        .route_both("/connector-plugins", get(list))
        .route_both("/connector-plugins/{plugin}/config", get(config))
        .route_both("/connector-plugins/{plugin}/config/validate", put(validate))
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

async fn list(
    State(st): S,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Body<Json>, ApiError> {
    let connectors_only = match q
        .iter()
        .rev()
        .find(|(k, _)| k == "connectorsOnly")
        .map(|(_, v)| v.to_ascii_lowercase())
    {
        None => true,
        Some(v) if v == "false" => false,
        Some(v) if v == "true" => true,
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "Invalid value {} for connectorsOnly: expected true or false",
                v
            )))
        }
    };
    let mut out: Vec<Json> = st
        .herder
        .plugins()
        .connectors()
        .iter()
        .map(|p| json!({"class": p.class, "type": p.kind().name(), "version": p.version}))
        .collect();
    if !connectors_only {
        for t in transform_plugins() {
            out.push(json!({"class": t.class, "type": "transformation", "version": VERSION}));
        }
        for p in predicate_plugins() {
            out.push(json!({"class": p.class, "type": "predicate", "version": VERSION}));
        }
        for c in converter_plugins() {
            if c.create.is_some() {
                out.push(json!({"class": c.class, "type": "converter", "version": VERSION}));
            }
            if c.create_header.is_some() {
                out.push(json!({"class": c.class, "type": "header_converter", "version": VERSION}));
            }
        }
    }
    Ok(Body(json!(out)))
}

/// The keys of any plugin by name (connector, transform, predicate or converter). For
/// a connector, as Connect lists them: its own keys, then the common connector keys.
fn plugin_def(st: &RestState, name: &str) -> Option<ConfigDef> {
    if let Some(p) = st.herder.plugins().find_connector(name) {
        return Some((p.config_def)().merge(&common_config_def(Some(p.kind()))));
    }
    if let Some(t) = crate::transforms::find_transform(name) {
        return Some((t.config_def)());
    }
    if let Some(p) = crate::transforms::find_predicate(name) {
        return Some((p.config_def)());
    }
    crate::convert::find_converter(name).map(|c| (c.config_def)())
}

async fn config(State(st): S, Path(plugin): Path<String>) -> Result<Body<Json>, ApiError> {
    let def = plugin_def(&st, &plugin)
        .ok_or_else(|| ApiError::not_found(format!("Unknown plugin {}.", plugin)))?;
    let positions = bodies::group_positions(def.keys().iter());
    Ok(Body(json!(def
        .keys()
        .iter()
        .zip(positions)
        .map(|(k, position)| bodies::key_definition(k, position))
        .collect::<Vec<_>>())))
}

/// Connect compares names without a `Connector` suffix.
fn normalized(name: &str) -> String {
    let simple = name.rsplit('.').next().unwrap_or(name);
    simple
        .strip_suffix("Connector")
        .unwrap_or(simple)
        .to_ascii_lowercase()
}

async fn validate(
    State(st): S,
    Path(plugin): Path<String>,
    JsonBody(body): JsonBody<Json>,
) -> Result<Body<Json>, ApiError> {
    let mut config = bodies::config_map(&body).map_err(ApiError::bad_request)?;
    match config.get("connector.class") {
        Some(class) => {
            let same = match (
                st.herder.plugins().find_connector(class),
                st.herder.plugins().find_connector(&plugin),
            ) {
                (Some(a), Some(b)) => a.class == b.class,
                _ => normalized(class).ends_with(&normalized(&plugin)),
            };
            if !same {
                return Err(ApiError::bad_request(format!(
                    "Included connector type {} does not match request type {}",
                    class, plugin
                )));
            }
        }
        None => {
            config.insert("connector.class".into(), plugin.clone());
        }
    }
    if st.herder.plugins().find_connector(&plugin).is_none() {
        return Err(ApiError::bad_request(format!(
            "Failed to find any class that implements Connector and which name matches {}",
            plugin
        )));
    }
    let report = st.herder.validate(config).await;
    Ok(Body(bodies::validation(&report)))
}
