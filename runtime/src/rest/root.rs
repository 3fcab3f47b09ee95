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
use crate::logging::{check_level_change, SetLevelError};

type S = State<Arc<RestState>>;

pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new()
        .route_both("/", get(root))
        .route_both("/health", get(health))
        .route_both("/admin/loggers", get(loggers))
        .route_both("/admin/loggers/{name}", get(logger).put(set_logger))
}

/// The Kafka Connect release whose REST API Sluice implements (and is tested against).
pub const CONNECT_API_VERSION: &str = "4.3.1";

/// What `GET /` reports as `version`: `<Connect version>-sluice-<Sluice version>`, so
/// Connect clients that parse `major.minor` from it (kcctl refuses stop, offsets and
/// cluster-scoped log levels below 3.5–3.7) see the API level Sluice serves.
pub fn reported_version() -> String {
    format!(
        "{}-sluice-{}",
        CONNECT_API_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

async fn root(State(st): S) -> Body<Json> {
    let cluster = st.cluster_id().await;
    Body(json!({
        "version": reported_version(),
        "sluice_version": env!("CARGO_PKG_VERSION"),
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
    let level = check_level_change(&name, level).map_err(level_error)?;
    // As Connect: `scope` is `worker` (the default) or `cluster`; anything else is
    // taken as `worker`, with a warning.
    let scope = q
        .iter()
        .rev()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.to_ascii_lowercase());
    let cluster = match scope.as_deref() {
        None | Some("worker") => false,
        Some("cluster") => true,
        Some(other) => {
            tracing::warn!(scope = %other.escape_debug(), "unknown scope in a log level change; using scope=worker");
            false
        }
    };
    if cluster && st.herder.set_cluster_logger_level(&name, &level).await? {
        tracing::info!(logger = %name, level = %level, "log level stored for the cluster");
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let affected = st.log.set(&name, &level, now_ms()).map_err(level_error)?;
    tracing::info!(logger = %name, level = %level, "log level changed");
    if cluster {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Body(json!(affected)).into_response())
}

fn level_error(e: SetLevelError) -> ApiError {
    match e {
        SetLevelError::InvalidName(m) => ApiError::bad_request(m),
        // Connect answers 404 for an unknown level.
        SetLevelError::InvalidLevel(m) => ApiError::not_found(m),
        SetLevelError::Reload(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
