//! Kafka client security settings, Java style (as Kafka Connect users write them) to
//! librdkafka's.
//!
//! What translates:
//! - `security.protocol` (any case); `sasl.mechanism` PLAIN, SCRAM-SHA-256/512 and
//!   OAUTHBEARER;
//! - `sasl.jaas.config` with `PlainLoginModule` or `ScramLoginModule` to
//!   `sasl.username`/`sasl.password`; with `OAuthBearerLoginModule` to librdkafka's OIDC
//!   client-credentials settings (`sasl.oauthbearer.method=oidc`, with Kafka's
//!   `OAuthBearerLoginCallbackHandler` and `sasl.oauthbearer.token.endpoint.url`) or to
//!   its unsecured JWT (Kafka's `unsecuredLoginStringClaim_sub`);
//! - truststores: PEM files and inline PEM to `ssl.ca.location`/`ssl.ca.pem`, PKCS12
//!   files to `ssl.ca.pem` (their trusted certificates, read with `p12-keystore`);
//! - keystores: PKCS12 to librdkafka's `ssl.keystore.location` (PKCS12 there too), PEM
//!   files and inline PEM (`ssl.keystore.certificate.chain`, `ssl.keystore.key`) to
//!   `ssl.certificate.*`/`ssl.key.*`; `ssl.key.password`;
//! - `ssl.endpoint.identification.algorithm` (empty means `none`).
//!
//! What has no librdkafka equivalent is an error naming the key and the way out (a JKS
//! store: the `keytool` conversion; GSSAPI; Java callback classes), or is dropped when
//! it only tunes the JVM (`ssl.protocol`, `sasl.login.refresh.*`, ...). As in Java,
//! `ssl.*` store keys are ignored unless `security.protocol` uses SSL, and `sasl.*`
//! keys unless it uses SASL. No error message holds a secret.

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigIssue, ConfigKey, Importance, RawConfig};

use super::jaas;
use super::stores::{self, Store, StoreType};

/// Whether `key` is a client security setting, which a worker's top level applies to
/// every Kafka client it makes (under the `producer.`/`consumer.`/`admin.` layers).
pub fn is_security_key(key: &str) -> bool {
    key == "security.protocol" || key.starts_with("sasl.") || key.starts_with("ssl.")
}

/// The security settings among a config's top-level keys.
pub fn security_settings(raw: &RawConfig) -> RawConfig {
    raw.iter()
        .filter(|(k, _)| is_security_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Java-only keys with no effect that librdkafka would reject: dropped.
const DROPPED: &[&str] = &[
    "ssl.protocol",
    "ssl.enabled.protocols",
    "ssl.provider",
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.client.auth",
    "ssl.principal.mapping.rules",
    "ssl.allow.dn.changes",
    "ssl.allow.san.changes",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.login.retry.backoff.max.ms",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.expected.issuer",
    "sasl.oauthbearer.scope.claim.name",
    "sasl.oauthbearer.sub.claim.name",
    "sasl.oauthbearer.clock.skew.seconds",
    "sasl.oauthbearer.header.urlencode",
    "sasl.oauthbearer.jwt.validator.class",
];

/// Java keys this module reads and turns into librdkafka's.
const CONSUMED: &[&str] = &[
    "security.protocol",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
    "ssl.truststore.certificates",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.endpoint.identification.algorithm",
    "ssl.cipher.suites",
    "ssl.engine.factory.class",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.jaas.config",
    "sasl.login.callback.handler.class",
    "sasl.login.class",
    "sasl.client.callback.handler.class",
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.client.credentials.client.id",
    "sasl.oauthbearer.client.credentials.client.secret",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.jwt.retriever.class",
];

const PROTOCOLS: &[&str] = &["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];

/// Settings merged from layers, remembering which layer each came from.
struct Merged<'a> {
    map: BTreeMap<&'a str, (&'a str, usize)>,
}

impl<'a> Merged<'a> {
    fn new(layers: &[&'a RawConfig]) -> Self {
        let mut map = BTreeMap::new();
        for (i, layer) in layers.iter().enumerate() {
            for (k, v) in layer.iter() {
                map.insert(k.as_str(), (v.as_str(), i));
            }
        }
        Merged { map }
    }
    fn get(&self, k: &str) -> Option<&'a str> {
        self.map.get(k).map(|(v, _)| *v)
    }
    /// A value that is set and not blank.
    fn value(&self, k: &str) -> Option<&'a str> {
        self.get(k).filter(|v| !v.trim().is_empty())
    }
    fn layer(&self, k: &str) -> Option<usize> {
        self.map.get(k).map(|(_, l)| *l)
    }
}

