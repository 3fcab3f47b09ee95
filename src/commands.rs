//! What each subcommand does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sluice_runtime::config::files::{load_connector_file, load_worker_file};
use sluice_runtime::config::worker::WorkerConfig;
use sluice_runtime::config::{ConfigDef, RawConfig};
use sluice_runtime::connector_config::{common_config_def, validate_connector};
use sluice_runtime::convert::converter_plugins;
use sluice_runtime::transforms::{predicate_plugins, transform_plugins};
use sluice_runtime::Plugins;

use crate::output::{outln, Output};

fn load_worker(path: &Path) -> Result<WorkerConfig, String> {
    let raw = load_worker_file(path).map_err(|e| e.to_string())?;
    WorkerConfig::parse(raw).map_err(|e| {
        let lines: Vec<String> =
            e.0.iter()
                .map(|i| format!("{}: {}: {}", path.display(), i.key, i.message))
                .collect();
        lines.join("\n")
    })
}

/// `sluice standalone`.
pub async fn standalone(
    plugins: Plugins,
    log: std::sync::Arc<sluice_runtime::logging::LogControl>,
    worker_config: PathBuf,
    connectors: Vec<PathBuf>,
) -> ExitCode {
    let config = match load_worker(&worker_config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e);
            return ExitCode::from(2);
        }
    };
    tracing::info!(worker = %config.worker_id(), version = env!("CARGO_PKG_VERSION"), "starting standalone worker");
    let running = match sluice_runtime::standalone::start(config, plugins, connectors).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", e);
            return ExitCode::from(2);
        }
    };
    let herder: std::sync::Arc<dyn sluice_runtime::herder::Herder> = running.herder.clone();
    if let Err(e) = sluice_runtime::rest::start(herder, log).await {
        eprintln!("cannot start the REST API: {}", e);
        running.herder.shutdown().await;
        return ExitCode::from(2);
    }
    wait_for_shutdown_signal().await;
    tracing::info!("shutting down: stopping connectors");
    running.herder.shutdown().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// `sluice distributed`.
pub async fn distributed(
    plugins: Plugins,
    log: std::sync::Arc<sluice_runtime::logging::LogControl>,
    worker_config: PathBuf,
) -> ExitCode {
    let config = match load_worker(&worker_config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e);
            return ExitCode::from(2);
        }
    };
    tracing::info!(worker = %config.worker_id(), version = env!("CARGO_PKG_VERSION"), "starting distributed worker");
    let herder = match sluice_runtime::distributed::start(config, plugins, log.clone()).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("cannot start the distributed worker: {}", e);
            return ExitCode::from(2);
        }
    };
    let h: std::sync::Arc<dyn sluice_runtime::herder::Herder> = herder.clone();
    if let Err(e) = sluice_runtime::rest::start(h, log).await {
        eprintln!("cannot start the REST API: {}", e);
        herder.shutdown().await;
        return ExitCode::from(2);
    }
    wait_for_shutdown_signal().await;
    tracing::info!("shutting down: handing work back to the cluster");
    herder.shutdown().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn wait_for_shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// `sluice validate`.
pub async fn validate(plugins: Plugins, files: Vec<PathBuf>, worker: Option<PathBuf>) -> ExitCode {
    let worker = match worker {
        Some(w) => match load_worker(&w) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{}", e);
                return ExitCode::from(2);
            }
        },
        None => WorkerConfig::parse(RawConfig::new()).expect("defaults are valid"),
    };
    let mut out = Output::stdout();
    let mut bad = 0;
    for path in &files {
        let file = match load_connector_file(path) {
            Ok(f) => f,
            Err(e) => {
                outln!(out, "{}", e);
                bad += 1;
                continue;
            }
        };
        let resolved = match worker.providers.resolve(&file.config) {
            Ok((r, _)) => r,
            Err(issues) => {
                for i in issues {
                    outln!(out, "{}: {}: {}", path.display(), i.key, i.message);
                }
                bad += 1;
                continue;
            }
        };
        let v = validate_connector(&plugins, &resolved, &worker).await;
        for w in &v.warnings {
            println!("{}: {}: warning: {}", path.display(), w.key, w.message);
        }
        if v.is_ok() {
            let plugin = v.plugin.map(|p| p.short_name()).unwrap_or("?");
            outln!(
                out,
                "{}: OK (connector {}, {})",
                path.display(),
                file.name,
                plugin
            );
        } else {
            for i in &v.issues {
                outln!(out, "{}: {}: {}", path.display(), i.key, i.message);
            }
            bad += 1;
        }
    }
    if bad > 0 {
        outln!(out, "{} of {} config(s) invalid", bad, files.len());
    }
    if !out.finish() || bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn keys_json(def: &ConfigDef) -> serde_json::Value {
    serde_json::Value::Array(
        def.keys()
            .iter()
            .map(|k| {
                serde_json::json!({
                    "name": k.name,
                    "type": k.kind.name(),
                    "required": k.required(),
                    "default": k.default_string(),
                    "importance": k.importance.name(),
                    "documentation": k.doc,
                    "valid_values": k.validator.as_ref().map(|v| v.describe()).filter(|s| !s.is_empty()),
                })
            })
            .collect(),
    )
}

