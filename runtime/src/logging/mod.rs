//! Logging: `tracing` with a filter that can change at run time (`/admin/loggers`).
//! Text lines by default, JSON lines with `SLUICE_LOG_FORMAT=json`; the initial filter
//! comes from `SLUICE_LOG` (or `RUST_LOG`), default `info,rdkafka=warn,librdkafka=warn`.

mod connect_names;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

/// A logger's level as the REST API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggerLevel {
    pub level: String,
    /// Epoch ms of the last change through the API, if any.
    pub last_modified: Option<i64>,
}

/// Changes log levels at run time.
pub struct LogControl {
    handle: Option<reload::Handle<EnvFilter, Registry>>,
    levels: Mutex<BTreeMap<String, LoggerLevel>>,
}

const LEVELS: &[&str] = &["OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

/// The longest logger name accepted through the API.
const MAX_NAME_LEN: usize = 256;

/// Why a level change was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum SetLevelError {
    /// The logger name is not one Sluice can filter on (the REST API answers 400).
    InvalidName(String),
    /// The level is not a Log4j level (the REST API answers 404, as Connect does).
    InvalidLevel(String),
    /// The new filter could not be installed; nothing changed.
    Reload(String),
}

impl std::fmt::Display for SetLevelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetLevelError::InvalidName(m)
            | SetLevelError::InvalidLevel(m)
            | SetLevelError::Reload(m) => f.write_str(m),
        }
    }
}

/// Checks a logger name given to the API: `root`, or a tracing target such as a Rust
/// module path (`sluice_runtime::task`) or a dotted name (`org.apache.kafka`): 1 to 256
/// ASCII letters, digits, `_`, `-`, `.` and `:`, starting with a letter, digit or `_`.
/// Anything else (a comma, `=`, brackets, spaces) would change the meaning of the
/// filter the name is written into, so it is refused before anything is stored.
pub fn validate_logger_name(name: &str) -> Result<(), String> {
    let why = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.len() > MAX_NAME_LEN {
        Some(format!("it is longer than {} characters", MAX_NAME_LEN))
    } else if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        Some(format!("it contains {:?}", c))
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        Some("it must start with a letter, a digit or '_'".to_string())
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(format!(
            "invalid logger name '{}': {}; a logger name is a Rust module path or tracing \
             target made of letters, digits, '_', '-', '.' and ':' (e.g. sluice_runtime::task)",
            name.escape_debug(),
            why
        )),
    }
}

fn tracing_level(level: &str) -> &'static str {
    match level {
        "OFF" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        _ => "trace",
    }
}

/// The Log4j name of a level as `tracing` spells it (`warn`, `5`, empty for TRACE).
fn log4j_level(level: &str) -> String {
    match level.trim().to_ascii_lowercase().as_str() {
        "off" | "0" => "OFF".into(),
        "error" | "1" => "ERROR".into(),
        "warn" | "2" => "WARN".into(),
        "info" | "3" => "INFO".into(),
        "debug" | "4" => "DEBUG".into(),
        "trace" | "5" | "" => "TRACE".into(),
        other => other.to_ascii_uppercase(),
    }
}

fn is_level(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "off" | "error" | "warn" | "info" | "debug" | "trace" | "0" | "1" | "2" | "3" | "4" | "5"
    )
}

/// Reads an `EnvFilter` spec (`info,sluice_runtime=debug,librdkafka`) into the levels
/// the API shows. A bare level sets root; a bare target enables every level for it, as
/// `EnvFilter` does.
fn parse_directives(spec: &str) -> BTreeMap<String, LoggerLevel> {
    let mut out = BTreeMap::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, level) = match part.split_once('=') {
            Some((n, l)) => (n.trim().to_string(), log4j_level(l)),
            None if is_level(part) => ("root".to_string(), log4j_level(part)),
            None => (part.to_string(), "TRACE".to_string()),
        };
        out.insert(
            name,
            LoggerLevel {
                level,
                last_modified: None,
            },
        );
    }
    out.entry("root".into()).or_insert(LoggerLevel {
        level: "INFO".into(),
        last_modified: None,
    });
    out
}

