//! `/connectors`: create, read, change, delete, status, lifecycle, offsets and topics.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Extension;
use axum::{Json as Body, Router};
use serde_json::{json, Map, Value as Json};

use super::bodies;
use super::error::{ApiError, JsonBody};
use super::{OverTls, RestState, RouteWithSlash};
use crate::config::files::TargetState;
use crate::config::secrets;
use crate::config::RawConfig;
use crate::herder::{connector_config_def, ConfigOrigin, ConnectorInfo, PutOptions};

type S = State<Arc<RestState>>;
type Result<T> = std::result::Result<T, ApiError>;

/// A config as the API shows it: secrets masked (see `config::secrets`). Connect
/// returns configs as they were submitted; Sluice never returns a secret.
fn shown_config(st: &RestState, raw: &RawConfig) -> RawConfig {
    secrets::mask(&connector_config_def(st.herder.plugins(), raw), raw)
}

fn shown(st: &RestState, mut info: ConnectorInfo) -> Json {
    info.config = shown_config(st, &info.config);
    bodies::connector_info(&info)
}

/// A config sent back with masked secrets keeps the stored secrets.
fn with_stored_secrets(st: &RestState, config: RawConfig, stored: &RawConfig) -> RawConfig {
    secrets::unmask(
        &connector_config_def(st.herder.plugins(), &config),
        config,
        stored,
    )
}

pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new()
        .route_both("/connectors", get(list).post(create))
        .route_both("/connectors/{name}", get(info).delete(delete))
        .route(
            "/connectors/{name}/config",
            get(config).put(put_config).patch(patch_config),
        )
        .route_both("/connectors/{name}/status", get(status))
        .route_both("/connectors/{name}/tasks", get(tasks))
        .route_both("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(restart_task),
        )
        .route_both("/connectors/{name}/restart", post(restart))
        .route_both("/connectors/{name}/pause", put(pause))
        .route_both("/connectors/{name}/resume", put(resume))
        .route_both("/connectors/{name}/stop", put(stop))
        .route(
            "/connectors/{name}/offsets",
            get(offsets).patch(alter_offsets).delete(reset_offsets),
        )
        .route_both("/connectors/{name}/topics", get(topics))
        .route_both("/connectors/{name}/topics/reset", put(reset_topics))
}

async fn list(State(st): S, Query(q): Query<Vec<(String, String)>>) -> Result<Body<Json>> {
    let names = st.herder.connector_names().await?;
    let expand: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.as_str())
        .collect();
    let with_status = expand.contains(&"status");
    let with_info = expand.contains(&"info");
    if !with_status && !with_info {
        return Ok(Body(json!(names)));
    }
    let mut out = Map::new();
    for n in names {
        let mut entry = Map::new();
        if with_status {
            if let Ok(s) = st.herder.status(&n).await {
                entry.insert("status".into(), bodies::connector_state(&s));
            }
        }
        if with_info {
            if let Ok(i) = st.herder.connector_info(&n).await {
                entry.insert("info".into(), shown(&st, i));
            }
        }
        out.insert(n, Json::Object(entry));
    }
    Ok(Body(Json::Object(out)))
}

/// 201 with the connector's absolute URL in `Location`, as Connect answers.
fn created(headers: &HeaderMap, tls: bool, name: &str, body: Json) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if tls { "https" } else { "http" };
    (
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("{}://{}/connectors/{}", scheme, host, name),
        )],
        Body(body),
    )
        .into_response()
}

async fn create(
    State(st): S,
    headers: HeaderMap,
    tls: Option<Extension<OverTls>>,
    JsonBody(body): JsonBody<Json>,
) -> Result<Response> {
    let bodies::CreateRequest {
        name,
        config,
        initial_state,
    } = bodies::parse_create(&body).map_err(ApiError::bad_request)?;
    let (_, info) = st
        .herder
        .put_connector(
            &name,
            config,
            ConfigOrigin::Api,
            PutOptions {
                create_only: true,
                initial_state,
            },
        )
        .await?;
    Ok(created(&headers, tls.is_some(), &name, shown(&st, info)))
}

async fn info(State(st): S, Path(name): Path<String>) -> Result<Body<Json>> {
    let info = st.herder.connector_info(&name).await?;
    Ok(Body(shown(&st, info)))
}

