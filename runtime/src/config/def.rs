//! Declared config keys. Every plugin declares its keys once; the declaration yields
//! validation (all problems at once), typed parsing, `sluice plugins` output and the
//! REST `config` / `validate` bodies.

use std::collections::BTreeMap;

use super::{ConfigIssue, ParsedConfig, RawConfig, TypedValue};

/// The type of a config key, with Connect's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Short,
    Int,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// Connect's upper-case name (`STRING`, `INT`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Short => "SHORT",
            ConfigType::Int => "INT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

/// How much a key matters, as in Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    pub fn name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// How wide a UI field for the key should be, as in Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Width {
    #[default]
    None,
    Short,
    Medium,
    Long,
}

impl Width {
    pub fn name(self) -> &'static str {
        match self {
            Width::None => "NONE",
            Width::Short => "SHORT",
            Width::Medium => "MEDIUM",
            Width::Long => "LONG",
        }
    }
}

/// What a key is when the user does not set it.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// The key must be set.
    Required,
    /// Unset means null.
    Null,
    /// The default, written as the user would write it.
    Value(String),
}

/// A check applied to a parsed value.
#[derive(Clone)]
pub enum Validator {
    /// Inclusive numeric range; either end may be open.
    Range { min: Option<f64>, max: Option<f64> },
    /// One of these strings (case-insensitive); listed in `recommended_values`.
    OneOf(Vec<&'static str>),
    /// Every list element is one of these strings (case-insensitive).
    EachOneOf(Vec<&'static str>),
    /// A non-empty string.
    NonEmpty,
    /// A custom check; returns why the value is wrong.
    Custom(fn(&TypedValue) -> Result<(), String>),
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validator::Range { min, max } => write!(f, "Range({:?}, {:?})", min, max),
            Validator::OneOf(v) => write!(f, "OneOf({:?})", v),
            Validator::EachOneOf(v) => write!(f, "EachOneOf({:?})", v),
            Validator::NonEmpty => write!(f, "NonEmpty"),
            Validator::Custom(_) => write!(f, "Custom"),
        }
    }
}

impl Validator {
    /// Describes the accepted values for docs (`[1,...]`, `[none, all]`).
    pub fn describe(&self) -> String {
        match self {
            Validator::Range { min, max } => {
                let fmt = |v: &Option<f64>| match v {
                    Some(x) => format!("{}", x),
                    None => "...".into(),
                };
                format!("[{},{}]", fmt(min), fmt(max))
            }
            Validator::OneOf(v) | Validator::EachOneOf(v) => format!("[{}]", v.join(", ")),
            Validator::NonEmpty => "non-empty string".into(),
            Validator::Custom(_) => String::new(),
        }
    }

    fn check(&self, value: &TypedValue) -> Result<(), String> {
        match (self, value) {
            (_, TypedValue::Null) => Ok(()),
            (Validator::Range { min, max }, v) => {
                let x = match v {
                    TypedValue::Int(i) => *i as f64,
                    TypedValue::Long(i) => *i as f64,
                    TypedValue::Double(d) => *d,
                    _ => return Ok(()),
                };
                if let Some(m) = min {
                    if x < *m {
                        return Err(format!("Value must be at least {}", m));
                    }
                }
                if let Some(m) = max {
                    if x > *m {
                        return Err(format!("Value must be no more than {}", m));
                    }
                }
                Ok(())
            }
            (Validator::OneOf(allowed), TypedValue::String(s)) => {
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                    Ok(())
                } else {
                    Err(format!("String must be one of: {}", allowed.join(", ")))
                }
            }
            (Validator::EachOneOf(allowed), TypedValue::List(items)) => {
                for s in items {
                    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                        return Err(format!(
                            "Invalid value {}; each element must be one of: {}",
                            s,
                            allowed.join(", ")
                        ));
                    }
                }
                Ok(())
            }
            (Validator::NonEmpty, TypedValue::String(s)) => {
                if s.trim().is_empty() {
                    Err("String must be non-empty".into())
                } else {
                    Ok(())
                }
            }
            (Validator::Custom(f), v) => f(v),
            _ => Ok(()),
        }
    }
}

