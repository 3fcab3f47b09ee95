//! Progress of long work a task does before it catches up (a large file's first read, a
//! table's first snapshot): shown in the task's status detail
//! (`first read of /data/app.log: 12.0 of 48.0 MiB (25%)`), so the REST API, the console
//! and `sluice top` show it, and logged at every 10 %, then once done with the time it
//! took.

use std::time::Instant;

use super::StatusDetail;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Shown in MiB.
    Bytes,
    /// Shown as a count of rows; the total is an estimate (`~`).
    EstimatedRows,
}

/// Follows one piece of long work from `start` to `end` (in its unit).
#[derive(Debug)]
pub struct Progress {
    what: String,
    unit: ProgressUnit,
    start: u64,
    end: u64,
    next_pct: u64,
    started: Instant,
}

const MIB: f64 = 1024.0 * 1024.0;

impl Progress {
    /// Work named `what` (e.g. `first read of /data/app.log`) from `start` to `end`, if
    /// at least `min` is left to do: smaller work is not reported.
    pub fn new(what: String, unit: ProgressUnit, start: u64, end: u64, min: u64) -> Option<Self> {
        (end.saturating_sub(start) >= min.max(1)).then(|| Progress {
            what,
            unit,
            start,
            end,
            next_pct: 10,
            started: Instant::now(),
        })
    }

    fn amount(&self, v: u64) -> String {
        match self.unit {
            ProgressUnit::Bytes => format!("{:.1}", v as f64 / MIB),
            ProgressUnit::EstimatedRows => v.to_string(),
        }
    }

    fn of_total(&self, done: u64, total: u64) -> String {
        match self.unit {
            ProgressUnit::Bytes => format!("{} of {} MiB", self.amount(done), self.amount(total)),
            ProgressUnit::EstimatedRows => format!("{} of ~{} rows", done, total),
        }
    }

    /// Reports the work's new position; true once it is done (the detail is cleared
    /// then). Estimated totals can be passed: the work is done when [`finish`] is
    /// called, and the percentage stays below 100 until then.
    ///
    /// [`finish`]: Progress::finish
    pub fn update(&mut self, position: u64, detail: &StatusDetail) -> bool {
        let total = self.end - self.start;
        let done = position.saturating_sub(self.start);
        if done >= total && self.unit == ProgressUnit::Bytes {
            self.finish(position, detail);
            return true;
        }
        let pct = (done * 100 / total).min(99);
        let text = format!("{}: {} ({}%)", self.what, self.of_total(done, total), pct);
        if pct >= self.next_pct {
            tracing::info!("{}", text);
            self.next_pct = (pct / 10 + 1) * 10;
        }
        detail.set(text);
        false
    }

    /// The work is done at `position`: logs how long it took and clears the detail.
    pub fn finish(&self, position: u64, detail: &StatusDetail) {
        let done = position.saturating_sub(self.start);
        let amount = match self.unit {
            ProgressUnit::Bytes => format!("{} MiB", self.amount(done)),
            ProgressUnit::EstimatedRows => format!("{} rows", done),
        };
        tracing::info!(
            "{} done: {} in {:.1} s",
            self.what,
            amount,
            self.started.elapsed().as_secs_f64()
        );
        detail.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_work_is_not_followed_and_large_work_finishes() {
        let min = 16 * 1024 * 1024;
        let p = |start, end| {
            Progress::new(
                "first read of /x".into(),
                ProgressUnit::Bytes,
                start,
                end,
                min,
            )
        };
        assert!(p(0, min - 1).is_none());
        assert!(p(10, min + 5).is_none());
        let mut f = p(0, 2 * min).unwrap();
        let detail = StatusDetail::default();
        assert!(!f.update(min, &detail));
        assert_eq!(f.next_pct, 60);
        assert_eq!(
            detail.get().unwrap(),
            "first read of /x: 16.0 of 32.0 MiB (50%)"
        );
        assert!(f.update(2 * min, &detail));
        assert!(detail.get().is_none());
    }

    #[test]
    fn estimated_rows_stay_below_100_until_finished() {
        let detail = StatusDetail::default();
        let mut s = Progress::new(
            "first snapshot of public.t".into(),
            ProgressUnit::EstimatedRows,
            0,
            1000,
            100,
        )
        .unwrap();
        assert!(!s.update(250, &detail));
        assert_eq!(
            detail.get().unwrap(),
            "first snapshot of public.t: 250 of ~1000 rows (25%)"
        );
        // more rows than the estimate: still running, 99 %
        assert!(!s.update(1500, &detail));
        assert!(detail.get().unwrap().ends_with("(99%)"));
        s.finish(1600, &detail);
        assert!(detail.get().is_none());
    }
}
