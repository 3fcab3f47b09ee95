//! What the user writes: the `jdbc-source` keys (Confluent's JDBC source keys plus
//! `postgres.safe.mode`), parsed once into [`JdbcSourceConfig`].

use std::time::Duration;

use sluice_runtime::config::{
    millis, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, Importance, ParsedConfig, TypedValue,
    Validator,
};

use super::granularity::{self, Granularity};
use super::numeric::NumericMapping;
use super::quote::QuoteMethod;
use super::url::{DbUrl, SslMode};

const DB: &str = "Database";
const MODE: &str = "Mode";
const CONNECTOR: &str = "Connector";

/// The `application_name` of Sluice's own sessions; safe mode ignores them.
pub const APPLICATION_NAME: &str = "sluice-jdbc-source";

/// Keys of Confluent's JDBC source that Sluice does not implement (yet).
const UNSUPPORTED_CONFLUENT_KEYS: &[&str] = &["catalog.pattern"];

/// `transaction.isolation.mode` values; SQL_SERVER_SNAPSHOT is refused.
const ISOLATION_MODES: &[&str] = &[
    "DEFAULT",
    "READ_UNCOMMITTED",
    "READ_COMMITTED",
    "REPEATABLE_READ",
    "SERIALIZABLE",
    "SQL_SERVER_SNAPSHOT",
];

