//! Configuration: declared keys ([`ConfigDef`]), typed parsed values ([`ParsedConfig`]),
//! config files in YAML / properties / JSON / Strimzi form ([`files`]), config providers
//! for secrets ([`providers`]) and the worker's own config ([`worker`]).

mod def;
pub mod files;
pub mod providers;
pub mod secrets;
pub mod unknown_keys;
pub mod worker;

use std::collections::BTreeMap;
use std::fmt;

pub use def::{
    split_list, ConfigDef, ConfigKey, ConfigType, DefaultValue, Importance, Validator, Width,
};

/// A config as the user wrote it: Connect-style dotted keys to string values.
pub type RawConfig = BTreeMap<String, String>;

/// A parsed value of a declared key.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    Null,
    Boolean(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    String(String),
    List(Vec<String>),
    /// A secret; never printed.
    Password(String),
}

/// One problem with a config: the key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigIssue {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// A rejected config with every problem found.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", format_issues(.0))]
pub struct ConfigErrors(pub Vec<ConfigIssue>);

fn format_issues(issues: &[ConfigIssue]) -> String {
    let lines: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
    format!(
        "{} problem{} in the configuration: {}",
        issues.len(),
        if issues.len() == 1 { "" } else { "s" },
        lines.join("; ")
    )
}

/// The typed values of a config's declared keys, plus the raw map it came from.
///
/// The getters panic if a key was not declared with the matching type: that is a
/// programming error in a plugin, never a user error (users' errors are caught by
/// [`ConfigDef::parse`]).
#[derive(Debug, Clone)]
pub struct ParsedConfig {
    values: BTreeMap<String, TypedValue>,
    raw: RawConfig,
}

impl ParsedConfig {
    pub fn new(values: BTreeMap<String, TypedValue>, raw: RawConfig) -> Self {
        ParsedConfig { values, raw }
    }
    /// The raw map (including undeclared keys).
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }
    pub fn get(&self, key: &str) -> &TypedValue {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("config key {} was not declared", key))
    }
    pub fn string(&self, key: &str) -> Option<String> {
        match self.get(key) {
            TypedValue::String(s) | TypedValue::Password(s) => Some(s.clone()),
            TypedValue::Null => None,
            other => panic!("config key {} is not a string: {:?}", key, other),
        }
    }
    /// A string key that has a default or is required.
    pub fn str(&self, key: &str) -> String {
        self.string(key)
            .unwrap_or_else(|| panic!("config key {} has no value", key))
    }
    pub fn int(&self, key: &str) -> i32 {
        match self.get(key) {
            TypedValue::Int(v) => *v,
            other => panic!("config key {} is not an int: {:?}", key, other),
        }
    }
    pub fn opt_int(&self, key: &str) -> Option<i32> {
        match self.get(key) {
            TypedValue::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub fn long(&self, key: &str) -> i64 {
        match self.get(key) {
            TypedValue::Long(v) => *v,
            TypedValue::Int(v) => *v as i64,
            other => panic!("config key {} is not a long: {:?}", key, other),
        }
    }
    pub fn opt_long(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            TypedValue::Long(v) => Some(*v),
            TypedValue::Int(v) => Some(*v as i64),
            _ => None,
        }
    }
    pub fn double(&self, key: &str) -> f64 {
        match self.get(key) {
            TypedValue::Double(v) => *v,
            other => panic!("config key {} is not a double: {:?}", key, other),
        }
    }
    pub fn boolean(&self, key: &str) -> bool {
        match self.get(key) {
            TypedValue::Boolean(v) => *v,
            other => panic!("config key {} is not a boolean: {:?}", key, other),
        }
    }
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            TypedValue::List(v) => v.clone(),
            TypedValue::Null => Vec::new(),
            other => panic!("config key {} is not a list: {:?}", key, other),
        }
    }
    /// Every raw key under `prefix`, with the prefix removed.
    pub fn with_prefix(&self, prefix: &str) -> RawConfig {
        sub_config(&self.raw, prefix)
    }
}

/// Every key of `raw` under `prefix`, with the prefix removed.
pub fn sub_config(raw: &RawConfig, prefix: &str) -> RawConfig {
    raw.range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
        .collect()
}

/// Milliseconds as a `Duration`, treating negatives as zero.
pub fn millis(ms: i64) -> std::time::Duration {
    std::time::Duration::from_millis(ms.max(0) as u64)
}
