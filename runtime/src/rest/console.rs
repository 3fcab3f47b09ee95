//! The web console at `/ui`: one page (HTML, JavaScript and CSS embedded in the binary,
//! nothing fetched from elsewhere) that drives this worker's REST API from the browser.
//!
//! The assets hold no data, so they are served without credentials; everything the page
//! shows or changes goes through the REST API with the same authentication as any other
//! client (the page asks for a user and password or a token when the API answers 401,
//! and sends it as an `Authorization` header). Its requests carry `X-Sluice-Console`,
//! which makes a 401 come without `WWW-Authenticate` so the browser does not open its
//! own login dialog over the page's.

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use super::RestState;

/// The request header the console's API calls carry.
pub(super) const CONSOLE_HEADER: &str = "x-sluice-console";

const INDEX: &str = include_str!("console/index.html");
const APP_JS: &str = include_str!("console/app.js");
const APP_CSS: &str = include_str!("console/app.css");

/// Paths served without credentials (static assets, no data).
pub(super) fn is_asset(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route(
            "/ui/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/ui/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/ui/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // only this worker's own scripts, styles and API: no inline script, no other origin
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    r
}