/// The `EnvFilter` spec for a set of levels. A Connect logger name Sluice knows
/// (see [`connect_names`]) stands for its Rust modules; a level set on a module by its
/// own name wins over one it gets through a Connect name, and a longer Connect name
/// over a shorter one.
fn filter_spec(levels: &BTreeMap<String, LoggerLevel>) -> String {
    let mut root = "info";
    let mut mapped: Vec<(&str, &[&str], &str)> = Vec::new();
    let mut targets: BTreeMap<String, &str> = BTreeMap::new();
    for (n, l) in levels {
        let level = tracing_level(&l.level);
        if n == "root" {
            root = level;
        } else if let Some(t) = connect_names::targets(n) {
            mapped.push((n, t, level));
        }
    }
    mapped.sort_by_key(|(n, _, _)| n.len());
    for (_, ts, level) in mapped {
        for t in ts {
            targets.insert(t.to_string(), level);
        }
    }
    for (n, l) in levels {
        if n != "root" && connect_names::targets(n).is_none() {
            targets.insert(n.clone(), tracing_level(&l.level));
        }
    }
    std::iter::once(root.to_string())
        .chain(targets.iter().map(|(t, l)| format!("{}={}", t, l)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Checks a level change without making it: the logger name (see
/// [`validate_logger_name`]) and the level (a Log4j name, any case). Returns the level
/// in upper case.
pub fn check_level_change(name: &str, level: &str) -> Result<String, SetLevelError> {
    validate_logger_name(name).map_err(SetLevelError::InvalidName)?;
    let level = level.trim().to_ascii_uppercase();
    if !LEVELS.contains(&level.as_str()) {
        return Err(SetLevelError::InvalidLevel(format!(
            "invalid log level '{}'.",
            level.escape_debug()
        )));
    }
    Ok(level)
}

impl LogControl {
    /// Installs the global subscriber.
    pub fn init() -> std::sync::Arc<LogControl> {
        let spec = std::env::var("SLUICE_LOG")
            .or_else(|_| std::env::var("RUST_LOG"))
            .unwrap_or_else(|_| "info,rdkafka=warn,librdkafka=warn".into());
        // A spec EnvFilter refuses is replaced by plain `info`, and so are the levels shown.
        let (filter, spec) = match EnvFilter::try_new(&spec) {
            Ok(f) => (f, spec),
            Err(_) => (EnvFilter::new("info"), "info".to_string()),
        };
        let (layer, handle) = reload::Layer::new(filter);
        let json = std::env::var("SLUICE_LOG_FORMAT")
            .map(|v| v == "json")
            .unwrap_or(false);
        let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let registry = tracing_subscriber::registry().with(layer);
        let result = if json {
            registry
                .with(
                    fmt::layer()
                        .json()
                        .with_writer(std::io::stderr)
                        .with_target(false),
                )
                .try_init()
        } else {
            registry
                .with(
                    fmt::layer()
                        .with_writer(std::io::stderr)
                        .with_ansi(ansi)
                        .with_target(false),
                )
                .try_init()
        };
        std::sync::Arc::new(LogControl {
            handle: result.ok().map(|_| handle),
            levels: Mutex::new(parse_directives(&spec)),
        })
    }

    /// A control that changes nothing (for tests and embedding).
    pub fn detached() -> std::sync::Arc<LogControl> {
        std::sync::Arc::new(LogControl {
            handle: None,
            levels: Mutex::new(parse_directives("info")),
        })
    }

    /// Every logger with an explicit level.
    pub fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        self.levels.lock().unwrap().clone()
    }

    /// One logger's level: its own, or the nearest ancestor's (`a::b` inherits from `a`),
    /// or root's. `None` only if the name is empty.
    pub fn level(&self, name: &str) -> Option<LoggerLevel> {
        if name.is_empty() {
            return None;
        }
        let levels = self.levels.lock().unwrap();
        let mut n = name.to_string();
        loop {
            if let Some(l) = levels.get(&n) {
                return Some(l.clone());
            }
            match n.rfind("::") {
                Some(i) => n.truncate(i),
                None => return levels.get("root").cloned(),
            }
        }
    }

    /// Sets a logger's level (Log4j names: OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE).
    /// Returns the loggers affected. The name and level are checked, and the new filter
    /// built, before anything is stored: a refused change leaves every level as it was.
    pub fn set(&self, name: &str, level: &str, now_ms: i64) -> Result<Vec<String>, SetLevelError> {
        let level = check_level_change(name, level)?;
        let mut levels = self.levels.lock().unwrap();
        let mut next = levels.clone();
        let mut affected = vec![name.to_string()];
        if name == "root" {
            // Setting root resets everything to it, as Log4j does.
            affected = next.keys().cloned().collect();
            next.clear();
        } else {
            let prefix = format!("{}::", name);
            let children: Vec<String> = next
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            for c in children {
                next.remove(&c);
                affected.push(c);
            }
        }
        next.insert(
            name.to_string(),
            LoggerLevel {
                level,
                last_modified: Some(now_ms),
            },
        );
        next.entry("root".into()).or_insert(LoggerLevel {
            level: "INFO".into(),
            last_modified: None,
        });
        let filter = EnvFilter::try_new(filter_spec(&next)).map_err(|e| {
            SetLevelError::InvalidName(format!("invalid logger name '{}': {}", name, e))
        })?;
        if let Some(h) = &self.handle {
            h.reload(filter)
                .map_err(|e| SetLevelError::Reload(format!("cannot change log levels: {}", e)))?;
        }
        *levels = next;
        affected.sort();
        affected.dedup();
        Ok(affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_inherit_and_reset() {
        let c = LogControl::detached();
        assert_eq!(c.level("sluice_runtime::task").unwrap().level, "INFO");
        c.set("sluice_runtime", "debug", 5).unwrap();
        assert_eq!(c.level("sluice_runtime::task").unwrap().level, "DEBUG");
        assert_eq!(c.level("sluice_runtime").unwrap().last_modified, Some(5));
        assert_eq!(
            c.set("x", "LOUD", 6).unwrap_err(),
            SetLevelError::InvalidLevel("invalid log level 'LOUD'.".into())
        );
        let affected = c.set("root", "WARN", 7).unwrap();
        assert!(affected.contains(&"sluice_runtime".to_string()));
        assert_eq!(c.level("sluice_runtime::task").unwrap().level, "WARN");
    }

    #[test]
    fn bad_names_are_refused_before_anything_is_stored() {
        let c = LogControl::detached();
        let before = c.levels();
        for bad in [
            "a[b",
            "x,sluice_runtime",
            "a=b",
            "a b",
            "",
            "-x",
            "é",
            "a{b}",
        ] {
            match c.set(bad, "TRACE", 1) {
                Err(SetLevelError::InvalidName(m)) => {
                    assert!(m.contains("invalid logger name"), "{m}")
                }
                other => panic!("{bad:?} was not refused: {other:?}"),
            }
        }
        assert!(matches!(
            c.set(&"a".repeat(300), "INFO", 1),
            Err(SetLevelError::InvalidName(_))
        ));
        assert_eq!(c.levels(), before, "a refused change stores nothing");
        c.set("sluice_runtime::task", "DEBUG", 2).unwrap();
        c.set("org.apache.kafka.connect-x", "WARN", 3).unwrap();
        assert_eq!(c.level("sluice_runtime::task").unwrap().level, "DEBUG");
        // Every stored set of levels makes a filter EnvFilter accepts.
        EnvFilter::try_new(filter_spec(&c.levels())).unwrap();
    }

    #[test]
    fn startup_spec_is_read_as_envfilter_reads_it() {
        let l = parse_directives("warn,sluice_runtime=debug,librdkafka,hyper=5");
        assert_eq!(l["root"].level, "WARN");
        assert_eq!(l["sluice_runtime"].level, "DEBUG");
        assert_eq!(
            l["librdkafka"].level, "TRACE",
            "a bare target enables all levels"
        );
        assert_eq!(l["hyper"].level, "TRACE");
        assert_eq!(
            filter_spec(&l),
            "warn,hyper=trace,librdkafka=trace,sluice_runtime=debug"
        );
    }

    #[test]
    fn connect_names_stand_for_their_modules() {
        let mut levels = parse_directives("info");
        let at = |l: &str| LoggerLevel {
            level: l.into(),
            last_modified: None,
        };
        levels.insert("org.apache.kafka.connect".into(), at("DEBUG"));
        levels.insert(
            "org.apache.kafka.connect.runtime.WorkerSinkTask".into(),
            at("TRACE"),
        );
        levels.insert("sluice_connectors".into(), at("WARN"));
        levels.insert("my.own".into(), at("ERROR"));
        let spec = filter_spec(&levels);
        let parts: Vec<&str> = spec.split(',').collect();
        assert_eq!(parts[0], "info");
        for want in [
            "sluice_runtime=debug",
            "sluice_runtime::task::sink=trace",
            "sluice_runtime::task::sink_consumer=trace",
            "sluice_connectors=warn",
            "my.own=error",
        ] {
            assert!(parts.contains(&want), "{want} not in {spec}");
        }
        assert!(!spec.contains("org.apache.kafka.connect="), "{spec}");
        EnvFilter::try_new(&spec).unwrap();
    }
}