/// Every key of the JDBC source (the runtime adds the common ones).
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::password("connection.url").importance(Importance::High).group(DB)
            .validator(Validator::Custom(check_url))
            .doc("The PostgreSQL database: a JDBC URL jdbc:postgresql://host:port/db?user=...&password=... or a libpq URL postgres://user:password@host:port/db. Several hosts may be given comma-separated (tried in order). TLS parameters as pgJDBC and libpq take them: sslmode (disable, allow/prefer, require, verify-ca, verify-full), sslrootcert, sslcert, sslkey, ssl=true (verify-full). It may hold a secret: it is masked in REST responses and never logged."))
        .define(ConfigKey::string("connection.sslmode").optional().importance(Importance::Medium).group(DB)
            .doc("TLS to the database, overriding the URL's sslmode: disable (the default when neither sets it; pgJDBC and libpq would try TLS first), allow or prefer (TLS if the server offers it, certificate not checked), require (TLS; the certificate is checked against sslrootcert only if one is given), verify-ca (signed by a CA of sslrootcert), verify-full (signed and naming the host)."))
        .define(ConfigKey::string("connection.sslrootcert").optional().importance(Importance::Medium).group(DB)
            .doc("A PEM file of the CA certificates that sign the server's certificate (overrides the URL's sslrootcert); `system` for the system's roots. verify-ca and verify-full need it (default: ~/.postgresql/root.crt, as libpq)."))
        .define(ConfigKey::string("connection.sslcert").optional().importance(Importance::Medium).group(DB)
            .doc("The client's certificate (PEM), for servers that ask for one (pg_hba.conf `cert` or clientcert=verify-ca/verify-full); overrides the URL's sslcert; needs sslkey."))
        .define(ConfigKey::string("connection.sslkey").optional().importance(Importance::Medium).group(DB)
            .doc("The client's private key, PEM or PKCS#8 DER (pgJDBC's .pk8), unencrypted; overrides the URL's sslkey."))
        .define(ConfigKey::string("connection.user").optional().importance(Importance::High).group(DB)
            .doc("The database user; overrides a user given in the URL."))
        .define(ConfigKey::password("connection.password").optional().importance(Importance::High).group(DB)
            .doc("The database password; overrides a password given in the URL."))
        .define(ConfigKey::int("connection.attempts").default("3").at_least(1.0).importance(Importance::Low).group(DB)
            .doc("How many times one poll tries to connect before it reports a retriable error; the runtime then retries the poll with its own backoff and shows the error in the task status, so a database outage never fails the task."))
        .define(ConfigKey::long("connection.backoff.ms").default("10000").at_least(0.0).importance(Importance::Low).group(DB)
            .doc("The wait between connection attempts within one poll."))
        .define(ConfigKey::list("table.whitelist").default("").importance(Importance::Medium).group(DB)
            .doc("Tables to copy, as `table` or `schema.table` (names as stored, case-sensitive). Empty means every table the user can read outside pg_catalog and information_schema. Alias: table.include.list. Not with `query`."))
        .define(ConfigKey::list("table.include.list").default("").importance(Importance::Medium).group(DB)
            .doc("Same as table.whitelist (newer Confluent name)."))
        .define(ConfigKey::list("table.blacklist").default("").importance(Importance::Medium).group(DB)
            .doc("Tables never to copy, as `table` or `schema.table`. Not with a whitelist. Alias: table.exclude.list."))
        .define(ConfigKey::list("table.exclude.list").default("").importance(Importance::Medium).group(DB)
            .doc("Same as table.blacklist (newer Confluent name)."))
        .define(ConfigKey::list("table.types").default("TABLE").validator(Validator::EachOneOf(vec!["TABLE", "VIEW", "MATERIALIZED VIEW", "PARTITIONED TABLE", "FOREIGN TABLE"])).importance(Importance::Low).group(DB)
            .doc("Which kinds of relation are discovered."))
        .define(ConfigKey::string("schema.pattern").optional().importance(Importance::Low).group(DB)
            .doc("Only discover tables in this schema (a LIKE pattern). Unset means every schema but pg_catalog, information_schema and pg_toast."))
        .define(ConfigKey::long("table.poll.interval.ms").default("60000").at_least(100.0).importance(Importance::Low).group(CONNECTOR)
            .doc("How often the connector re-lists the tables; when the set changes, tasks are reconfigured."))
        .define(ConfigKey::string("mode").importance(Importance::High).group(MODE)
            .one_of(&["bulk", "incrementing", "timestamp", "timestamp+incrementing"])
            .doc("bulk: copy the whole table each poll. incrementing: new rows by a strictly increasing column. timestamp: new and changed rows by a timestamp column. timestamp+incrementing: both, ordered by (timestamp, id), the only mode that is exact for updates."))
        .define(ConfigKey::string("query").default("").importance(Importance::Medium).group(MODE)
            .doc("Instead of tables, poll the result of this SELECT (one task, topic = topic.prefix). Sluice wraps it as a subquery and adds its own WHERE and ORDER BY, so the query may have its own WHERE, joins and ORDER BY."))
        .define(ConfigKey::string("incrementing.column.name").default("").importance(Importance::Medium).group(MODE)
            .doc("The strictly increasing integer column (smallint, integer, bigint) of incrementing modes, usually a sequence-backed primary key."))
        .define(ConfigKey::list("timestamp.column.name").default("").importance(Importance::Medium).group(MODE)
            .doc("The timestamp column(s) of timestamp modes (timestamp or timestamptz); several are COALESCEd in order, e.g. updated_at,created_at."))
        .define(ConfigKey::long("timestamp.initial").optional().importance(Importance::Low).group(MODE)
            .doc("Epoch milliseconds to start from when no offset is stored; -1 means the current time. Unset means from the beginning."))
        .define(ConfigKey::long("timestamp.delay.interval.ms").default("0").at_least(0.0).importance(Importance::Low).group(MODE)
            .doc("Only rows whose timestamp is at least this old are read, giving transactions time to commit. Safe mode makes this unnecessary for server-assigned timestamps; keep it for timestamps set by clients."))
        .define(ConfigKey::string("db.timezone").default("UTC").validator(Validator::NonEmpty).importance(Importance::Medium).group(MODE)
            .doc("The time zone in which `timestamp` (without time zone) columns are read, for values and offsets; any name PostgreSQL knows (UTC, Europe/Paris, ...). timestamptz columns are unaffected."))
        .define(ConfigKey::int("poll.interval.ms").default("5000").at_least(1.0).importance(Importance::High).group(CONNECTOR)
            .doc("How long to wait after a table was read to its end before querying it again."))
        .define(ConfigKey::int("batch.max.rows").default("100").at_least(1.0).importance(Importance::Low).group(CONNECTOR)
            .doc("Rows per poll: tables are read through a server-side cursor, max(batch.max.rows, 5000) rows per FETCH, at most one FETCH ahead of the runtime, so memory stays bounded however large the table."))
        .define(ConfigKey::string("topic.prefix").importance(Importance::High).group(CONNECTOR)
            .doc("Prefix of the topic names: the topic of a table is prefix + table name; with `query` the topic is the prefix itself."))
        .define(ConfigKey::boolean("validate.non.null").default("true").importance(Importance::Low).group(MODE)
            .doc("Reject configs whose incrementing or timestamp columns are nullable (NULL rows would never be read)."))
        .define(ConfigKey::string("numeric.mapping").optional().validator(Validator::OneOf(vec!["none", "precision_only", "best_fit", "best_fit_eager_double"])).importance(Importance::Low).group(MODE)
            .doc("How numeric columns reach Connect, as Confluent's: none (the default): a Decimal (with the connect.decimal.precision parameter); precision_only: numeric(p,0) with p <= 18 as INT8/16/32/64 by precision; best_fit: p <= 18 as an integer when the scale is <= 0, as FLOAT64 when it is > 0; best_fit_eager_double: as best_fit, and every scale > 0 as FLOAT64 whatever the precision. Unbounded numeric is a Decimal with scale 127 under every mapping."))
        .define(ConfigKey::boolean("numeric.precision.mapping").default("false").importance(Importance::Low).group(MODE)
            .doc("Deprecated (Confluent's): true means numeric.mapping=precision_only when numeric.mapping is not set."))
        .define(ConfigKey::string("timestamp.granularity").default("connect_logical").validator(Validator::OneOf(granularity::VALUES.to_vec())).importance(Importance::Low).group(MODE)
            .doc("How timestamp and timestamptz column values are written, as Confluent's: connect_logical (Connect's Timestamp, milliseconds), micros_long / nanos_long (epoch microseconds / nanoseconds as int64), micros_string / nanos_string (the same as a string), micros_iso_datetime_string / nanos_iso_datetime_string (yyyy-MM-dd'T'HH:mm:ss.SSSSSS[SSS] in db.timezone). Offsets keep microseconds whatever the choice."))
        .define(ConfigKey::string("query.suffix").default("").importance(Importance::Low).group(MODE)
            .doc("Text appended (after a space) to the SELECT each pass runs, after its ORDER BY, as Confluent's; e.g. LIMIT 10000. The passes run in read-only transactions, so locking clauses (FOR UPDATE) are refused by PostgreSQL."))
        .define(ConfigKey::string("quote.sql.identifiers").default("always").validator(Validator::OneOf(vec!["always", "never"])).importance(Importance::Low).group(MODE)
            .doc("always: table and column names are quoted in the SELECT (taken exactly as stored); never: written bare, so PostgreSQL folds them to lower case, as Confluent's never (names that are not plain identifiers stay quoted)."))
        .define(ConfigKey::string("transaction.isolation.mode").default("DEFAULT").validator(Validator::OneOf(ISOLATION_MODES.to_vec())).importance(Importance::Low).group(MODE)
            .doc("The isolation level of the read-only transaction each pass reads in: DEFAULT (the session's, READ COMMITTED unless the database sets another), READ_UNCOMMITTED (the same as READ COMMITTED in PostgreSQL), READ_COMMITTED, REPEATABLE_READ, SERIALIZABLE. SQL_SERVER_SNAPSHOT is SQL Server's and refused."))
        .define(ConfigKey::int("query.retry.attempts").default("-1").at_least(-1.0).importance(Importance::Low).group(CONNECTOR)
            .doc("How many times a failing query of a table (or of the query) is retried, poll.interval.ms apart, before the task fails with the last error, as Confluent's. -1 (the default): no count; Sluice's own handling applies (transient errors are retried, errors a retry cannot fix fail the task at once; Confluent retries every SQL error forever). A lost connection is never counted: outages are retried as without this key."))
        .define(ConfigKey::long("table.monitoring.startup.polling.limit.ms").default("10000").at_least(0.0).importance(Importance::Low).group(CONNECTOR)
            .doc("How long the connector waits at start for the first listing of the tables. If it takes longer, the connector starts with no tasks and configures them when the listing arrives."))
        .define(ConfigKey::string("record.key").optional().validator(Validator::OneOf(vec!["none", "primary.key"])).importance(Importance::Medium).group(CONNECTOR)
            .doc("Sluice only. The record key: none (a null key, as Confluent's JDBC source writes) or primary.key (a struct of the table's primary key columns, schema name TABLE.Key; null for tables without one and in query mode). Default: none with the class io.confluent.connect.jdbc.JdbcSourceConnector (a topic moved from Confluent keeps its partitioning), primary.key with connector.class jdbc-source."))
        .define(ConfigKey::boolean("postgres.safe.mode").default("true").importance(Importance::Medium).group(MODE)
            .doc("Sluice only. In incrementing and timestamp modes, publish a row only once no transaction that could still commit a smaller id or earlier timestamp is running, so rows committed late by long transactions are never skipped. A long-running transaction in the database delays publication until it ends. Needs the pg_read_all_stats role (or superuser) to see other sessions' transactions. See docs/jdbc-source.md."))
        // Keys of Confluent's JDBC source that Sluice does not implement (yet).
        .not_supported("dialect.name", "Sluice's jdbc-source speaks PostgreSQL only")
        .not_supported_keys(UNSUPPORTED_CONFLUENT_KEYS, "a key of Confluent's JDBC source connector that Sluice's jdbc-source does not implement; it behaves as with Confluent's default")
}

