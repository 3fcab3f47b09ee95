//! Secrets in connector configs: which keys hold them, how the REST API shows them
//! (masked), how a masked value sent back is recognised, and how problems with values
//! that came from a config provider are reported without the value.
//!
//! A secret is a key declared `PASSWORD` by the plugin (or the common keys), or a key
//! named like one (`*.password`, `*sasl.jaas.config`, `*.secret`, `*.token`,
//! `*basic.auth.user.info`, `*schema.registry.url`): Kafka client overrides and converter
//! sub-keys carry those.
//! Its value is shown as `[hidden]`, except that a URL keeps everything but its
//! password (`amqp://user:[hidden]@host/vhost`) and a provider placeholder
//! (`${file:...}`) is shown as it is: it is a reference, not the secret.

use super::{ConfigDef, ConfigIssue, ConfigType, RawConfig};

/// What a secret value is replaced with.
pub const MASK: &str = "[hidden]";

/// Key name endings that mark a secret, whatever declares the key.
const SECRET_SUFFIXES: &[&str] = &[
    "password",
    "sasl.jaas.config",
    ".secret",
    ".token",
    "basic.auth.user.info",
    // a URL: shown with only its password masked (`http://user:[hidden]@host`)
    "schema.registry.url",
    "ssl.keystore.key",
    "credentials",
];

/// Whether `key` holds a secret: declared PASSWORD in `def`, or named like one.
pub fn is_secret_key(def: &ConfigDef, key: &str) -> bool {
    if def.key(key).is_some_and(|k| k.kind == ConfigType::Password) {
        return true;
    }
    let lower = key.to_ascii_lowercase();
    SECRET_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// The secret values of a resolved config (its PASSWORD keys, keys named like secrets,
/// and keys whose value came from a config provider), for hiding them wherever record
/// contents are shown (the live tap). A URL contributes its password.
pub fn secret_values(
    def: &ConfigDef,
    resolved: &RawConfig,
    provider_keys: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in resolved.iter() {
        if !(is_secret_key(def, k) || provider_keys.contains(k)) || v.len() < 3 {
            continue;
        }
        if let Some(pass) = url_password(v) {
            if pass.len() >= 3 {
                out.push(pass.to_string());
            }
        }
        out.push(v.clone());
    }
    out
}

/// The password of `scheme://user:pass@host...`, if there is one.
fn url_password(value: &str) -> Option<&str> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, pass) = userinfo.split_once(':')?;
    Some(pass)
}

/// A secret value as shown. Placeholders stay (they name where the secret is, not
/// what it is); URLs keep all but their password; anything else is [`MASK`].
pub fn mask_value(value: &str) -> String {
    if value.contains("${") {
        return value.to_string();
    }
    match mask_url_password(value) {
        Some(masked) => masked,
        None if value.is_empty() => String::new(),
        None => MASK.to_string(),
    }
}

/// `scheme://user:pass@host...` → `scheme://user:[hidden]@host...`, and a
/// `password=`/`pwd=` query parameter masked; `None` if `value` is not a URL with
/// an authority (then the whole value is masked).
fn mask_url_password(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    if scheme.is_empty() || scheme.contains(char::is_whitespace) {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{}:{}@{}", user, MASK, host),
            None => format!("{}@{}", userinfo, host),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _))
                        if ["password", "pwd", "sslpassword"]
                            .contains(&k.to_ascii_lowercase().as_str()) =>
                    {
                        format!("{}={}", k, MASK)
                    }
                    _ => p.to_string(),
                })
                .collect();
            format!("{}?{}", path, params.join("&"))
        }
        None => tail.to_string(),
    };
    Some(format!("{}://{}{}", scheme, authority, tail))
}

