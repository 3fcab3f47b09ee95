//! The file source task.
//!
//! Offsets: partition `{"filename": <file as configured>}`, offset `{"position": <byte
//! offset after the line>}`, as Connect's FileStream source (Sluice counts bytes where
//! Connect counts characters, so non-ASCII files resume at the right place). The runtime
//! stores a position only after Kafka acknowledged the line and every line before it.
//! The position rides on the last line of each polled batch (at most `batch.size`
//! lines): positions are stored batch by batch, which costs nothing in safety and
//! saves an offset map per line.
//!
//! A line longer than `max.line.bytes` is handed to the runtime as a failed record
//! (`errors.tolerance` decides: fail the task, or skip it and send its first bytes to
//! the dead letter queue). The position past it is stored with the next line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::Value as Json;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{
    ConnectError, FailedSourceRecord, Progress, ProgressUnit, SourceBatch, SourceTask,
    SourceTaskContext, StartSourceTask, StatusDetail,
};
use sluice_runtime::data::{
    primitive, Record, SchemaAndValue, SchemaType, SourceOffset, SourcePartition, SourceRecord,
    Value,
};
use tokio::io::AsyncBufReadExt;

use super::line_reader::{Item, Line, LineReader, Splitter, TooLong};

/// A first read with less than this left (a backlog not worth following) is not
/// reported as progress.
pub const FIRST_READ_MIN_BYTES: u64 = 16 * 1024 * 1024;

/// The task class named in the dead letter queue's headers.
const TASK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceTask";

