//! The standalone offset store: a file rewritten atomically (write a temp file, fsync
//! it, rename it over the old one, fsync the folder) on every flush. Sluice's own
//! format is readable JSON; a file Kafka Connect's standalone worker wrote (Java
//! serialization, [`super::connect_file`]) is read as it is and, unless configured
//! otherwise, written back in that format, so Connect can take the file back.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{json, Value as Json};
use tokio::sync::Mutex;

use super::{OffsetError, OffsetMap, OffsetStore};
use crate::data::{SourceOffset, SourcePartition};

/// How the offsets file is written (`offset.storage.file.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// The format the file already has; JSON for a new file.
    Auto,
    /// Sluice's JSON.
    Json,
    /// Kafka Connect's (`FileOffsetBackingStore`, Java serialization).
    Connect,
}

impl FileFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(FileFormat::Auto),
            "json" => Some(FileFormat::Json),
            "connect" => Some(FileFormat::Connect),
            _ => None,
        }
    }
}

/// Offsets in a local file, Sluice's JSON
/// `{"version":1,"offsets":[{"key":["conn",{...}],"value":{...}}]}` or Connect's format.
pub struct FileOffsetStore {
    path: PathBuf,
    map: Mutex<OffsetMap>,
    /// The format it writes (never `Auto`).
    format: FileFormat,
}

impl FileOffsetStore {
    /// Opens the store, reading the file (in either format) if it exists.
    pub fn open(path: &Path) -> Result<Self, OffsetError> {
        Self::open_as(path, FileFormat::Auto)
    }

    /// Opens the store, to be written in `format`.
    pub fn open_as(path: &Path, format: FileFormat) -> Result<Self, OffsetError> {
        let mut map = OffsetMap::default();
        let mut found = FileFormat::Json;
        match std::fs::read(path) {
            Ok(bytes) if super::connect_file::looks_like(&bytes) => {
                found = FileFormat::Connect;
                let entries = super::connect_file::read(&bytes).map_err(|e| {
                    OffsetError(format!(
                        "offset file {} looks like Kafka Connect's but cannot be read: {}",
                        path.display(),
                        e
                    ))
                })?;
                for (k, v) in entries {
                    let Some((conn, part)) = super::parse_offset_key(&k) else {
                        tracing::warn!(file = %path.display(), "ignoring an offset whose key is not [connector, partition]");
                        continue;
                    };
                    match v.map(|v| serde_json::from_slice::<Json>(&v)) {
                        Some(Ok(Json::Object(o))) => map.apply(&conn, part, Some(o)),
                        None | Some(Ok(Json::Null)) => map.apply(&conn, part, None),
                        _ => {
                            tracing::warn!(file = %path.display(), connector = %conn, "ignoring an offset whose value is not a JSON map")
                        }
                    }
                }
                tracing::info!(file = %path.display(), "read Kafka Connect's standalone offsets file");
            }
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
        let format = match format {
            FileFormat::Auto => found,
            other => other,
        };
        Ok(FileOffsetStore {
            path: path.to_path_buf(),
            map: Mutex::new(map),
            format,
        })
    }

    /// The file's bytes in `format`.
    fn encode(map: &OffsetMap, format: FileFormat) -> std::io::Result<Vec<u8>> {
        if format == FileFormat::Connect {
            let entries: Vec<super::connect_file::Entry> = map
                .entries
                .values()
                .map(|(c, p, o)| {
                    (
                        super::offset_key(c, p),
                        Some(serde_json::to_vec(o).expect("JSON maps always serialize")),
                    )
                })
                .collect();
            return Ok(super::connect_file::write(&entries));
        }
        let mut entries: Vec<Json> = map
            .entries
            .values()
            .map(|(c, p, o)| json!({"key": [c, p], "value": o}))
            .collect();
        entries.sort_by_key(|e| e["key"].to_string());
        let doc = json!({"version": 1, "offsets": entries});
        let mut bytes = serde_json::to_vec_pretty(&doc)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    fn write(path: &Path, map: &OffsetMap, format: FileFormat) -> std::io::Result<()> {
        crate::atomic_file::write_atomically(path, &Self::encode(map, format)?)
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
        let format = self.format;
        tokio::task::spawn_blocking(move || Self::write(&path, &snapshot, format))
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
    async fn a_connect_file_is_read_and_kept_in_connects_format_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.dat");
        let key = super::super::offset_key("c", &part("/x"));
        std::fs::write(
            &path,
            super::super::connect_file::write(&[(key, Some(br#"{"position":6}"#.to_vec()))]),
        )
        .unwrap();
        let store = FileOffsetStore::open(&path).unwrap();
        assert_eq!(store.get("c", &part("/x")).await.unwrap(), Some(off(6)));
        store
            .put("c", vec![(part("/x"), Some(off(9)))])
            .await
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            super::super::connect_file::looks_like(&bytes),
            "still Connect's format"
        );
        let again = FileOffsetStore::open(&path).unwrap();
        assert_eq!(again.get("c", &part("/x")).await.unwrap(), Some(off(9)));
        // Told to write JSON, it converts at the next write.
        let json = FileOffsetStore::open_as(&path, FileFormat::Json).unwrap();
        json.put("c", vec![(part("/y"), Some(off(1)))])
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"position\": 9"), "{text}");
        let back = FileOffsetStore::open_as(&path, FileFormat::Connect).unwrap();
        back.put("c", vec![]).await.unwrap();
        assert!(super::super::connect_file::looks_like(
            &std::fs::read(&path).unwrap()
        ));
        assert_eq!(back.all("c").await.unwrap().len(), 2);
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