fn check_url(v: &TypedValue) -> Result<(), String> {
    match v {
        TypedValue::Password(s) | TypedValue::String(s) => DbUrl::parse(s).map(|_| ()),
        _ => Ok(()),
    }
}

/// How rows are selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl Mode {
    pub fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }
    pub fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

/// `record.key`: what the record key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKey {
    /// A null key (Confluent's JDBC source).
    None,
    /// A struct of the primary key columns.
    PrimaryKey,
}

/// Sluice's own class name for the JDBC source: the only one whose default key is the
/// primary key (every other name is Confluent's, or Connect's short forms of it).
const SLUICE_CLASS: &str = "jdbc-source";

/// Parsed settings of the connector and of one task.
#[derive(Clone)]
pub struct JdbcSourceConfig {
    pub url: DbUrl,
    pub user: Option<String>,
    pub password: Option<String>,
    pub attempts: u32,
    pub backoff: Duration,
    pub whitelist: Vec<String>,
    pub blacklist: Vec<String>,
    pub table_types: Vec<String>,
    pub schema_pattern: Option<String>,
    pub table_poll_interval: Duration,
    pub mode: Mode,
    pub query: Option<String>,
    pub incrementing_column: Option<String>,
    pub timestamp_columns: Vec<String>,
    /// Epoch ms; -1 = now.
    pub timestamp_initial: Option<i64>,
    pub delay: Duration,
    pub timezone: String,
    pub poll_interval: Duration,
    pub batch_max_rows: usize,
    pub topic_prefix: String,
    pub validate_non_null: bool,
    pub safe_mode: bool,
    pub numeric_mapping: NumericMapping,
    pub record_key: RecordKey,
    pub granularity: Granularity,
    /// Appended to each pass's SELECT (empty: nothing).
    pub query_suffix: String,
    pub quote: QuoteMethod,
    /// The `ISOLATION LEVEL` of the passes' transactions (`None`: the session's).
    pub isolation: Option<&'static str>,
    /// -1: no limit (Sluice's own handling); N: a source failing N+1 times in a row
    /// fails the task.
    pub query_retry_attempts: i32,
    pub startup_listing_limit: Duration,
    /// How TLS is used, and its client config (files read at parse time); `None`: no TLS.
    pub tls: Option<PgTls>,
}