/// One declared key.
#[derive(Debug, Clone)]
pub struct ConfigKey {
    pub name: String,
    pub kind: ConfigType,
    pub default: DefaultValue,
    pub importance: Importance,
    pub doc: String,
    pub group: Option<String>,
    pub display_name: Option<String>,
    pub validator: Option<Validator>,
    pub width: Width,
    /// Position within its group (Connect's `order_in_group`); `None`: the key's
    /// place among the group's keys, or -1 without a group.
    pub order_in_group: Option<i32>,
    /// Values a UI may offer (`recommended_values`); `None`: a `one_of` validator's
    /// values.
    pub recommended: Option<Vec<String>>,
}

impl ConfigKey {
    /// A key of `kind` that must be set; refine with the builder methods.
    pub fn new(name: impl Into<String>, kind: ConfigType) -> Self {
        ConfigKey {
            name: name.into(),
            kind,
            default: DefaultValue::Required,
            importance: Importance::Medium,
            doc: String::new(),
            group: None,
            display_name: None,
            validator: None,
            width: Width::None,
            order_in_group: None,
            recommended: None,
        }
    }
    pub fn short(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::Short)
    }
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::String)
    }
    pub fn int(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::Int)
    }
    pub fn long(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::Long)
    }
    pub fn double(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::Double)
    }
    pub fn boolean(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::Boolean)
    }
    pub fn list(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::List)
    }
    pub fn class(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::Class)
    }
    pub fn password(name: impl Into<String>) -> Self {
        Self::new(name, ConfigType::Password)
    }
    /// Sets a default, written as a user would write the value.
    pub fn default(mut self, value: impl Into<String>) -> Self {
        self.default = DefaultValue::Value(value.into());
        self
    }
    /// Unset means null.
    pub fn optional(mut self) -> Self {
        self.default = DefaultValue::Null;
        self
    }
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = doc.into();
        self
    }
    pub fn importance(mut self, importance: Importance) -> Self {
        self.importance = importance;
        self
    }
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    /// The label a UI shows (Connect's `display_name`; the key's name if unset).
    pub fn display(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }
    pub fn width(mut self, width: Width) -> Self {
        self.width = width;
        self
    }
    /// Sets Connect's `order_in_group`.
    pub fn order(mut self, order: i32) -> Self {
        self.order_in_group = Some(order);
        self
    }
    /// Values a UI may offer for the key.
    pub fn recommend(mut self, values: Vec<String>) -> Self {
        self.recommended = Some(values);
        self
    }
    pub fn validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self
    }
    pub fn one_of(self, allowed: &[&'static str]) -> Self {
        self.validator(Validator::OneOf(allowed.to_vec()))
    }
    pub fn at_least(self, min: f64) -> Self {
        self.validator(Validator::Range {
            min: Some(min),
            max: None,
        })
    }
    pub fn between(self, min: f64, max: f64) -> Self {
        self.validator(Validator::Range {
            min: Some(min),
            max: Some(max),
        })
    }
    pub fn required(&self) -> bool {
        self.default == DefaultValue::Required
    }
    /// The default as Connect shows it in REST bodies (`null` if none).
    pub fn default_string(&self) -> Option<&str> {
        match &self.default {
            DefaultValue::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Parses a raw string into this key's type.
    pub fn parse_value(&self, raw: &str) -> Result<TypedValue, String> {
        let t = raw.trim();
        match self.kind {
            ConfigType::Boolean => match t.to_ascii_lowercase().as_str() {
                "true" => Ok(TypedValue::Boolean(true)),
                "false" => Ok(TypedValue::Boolean(false)),
                _ => Err(format!(
                    "Invalid value {} for configuration {}: Expected value to be either true or false",
                    raw, self.name
                )),
            },
            ConfigType::Short => t.parse::<i16>().map(|v| TypedValue::Int(v as i32)).map_err(|_| {
                format!(
                    "Invalid value {} for configuration {}: Not a number of type SHORT",
                    raw, self.name
                )
            }),
            ConfigType::Int => t.parse::<i32>().map(TypedValue::Int).map_err(|_| {
                format!(
                    "Invalid value {} for configuration {}: Not a number of type INT",
                    raw, self.name
                )
            }),
            ConfigType::Long => t.parse::<i64>().map(TypedValue::Long).map_err(|_| {
                format!(
                    "Invalid value {} for configuration {}: Not a number of type LONG",
                    raw, self.name
                )
            }),
            ConfigType::Double => t.parse::<f64>().map(TypedValue::Double).map_err(|_| {
                format!(
                    "Invalid value {} for configuration {}: Not a number of type DOUBLE",
                    raw, self.name
                )
            }),
            ConfigType::List => Ok(TypedValue::List(split_list(raw))),
            ConfigType::String | ConfigType::Class => Ok(TypedValue::String(t.to_string())),
            ConfigType::Password => Ok(TypedValue::Password(raw.to_string())),
        }
    }
}

/// Splits a Connect list value: comma-separated, trimmed, empty items dropped.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A set of declared keys.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
    /// Families of keys the plugin reads by prefix (`topic.override.`).
    prefixes: Vec<String>,
    /// Keys of the connector Sluice is compatible with that Sluice does not implement,
    /// with a note for the user.
    unsupported: Vec<(String, String)>,
}

impl ConfigDef {
    pub fn new() -> Self {
        ConfigDef::default()
    }
    /// Accepts every key starting with `prefix` (a family the plugin reads itself).
    pub fn accept_prefix(mut self, prefix: &str) -> Self {
        self.prefixes.push(prefix.to_string());
        self
    }
    /// Names a key of the peer connector that Sluice does not implement; a config that
    /// sets it gets a warning with `note`.
    pub fn not_supported(mut self, key: &str, note: &str) -> Self {
        self.unsupported.push((key.to_string(), note.to_string()));
        self
    }
    /// [`not_supported`](Self::not_supported) for several keys with the same note.
    pub fn not_supported_keys(mut self, keys: &[&str], note: &str) -> Self {
        for k in keys {
            self = self.not_supported(k, note);
        }
        self
    }
    /// Whether `key` belongs to a family this definition accepts by prefix.
    pub fn accepts_prefix_of(&self, key: &str) -> bool {
        self.prefixes.iter().any(|p| key.starts_with(p.as_str()))
    }
    /// The note for a peer connector's key that Sluice does not implement.
    pub fn unsupported_note(&self, key: &str) -> Option<&str> {
        self.unsupported
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| n.as_str())
    }
    /// Adds a key; a later key with the same name replaces the earlier one.
    pub fn define(mut self, key: ConfigKey) -> Self {
        self.add(key);
        self
    }
    pub fn add(&mut self, key: ConfigKey) {
        if let Some(existing) = self.keys.iter_mut().find(|k| k.name == key.name) {
            *existing = key;
        } else {
            self.keys.push(key);
        }
    }
    /// Adds every key of `other`, names prefixed with `prefix` and put in `group`.
    pub fn embed(mut self, prefix: &str, group: &str, other: &ConfigDef) -> Self {
        for k in &other.keys {
            let mut k = k.clone();
            k.name = format!("{}{}", prefix, k.name);
            k.group = Some(group.to_string());
            self.add(k);
        }
        self
    }
    /// Adds every key of `other` unchanged (and its prefixes and unsupported keys).
    pub fn merge(mut self, other: &ConfigDef) -> Self {
        for k in &other.keys {
            self.add(k.clone());
        }
        self.prefixes.extend(other.prefixes.iter().cloned());
        self.unsupported.extend(other.unsupported.iter().cloned());
        self
    }
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }
    /// Changes the default of a declared key (e.g. to the worker's converter).
    pub fn set_default(&mut self, name: &str, value: impl Into<String>) {
        if let Some(k) = self.keys.iter_mut().find(|k| k.name == name) {
            k.default = DefaultValue::Value(value.into());
        }
    }
    /// Sets the recommended values of a declared key.
    pub fn set_recommended(&mut self, name: &str, values: Vec<String>) {
        if let Some(k) = self.keys.iter_mut().find(|k| k.name == name) {
            k.recommended = Some(values);
        }
    }

    /// Parses and validates every declared key of `raw`, collecting every problem.
    /// Keys that are not declared are kept in the raw map but not typed.
    pub fn parse(&self, raw: &RawConfig) -> Result<ParsedConfig, Vec<ConfigIssue>> {
        let mut values = BTreeMap::new();
        let mut issues = Vec::new();
        for key in &self.keys {
            match self.parse_key(key, raw.get(&key.name).map(String::as_str)) {
                Ok(v) => {
                    values.insert(key.name.clone(), v);
                }
                Err(msg) => issues.push(ConfigIssue::new(&key.name, msg)),
            }
        }
        if issues.is_empty() {
            Ok(ParsedConfig::new(values, raw.clone()))
        } else {
            Err(issues)
        }
    }

    /// Like [`parse`](Self::parse), but always yields a config: a key that does not
    /// parse takes its default (or null), so that cross-key checks can still run and
    /// every problem is listed at once. The problems come back beside it.
    pub fn parse_lenient(&self, raw: &RawConfig) -> (ParsedConfig, Vec<ConfigIssue>) {
        let mut values = BTreeMap::new();
        let mut issues = Vec::new();
        for key in &self.keys {
            let v = match self.parse_key(key, raw.get(&key.name).map(String::as_str)) {
                Ok(v) => v,
                Err(msg) => {
                    issues.push(ConfigIssue::new(&key.name, msg));
                    self.parse_key(key, None).unwrap_or(TypedValue::Null)
                }
            };
            values.insert(key.name.clone(), v);
        }
        (ParsedConfig::new(values, raw.clone()), issues)
    }

    /// Parses one key's raw value (or its default) and checks its validator.
    pub fn parse_key(&self, key: &ConfigKey, raw: Option<&str>) -> Result<TypedValue, String> {
        let value = match raw {
            Some(r) => key.parse_value(r)?,
            None => match &key.default {
                DefaultValue::Required => {
                    return Err(format!(
                        "Missing required configuration \"{}\" which has no default value.",
                        key.name
                    ))
                }
                DefaultValue::Null => TypedValue::Null,
                DefaultValue::Value(d) => key.parse_value(d)?,
            },
        };
        if let Some(v) = &key.validator {
            v.check(&value).map_err(|e| {
                // As Connect does: a secret is never echoed back in an error.
                let shown = if key.kind == ConfigType::Password {
                    "[hidden]"
                } else {
                    raw.unwrap_or_default()
                };
                format!(
                    "Invalid value {} for configuration {}: {}",
                    shown, key.name, e
                )
            })?;
        }
        Ok(value)
    }
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
    fn parse_collects_every_problem() {
        let def = ConfigDef::new()
            .define(ConfigKey::string("file"))
            .define(ConfigKey::int("batch.size").default("2000").at_least(1.0))
            .define(ConfigKey::boolean("flag").default("false"))
            .define(ConfigKey::string("mode").default("a").one_of(&["a", "b"]));
        let issues = def
            .parse(&raw(&[
                ("batch.size", "x"),
                ("flag", "maybe"),
                ("mode", "c"),
            ]))
            .unwrap_err();
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, vec!["file", "batch.size", "flag", "mode"]);
        assert!(issues[0].message.contains("Missing required configuration"));
        assert!(issues[1].message.contains("Not a number of type INT"));
        assert!(issues[3].message.contains("one of: a, b"));
    }

    #[test]
    fn parse_applies_defaults_and_types() {
        let def = ConfigDef::new()
            .define(ConfigKey::int("batch.size").default("2000"))
            .define(ConfigKey::list("topics").optional())
            .define(ConfigKey::long("ms").default("10"));
        let p = def.parse(&raw(&[("topics", "a, b,,c")])).unwrap();
        assert_eq!(p.int("batch.size"), 2000);
        assert_eq!(p.list("topics"), vec!["a", "b", "c"]);
        assert_eq!(p.long("ms"), 10);
    }

    #[test]
    fn password_values_are_not_echoed_in_errors() {
        let def = ConfigDef::new()
            .define(ConfigKey::password("uri").validator(Validator::Custom(|_| Err("bad".into()))));
        let issues = def
            .parse(&raw(&[("uri", "amqp://u:s3cret@h")]))
            .unwrap_err();
        assert!(
            !issues[0].message.contains("s3cret"),
            "{}",
            issues[0].message
        );
        assert!(issues[0].message.contains("[hidden]"));
    }

    #[test]
    fn lenient_parse_lists_problems_and_falls_back_to_defaults() {
        let def = ConfigDef::new()
            .define(ConfigKey::int("batch.size").default("2000").at_least(1.0))
            .define(ConfigKey::string("file"))
            .define(ConfigKey::boolean("flag").default("true"));
        let (p, issues) = def.parse_lenient(&raw(&[("batch.size", "x"), ("flag", "false")]));
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, vec!["batch.size", "file"]);
        assert_eq!(p.int("batch.size"), 2000, "a bad value takes the default");
        assert_eq!(p.string("file"), None, "a missing required key is null");
        assert!(!p.boolean("flag"), "good values are kept");
    }

    #[test]
    fn range_validator() {
        let def = ConfigDef::new().define(ConfigKey::int("n").default("1").at_least(1.0));
        let issues = def.parse(&raw(&[("n", "0")])).unwrap_err();
        assert!(
            issues[0].message.contains("at least 1"),
            "{}",
            issues[0].message
        );
    }
}
