//! The REST API, compatible with Kafka Connect's: same paths, bodies, status codes and
//! error shape `{"error_code", "message"}`, so scripts, UIs and CLIs written for
//! Connect work. Plus `GET /metrics` in Prometheus format.

mod access_log;
mod auth;
pub mod bodies;
mod connectors;
mod console;
mod error;
mod metrics;
mod plugins;
mod root;
mod tap;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::sync::OnceCell;

pub use auth::Auth;
pub use error::ApiError;
pub use metrics::{render as render_metrics, RateSampler};

use crate::config::split_list;
use crate::config::worker::{parse_listener, WorkerConfig};
use crate::herder::Herder;
use crate::logging::LogControl;

/// Routes that also answer with a trailing slash (`/connectors/`), as Connect's Jersey
/// does; clients such as kcctl call both forms.
pub(crate) trait RouteWithSlash<S> {
    fn route_both(self, path: &str, method_router: axum::routing::MethodRouter<S>) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouteWithSlash<S> for Router<S> {
    fn route_both(self, path: &str, method_router: axum::routing::MethodRouter<S>) -> Self {
        if path == "/" {
            return self.route(path, method_router);
        }
        self.route(path, method_router.clone())
            .route(&format!("{}/", path), method_router)
    }
}

/// Marks requests that came in over TLS (for absolute URLs in `Location`).
#[derive(Clone, Copy)]
pub(crate) struct OverTls;

/// What the handlers share.
pub struct RestState {
    pub herder: Arc<dyn Herder>,
    pub log: Arc<LogControl>,
    pub rates: Arc<RateSampler>,
    pub auth: Auth,
    cluster_id: OnceCell<String>,
}

impl RestState {
    async fn cluster_id(&self) -> Option<String> {
        if let Some(id) = self.cluster_id.get() {
            return Some(id.clone());
        }
        let id = self.herder.kafka_cluster_id().await?;
        let _ = self.cluster_id.set(id.clone());
        Some(id)
    }
}

/// Reads `rest.auth.*` from the worker config (config providers resolved).
pub fn auth_from_config(config: &WorkerConfig) -> Result<Auth, String> {
    let (raw, _) = config.providers.resolve(&config.raw).map_err(|issues| {
        issues
            .iter()
            .map(|i| format!("{}: {}", i.key, i.message))
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    match raw
        .get("rest.auth.type")
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("none") | Some("") => Ok(Auth::None),
        Some("basic") => {
            let users: Vec<(String, String)> = split_list(
                raw.get("rest.auth.basic.users")
                    .map(String::as_str)
                    .unwrap_or(""),
            )
            .into_iter()
            .map(|u| {
                u.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .ok_or(u)
            })
            .collect::<Result<_, _>>()
            .map_err(|u| format!("rest.auth.basic.users: entry {:?} is not user:password", u))?;
            if users.is_empty() {
                return Err("rest.auth.type=basic needs rest.auth.basic.users".into());
            }
            Ok(Auth::Basic(users))
        }
        Some("bearer") => {
            let tokens = split_list(
                raw.get("rest.auth.bearer.tokens")
                    .map(String::as_str)
                    .unwrap_or(""),
            );
            if tokens.is_empty() {
                return Err("rest.auth.type=bearer needs rest.auth.bearer.tokens".into());
            }
            Ok(Auth::Bearer(tokens))
        }
        Some(other) => Err(format!(
            "rest.auth.type {} is not none, basic or bearer",
            other
        )),
    }
}

async fn authenticate(State(st): State<Arc<RestState>>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" || console::is_asset(req.uri().path()) {
        return next.run(req).await;
    }
    let header_value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if st.auth.allows(header_value) {
        return next.run(req).await;
    }
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Authentication is required for this request",
    )
    .into_response();
    // the console shows its own sign-in form instead of the browser's dialog
    let from_console = req.headers().contains_key(console::CONSOLE_HEADER);
    if from_console {
        return r;
    }
    if let Ok(v) = st.auth.challenge().parse() {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

async fn fallback(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "HTTP 404 Not Found: no endpoint {} {}",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("HTTP 405 Method Not Allowed: {} {}", method, path),
        )
        .into_response();
    }
    resp
}

/// The API's routes.
pub fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .merge(root::routes())
        .merge(connectors::routes())
        .merge(plugins::routes())
        .merge(metrics::routes())
        .merge(tap::routes())
        .merge(console::routes())
        .fallback(fallback)
        .layer(middleware::from_fn(method_not_allowed))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn(access_log::access_log))
        .with_state(state)
}

/// A running API server.
pub struct RestServer {
    /// The addresses it listens on (useful with port 0).
    pub addresses: Vec<SocketAddr>,
}

/// Binds every listener and serves the API until the process ends.
pub async fn start(herder: Arc<dyn Herder>, log: Arc<LogControl>) -> Result<RestServer, String> {
    let config = herder.worker_config().clone();
    let auth = auth_from_config(&config)?;
    let rates = Arc::new(RateSampler::default());
    rates.spawn(herder.clone());
    let state = Arc::new(RestState {
        herder,
        log,
        rates,
        auth,
        cluster_id: OnceCell::new(),
    });
    let app = router(state);
    let mut addresses = Vec::new();
    for l in &config.listeners {
        let (host, port) =
            parse_listener(l).ok_or_else(|| format!("listeners: cannot parse {}", l))?;
        let host = if host.is_empty() {
            "0.0.0.0".to_string()
        } else {
            host.trim_matches(|c| c == '[' || c == ']').to_string()
        };
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot listen on {}: {}", l, e))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        addresses.push(addr);
        if l.starts_with("https://") {
            let acceptor = tls::acceptor(&config.raw)?;
            let app = app.clone().layer(axum::Extension(OverTls));
            tokio::spawn(tls::serve(listener, acceptor, app));
            tracing::info!(listener = %format!("https://{}", addr), "REST API listening (TLS)");
        } else {
            let app = app.clone();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!("REST server stopped: {}", e);
                }
            });
            tracing::info!(listener = %format!("http://{}", addr), "REST API listening");
        }
    }
    Ok(RestServer { addresses })
}
