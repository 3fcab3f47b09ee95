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
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            rt.block_on(async {
                let _ = ended.await;
            });
            // What the task spawned and left running (a client's connection task) is
            // dropped; blocking work still running is not waited for.
            rt.shutdown_background();
        });
    if let Err(e) = thread {
        // `rt` moved into the closure that failed to spawn and was dropped with it,
        // and the task with it: the handle reports it cancelled.
        tracing::error!("cannot start a thread for task {}: {}", name, e);
    }
    join
}
