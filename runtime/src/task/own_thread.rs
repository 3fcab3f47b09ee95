//! Each task runs on a thread of its own, in a single-threaded Tokio runtime, as Kafka
//! Connect gives each task a thread.
//!
//! A task is a chain of futures that hand records to each other: a connector's client
//! connection task, the connector's reader, the task loop, the producer's delivery
//! reports. On the worker's shared multi-threaded runtime those hand-overs woke
//! futures on other threads (a futex wake-up and a context switch each), and the
//! thread it woke competed for the cores with the database or broker on the same
//! machine. On one thread a hand-over is a queue push: the 1,000,000-row JDBC source
//! took 1.28–1.66 µs of CPU per row instead of 1.46–2.25 (`docs/jdbc-bench.md`).
//! Tasks still run in parallel, one thread each; librdkafka keeps its own threads.
//!
//! Whatever the task spawns (`tokio::spawn`) runs on its thread too, and ends with it.

use std::future::Future;

use tokio::task::JoinHandle;

/// Spawns `task` on a new thread named `name` with a runtime of its own. The handle
/// is awaited, checked and aborted like any Tokio task's. When the thread or runtime
/// cannot be had (out of threads), the task runs on the caller's runtime instead.
pub fn spawn_on_own_thread<F>(name: String, task: F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("cannot build a runtime for task thread {}: {}; the task runs on the worker's runtime", name, e);
            return tokio::spawn(task);
        }
    };
    // The thread drives its runtime until the task ends or is aborted: either drops
    // `done`, which ends `block_on`.
    let (done, ended) = tokio::sync::oneshot::channel::<()>();
    let join = rt.spawn(async move {
        let _done = done;
        task.await;
    });
    let rt = Background(Some(rt));
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            if let Some(r) = &rt.0 {
                r.block_on(async {
                    let _ = ended.await;
                });
            }
        });
    if let Err(e) = thread {
        // The runtime went with the closure that could not start, and the task with
        // it: the handle reports it cancelled.
        tracing::error!("cannot start a thread for task {}: {}", name, e);
    }
    join
}

/// A task's runtime, shut down without waiting when dropped: what the task spawned
/// and left running (a client's connection task) is dropped, blocking work still
/// running is not waited for. Unlike a plain drop, this may happen in async code (the
/// caller's, when the thread could not start).
struct Background(Option<tokio::runtime::Runtime>);

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_runtime_can_be_dropped_in_async_code() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let join = rt.spawn(std::future::pending::<()>());
        drop(Background(Some(rt)));
        assert!(join.await.unwrap_err().is_cancelled());
    }

    #[tokio::test]
    async fn the_handle_reports_the_end_and_an_abort() {
        let done = spawn_on_own_thread("t-done".into(), async {});
        done.await.unwrap();
        let stuck = spawn_on_own_thread("t-stuck".into(), std::future::pending());
        stuck.abort();
        assert!(stuck.await.unwrap_err().is_cancelled());
    }
}
