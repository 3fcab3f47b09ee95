//! The file sink task: appends each record's value as a line and fsyncs on flush, so
//! the runtime commits Kafka offsets only for lines that are on disk.
//!
//! Only whole lines reach the file. If the worker dies while writing, the file may end
//! in a partial line; that line was never committed (commits follow an fsync), so the
//! task cuts it off when it starts and the record is written again from Kafka.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{ConnectError, SinkTask, SinkTaskContext, StartSinkTask};
use sluice_runtime::convert::{value_to_json, DecimalFormat};
use sluice_runtime::data::{SinkRecord, Value};

enum Out {
    File(LineWriter, PathBuf),
    Stdout(BufWriter<std::io::Stdout>),
}

/// Buffers whole lines and writes them to the file in large chunks that always end at
/// a line boundary.
struct LineWriter {
    file: File,
    buf: Vec<u8>,
}

const CHUNK: usize = 1 << 20;

impl LineWriter {
    fn line(&mut self, text: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(text);
        self.buf.push(b'\n');
        if self.buf.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(())
    }
    fn write_out(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        self.file.sync_data()
    }
}

/// Cuts a trailing partial line (left by a crash mid-write) off the end of the file.
fn cut_partial_line(path: &Path) -> std::io::Result<()> {
    let mut f = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut pos = len;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let start = pos.saturating_sub(chunk.len() as u64);
        let n = (pos - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|b| *b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                tracing::warn!(file = %path.display(), bytes = len - keep, "removing a partial last line left by an interrupted write; its record will be written again");
                f.set_len(keep)?;
                f.sync_data()?;
            }
            return Ok(());
        }
        if start == 0 {
            tracing::warn!(file = %path.display(), "removing a partial line left by an interrupted write");
            f.set_len(0)?;
            return f.sync_data();
        }
        pos = start;
    }
}

/// Writes record values to a file (or stdout), one per line.
pub struct FileSinkTask {
    out: Out,
}

/// The text written for a value: strings as they are; other values as JSON; null as
/// `null` (as Connect prints it).
fn line_of(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        Value::Null => std::borrow::Cow::Borrowed("null"),
        Value::Bytes(b) => String::from_utf8_lossy(b),
        other => match value_to_json(None, other, DecimalFormat::Numeric, true) {
            Ok(j) => std::borrow::Cow::Owned(j.to_string()),
            Err(_) => std::borrow::Cow::Owned(format!("{:?}", other)),
        },
    }
}

impl StartSinkTask for FileSinkTask {
    async fn start(config: ParsedConfig, _ctx: SinkTaskContext) -> Result<Self, ConnectError> {
        let out = match config.string("file").filter(|f| !f.is_empty()) {
            Some(f) => {
                let path = PathBuf::from(f);
                cut_partial_line(&path).map_err(|e| {
                    ConnectError::retriable(format!(
                        "cannot check the end of {}: {}",
                        path.display(),
                        e
                    ))
                })?;
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| {
                        ConnectError::retriable(format!(
                            "Couldn't find or create file '{}' for FileStreamSinkTask: {}",
                            path.display(),
                            e
                        ))
                    })?;
                Out::File(
                    LineWriter {
                        file,
                        buf: Vec::with_capacity(CHUNK + 4096),
                    },
                    path,
                )
            }
            None => Out::Stdout(BufWriter::new(std::io::stdout())),
        };
        Ok(FileSinkTask { out })
    }
}

#[async_trait]
impl SinkTask for FileSinkTask {
    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let out = &mut self.out;
        for r in records {
            let line = line_of(&r.record.value.value);
            match out {
                Out::File(w, path) => w.line(line.as_bytes()).map_err(|e| {
                    ConnectError::retriable(format!("cannot write to {}: {}", path.display(), e))
                })?,
                Out::Stdout(w) => w
                    .write_all(line.as_bytes())
                    .and_then(|_| w.write_all(b"\n"))
                    .map_err(|e| {
                        ConnectError::retriable(format!("cannot write to stdout: {}", e))
                    })?,
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ConnectError> {
        match &mut self.out {
            Out::File(w, path) => w.sync().map_err(|e| {
                ConnectError::retriable(format!("cannot flush {}: {}", path.display(), e))
            }),
            Out::Stdout(w) => w
                .flush()
                .map_err(|e| ConnectError::retriable(format!("cannot flush stdout: {}", e))),
        }
    }

    async fn stop(&mut self) {
        let _ = self.flush().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_last_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "a\nb\npart").unwrap();
        cut_partial_line(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a\nb\n");
        std::fs::write(&p, "only-partial").unwrap();
        cut_partial_line(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
        std::fs::write(&p, "whole\n").unwrap();
        cut_partial_line(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "whole\n");
        cut_partial_line(&dir.path().join("missing.txt")).unwrap();
    }
}
