//! `sluice top`: a live view of the connectors and tasks of a worker or a cluster, from
//! the REST API: `GET /connectors?expand=status&expand=info` for states and who runs
//! what, and `/metrics` of every worker that runs a task for rates, lag, backlog,
//! records in flight, errors and dead-lettered records.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value as Json;

use crate::output::Output;
use crate::rest_client::RestTarget;

pub async fn run(target: RestTarget, interval: u64, once: bool) -> ExitCode {
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sluice top: {}", e);
            return ExitCode::FAILURE;
        }
    };
    let clear = !once && std::io::stdout().is_terminal();
    loop {
        let view = match snapshot(&target, &client).await {
            Ok(v) => v,
            Err(e) if once => {
                eprintln!("sluice top: {}", e);
                return ExitCode::FAILURE;
            }
            Err(e) => format!("sluice top: {} (retrying)", e),
        };
        let mut out = Output::stdout();
        if clear {
            // home and clear the screen
            out.line(format_args!("\x1b[H\x1b[2J{}", view));
        } else {
            out.line(format_args!("{}", view));
        }
        if once || out.is_closed() {
            return if out.finish() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        drop(out);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(interval.max(1))) => {}
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
        }
    }
}

/// Metric values by (name, connector, task).
type Metrics = HashMap<(String, String, String), f64>;

/// Parses the Prometheus text of `/metrics` (only samples with connector and task).
fn parse_metrics(text: &str, into: &mut Metrics) {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, rest)) = line.split_once('{') else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |key: &str| {
            labels.split(',').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == key).then(|| v.trim_matches('"').to_string())
            })
        };
        if let (Some(c), Some(t), Ok(v)) = (label("connector"), label("task"), value.trim().parse())
        {
            into.insert((name.to_string(), c, t), v);
        }
    }
}

async fn snapshot(target: &RestTarget, client: &reqwest::Client) -> Result<String, String> {
    let base = target.base();
    let body = target
        .get_text(
            client,
            &format!("{}/connectors?expand=status&expand=info", base),
        )
        .await?;
    let all: BTreeMap<String, Json> =
        serde_json::from_str(&body).map_err(|e| format!("{}/connectors: {}", base, e))?;
    // every worker that runs a task serves its metrics
    let scheme = if base.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    let mut workers: Vec<String> = all
        .values()
        .flat_map(|c| c["status"]["tasks"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["worker_id"].as_str().map(str::to_string))
        .collect();
    workers.sort();
    workers.dedup();
    let mut metrics = Metrics::new();
    let mut unreachable = Vec::new();
    match target.get_text(client, &format!("{}/metrics", base)).await {
        Ok(text) => parse_metrics(&text, &mut metrics),
        Err(e) => unreachable.push(e),
    }
    for w in &workers {
        let url = format!("{}://{}/metrics", scheme, w);
        if base.ends_with(w.as_str()) {
            continue;
        }
        match target.get_text(client, &url).await {
            Ok(text) => parse_metrics(&text, &mut metrics),
            Err(e) => unreachable.push(e),
        }
    }
    Ok(render(&all, &metrics, &unreachable))
}

fn render(all: &BTreeMap<String, Json>, m: &Metrics, unreachable: &[String]) -> String {
    let get = |name: &str, c: &str, t: &str| {
        m.get(&(name.to_string(), c.to_string(), t.to_string()))
            .copied()
    };
    let mut rows = vec![[
        "CONNECTOR / TASK".to_string(),
        "TYPE".into(),
        "STATE".into(),
        "WORKER".into(),
        "IN/s".into(),
        "OUT/s".into(),
        "LAG".into(),
        "BACKLOG".into(),
        "IN FLIGHT".into(),
        "ERRORS".into(),
        "DLQ".into(),
    ]];
    let num = |v: Option<f64>| {
        v.map(|v| {
            if v.fract() == 0.0 {
                format!("{}", v as i64)
            } else {
                format!("{:.1}", v)
            }
        })
        .unwrap_or_else(|| "-".into())
    };
    for (name, c) in all {
        let kind = c["info"]["type"]
            .as_str()
            .or(c["status"]["type"].as_str())
            .unwrap_or("?");
        let tasks = c["status"]["tasks"].as_array().cloned().unwrap_or_default();
        let running = tasks.iter().filter(|t| t["state"] == "RUNNING").count();
        rows.push([
            name.clone(),
            kind.to_string(),
            c["status"]["connector"]["state"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
            format!("{}/{} tasks running", running, tasks.len()),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        for t in &tasks {
            let id = t["id"].to_string();
            let (inp, out) = if kind == "sink" {
                (
                    "kafka_connect_sink_task_sink_record_read_rate",
                    "kafka_connect_sink_task_sink_record_send_rate",
                )
            } else {
                (
                    "kafka_connect_source_task_source_record_poll_rate",
                    "kafka_connect_source_task_source_record_write_rate",
                )
            };
            rows.push([
                format!("  task {}", id),
                String::new(),
                t["state"].as_str().unwrap_or("?").to_string(),
                t["worker_id"].as_str().unwrap_or("").to_string(),
                num(get(inp, name, &id)),
                num(get(out, name, &id)),
                num(get("sluice_sink_task_records_lag", name, &id)),
                num(get("sluice_source_task_queue_backlog", name, &id)),
                num(get(
                    "kafka_connect_source_task_source_record_active_count",
                    name,
                    &id,
                )),
                num(get(
                    "kafka_connect_task_error_total_record_errors",
                    name,
                    &id,
                )),
                num(get(
                    "kafka_connect_task_error_deadletterqueue_produce_requests",
                    name,
                    &id,
                )),
            ]);
            if let Some(trace) = t["trace"].as_str() {
                let first = trace.lines().next().unwrap_or("");
                let short: String = first.chars().take(120).collect();
                rows.push([
                    format!("    {}", short),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
        }
    }
    let mut widths = [0usize; 11];
    for r in &rows {
        // a trace line spans the table: it does not widen the first column
        if r[1..].iter().all(String::is_empty) && r[0].starts_with("    ") {
            continue;
        }
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{:<width$}", c, width = *w))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if all.is_empty() {
        out.push_str("(no connectors)\n");
    }
    for e in unreachable {
        out.push_str(&format!("metrics not available: {}\n", e));
    }
    out.trim_end().to_string()
}
