//! The MongoDB sink task: records -> documents -> writes, grouped per namespace and sent
//! as bulk write commands; `put` returns only once MongoDB acknowledged every write of
//! the batch (see the module doc of `mongodb` for the delivery rules).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::{self, DateTime};
use mongodb::options::ClientOptions;
use mongodb::Client;
use sluice_runtime::config::{ConfigErrors, ParsedConfig};
use sluice_runtime::connector::{ConnectError, SinkTask, SinkTaskContext, StartSinkTask};
use sluice_runtime::data::{SinkRecord, TimestampType};

use super::bson_mapping::to_document;
use super::cdc;
use super::config::{SinkSettings, Tolerance, TopicSettings};
use super::id_strategy::SinkDocument;
use super::timeseries::TimeseriesOptions;
use super::write_model::{delete_by_id, DeleteStrategy, WriteOp};
use super::writer::{run_end, write_size, Writer};

/// One write of a batch.
struct PlannedWrite {
    /// Index of its record in the batch.
    record: usize,
    op: WriteOp,
    /// Encoded size of its command entry.
    size: usize,
}

/// The writes of one namespace in record order, and how far they got.
struct NamespaceWork {
    db: String,
    coll: String,
    ordered: bool,
    /// The most writes in one command: `max.batch.size` (0: no limit of ours) within
    /// the server's `maxWriteBatchSize`.
    max_batch: usize,
    ops: Vec<PlannedWrite>,
    /// Writes before this one are acknowledged (or reported as errant).
    next: usize,
    /// Set: the collection must be a time series collection (created if missing).
    timeseries: Option<Arc<TimeseriesOptions>>,
}

/// A batch being written; kept across a retriable failure so that a retried `put` of
/// the same records resumes where it stopped (and reuses generated ids).
struct Pending {
    fingerprint: (usize, i64, i64, String),
    work: Vec<NamespaceWork>,
}

fn fingerprint(records: &[SinkRecord]) -> (usize, i64, i64, String) {
    let first = records.first().map(|r| r.origin.offset).unwrap_or(-1);
    let last = records.last().map(|r| r.origin.offset).unwrap_or(-1);
    let topic = records
        .first()
        .map(|r| format!("{}/{}", r.origin.topic, r.origin.partition))
        .unwrap_or_default();
    (records.len(), first, last, topic)
}

/// Writes records to MongoDB.
pub struct MongoSinkTask {
    settings: SinkSettings,
    /// `errors.tolerance=all` at the runtime level (so the errant record reporter
    /// accepts records rather than failing).
    runtime_tolerates_all: bool,
    topics: HashMap<String, Arc<TopicSettings>>,
    writer: Writer,
    ctx: SinkTaskContext,
    pending: Option<Pending>,
    /// Namespaces known to be time series collections.
    timeseries_checked: HashSet<(String, String)>,
}

fn where_(r: &SinkRecord) -> String {
    format!(
        "topic={} partition={} offset={}",
        r.origin.topic, r.origin.partition, r.origin.offset
    )
}

impl MongoSinkTask {
    fn topic_settings(&mut self, topic: &str) -> Result<Arc<TopicSettings>, ConnectError> {
        if let Some(s) = self.topics.get(topic) {
            return Ok(s.clone());
        }
        let s = Arc::new(
            self.settings
                .topic(topic)
                .map_err(|i| ConnectError::Config(ConfigErrors(i)))?,
        );
        self.topics.insert(topic.to_string(), s.clone());
        Ok(s)
    }

    /// A record that cannot be written: fails the task (tolerance none) or is reported
    /// to the runtime's errant record handler (dead letter queue) and skipped.
    async fn errant(&self, r: &SinkRecord, error: &str) -> Result<(), ConnectError> {
        let trace = format!("MongoDB sink: record {}: {}", where_(r), error);
        if self.settings.tolerance == Tolerance::None {
            return Err(ConnectError::fatal(trace));
        }
        if self.runtime_tolerates_all {
            self.ctx.errant.report(r, error).await
        } else {
            // mongo.errors.tolerance=all with errors.tolerance=none: no dead letter
            // queue is set up for this connector; log and skip.
            tracing::warn!("skipping (mongo.errors.tolerance=all): {}", trace);
            Ok(())
        }
    }