/// Collects the output and the problems of one translation.
struct Out {
    cfg: RawConfig,
    issues: Vec<ConfigIssue>,
}

impl Out {
    fn set(&mut self, k: &str, v: impl Into<String>) {
        self.cfg.insert(k.to_string(), v.into());
    }
    fn issue(&mut self, k: &str, msg: impl Into<String>) {
        self.issues.push(ConfigIssue::new(k, msg));
    }
}

/// Translates the security settings of merged client settings (`layers`, later ones
/// win) into librdkafka's. Keys that are not about security pass through unchanged.
/// Every problem is listed, each naming its (unprefixed) Java key.
pub fn translate(layers: &[&RawConfig]) -> Result<RawConfig, Vec<ConfigIssue>> {
    let (cfg, issues) = translate_all(layers);
    if issues.is_empty() {
        Ok(cfg)
    } else {
        Err(issues)
    }
}

/// [`translate`], returning what translated along with the problems.
fn translate_all(layers: &[&RawConfig]) -> (RawConfig, Vec<ConfigIssue>) {
    let m = Merged::new(layers);
    let mut out = Out {
        cfg: RawConfig::new(),
        issues: Vec::new(),
    };
    let protocol = m
        .get("security.protocol")
        .map(|p| p.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "plaintext".into());
    if !PROTOCOLS.contains(&protocol.as_str()) {
        out.issue(
            "security.protocol",
            format!(
                "'{}' is not a security protocol: use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
                protocol
            ),
        );
    }
    for (k, (v, _)) in &m.map {
        if !is_security_key(k) {
            out.set(k, *v);
        } else if !DROPPED.contains(k)
            && !CONSUMED.contains(k)
            && !k.starts_with("sasl.oauthbearer.jwks.endpoint.")
            && !k.starts_with("sasl.server.")
            && !k.starts_with("sasl.kerberos.")
        {
            // librdkafka's own keys (ssl.ca.location, sasl.username, ...)
            out.set(k, *v);
        }
    }
    out.set("security.protocol", protocol.clone());
    if let Some(v) = m.get("ssl.endpoint.identification.algorithm") {
        match v.trim().to_ascii_lowercase().as_str() {
            "" | "none" => out.set("ssl.endpoint.identification.algorithm", "none"),
            "https" => out.set("ssl.endpoint.identification.algorithm", "https"),
            other => out.issue(
                "ssl.endpoint.identification.algorithm",
                format!(
                    "'{}' is not supported: use https (check the broker's host name) or an empty value (do not)",
                    other
                ),
            ),
        }
    }
    if let Some(class) = m.value("ssl.engine.factory.class") {
        out.issue(
            "ssl.engine.factory.class",
            format!(
                "{} is a Java class; Sluice's Kafka client uses OpenSSL: configure the ssl.truststore.* and ssl.keystore.* keys instead",
                class
            ),
        );
    }
    if let Some(suites) = m.value("ssl.cipher.suites") {
        // Java's names (TLS_ECDHE_..._WITH_...) mean nothing to OpenSSL: dropped, so the
        // OpenSSL defaults apply; OpenSSL cipher strings pass through.
        if !suites.split(',').any(|s| s.trim().starts_with("TLS_")) {
            out.set("ssl.cipher.suites", suites);
        }
    }
    if protocol == "ssl" || protocol == "sasl_ssl" {
        truststore(&m, &mut out);
        keystore(&m, &mut out);
    } else if let Some(p) = m.value("ssl.key.password") {
        out.set("ssl.key.password", p);
    }
    if protocol == "sasl_plaintext" || protocol == "sasl_ssl" {
        sasl(&m, &mut out);
    }
    (out.cfg, out.issues)
}

