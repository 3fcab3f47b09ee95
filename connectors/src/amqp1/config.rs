//! The connection keys shared by `amqp1-source` and `amqp1-sink` (`amqp1.uri`, SASL,
//! TLS, timeouts), parsed once into [`ServerConfig`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sluice_runtime::config::{
    millis, ConfigDef, ConfigIssue, ConfigKey, Importance, ParsedConfig, TypedValue, Validator,
};

use crate::tls::{Identity, TlsSettings, Verify};

pub(crate) const GROUP: &str = "AMQP 1.0";
const TLS_GROUP: &str = "AMQP 1.0 TLS";

/// One broker address of `amqp1.uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// amqps://: TLS from the first byte.
    pub tls: bool,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}:{}",
            if self.tls { "amqps" } else { "amqp" },
            self.host,
            self.port
        )
    }
}

/// How the client authenticates.
#[derive(Clone, PartialEq, Eq)]
pub enum Sasl {
    Anonymous,
    Plain {
        user: String,
        password: String,
    },
    /// The identity is the TLS client certificate's (see `sasl_external`).
    External,
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sasl::Anonymous => f.write_str("ANONYMOUS"),
            Sasl::Plain { user, .. } => write!(f, "PLAIN({})", user),
            Sasl::External => f.write_str("EXTERNAL"),
        }
    }
}

/// A rustls client config, shown without its contents.
#[derive(Clone)]
pub struct Tls(pub Arc<rustls::ClientConfig>);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

/// Where and how to connect; never shows the password.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Tried in order at each connection attempt (a failover list).
    pub endpoints: Vec<Endpoint>,
    pub sasl: Sasl,
    pub tls: Option<Tls>,
    pub connection_timeout: Duration,
    pub idle_timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

