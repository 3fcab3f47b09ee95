//! One DEBUG line per REST request (method, path, status, time taken), under the
//! `sluice_runtime::rest` logger — Connect's `org.apache.kafka.connect.runtime.rest`.
//! The query string and bodies are left out: they may carry configs.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

pub(super) async fn access_log(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(
        "{} {} {} {}ms",
        method,
        path.escape_debug(),
        resp.status().as_u16(),
        started.elapsed().as_millis()
    );
    resp
}