fn store_issue(out: &mut Out, (key, msg): stores::StoreIssue) {
    out.issue(key, msg);
}

fn truststore(m: &Merged<'_>, out: &mut Out) {
    let loc = m.value("ssl.truststore.location");
    let certs = m.value("ssl.truststore.certificates");
    if loc.is_none() && certs.is_none() {
        return;
    }
    let declared = m.value("ssl.truststore.type");
    let kind = match (declared, loc) {
        (None, None) => Ok(StoreType::Pem),
        _ => stores::store_type(Store::Trust, declared, loc),
    };
    match kind {
        Err(e) => store_issue(out, e),
        Ok(StoreType::Pem) => {
            if let Some(loc) = loc {
                match std::fs::metadata(loc) {
                    Ok(_) => out.set("ssl.ca.location", loc),
                    Err(e) => out.issue(
                        "ssl.truststore.location",
                        format!("cannot read truststore {}: {}", loc, e),
                    ),
                }
            }
            if let Some(c) = certs {
                out.set("ssl.ca.pem", c);
            }
        }
        Ok(StoreType::Pkcs12) => {
            if certs.is_some() {
                out.issue(
                    "ssl.truststore.certificates",
                    "holds PEM certificates: set ssl.truststore.type=PEM",
                );
            }
            match loc {
                Some(loc) => {
                    match stores::pkcs12_truststore_pem(loc, m.get("ssl.truststore.password")) {
                        Ok(pem) => out.set("ssl.ca.pem", pem),
                        Err(e) => store_issue(out, e),
                    }
                }
                None => out.issue(
                    "ssl.truststore.location",
                    "is required with ssl.truststore.type=PKCS12",
                ),
            }
        }
    }
}

fn keystore(m: &Merged<'_>, out: &mut Out) {
    let loc = m.value("ssl.keystore.location");
    let chain = m.value("ssl.keystore.certificate.chain");
    let key = m.value("ssl.keystore.key");
    let key_password = m.get("ssl.key.password");
    if loc.is_none() && chain.is_none() && key.is_none() {
        // librdkafka's own ssl.key.location / ssl.key.pem may use it
        if let Some(p) = key_password {
            out.set("ssl.key.password", p);
        }
        return;
    }
    let declared = m.value("ssl.keystore.type");
    let kind = match (declared, loc) {
        (None, None) => Ok(StoreType::Pem),
        _ => stores::store_type(Store::Key, declared, loc),
    };
    match kind {
        Err(e) => store_issue(out, e),
        Ok(StoreType::Pem) => {
            if let Some(loc) = loc {
                match std::fs::metadata(loc) {
                    Ok(_) => {
                        // one PEM file with the key and the certificate chain
                        out.set("ssl.certificate.location", loc);
                        out.set("ssl.key.location", loc);
                    }
                    Err(e) => out.issue(
                        "ssl.keystore.location",
                        format!("cannot read keystore {}: {}", loc, e),
                    ),
                }
            } else {
                match (chain, key) {
                    (Some(c), Some(k)) => {
                        out.set("ssl.certificate.pem", c);
                        out.set("ssl.key.pem", k);
                    }
                    (Some(_), None) => out.issue(
                        "ssl.keystore.key",
                        "is required with ssl.keystore.certificate.chain (the client's private key, PEM)",
                    ),
                    _ => out.issue(
                        "ssl.keystore.certificate.chain",
                        "is required with ssl.keystore.key (the client's certificate chain, PEM)",
                    ),
                }
            }
            if let Some(p) = key_password {
                out.set("ssl.key.password", p);
            }
        }
        Ok(StoreType::Pkcs12) => {
            if chain.is_some() || key.is_some() {
                out.issue(
                    if chain.is_some() {
                        "ssl.keystore.certificate.chain"
                    } else {
                        "ssl.keystore.key"
                    },
                    "holds PEM: set ssl.keystore.type=PEM",
                );
            }
            let Some(loc) = loc else {
                out.issue(
                    "ssl.keystore.location",
                    "is required with ssl.keystore.type=PKCS12",
                );
                return;
            };
            let password = m.get("ssl.keystore.password");
            match stores::check_pkcs12_keystore(loc, password) {
                Ok(()) => {
                    out.set("ssl.keystore.location", loc);
                    if let Some(p) = password {
                        out.set("ssl.keystore.password", p);
                    }
                }
                Err(e) => store_issue(out, e),
            }
        }
    }
}