/// TLS to PostgreSQL: the driver's mode and the rustls config.
#[derive(Clone)]
pub struct PgTls {
    pub mode: tokio_postgres::config::SslMode,
    pub config: std::sync::Arc<rustls::ClientConfig>,
}

/// The TLS settings of the URL and the `connection.ssl*` keys (which win) as a driver
/// mode and rustls config; every problem named by its key.
fn pg_tls(p: &ParsedConfig, url: &DbUrl, issues: &mut Vec<ConfigIssue>) -> Option<PgTls> {
    use crate::tls::{Identity, TlsSettings, Verify};
    use tokio_postgres::config::SslMode as DriverMode;
    let key = |k: &str| p.string(k).filter(|s| !s.trim().is_empty());
    let mode = match key("connection.sslmode").map(|m| SslMode::parse(&m)) {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            issues.push(ConfigIssue::new("connection.sslmode", e));
            return None;
        }
        None => url.ssl.mode.unwrap_or_default(),
    };
    // where each setting came from, for errors
    let pick = |k: &str, from_url: &Option<String>| -> Option<(String, String)> {
        key(k)
            .map(|v| (k.to_string(), v))
            .or_else(|| from_url.clone().map(|v| ("connection.url".to_string(), v)))
    };
    let root = pick("connection.sslrootcert", &url.ssl.root_cert);
    let cert = pick("connection.sslcert", &url.ssl.cert);
    let ssl_key = pick("connection.sslkey", &url.ssl.key);
    if mode == SslMode::Disable {
        return None;
    }
    let verify = match mode {
        SslMode::VerifyFull => Verify::Full,
        SslMode::VerifyCa => Verify::CaOnly,
        SslMode::Require if root.is_some() => Verify::CaOnly,
        _ => Verify::Nothing,
    };
    let (root_key, ca) = match (&root, verify) {
        (Some((_, v)), _) if v == "system" => (String::new(), None),
        (Some((k, v)), _) => (k.clone(), Some(std::path::PathBuf::from(v))),
        (None, Verify::Nothing) => (String::new(), None),
        (None, _) => {
            let default = std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".postgresql/root.crt"));
            match default.filter(|d| d.exists()) {
                Some(d) => ("connection.sslrootcert".to_string(), Some(d)),
                None => {
                    issues.push(ConfigIssue::new(
                        "connection.sslrootcert",
                        "sslmode=verify-ca and verify-full need sslrootcert (the CA's PEM file, or `system` for the system's roots)",
                    ));
                    return None;
                }
            }
        }
    };
    let identity_key = cert
        .as_ref()
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| "connection.sslcert".to_string());
    let identity = match (cert, ssl_key) {
        (Some((_, c)), Some((_, k))) => Some(Identity::Pem {
            cert: c.into(),
            key: k.into(),
        }),
        (None, None) => None,
        (Some(_), None) => {
            issues.push(ConfigIssue::new(
                "connection.sslkey",
                "is required with sslcert (the client's private key)",
            ));
            return None;
        }
        (None, Some(_)) => {
            issues.push(ConfigIssue::new(
                "connection.sslcert",
                "is required with sslkey (the client's certificate)",
            ));
            return None;
        }
    };
    let settings = TlsSettings {
        ca,
        identity,
        verify,
    };
    let root_key = if root_key.is_empty() {
        "connection.sslrootcert".to_string()
    } else {
        root_key
    };
    match settings.client_config(&root_key, &identity_key) {
        Ok(c) => Some(PgTls {
            mode: if mode == SslMode::Prefer {
                DriverMode::Prefer
            } else {
                DriverMode::Require
            },
            config: std::sync::Arc::new(c),
        }),
        Err(e) => {
            let (k, m) = e.split_once(": ").unwrap_or(("connection.url", &e));
            issues.push(ConfigIssue::new(k, m));
            None
        }
    }
}

