//! `/`, `/health` and `/admin/loggers`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json as Body, Router};
use serde_json::{json, Map, Value as Json};

use super::error::{ApiError, JsonBody};
use super::{RestState, RouteWithSlash};
use crate::logging::SetLevelError;

type S = State<Arc<RestState>>;

pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new()
        .route_both("/", get(root))
        .route_both("/health", get(health))
        .route_both("/admin/loggers", get(loggers))
        .route_both("/admin/loggers/{name}", get(logger).put(set_logger))
}

async fn root(State(st): S) -> Body<Json> {
    let cluster = st.cluster_id().await;
    Body(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("SLUICE_GIT_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": cluster,
    }))
}

async fn health(State(st): S) -> Response {
    if st.herder.is_ready() {
        (StatusCode::OK, Body(json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Body(json!({"status": "starting", "message": "Worker is still starting up."})),
        )
            .into_response()
    }
}

fn level_json(l: &crate::logging::LoggerLevel) -> Json {
    json!({"level": l.level, "last_modified": l.last_modified})
}

async fn loggers(State(st): S) -> Body<Json> {
    let mut out = Map::new();
    for (name, l) in st.log.levels() {
        if l.level != "OFF" {
            out.insert(name, level_json(&l));
        }
    }
    Body(Json::Object(out))
}

async fn logger(State(st): S, Path(name): Path<String>) -> Result<Body<Json>, ApiError> {
    st.log
        .level(&name)
        .map(|l| Body(level_json(&l)))
        .ok_or_else(|| ApiError::not_found(format!("Logger {} not found.", name)))
}

async fn set_logger(
    State(st): S,
    Path(name): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    JsonBody(body): JsonBody<Json>,
) -> Result<Response, ApiError> {
    let level = body.get("level").and_then(Json::as_str).ok_or_else(|| {
        ApiError::bad_request("Desired 'level' parameter was not specified in request.")
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let affected = st.log.set(&name, level, now).map_err(|e| match e {
        SetLevelError::InvalidName(m) => ApiError::bad_request(m),
        // Connect answers 404 for an unknown level.
        SetLevelError::InvalidLevel(m) => ApiError::not_found(m),
        SetLevelError::Reload(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m),
    })?;
    tracing::info!(logger = %name, level = %level, "log level changed");
    let cluster_scope = q
        .iter()
        .any(|(k, v)| k == "scope" && v.eq_ignore_ascii_case("cluster"));
    if cluster_scope {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Body(json!(affected)).into_response())
}