fn sasl(m: &Merged<'_>, out: &mut Out) {
    for k in ["sasl.login.class", "sasl.client.callback.handler.class"] {
        if let Some(class) = m.value(k) {
            out.issue(
                k,
                format!(
                    "{} is a Java class, which Sluice cannot load; use sasl.mechanism PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER with sasl.jaas.config",
                    class
                ),
            );
        }
    }
    let mechanism = m
        .value("sasl.mechanism")
        .or(m.value("sasl.mechanisms"))
        .map(|s| s.trim().to_ascii_uppercase());
    let jaas = match m.value("sasl.jaas.config").map(jaas::parse) {
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => {
            out.issue("sasl.jaas.config", e);
            None
        }
        None => None,
    };
    let jaas_ok = jaas.is_some() || m.value("sasl.jaas.config").is_none();
    match mechanism.as_deref() {
        None => out.issue(
            "sasl.mechanism",
            "is not set: Kafka's default is GSSAPI (Kerberos), which Sluice does not support; set PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
        ),
        Some(mech @ ("PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512")) => {
            out.set("sasl.mechanism", mech);
            if jaas_ok {
                user_password(m, out, mech, jaas.as_ref());
            }
        }
        Some("OAUTHBEARER") => {
            out.set("sasl.mechanism", "OAUTHBEARER");
            if jaas_ok {
                oauthbearer(m, out, jaas.as_ref());
            }
        }
        Some("GSSAPI") => out.issue(
            "sasl.mechanism",
            "GSSAPI (Kerberos) is not supported: Sluice's Kafka client is built without Cyrus SASL; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
        ),
        Some(other) => out.issue(
            "sasl.mechanism",
            format!(
                "'{}' is not supported: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
                other
            ),
        ),
    }
}

/// PLAIN and SCRAM: the JAAS line's username and password, unless librdkafka's own
/// `sasl.username`/`sasl.password` are set in a later layer.
fn user_password(m: &Merged<'_>, out: &mut Out, mechanism: &str, jaas: Option<&jaas::JaasEntry>) {
    let Some(e) = jaas else {
        if m.get("sasl.username").is_none() {
            out.issue(
                "sasl.jaas.config",
                format!(
                    "is required with sasl.mechanism={}, e.g. {} required username=\"...\" password=\"...\";",
                    mechanism,
                    if mechanism == "PLAIN" {
                        "org.apache.kafka.common.security.plain.PlainLoginModule"
                    } else {
                        "org.apache.kafka.common.security.scram.ScramLoginModule"
                    }
                ),
            );
        }
        return;
    };
    if !matches!(e.module_name(), "PlainLoginModule" | "ScramLoginModule") {
        out.issue(
            "sasl.jaas.config",
            format!(
                "the login module {} does not go with sasl.mechanism={}: use PlainLoginModule or ScramLoginModule",
                e.module, mechanism
            ),
        );
        return;
    }
    if e.option("tokenauth")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        out.issue(
            "sasl.jaas.config",
            "tokenauth=true (delegation tokens) is not supported by Sluice's Kafka client",
        );
        return;
    }
    let jaas_layer = m.layer("sasl.jaas.config");
    for (opt, key) in [("username", "sasl.username"), ("password", "sasl.password")] {
        match e.option(opt) {
            // librdkafka's own key in a later layer wins
            Some(v) if m.layer(key).is_none_or(|l| Some(l) <= jaas_layer) => out.set(key, v),
            Some(_) => {}
            None if m.get(key).is_none() => out.issue(
                "sasl.jaas.config",
                format!("the {} login module has no {} option", e.module_name(), opt),
            ),
            None => {}
        }
    }
}