    /// Turns records into writes per namespace, reporting records that cannot become
    /// a write.
    async fn prepare(
        &mut self,
        records: &[SinkRecord],
    ) -> Result<Vec<NamespaceWork>, ConnectError> {
        let mut work: Vec<NamespaceWork> = Vec::new();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        let now = DateTime::now();
        let limits = self.writer.limits();
        for (i, r) in records.iter().enumerate() {
            let topic = r.record.topic.to_string();
            let s = self.topic_settings(&topic)?;
            let (key, op) = match build_write(r, &s, now) {
                Ok(Some(w)) => w,
                Ok(None) => continue,
                Err(e) => {
                    self.errant(r, &e).await?;
                    continue;
                }
            };
            let size = write_size(&op);
            if let Some(why) = limits.oversized(&size) {
                // Never sent: MongoDB would refuse the whole command, not just this write.
                self.errant(r, &format!("cannot be written to MongoDB: {}", why))
                    .await?;
                continue;
            }
            let slot = *index.entry(key.clone()).or_insert_with(|| {
                work.push(NamespaceWork {
                    db: key.0.clone(),
                    coll: key.1.clone(),
                    ordered: s.ordered,
                    max_batch: if s.max_batch_size == 0 {
                        limits.max_write_batch_size
                    } else {
                        s.max_batch_size.min(limits.max_write_batch_size)
                    },
                    ops: Vec::new(),
                    next: 0,
                    timeseries: s.timeseries.clone(),
                });
                work.len() - 1
            });
            work[slot].ops.push(PlannedWrite {
                record: i,
                op,
                size: size.entry,
            });
        }
        Ok(work)
    }

    /// Writes what is left of the pending batch. On a retriable error the progress
    /// stays in `self.pending`.
    async fn write_pending(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        let writer = self.writer.clone();
        let budget = writer.limits().entries_budget();
        let mut pending = self.pending.take().expect("pending batch");
        for ns in pending.work.iter_mut() {
            if let Some(ts) = &ns.timeseries {
                let key = (ns.db.clone(), ns.coll.clone());
                if ns.next < ns.ops.len() && !self.timeseries_checked.contains(&key) {
                    if let Err(e) = ts.ensure(writer.client(), &ns.db, &ns.coll).await {
                        self.pending = Some(pending);
                        return Err(e);
                    }
                    self.timeseries_checked.insert(key);
                }
            }
            let shape: Vec<(&'static str, usize)> =
                ns.ops.iter().map(|w| (w.op.command(), w.size)).collect();
            while ns.next < ns.ops.len() {
                let start = ns.next;
                // One command kind, at most max_batch writes and budget bytes.
                let end = run_end(&shape, start, ns.max_batch, budget);
                let run: Vec<&WriteOp> = ns.ops[start..end].iter().map(|w| &w.op).collect();
                let outcome = match writer.send(&ns.db, &ns.coll, &run, ns.ordered).await {
                    Ok(o) => o,
                    Err(e) => {
                        let e = e.context(format!(
                            "{} writes to {}.{} not acknowledged (their offsets are not committed)",
                            ns.ops.len() - ns.next,
                            ns.db,
                            ns.coll
                        ));
                        self.pending = Some(pending);
                        return Err(e);
                    }
                };
                for rej in &outcome.rejected {
                    let rec = &records[ns.ops[start + rej.index].record];
                    let msg = format!(
                        "MongoDB rejected the write to {}.{}: {}",
                        ns.db, ns.coll, rej
                    );
                    // Tolerance none: everything before this write is acknowledged but
                    // not committed; a restart reads the batch again.
                    self.errant(rec, &msg).await?;
                }
                // Ordered: the writes after a rejected one were not attempted; they
                // are sent again in the next round.
                ns.next = start + outcome.processed.max(1);
            }
        }
        Ok(())
    }
}

/// The write concern of the connection string as a command's `writeConcern`.
fn write_concern(options: &ClientOptions) -> Result<Option<bson::Document>, ConnectError> {
    match &options.write_concern {
        Some(wc) => Ok(Some(
            bson::to_document(wc)
                .map_err(|e| ConnectError::fatal(format!("write concern: {}", e)))?,
        )
        .filter(|d| !d.is_empty())),
        None => Ok(None),
    }
}

/// (database, collection).
type Namespace = (String, String);

/// The namespace and write for one record, `None` for a record that writes nothing
/// (a tombstone without `delete.on.null.values`, a change event a CDC handler skips).
fn build_write(
    r: &SinkRecord,
    s: &TopicSettings,
    now: DateTime,
) -> Result<Option<(Namespace, WriteOp)>, String> {
    let (key, key_error) = match to_document(&r.record.key) {
        Ok(k) => (k, None),
        Err(e) => (None, Some(e)),
    };
    let value = to_document(&r.record.value).map_err(|e| format!("value: {}", e))?;
    let timestamp = match (r.timestamp_type, r.record.timestamp) {
        (TimestampType::CreateTime, Some(t)) => Some(("CreateTime", t)),
        (TimestampType::LogAppendTime, Some(t)) => Some(("LogAppendTime", t)),
        _ => None,
    };
    let mut doc = SinkDocument {
        key,
        key_error,
        value,
        topic: r.record.topic.to_string(),
        partition: r.record.partition.unwrap_or(r.origin.partition),
        offset: r.origin.offset,
        timestamp,
    };
    // The namespace comes from the documents as converted, before the post processors.
    let default_coll = s.collection.as_deref().unwrap_or(&doc.topic).to_string();
    let ns = s
        .namespace_mapper
        .namespace(&doc, &s.database, &default_coll)?;
    if let Some(cdc) = &s.cdc_handler {
        let op = cdc.handle(&doc)?;
        let op = if s.cdc_remove_nulls {
            op.and_then(cdc::remove_nulls)
        } else {
            op
        };
        return Ok(op.map(|op| (ns, op)));
    }
    if doc.value.is_none() {
        if !s.delete_on_null {
            return Ok(None);
        }
        if doc.key.is_none() && doc.key_error.is_none() {
            return Ok(None);
        }
        // Key projectors and renamers shape the key the id comes from.
        for p in &s.post_processors {
            p.apply(&mut doc, &s.id_strategy, s.overwrite_existing_id)?;
        }
        let op = match s.delete_strategy {
            DeleteStrategy::ById => delete_by_id(s.id_strategy.generate(&doc)?),
            DeleteStrategy::Model(m) => m.write(&mut doc, &s.id_strategy, now)?,
        };
        return Ok(Some((ns, op)));
    }
    for p in &s.post_processors {
        p.apply(&mut doc, &s.id_strategy, s.overwrite_existing_id)?;
    }
    let op = s.write_model.write(&mut doc, &s.id_strategy, now)?;
    Ok(Some((ns, op)))
}

impl StartSinkTask for MongoSinkTask {
    async fn start(config: ParsedConfig, ctx: SinkTaskContext) -> Result<Self, ConnectError> {
        let settings = SinkSettings::from_config(&config)
            .map_err(|i| ConnectError::Config(ConfigErrors(i)))?;
        let runtime_tolerates_all = config
            .raw()
            .get("errors.tolerance")
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("all"));
        let mut options = ClientOptions::parse(&settings.uri).await.map_err(|e| {
            super::writer::classify(&e, "cannot read connection.uri").context("MongoDB sink")
        })?;
        if options.server_selection_timeout.is_none() {
            options.server_selection_timeout = Some(std::time::Duration::from_secs(10));
        }
        if options.app_name.is_none() {
            options.app_name = Some(format!("sluice-{}", ctx.connector));
        }
        let write_concern = write_concern(&options)?;
        let client = Client::with_options(options)
            .map_err(|e| super::writer::classify(&e, "cannot create the MongoDB client"))?;
        let mut writer = Writer::new(client, write_concern);
        writer.hello().await?;
        Ok(MongoSinkTask {
            settings,
            runtime_tolerates_all,
            topics: HashMap::new(),
            writer,
            ctx,
            pending: None,
            timeseries_checked: HashSet::new(),
        })
    }
}

