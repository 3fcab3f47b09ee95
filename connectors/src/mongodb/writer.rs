//! Sends writes to one namespace with the `insert` / `update` / `delete` commands and
//! reads back which writes the server rejected.
//!
//! The per-collection write commands work on every MongoDB-protocol server the driver
//! supports (the driver's `Client::bulk_write` needs MongoDB 8), take an `ordered`
//! flag, and report rejected writes by index (`writeErrors`), which is what per-record
//! error handling needs. A bulk of mixed writes is sent as consecutive runs of one
//! command each, in record order.

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
}

/// Server error codes after which the same write can succeed later (primary stepped
/// down, shutting down, network timeouts, interrupted, ...).
const RETRIABLE_CODES: &[i32] = &[
    6, 7, 63, 89, 91, 133, 150, 189, 234, 262, 9001, 10107, 11600, 11602, 13388, 13435, 13436, 64,
    100,
];

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
        }
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
        let reply = self
            .client
            .database(db)
            .run_command(cmd)
            .await
            .map_err(|e| classify(&e, &what))?;
        parse_reply(&reply, ops.len(), ordered).map_err(|e| e.context(&what))
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> Result<(), ConnectError> {
        self.client
            .database("admin")
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(|e| classify(&e, "MongoDB does not answer"))
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
}
