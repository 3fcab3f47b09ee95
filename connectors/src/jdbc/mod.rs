//! JDBC-style polling source for PostgreSQL, compatible with the keys, modes and
//! offsets of Confluent's `JdbcSourceConnector` (`jdbc:postgresql://` URLs).
//!
//! # Delivery: what is committed when
//!
//! A task reads each of its tables in *passes*. A pass opens a read-only transaction
//! with a server-side cursor over `SELECT ... WHERE key > offset [AND key <= bound]
//! ORDER BY key` and hands `batch.max.rows` rows to the runtime per poll; when the
//! cursor is exhausted the transaction ends and the table is due again after
//! `poll.interval.ms`. Memory is bounded by one chunk plus the runtime's in-flight
//! limit, however large the table.
//!
//! - The offset (`incrementing`, `timestamp`, `timestamp_nanos`) of the last row of a
//!   chunk rides on that chunk's last record. The runtime stores it only after Kafka
//!   acknowledged that record and every record polled before it, so a stored offset
//!   never runs ahead of Kafka: a crash re-reads at most the unacknowledged chunks
//!   (duplicates, never gaps).
//! - The task keeps its own in-memory offset, ahead of the stored one, so that a pass
//!   interrupted by a database error resumes after the rows it already handed over
//!   (they are still being delivered by the runtime).
//! - Timestamp-only mode cannot tell rows with the same timestamp apart: a chunk that
//!   ends inside such a group stores its timestamp minus one microsecond, so a restart
//!   re-reads the group rather than skipping part of it.
//! - `bulk` stores no offset: every pass (and a restart) republishes the table.
//! - With `postgres.safe.mode` (the default) the `bound` of a pass is a watermark that
//!   no still-open transaction can commit below (see [`safe`]), so an offset never
//!   passes a row that is committed later.

mod config;
mod db;
mod granularity;
mod numeric;
mod offsets;
mod plan;
mod query;
mod quote;
pub mod safe;
mod source;
mod task;
mod types;
mod url;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sluice_runtime::config::{ConfigIssue, ParsedConfig, RawConfig};
use sluice_runtime::connector::{
    ConnectError, Connector, ConnectorContext, ConnectorPlugin, TaskFactory,
};

pub use config::{config_def, JdbcSourceConfig, Mode};
pub use task::JdbcSourceTask;

use source::{From, TableId};

/// `jdbc-source` / `io.confluent.connect.jdbc.JdbcSourceConnector`.
pub fn source_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.confluent.connect.jdbc.JdbcSourceConnector",
        aliases: &["jdbc-source", "JdbcSource"],
        task_class: "io.confluent.connect.jdbc.source.JdbcSourceTask",
        version: env!("CARGO_PKG_VERSION"),
        doc: "Polls PostgreSQL tables or a query (bulk, incrementing, timestamp, timestamp+incrementing) into topics, with Confluent's keys and offsets; safe mode never skips rows committed late.",
        config_def,
        create_connector: || Box::new(JdbcSourceConnector::default()),
        create_task: TaskFactory::source::<JdbcSourceTask>(),
        dry_run: None,
    }
}

/// Discovers tables, splits them over tasks, and re-checks them every
/// `table.poll.interval.ms`.
#[derive(Default)]
pub struct JdbcSourceConnector {
    raw: Option<RawConfig>,
    cfg: Option<JdbcSourceConfig>,
    tables: Arc<Mutex<Vec<TableId>>>,
    monitor: Option<tokio::task::JoinHandle<()>>,
}

fn issues_of(e: ConnectError, key: &str) -> Vec<ConfigIssue> {
    match e {
        ConnectError::Config(c) => c.0,
        other => vec![ConfigIssue::new(key, other.to_string())],
    }
}

#[async_trait]
impl Connector for JdbcSourceConnector {
    async fn validate(&self, config: &ParsedConfig) -> Vec<ConfigIssue> {
        let cfg = match JdbcSourceConfig::from_parsed(config) {
            Ok(c) => c,
            Err(e) => return e.0,
        };
        let client = match db::connect(&cfg, 1, None).await {
            Ok(c) => c,
            Err(e) => return issues_of(e, "connection.url"),
        };
        let mut issues = Vec::new();
        if cfg.safe_mode && cfg.mode != Mode::Bulk {
            match client.query_one(safe::PRIVILEGE_SQL, &[]).await {
                Ok(r) if r.get::<_, bool>(0) => {}
                Ok(_) => issues.push(ConfigIssue::new("postgres.safe.mode", "the user needs the pg_read_all_stats role (or superuser) to see other sessions' transactions; grant it or set postgres.safe.mode=false")),
                Err(e) => issues.push(ConfigIssue::new("postgres.safe.mode", db::describe(&e))),
            }
        }
        let froms: Vec<From> = match &cfg.query {
            Some(q) => vec![From::Query(q.clone())],
            None => match db::list_tables(&client, &cfg).await {
                Ok(tables) => {
                    for w in &cfg.whitelist {
                        if !tables.iter().any(|t| t.matches(w)) {
                            issues.push(ConfigIssue::new(
                                "table.whitelist",
                                format!("no readable table {:?} of the configured table.types", w),
                            ));
                        }
                    }
                    tables.into_iter().map(From::Table).collect()
                }
                Err(e) => {
                    issues.extend(issues_of(e, "connection.url"));
                    Vec::new()
                }
            },
        };
        for from in froms.iter().take(100) {
            let key = if matches!(from, From::Query(_)) {
                "query"
            } else {
                "table.whitelist"
            };
            match db::describe_source(&client, from).await {
                Ok(d) => {
                    if let Err(i) = plan::build(&cfg, from, &d) {
                        issues.extend(i);
                    }
                }
                Err(e) => issues.extend(issues_of(e, key)),
            }
        }
        issues
    }

