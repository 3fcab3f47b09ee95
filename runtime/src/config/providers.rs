//! Config providers: `${env:VAR}`, `${file:/path/to/file.properties:key}` and
//! `${directory:/path/to/dir:file}` placeholders, declared in the worker config with
//! Connect's keys (`config.providers=env,file` plus
//! `config.providers.<name>.class=<class>`).
//!
//! Placeholders are resolved when a connector starts. The stored config and every API
//! response keep the placeholder, so a secret never leaves the worker's memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::{ConfigIssue, RawConfig};

/// The kinds of provider Sluice implements, with Connect's class names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// `org.apache.kafka.common.config.provider.EnvVarConfigProvider`
    Env,
    /// `org.apache.kafka.common.config.provider.FileConfigProvider`
    File,
    /// `org.apache.kafka.common.config.provider.DirectoryConfigProvider`
    Directory,
}

impl ProviderKind {
    fn from_class(class: &str) -> Option<ProviderKind> {
        let short = class.rsplit('.').next().unwrap_or(class);
        match short {
            "EnvVarConfigProvider" | "env" => Some(ProviderKind::Env),
            "FileConfigProvider" | "file" => Some(ProviderKind::File),
            "DirectoryConfigProvider" | "directory" => Some(ProviderKind::Directory),
            _ => None,
        }
    }
}

/// One configured provider.
#[derive(Debug, Clone)]
pub struct Provider {
    pub kind: ProviderKind,
    /// `allowed.paths`: if set, files must lie under one of these folders.
    pub allowed_paths: Vec<PathBuf>,
}

/// The providers a worker declared, by name.
#[derive(Debug, Clone, Default)]
pub struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}").unwrap());

