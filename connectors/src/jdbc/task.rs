//! The JDBC source task: reads its tables (or the query) pass by pass through a
//! server-side cursor and turns rows into records. See the module doc of `jdbc` for
//! what is committed when.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::StreamExt;
use sluice_runtime::config::ParsedConfig;
use sluice_runtime::connector::{
    ConnectError, Polled, Progress, ProgressUnit, SourceBatch, SourceTask, SourceTaskContext,
    StartSourceTask, StatusDetail,
};
use sluice_runtime::data::{Record, SchemaAndValue, SourcePartition, SourceRecord, Struct, Value};
use tokio::time::Instant;
use tokio_postgres::{Client, Row, Statement};

use super::config::{JdbcSourceConfig, Mode};
use super::db::{self, to_connect};
use super::offsets::{self, Offset};
use super::plan::{self, Plan};
use super::query::{SelectSpec, INC_COL, TS_COL};
use super::safe::{SafeState, PRIVILEGE_SQL, RUNNING_SQL};
use super::source::{From, TableId};
use super::types::{decode, timestamp_micros, Raw};

const CURSOR: &str = "sluice_cursor";

/// A first snapshot of a table estimated below this many rows is not reported as
/// progress.
pub const SNAPSHOT_MIN_ROWS: u64 = 10_000;

/// PostgreSQL's estimate of a table's rows (from the last VACUUM or ANALYZE; -1 when
/// the table was never analyzed).
const ESTIMATE_SQL: &str = "SELECT reltuples::int8 FROM pg_class WHERE oid = to_regclass($1)";

/// One table (or the query) of this task.
struct SourceState {
    from: From,
    topic: Arc<str>,
    partition: Arc<SourcePartition>,
    /// Where reading stopped (in memory: ahead of what Kafka acknowledged).
    offset: Offset,
    safe: SafeState,
    next_due: Instant,
    /// Passes that failed in a row with a query error (`query.retry.attempts`).
    failures: u32,
    /// No pass has read this table yet since the task started without a stored
    /// offset (or in bulk mode): its first pass is the snapshot whose progress shows.
    first_pass: bool,
}

/// A pass in progress: an open cursor over one source.
struct Pass {
    idx: usize,
    plan: Arc<Plan>,
    fetch: Statement,
    inc_at: Option<usize>,
    ts_at: Option<usize>,
    /// Largest timestamp read in this pass (timestamp mode's offset once it ends).
    max_ts: Option<i64>,
    /// Reads the pass's chunks ahead while the runtime converts and sends earlier ones
    /// (database I/O and decoding overlap with the Kafka side).
    reader: Option<Reader>,
    /// Rows read in this pass.
    rows: u64,
    /// A table's first snapshot, when large enough to follow.
    progress: Option<Progress>,
}

/// Rows per FETCH at least: a small `batch.max.rows` (Confluent's default is 100)
/// still reads the cursor in large round trips, and hands the runtime
/// `batch.max.rows` records per poll.
const FETCH_ROWS_MIN: usize = 5000;

/// FETCHes read ahead of the runtime, at most (besides the one being decoded). With
/// [`FETCH_ROWS_MIN`] this bounds the rows a pass holds in memory to about
/// 2 × max(`batch.max.rows`, 5000). (The next FETCH is already sent; its rows wait in
/// the socket buffers until the reader has room.)
const FETCHES_AHEAD: usize = 1;

/// Rows per FETCH for a `batch.max.rows` of `n`.
fn fetch_rows(n: usize) -> usize {
    n.max(FETCH_ROWS_MIN)
}

/// A task that reads a pass's rows in order, hands them on in chunks of
/// `batch.max.rows` records up to [`FETCHES_AHEAD`] FETCHes ahead of the runtime, and
/// ends after the first short FETCH (the cursor is exhausted) or an error.
struct Reader {
    chunks: tokio::sync::mpsc::Receiver<Result<Chunk, ConnectError>>,
    task: tokio::task::JoinHandle<()>,
}

