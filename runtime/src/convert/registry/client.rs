//! A blocking Schema Registry client (Confluent's REST API, which Apicurio and
//! Karapace also serve) with caches of id → schema, (subject, schema) → id and
//! subject → latest version, so that only the first use of a schema makes a request.
//!
//! Errors name the registry (its URL without credentials), the request and the HTTP
//! status with the registry's own message; never the credentials.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value as Json};

use super::config::RegistryConfig;
use crate::config::ConfigErrors;

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A schema as the registry holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredSchema {
    pub id: i32,
    /// `AVRO` (Confluent omits it for Avro), `JSON` or `PROTOBUF`.
    pub schema_type: String,
    /// The schema text.
    pub schema: String,
}

/// Why a registry request failed. Retriable when the registry could not be reached
/// or answered 5xx or 429 (overloaded, restarting); not for 4xx answers about the
/// request (unknown subject or id, incompatible or invalid schema, refused credentials).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct RegistryError(pub String, pub bool);

impl RegistryError {
    /// An answer about the request itself: retrying gives the same answer.
    pub fn permanent(msg: impl Into<String>) -> Self {
        RegistryError(msg.into(), false)
    }

    /// Whether a later attempt may succeed.
    pub fn is_retriable(&self) -> bool {
        self.1
    }
}

impl From<RegistryError> for crate::convert::ConvertError {
    fn from(e: RegistryError) -> Self {
        if e.1 {
            crate::convert::ConvertError::retriable(e.0)
        } else {
            crate::convert::ConvertError::new(e.0)
        }
    }
}

/// Whether an HTTP status means "try again later" rather than "this request is wrong".
pub(super) fn retriable_status(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// A registry client with its caches. One per converter (per task).
pub struct RegistryClient {
    urls: Vec<String>,
    auth: Option<String>,
    agent: ureq::Agent,
    cache_size: usize,
    by_id: HashMap<i32, Arc<RegisteredSchema>>,
    ids: HashMap<(String, String), i32>,
    latest: HashMap<String, Arc<RegisteredSchema>>,
    /// HTTP requests made (for tests and metrics).
    requests: u64,
}

/// Removes `user:password@` from a URL for messages.
pub(super) fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rsplit_once('@') {
                Some((_, host)) => format!("{}://{}{}", scheme, host, &rest[end..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

/// Percent-encodes a path segment (subjects may hold any character).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
}

/// Runs blocking I/O without stalling the other tasks of Tokio's multi-threaded
/// runtime (anywhere else it just runs).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl RegistryClient {
    /// A client for `config` (reads the truststore; makes no request).
    pub fn new(config: &RegistryConfig) -> Result<Self, ConfigErrors> {
        let tls = super::tls::tls_config(config.truststore.as_ref())
            .map_err(|i| ConfigErrors(vec![i]))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(30)))
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(RegistryClient {
            urls: config.urls.clone(),
            auth: config.credentials.as_ref().map(|c| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(c.as_bytes())
                )
            }),
            agent,
            cache_size: config.cache_size,
            by_id: HashMap::new(),
            ids: HashMap::new(),
            latest: HashMap::new(),
            requests: 0,
        })
    }

    /// HTTP requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The schema with `id` (cached).
    pub fn schema_by_id(&mut self, id: i32) -> Result<Arc<RegisteredSchema>, RegistryError> {
        if let Some(s) = self.by_id.get(&id) {
            return Ok(s.clone());
        }
        let body = self.request("GET", &format!("/schemas/ids/{}", id), None, |status, j| {
            if status == 404 {
                Some(format!(
                    "schema id {} is not in the registry (error {}: {})",
                    id,
                    j.get("error_code").unwrap_or(&Json::Null),
                    j.get("message")
                        .and_then(Json::as_str)
                        .unwrap_or("not found")
                ))
            } else {
                None
            }
        })?;
        let s = Arc::new(parse_schema(id, &body)?);
        self.remember_id(s.clone());
        Ok(s)
    }

    /// The id of `schema` under `subject`: registered if `register`, else looked up.
    pub fn id_for(
        &mut self,
        subject: &str,
        schema_type: &str,
        schema: &str,
        register: bool,
    ) -> Result<i32, RegistryError> {
        let key = (subject.to_string(), schema.to_string());
        if let Some(id) = self.ids.get(&key) {
            return Ok(*id);
        }
        let mut req = json!({ "schema": schema });
        if schema_type != "AVRO" {
            req["schemaType"] = json!(schema_type);
        }
        let body = if register {
            self.request(
                "POST",
                &format!("/subjects/{}/versions", encode_segment(subject)),
                Some(&req),
                |_, _| None,
            )?
        } else {
            self.request(
                "POST",
                &format!("/subjects/{}", encode_segment(subject)),
                Some(&req),
                |status, j| {
                    (status == 404).then(|| {
                        format!(
                            "the schema is not registered under subject {} and auto.register.schemas is false (error {}: {})",
                            subject,
                            j.get("error_code").unwrap_or(&Json::Null),
                            j.get("message").and_then(Json::as_str).unwrap_or("not found")
                        )
                    })
                },
            )?
        };
        let id = body
            .get("id")
            .and_then(Json::as_i64)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| {
                RegistryError::permanent(format!(
                    "the registry's answer has no schema id: {}",
                    body
                ))
            })?;
        if self.ids.len() >= self.cache_size {
            self.ids.clear();
        }
        self.ids.insert(key, id);
        self.remember_id(Arc::new(RegisteredSchema {
            id,
            schema_type: schema_type.to_string(),
            schema: schema.to_string(),
        }));
        Ok(id)
    }

    /// The latest schema registered under `subject` (cached for the converter's life,
    /// as Confluent's `latest.cache.ttl.sec=-1`).
    pub fn latest(&mut self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        if let Some(s) = self.latest.get(subject) {
            return Ok(s.clone());
        }
        let body = self.request(
            "GET",
            &format!("/subjects/{}/versions/latest", encode_segment(subject)),
            None,
            |status, _| {
                (status == 404).then(|| {
                    format!(
                        "subject {} has no schema (use.latest.version needs one registered)",
                        subject
                    )
                })
            },
        )?;
        let id = body
            .get("id")
            .and_then(Json::as_i64)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| {
                RegistryError::permanent(format!(
                    "the registry's answer has no schema id: {}",
                    body
                ))
            })?;
        let s = Arc::new(parse_schema(id, &body)?);
        self.remember_id(s.clone());
        self.latest.insert(subject.to_string(), s.clone());
        Ok(s)
    }

    fn remember_id(&mut self, s: Arc<RegisteredSchema>) {
        if self.by_id.len() >= self.cache_size {
            self.by_id.clear();
        }
        self.by_id.insert(s.id, s);
    }

    /// One request, tried against each URL in turn while the server cannot be reached.
    /// `not_found` turns an error status into a specific message.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Json>,
        not_found: impl Fn(u16, &Json) -> Option<String>,
    ) -> Result<Json, RegistryError> {
        let mut last = String::new();
        for base in self.urls.clone() {
            let url = format!("{}{}", base, path);
            self.requests += 1;
            let agent = self.agent.clone();
            let auth = self.auth.clone();
            let result = blocking(|| -> Result<(u16, String), ureq::Error> {
                let mut resp = match body {
                    None => {
                        let mut r = agent.get(&url).header("Accept", CONTENT_TYPE);
                        if let Some(a) = &auth {
                            r = r.header("Authorization", a);
                        }
                        r.call()?
                    }
                    Some(b) => {
                        let mut r = agent
                            .post(&url)
                            .header("Accept", CONTENT_TYPE)
                            .header("Content-Type", CONTENT_TYPE);
                        if let Some(a) = &auth {
                            r = r.header("Authorization", a);
                        }
                        r.send(b.to_string())?
                    }
                };
                let status = resp.status().as_u16();
                let text = resp.body_mut().read_to_string()?;
                Ok((status, text))
            });
            match result {
                Ok((status, text)) => {
                    let j: Json = serde_json::from_str(&text).unwrap_or(Json::String(text));
                    if (200..300).contains(&status) {
                        return Ok(j);
                    }
                    let why = not_found(status, &j).unwrap_or_else(|| {
                        let hint = match status {
                            401 => " (the registry refused the credentials: check basic.auth.user.info or the URL's user:password)",
                            403 => " (the credentials may not do this)",
                            _ => "",
                        };
                        format!(
                            "HTTP {}{}: {}",
                            status,
                            hint,
                            j.get("message").and_then(Json::as_str).map(str::to_string).unwrap_or_else(|| truncate(&j.to_string()))
                        )
                    });
                    let msg = format!(
                        "Schema Registry {} {} {}: {}",
                        redact(&base),
                        method,
                        path,
                        why
                    );
                    if retriable_status(status) {
                        // another URL may answer; if none does, the record is retried
                        last = msg;
                        continue;
                    }
                    return Err(RegistryError::permanent(msg));
                }
                Err(e) => {
                    last = format!(
                        "Schema Registry {} {} {}: {}",
                        redact(&base),
                        method,
                        path,
                        e
                    );
                }
            }
        }
        Err(RegistryError(last, true))
    }
}

