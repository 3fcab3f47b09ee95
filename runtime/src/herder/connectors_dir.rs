//! Watches `connectors.dir`: a new file starts a connector, a changed file reconfigures
//! it, a deleted file stops and removes it. A file that does not parse or validate is
//! logged and shown in the connector's status, and changes nothing else.
//!
//! The folder is scanned every `connectors.dir.poll.interval.ms` and files are compared
//! by content. Scanning (rather than file-system events) also works for Kubernetes
//! ConfigMap volumes, which swap whole folders through symlinks, and on network
//! file systems.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{ConfigOrigin, Herder, HerderError, PutOptions};
use crate::config::files::{is_config_file, parse_connector, Format, MAX_FILE_BYTES};

#[derive(Debug, Clone)]
struct Seen {
    content: Vec<u8>,
    /// The connector this file defines, once it parsed.
    name: Option<String>,
}

/// The connectors folder watcher.
pub struct ConnectorsDir {
    dir: PathBuf,
    herder: Arc<dyn Herder>,
    seen: BTreeMap<PathBuf, Seen>,
}

impl ConnectorsDir {
    pub fn new(dir: PathBuf, herder: Arc<dyn Herder>) -> Self {
        ConnectorsDir {
            dir,
            herder,
            seen: BTreeMap::new(),
        }
    }

    /// Scans forever.
    pub async fn run(mut self, interval: Duration) {
        tracing::info!(dir = %self.dir.display(), "watching connectors folder");
        loop {
            self.scan().await;
            tokio::time::sleep(interval).await;
        }
    }

    fn list(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for entry in rd.flatten() {
            let path = entry.path();
            if !path.is_file() || !is_config_file(&path) {
                continue;
            }
            // At most one byte past the limit: enough for the parser to report the
            // file as too large, without reading a huge file on every scan.
            let mut content = Vec::new();
            let read = std::fs::File::open(&path)
                .and_then(|f| f.take(MAX_FILE_BYTES as u64 + 1).read_to_end(&mut content));
            if read.is_ok() {
                out.insert(path, content);
            }
        }
        out
    }

    /// One pass: apply new, changed and removed files.
    pub async fn scan(&mut self) {
        let now = self.list();
        let removed: Vec<PathBuf> = self
            .seen
            .keys()
            .filter(|p| !now.contains_key(*p))
            .cloned()
            .collect();
        for path in removed {
            let seen = self.seen.remove(&path).unwrap();
            if let Some(name) = seen.name {
                // Delete what this file created (a distributed worker cannot tell the
                // origin; it deletes what it created from the file it saw go).
                let ours = match self.herder.origin(&name).await {
                    Some(ConfigOrigin::File(p)) => p == path,
                    Some(_) => false,
                    None => true,
                };
                if ours {
                    tracing::info!(file = %path.display(), connector = %name, "connector file removed");
                    let _ = self
                        .herder
                        .delete_connector(&name, ConfigOrigin::File(path.clone()))
                        .await;
                }
            }
        }
        for (path, content) in now {
            if self.seen.get(&path).map(|s| &s.content) == Some(&content) {
                continue;
            }
            let previous = self.seen.get(&path).and_then(|s| s.name.clone());
            let name = self.apply(&path, &content, previous.clone()).await;
            self.seen.insert(
                path,
                Seen {
                    content,
                    name: name.or(previous),
                },
            );
        }
    }

    fn owners(&self) -> HashMap<String, PathBuf> {
        self.seen
            .iter()
            .filter_map(|(p, s)| s.name.clone().map(|n| (n, p.clone())))
            .collect()
    }

    /// Applies one new or changed file; returns the connector name it defines.
    async fn apply(&self, path: &Path, content: &[u8], previous: Option<String>) -> Option<String> {
        let origin_str = path.display().to_string();
        let text = match std::str::from_utf8(content) {
            Ok(t) => t,
            Err(_) => {
                self.problem(
                    previous.as_deref(),
                    path,
                    "the file is not UTF-8 text".into(),
                )
                .await;
                return None;
            }
        };
        let parsed = match parse_connector(text, Format::detect(path, text), &origin_str) {
            Ok(p) => p,
            Err(e) => {
                self.problem(previous.as_deref(), path, e.to_string()).await;
                return None;
            }
        };
        if let Some(owner) = self.owners().get(&parsed.name) {
            if owner != path {
                let msg = format!(
                    "{}: connector {} is already defined by {}",
                    origin_str,
                    parsed.name,
                    owner.display()
                );
                tracing::error!("{}", msg);
                return None;
            }
        }
        if let Some(prev) = &previous {
            if prev != &parsed.name {
                // The file now defines another connector: the old one goes.
                let _ = self
                    .herder
                    .delete_connector(prev, ConfigOrigin::File(path.to_path_buf()))
                    .await;
            }
        }
        let opts = PutOptions {
            create_only: false,
            initial_state: parsed.initial_state,
        };
        match self
            .herder
            .put_connector(
                &parsed.name,
                parsed.config.clone(),
                ConfigOrigin::File(path.to_path_buf()),
                opts,
            )
            .await
        {
            Ok((created, _)) => {
                tracing::info!(file = %origin_str, connector = %parsed.name, "{} connector from file", if created { "created" } else { "updated" });
            }
            Err(HerderError::Invalid(issues)) => {
                let lines: Vec<String> = issues
                    .iter()
                    .map(|i| format!("{}: {}: {}", origin_str, i.key, i.message))
                    .collect();
                for l in &lines {
                    tracing::error!("invalid connector config: {}", l);
                }
                self.herder
                    .report_config_problem(
                        &parsed.name,
                        ConfigOrigin::File(path.to_path_buf()),
                        Some(parsed.config),
                        format!(
                            "invalid connector config in {}:\n{}",
                            origin_str,
                            lines.join("\n")
                        ),
                    )
                    .await;
            }
            Err(e) => {
                tracing::error!(file = %origin_str, "cannot apply connector config: {}", e);
            }
        }
        Some(parsed.name)
    }

    async fn problem(&self, previous: Option<&str>, path: &Path, message: String) {
        tracing::error!("cannot read connector file: {}", message);
        if let Some(name) = previous {
            self.herder
                .report_config_problem(name, ConfigOrigin::File(path.to_path_buf()), None, message)
                .await;
        }
    }
}
