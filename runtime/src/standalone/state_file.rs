//! The standalone worker's own state: connectors created through the REST API and the
//! target state of every connector, so that a restart brings back the same connectors
//! in the same states. A JSON file, rewritten atomically (temp file, fsync, rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::files::TargetState;
use crate::config::RawConfig;

/// A connector created through the API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredConnector {
    pub config: RawConfig,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Contents {
    #[serde(default)]
    connectors: BTreeMap<String, StoredConnector>,
    /// Target states set through the API, for every connector (API or file).
    #[serde(default)]
    target_states: BTreeMap<String, TargetState>,
}

/// The state file.
pub struct StateFile {
    path: PathBuf,
    contents: std::sync::Mutex<Contents>,
}

impl StateFile {
    /// Opens (or starts) the file.
    pub fn open(path: &Path) -> Result<Self, String> {
        let contents = match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                format!(
                    "connector state file {} is not valid: {}",
                    path.display(),
                    e
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents::default(),
            Err(e) => {
                return Err(format!(
                    "cannot read connector state file {}: {}",
                    path.display(),
                    e
                ))
            }
        };
        Ok(StateFile {
            path: path.to_path_buf(),
            contents: std::sync::Mutex::new(contents),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Connectors created through the API, with their configs.
    pub fn connectors(&self) -> BTreeMap<String, StoredConnector> {
        self.contents.lock().unwrap().connectors.clone()
    }

    pub fn target_state(&self, name: &str) -> Option<TargetState> {
        self.contents
            .lock()
            .unwrap()
            .target_states
            .get(name)
            .copied()
    }

    fn update(&self, f: impl FnOnce(&mut Contents)) -> Result<(), String> {
        let mut g = self.contents.lock().unwrap();
        let mut next = g.clone();
        f(&mut next);
        if next == *g {
            return Ok(());
        }
        crate::atomic_file::write_atomically(
            &self.path,
            &serde_json::to_vec_pretty(&next).expect("serializable"),
        )
        .map_err(|e| {
            format!(
                "cannot write connector state file {}: {}",
                self.path.display(),
                e
            )
        })?;
        *g = next;
        Ok(())
    }

    pub fn put_connector(&self, name: &str, config: RawConfig) -> Result<(), String> {
        self.update(|c| {
            c.connectors
                .insert(name.to_string(), StoredConnector { config });
        })
    }

    pub fn remove_connector(&self, name: &str) -> Result<(), String> {
        self.update(|c| {
            c.connectors.remove(name);
            c.target_states.remove(name);
        })
    }

    pub fn set_target_state(&self, name: &str, state: TargetState) -> Result<(), String> {
        self.update(|c| {
            if state == TargetState::Running {
                c.target_states.remove(name);
            } else {
                c.target_states.insert(name.to_string(), state);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("connectors.json");
        let s = StateFile::open(&p).unwrap();
        let cfg: RawConfig = [("connector.class".to_string(), "file-sink".to_string())].into();
        s.put_connector("a", cfg.clone()).unwrap();
        s.set_target_state("a", TargetState::Paused).unwrap();
        s.set_target_state("f", TargetState::Stopped).unwrap();
        let r = StateFile::open(&p).unwrap();
        assert_eq!(r.connectors()["a"].config, cfg);
        assert_eq!(r.target_state("a"), Some(TargetState::Paused));
        assert_eq!(r.target_state("f"), Some(TargetState::Stopped));
        r.remove_connector("a").unwrap();
        let r = StateFile::open(&p).unwrap();
        assert!(r.connectors().is_empty());
        assert_eq!(r.target_state("a"), None);
    }
}
