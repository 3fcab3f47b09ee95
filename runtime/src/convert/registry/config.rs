//! The Schema Registry settings of a registry converter, with Confluent's key names
//! (given in a connector or worker config under `key.converter.` / `value.converter.`).

use super::subject::{SubjectStrategy, STRATEGY_CLASSES};
use crate::config::{ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, RawConfig};

/// Where the credentials for HTTP basic auth come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsSource {
    /// `user:password@` in `schema.registry.url` (Confluent's default).
    Url,
    /// `basic.auth.user.info` (`user:password`).
    UserInfo,
}

/// The parsed registry settings.
#[derive(Clone)]
pub struct RegistryConfig {
    /// Base URLs (userinfo removed), tried in order.
    pub urls: Vec<String>,
    /// `user:password` for basic auth, if any. Never logged.
    pub(super) credentials: Option<String>,
    pub truststore: Option<TrustStore>,
    pub auto_register: bool,
    pub use_latest_version: bool,
    pub key_strategy: SubjectStrategy,
    pub value_strategy: SubjectStrategy,
    /// Most schemas each cache keeps.
    pub cache_size: usize,
    /// Whether `connect.*` properties are written into schemas (`connect.meta.data`).
    pub connect_meta_data: bool,
}

impl std::fmt::Debug for RegistryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConfig")
            .field("urls", &self.urls)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[hidden]"),
            )
            .field("truststore", &self.truststore)
            .field("auto_register", &self.auto_register)
            .field("use_latest_version", &self.use_latest_version)
            .finish_non_exhaustive()
    }
}

/// The CAs to trust for `https` registry URLs.
#[derive(Clone)]
pub struct TrustStore {
    pub location: String,
    pub password: Option<String>,
    pub store_type: Option<String>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("location", &self.location)
            .field("store_type", &self.store_type)
            .finish_non_exhaustive()
    }
}

/// The keys every registry converter declares.
pub fn registry_config_def() -> ConfigDef {
    let strategy = |name: &str| {
        ConfigKey::string(name)
            .default(STRATEGY_CLASSES[0])
            .recommend(STRATEGY_CLASSES.iter().map(|s| s.to_string()).collect())
            .doc("How the subject is named: TopicNameStrategy (<topic>-key / <topic>-value), RecordNameStrategy (the record's full name) or TopicRecordNameStrategy (<topic>-<record name>); Confluent's class names or their short forms.")
    };
    ConfigDef::new()
        .define(ConfigKey::list("schema.registry.url").doc(
            "Comma-separated Schema Registry URLs (http or https), tried in order. For Apicurio Registry include its Confluent API path (…/apis/ccompat/v7).",
        ))
        .define(
            ConfigKey::string("basic.auth.credentials.source")
                .default("URL")
                .one_of(&["URL", "USER_INFO"])
                .doc("Where HTTP basic auth credentials come from: URL (user:password@ in schema.registry.url) or USER_INFO (basic.auth.user.info)."),
        )
        .define(
            ConfigKey::password("basic.auth.user.info")
                .optional()
                .doc("user:password for HTTP basic auth, with basic.auth.credentials.source=USER_INFO."),
        )
        .define(
            ConfigKey::password("schema.registry.basic.auth.user.info")
                .optional()
                .doc("Alias of basic.auth.user.info."),
        )
        .define(
            ConfigKey::string("schema.registry.ssl.truststore.location")
                .optional()
                .doc("CAs to trust for https registry URLs: a PEM or PKCS12 file (JKS is an error naming the keytool conversion). Without it the system's CAs are used."),
        )
        .define(
            ConfigKey::password("schema.registry.ssl.truststore.password")
                .optional()
                .doc("Password of a PKCS12 truststore."),
        )
        .define(
            ConfigKey::string("schema.registry.ssl.truststore.type")
                .optional()
                .doc("PEM or PKCS12; when unset, read from the file."),
        )
        .define(
            ConfigKey::boolean("auto.register.schemas")
                .default("true")
                .doc("Register the schema of each record written if the subject does not have it yet; when false, the schema must already be registered (looked up)."),
        )
        .define(
            ConfigKey::boolean("use.latest.version")
                .default("false")
                .doc("Write with the latest schema of the subject instead of the record's own (with auto.register.schemas=false)."),
        )
        .define(strategy("key.subject.name.strategy"))
        .define(strategy("value.subject.name.strategy"))
        .define(
            ConfigKey::int("max.schemas.per.subject")
                .default("1000")
                .at_least(1.0)
                .doc("Most schemas each cache of the converter keeps."),
        )
        .define(
            ConfigKey::boolean("connect.meta.data")
                .default("true")
                .doc("Write Connect's schema details (connect.name, connect.version, connect.doc, connect.parameters, connect.type) into the registered schemas."),
        )
        .define(
            ConfigKey::string("converter.type")
                .optional()
                .one_of(&["key", "value", "header"])
                .doc("Set by the worker: key, value or header."),
        )
}

