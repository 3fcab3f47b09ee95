//! Sends writes to one namespace with the `insert` / `update` / `delete` commands and
//! reads back which writes the server rejected.
//!
//! The per-collection write commands work on every MongoDB-protocol server the driver
//! supports (the driver's `Client::bulk_write` needs MongoDB 8), take an `ordered`
//! flag, and report rejected writes by index (`writeErrors`), which is what per-record
//! error handling needs. A bulk of mixed writes is sent as consecutive runs of one
//! command each, in record order.
//!
//! A run is cut by count (`max.batch.size`, the server's `maxWriteBatchSize`) and by
//! encoded size, as the official drivers split bulk writes: `run_command` sends the
//! whole command as one BSON document, which MongoDB accepts up to 16 KiB over
//! `maxBsonObjectSize`, so the entries of one command take at most 8 KiB over it (the
//! rest is left for the command's own fields and the driver's `$db`, `lsid`,
//! `$clusterTime`). A single write whose document is over `maxBsonObjectSize` (16 MiB)
//! is never sent: the task reports it as an errant record. The limits come from the
//! server's `hello` reply.

use mongodb::bson::{doc, Bson, Document};
use mongodb::error::ErrorKind;
use mongodb::Client;
use sluice_runtime::connector::ConnectError;

use super::write_model::WriteOp;

/// A write the server rejected: its index in the run, code and message.
#[derive(Debug, Clone)]
pub struct RejectedWrite {
    pub index: usize,
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for RejectedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

/// What became of a run of writes the server answered.
#[derive(Debug, Default)]
pub struct RunOutcome {
    pub rejected: Vec<RejectedWrite>,
    /// How many writes of the run the server dealt with (written or rejected): all of
    /// them unordered; up to and including the first rejected one when ordered.
    pub processed: usize,
}

/// Sends write commands through one client.
#[derive(Clone)]
pub struct Writer {
    client: Client,
    /// The write concern from the connection string, sent with every command.
    write_concern: Option<Document>,
    limits: ServerLimits,
}

/// How much one write command may carry, from the server's `hello` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// `maxBsonObjectSize`: the largest document (16 MiB on MongoDB).
    pub max_bson_object_size: usize,
    /// `maxWriteBatchSize`: the most writes in one command (100,000 on MongoDB).
    pub max_write_batch_size: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_bson_object_size: 16 * 1024 * 1024,
            max_write_batch_size: 100_000,
        }
    }
}

impl ServerLimits {
    /// Reads the limits from a `hello` (or `isMaster`) reply; missing values keep
    /// MongoDB's defaults.
    pub fn from_hello(reply: &Document) -> Self {
        let d = ServerLimits::default();
        let get = |k: &str, default: usize| {
            number(reply.get(k))
                .filter(|n| *n > 0)
                .map_or(default, |n| n as usize)
        };
        ServerLimits {
            max_bson_object_size: get("maxBsonObjectSize", d.max_bson_object_size),
            max_write_batch_size: get("maxWriteBatchSize", d.max_write_batch_size),
        }
    }

    /// Bytes the array entries of one command may take: MongoDB accepts a command
    /// document up to `maxBsonObjectSize` + 16 KiB; 8 KiB of that is left for the
    /// command's other fields and those the driver adds.
    pub fn entries_budget(&self) -> usize {
        self.max_bson_object_size + 8 * 1024
    }

    /// Why a write cannot be sent at all, if it cannot: its document is over
    /// `maxBsonObjectSize`, or its command entry alone is over the budget.
    pub fn oversized(&self, size: &WriteSize) -> Option<String> {
        if size.document > self.max_bson_object_size {
            Some(format!(
                "the document is {} bytes, over MongoDB's maximum document size (maxBsonObjectSize) of {} bytes",
                size.document, self.max_bson_object_size
            ))
        } else if element_size(0, size.entry) > self.entries_budget() {
            Some(format!(
                "the write is {} bytes, over the {} bytes one write command may carry",
                size.entry,
                self.entries_budget()
            ))
        } else {
            None
        }
    }
}

/// The encoded sizes of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteSize {
    /// The write's entry in the command's array (as [`WriteOp::entry`] encodes it).
    pub entry: usize,
    /// Its largest document (the inserted or replacing document, the filter).
    pub document: usize,
}

