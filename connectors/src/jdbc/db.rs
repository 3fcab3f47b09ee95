//! One database session: connecting with retries, classifying errors (retriable or
//! not), listing tables and describing their columns.

use std::time::Duration;

use sluice_runtime::connector::{ConnectError, StatusDetail};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

use super::config::JdbcSourceConfig;
use super::source::{From, TableId};
use super::types::SourceColumn;

/// Is this error worth retrying (connection lost, server starting or shutting down)?
pub fn is_retriable(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(c) => {
            let c = c.code();
            // 08: connection exception, 57: operator intervention (shutdown, starting),
            // 53: insufficient resources, 40: serialization/deadlock, 55: lock not available
            c.starts_with("08")
                || c.starts_with("57")
                || c.starts_with("53")
                || c.starts_with("40")
                || c.starts_with("55")
        }
    }
}

/// The message of a driver error, with the server's detail when there is one.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{} (SQLSTATE {})", d.message(), d.code().code()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(x) = src {
                s.push_str(": ");
                s.push_str(&x.to_string());
                src = x.source();
            }
            s
        }
    }
}

/// Maps a driver error to the runtime's kinds.
pub fn to_connect(e: tokio_postgres::Error, what: &str) -> ConnectError {
    let msg = format!("{}: {}", what, describe(&e));
    if is_retriable(&e) {
        ConnectError::retriable(msg)
    } else {
        ConnectError::fatal(msg)
    }
}

/// Runs a connection until it ends.
async fn drive<S, T>(conn: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(e) = conn.await {
        tracing::debug!("database connection ended: {}", e);
    }
}

/// Opens a session (over TLS when `sslmode` asks for it): up to `connection.attempts`
/// tries, `connection.backoff.ms` apart.
pub async fn connect(
    cfg: &JdbcSourceConfig,
    attempts: u32,
    detail: Option<&StatusDetail>,
) -> Result<Client, ConnectError> {
    let pg = cfg.pg_config();
    let mut last = String::new();
    for attempt in 1..=attempts {
        let connected = match &cfg.tls {
            None => pg.connect(NoTls).await.map(|(client, conn)| {
                tokio::spawn(drive(conn));
                client
            }),
            Some(t) => pg
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(
                    (*t.config).clone(),
                ))
                .await
                .map(|(client, conn)| {
                    tokio::spawn(drive(conn));
                    client
                }),
        };
        match connected {
            Ok(client) => {
                client
                    .batch_execute("SET standard_conforming_strings = on; SET TIME ZONE 'UTC'")
                    .await
                    .map_err(|e| to_connect(e, "cannot set up the session"))?;
                return Ok(client);
            }
            Err(e) => {
                last = describe(&e);
                let auth = e.code().is_some_and(|c| c.code().starts_with("28"));
                if auth || e.code().is_some_and(|c| c.code() == "3D000") {
                    return Err(ConnectError::fatal(format!(
                        "cannot connect to {}: {}",
                        cfg.url.display(),
                        last
                    )));
                }
                let msg = format!(
                    "cannot connect to {} (attempt {} of {}): {}",
                    cfg.url.display(),
                    attempt,
                    attempts,
                    last
                );
                tracing::warn!("{}", msg);
                if let Some(d) = detail {
                    d.set(msg);
                }
                if attempt < attempts {
                    tokio::time::sleep(cfg.backoff.min(Duration::from_secs(60))).await;
                }
            }
        }
    }
    Err(ConnectError::retriable(format!(
        "cannot connect to {}: {}",
        cfg.url.display(),
        last
    )))
}

fn relkinds(types: &[String]) -> Vec<String> {
    types
        .iter()
        .map(|t| {
            match t.to_ascii_uppercase().as_str() {
                "VIEW" => "v",
                "MATERIALIZED VIEW" => "m",
                "PARTITIONED TABLE" => "p",
                "FOREIGN TABLE" => "f",
                _ => "r",
            }
            .to_string()
        })
        .collect()
}

/// Every table the config selects, sorted.
pub async fn list_tables(
    client: &Client,
    cfg: &JdbcSourceConfig,
) -> Result<Vec<TableId>, ConnectError> {
    let rows = client
        .query(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind::text = ANY($1::text[]) AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
               AND ($2::text IS NULL OR n.nspname LIKE $2::text) \
               AND has_table_privilege(c.oid, 'SELECT') \
             ORDER BY 1, 2",
            &[&relkinds(&cfg.table_types), &cfg.schema_pattern],
        )
        .await
        .map_err(|e| to_connect(e, "cannot list tables"))?;
    let all = rows.iter().map(|r| TableId {
        schema: r.get(0),
        name: r.get(1),
    });
    Ok(all
        .filter(|t| cfg.whitelist.is_empty() || cfg.whitelist.iter().any(|w| t.matches(w)))
        .filter(|t| !cfg.blacklist.iter().any(|b| t.matches(b)))
        .collect())
}

/// A described source: its columns and primary key.
pub struct Described {
    pub columns: Vec<SourceColumn>,
    /// Primary key column names, in key order (tables only).
    pub primary_key: Vec<String>,
}

/// Describes a table (catalog: types, typmods, NOT NULL, primary key) or a query
/// (prepared statement: every column nullable).
pub async fn describe_source(client: &Client, from: &From) -> Result<Described, ConnectError> {
    match from {
        From::Table(t) => {
            let rel = t.quoted();
            let rows = client
                .query(
                    "SELECT a.attname::text, a.atttypid, a.atttypmod, NOT a.attnotnull \
                     FROM pg_attribute a WHERE a.attrelid = $1::text::regclass \
                       AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                    &[&rel],
                )
                .await
                .map_err(|e| to_connect(e, &format!("cannot describe table {}", t.display())))?;
            let columns = rows
                .iter()
                .map(|r| {
                    let oid: u32 = r.get(1);
                    SourceColumn {
                        name: r.get(0),
                        ty: Type::from_oid(oid).unwrap_or(Type::UNKNOWN),
                        typmod: r.get(2),
                        nullable: r.get(3),
                    }
                })
                .collect();
            let pk = client
                .query(
                    "SELECT a.attname::text FROM pg_index i \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE i.indrelid = $1::text::regclass AND i.indisprimary \
                     ORDER BY array_position(i.indkey::int2[], a.attnum)",
                    &[&rel],
                )
                .await
                .map_err(|e| to_connect(e, &format!("cannot describe table {}", t.display())))?;
            Ok(Described {
                columns,
                primary_key: pk.iter().map(|r| r.get(0)).collect(),
            })
        }
        From::Query(_) => {
            let stmt = client
                .prepare(&format!(
                    "SELECT * FROM {}",
                    from.sql(super::quote::QuoteMethod::Always)
                ))
                .await
                .map_err(|e| to_connect(e, "the query is not valid"))?;
            Ok(Described {
                columns: stmt
                    .columns()
                    .iter()
                    .map(|c| SourceColumn {
                        name: c.name().to_string(),
                        ty: c.type_().clone(),
                        typmod: c.type_modifier(),
                        nullable: true,
                    })
                    .collect(),
                primary_key: Vec::new(),
            })
        }
    }
}
