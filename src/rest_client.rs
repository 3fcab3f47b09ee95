//! The HTTP client the CLI's `tap` and `top` use to reach a worker's REST API: a CA to
//! trust for https://, and basic or bearer authentication.

use std::path::PathBuf;

/// How to reach a worker's REST API.
#[derive(Debug, Clone, clap::Args)]
pub struct RestTarget {
    /// The worker's REST API.
    #[arg(long, default_value = "http://127.0.0.1:8083")]
    pub url: String,
    /// Basic auth for the REST API, user:password.
    #[arg(long)]
    pub user: Option<String>,
    /// Bearer token for the REST API.
    #[arg(long)]
    pub token: Option<String>,
    /// A PEM CA certificate to trust for an https:// URL.
    #[arg(long)]
    pub cacert: Option<PathBuf>,
}

impl RestTarget {
    /// The API's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// A client trusting `--cacert` (besides the usual roots).
    pub fn client(&self) -> Result<reqwest::Client, String> {
        let mut b = reqwest::Client::builder();
        if let Some(path) = &self.cacert {
            let pem =
                std::fs::read(path).map_err(|e| format!("--cacert {}: {}", path.display(), e))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("--cacert {}: {}", path.display(), e))?;
            b = b.add_root_certificate(cert);
        }
        b.build().map_err(|e| e.to_string())
    }

    /// `req` with the configured credentials.
    pub fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let req = match &self.user {
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                req.basic_auth(user, Some(pass))
            }
            None => req,
        };
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// GETs `url` and returns the body of a 2xx answer, or an error with the API's
    /// message.
    pub async fn get_text(&self, client: &reqwest::Client, url: &str) -> Result<String, String> {
        self.send(client, reqwest::Method::GET, url).await
    }

    /// Sends a request without a body; the body of a 2xx answer, or an error with the
    /// API's message.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        url: &str,
    ) -> Result<String, String> {
        let resp = self
            .authorize(client.request(method, url))
            .send()
            .await
            .map_err(|e| format!("{}: {}", url, e))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| format!("{}: {}", url, e))?;
        if !status.is_success() {
            return Err(format!(
                "{} answered {}: {}",
                url,
                status,
                api_message(&body)
            ));
        }
        Ok(body)
    }
}

/// A connector name as a URL path segment (percent-encoded but for unreserved bytes).
pub fn path_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{:02X}", b),
        })
        .collect()
}

/// The `message` of an API error body, or the body itself.
pub fn api_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|j| j["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string())
}
