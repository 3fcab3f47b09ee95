//! The standalone offset store: a readable JSON file, rewritten atomically (write a
//! temp file, fsync it, rename it over the old one, fsync the folder) on every flush.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Value as Json};
use tokio::sync::Mutex;

use super::{OffsetError, OffsetMap, OffsetStore};
use crate::data::{SourceOffset, SourcePartition};

/// Offsets in a local JSON file:
/// `{"version":1,"offsets":[{"key":["conn",{...}],"value":{...}}]}`.
pub struct FileOffsetStore {
    path: PathBuf,
    map: Mutex<OffsetMap>,
}

impl FileOffsetStore {
    /// Opens the store, reading the file if it exists.
    pub fn open(path: &Path) -> Result<Self, OffsetError> {
        let mut map = OffsetMap::default();
        match std::fs::read(path) {
            Ok(bytes) if !bytes.is_empty() => {
                let doc: Json = serde_json::from_slice(&bytes).map_err(|e| {
                    OffsetError(format!(
                        "offset file {} is not valid JSON: {}",
                        path.display(),
                        e
                    ))
                })?;
                let entries = doc.get("offsets").and_then(Json::as_array).ok_or_else(|| {
                    OffsetError(format!(
                        "offset file {} has no \"offsets\" list",
                        path.display()
                    ))
                })?;
                for (i, e) in entries.iter().enumerate() {
                    let key = e.get("key").and_then(Json::as_array);
                    let (conn, part) = match key.map(|k| k.as_slice()) {
                        Some([Json::String(c), Json::Object(p)]) => (c.clone(), p.clone()),
                        _ => {
                            return Err(OffsetError(format!(
                                "offset file {}: entry {} has no [connector, partition] key",
                                path.display(),
                                i
                            )))
                        }
                    };
                    match e.get("value") {
                        Some(Json::Object(o)) => map.apply(&conn, part, Some(o.clone())),
                        Some(Json::Null) | None => {}
                        Some(_) => {
                            return Err(OffsetError(format!(
                                "offset file {}: entry {} has a value that is not a map",
                                path.display(),
                                i
                            )))
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(OffsetError(format!(
                    "cannot read offset file {}: {}",
                    path.display(),
                    e
                )))
            }
        }
        Ok(FileOffsetStore {
            path: path.to_path_buf(),
            map: Mutex::new(map),
        })
    }

    fn write(path: &Path, map: &OffsetMap) -> std::io::Result<()> {
        use std::io::Write;
        let mut entries: Vec<Json> = map
            .entries
            .values()
            .map(|(c, p, o)| json!({"key": [c, p], "value": o}))
            .collect();
        entries.sort_by_key(|e| e["key"].to_string());
        let doc = json!({"version": 1, "offsets": entries});
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(&doc)?)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[async_trait]
impl OffsetStore for FileOffsetStore {
    async fn get(
        &self,
        connector: &str,
        partition: &SourcePartition,
    ) -> Result<Option<SourceOffset>, OffsetError> {
        Ok(self.map.lock().await.get(connector, partition))
    }

    async fn all(
        &self,
        connector: &str,
    ) -> Result<Vec<(SourcePartition, SourceOffset)>, OffsetError> {
        Ok(self.map.lock().await.all(connector))
    }

    async fn put(
        &self,
        connector: &str,
        entries: Vec<(SourcePartition, Option<SourceOffset>)>,
    ) -> Result<(), OffsetError> {
        let mut map = self.map.lock().await;
        let mut next = map.clone();
        for (p, o) in entries {
            next.apply(connector, p, o);
        }
        let path = self.path.clone();
        let snapshot = next.clone();
        tokio::task::spawn_blocking(move || Self::write(&path, &snapshot))
            .await
            .map_err(|e| OffsetError(format!("offset writer panicked: {}", e)))?
            .map_err(|e| {
                OffsetError(format!(
                    "cannot write offset file {}: {}",
                    self.path.display(),
                    e
                ))
            })?;
        *map = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(f: &str) -> SourcePartition {
        let mut m = SourcePartition::new();
        m.insert("filename".into(), Json::String(f.into()));
        m
    }
    fn off(n: i64) -> SourceOffset {
        let mut m = SourceOffset::new();
        m.insert("position".into(), Json::from(n));
        m
    }

    #[tokio::test]
    async fn survives_reopen_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        let store = FileOffsetStore::open(&path).unwrap();
        store
            .put(
                "a",
                vec![(part("/x"), Some(off(10))), (part("/y"), Some(off(3)))],
            )
            .await
            .unwrap();
        store
            .put("b", vec![(part("/x"), Some(off(7)))])
            .await
            .unwrap();
        let reopened = FileOffsetStore::open(&path).unwrap();
        assert_eq!(reopened.get("a", &part("/x")).await.unwrap(), Some(off(10)));
        assert_eq!(reopened.get("b", &part("/x")).await.unwrap(), Some(off(7)));
        assert_eq!(reopened.all("a").await.unwrap().len(), 2);
        reopened.clear("a").await.unwrap();
        let again = FileOffsetStore::open(&path).unwrap();
        assert!(again.all("a").await.unwrap().is_empty());
        assert_eq!(again.get("b", &part("/x")).await.unwrap(), Some(off(7)));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"filename\": \"/x\""),
            "readable JSON: {}",
            text
        );
    }

    #[test]
    fn corrupt_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = FileOffsetStore::open(&path).err().unwrap();
        assert!(err.0.contains("not valid JSON"), "{}", err);
    }
}
