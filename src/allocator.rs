//! The memory allocator: mimalloc instead of glibc's malloc.
//!
//! Records are often built on one thread and freed on another (a source's reader task
//! and the task loop that converts and sends; a sink's consumer thread and its task).
//! glibc's per-thread caches do not serve that pattern: nearly every such `malloc`
//! and `free` took the locked slow path, a fifth of the JDBC source's CPU
//! (docs/jdbc-bench.md). mimalloc frees such blocks to their owner's page without a
//! lock: 16 % less CPU per row for the JDBC source in the same runs.
//!
//! Two settings keep its memory nearer glibc's: no transparent huge pages (the
//! `no_thp` build feature; with them an idle worker took 25 MiB instead of 15), and
//! freed memory returned to the system after 100 ms instead of a second (`purge_delay`;
//! a sink lagging 1M records peaked at 106 MiB instead of 119, glibc 76). Returning it
//! at once (0 or 10 ms) kept that peak at 86 MiB but cost the Kafka → file sink a
//! quarter more CPU: its batch buffers were given back and faulted in again over and
//! over. `MIMALLOC_PURGE_DELAY` in the environment still wins.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_option_set, mi_option_t, mi_realloc,
    mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};

#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

/// Every block mimalloc hands out is aligned to a machine word (its size classes are
/// multiples of one); a layout that asks for no more takes the plain entry points.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc as Rust's allocator. The `mimalloc` crate's own `MiMalloc` passes every
/// request through `mi_malloc_aligned`, which costs about 50 instructions more per
/// allocation than `mi_malloc` (callgrind, JDBC source: 300 per row of 11,450); most
/// of Rust's requests ask for no more than a word's alignment.
struct Mimalloc;

// SAFETY: each method forwards to the mimalloc function for the layout's alignment:
// the plain ones only when mimalloc's word alignment covers it, the `_aligned` ones
// otherwise; `mi_free` and `mi_realloc` accept blocks from either.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi_malloc(layout.size()) as *mut u8
        } else {
            mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            mi_zalloc(layout.size()) as *mut u8
        } else {
            mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi_free(ptr as *mut c_void)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

/// `mi_option_purge_delay` in mimalloc.h (the crate names no constant for it).
const PURGE_DELAY: mi_option_t = 15;

/// Milliseconds before freed memory goes back to the system.
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Applies Sluice's allocator settings; call first thing in `main`.
pub fn configure() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an option value; mimalloc reads options atomically.
        unsafe { mi_option_set(PURGE_DELAY, PURGE_DELAY_MS) };
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
    fn blocks_have_the_alignment_their_layout_asks_for() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 7, 8, 24, 40, 100, 1000, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero layout; the block is freed with the same layout.
                unsafe {
                    let p = GLOBAL.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size}, align {align}");
                    p.write_bytes(0xab, size);
                    let q = GLOBAL.realloc(p, layout, size * 3);
                    assert_eq!(q as usize % align, 0, "realloc: size {size}, align {align}");
                    assert_eq!(*q.add(size - 1), 0xab, "realloc keeps the contents");
                    GLOBAL.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = GLOBAL.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    GLOBAL.dealloc(z, layout);
                }
            }
        }
    }

    #[test]
    fn the_option_set_is_mimallocs_purge_delay_and_becomes_100_ms() {
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
            assert_eq!(purge_delay(), 100);
        }
    }
}