const OIDC_HANDLERS: &[&str] = &[
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler",
];

fn oauthbearer(m: &Merged<'_>, out: &mut Out, jaas: Option<&jaas::JaasEntry>) {
    if let Some(e) = jaas {
        if e.module_name() != "OAuthBearerLoginModule" {
            out.issue(
                "sasl.jaas.config",
                format!(
                    "the login module {} does not go with sasl.mechanism=OAUTHBEARER: use org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule",
                    e.module
                ),
            );
            return;
        }
    }
    let handler = m.value("sasl.login.callback.handler.class").map(str::trim);
    let retriever = m
        .value("sasl.oauthbearer.jwt.retriever.class")
        .map(str::trim);
    if let Some(r) = retriever {
        if !r.ends_with(".ClientCredentialsJwtRetriever") {
            out.issue(
                "sasl.oauthbearer.jwt.retriever.class",
                format!(
                    "{} is not supported: Sluice's Kafka client fetches tokens with the client credentials grant (ClientCredentialsJwtRetriever)",
                    r
                ),
            );
            return;
        }
    }
    let oidc = handler.is_some_and(|h| OIDC_HANDLERS.contains(&h))
        || retriever.is_some()
        || m.value("sasl.oauthbearer.token.endpoint.url").is_some();
    if oidc {
        oidc_client_credentials(m, out, jaas);
    } else if let Some(h) = handler {
        out.issue(
            "sasl.login.callback.handler.class",
            format!(
                "{} is a Java class, which Sluice cannot load; Sluice supports OAUTHBEARER with an OIDC token endpoint (org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler and sasl.oauthbearer.token.endpoint.url) or with unsecured tokens (unsecuredLoginStringClaim_sub)",
                h
            ),
        );
    } else if let Some(sub) = jaas.and_then(|e| e.option("unsecuredLoginStringClaim_sub")) {
        unsecured_jwt(out, jaas.expect("a JAAS entry"), sub);
    } else if m.get("sasl.oauthbearer.method").is_none()
        && m.get("sasl.oauthbearer.config").is_none()
    {
        out.issue(
            "sasl.jaas.config",
            "OAUTHBEARER needs an OIDC token endpoint (sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler, sasl.oauthbearer.token.endpoint.url, and clientId/clientSecret in the OAuthBearerLoginModule line) or an unsecured token (unsecuredLoginStringClaim_sub)",
        );
    }
}