/// Reads lines of a file (or stdin) into a topic.
pub struct FileSourceTask {
    file: Option<PathBuf>,
    topic: String,
    batch_size: usize,
    max_line_bytes: usize,
    partition: Arc<SourcePartition>,
    position: u64,
    reader: Option<LineReader>,
    stdin: Option<(tokio::io::BufReader<tokio::io::Stdin>, Splitter)>,
    detail: StatusDetail,
    missing_logged: bool,
    schema: sluice_runtime::data::SchemaRef,
    /// A large backlog found when the file was opened, followed until read.
    first_read: Option<Progress>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl FileSourceTask {
    fn record(&self, line: Line, ts: i64, last: bool) -> SourceRecord {
        let schema = self.schema.clone();
        let value = SchemaAndValue::with_schema(schema, Value::String(line.text));
        let record = Record::new(self.topic.clone(), value).with_timestamp(Some(ts));
        let mut rec = SourceRecord::new(record);
        if last {
            let mut offset = SourceOffset::new();
            offset.insert("position".into(), Json::from(line.next_position));
            rec = rec.with_position(self.partition.clone(), offset);
        }
        rec
    }

    /// The failed record for a line longer than `max.line.bytes`.
    fn too_long(&self, source: &str, t: TooLong) -> FailedSourceRecord {
        FailedSourceRecord {
            topic: self.topic.clone(),
            key: None,
            value: Some(t.prefix.into()),
            headers: Vec::new(),
            position: format!("{} at byte {}", source, t.start),
            error: format!(
                "the line starting at byte {} of {} is longer than max.line.bytes={}",
                t.start, source, self.max_line_bytes
            ),
            class_name: TASK_CLASS.into(),
        }
    }

    async fn poll_stdin(&mut self) -> Result<SourceBatch, ConnectError> {
        let max = self.max_line_bytes;
        let (reader, splitter) = self.stdin.get_or_insert_with(|| {
            (
                tokio::io::BufReader::new(tokio::io::stdin()),
                Splitter::new(0, max),
            )
        });
        // Cancel-safe: bytes stay in the reader's buffer until the splitter took them,
        // which happens without an await in between.
        let next = async {
            loop {
                let buf = reader.fill_buf().await?;
                if buf.is_empty() {
                    return Ok::<_, std::io::Error>(None);
                }
                let (n, item) = splitter.feed(buf);
                reader.consume(n);
                if item.is_some() {
                    return Ok(item);
                }
            }
        };
        let mut batch = SourceBatch::new();
        match tokio::time::timeout(Duration::from_secs(1), next).await {
            Ok(Ok(Some(Item::Line(l)))) => {
                let value = SchemaAndValue::with_schema(
                    primitive(SchemaType::String, false),
                    Value::String(l.text),
                );
                batch.push(SourceRecord::new(
                    Record::new(self.topic.clone(), value).with_timestamp(Some(now_ms())),
                ));
            }
            Ok(Ok(Some(Item::TooLong(t)))) => batch.push_failed(self.too_long("stdin", t)),
            // End of input: nothing more will come.
            Ok(Ok(None)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Ok(Err(e)) => {
                return Err(ConnectError::retriable(format!(
                    "error reading stdin: {}",
                    e
                )))
            }
            Err(_) => {}
        }
        Ok(batch)
    }
}

impl StartSourceTask for FileSourceTask {
    async fn start(config: ParsedConfig, ctx: SourceTaskContext) -> Result<Self, ConnectError> {
        let file = config
            .string("file")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from);
        let mut partition = SourcePartition::new();
        let mut position = 0;
        if let Some(f) = &file {
            partition.insert("filename".into(), Json::String(f.display().to_string()));
            if let Some(offset) = ctx.offsets.offset(&partition).await? {
                position = match offset.get("position") {
                    Some(Json::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap(),
                    other => {
                        return Err(ConnectError::fatal(format!(
                            "Offset position is the incorrect type: {:?} for file {}",
                            other,
                            f.display()
                        )))
                    }
                };
                tracing::info!(file = %f.display(), position, "resuming from the stored position");
            }
        }
        Ok(FileSourceTask {
            file,
            topic: config.str("topic"),
            batch_size: config.int("batch.size") as usize,
            max_line_bytes: config.int("max.line.bytes").max(1) as usize,
            partition: Arc::new(partition),
            position,
            reader: None,
            stdin: None,
            detail: ctx.status.clone(),
            missing_logged: false,
            first_read: None,
            schema: primitive(SchemaType::String, false),
        })
    }
}

#[async_trait]
impl SourceTask for FileSourceTask {
    async fn poll(&mut self) -> Result<SourceBatch, ConnectError> {
        let Some(path) = self.file.clone() else {
            return self.poll_stdin().await;
        };
        if self.reader.is_none() {
            match LineReader::open(&path, self.position, self.max_line_bytes) {
                Ok((r, reset)) => {
                    if reset {
                        tracing::warn!(file = %path.display(), position = self.position, "the file is shorter than the stored position (truncated or replaced); reading it from the start");
                    }
                    self.reader = Some(r);
                    self.missing_logged = false;
                    self.detail.clear();
                    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    let from = if reset { 0 } else { self.position };
                    self.first_read = Progress::new(
                        format!("first read of {}", path.display()),
                        ProgressUnit::Bytes,
                        from,
                        size,
                        FIRST_READ_MIN_BYTES,
                    );
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !self.missing_logged {
                        tracing::warn!("Couldn't find file {} for FileStreamSourceTask, sleeping to wait for it to be created", path.display());
                        self.missing_logged = true;
                    }
                    self.detail
                        .set(format!("waiting for file {} to be created", path.display()));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return Ok(SourceBatch::new());
                }
                Err(e) => {
                    self.detail
                        .set(format!("cannot open {}: {}", path.display(), e));
                    return Err(ConnectError::retriable(format!(
                        "cannot open {}: {}",
                        path.display(),
                        e
                    )));
                }
            }
        }
        let mut reader = self.reader.take().expect("opened above");
        let max = self.batch_size;
        let p2 = path.clone();
        let (reader, result, truncated) = tokio::task::spawn_blocking(move || {
            let r = reader.read_lines(max);
            let t = r.as_ref().map(|l| l.is_empty()).unwrap_or(false) && reader.truncated(&p2);
            (reader, r, t)
        })
        .await
        .map_err(|e| ConnectError::fatal(format!("file reader panicked: {}", e)))?;
        let lines = match result {
            Ok(l) => l,
            Err(e) => {
                // Drop the reader; the next poll reopens the file at the last position.
                return Err(ConnectError::retriable(format!(
                    "error reading {}: {}",
                    path.display(),
                    e
                )));
            }
        };
        if truncated {
            tracing::warn!(file = %path.display(), "the file was truncated; reading it from the start");
            self.position = 0;
            return Ok(SourceBatch::new());
        }
        self.position = reader.position();
        self.reader = Some(reader);
        if let Some(f) = self.first_read.as_mut() {
            if f.update(self.position, &self.detail) {
                self.first_read = None;
            }
        }
        if lines.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return Ok(SourceBatch::new());
        }
        let ts = now_ms();
        let n = lines.len();
        // The position rides on the last line of the batch, and on each line before an
        // over-long one (which carries no position), so that a task failed by that line
        // keeps the position of what it delivered.
        let last_line = lines.iter().rposition(|i| matches!(i, Item::Line(_)));
        let source = path.display().to_string();
        let mut batch = SourceBatch::with_capacity(n);
        let mut items = lines.into_iter().enumerate().peekable();
        while let Some((i, item)) = items.next() {
            match item {
                Item::Line(l) => {
                    let before_failed = matches!(items.peek(), Some((_, Item::TooLong(_))));
                    batch.push(self.record(l, ts, before_failed || Some(i) == last_line));
                }
                Item::TooLong(t) => batch.push_failed(self.too_long(&source, t)),
            }
        }
        Ok(batch)
    }
}
