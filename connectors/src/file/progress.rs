//! Progress of a file source's first read: what the file held when the task opened it
//! (at least [`MIN_BYTES`] still to read) is a backlog worth following. Shown in the task
//! status detail (`first read of <file>: 12.0 of 48.0 MiB (25%)`) and logged at every
//! 10 %, then once done with the time it took.

use std::path::Path;
use std::time::Instant;

use sluice_runtime::connector::StatusDetail;

/// Backlogs smaller than this are not reported.
pub const MIN_BYTES: u64 = 16 * 1024 * 1024;

/// Follows one first read.
pub struct FirstRead {
    start: u64,
    end: u64,
    next_pct: u64,
    started: Instant,
}

const MIB: f64 = 1024.0 * 1024.0;

impl FirstRead {
    /// A first read from `position` of a file of `size` bytes, if it is large enough.
    pub fn new(position: u64, size: u64) -> Option<FirstRead> {
        (size.saturating_sub(position) >= MIN_BYTES).then(|| FirstRead {
            start: position,
            end: size,
            next_pct: 10,
            started: Instant::now(),
        })
    }

    /// Reports the reader's new position; true once the first read is done.
    pub fn update(&mut self, position: u64, file: &Path, detail: &StatusDetail) -> bool {
        let total = self.end - self.start;
        let done = position.saturating_sub(self.start).min(total);
        if done >= total {
            tracing::info!(
                file = %file.display(),
                bytes = total,
                "first read of {} done: {:.1} MiB in {:.1} s",
                file.display(),
                total as f64 / MIB,
                self.started.elapsed().as_secs_f64()
            );
            detail.clear();
            return true;
        }
        let pct = done * 100 / total;
        let text = format!(
            "first read of {}: {:.1} of {:.1} MiB ({}%)",
            file.display(),
            done as f64 / MIB,
            total as f64 / MIB,
            pct
        );
        if pct >= self.next_pct {
            tracing::info!(file = %file.display(), "{}", text);
            self.next_pct = (pct / 10 + 1) * 10;
        }
        detail.set(text);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_backlogs_are_not_followed_and_large_ones_finish() {
        assert!(FirstRead::new(0, MIN_BYTES - 1).is_none());
        assert!(FirstRead::new(10, MIN_BYTES + 5).is_none());
        let mut f = FirstRead::new(0, 2 * MIN_BYTES).unwrap();
        let detail = StatusDetail::default();
        assert!(!f.update(MIN_BYTES, Path::new("/x"), &detail));
        assert_eq!(f.next_pct, 60);
        assert!(
            detail.get().unwrap().ends_with("(50%)"),
            "{:?}",
            detail.get()
        );
        assert!(f.update(2 * MIN_BYTES, Path::new("/x"), &detail));
        assert!(detail.get().is_none());
    }
}