/// Up to `batch.max.rows` rows of a pass, already turned into records.
struct Chunk {
    records: Vec<Polled>,
    /// The cursor is exhausted: this is the pass's last chunk (maybe empty).
    last: bool,
    /// The last incrementing value and timestamp read, and the chunk's largest timestamp.
    last_inc: Option<i64>,
    last_ts: Option<i64>,
    max_ts: Option<i64>,
}

impl Drop for Pass {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            r.task.abort();
        }
    }
}

/// Starts the reader of a pass: it fetches rows and builds their records in a task of
/// its own, so that reading and decoding interleave with the runtime converting and
/// sending earlier chunks. Rows are decoded as they arrive, while PostgreSQL still
/// sends the rest, and the next FETCH goes out as soon as the previous one's rows start
/// to come (pipelined on the connection): PostgreSQL runs it while the task works, and
/// its rows wait in the connection's socket, not in memory, until they are read.
/// Waiting for each FETCH to come back before sending the next held the
/// 1,000,000-row benchmark at 0.86 of the plain loop; pipelined it ran at 0.92 and 1.01.
fn start_reader(client: &Arc<Client>, pass: &Pass, topic: &Arc<str>, n: usize) -> Reader {
    let ctx = ReadContext {
        client: client.clone(),
        fetch: pass.fetch.clone(),
        plan: pass.plan.clone(),
        inc_at: pass.inc_at,
        ts_at: pass.ts_at,
        topic: topic.clone(),
        n,
    };
    let (tx, chunks) = tokio::sync::mpsc::channel((FETCHES_AHEAD * fetch_rows(n)).div_ceil(n));
    let task = tokio::spawn(async move {
        let mut out = Outbox::new(&tx);
        // The next FETCH goes out as soon as the previous one's rows start to come:
        // PostgreSQL reads it while this task still decodes, so the cursor's rows
        // keep coming instead of waiting for a round trip per FETCH.
        let mut next = Some(ctx.start_fetch());
        while let Some(fetch) = next.take() {
            let rows = match fetch.await {
                Ok(Ok(rows)) => rows,
                Ok(Err(e)) => {
                    out.send(Err(to_connect(e, "cannot fetch rows"))).await;
                    return;
                }
                Err(_) => return,
            };
            next = Some(ctx.start_fetch());
            match ctx.read_fetch(rows, &mut out).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    out.send(Err(e)).await;
                    return;
                }
            }
        }
    });
    Reader { chunks, task }
}

type ChunkResult = Result<Chunk, ConnectError>;

/// The reader's end of the chunk channel. Once the channel is full, the reader waits
/// until a quarter of it is free again rather than for one slot: waiting slot by slot
/// woke the reader (and a thread for it) for every chunk the runtime took, and with
/// the default `batch.max.rows` of 100 those wake-ups cost more than decoding the rows
/// (`scripts/jdbc-instructions.sh` does not count them: they are system calls).
struct Outbox<'a> {
    tx: &'a tokio::sync::mpsc::Sender<ChunkResult>,
    /// Slots reserved by the last wait, not used yet.
    reserved: Option<tokio::sync::mpsc::PermitIterator<'a, ChunkResult>>,
}

impl<'a> Outbox<'a> {
    fn new(tx: &'a tokio::sync::mpsc::Sender<ChunkResult>) -> Self {
        Outbox { tx, reserved: None }
    }

    /// Sends one chunk, waiting for room as above; false when nobody listens any more.
    async fn send(&mut self, chunk: ChunkResult) -> bool {
        use tokio::sync::mpsc::error::TrySendError;
        if let Some(permit) = self.reserved.as_mut().and_then(Iterator::next) {
            permit.send(chunk);
            return true;
        }
        self.reserved = None;
        let chunk = match self.tx.try_send(chunk) {
            Ok(()) => return true,
            Err(TrySendError::Closed(_)) => return false,
            Err(TrySendError::Full(chunk)) => chunk,
        };
        let quarter = self.tx.max_capacity().div_ceil(4);
        match self.tx.reserve_many(quarter).await {
            Ok(mut permits) => {
                permits.next().expect("at least one slot").send(chunk);
                self.reserved = Some(permits);
                true
            }
            Err(_) => false,
        }
    }
}