impl ServerConfig {
    /// The endpoints, for logs and status (no credentials).
    pub fn describe(&self) -> String {
        self.endpoints
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The connection keys (`amqp1.uri`, `amqp1.sasl.mechanism`, `amqp1.ssl.*`, timeouts).
pub fn connection_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::password("amqp1.uri").optional().importance(Importance::High).group(GROUP)
            .validator(Validator::Custom(check_uri))
            .doc("The broker, as amqp://user:password@host:5672 (amqps:// for TLS from the first byte, as Artemis' sslEnabled acceptors, Azure Service Bus and IBM MQ TLS channels expect). Several URIs separated by commas form a failover list, tried in order at each (re)connection. Credentials are percent-encoded and sent with SASL PLAIN; without them SASL ANONYMOUS is used. Required unless mq.connection.name.list is set. It holds a secret: use a config provider such as ${env:AMQP1_URI}; it is masked in REST responses and never logged."))
        .define(ConfigKey::string("amqp1.sasl.mechanism").default("").one_of(&["", "PLAIN", "ANONYMOUS", "EXTERNAL"]).importance(Importance::Medium).group(GROUP)
            .doc("PLAIN, ANONYMOUS or EXTERNAL; empty chooses PLAIN when the URI (or mq.user.name) has a user and ANONYMOUS otherwise. EXTERNAL authenticates by the TLS client certificate: it needs amqps:// URIs, a client certificate (amqp1.ssl.certificate.location and amqp1.ssl.key.location, or amqp1.ssl.keystore.location) and no user or password."))
        .define(ConfigKey::long("amqp1.connection.timeout.ms").default("10000").at_least(1.0).importance(Importance::Low).group(GROUP)
            .doc("How long one attempt to connect, authenticate and attach the link may take before it counts as failed (and the next URI of the list is tried)."))
        .define(ConfigKey::long("amqp1.idle.timeout.ms").default("30000").at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The idle time-out announced to the broker (AMQP heartbeats); 0 turns it off."))
        .define(ConfigKey::long("amqp1.reconnect.delay.min.ms").default("64").at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The first delay before reconnecting after the connection was lost or could not be made; it doubles on each failed attempt up to amqp1.reconnect.delay.max.ms."))
        .define(ConfigKey::long("amqp1.reconnect.delay.max.ms").default("8192").at_least(0.0).importance(Importance::Low).group(GROUP)
            .doc("The longest delay between reconnection attempts."))
        .define(ConfigKey::string("amqp1.ssl.ca.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With amqps://: a PEM file of the CA certificates that sign the broker's certificate (default: the system's roots). The broker's name is always checked against the URI's host."))
        .define(ConfigKey::string("amqp1.ssl.certificate.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With amqps://: the client's certificate chain (PEM) for brokers that ask for one; needs amqp1.ssl.key.location."))
        .define(ConfigKey::string("amqp1.ssl.key.location").optional().importance(Importance::Medium).group(TLS_GROUP)
            .doc("With amqps://: the client's private key (PEM, unencrypted) for amqp1.ssl.certificate.location."))
        .define(ConfigKey::string("amqp1.ssl.keystore.location").optional().importance(Importance::Low).group(TLS_GROUP)
            .doc("With amqps://: the client's certificate and key as a PKCS12 file, instead of the two PEM files (JKS: convert with keytool -importkeystore ... -deststoretype PKCS12)."))
        .define(ConfigKey::password("amqp1.ssl.keystore.password").optional().importance(Importance::Low).group(TLS_GROUP)
            .doc("The password of amqp1.ssl.keystore.location (masked in REST responses, never logged)."))
}

fn check_uri(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::Password(s) | TypedValue::String(s) if !s.trim().is_empty() => {
            parse_uris(s).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// A user and password from a URI.
pub type Credentials = (String, String);

/// The endpoints and credentials of a comma-separated URI list. Errors never repeat a
/// URI (it may hold a password).
pub fn parse_uris(s: &str) -> Result<(Vec<Endpoint>, Option<Credentials>), String> {
    let mut endpoints = Vec::new();
    let mut creds = None;
    for (i, part) in s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let n = i + 1;
        let url = url::Url::parse(part)
            .map_err(|e| format!("URI {} of the list is not a valid URI: {}", n, e))?;
        let tls = match url.scheme() {
            "amqp" => false,
            "amqps" => true,
            other => {
                return Err(format!(
                    "URI {} of the list has the scheme {}: use amqp:// or amqps://",
                    n, other
                ))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("URI {} of the list has no host", n))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let port = url.port().unwrap_or(if tls { 5671 } else { 5672 });
        if !url.username().is_empty() {
            let dec = |x: &str| {
                percent_decode(x).map_err(|_| {
                    format!(
                        "URI {} of the list: credentials are not valid percent-encoded UTF-8",
                        n
                    )
                })
            };
            let user = dec(url.username())?;
            let password = dec(url.password().unwrap_or(""))?;
            match &creds {
                None => creds = Some((user, password)),
                Some(c) if *c == (user.clone(), password.clone()) => {}
                Some(_) => {
                    return Err(format!(
                        "URI {} of the list has other credentials than the first: one set of credentials serves the whole failover list",
                        n
                    ))
                }
            }
        }
        endpoints.push(Endpoint { host, port, tls });
    }
    if endpoints.is_empty() {
        return Err("holds no URI".into());
    }
    Ok((endpoints, creds))
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3]).map_err(|_| ())?;
            out.push(u8::from_str_radix(h, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// IBM MQ's `mq.connection.name.list` (`host(port),host(port)`) as endpoints.
pub fn parse_connection_name_list(s: &str, tls: bool) -> Result<Vec<Endpoint>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (host, port) = match part.split_once('(') {
            Some((h, rest)) => {
                let p = rest.strip_suffix(')').ok_or_else(|| {
                    format!(
                        "{} is not host(port): the closing parenthesis is missing",
                        part
                    )
                })?;
                let port = p
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| format!("{}: {} is not a port number", part, p))?;
                (h.trim().to_string(), port)
            }
            None => (part.to_string(), if tls { 5671 } else { 5672 }),
        };
        if host.is_empty() {
            return Err(format!("{} has no host", part));
        }
        out.push(Endpoint { host, port, tls });
    }
    if out.is_empty() {
        return Err("holds no host(port)".into());
    }
    Ok(out)
}

/// The IBM MQ connection keys an AMQP channel understands, read as aliases.
pub fn ibm_connection_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::string("mq.connection.name.list").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias: host(port),host(port) of the queue manager's AMQP channel, a failover list tried in order (amqp1.uri wins when both are set). TLS when mq.ssl.* keys are set."))
        .define(ConfigKey::string("mq.user.name").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias: the user for SASL PLAIN (the credentials in amqp1.uri win)."))
        .define(ConfigKey::password("mq.password").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias: the password for SASL PLAIN (masked, never logged)."))
        .define(ConfigKey::string("mq.ssl.truststore.location").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.ssl.ca.location: a PEM file of trusted CAs (a JKS or PKCS12 truststore must be converted: keytool -exportcert -rfc ...)."))
        .define(ConfigKey::password("mq.ssl.truststore.password").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias, not needed: PEM trust files have no password."))
        .define(ConfigKey::string("mq.ssl.keystore.location").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.ssl.keystore.location (PKCS12)."))
        .define(ConfigKey::password("mq.ssl.keystore.password").optional().group("IBM MQ aliases")
            .doc("IBM MQ alias of amqp1.ssl.keystore.password."))
}

/// Reads the connection keys (with the IBM MQ aliases), every problem named by its key.
pub fn server_config(p: &ParsedConfig, issues: &mut Vec<ConfigIssue>) -> Option<ServerConfig> {
    // amqp1.* keys are declared by both connectors; the IBM MQ aliases (mq.*) only by
    // the source, so they are read from the raw map.
    let opt = |k: &str| {
        if k.starts_with("mq.") {
            p.raw().get(k).cloned()
        } else {
            p.string(k)
        }
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
    };
    let path = |a: &str, b: &str| opt(a).or_else(|| opt(b)).map(PathBuf::from);
    let ca = path("amqp1.ssl.ca.location", "mq.ssl.truststore.location");
    let cert = path(
        "amqp1.ssl.certificate.location",
        "amqp1.ssl.certificate.location",
    );
    let key = path("amqp1.ssl.key.location", "amqp1.ssl.key.location");
    let keystore = path("amqp1.ssl.keystore.location", "mq.ssl.keystore.location");
    let any_tls = ca.is_some() || cert.is_some() || key.is_some() || keystore.is_some();
    let (endpoints, creds) = match (opt("amqp1.uri"), opt("mq.connection.name.list")) {
        (Some(u), _) => match parse_uris(&u) {
            Ok(x) => x,
            Err(e) => {
                issues.push(ConfigIssue::new("amqp1.uri", e));
                return None;
            }
        },
        (None, Some(list)) => match parse_connection_name_list(&list, any_tls) {
            Ok(e) => (e, None),
            Err(e) => {
                issues.push(ConfigIssue::new("mq.connection.name.list", e));
                return None;
            }
        },
        (None, None) => {
            issues.push(ConfigIssue::new(
                "amqp1.uri",
                "is required (or the IBM MQ alias mq.connection.name.list)",
            ));
            return None;
        }
    };
    let creds = creds.or_else(|| {
        opt("mq.user.name").map(|u| (u, p.raw().get("mq.password").cloned().unwrap_or_default()))
    });
    let mechanism = p.str("amqp1.sasl.mechanism");
    let sasl = match (mechanism.as_str(), creds) {
        ("EXTERNAL", Some(_)) => {
            issues.push(ConfigIssue::new(
                "amqp1.sasl.mechanism",
                "EXTERNAL takes the identity from the client certificate: remove the user and password (from amqp1.uri, or mq.user.name and mq.password)",
            ));
            return None;
        }
        ("EXTERNAL", None) => Sasl::External,
        ("ANONYMOUS", _) | ("", None) => Sasl::Anonymous,
        (_, Some((user, password))) => Sasl::Plain { user, password },
        ("PLAIN", None) => {
            issues.push(ConfigIssue::new(
                "amqp1.sasl.mechanism",
                "PLAIN needs a user and password in amqp1.uri (amqp://user:password@host) or mq.user.name and mq.password",
            ));
            return None;
        }
        (other, None) => {
            issues.push(ConfigIssue::new(
                "amqp1.sasl.mechanism",
                format!("unknown mechanism {}", other),
            ));
            return None;
        }
    };
    let uses_tls = endpoints.iter().any(|e| e.tls);
    if sasl == Sasl::External {
        if let Some(e) = endpoints.iter().find(|e| !e.tls) {
            issues.push(ConfigIssue::new(
                "amqp1.sasl.mechanism",
                format!("EXTERNAL needs TLS, but {} is not amqps://", e),
            ));
        }
        if cert.is_none() && keystore.is_none() {
            issues.push(ConfigIssue::new(
                "amqp1.sasl.mechanism",
                "EXTERNAL needs a client certificate: set amqp1.ssl.certificate.location and amqp1.ssl.key.location, or amqp1.ssl.keystore.location",
            ));
        }
    }
    if any_tls && !uses_tls {
        issues.push(ConfigIssue::new(
            "amqp1.uri",
            "the amqp1.ssl.* keys are set but no URI is amqps://: use amqps://host:5671 for TLS",
        ));
    }
    let tls = if uses_tls {
        let identity = match (cert, key, keystore) {
            (Some(_), Some(_), Some(_)) => {
                issues.push(ConfigIssue::new("amqp1.ssl.keystore.location", "set either amqp1.ssl.keystore.location or amqp1.ssl.certificate.location with amqp1.ssl.key.location, not both"));
                None
            }
            (Some(cert), Some(key), None) => Some(Identity::Pem { cert, key }),
            (Some(_), None, _) => {
                issues.push(ConfigIssue::new(
                    "amqp1.ssl.key.location",
                    "is required with amqp1.ssl.certificate.location",
                ));
                None
            }
            (None, Some(_), _) => {
                issues.push(ConfigIssue::new(
                    "amqp1.ssl.certificate.location",
                    "is required with amqp1.ssl.key.location",
                ));
                None
            }
            (None, None, Some(path)) => Some(Identity::Pkcs12 {
                path,
                password: p
                    .string("amqp1.ssl.keystore.password")
                    .or_else(|| p.raw().get("mq.ssl.keystore.password").cloned())
                    .unwrap_or_default(),
            }),
            (None, None, None) => None,
        };
        let identity_key = match &identity {
            Some(Identity::Pkcs12 { .. }) => "amqp1.ssl.keystore.location",
            _ => "amqp1.ssl.certificate.location",
        };
        let settings = TlsSettings {
            ca,
            identity,
            verify: Verify::Full,
        };
        match settings.client_config("amqp1.ssl.ca.location", identity_key) {
            Ok(c) => Some(Tls(Arc::new(c))),
            Err(e) => {
                let (k, m) = e.split_once(": ").unwrap_or(("amqp1.uri", &e));
                issues.push(ConfigIssue::new(k, m));
                None
            }
        }
    } else {
        None
    };
    let min = millis(p.long("amqp1.reconnect.delay.min.ms"));
    let max = millis(p.long("amqp1.reconnect.delay.max.ms"));
    if max < min {
        issues.push(ConfigIssue::new(
            "amqp1.reconnect.delay.max.ms",
            "must not be less than amqp1.reconnect.delay.min.ms",
        ));
    }
    Some(ServerConfig {
        endpoints,
        sasl,
        tls,
        connection_timeout: millis(p.long("amqp1.connection.timeout.ms")),
        idle_timeout: millis(p.long("amqp1.idle.timeout.ms")),
        reconnect_min: min.max(Duration::from_millis(1)),
        reconnect_max: max.max(Duration::from_millis(1)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_lists_and_credentials() {
        let (e, c) = parse_uris("amqp://u%40x:p%2Cw@h1:5673, amqps://u%40x:p%2Cw@h2").unwrap();
        assert_eq!(
            e,
            vec![
                Endpoint {
                    host: "h1".into(),
                    port: 5673,
                    tls: false
                },
                Endpoint {
                    host: "h2".into(),
                    port: 5671,
                    tls: true
                }
            ]
        );
        assert_eq!(c, Some(("u@x".to_string(), "p,w".to_string())));
        let err = parse_uris("amqp://a:secret@h1,amqp://b:other@h2").unwrap_err();
        assert!(err.contains("URI 2") && !err.contains("secret"), "{}", err);
        let err = parse_uris("http://u:secret@h").unwrap_err();
        assert!(
            err.contains("amqp://") && !err.contains("secret"),
            "{}",
            err
        );
    }

    #[test]
    fn ibm_connection_name_lists() {
        let e = parse_connection_name_list("qm1.example(5672), qm2.example(5673)", false).unwrap();
        assert_eq!(
            e[0],
            Endpoint {
                host: "qm1.example".into(),
                port: 5672,
                tls: false
            }
        );
        assert_eq!(e[1].port, 5673);
        assert!(parse_connection_name_list("qm1(56x)", false)
            .unwrap_err()
            .contains("port"));
        assert!(parse_connection_name_list("qm1(5672", false)
            .unwrap_err()
            .contains("parenthesis"));
    }
}