/// Counts the bytes written to it.
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A document's encoded BSON size.
fn bson_size(d: &Document) -> usize {
    let mut c = Count(0);
    // Encoding only fails for keys with NUL bytes, which the server would refuse
    // anyway; such a document counts as its size so far.
    let _ = d.to_writer(&mut c);
    c.0
}

/// The encoded sizes of a write, without building its entry.
pub fn write_size(op: &WriteOp) -> WriteSize {
    match op {
        WriteOp::Insert(d) => {
            let n = bson_size(d);
            WriteSize {
                entry: n,
                document: n,
            }
        }
        WriteOp::Update { q, u, .. } => {
            let (q, u) = (bson_size(q), bson_size(u));
            // {q: <doc>, u: <doc>, upsert: <bool>}: length, 3 typed names, the
            // bool, the terminator.
            WriteSize {
                entry: 4 + (1 + 2 + q) + (1 + 2 + u) + (1 + 7 + 1) + 1,
                document: q.max(u),
            }
        }
        WriteOp::Delete { q } => {
            let q = bson_size(q);
            // {q: <doc>, limit: <int32>}
            WriteSize {
                entry: 4 + (1 + 2 + q) + (1 + 6 + 4) + 1,
                document: q,
            }
        }
    }
}

/// The bytes an entry takes as element `index` of a BSON array: type byte, the index
/// as a decimal key with its NUL, the entry.
pub fn element_size(index: usize, entry: usize) -> usize {
    let mut digits = 1;
    let mut i = index;
    while i >= 10 {
        digits += 1;
        i /= 10;
    }
    1 + digits + 1 + entry
}