/// What the reader of a pass needs.
struct ReadContext {
    client: Arc<Client>,
    fetch: Statement,
    plan: Arc<Plan>,
    inc_at: Option<usize>,
    ts_at: Option<usize>,
    topic: Arc<str>,
    /// `batch.max.rows`: records per chunk.
    n: usize,
}

impl ReadContext {
    fn chunk(&self) -> Chunk {
        Chunk {
            records: Vec::with_capacity(self.n),
            last: false,
            last_inc: None,
            last_ts: None,
            max_ts: None,
        }
    }

    /// Sends a FETCH now; its rows are read when the returned task's stream is.
    fn start_fetch(
        &self,
    ) -> tokio::task::JoinHandle<Result<tokio_postgres::RowStream, tokio_postgres::Error>> {
        let (client, fetch) = (self.client.clone(), self.fetch.clone());
        tokio::spawn(async move { client.query_raw(&fetch, std::iter::empty::<i32>()).await })
    }

    /// Reads one FETCH's rows and sends them on in chunks of `n` records. `Ok(false)` when
    /// the cursor is exhausted (the last chunk sent says so) or nobody listens.
    async fn read_fetch(
        &self,
        rows: tokio_postgres::RowStream,
        out: &mut Outbox<'_>,
    ) -> Result<bool, ConnectError> {
        futures::pin_mut!(rows);
        let mut read = 0;
        let mut chunk = self.chunk();
        while let Some(row) = rows.next().await {
            let row = row.map_err(|e| to_connect(e, "cannot fetch rows"))?;
            let (record, inc, ts) =
                to_record(&row, &self.plan, self.inc_at, self.ts_at, &self.topic)?;
            read += 1;
            if inc.is_some() {
                chunk.last_inc = inc;
            }
            if let Some(t) = ts {
                chunk.last_ts = Some(t);
                chunk.max_ts = Some(chunk.max_ts.map_or(t, |m: i64| m.max(t)));
            }
            chunk.records.push(Polled::Record(record));
            if chunk.records.len() == self.n {
                let full = std::mem::replace(&mut chunk, self.chunk());
                if !out.send(Ok(full)).await {
                    return Ok(false);
                }
            }
        }
        // A short FETCH: the cursor is exhausted.
        let more = read >= fetch_rows(self.n);
        if !chunk.records.is_empty() || !more {
            chunk.last = !more;
            if !out.send(Ok(chunk)).await {
                return Ok(false);
            }
        }
        Ok(more)
    }
}

/// Polls tables or a query of PostgreSQL.
pub struct JdbcSourceTask {
    cfg: JdbcSourceConfig,
    sources: Vec<SourceState>,
    client: Option<Arc<Client>>,
    pass: Option<Pass>,
    detail: StatusDetail,
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The tables of a task config (`tables`: a JSON array of `schema.table`).
pub fn task_tables(raw: &sluice_runtime::config::RawConfig) -> Result<Vec<TableId>, String> {
    match raw.get("tables") {
        None => Ok(Vec::new()),
        Some(s) => serde_json::from_str::<Vec<String>>(s)
            .map(|v| v.iter().map(|t| TableId::parse(t)).collect())
            .map_err(|e| format!("invalid task key tables: {}", e)),
    }
}

impl JdbcSourceTask {
    fn cfg(&self) -> &JdbcSourceConfig {
        &self.cfg
    }

    /// The session, connecting if needed.
    async fn client(&mut self) -> Result<&Client, ConnectError> {
        if self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
            self.pass = None;
        }
        if self.client.is_none() {
            let cfg = self.cfg().clone();
            let c = db::connect(&cfg, cfg.attempts, Some(&self.detail)).await?;
            if cfg.safe_mode && cfg.mode != Mode::Bulk {
                let ok: bool = c
                    .query_one(PRIVILEGE_SQL, &[])
                    .await
                    .map_err(|e| to_connect(e, "cannot check privileges"))?
                    .get(0);
                if !ok {
                    return Err(ConnectError::fatal(
                        "postgres.safe.mode needs the pg_read_all_stats role (or superuser) to see other sessions' transactions: GRANT pg_read_all_stats TO <user>, or set postgres.safe.mode=false",
                    ));
                }
            }
            self.detail.clear();
            tracing::info!(db = %cfg.url.display(), "connected to PostgreSQL");
            self.client = Some(Arc::new(c));
        }
        Ok(self.client.as_deref().unwrap())
    }