fn print_keys(out: &mut Output, def: &ConfigDef) {
    for k in def.keys() {
        let default = match (&k.default, k.required()) {
            (_, true) => "required".to_string(),
            (sluice_runtime::config::DefaultValue::Value(v), _) => format!("default {:?}", v),
            _ => "optional".to_string(),
        };
        let valid = k
            .validator
            .as_ref()
            .map(|v| v.describe())
            .filter(|s| !s.is_empty())
            .map(|s| format!(", one of {}", s))
            .unwrap_or_default();
        outln!(
            out,
            "      {} ({}, {}{})",
            k.name,
            k.kind.name(),
            default,
            valid
        );
        if !k.doc.is_empty() {
            outln!(out, "          {}", k.doc);
        }
    }
}

/// `sluice plugins`.
pub fn plugins(plugins: Plugins, json: bool) -> ExitCode {
    let mut out = Output::stdout();
    if json {
        let connectors: Vec<_> = plugins
            .connectors()
            .iter()
            .map(|p| serde_json::json!({"class": p.class, "aliases": p.aliases, "type": p.kind().name(), "version": p.version, "doc": p.doc, "config": keys_json(&(p.config_def)())}))
            .collect();
        let converters: Vec<_> = converter_plugins()
            .iter()
            .map(|c| serde_json::json!({"class": c.class, "aliases": c.aliases, "type": if c.create.is_some() {"converter"} else {"header_converter"}, "doc": c.doc, "config": keys_json(&(c.config_def)())}))
            .collect();
        let transforms: Vec<_> = transform_plugins()
            .iter()
            .map(|t| serde_json::json!({"class": t.class, "aliases": t.aliases, "type": "transformation", "doc": t.doc, "config": keys_json(&(t.config_def)())}))
            .collect();
        let predicates: Vec<_> = predicate_plugins()
            .iter()
            .map(|t| serde_json::json!({"class": t.class, "aliases": t.aliases, "type": "predicate", "doc": t.doc, "config": keys_json(&(t.config_def)())}))
            .collect();
        let doc = serde_json::json!({"connectors": connectors, "converters": converters, "transforms": transforms, "predicates": predicates, "common_connector_config": keys_json(&common_config_def(None)), "source_connector_config": keys_json(&common_config_def(Some(sluice_runtime::connector::ConnectorType::Source))), "sink_connector_config": keys_json(&common_config_def(Some(sluice_runtime::connector::ConnectorType::Sink))), "worker_config": keys_json(&sluice_runtime::config::worker::worker_config_def())});
        outln!(out, "{}", serde_json::to_string_pretty(&doc).unwrap());
        return exit_code(out);
    }
    outln!(out, "Connectors:");
    for p in plugins.connectors() {
        outln!(
            out,
            "  {} ({}, {})",
            p.short_name(),
            p.class,
            p.kind().name()
        );
        outln!(out, "      {}", p.doc);
        print_keys(&mut out, &(p.config_def)());
    }
    outln!(out, "\nKeys every connector has:");
    print_keys(&mut out, &common_config_def(None));
    outln!(out, "\nConverters:");
    for c in converter_plugins() {
        outln!(out, "  {} ({})", c.class, c.aliases.join(", "));
        outln!(out, "      {}", c.doc);
        print_keys(&mut out, &(c.config_def)());
    }
    outln!(out, "\nTransforms:");
    for t in transform_plugins() {
        outln!(out, "  {} ({})", t.class, t.aliases.join(", "));
        outln!(out, "      {}", t.doc);
        print_keys(&mut out, &(t.config_def)());
    }
    outln!(out, "\nPredicates:");
    for t in predicate_plugins() {
        outln!(out, "  {} ({})", t.class, t.aliases.join(", "));
        outln!(out, "      {}", t.doc);
        print_keys(&mut out, &(t.config_def)());
    }
    exit_code(out)
}

/// Success unless writing the output failed (a closed pipe is not a failure).
fn exit_code(out: Output) -> ExitCode {
    if out.finish() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