    async fn start(
        &mut self,
        config: ParsedConfig,
        ctx: ConnectorContext,
    ) -> Result<(), ConnectError> {
        let cfg = JdbcSourceConfig::from_parsed(&config)?;
        self.raw = Some(config.raw().clone());
        if cfg.query.is_none() {
            // The monitor lists the tables now and then every table.poll.interval.ms.
            // start() waits for the first listing up to
            // table.monitoring.startup.polling.limit.ms; a database that is down or slow
            // does not fail the connector: it starts with no tables and the monitor
            // retries every few seconds, reconfiguring the tasks when tables appear.
            let (first_tx, first_rx) = tokio::sync::oneshot::channel();
            let shared = self.tables.clone();
            let c2 = cfg.clone();
            let ctx2 = ctx.clone();
            self.monitor = Some(tokio::spawn(async move {
                let first = match db::connect(&c2, c2.attempts, None).await {
                    Ok(client) => db::list_tables(&client, &c2).await,
                    Err(e) => Err(e),
                };
                let mut ok = first.is_ok();
                let first = first.map(|t| {
                    let n = t.len();
                    *shared.lock().unwrap() = t;
                    n
                });
                let found = *first.as_ref().unwrap_or(&0);
                if first_tx.send(first.map(|_| ())).is_err() && found > 0 {
                    tracing::info!(connector = %ctx2.name, tables = found, "the first table listing arrived after table.monitoring.startup.polling.limit.ms; reconfiguring tasks");
                    ctx2.request_task_reconfiguration();
                }
                loop {
                    let wait = if ok {
                        c2.table_poll_interval
                    } else {
                        c2.table_poll_interval
                            .min(std::time::Duration::from_secs(5))
                    };
                    tokio::time::sleep(wait).await;
                    let found = match db::connect(&c2, 1, None).await {
                        Ok(client) => db::list_tables(&client, &c2).await,
                        Err(e) => Err(e),
                    };
                    match found {
                        Ok(t) => {
                            ok = true;
                            let changed = *shared.lock().unwrap() != t;
                            if changed {
                                tracing::info!(connector = %ctx2.name, tables = t.len(), "the set of tables changed; reconfiguring tasks");
                                *shared.lock().unwrap() = t;
                                ctx2.request_task_reconfiguration();
                            }
                        }
                        Err(e) => {
                            ok = false;
                            tracing::warn!(connector = %ctx2.name, "cannot re-list tables: {}", e)
                        }
                    }
                }
            }));
            match tokio::time::timeout(cfg.startup_listing_limit, first_rx).await {
                Ok(Ok(Ok(()))) => {
                    let n = self.tables.lock().unwrap().len();
                    tracing::info!(connector = %ctx.name, tables = n, "discovered tables");
                }
                Ok(Ok(Err(e))) if e.is_retriable() => {
                    tracing::warn!(connector = %ctx.name, "cannot list tables yet: {}", e);
                }
                Ok(Ok(Err(e))) => {
                    if let Some(m) = self.monitor.take() {
                        m.abort();
                    }
                    return Err(e);
                }
                Ok(Err(_)) => {}
                Err(_) => tracing::warn!(
                    connector = %ctx.name,
                    "the tables were not listed within table.monitoring.startup.polling.limit.ms={} ms; starting with no tasks, they are configured when the listing arrives",
                    cfg.startup_listing_limit.as_millis()
                ),
            }
        }
        self.cfg = Some(cfg);
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>, ConnectError> {
        let raw = self
            .raw
            .clone()
            .ok_or_else(|| ConnectError::fatal("connector was not started"))?;
        let cfg = self
            .cfg
            .as_ref()
            .ok_or_else(|| ConnectError::fatal("connector was not started"))?;
        if cfg.query.is_some() {
            return Ok(vec![raw]);
        }
        let tables = self.tables.lock().unwrap().clone();
        let n = max_tasks.max(1).min(tables.len());
        let mut groups: Vec<Vec<String>> = vec![Vec::new(); n];
        for (i, t) in tables.iter().enumerate() {
            groups[i % n].push(t.display());
        }
        Ok(groups
            .into_iter()
            .map(|g| {
                let mut c = raw.clone();
                c.insert(
                    "tables".into(),
                    serde_json::to_string(&g).expect("strings serialize"),
                );
                c
            })
            .collect())
    }

    async fn stop(&mut self) {
        if let Some(m) = self.monitor.take() {
            m.abort();
        }
    }
}
