//! `GET /metrics` in Prometheus text format. Names follow Kafka Connect's metrics as a
//! JMX exporter maps them: `kafka_connect_<group>_<metric>` with dashes as underscores
//! (`source-record-poll-total` in `source-task-metrics` becomes
//! `kafka_connect_source_task_source_record_poll_total`), labelled `connector` and
//! `task`. Rates are per second over the last 30 seconds.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::{RestState, RouteWithSlash};
use crate::connector::ConnectorType;
use crate::herder::{Herder, MetricsSnapshot};
use crate::status::State as TaskState;
use crate::task::TaskMetrics;

pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new().route_both("/metrics", get(metrics))
}

const WINDOW: Duration = Duration::from_secs(30);
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Samples counters so rates can be computed over a window.
#[derive(Default)]
pub struct RateSampler {
    samples: Mutex<HashMap<SampleKey, VecDeque<(Instant, u64)>>>,
}

/// Task id and counter name.
type SampleKey = (String, &'static str);

impl RateSampler {
    fn record(&self, key: (String, &'static str), now: Instant, v: u64) {
        let mut g = self.samples.lock().unwrap();
        let q = g.entry(key).or_default();
        q.push_back((now, v));
        while q.len() > 2
            && q.front()
                .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
        {
            q.pop_front();
        }
    }

    /// Per-second rate of a counter over the window, up to `now` with value `v`.
    fn rate(&self, key: &(String, &'static str), now: Instant, v: u64) -> f64 {
        let g = self.samples.lock().unwrap();
        match g.get(key).and_then(|q| q.front()) {
            Some((t, first)) if now > *t && v >= *first => {
                (v - first) as f64 / now.duration_since(*t).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    fn sample(&self, snap: &MetricsSnapshot) {
        let now = Instant::now();
        for t in &snap.tasks {
            for (name, counter) in rate_counters(&t.metrics) {
                self.record((t.id.to_string(), name), now, counter);
            }
        }
    }

    /// Samples every few seconds for as long as the herder lives.
    pub fn spawn(self: &Arc<Self>, herder: Arc<dyn Herder>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(s) = me.upgrade() else { return };
                s.sample(&herder.metrics().await);
                drop(s);
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        });
    }
}

fn rate_counters(m: &TaskMetrics) -> [(&'static str, u64); 4] {
    [
        (
            "source-record-poll",
            TaskMetrics::get(&m.source_record_poll),
        ),
        (
            "source-record-write",
            TaskMetrics::get(&m.source_record_write),
        ),
        ("sink-record-read", TaskMetrics::get(&m.sink_record_read)),
        ("sink-record-send", TaskMetrics::get(&m.sink_record_send)),
    ]
}

/// Metric families in first-seen order, each with all its samples (the text format
/// wants a family's samples together).
#[derive(Default)]
struct Out {
    order: Vec<String>,
    families: HashMap<String, (String, String, Vec<String>)>,
}

impl Out {
    fn metric(&mut self, name: &str, kind: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        if !self.families.contains_key(name) {
            self.order.push(name.to_string());
            self.families.insert(
                name.to_string(),
                (kind.to_string(), help.to_string(), Vec::new()),
            );
        }
        let l: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{}=\"{}\"", k, escape(v)))
            .collect();
        let line = if l.is_empty() {
            format!("{} {}", name, fmt(value))
        } else {
            format!("{}{{{}}} {}", name, l.join(","), fmt(value))
        };
        self.families
            .get_mut(name)
            .expect("inserted above")
            .2
            .push(line);
    }

    fn text(self) -> String {
        let mut text = String::new();
        for name in &self.order {
            let (kind, help, lines) = &self.families[name];
            let _ = writeln!(text, "# HELP {} {}", name, help);
            let _ = writeln!(text, "# TYPE {} {}", name, kind);
            for l in lines {
                let _ = writeln!(text, "{}", l);
            }
        }
        text
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{}", v)
    }
}

fn state_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Unassigned => "unassigned",
        TaskState::Running => "running",
        TaskState::Paused => "paused",
        TaskState::Stopped => "stopped",
        TaskState::Failed => "failed",
        TaskState::Restarting => "restarting",
    }
}

/// Renders a snapshot in Prometheus text format.
pub fn render(snap: &MetricsSnapshot, rates: &RateSampler) -> String {
    let mut o = Out::default();
    let now = Instant::now();
    let g = |c: &std::sync::atomic::AtomicU64| TaskMetrics::get(c) as f64;
    for t in &snap.tasks {
        let task = t.id.task.to_string();
        let labels = [
            ("connector", t.id.connector.as_str()),
            ("task", task.as_str()),
        ];
        let m = &t.metrics;
        let id = t.id.to_string();
        let rate = |name: &'static str, v: u64| rates.rate(&(id.clone(), name), now, v);
        match t.kind {
            ConnectorType::Source => {
                let poll = TaskMetrics::get(&m.source_record_poll);
                let write = TaskMetrics::get(&m.source_record_write);
                o.metric("kafka_connect_source_task_source_record_poll_total", "counter", "The total number of records produced/polled (before transformation) by this task.", &labels, poll as f64);
                o.metric("kafka_connect_source_task_source_record_poll_rate", "gauge", "The average per-second number of records produced/polled (before transformation) by this task, over the last 30 s.", &labels, rate("source-record-poll", poll));
                o.metric("kafka_connect_source_task_source_record_write_total", "counter", "The number of records output from the transformations and written to Kafka by this task.", &labels, write as f64);
                o.metric("kafka_connect_source_task_source_record_write_rate", "gauge", "The average per-second number of records written to Kafka by this task, over the last 30 s.", &labels, rate("source-record-write", write));
                o.metric("kafka_connect_source_task_source_record_active_count", "gauge", "The number of records that have been produced by this task but not yet completely written to Kafka.", &labels, g(&m.source_record_active));
                let batches = g(&m.batches).max(1.0);
                o.metric("kafka_connect_source_task_poll_batch_avg_time_ms", "gauge", "The average time in milliseconds taken by this task to poll for a batch of source records.", &labels, g(&m.batch_time_us) / batches / 1000.0);
                o.metric("kafka_connect_source_task_poll_batch_max_time_ms", "gauge", "The maximum time in milliseconds taken by this task to poll for a batch of source records.", &labels, g(&m.batch_time_max_us) / 1000.0);
                if m.queue_backlog_known
                    .load(std::sync::atomic::Ordering::Relaxed)
                {
                    o.metric("sluice_source_task_queue_backlog", "gauge", "Messages waiting in the queue this task consumes (ready, not yet delivered to it; RabbitMQ's message count, updated every 5 s).", &labels, g(&m.queue_backlog));
                }
            }
            ConnectorType::Sink => {
                let read = TaskMetrics::get(&m.sink_record_read);
                let send = TaskMetrics::get(&m.sink_record_send);
                o.metric(
                    "kafka_connect_sink_task_sink_record_read_total",
                    "counter",
                    "The total number of records read from Kafka by this task.",
                    &labels,
                    read as f64,
                );
                o.metric("kafka_connect_sink_task_sink_record_read_rate", "gauge", "The average per-second number of records read from Kafka by this task, over the last 30 s.", &labels, rate("sink-record-read", read));
                o.metric("kafka_connect_sink_task_sink_record_send_total", "counter", "The total number of records output from the transformations and sent/put to this task.", &labels, send as f64);
                o.metric("kafka_connect_sink_task_sink_record_send_rate", "gauge", "The average per-second number of records sent/put to this task, over the last 30 s.", &labels, rate("sink-record-send", send));
                o.metric(
                    "kafka_connect_sink_task_partition_count",
                    "gauge",
                    "The number of topic partitions assigned to this task.",
                    &labels,
                    g(&m.partition_count),
                );
                o.metric(
                    "sluice_sink_task_records_lag",
                    "gauge",
                    "Records in this task's partitions not yet delivered and committed (end offset - committed offset, summed over its partitions; updated every 5 s).",
                    &labels,
                    g(&m.records_lag),
                );
                o.metric(
                    "sluice_sink_task_records_lag_max",
                    "gauge",
                    "The largest lag of one of this task's partitions (the consumer's records-lag-max).",
                    &labels,
                    g(&m.records_lag_max),
                );
                let batches = g(&m.batches).max(1.0);
                o.metric(
                    "kafka_connect_sink_task_put_batch_avg_time_ms",
                    "gauge",
                    "The average time taken by this task to put a batch of sink records.",
                    &labels,
                    g(&m.batch_time_us) / batches / 1000.0,
                );
                o.metric(
                    "kafka_connect_sink_task_put_batch_max_time_ms",
                    "gauge",
                    "The maximum time taken by this task to put a batch of sink records.",
                    &labels,
                    g(&m.batch_time_max_us) / 1000.0,
                );
                o.metric("kafka_connect_sink_task_offset_commit_completion_total", "counter", "The total number of offset commit completions that were completed successfully.", &labels, g(&m.offset_commit_success));
                o.metric("kafka_connect_sink_task_offset_commit_skip_total", "counter", "The total number of offset commits that were skipped: the partitions were revoked before the task flushed, or the commit on revocation failed. The records since the last commit are delivered again.", &labels, g(&m.offset_commit_skip));
            }
        }
        let batches = g(&m.batches);
        o.metric(
            "kafka_connect_connector_task_batch_size_avg",
            "gauge",
            "The average size of the batches processed by the connector.",
            &labels,
            if batches > 0.0 {
                g(&m.batch_records) / batches
            } else {
                0.0
            },
        );
        o.metric(
            "kafka_connect_connector_task_batch_size_max",
            "gauge",
            "The maximum size of the batches processed by the connector.",
            &labels,
            g(&m.batch_size_max),
        );
        let commits = g(&m.offset_commit_success) + g(&m.offset_commit_failure);
        o.metric(
            "kafka_connect_connector_task_offset_commit_avg_time_ms",
            "gauge",
            "The average time in milliseconds taken by this task to commit offsets.",
            &labels,
            if commits > 0.0 {
                g(&m.offset_commit_time_us) / commits / 1000.0
            } else {
                0.0
            },
        );
        o.metric(
            "kafka_connect_connector_task_offset_commit_max_time_ms",
            "gauge",
            "The maximum time in milliseconds taken by this task to commit offsets.",
            &labels,
            g(&m.offset_commit_time_max_us) / 1000.0,
        );
        o.metric(
            "kafka_connect_connector_task_offset_commit_success_percentage",
            "gauge",
            "The average percentage of this task's offset commit attempts that succeeded.",
            &labels,
            if commits > 0.0 {
                g(&m.offset_commit_success) / commits
            } else {
                0.0
            },
        );
        o.metric(
            "kafka_connect_connector_task_offset_commit_failure_percentage",
            "gauge",
            "The average percentage of this task's offset commit attempts that failed.",
            &labels,
            if commits > 0.0 {
                g(&m.offset_commit_failure) / commits
            } else {
                0.0
            },
        );
        let status = state_name(t.status.state);
        let mut sl = labels.to_vec();
        sl.push(("status", status));
        o.metric(
            "kafka_connect_connector_task_status",
            "gauge",
            "The status of the connector task (1 for the current status).",
            &sl,
            1.0,
        );
        o.metric(
            "kafka_connect_task_error_total_record_errors",
            "counter",
            "The number of record processing errors in this task.",
            &labels,
            g(&m.record_errors),
        );
        o.metric(
            "kafka_connect_task_error_total_record_failures",
            "counter",
            "The number of record processing failures in this task.",
            &labels,
            g(&m.record_failures),
        );
        o.metric(
            "kafka_connect_task_error_total_records_skipped",
            "counter",
            "The number of records skipped due to errors.",
            &labels,
            g(&m.records_skipped),
        );
        o.metric(
            "kafka_connect_task_error_total_retries",
            "counter",
            "The number of operations retried.",
            &labels,
            g(&m.retries),
        );
        o.metric(
            "kafka_connect_task_error_total_errors_logged",
            "counter",
            "The number of errors that were logged.",
            &labels,
            g(&m.errors_logged),
        );
        o.metric(
            "kafka_connect_task_error_deadletterqueue_produce_requests",
            "counter",
            "The number of attempted writes to the dead letter queue.",
            &labels,
            g(&m.dlq_produce_requests),
        );
        o.metric(
            "kafka_connect_task_error_deadletterqueue_produce_failures",
            "counter",
            "The number of failed writes to the dead letter queue.",
            &labels,
            g(&m.dlq_produce_failures),
        );
    }
    o.metric(
        "kafka_connect_worker_connector_count",
        "gauge",
        "The number of connectors run in this worker.",
        &[],
        snap.connectors.len() as f64,
    );
    o.metric(
        "kafka_connect_worker_task_count",
        "gauge",
        "The number of tasks run in this worker.",
        &[],
        snap.tasks.len() as f64,
    );
    for c in &snap.connectors {
        let labels = [("connector", c.name.as_str())];
        o.metric(
            "kafka_connect_worker_connector_total_task_count",
            "gauge",
            "The number of tasks of the connector on the worker.",
            &labels,
            c.tasks.len() as f64,
        );
        for (state, name) in [
            (
                TaskState::Running,
                "kafka_connect_worker_connector_running_task_count",
            ),
            (
                TaskState::Paused,
                "kafka_connect_worker_connector_paused_task_count",
            ),
            (
                TaskState::Failed,
                "kafka_connect_worker_connector_failed_task_count",
            ),
            (
                TaskState::Unassigned,
                "kafka_connect_worker_connector_unassigned_task_count",
            ),
            (
                TaskState::Restarting,
                "kafka_connect_worker_connector_restarting_task_count",
            ),
        ] {
            let n = c.tasks.iter().filter(|(_, s)| s.state == state).count();
            o.metric(
                name,
                "gauge",
                &format!(
                    "The number of {} tasks of the connector on the worker.",
                    state_name(state)
                ),
                &labels,
                n as f64,
            );
        }
        let mut sl = labels.to_vec();
        sl.push(("status", state_name(c.connector.state)));
        o.metric(
            "kafka_connect_connector_status",
            "gauge",
            "The status of the connector (1 for the current status).",
            &sl,
            1.0,
        );
    }
    o.text()
}

async fn metrics(State(st): State<Arc<RestState>>) -> impl IntoResponse {
    let snap = st.herder.metrics().await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&snap, &st.rates),
    )
}