fn oidc_client_credentials(m: &Merged<'_>, out: &mut Out, jaas: Option<&jaas::JaasEntry>) {
    let opt = |jaas_key: &str, key: &str| {
        m.value(key)
            .map(str::to_string)
            .or_else(|| jaas.and_then(|e| e.option(jaas_key)).map(str::to_string))
    };
    match m.value("sasl.oauthbearer.token.endpoint.url") {
        Some(url) => out.set("sasl.oauthbearer.token.endpoint.url", url),
        None => out.issue(
            "sasl.oauthbearer.token.endpoint.url",
            "is required for OAUTHBEARER with an OIDC token endpoint",
        ),
    }
    out.set("sasl.oauthbearer.method", "oidc");
    match opt("clientId", "sasl.oauthbearer.client.credentials.client.id") {
        Some(id) => out.set("sasl.oauthbearer.client.id", id),
        None => out.issue(
            "sasl.jaas.config",
            "the OAuthBearerLoginModule line needs clientId=\"...\" (or set sasl.oauthbearer.client.credentials.client.id)",
        ),
    }
    match opt(
        "clientSecret",
        "sasl.oauthbearer.client.credentials.client.secret",
    ) {
        Some(s) => out.set("sasl.oauthbearer.client.secret", s),
        None => out.issue(
            "sasl.jaas.config",
            "the OAuthBearerLoginModule line needs clientSecret=\"...\" (or set sasl.oauthbearer.client.credentials.client.secret)",
        ),
    }
    if let Some(scope) = opt("scope", "sasl.oauthbearer.scope") {
        out.set("sasl.oauthbearer.scope", scope);
    }
    let extensions: Vec<String> = jaas
        .map(|e| {
            e.options
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("extension_").map(|n| format!("{}={}", n, v)))
                .collect()
        })
        .unwrap_or_default();
    if !extensions.is_empty() {
        out.set("sasl.oauthbearer.extensions", extensions.join(","));
    }
    if !librdkafka_features().split(',').any(|f| f == "oidc") {
        out.issue(
            "sasl.oauthbearer.token.endpoint.url",
            "fetching OAUTHBEARER tokens from an OIDC endpoint needs librdkafka built with libcurl, and this Sluice build is not: build it with `cargo build --release --features kafka-oidc`",
        );
    }
}

/// Kafka's unsecured JWS login options to librdkafka's `sasl.oauthbearer.config`.
fn unsecured_jwt(out: &mut Out, e: &jaas::JaasEntry, sub: &str) {
    let mut parts = vec![format!("principal={}", sub)];
    for (k, v) in &e.options {
        let part = match k.as_str() {
            "unsecuredLoginStringClaim_sub" => continue,
            "unsecuredLoginLifetimeSeconds" => format!("lifeSeconds={}", v),
            "unsecuredLoginPrincipalClaimName" => format!("principalClaimName={}", v),
            "unsecuredLoginScopeClaimName" => format!("scopeClaimName={}", v),
            "unsecuredLoginListClaim_scope" => {
                // Kafka: the first character is the delimiter, e.g. ",read,write"
                let mut chars = v.chars();
                let delim = chars.next().unwrap_or(',');
                let scopes: Vec<&str> = chars
                    .as_str()
                    .split(delim)
                    .filter(|s| !s.is_empty())
                    .collect();
                format!("scope={}", scopes.join(","))
            }
            k if k.starts_with("extension_") => format!("{}={}", k, v),
            other => {
                out.issue(
                    "sasl.jaas.config",
                    format!(
                        "the unsecured OAUTHBEARER option {} has no librdkafka equivalent (supported: unsecuredLoginStringClaim_sub, unsecuredLoginLifetimeSeconds, unsecuredLoginPrincipalClaimName, unsecuredLoginScopeClaimName, unsecuredLoginListClaim_scope, extension_*)",
                        other
                    ),
                );
                continue;
            }
        };
        if part.contains(char::is_whitespace) {
            out.issue(
                "sasl.jaas.config",
                format!("the value of {} must not contain spaces for librdkafka", k),
            );
            continue;
        }
        parts.push(part);
    }
    out.set("enable.sasl.oauthbearer.unsecure.jwt", "true");
    out.set("sasl.oauthbearer.config", parts.join(" "));
}

/// The features this build's librdkafka has (`builtin.features`: ssl, sasl_scram,
/// oidc, ...).
pub fn librdkafka_features() -> &'static str {
    static FEATURES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FEATURES.get_or_init(|| {
        rdkafka::ClientConfig::new()
            .create_native_config()
            .and_then(|c| c.get("builtin.features"))
            .unwrap_or_default()
    })
}

