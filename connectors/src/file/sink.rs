//! The file sink task: appends each record's value as a line and fsyncs on flush, so
//! the runtime commits Kafka offsets only for lines that are on disk.
//!
//! Only whole lines reach the file, each once:
//! - `put` first finishes the I/O earlier puts left (a write that failed is redone
//!   here, and its error returned), then buffers its own records and writes them to the
//!   file (not fsynced) so they are visible at once, as Connect's sink makes them: a
//!   failed `put` has taken none of its batch, so its retry (same batch) adds each line
//!   once; a write that fails after the batch was taken is redone by the next `put` or
//!   `flush`, which report it.
//! - Every byte written since the last successful fsync stays in memory (at most
//!   [`SYNC_AT`] plus one batch: the task fsyncs by itself when more piles up). After any
//!   failed write or fsync the file is cut back to its length at the last successful
//!   fsync and those bytes are written again, whole, before the next fsync. So a disk
//!   that was full and has space again gets the missing lines, not a partial prefix
//!   followed by the batch once more; and a failed fsync is never followed by a commit
//!   of data the kernel may have dropped (Linux marks the pages clean after a failed
//!   writeback, so a later fsync succeeds without them).
//! - If the worker dies while writing, the file may end in a partial line; that line was
//!   never committed (commits follow an fsync), so the task cuts it off when it starts
//!   and the record is written again from Kafka.
//!
//! This assumes the task is the only writer of its file (as the partial-line cut does).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Read, Seek, SeekFrom, Write};
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

/// Writes to the file once this much is buffered and not yet written.
const CHUNK: usize = 1 << 20;
/// Fsyncs by itself once this much has been written since the last fsync.
const SYNC_AT: usize = 8 << 20;

/// Appends whole lines to the file and keeps the bytes not yet known to be durable, so
/// that a failed write or fsync can be redone from the last durable length.
struct LineWriter {
    file: File,
    /// The file's length at the last successful fsync (at start: after the partial-line
    /// cut). Everything before it is durable.
    durable: u64,
    /// The lines accepted since the last successful fsync.
    pending: Vec<u8>,
    /// How many bytes of `pending` are in the file, right after `durable`.
    written: usize,
    /// A write or fsync failed: what follows `durable` in the file is not trusted and is
    /// cut off and written again.
    dirty: bool,
}