/// Where the run of writes starting at `start` ends (exclusive): the writes are of one
/// command kind, at most `max_count` of them, and their entries take at most `budget`
/// bytes, but a run always holds at least one write.
pub fn run_end(
    ops: &[(&'static str, usize)],
    start: usize,
    max_count: usize,
    budget: usize,
) -> usize {
    let Some((kind, _)) = ops.get(start) else {
        return start;
    };
    let mut bytes = 0;
    let mut end = start;
    for (i, (k, size)) in ops[start..].iter().enumerate() {
        if k != kind || i >= max_count.max(1) {
            break;
        }
        let cost = element_size(i, *size);
        if i > 0 && bytes + cost > budget {
            break;
        }
        bytes += cost;
        end += 1;
    }
    end
}

/// Server error codes after which the same write can succeed later (primary stepped
/// down, shutting down, network timeouts, interrupted, ...).
const RETRIABLE_CODES: &[i32] = &[
    6, 7, 63, 89, 91, 133, 150, 189, 234, 262, 9001, 10107, 11600, 11602, 13388, 13435, 13436, 64,
    100,
];

/// How long a command may go without a reply. The driver waits for one as long as the
/// connection stays open (its socket has no read timeout); a server that took the
/// command and went quiet (seen once after a restart) would hold the task forever. Past
/// this bound the command counts as failed, retriably: the writes are sent again (the
/// sink is at least once; upserts and replacements by id make that idempotent).
pub const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A command's reply within [`REPLY_TIMEOUT`], or a retriable error naming `what`.
async fn bounded(
    what: &str,
    command: impl std::future::IntoFuture<Output = mongodb::error::Result<Document>>,
) -> Result<Document, ConnectError> {
    match tokio::time::timeout(REPLY_TIMEOUT, command.into_future()).await {
        Ok(r) => r.map_err(|e| classify(&e, what)),
        Err(_) => Err(ConnectError::retriable(format!(
            "{}: no reply from MongoDB within {} s",
            what,
            REPLY_TIMEOUT.as_secs()
        ))),
    }
}

/// Classifies a driver error: retriable (server down, restarting, network) or fatal.
pub fn classify(e: &mongodb::error::Error, what: &str) -> ConnectError {
    let msg = format!("{}: {}", what, e);
    if e.contains_label("RetryableWriteError") || e.contains_label("TransientTransactionError") {
        return ConnectError::retriable(msg);
    }
    match e.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::InvalidResponse { .. } => ConnectError::retriable(msg),
        ErrorKind::Command(c) if RETRIABLE_CODES.contains(&c.code) => ConnectError::retriable(msg),
        _ => ConnectError::fatal(msg),
    }
}

impl Writer {
    pub fn new(client: Client, write_concern: Option<Document>) -> Self {
        Writer {
            client,
            write_concern,
            limits: ServerLimits::default(),
        }
    }

    /// The client the commands go through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The server's limits (MongoDB's defaults until [`hello`](Self::hello) read them).
    pub fn limits(&self) -> ServerLimits {
        self.limits
    }

    /// Sends `ops` (all of one command kind) to `db.coll` in one command. `Err` only
    /// when the command as a whole failed; rejected single writes are in the outcome.
    pub async fn send(
        &self,
        db: &str,
        coll: &str,
        ops: &[&WriteOp],
        ordered: bool,
    ) -> Result<RunOutcome, ConnectError> {
        let Some(first) = ops.first() else {
            return Ok(RunOutcome::default());
        };
        let kind = first.command();
        let array = match kind {
            "insert" => "documents",
            "update" => "updates",
            _ => "deletes",
        };
        let entries: Vec<Bson> = ops.iter().map(|o| Bson::Document(o.entry())).collect();
        let mut cmd = doc! {kind: coll, array: entries, "ordered": ordered};
        if let Some(wc) = &self.write_concern {
            cmd.insert("writeConcern", wc.clone());
        }
        let what = format!("{} into {}.{}", kind, db, coll);
        let reply = bounded(&what, self.client.database(db).run_command(cmd)).await?;
        parse_reply(&reply, ops.len(), ordered).map_err(|e| e.context(&what))
    }

    /// Checks that the server answers and reads its limits (`hello`, or `isMaster` on
    /// servers older than MongoDB 4.4).
    pub async fn hello(&mut self) -> Result<(), ConnectError> {
        let admin = self.client.database("admin");
        let what = "MongoDB does not answer";
        let reply = match tokio::time::timeout(
            REPLY_TIMEOUT,
            std::future::IntoFuture::into_future(admin.run_command(doc! {"hello": 1})),
        )
        .await
        {
            Ok(Ok(r)) => r,
            Ok(Err(e)) if matches!(e.kind.as_ref(), ErrorKind::Command(c) if c.code == 59) => {
                bounded(what, admin.run_command(doc! {"isMaster": 1})).await?
            }
            Ok(Err(e)) => return Err(classify(&e, what)),
            Err(_) => {
                return Err(ConnectError::retriable(format!(
                    "{}: no reply within {} s",
                    what,
                    REPLY_TIMEOUT.as_secs()
                )))
            }
        };
        self.limits = ServerLimits::from_hello(&reply);
        Ok(())
    }
}

/// Reads a write command's reply: rejected writes by index, and a write concern error
/// (retriable: the writes may not be durable as the write concern asks).
pub fn parse_reply(reply: &Document, n: usize, ordered: bool) -> Result<RunOutcome, ConnectError> {
    if let Ok(wce) = reply.get_document("writeConcernError") {
        return Err(ConnectError::retriable(format!(
            "write concern error: {} (code {})",
            wce.get_str("errmsg").unwrap_or("?"),
            number(wce.get("code")).unwrap_or(-1)
        )));
    }
    let mut rejected = Vec::new();
    if let Ok(errors) = reply.get_array("writeErrors") {
        for e in errors {
            if let Bson::Document(e) = e {
                let index = number(e.get("index")).unwrap_or(0).max(0) as usize;
                rejected.push(RejectedWrite {
                    index,
                    code: number(e.get("code")).unwrap_or(-1) as i32,
                    message: e.get_str("errmsg").unwrap_or("write error").to_string(),
                });
            }
        }
    }
    rejected.sort_by_key(|r| r.index);
    let processed = if ordered {
        match rejected.first() {
            Some(r) => (r.index + 1).min(n),
            None => n,
        }
    } else {
        n
    };
    if ordered {
        rejected.truncate(1);
    }
    Ok(RunOutcome {
        rejected,
        processed,
    })
}

fn number(b: Option<&Bson>) -> Option<i64> {
    match b? {
        Bson::Int32(i) => Some(*i as i64),
        Bson::Int64(i) => Some(*i),
        Bson::Double(d) => Some(*d as i64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_per_write() {
        let r = doc! {"n": 3, "ok": 1.0, "writeErrors": [
        {"index": 3, "code": 11000, "errmsg": "dup 2"},
        {"index": 1, "code": 11000, "errmsg": "dup 1"}]};
        let o = parse_reply(&r, 5, false).unwrap();
        assert_eq!(o.processed, 5);
        assert_eq!(
            o.rejected.iter().map(|x| x.index).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let o = parse_reply(&r, 5, true).unwrap();
        assert_eq!(o.processed, 2);
        assert_eq!(o.rejected.len(), 1);
        let ok = parse_reply(&doc! {"n": 5, "ok": 1.0}, 5, true).unwrap();
        assert_eq!((ok.processed, ok.rejected.len()), (5, 0));
        let wce = doc! {"ok": 1.0, "writeConcernError": {"code": 64, "errmsg": "timeout"}};
        assert!(parse_reply(&wce, 1, true).unwrap_err().is_retriable());
    }

    #[test]
    fn write_sizes_match_the_encoded_entries() {
        let d = doc! {"_id": 7, "p": "x".repeat(1000), "n": {"a": [1, 2.5, "z"]}};
        let ops = [
            WriteOp::Insert(d.clone()),
            WriteOp::Update {
                q: doc! {"_id": 7},
                u: d.clone(),
                upsert: true,
            },
            WriteOp::Delete { q: doc! {"_id": 7} },
        ];
        for op in &ops {
            let mut buf = Vec::new();
            op.entry().to_writer(&mut buf).unwrap();
            assert_eq!(write_size(op).entry, buf.len(), "{:?}", op.command());
        }
        let mut buf = Vec::new();
        d.to_writer(&mut buf).unwrap();
        assert_eq!(write_size(&ops[1]).document, buf.len());
        // An array's elements: type, decimal key, NUL, value.
        let mut arr = Vec::new();
        let entries: Vec<Bson> = (0..12).map(|_| Bson::Document(d.clone())).collect();
        doc! {"a": entries}.to_writer(&mut arr).unwrap();
        let elements: usize = (0..12).map(|i| element_size(i, buf.len())).sum();
        assert_eq!(arr.len(), 4 + 1 + 2 + 4 + elements + 1 + 1);
    }

    #[test]
    fn runs_are_cut_by_kind_count_and_bytes() {
        let ops: Vec<(&str, usize)> = vec![
            ("update", 400),
            ("update", 400),
            ("update", 400),
            ("insert", 10),
            ("update", 5000),
            ("update", 10),
        ];
        assert_eq!(run_end(&ops, 0, 100, 1_000_000), 3, "kind changes");
        assert_eq!(run_end(&ops, 0, 2, 1_000_000), 2, "count");
        assert_eq!(run_end(&ops, 0, 100, 810), 2, "bytes: 2 x 403 fit in 810");
        assert_eq!(run_end(&ops, 0, 100, 805), 1);
        assert_eq!(run_end(&ops, 4, 100, 100), 5, "one write even if over");
        assert_eq!(run_end(&ops, 6, 100, 100), 6);
        // 500 documents of 64 KiB: runs of at most the budget.
        let limits = ServerLimits::default();
        let big: Vec<(&str, usize)> = vec![("update", 65_600); 500];
        let mut start = 0;
        let mut runs = 0;
        while start < big.len() {
            let end = run_end(&big, start, 100_000, limits.entries_budget());
            let bytes: usize = (0..end - start).map(|i| element_size(i, 65_600)).sum();
            assert!(bytes <= limits.entries_budget());
            start = end;
            runs += 1;
        }
        assert_eq!(runs, 2);
    }

    #[test]
    fn limits_come_from_hello_and_flag_oversized_writes() {
        let l = ServerLimits::from_hello(&doc! {"maxBsonObjectSize": 1000, "maxWriteBatchSize": 5});
        assert_eq!((l.max_bson_object_size, l.max_write_batch_size), (1000, 5));
        assert_eq!(ServerLimits::from_hello(&doc! {}), ServerLimits::default());
        let ok = WriteSize {
            entry: 1020,
            document: 1000,
        };
        assert_eq!(l.oversized(&ok), None);
        let big = WriteSize {
            entry: 1021,
            document: 1001,
        };
        assert!(l.oversized(&big).unwrap().contains(
            "1001 bytes, over MongoDB's maximum document size (maxBsonObjectSize) of 1000 bytes"
        ));
    }
}
