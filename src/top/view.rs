//! What `sluice top` shows, read from the REST API: `GET /connectors?expand=status&expand=info`
//! for states and who runs what, and `/metrics` of every worker that runs a task for
//! rates, lag, backlog, records in flight, errors and dead-lettered records.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use crate::rest_client::RestTarget;

/// The column titles.
pub const COLUMNS: [&str; 11] = [
    "CONNECTOR / TASK",
    "TYPE",
    "STATE",
    "WORKER",
    "IN/s",
    "OUT/s",
    "LAG",
    "BACKLOG",
    "IN FLIGHT",
    "ERRORS",
    "DLQ",
];

/// One line of the view: a connector, one of its tasks, or a task's failure trace.
#[derive(Debug, Clone)]
pub struct Row {
    pub cells: [String; 11],
    pub connector: String,
    /// The task of a task or trace row.
    pub task: Option<u32>,
    /// A trace line (spans the table).
    pub trace: bool,
}

/// One refresh.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub rows: Vec<Row>,
    /// Workers whose `/metrics` could not be read.
    pub unreachable: Vec<String>,
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

pub async fn snapshot(target: &RestTarget, client: &reqwest::Client) -> Result<View, String> {
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
    Ok(rows(&all, &metrics, unreachable))
}

fn rows(all: &BTreeMap<String, Json>, m: &Metrics, unreachable: Vec<String>) -> View {
    let get = |name: &str, c: &str, t: &str| {
        m.get(&(name.to_string(), c.to_string(), t.to_string()))
            .copied()
    };
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
    let mut rows = Vec::new();
    for (name, c) in all {
        let kind = c["info"]["type"]
            .as_str()
            .or(c["status"]["type"].as_str())
            .unwrap_or("?");
        let tasks = c["status"]["tasks"].as_array().cloned().unwrap_or_default();
        let running = tasks.iter().filter(|t| t["state"] == "RUNNING").count();
        let mut cells: [String; 11] = Default::default();
        cells[0] = name.clone();
        cells[1] = kind.to_string();
        cells[2] = c["status"]["connector"]["state"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        cells[3] = format!("{}/{} tasks running", running, tasks.len());
        rows.push(Row {
            cells,
            connector: name.clone(),
            task: None,
            trace: false,
        });
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
            let task = t["id"].as_u64().map(|n| n as u32);
            rows.push(Row {
                cells: [
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
                ],
                connector: name.clone(),
                task,
                trace: false,
            });
            if let Some(trace) = t["trace"].as_str() {
                let first = trace.lines().next().unwrap_or("");
                let mut cells: [String; 11] = Default::default();
                cells[0] = format!("    {}", first.chars().take(120).collect::<String>());
                rows.push(Row {
                    cells,
                    connector: name.clone(),
                    task,
                    trace: true,
                });
            }
        }
    }
    View { rows, unreachable }
}

/// The view as plain text (`--once`, or output that is not a terminal).
pub fn render_text(view: &View) -> String {
    let header = Row {
        cells: COLUMNS.map(str::to_string),
        connector: String::new(),
        task: None,
        trace: false,
    };
    let all: Vec<&Row> = std::iter::once(&header).chain(view.rows.iter()).collect();
    let mut widths = [0usize; 11];
    // a trace line spans the table: it does not widen the first column
    for r in all.iter().filter(|r| !r.trace) {
        for (w, c) in widths.iter_mut().zip(r.cells.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &all {
        let line: Vec<String> = r
            .cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{:<width$}", c, width = *w))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    if view.rows.is_empty() {
        out.push_str("(no connectors)\n");
    }
    for e in &view.unreachable {
        out.push_str(&format!("metrics not available: {}\n", e));
    }
    out.trim_end().to_string()
}
