//! Logging: `tracing` with a filter that can change at run time (`/admin/loggers`).
//! Text lines by default, JSON lines with `SLUICE_LOG_FORMAT=json`; the initial filter
//! comes from `SLUICE_LOG` (or `RUST_LOG`), default `info,rdkafka=warn,librdkafka=warn`.

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

fn parse_directives(spec: &str) -> BTreeMap<String, LoggerLevel> {
    let mut out = BTreeMap::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, level) = match part.split_once('=') {
            Some((n, l)) => (n.trim().to_string(), l.trim()),
            None => ("root".to_string(), part),
        };
        out.insert(
            name,
            LoggerLevel {
                level: level.to_ascii_uppercase(),
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

impl LogControl {
    /// Installs the global subscriber.
    pub fn init() -> std::sync::Arc<LogControl> {
        let spec = std::env::var("SLUICE_LOG")
            .or_else(|_| std::env::var("RUST_LOG"))
            .unwrap_or_else(|_| "info,rdkafka=warn,librdkafka=warn".into());
        let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info"));
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
    /// Returns the loggers affected, or an error if the level is not one of those.
    pub fn set(&self, name: &str, level: &str, now_ms: i64) -> Result<Vec<String>, String> {
        let level = level.trim().to_ascii_uppercase();
        if !LEVELS.contains(&level.as_str()) {
            return Err(format!("invalid log level '{}'.", level));
        }
        let mut levels = self.levels.lock().unwrap();
        let mut affected = vec![name.to_string()];
        if name == "root" {
            // Setting root resets everything to it, as Log4j does.
            affected = levels.keys().cloned().collect();
            levels.clear();
        } else {
            let prefix = format!("{}::", name);
            let children: Vec<String> = levels
                .keys()
                .filter(|k| k.starts_with(&prefix))
                .cloned()
                .collect();
            for c in children {
                levels.remove(&c);
                affected.push(c);
            }
        }
        levels.insert(
            name.to_string(),
            LoggerLevel {
                level: level.clone(),
                last_modified: Some(now_ms),
            },
        );
        levels.entry("root".into()).or_insert(LoggerLevel {
            level: "INFO".into(),
            last_modified: None,
        });
        let spec: Vec<String> = levels
            .iter()
            .map(|(n, l)| {
                if n == "root" {
                    tracing_level(&l.level).to_string()
                } else {
                    format!("{}={}", n, tracing_level(&l.level))
                }
            })
            .collect();
        if let Some(h) = &self.handle {
            let filter = EnvFilter::try_new(spec.join(","))
                .map_err(|e| format!("invalid logger name {}: {}", name, e))?;
            h.reload(filter).map_err(|e| e.to_string())?;
        }
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
        assert!(c
            .set("x", "LOUD", 6)
            .unwrap_err()
            .contains("invalid log level"));
        let affected = c.set("root", "WARN", 7).unwrap();
        assert!(affected.contains(&"sluice_runtime".to_string()));
        assert_eq!(c.level("sluice_runtime::task").unwrap().level, "WARN");
    }
}