impl RegistryConfig {
    /// Parses and checks the settings; every problem is listed.
    pub fn parse(raw: &RawConfig) -> Result<Self, ConfigErrors> {
        let def = registry_config_def();
        let (p, mut issues) = def.parse_lenient(raw);
        let mut urls = Vec::new();
        let mut url_credentials = None;
        for u in p.list("schema.registry.url") {
            match split_url(&u) {
                Ok((base, creds)) => {
                    if url_credentials.is_none() {
                        url_credentials = creds;
                    }
                    urls.push(base);
                }
                Err(m) => issues.push(ConfigIssue::new("schema.registry.url", m)),
            }
        }
        if urls.is_empty() && !issues.iter().any(|i| i.key == "schema.registry.url") {
            issues.push(ConfigIssue::new(
                "schema.registry.url",
                "is required: the URL of the Schema Registry (e.g. http://localhost:8081)",
            ));
        }
        let source = if p.str("basic.auth.credentials.source") == "USER_INFO" {
            CredentialsSource::UserInfo
        } else {
            CredentialsSource::Url
        };
        let user_info = p
            .string("basic.auth.user.info")
            .or_else(|| p.string("schema.registry.basic.auth.user.info"));
        let credentials = match source {
            CredentialsSource::Url => url_credentials,
            CredentialsSource::UserInfo => match user_info {
                Some(u) if u.contains(':') => Some(u),
                Some(_) => {
                    issues.push(ConfigIssue::new(
                        "basic.auth.user.info",
                        "must be user:password",
                    ));
                    None
                }
                None => {
                    issues.push(ConfigIssue::new(
                        "basic.auth.user.info",
                        "is required with basic.auth.credentials.source=USER_INFO",
                    ));
                    None
                }
            },
        };
        let strategy = |key: &str, issues: &mut Vec<ConfigIssue>| {
            let v = p.str(key);
            SubjectStrategy::parse(&v).unwrap_or_else(|| {
                issues.push(ConfigIssue::new(
                    key,
                    format!(
                        "unknown subject name strategy {}; known: {}",
                        v,
                        STRATEGY_CLASSES.join(", ")
                    ),
                ));
                SubjectStrategy::TopicName
            })
        };
        let key_strategy = strategy("key.subject.name.strategy", &mut issues);
        let value_strategy = strategy("value.subject.name.strategy", &mut issues);
        let truststore = p
            .string("schema.registry.ssl.truststore.location")
            .map(|location| TrustStore {
                location,
                password: p.string("schema.registry.ssl.truststore.password"),
                store_type: p.string("schema.registry.ssl.truststore.type"),
            });
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        Ok(RegistryConfig {
            urls,
            credentials,
            truststore,
            auto_register: p.boolean("auto.register.schemas"),
            use_latest_version: p.boolean("use.latest.version"),
            key_strategy,
            value_strategy,
            cache_size: p.int("max.schemas.per.subject").max(1) as usize,
            connect_meta_data: p.boolean("connect.meta.data"),
        })
    }
}

/// `scheme://user:pass@host/path` → (`scheme://host/path` without a trailing slash,
/// `Some("user:pass")`).
fn split_url(url: &str) -> Result<(String, Option<String>), String> {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "{} is not a URL (expected http://host:port or https://host:port)",
            super::client::redact(url)
        ));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "{} uses the scheme {}; only http and https are supported",
            super::client::redact(url),
            scheme
        ));
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (creds, host) = match authority.rsplit_once('@') {
        Some((c, h)) => (Some(c.to_string()), h),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err(format!("{} names no host", super::client::redact(url)));
    }
    let base = format!("{}://{}{}", scheme.to_ascii_lowercase(), host, path);
    Ok((base.trim_end_matches('/').to_string(), creds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn url_credentials_and_user_info() {
        let c = RegistryConfig::parse(&raw(&[(
            "schema.registry.url",
            "http://u:p@reg:8081/apis/ccompat/v7/",
        )]))
        .unwrap();
        assert_eq!(c.urls, vec!["http://reg:8081/apis/ccompat/v7"]);
        assert_eq!(c.credentials.as_deref(), Some("u:p"));
        assert!(!format!("{:?}", c).contains("u:p"));
        let c = RegistryConfig::parse(&raw(&[
            ("schema.registry.url", "https://reg:8082"),
            ("basic.auth.credentials.source", "USER_INFO"),
            ("basic.auth.user.info", "sluice:secret"),
        ]))
        .unwrap();
        assert_eq!(c.credentials.as_deref(), Some("sluice:secret"));
        assert!(c.auto_register && !c.use_latest_version);
    }

    #[test]
    fn every_problem_is_listed() {
        let e = RegistryConfig::parse(&raw(&[
            ("basic.auth.credentials.source", "USER_INFO"),
            ("value.subject.name.strategy", "Whatever"),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|i| i.key.as_str()).collect();
        assert!(keys.contains(&"schema.registry.url"), "{:?}", keys);
        assert!(keys.contains(&"basic.auth.user.info"), "{:?}", keys);
        assert!(keys.contains(&"value.subject.name.strategy"), "{:?}", keys);
        let e = RegistryConfig::parse(&raw(&[("schema.registry.url", "ftp://x")])).unwrap_err();
        assert!(e.0[0].message.contains("only http and https"), "{:?}", e.0);
    }
}