impl std::fmt::Debug for JdbcSourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JdbcSourceConfig")
            .field("db", &self.url.display())
            .field("mode", &self.mode)
            .field("topic_prefix", &self.topic_prefix)
            .finish_non_exhaustive()
    }
}

impl JdbcSourceConfig {
    /// Parses and checks the cross-key rules, listing every problem.
    pub fn from_parsed(p: &ParsedConfig) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let url = match DbUrl::parse(&p.str("connection.url")) {
            Ok(u) => Some(u),
            Err(e) => {
                issues.push(ConfigIssue::new("connection.url", e));
                None
            }
        };
        let mode = match p.str("mode").to_ascii_lowercase().as_str() {
            "bulk" => Mode::Bulk,
            "incrementing" => Mode::Incrementing,
            "timestamp" => Mode::Timestamp,
            _ => Mode::TimestampIncrementing,
        };
        let mut whitelist = p.list("table.whitelist");
        whitelist.extend(p.list("table.include.list"));
        let mut blacklist = p.list("table.blacklist");
        blacklist.extend(p.list("table.exclude.list"));
        if !whitelist.is_empty() && !blacklist.is_empty() {
            issues.push(ConfigIssue::new(
                "table.blacklist",
                "a whitelist (table.whitelist / table.include.list) and a blacklist (table.blacklist / table.exclude.list) cannot both be set",
            ));
        }
        let query = Some(p.str("query").trim().to_string()).filter(|q| !q.is_empty());
        if query.is_some() && !whitelist.is_empty() {
            issues.push(ConfigIssue::new(
                "query",
                "query and table.whitelist / table.include.list cannot both be set",
            ));
        }
        let incrementing_column =
            Some(p.str("incrementing.column.name").trim().to_string()).filter(|s| !s.is_empty());
        let timestamp_columns: Vec<String> = p
            .list("timestamp.column.name")
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if mode.uses_incrementing() && incrementing_column.is_none() {
            issues.push(ConfigIssue::new(
                "incrementing.column.name",
                format!("mode {} needs incrementing.column.name", p.str("mode")),
            ));
        }
        if mode.uses_timestamp() && timestamp_columns.is_empty() {
            issues.push(ConfigIssue::new(
                "timestamp.column.name",
                format!("mode {} needs timestamp.column.name", p.str("mode")),
            ));
        }
        let topic_prefix = p.str("topic.prefix");
        if query.is_some() && topic_prefix.trim().is_empty() {
            issues.push(ConfigIssue::new(
                "topic.prefix",
                "with query, topic.prefix is the topic name and must not be empty",
            ));
        }
        let tls = match &url {
            Some(u) => pg_tls(p, u, &mut issues),
            None => None,
        };
        let timezone = p.str("db.timezone").trim().to_string();
        if timezone.contains('\0') {
            issues.push(ConfigIssue::new("db.timezone", "invalid time zone name"));
        }
        let numeric_mapping = match p.string("numeric.mapping") {
            Some(m) => NumericMapping::parse(&m).unwrap_or_default(),
            None if p.boolean("numeric.precision.mapping") => NumericMapping::PrecisionOnly,
            None => NumericMapping::None,
        };
        let record_key = match p.string("record.key").map(|k| k.to_ascii_lowercase()) {
            Some(k) if k == "primary.key" => RecordKey::PrimaryKey,
            Some(_) => RecordKey::None,
            None => match p.raw().get("connector.class") {
                Some(c) if c.trim() == SLUICE_CLASS => RecordKey::PrimaryKey,
                _ => RecordKey::None,
            },
        };
        let isolation = match p
            .str("transaction.isolation.mode")
            .to_ascii_uppercase()
            .as_str()
        {
            "READ_UNCOMMITTED" => Some("READ UNCOMMITTED"),
            "READ_COMMITTED" => Some("READ COMMITTED"),
            "REPEATABLE_READ" => Some("REPEATABLE READ"),
            "SERIALIZABLE" => Some("SERIALIZABLE"),
            "SQL_SERVER_SNAPSHOT" => {
                issues.push(ConfigIssue::new(
                    "transaction.isolation.mode",
                    "SQL_SERVER_SNAPSHOT is SQL Server's isolation level; PostgreSQL's are READ_UNCOMMITTED, READ_COMMITTED, REPEATABLE_READ and SERIALIZABLE (or DEFAULT)",
                ));
                None
            }
            _ => None,
        };
        if !issues.is_empty() {
            return Err(ConfigErrors(issues));
        }
        Ok(JdbcSourceConfig {
            numeric_mapping,
            record_key,
            granularity: Granularity::parse(&p.str("timestamp.granularity")).unwrap_or_default(),
            query_suffix: p.str("query.suffix").trim().to_string(),
            quote: if p.str("quote.sql.identifiers").eq_ignore_ascii_case("never") {
                QuoteMethod::Never
            } else {
                QuoteMethod::Always
            },
            isolation,
            query_retry_attempts: p.int("query.retry.attempts"),
            startup_listing_limit: millis(p.long("table.monitoring.startup.polling.limit.ms")),
            url: url.expect("checked"),
            user: p.string("connection.user").filter(|s| !s.is_empty()),
            password: p.string("connection.password").filter(|s| !s.is_empty()),
            attempts: p.int("connection.attempts").max(1) as u32,
            backoff: millis(p.long("connection.backoff.ms")),
            whitelist,
            blacklist,
            table_types: p.list("table.types"),
            schema_pattern: p.string("schema.pattern").filter(|s| !s.is_empty()),
            table_poll_interval: millis(p.long("table.poll.interval.ms")),
            mode,
            query,
            incrementing_column,
            timestamp_columns,
            timestamp_initial: p.opt_long("timestamp.initial"),
            delay: millis(p.long("timestamp.delay.interval.ms")),
            timezone,
            poll_interval: millis(p.int("poll.interval.ms") as i64),
            batch_max_rows: p.int("batch.max.rows").max(1) as usize,
            topic_prefix,
            validate_non_null: p.boolean("validate.non.null"),
            safe_mode: p.boolean("postgres.safe.mode"),
            tls,
        })
    }

    /// The driver config for a new session.
    pub fn pg_config(&self) -> tokio_postgres::Config {
        let mut c = self.url.pg_config(
            self.user.as_deref(),
            self.password.as_deref(),
            APPLICATION_NAME,
        );
        if let Some(t) = &self.tls {
            c.ssl_mode(t.mode);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_runtime::config::RawConfig;

    fn parse(pairs: &[(&str, &str)]) -> Result<JdbcSourceConfig, String> {
        let raw: RawConfig = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = config_def().parse(&raw).map_err(|e| format!("{:?}", e))?;
        JdbcSourceConfig::from_parsed(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse(&[
            ("connection.url", "jdbc:postgresql://h/db"),
            ("mode", "incrementing"),
            ("incrementing.column.name", "id"),
            ("topic.prefix", "pg-"),
        ])
        .unwrap();
        assert_eq!(c.batch_max_rows, 100);
        assert_eq!(c.poll_interval, Duration::from_millis(5000));
        assert_eq!(c.attempts, 3);
        assert!(c.safe_mode);
        assert!(c.validate_non_null);
        assert_eq!(c.timezone, "UTC");
        assert_eq!(c.numeric_mapping, NumericMapping::None);
        // no connector.class in the map: Confluent's behaviour
        assert_eq!(c.record_key, RecordKey::None);
    }

    #[test]
    fn the_key_default_follows_the_class() {
        let base = [
            ("connection.url", "jdbc:postgresql://h/db"),
            ("mode", "bulk"),
            ("topic.prefix", "pg-"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            parse(&v).unwrap()
        };
        let confluent = (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
        );
        let sluice = ("connector.class", "jdbc-source");
        assert_eq!(with(&[confluent]).record_key, RecordKey::None);
        assert_eq!(
            with(&[("connector.class", "JdbcSource")]).record_key,
            RecordKey::None
        );
        assert_eq!(with(&[sluice]).record_key, RecordKey::PrimaryKey);
        assert_eq!(
            with(&[confluent, ("record.key", "primary.key")]).record_key,
            RecordKey::PrimaryKey
        );
        assert_eq!(
            with(&[sluice, ("record.key", "none")]).record_key,
            RecordKey::None
        );
        assert_eq!(
            with(&[("numeric.precision.mapping", "true")]).numeric_mapping,
            NumericMapping::PrecisionOnly
        );
        assert_eq!(
            with(&[
                ("numeric.precision.mapping", "true"),
                ("numeric.mapping", "BEST_FIT")
            ])
            .numeric_mapping,
            NumericMapping::BestFit
        );
        assert!(
            parse(&[base[0], base[1], base[2], ("numeric.mapping", "fit")])
                .unwrap_err()
                .contains("numeric.mapping")
        );
    }

    #[test]
    fn every_cross_key_problem_is_reported() {
        let err = parse(&[
            ("connection.url", "jdbc:postgresql://h/db"),
            ("mode", "timestamp+incrementing"),
            ("topic.prefix", ""),
            ("query", "SELECT 1"),
            ("table.whitelist", "a"),
            ("table.blacklist", "b"),
            ("transaction.isolation.mode", "SQL_SERVER_SNAPSHOT"),
        ])
        .unwrap_err();
        for key in [
            "transaction.isolation.mode",
            "incrementing.column.name",
            "timestamp.column.name",
            "topic.prefix",
            "query",
            "table.blacklist",
        ] {
            assert!(err.contains(key), "{} missing in {}", key, err);
        }
    }

    #[test]
    fn every_key_is_documented() {
        for k in config_def().keys() {
            assert!(!k.doc.is_empty(), "{} has no doc", k.name);
        }
    }
}