/// A config as the REST API shows it: every secret masked.
pub fn mask(def: &ConfigDef, raw: &RawConfig) -> RawConfig {
    raw.iter()
        .map(|(k, v)| {
            let shown = if is_secret_key(def, k) {
                mask_value(v)
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// A config sent back after a read (`PUT .../config` with what `GET` showed): a secret
/// whose value is the masked form of the stored one keeps the stored value.
pub fn unmask(def: &ConfigDef, mut incoming: RawConfig, stored: &RawConfig) -> RawConfig {
    for (k, v) in incoming.iter_mut() {
        if let Some(old) = stored.get(k) {
            if is_secret_key(def, k) && v.contains(MASK) && *v == mask_value(old) {
                *v = old.clone();
            }
        }
    }
    incoming
}

/// Problems found in a resolved config, without the values config providers supplied:
/// each such value is replaced by the placeholder it came from.
pub fn scrub_issues(
    issues: Vec<ConfigIssue>,
    raw: &RawConfig,
    resolved: &RawConfig,
    secret_keys: &[String],
) -> Vec<ConfigIssue> {
    let secrets: Vec<(&str, &str)> = secret_keys
        .iter()
        .filter_map(|k| Some((resolved.get(k)?.as_str(), raw.get(k)?.as_str())))
        .filter(|(value, placeholder)| !value.is_empty() && value != placeholder)
        .collect();
    issues
        .into_iter()
        .map(|mut i| {
            for (value, placeholder) in &secrets {
                if i.message.contains(value) {
                    i.message = i.message.replace(value, placeholder);
                }
            }
            i
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigKey;

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(ConfigKey::password("amqp.uri"))
            .define(ConfigKey::string("queue"))
    }

    #[test]
    fn secrets_are_masked_urls_keep_their_shape() {
        let raw: RawConfig = [
            ("amqp.uri", "amqp://user:s3cret@rabbit:5672/vh"),
            ("queue", "q"),
            (
                "producer.override.sasl.jaas.config",
                "org...PlainLoginModule required username=\"u\" password=\"p\";",
            ),
            ("connection.password", "pw"),
            (
                "connection.url",
                "jdbc:postgresql://db/x?user=u&password=pw",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let shown = mask(&def(), &raw);
        assert_eq!(shown["amqp.uri"], "amqp://user:[hidden]@rabbit:5672/vh");
        assert_eq!(shown["queue"], "q");
        assert_eq!(shown["producer.override.sasl.jaas.config"], "[hidden]");
        assert_eq!(shown["connection.password"], "[hidden]");
        // connection.url is not declared here, and its name is not a secret's.
        assert_eq!(shown["connection.url"], raw["connection.url"]);
        let shown = mask_value("jdbc:postgresql://db/x?user=u&password=pw");
        assert_eq!(shown, "jdbc:postgresql://db/x?user=u&password=[hidden]");
        assert_eq!(
            mask_value("${file:/s.properties:pw}"),
            "${file:/s.properties:pw}"
        );
        assert_eq!(mask_value("mongodb://h:27017"), "mongodb://h:27017");
    }

    #[test]
    fn a_masked_value_sent_back_keeps_the_stored_secret() {
        let stored: RawConfig = [
            ("amqp.uri".to_string(), "amqp://u:s3cret@h/v".to_string()),
            ("x.password".to_string(), "old".to_string()),
        ]
        .into();
        let incoming: RawConfig = [
            ("amqp.uri".to_string(), "amqp://u:[hidden]@h/v".to_string()),
            ("x.password".to_string(), "new".to_string()),
        ]
        .into();
        let back = unmask(&def(), incoming, &stored);
        assert_eq!(back["amqp.uri"], "amqp://u:s3cret@h/v");
        assert_eq!(back["x.password"], "new", "a new secret replaces the old");
        // A masked URL that changed elsewhere is not the stored one: kept as sent.
        let incoming: RawConfig = [(
            "amqp.uri".to_string(),
            "amqp://u:[hidden]@other/v".to_string(),
        )]
        .into();
        assert_eq!(
            unmask(&def(), incoming, &stored)["amqp.uri"],
            "amqp://u:[hidden]@other/v"
        );
    }

    #[test]
    fn provider_values_never_appear_in_problems() {
        let raw: RawConfig = [("n".to_string(), "${env:N}".to_string())].into();
        let resolved: RawConfig = [("n".to_string(), "hunter2".to_string())].into();
        let issues = vec![ConfigIssue::new(
            "n",
            "Invalid value hunter2 for configuration n: Not a number of type INT",
        )];
        let out = scrub_issues(issues, &raw, &resolved, &["n".to_string()]);
        assert_eq!(
            out[0].message,
            "Invalid value ${env:N} for configuration n: Not a number of type INT"
        );
    }
}