#[async_trait]
impl SinkTask for MongoSinkTask {
    /// Documents are built from keys and values; headers are never written.
    fn reads_headers(&self) -> bool {
        false
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<(), ConnectError> {
        if records.is_empty() {
            return Ok(());
        }
        let fp = fingerprint(records);
        if self.pending.as_ref().map(|p| &p.fingerprint) != Some(&fp) {
            let work = self.prepare(records).await?;
            self.pending = Some(Pending {
                fingerprint: fp,
                work,
            });
        }
        // A retriable error shows in the task status (the runtime's "put failed,
        // retrying" detail) until a put succeeds.
        let started = std::time::Instant::now();
        let r = self.write_pending(records).await;
        tracing::debug!(
            records = records.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            ok = r.is_ok(),
            "put"
        );
        if !matches!(&r, Err(e) if e.is_retriable()) {
            self.pending = None;
        }
        r
    }

    /// Nothing to do: `put` returns only after MongoDB acknowledged its writes.
    async fn flush(&mut self) -> Result<(), ConnectError> {
        Ok(())
    }

    async fn stop(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[tokio::test]
    async fn the_uri_write_concern_goes_with_every_command() {
        let o = ClientOptions::parse("mongodb://h/?w=majority&journal=true&wtimeoutMS=500")
            .await
            .unwrap();
        assert_eq!(
            write_concern(&o).unwrap(),
            Some(doc! {"w": "majority", "wtimeout": 500, "j": true})
        );
        let none = ClientOptions::parse("mongodb://h/").await.unwrap();
        assert_eq!(write_concern(&none).unwrap(), None);
    }
}