/// The worker keys of this module, declared for validation and docs. Connectors may
/// set them too, under `producer.override.` / `consumer.override.` /
/// `admin.override.`.
pub fn security_config_def() -> ConfigDef {
    let g = "Kafka security";
    ConfigDef::new()
        .define(ConfigKey::string("security.protocol").default("PLAINTEXT").group(g).importance(Importance::Medium)
            .doc("How every Kafka client of the worker talks to the brokers: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL. Applies to all clients (connectors' producers and consumers, admin, internal topics); producer./consumer./admin. prefixed and connectors' *.override. keys win."))
        .define(ConfigKey::string("sasl.mechanism").optional().group(g).importance(Importance::Medium)
            .doc("With SASL_*: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (GSSAPI/Kerberos is not supported)."))
        .define(ConfigKey::password("sasl.jaas.config").optional().group(g).importance(Importance::Medium)
            .doc("Java's JAAS line, translated for librdkafka: PlainLoginModule or ScramLoginModule with username and password; OAuthBearerLoginModule with clientId, clientSecret, scope (OIDC) or unsecuredLoginStringClaim_sub. Config providers work (password=\"${file:/etc/kafka/secrets.properties:password}\")."))
        .define(ConfigKey::class("sasl.login.callback.handler.class").optional().group(g)
            .doc("OAUTHBEARER: org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler fetches tokens from sasl.oauthbearer.token.endpoint.url (librdkafka's OIDC support; needs a build with the kafka-oidc feature). Other classes are an error."))
        .define(ConfigKey::string("sasl.oauthbearer.token.endpoint.url").optional().group(g)
            .doc("OAUTHBEARER with OIDC: the token endpoint of the identity provider."))
        .define(ConfigKey::string("ssl.truststore.location").optional().group(g).importance(Importance::Medium)
            .doc("The CA certificates that sign the brokers' certificates: a PEM or PKCS12 file (JKS is an error naming the keytool conversion). Without it the system's CAs are used."))
        .define(ConfigKey::password("ssl.truststore.password").optional().group(g)
            .doc("Password of a PKCS12 truststore."))
        .define(ConfigKey::string("ssl.truststore.type").optional().group(g)
            .doc("PEM or PKCS12; when unset, read from the file (JKS and JCEKS are errors naming the keytool conversion)."))
        .define(ConfigKey::password("ssl.truststore.certificates").optional().group(g)
            .doc("CA certificates as inline PEM (with ssl.truststore.type=PEM or unset)."))
        .define(ConfigKey::string("ssl.keystore.location").optional().group(g).importance(Importance::Medium)
            .doc("The client's certificate and private key for mutual TLS: a PKCS12 file, or a PEM file with both."))
        .define(ConfigKey::password("ssl.keystore.password").optional().group(g)
            .doc("Password of a PKCS12 keystore (its key must have the same password)."))
        .define(ConfigKey::string("ssl.keystore.type").optional().group(g)
            .doc("PKCS12 or PEM; when unset, read from the file."))
        .define(ConfigKey::password("ssl.keystore.certificate.chain").optional().group(g)
            .doc("The client's certificate chain as inline PEM (ssl.keystore.type=PEM)."))
        .define(ConfigKey::password("ssl.keystore.key").optional().group(g)
            .doc("The client's private key as inline PEM (ssl.keystore.type=PEM)."))
        .define(ConfigKey::password("ssl.key.password").optional().group(g)
            .doc("Password of an encrypted PEM private key."))
        .define(ConfigKey::string("ssl.endpoint.identification.algorithm").default("https").group(g)
            .doc("https: check that the broker's certificate names the host connected to; empty: do not (librdkafka's none)."))
}

#[cfg(test)]
mod tests;