    /// Drops the session after an error so the next poll reconnects; the pass restarts
    /// from the in-memory offset (rows already handed over stay handed over).
    fn on_error(&mut self, e: ConnectError) -> ConnectError {
        if let Some(p) = self.pass.take() {
            self.sources[p.idx].next_due = Instant::now();
        }
        if e.is_retriable() {
            self.client = None;
            self.detail.set(format!("database error, retrying: {}", e));
        }
        e
    }

    /// A pass over source `idx` failed. With `query.retry.attempts` = N >= 0, a query
    /// error (the session is still open: a lost connection closes it and is never
    /// counted) is retried after `poll.interval.ms` on a new session, and the N+1-th
    /// failure in a row fails the task with it; otherwise see [`Self::on_error`].
    fn failed(&mut self, idx: usize, e: ConnectError) -> Result<SourceBatch, ConnectError> {
        let limit = self.cfg.query_retry_attempts;
        let query_error = self.client.as_ref().is_some_and(|c| !c.is_closed());
        if limit < 0 || !query_error {
            return Err(self.on_error(e));
        }
        let poll_interval = self.cfg.poll_interval;
        let src = &mut self.sources[idx];
        src.failures += 1;
        let what = src.from.describe();
        if src.failures > limit as u32 {
            return Err(ConnectError::fatal(format!(
                "the query of {} failed {} times in a row (query.retry.attempts={}): {}",
                what, src.failures, limit, e
            )));
        }
        // The transaction may be aborted: the next attempt starts on a new session.
        self.pass = None;
        self.client = None;
        src.next_due = Instant::now() + poll_interval;
        let msg = format!(
            "the query of {} failed (attempt {} of {}), retrying in {:?}: {}",
            what,
            src.failures,
            limit + 1,
            poll_interval,
            e
        );
        tracing::warn!("{}", msg);
        self.detail.set(msg);
        Ok(SourceBatch::new())
    }

