//! What the source and the sink task loops share before their first record: starting
//! the task through its factory (retrying what a retry can fix), waiting while
//! watching for a stop, and creating the dead letter queue topic.

use std::future::Future;
use std::time::Duration;

use rdkafka::ClientConfig;
use tokio::sync::watch;

use super::{Backoff, TaskFailure, TaskId, TaskTarget};
use crate::connector::{ConnectError, StatusDetail};
use crate::kafka::{ensure_topic, TopicSpec};

/// Starts a task with `start` (its plugin's factory). A retriable error (the outside
/// system is down) is retried with backoff up to `retry_delay_max` between attempts,
/// shown in the task's status detail meanwhile; any other error fails the task.
/// Returns `None` if the task was told to stop before it started.
pub(crate) async fn start_with_retry<T, Fut>(
    id: &TaskId,
    detail: &StatusDetail,
    control: &mut watch::Receiver<TaskTarget>,
    retry_delay_max: Duration,
    mut start: impl FnMut() -> Fut,
) -> Result<Option<T>, TaskFailure>
where
    Fut: Future<Output = Result<T, ConnectError>>,
{
    let mut backoff = Backoff::new(Duration::from_millis(500), retry_delay_max);
    loop {
        match start().await {
            Ok(task) => {
                detail.clear();
                return Ok(Some(task));
            }
            Err(e) if e.is_retriable() => {
                let delay = backoff.next_delay();
                detail.set(format!("starting failed, retrying in {:?}: {}", delay, e));
                tracing::warn!(task = %id, "start failed, retrying in {:?}: {}", delay, e);
                if wait_or_stop(control, delay).await {
                    return Ok(None);
                }
            }
            Err(e) => return Err(format!("task {} failed to start: {}", id, e).into()),
        }
    }
}

/// Sleeps `delay`; returns true if the task was told to stop meanwhile.
pub(crate) async fn wait_or_stop(
    control: &mut watch::Receiver<TaskTarget>,
    delay: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        if *control.borrow() == TaskTarget::Stopped {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return false,
            r = control.changed() => if r.is_err() { return true },
        }
    }
}

/// Creates the dead letter queue topic if it is missing, with at most as many
/// replicas as the cluster has brokers. A retriable error (Kafka unreachable) is
/// retried like a task start; any other fails the task.
pub(crate) async fn ensure_dlq_with_retry(
    id: &TaskId,
    detail: &StatusDetail,
    control: &mut watch::Receiver<TaskTarget>,
    retry_delay_max: Duration,
    admin: &ClientConfig,
    spec: TopicSpec,
) -> Result<bool, TaskFailure> {
    let created = start_with_retry(id, detail, control, retry_delay_max, || {
        ensure_dlq(admin, spec.clone())
    })
    .await?;
    Ok(created.is_some())
}

async fn ensure_dlq(admin: &ClientConfig, spec: TopicSpec) -> Result<(), ConnectError> {
    let mut spec = spec;
    if let Ok(c) = admin.create::<rdkafka::consumer::BaseConsumer>() {
        let name = spec.name.clone();
        let n = tokio::task::spawn_blocking(move || {
            rdkafka::consumer::Consumer::fetch_metadata(&c, Some(&name), Duration::from_secs(10))
                .ok()
                .map(|m| m.brokers().len())
        })
        .await
        .ok()
        .flatten();
        if let Some(n) = n {
            if n > 0 && spec.replication > n as i32 {
                spec.replication = n as i32;
            }
        }
    }
    ensure_topic(admin, &spec).await.map_err(|e| {
        e.context(format!(
            "Could not initialize dead letter queue with topic={}",
            spec.name
        ))
    })
}
