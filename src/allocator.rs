//! The memory allocator: mimalloc instead of glibc's malloc.
//!
//! Records are often built on one thread and freed on another (a source's reader task
//! and the task loop that converts and sends; a sink's consumer thread and its task).
//! glibc's per-thread caches do not serve that pattern: nearly every such `malloc`
//! and `free` took the locked slow path, a fifth of the JDBC source's CPU
//! (docs/jdbc-bench.md). mimalloc frees such blocks to their owner's page without a
//! lock: 16 % less CPU per row for the JDBC source in the same runs.
//!
//! Two settings keep its memory close to glibc's: no transparent huge pages (the
//! `no_thp` build feature; with them an idle worker took 25 MiB instead of 15), and
//! freed memory returned to the system at once instead of after a second
//! (`purge_delay` 0; a sink lagging 1M records peaked at 119 MiB instead of 86).
//! `MIMALLOC_PURGE_DELAY` in the environment still wins.

use libmimalloc_sys::{mi_option_set, mi_option_t};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (the crate names no constant for it).
const PURGE_DELAY: mi_option_t = 15;

/// Applies Sluice's allocator settings; call first thing in `main`.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an option value; mimalloc reads options atomically.
        unsafe { mi_option_set(PURGE_DELAY, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The purge delay in force, in milliseconds.
    fn purge_delay() -> i64 {
        // SAFETY: reads an option value.
        unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) as i64 }
    }

    #[test]
    fn the_option_set_is_mimallocs_purge_delay_and_becomes_zero() {
        // mimalloc's default purge delay is 1 s: a wrong option number would show
        // another option's value here (tests do not call `configure`).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(
                purge_delay(),
                1000,
                "option {} is not purge_delay",
                PURGE_DELAY
            );
        }
        configure();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(purge_delay(), 0);
        }
    }
}