async fn delete(State(st): S, Path(name): Path<String>) -> Result<StatusCode> {
    st.herder.delete_connector(&name, ConfigOrigin::Api).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn config(State(st): S, Path(name): Path<String>) -> Result<Body<Json>> {
    let info = st.herder.connector_info(&name).await?;
    Ok(Body(json!(shown_config(&st, &info.config))))
}

async fn put_config(
    State(st): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    tls: Option<Extension<OverTls>>,
    JsonBody(body): JsonBody<Json>,
) -> Result<Response> {
    let mut config = bodies::config_map(&body).map_err(ApiError::bad_request)?;
    if let Ok(stored) = st.herder.connector_info(&name).await {
        config = with_stored_secrets(&st, config, &stored.config);
    }
    let (was_created, info) = st
        .herder
        .put_connector(
            &name,
            config,
            ConfigOrigin::Api,
            PutOptions {
                create_only: false,
                initial_state: None,
            },
        )
        .await?;
    let body = shown(&st, info);
    Ok(if was_created {
        created(&headers, tls.is_some(), &name, body)
    } else {
        (StatusCode::OK, Body(body)).into_response()
    })
}

async fn patch_config(
    State(st): S,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Json>,
) -> Result<Body<Json>> {
    let patch = bodies::parse_patch(&body).map_err(ApiError::bad_request)?;
    let stored = st.herder.connector_info(&name).await?.config;
    let mut config = stored.clone();
    for (k, v) in patch {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
    let config = with_stored_secrets(&st, config, &stored);
    let (_, info) = st
        .herder
        .put_connector(
            &name,
            config,
            ConfigOrigin::Api,
            PutOptions {
                create_only: false,
                initial_state: None,
            },
        )
        .await?;
    Ok(Body(shown(&st, info)))
}

async fn status(State(st): S, Path(name): Path<String>) -> Result<Body<Json>> {
    Ok(Body(bodies::connector_state(
        &st.herder.status(&name).await?,
    )))
}

async fn tasks(State(st): S, Path(name): Path<String>) -> Result<Body<Json>> {
    let tasks = st.herder.task_configs(&name).await?;
    Ok(Body(json!(tasks
        .iter()
        .map(|(id, cfg)| json!({"id": {"connector": id.connector, "task": id.task}, "config": shown_config(&st, cfg)}))
        .collect::<Vec<_>>())))
}

fn task_id(name: &str, task: &str) -> Result<u32> {
    task.parse()
        .map_err(|_| ApiError::not_found(format!("Task {}-{} not found", name, task)))
}

async fn task_status(
    State(st): S,
    Path((name, task)): Path<(String, String)>,
) -> Result<Body<Json>> {
    let t = task_id(&name, &task)?;
    Ok(Body(bodies::task_state(
        t,
        &st.herder.task_status(&name, t).await?,
    )))
}

async fn restart_task(
    State(st): S,
    Path((name, task)): Path<(String, String)>,
) -> Result<StatusCode> {
    let t = task_id(&name, &task)?;
    st.herder.restart_task(&name, t).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn flag(q: &[(String, String)], key: &str) -> Result<bool> {
    match q
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_ascii_lowercase())
    {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ApiError::bad_request(format!(
            "Invalid value {} for query parameter {}: expected true or false",
            v, key
        ))),
    }
}

async fn restart(
    State(st): S,
    Path(name): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response> {
    let include_tasks = flag(&q, "includeTasks")?;
    let only_failed = flag(&q, "onlyFailed")?;
    let planned = st
        .herder
        .restart_connector(&name, include_tasks, only_failed)
        .await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((
        StatusCode::ACCEPTED,
        Body(bodies::connector_state(&planned)),
    )
        .into_response())
}

async fn pause(State(st): S, Path(name): Path<String>) -> Result<StatusCode> {
    st.herder.set_target(&name, TargetState::Paused).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn resume(State(st): S, Path(name): Path<String>) -> Result<StatusCode> {
    st.herder.set_target(&name, TargetState::Running).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn stop(State(st): S, Path(name): Path<String>) -> Result<StatusCode> {
    st.herder.set_target(&name, TargetState::Stopped).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn offsets(State(st): S, Path(name): Path<String>) -> Result<Body<Json>> {
    Ok(Body(bodies::offsets(&st.herder.offsets(&name).await?)))
}

async fn alter_offsets(
    State(st): S,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Json>,
) -> Result<Body<Json>> {
    // Unknown connector first, as Connect does.
    st.herder.connector_info(&name).await?;
    let entries = bodies::parse_offsets(&body).map_err(ApiError::bad_request)?;
    let message = st.herder.alter_offsets(&name, entries).await?;
    Ok(Body(json!({ "message": message })))
}

async fn reset_offsets(State(st): S, Path(name): Path<String>) -> Result<Body<Json>> {
    let message = st.herder.reset_offsets(&name).await?;
    Ok(Body(json!({ "message": message })))
}

/// Connect's 403 when the worker has `topic.tracking.enable=false` (checked before the
/// connector is looked up, as Connect does), or for a reset with
/// `topic.tracking.allow.reset=false`.
fn check_topic_tracking(st: &RestState, reset: bool) -> Result<()> {
    let config = st.herder.worker_config();
    if !config.topic_tracking {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Topic tracking is disabled.",
        ));
    }
    if reset && !config.topic_tracking_reset {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Topic tracking reset is disabled.",
        ));
    }
    Ok(())
}

async fn topics(State(st): S, Path(name): Path<String>) -> Result<Body<Json>> {
    check_topic_tracking(&st, false)?;
    let topics = st.herder.active_topics(&name).await?;
    Ok(Body(json!({ name: {"topics": topics} })))
}

async fn reset_topics(State(st): S, Path(name): Path<String>) -> Result<StatusCode> {
    check_topic_tracking(&st, true)?;
    st.herder.reset_active_topics(&name).await?;
    Ok(StatusCode::ACCEPTED)
}