    /// Starts a pass over source `idx`: watermark (safe mode), cursor. Returns false if
    /// there is nothing that may be read yet.
    async fn start_pass(&mut self, idx: usize) -> Result<bool, ConnectError> {
        let cfg = self.cfg().clone();
        let from = self.sources[idx].from.clone();
        let client = self.client().await?;
        let described = db::describe_source(client, &from).await?;
        let plan = plan::build(&cfg, &from, &described).map_err(|issues| {
            ConnectError::fatal(
                issues
                    .iter()
                    .map(|i| format!("{}: {}", i.key, i.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        // Upper bounds: the database clock minus the delay, and in safe mode the
        // released watermark.
        let (mut inc_upper, mut ts_upper) = (None, None);
        if cfg.mode != Mode::Bulk {
            let max_sql = match &plan.inc {
                Some(inc) if cfg.mode == Mode::Incrementing => {
                    format!("(SELECT max({})::int8 FROM {})", inc, from.sql(cfg.quote))
                }
                _ => "NULL::int8".to_string(),
            };
            let row = client
                .query_one(
                    &format!(
                        "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8, {}",
                        max_sql
                    ),
                    &[],
                )
                .await
                .map_err(|e| to_connect(e, "cannot read the watermark"))?;
            let clock: i64 = row.get(0);
            let max_inc: Option<i64> = row.get(1);
            let delay = cfg.delay.as_micros() as i64;
            if cfg.mode.uses_timestamp() {
                ts_upper = Some(clock - delay);
            }
            if cfg.safe_mode {
                let running: HashSet<String> = client
                    .query(RUNNING_SQL, &[])
                    .await
                    .map_err(|e| to_connect(e, "cannot list running transactions"))?
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect();
                let upto = if cfg.mode == Mode::Incrementing {
                    max_inc
                } else {
                    Some(clock)
                };
                let released = self.sources[idx].safe.observe(upto, &running);
                if !running.is_empty() {
                    tracing::debug!(source = ?from, running = running.len(), ?released, "safe mode: transactions open");
                }
                match released {
                    None => return Ok(false),
                    Some(b) if cfg.mode == Mode::Incrementing => inc_upper = Some(b),
                    Some(b) => ts_upper = ts_upper.map(|u| u.min(b)),
                }
            }
        }
        let client = self.client.as_deref().unwrap();
        let columns = plan.select_list();
        let offset = self.sources[idx].offset;
        let sql = SelectSpec {
            mode: cfg.mode,
            from: &from,
            columns: &columns,
            inc: plan.inc.as_deref(),
            ts: plan.ts.as_ref().map(|(e, t)| (e.as_str(), *t)),
            timezone: &cfg.timezone,
            offset: &offset,
            inc_upper,
            ts_upper,
            quote: cfg.quote,
            suffix: &cfg.query_suffix,
        }
        .sql();
        tracing::debug!(%sql, "declaring cursor");
        client
            .batch_execute(&format!(
                "BEGIN{} READ ONLY; DECLARE {} NO SCROLL CURSOR FOR {}",
                cfg.isolation
                    .map(|l| format!(" ISOLATION LEVEL {}", l))
                    .unwrap_or_default(),
                CURSOR,
                sql
            ))
            .await
            .map_err(|e| to_connect(e, "cannot open the cursor"))?;
        let fetch = client
            .prepare(&format!(
                "FETCH FORWARD {} FROM {}",
                fetch_rows(cfg.batch_max_rows),
                CURSOR
            ))
            .await
            .map_err(|e| to_connect(e, "cannot prepare FETCH"))?;
        let find = |name: &str| fetch.columns().iter().position(|c| c.name() == name);
        let progress = self.snapshot_progress(idx).await;
        self.pass = Some(Pass {
            idx,
            inc_at: find(INC_COL),
            ts_at: find(TS_COL),
            plan,
            fetch,
            max_ts: None,
            reader: None,
            rows: 0,
            progress,
        });
        Ok(true)
    }

    /// For the first pass over a table: its progress, if PostgreSQL estimates it at
    /// [`SNAPSHOT_MIN_ROWS`] or more (no estimate, no progress: never an error).
    async fn snapshot_progress(&mut self, idx: usize) -> Option<Progress> {
        let src = &mut self.sources[idx];
        if !std::mem::take(&mut src.first_pass) {
            return None;
        }
        let From::Table(table) = &src.from else {
            return None;
        };
        let name = table.sql(self.cfg.quote);
        let what = format!("first snapshot of {}", table.display());
        let client = self.client.as_deref()?;
        let estimate: i64 = match client.query_opt(ESTIMATE_SQL, &[&name]).await {
            Ok(Some(row)) => row.get(0),
            Ok(None) => return None,
            Err(e) => {
                tracing::debug!("no row estimate for {}: {}", name, e);
                return None;
            }
        };
        Progress::new(
            what,
            ProgressUnit::EstimatedRows,
            0,
            u64::try_from(estimate).ok()?,
            SNAPSHOT_MIN_ROWS,
        )
    }

    /// Fetches the next chunk of the pass and turns it into records.
    async fn fetch(&mut self) -> Result<SourceBatch, ConnectError> {
        let n = self.cfg().batch_max_rows;
        let mode = self.cfg().mode;
        let poll_interval = self.cfg().poll_interval;
        let client = self.client.clone().expect("session");
        let pass = self.pass.as_mut().expect("pass");
        let topic = self.sources[pass.idx].topic.clone();
        if pass.reader.is_none() {
            pass.reader = Some(start_reader(&client, pass, &topic, n));
        }
        let chunk = pass
            .reader
            .as_mut()
            .expect("reader")
            .chunks
            .recv()
            .await
            .ok_or_else(|| ConnectError::retriable("the chunk reader stopped unexpectedly"))??;
        let rows = chunk.records.len();
        let pass = self.pass.as_ref().expect("pass");
        let exhausted = chunk.last;
        let src = &self.sources[pass.idx];
        let mut last_offset = src.offset;
        if chunk.last_inc.is_some() {
            last_offset.inc = chunk.last_inc;
        }
        if chunk.last_ts.is_some() {
            last_offset.ts_micros = chunk.last_ts;
        }
        let max_ts = match (pass.max_ts, chunk.max_ts) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut batch = SourceBatch {
            items: chunk.records,
            ack: None,
        };
        // Timestamp mode resumes at `ts > offset`: rows sharing the last timestamp may
        // still follow in the next chunk, so the offset stops one microsecond short
        // (re-reading them after a restart rather than skipping them).
        if mode == Mode::Timestamp && !exhausted {
            last_offset.ts_micros = last_offset.ts_micros.map(|t| t - 1);
        }
        if exhausted {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| to_connect(e, "cannot close the cursor"))?;
            if mode == Mode::Timestamp {
                if let Some(m) = max_ts {
                    last_offset.ts_micros = Some(m);
                }
            }
        }
        let idx = pass.idx;
        if let Some(p) = self.pass.as_mut() {
            p.rows += rows as u64;
            if let Some(progress) = p.progress.as_mut() {
                if exhausted {
                    progress.finish(p.rows, &self.detail);
                } else {
                    progress.update(p.rows, &self.detail);
                }
            }
        }
        if exhausted {
            self.pass = None;
            self.sources[idx].next_due = Instant::now() + poll_interval;
        } else if let Some(p) = self.pass.as_mut() {
            p.max_ts = max_ts;
        }
        let src = &mut self.sources[idx];
        if mode != Mode::Bulk && last_offset != src.offset {
            src.offset = last_offset;
            // The offset rides on the last record of the chunk; the runtime stores it
            // once Kafka acknowledged that record and every one before it.
            if let Some(Polled::Record(r)) = batch.items.last_mut() {
                r.source_partition = Some(src.partition.clone());
                r.source_offset = Some(last_offset.to_json());
            } else {
                // Nothing to carry it (an empty last chunk): the next pass starts from
                // the in-memory offset; the stored one is at most one microsecond short.
            }
        }
        Ok(batch)
    }
}

/// One row to a record: value struct, key struct (primary key), offset values.
fn to_record(
    row: &Row,
    plan: &Plan,
    inc_at: Option<usize>,
    ts_at: Option<usize>,
    topic: &Arc<str>,
) -> Result<(SourceRecord, Option<i64>, Option<i64>), ConnectError> {
    let mut values = Vec::with_capacity(plan.columns.len());
    for (i, c) in plan.columns.iter().enumerate() {
        let raw: Option<Raw> = row
            .try_get(i)
            .map_err(|e| ConnectError::fatal(format!("column {}: {}", c.name, e)))?;
        values.push(match raw {
            None => Value::Null,
            Some(Raw(b)) => decode(c.kind, b)
                .map_err(|e| ConnectError::fatal(format!("column {:?}: {}", c.name, e)))?,
        });
    }
    let inc = match inc_at {
        Some(i) => row
            .try_get::<_, Option<i64>>(i)
            .map_err(|e| ConnectError::fatal(e.to_string()))?,
        None => None,
    };
    let ts = match ts_at {
        Some(i) => match row
            .try_get::<_, Option<Raw>>(i)
            .map_err(|e| ConnectError::fatal(e.to_string()))?
        {
            Some(Raw(b)) => Some(timestamp_micros(b).map_err(ConnectError::fatal)?),
            None => None,
        },
        None => None,
    };
    let key = plan.key.as_ref().map(|(schema, idx)| {
        let kv: Vec<Value> = idx.iter().map(|i| values[*i].clone()).collect();
        SchemaAndValue::with_schema(
            schema.clone(),
            Value::Struct(Struct::from_values(schema.clone(), kv).expect("key fields")),
        )
    });
    let value =
        Struct::from_values(plan.value_schema.clone(), values).map_err(ConnectError::fatal)?;
    let mut record = Record::new(
        topic.clone(),
        SchemaAndValue::with_schema(plan.value_schema.clone(), Value::Struct(value)),
    );
    if let Some(k) = key {
        record = record.with_key(k);
    }
    Ok((SourceRecord::new(record), inc, ts))
}

impl StartSourceTask for JdbcSourceTask {
    async fn start(config: ParsedConfig, ctx: SourceTaskContext) -> Result<Self, ConnectError> {
        let cfg = JdbcSourceConfig::from_parsed(&config)?;
        let froms: Vec<From> = match &cfg.query {
            Some(q) => vec![From::Query(q.clone())],
            None => task_tables(config.raw())
                .map_err(ConnectError::fatal)?
                .into_iter()
                .map(From::Table)
                .collect(),
        };
        let initial_ts = match cfg.timestamp_initial {
            Some(-1) => Some(now_micros()),
            Some(ms) => Some(ms * 1000),
            None => None,
        };
        // The database as Confluent's three-part partition names it (libpq and pgJDBC
        // default it to the user name).
        let database = cfg
            .url
            .dbname
            .clone()
            .or_else(|| cfg.user.clone())
            .or_else(|| cfg.url.user.clone());
        let mut sources = Vec::new();
        for from in froms {
            // Offsets are written under the partition they were found under (Confluent's
            // three-part name stays three-part), Sluice's two-part one when none was.
            let mut partition = offsets::partition(&from);
            let mut stored = None;
            for p in offsets::table_partitions(&from, database.as_deref()) {
                if let Some(o) = ctx.offsets.offset(&p).await? {
                    stored = Some(o);
                    partition = p;
                    break;
                }
            }
            let first_pass = stored.is_none() || cfg.mode == Mode::Bulk;
            let offset = match stored {
                Some(o) => {
                    let o = Offset::from_json(&o);
                    tracing::info!(source = ?from, ?o, partition = %serde_json::Value::Object(partition.clone()), "resuming from the stored offset");
                    o
                }
                None => Offset {
                    inc: None,
                    ts_micros: if cfg.mode.uses_timestamp() {
                        initial_ts
                    } else {
                        None
                    },
                },
            };
            let topic: Arc<str> = match &from {
                From::Table(t) => format!("{}{}", cfg.topic_prefix, t.name).into(),
                From::Query(_) => cfg.topic_prefix.clone().into(),
            };
            sources.push(SourceState {
                from,
                topic,
                partition: Arc::new(partition),
                offset,
                safe: SafeState::default(),
                next_due: Instant::now(),
                failures: 0,
                first_pass,
            });
        }
        Ok(JdbcSourceTask {
            cfg,
            sources,
            client: None,
            pass: None,
            detail: ctx.status.clone(),
        })
    }
}

#[async_trait]
impl SourceTask for JdbcSourceTask {
    async fn poll(&mut self) -> Result<SourceBatch, ConnectError> {
        if self.pass.is_none() {
            let Some((idx, due)) = self
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.next_due))
                .min_by_key(|(_, d)| *d)
            else {
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Ok(SourceBatch::new());
            };
            let now = Instant::now();
            if due > now {
                tokio::time::sleep((due - now).min(Duration::from_secs(1))).await;
                return Ok(SourceBatch::new());
            }
            match self.start_pass(idx).await {
                Ok(true) => {}
                Ok(false) => {
                    // Safe mode: a transaction that may still commit earlier keys is
                    // open; try again after the poll interval.
                    self.sources[idx].next_due = Instant::now() + self.cfg().poll_interval;
                    return Ok(SourceBatch::new());
                }
                Err(e) => return self.failed(idx, e),
            }
        }
        let idx = self.pass.as_ref().map_or(0, |p| p.idx);
        match self.fetch().await {
            Ok(b) => {
                self.sources[idx].failures = 0;
                Ok(b)
            }
            Err(e) => self.failed(idx, e),
        }
    }

    async fn stop(&mut self) {
        self.pass = None;
        self.client = None;
    }
}
