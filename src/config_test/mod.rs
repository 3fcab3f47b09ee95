//! `sluice test`: config unit tests without servers. A test file names a connector
//! config and lists messages (sources) or Kafka records (sinks) with the output expected
//! of each; every input goes through the same code a task runs (the connector's
//! message mapping and record builder, converters, transforms, and for sinks the message
//! builder), and every difference from what was expected is printed. Exit code 1 when a
//! test fails or a file cannot be run.

mod compare;
mod input;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};
use sluice_runtime::config::files::load_worker_file;
use sluice_runtime::config::worker::WorkerConfig;
use sluice_runtime::config::RawConfig;
use sluice_runtime::connector::DryRun;
use sluice_runtime::data::{KafkaOrigin, SourceRecord, TimestampType};
use sluice_runtime::lifecycle::{ConnectorSpec, SpecError};
use sluice_runtime::tap::bytes_json;
use sluice_runtime::task::{OutRecord, Outcome, RecordPipeline, TaskId, TaskMetrics};
use sluice_runtime::Plugins;

use crate::output::{outln, Output};
use input::{Case, TestFile};

pub async fn run(plugins: Plugins, files: Vec<PathBuf>) -> ExitCode {
    let mut out = Output::stdout();
    let (mut passed, mut failed) = (0, 0);
    for path in &files {
        match run_file(&plugins, path, &mut out) {
            Ok((p, f)) => {
                passed += p;
                failed += f;
            }
            Err(e) => {
                outln!(out, "{}", e);
                failed += 1;
            }
        }
    }
    outln!(out, "{} passed, {} failed", passed, failed);
    if !out.finish() || failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn worker_config(path: Option<&Path>) -> Result<WorkerConfig, String> {
    let raw = match path {
        Some(p) => load_worker_file(p).map_err(|e| e.to_string())?,
        None => RawConfig::new(),
    };
    WorkerConfig::parse(raw).map_err(|e| {
        e.0.iter()
            .map(|i| format!("worker config: {}: {}", i.key, i.message))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Runs one file's tests; (passed, failed).
fn run_file(plugins: &Plugins, path: &Path, out: &mut Output) -> Result<(usize, usize), String> {
    let file = TestFile::load(path)?;
    let shown = file.path.display().to_string();
    let worker = worker_config(file.worker.as_deref()).map_err(|e| format!("{shown}: {e}"))?;
    let (name, raw) = &file.connector;
    let spec = ConnectorSpec::resolve(plugins, &worker, name, raw).map_err(|e| {
        let issues = match e {
            SpecError::Providers(i) | SpecError::Invalid(i) => i,
        };
        issues
            .iter()
            .map(|i| format!("{shown}: connector {name}: {}: {}", i.key, i.message))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let dry_run = spec.plugin.dry_run.ok_or_else(|| {
        format!(
            "{shown}: connector {name}: sluice test runs the queue connectors (amqp-source, mqtt-source, amqp1-source, amqp-sink, mqtt-sink, amqp1-sink), not {}",
            spec.plugin.short_name()
        )
    })?;
    let (mut passed, mut failed) = (0, 0);
    for case in &file.tests {
        // a fresh pipeline per test: transforms that keep state start over
        let mut pipeline = RecordPipeline::new(
            TaskId {
                connector: name.clone(),
                task: 0,
            },
            &spec.pipeline,
            spec.errors.clone(),
            Arc::new(TaskMetrics::default()),
        )
        .map_err(|e| format!("{shown}: connector {name}: {e}"))?;
        let actual = match dry_run {
            DryRun::Source(f) => run_source(&spec, f, &mut pipeline, case),
            DryRun::Sink(f) => run_sink(&spec, f, &mut pipeline, case),
        };
        let actual = match actual {
            Ok(a) => a,
            Err(e) => {
                outln!(out, "{}: {}: FAILED\n  {}", shown, case.name, e);
                failed += 1;
                continue;
            }
        };
        let diffs = compare::differences(&case.expect, &actual);
        if diffs.is_empty() {
            outln!(out, "{}: {}: ok", shown, case.name);
            passed += 1;
        } else {
            outln!(out, "{}: {}: FAILED", shown, case.name);
            for d in &diffs {
                outln!(out, "  {}", d);
            }
            let got = serde_yaml::to_string(&actual).unwrap_or_default();
            outln!(out, "  the output was:");
            for line in got.lines() {
                outln!(out, "    {}", line);
            }
            failed += 1;
        }
    }
    Ok((passed, failed))
}

/// A record as written to Kafka: what a source test compares.
fn written(o: &OutRecord) -> Json {
    let mut m = Map::new();
    m.insert("topic".into(), json!(o.topic.as_ref()));
    if let Some(p) = o.partition {
        m.insert("partition".into(), json!(p));
    }
    m.insert("key".into(), bytes_json(o.key.as_ref()));
    m.insert("value".into(), bytes_json(o.value.as_ref()));
    let headers: Map<String, Json> = o
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), bytes_json(v.as_ref())))
        .collect();
    m.insert("headers".into(), Json::Object(headers));
    if let Some(t) = o.timestamp {
        m.insert("timestamp".into(), json!(t));
    }
    Json::Object(m)
}

/// What became of a record that did not make it: the error a task would report.
fn failure<T>(o: Outcome<T>) -> Option<Json> {
    match o {
        Outcome::Ok(_) | Outcome::Dropped => None,
        Outcome::Fail(trace) => Some(json!({ "error": trace })),
        Outcome::Retry(r) => Some(json!({ "error": r.error.message })),
        Outcome::DeadLetter(d) => Some(json!({ "dead_letter": written(&d) })),
    }
}

fn run_source(
    spec: &ConnectorSpec,
    build: fn(
        &sluice_runtime::config::ParsedConfig,
        &sluice_runtime::connector::TestMessage,
    ) -> Result<sluice_runtime::data::Record, String>,
    pipeline: &mut RecordPipeline,
    case: &Case,
) -> Result<Vec<Json>, String> {
    let mut actual = Vec::new();
    for (i, item) in case.input.iter().enumerate() {
        let msg = input::message(item).map_err(|e| format!("input {}: {}", i + 1, e))?;
        let record = match build(&spec.config, &msg) {
            Ok(r) => r,
            Err(e) => {
                actual.push(json!({ "error": e }));
                continue;
            }
        };
        match pipeline.source_record(SourceRecord::new(record), || format!("input {}", i + 1)) {
            Outcome::Ok(o) => actual.push(written(&o)),
            other => actual.extend(failure(other)),
        }
    }
    Ok(actual)
}

fn run_sink(
    spec: &ConnectorSpec,
    send: fn(
        &sluice_runtime::config::ParsedConfig,
        &sluice_runtime::data::SinkRecord,
    ) -> Result<Json, String>,
    pipeline: &mut RecordPipeline,
    case: &Case,
) -> Result<Vec<Json>, String> {
    let topics = spec.raw.get("topics").map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
    });
    let default_topic = topics.as_ref().filter(|t| t.len() == 1).map(|t| t[0]);
    let mut actual = Vec::new();
    for (i, item) in case.input.iter().enumerate() {
        let k = input::kafka_record(item, default_topic, i)
            .map_err(|e| format!("input {}: {}", i + 1, e))?;
        let origin = KafkaOrigin {
            topic: k.topic.as_str().into(),
            partition: k.partition,
            offset: k.offset,
        };
        match pipeline.sink_record(origin, k.raw, TimestampType::CreateTime) {
            Outcome::Ok(r) => match send(&spec.config, &r) {
                Ok(m) => actual.push(m),
                Err(e) => actual.push(json!({ "error": e })),
            },
            other => actual.extend(failure(other)),
        }
    }
    Ok(actual)
}
