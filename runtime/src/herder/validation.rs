//! The body of `PUT /connector-plugins/{plugin}/config/validate`: every key that applies,
//! with its definition, value and errors (Connect's `ConfigInfos`).

use std::collections::BTreeMap;

use crate::config::{ConfigDef, ConfigIssue, ConfigKey, DefaultValue, RawConfig, Validator};

/// One key's value and problems.
#[derive(Debug, Clone)]
pub struct ConfigValueReport {
    pub key: ConfigKey,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
}

/// A whole validation.
#[derive(Debug, Clone)]
pub struct ValidationReport {
    /// The connector class the config names (or as given).
    pub name: String,
    pub error_count: usize,
    pub groups: Vec<String>,
    pub configs: Vec<ConfigValueReport>,
    /// Keys nothing reads (Sluice; not in Connect's body): `(key, message)`.
    pub warnings: Vec<ConfigIssue>,
}

/// Builds the report from the keys that apply and the problems found.
pub fn validation_report(
    name: &str,
    def: &ConfigDef,
    raw: &RawConfig,
    issues: &[ConfigIssue],
    secret_keys: &[String],
) -> ValidationReport {
    let mut errors: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in issues {
        errors
            .entry(i.key.as_str())
            .or_default()
            .push(i.message.clone());
    }
    let mut configs = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for k in def.keys() {
        seen.insert(k.name.clone());
        if let Some(g) = &k.group {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        let unparsable = raw.get(&k.name).is_some_and(|v| k.parse_value(v).is_err());
        let value = if unparsable {
            // As Connect: a value that does not parse shows as null beside its error.
            None
        } else if secret_keys.contains(&k.name) || k.kind == crate::config::ConfigType::Password {
            raw.get(&k.name).map(|_| "[hidden]".to_string())
        } else {
            raw.get(&k.name).cloned().or_else(|| match &k.default {
                DefaultValue::Value(v) => Some(v.clone()),
                _ => None,
            })
        };
        let recommended_values = match &k.validator {
            _ if k.recommended.is_some() => k.recommended.clone().unwrap_or_default(),
            Some(Validator::OneOf(v)) | Some(Validator::EachOneOf(v)) => {
                v.iter().map(|s| s.to_string()).collect()
            }
            _ => Vec::new(),
        };
        configs.push(ConfigValueReport {
            key: k.clone(),
            value,
            recommended_values,
            errors: errors.get(k.name.as_str()).cloned().unwrap_or_default(),
        });
    }
    // Problems under keys no definition covers (e.g. an unknown converter's sub-key).
    for (key, errs) in &errors {
        if !seen.contains(*key) {
            configs.push(ConfigValueReport {
                key: ConfigKey::string(*key).optional(),
                value: raw.get(*key).cloned(),
                recommended_values: Vec::new(),
                errors: errs.clone(),
            });
        }
    }
    ValidationReport {
        name: name.to_string(),
        error_count: configs.iter().map(|c| c.errors.len()).sum(),
        groups,
        configs,
        warnings: Vec::new(),
    }
}