impl LineWriter {
    fn open(path: &Path) -> std::io::Result<LineWriter> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let durable = file.metadata()?.len();
        Ok(LineWriter {
            file,
            durable,
            pending: Vec::with_capacity(CHUNK + 4096),
            written: 0,
            dirty: false,
        })
    }

    /// Buffers one line (no I/O).
    fn push(&mut self, text: &[u8]) {
        self.pending.extend_from_slice(text);
        self.pending.push(b'\n');
    }

    /// Writes or syncs what earlier lines need before more are buffered: redoes a
    /// failed write, keeps the unwritten part under [`CHUNK`] and the unsynced part
    /// under [`SYNC_AT`].
    fn make_room(&mut self) -> std::io::Result<()> {
        if self.pending.len() >= SYNC_AT {
            self.sync()
        } else if self.dirty || self.pending.len() - self.written >= CHUNK {
            self.write_pending()
        } else {
            Ok(())
        }
    }

    /// Writes every pending byte not yet in the file. After an earlier failure, first
    /// cuts the file back to its durable length and writes all pending bytes again.
    fn write_pending(&mut self) -> std::io::Result<()> {
        if self.dirty {
            let len = self.file.metadata()?.len();
            if len > self.durable {
                self.file.set_len(self.durable)?;
            }
            self.written = 0;
            self.dirty = false;
        }
        while self.written < self.pending.len() {
            match self.file.write(&self.pending[self.written..]) {
                Ok(0) => {
                    self.dirty = true;
                    return Err(std::io::Error::new(
                        ErrorKind::WriteZero,
                        "the file accepted no more bytes",
                    ));
                }
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.dirty = true;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Writes what is pending and fsyncs; on success everything written is durable.
    fn sync(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() && !self.dirty {
            return Ok(()); // all durable since the last fsync
        }
        self.write_pending()?;
        if let Err(e) = self.file.sync_data() {
            self.dirty = true;
            return Err(std::io::Error::new(
                e.kind(),
                format!("fsync failed: {}", e),
            ));
        }
        self.durable += self.pending.len() as u64;
        self.pending.clear();
        self.written = 0;
        if self.pending.capacity() > 2 * CHUNK {
            self.pending.shrink_to(CHUNK + 4096);
        }
        Ok(())
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

/// A value as JSON, as it is: a null field stays null (Connect prints the struct
/// itself, defaults are not filled in); decimals as numbers.
fn json_of(value: &Value) -> Result<serde_json::Value, sluice_runtime::convert::ConvertError> {
    let schema = match value {
        Value::Struct(s) => Some(&**s.schema()),
        _ => None,
    };
    value_to_json(schema, value, DecimalFormat::Numeric, false)
}

/// The text written for a value: strings as they are; other values as JSON; null as
/// `null` (as Connect prints it).
fn line_of(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        Value::Null => std::borrow::Cow::Borrowed("null"),
        Value::Bytes(b) => String::from_utf8_lossy(b),
        other => match json_of(other) {
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
                let writer = LineWriter::open(&path).map_err(|e| {
                    ConnectError::retriable(format!(
                        "Couldn't find or create file '{}' for FileStreamSinkTask: {}",
                        path.display(),
                        e
                    ))
                })?;
                Out::File(writer, path)
            }
            None => Out::Stdout(BufWriter::new(std::io::stdout())),
        };
        Ok(FileSinkTask { out })
    }
}

#[async_trait]
impl SinkTask for FileSinkTask {
    /// Lines are values only.
    fn reads_headers(&self) -> bool {
        false
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let out = &mut self.out;
        match out {
            Out::File(w, path) => {
                // I/O for earlier lines first: if it fails, none of this batch is taken
                // and the retry of the same batch adds each line once.
                w.make_room().map_err(|e| {
                    ConnectError::retriable(format!("cannot write to {}: {}", path.display(), e))
                })?;
                for r in records {
                    w.push(line_of(&r.record.value.value).as_bytes());
                }
                // Visible at once (durable at the next flush). A failure leaves the
                // writer dirty: the next put or flush writes these lines again, whole,
                // and reports the error there.
                if let Err(e) = w.write_pending() {
                    tracing::debug!(file = %path.display(), "write failed, retried at the next put or flush: {}", e);
                }
            }
            Out::Stdout(w) => {
                for r in records {
                    let line = line_of(&r.record.value.value);
                    w.write_all(line.as_bytes())
                        .and_then(|_| w.write_all(b"\n"))
                        .map_err(|e| {
                            ConnectError::retriable(format!("cannot write to stdout: {}", e))
                        })?;
                }
                w.flush().map_err(|e| {
                    ConnectError::retriable(format!("cannot write to stdout: {}", e))
                })?;
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

    #[test]
    fn after_a_failure_the_unsynced_lines_are_written_again_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "old\n").unwrap();
        let mut w = LineWriter::open(&p).unwrap();
        assert_eq!(w.durable, 4);
        w.push(b"a");
        w.push(b"b");
        w.sync().unwrap();
        assert_eq!((w.durable, w.pending.len()), (8, 0));
        w.push(b"c");
        w.push(b"d");
        w.write_pending().unwrap();
        // A write that failed half-way (or an fsync that failed) left this behind.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"c\nd\npart")
            .unwrap();
        w.dirty = true;
        w.push(b"e");
        w.sync().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old\na\nb\nc\nd\ne\n");
        assert_eq!(w.durable, 14);
        // Nothing new: no fsync needed.
        w.sync().unwrap();
    }
}