impl ConfigProviders {
    /// Reads `config.providers` and `config.providers.<name>.class` from a worker config.
    pub fn from_worker(worker: &RawConfig) -> Result<Self, Vec<ConfigIssue>> {
        let mut providers = BTreeMap::new();
        let mut issues = Vec::new();
        let names = worker
            .get("config.providers")
            .map(|s| super::split_list(s))
            .unwrap_or_default();
        for name in names {
            let key = format!("config.providers.{}.class", name);
            let Some(class) = worker.get(&key) else {
                issues.push(ConfigIssue::new(
                    &key,
                    format!("provider {} is listed but has no class", name),
                ));
                continue;
            };
            let Some(kind) = ProviderKind::from_class(class) else {
                issues.push(ConfigIssue::new(
                    &key,
                    format!(
                        "unknown config provider class {}; Sluice provides EnvVarConfigProvider, FileConfigProvider and DirectoryConfigProvider",
                        class
                    ),
                ));
                continue;
            };
            let allowed_paths = worker
                .get(&format!("config.providers.{}.param.allowed.paths", name))
                .map(|s| {
                    super::split_list(s)
                        .into_iter()
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default();
            providers.insert(
                name,
                Provider {
                    kind,
                    allowed_paths,
                },
            );
        }
        if issues.is_empty() {
            Ok(ConfigProviders { providers })
        } else {
            Err(issues)
        }
    }

    /// Warns, once per provider, about file and directory providers that may read any
    /// file the worker can read: anyone who may create a connector (through the REST
    /// API or `connectors.dir`) could then read, e.g., `${file:/etc/shadow:root}` into a
    /// topic. `config.providers.<name>.param.allowed.paths` limits them.
    pub fn warn_about_unlimited_paths(&self) {
        for (name, p) in &self.providers {
            if p.kind != ProviderKind::Env && p.allowed_paths.is_empty() {
                tracing::warn!(
                    provider = %name,
                    "config provider '{}' may read ANY file this worker can read, for anyone who may create a connector: set config.providers.{}.param.allowed.paths to the folders that hold secrets",
                    name, name
                );
            }
        }
    }

    /// True if any value holds a placeholder for a configured provider.
    pub fn has_placeholders(&self, raw: &RawConfig) -> bool {
        raw.values().any(|v| {
            PLACEHOLDER
                .captures_iter(v)
                .any(|c| self.providers.contains_key(&c[1]))
        })
    }

    /// Replaces every placeholder of a configured provider. Placeholders naming an
    /// unknown provider are left as they are (as Connect does). Returns the keys whose
    /// values came (in part) from a provider, so they can be masked.
    pub fn resolve(&self, raw: &RawConfig) -> Result<(RawConfig, Vec<String>), Vec<ConfigIssue>> {
        let mut out = RawConfig::new();
        let mut secret_keys = Vec::new();
        let mut issues = Vec::new();
        for (key, value) in raw {
            let mut resolved = String::with_capacity(value.len());
            let mut last = 0;
            let mut touched = false;
            for caps in PLACEHOLDER.captures_iter(value) {
                let whole = caps.get(0).unwrap();
                let name = &caps[1];
                let Some(provider) = self.providers.get(name) else {
                    continue;
                };
                let path = caps.get(2).map(|m| m.as_str()).unwrap_or("");
                let k = &caps[3];
                resolved.push_str(&value[last..whole.start()]);
                match provider.lookup(path, k) {
                    Ok(v) => resolved.push_str(&v),
                    Err(e) => {
                        issues.push(ConfigIssue::new(key, format!("{} ({})", e, whole.as_str())))
                    }
                }
                last = whole.end();
                touched = true;
            }
            resolved.push_str(&value[last..]);
            if touched {
                secret_keys.push(key.clone());
            }
            out.insert(key.clone(), resolved);
        }
        if issues.is_empty() {
            Ok((out, secret_keys))
        } else {
            Err(issues)
        }
    }
}

impl Provider {
    fn check_path(&self, path: &Path) -> Result<(), String> {
        if self.allowed_paths.is_empty() {
            return Ok(());
        }
        let canonical = path
            .canonicalize()
            .map_err(|e| format!("cannot read {}: {}", path.display(), e))?;
        if self.allowed_paths.iter().any(|a| canonical.starts_with(a)) {
            Ok(())
        } else {
            Err(format!("{} is not under allowed.paths", path.display()))
        }
    }

    fn lookup(&self, path: &str, key: &str) -> Result<String, String> {
        match self.kind {
            ProviderKind::Env => {
                std::env::var(key).map_err(|_| format!("environment variable {} is not set", key))
            }
            ProviderKind::File => {
                let p = Path::new(path);
                self.check_path(p)?;
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read config file {}: {}", path, e))?;
                let props = java_properties::read(text.as_bytes())
                    .map_err(|e| format!("cannot parse config file {}: {}", path, e))?;
                props
                    .get(key)
                    .cloned()
                    .ok_or_else(|| format!("config file {} has no key {}", path, key))
            }
            ProviderKind::Directory => {
                let p = Path::new(path).join(key);
                self.check_path(&p)?;
                std::fs::read_to_string(&p)
                    .map_err(|e| format!("cannot read {}: {}", p.display(), e))
            }
        }
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
    fn resolves_env_and_file_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secrets.properties");
        std::fs::write(&file, "db.password=s3cret\n").unwrap();
        std::env::set_var("SLUICE_TEST_USER", "alice");
        let providers = ConfigProviders::from_worker(&raw(&[
            ("config.providers", "env,file"),
            (
                "config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            ),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
        ]))
        .unwrap();
        let uri = format!(
            "amqp://${{env:SLUICE_TEST_USER}}:${{file:{}:db.password}}@h/",
            file.display()
        );
        let (out, secrets) = providers
            .resolve(&raw(&[
                ("amqp.uri", &uri),
                ("plain", "x"),
                ("other", "${vault:a:b}"),
            ]))
            .unwrap();
        assert_eq!(out["amqp.uri"], "amqp://alice:s3cret@h/");
        assert_eq!(out["other"], "${vault:a:b}");
        assert_eq!(secrets, vec!["amqp.uri".to_string()]);
    }

    #[test]
    fn missing_values_are_named() {
        let providers = ConfigProviders::from_worker(&raw(&[
            ("config.providers", "env"),
            ("config.providers.env.class", "EnvVarConfigProvider"),
        ]))
        .unwrap();
        let issues = providers
            .resolve(&raw(&[("password", "${env:SLUICE_SURELY_UNSET_VAR}")]))
            .unwrap_err();
        assert_eq!(issues[0].key, "password");
        assert!(issues[0].message.contains("SLUICE_SURELY_UNSET_VAR"));
    }

    #[test]
    fn unknown_provider_class_is_rejected() {
        let issues = ConfigProviders::from_worker(&raw(&[
            ("config.providers", "v"),
            ("config.providers.v.class", "com.example.Vault"),
        ]))
        .unwrap_err();
        assert_eq!(issues[0].key, "config.providers.v.class");
    }
}