fn truncate(s: &str) -> String {
    if s.len() <= 300 {
        return s.to_string();
    }
    let mut end = 300;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn parse_schema(id: i32, body: &Json) -> Result<RegisteredSchema, RegistryError> {
    let schema = body
        .get("schema")
        .and_then(Json::as_str)
        .ok_or_else(|| {
            RegistryError::permanent(format!(
                "the registry's answer for schema id {} has no schema: {}",
                id,
                truncate(&body.to_string())
            ))
        })?
        .to_string();
    let schema_type = body
        .get("schemaType")
        .and_then(Json::as_str)
        .unwrap_or("AVRO")
        .to_string();
    Ok(RegisteredSchema {
        id,
        schema_type,
        schema,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_in_messages() {
        assert_eq!(redact("https://u:p@h:1/x"), "https://h:1/x");
        assert_eq!(redact("http://h:1"), "http://h:1");
        assert_eq!(encode_segment("a b/c-value"), "a%20b%2Fc-value");
    }

    #[test]
    fn only_unavailability_is_retriable() {
        for s in [500, 502, 503, 504, 429, 408] {
            assert!(retriable_status(s), "{}", s);
        }
        // unknown subject/id, incompatible or invalid schema, refused credentials
        for s in [400, 401, 403, 404, 409, 422] {
            assert!(!retriable_status(s), "{}", s);
        }
        let e: crate::convert::ConvertError = RegistryError("down".into(), true).into();
        assert!(e.is_retriable());
        let e: crate::convert::ConvertError = RegistryError::permanent("40403").into();
        assert!(!e.is_retriable());
    }
}
