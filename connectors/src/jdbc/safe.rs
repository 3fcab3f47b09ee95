//! Safe mode: never skip a row that a long transaction commits late.
//!
//! Incrementing and timestamp modes read `key > last offset`. A transaction that took
//! its id (or its `now()` timestamp) early and commits late makes a row appear *below*
//! an offset already stored: plain polling skips it forever.
//!
//! Safe mode publishes a key range only once it is *complete*. Each pass first takes
//! a watermark, in two statements:
//!
//! 1. `upto`: the largest id committed now (`max(id)`), or the database clock
//!    (`clock_timestamp()`) for timestamps;
//! 2. `running`: every transaction open in the database right after (from
//!    `pg_stat_activity`, by pid, backend start and transaction start, plus prepared
//!    transactions), ignoring Sluice's own read-only sessions.
//!
//! Assumption (documented): keys are assigned by the database inside the writing
//! transaction and grow with time: a sequence (`nextval`, not `CACHE` > 1) or
//! `now()` / `clock_timestamp()` / `CURRENT_TIMESTAMP` defaults or triggers.
//!
//! Claim: once none of `running` is still open, every row with key <= `upto` (ids) or
//! key < `upto` (timestamps) that will ever be committed is visible. Proof: such a row
//! got its key before `upto` was taken (keys grow with time), so its transaction had
//! started before statement 2 ran. At statement 2 it was either finished (committed,
//! hence visible to any later snapshot; or aborted, hence never visible) or open, and
//! then it is in `running`. When every member of `running` has ended, so has it.
//!
//! The released bound is the largest `upto` whose `running` set has fully ended; each
//! pass reads only up to it. A watermark with nobody running is released at once, so
//! on a quiet database there is no delay; with a steady stream of short transactions
//! publication lags by one poll; a transaction that stays open holds publication of
//! newer rows back until it ends (rows are delayed, never lost).

use std::collections::{HashSet, VecDeque};

/// One watermark: keys up to `upto` are complete once `running` have all ended.
#[derive(Debug, Clone)]
struct Watermark {
    upto: i64,
    running: HashSet<String>,
}

/// The released bound of one table, and watermarks waiting for transactions to end.
#[derive(Debug, Default)]
pub struct SafeState {
    pending: VecDeque<Watermark>,
    released: Option<i64>,
}

/// Watermarks kept per table while a transaction stays open (one per pass).
const MAX_PENDING: usize = 64;

impl SafeState {
    /// Records a new watermark (`upto`, taken before `running` was read) and returns the
    /// released bound, if any.
    pub fn observe(&mut self, upto: Option<i64>, running: &HashSet<String>) -> Option<i64> {
        if let Some(upto) = upto {
            if self.released.is_none_or(|r| upto > r) {
                self.pending.push_back(Watermark {
                    upto,
                    running: running.clone(),
                });
            }
        }
        let mut best = self.released;
        self.pending.retain(|w| {
            if w.running.is_disjoint(running) {
                best = Some(best.map_or(w.upto, |b| b.max(w.upto)));
                false
            } else {
                true
            }
        });
        self.released = best;
        if let Some(b) = best {
            self.pending.retain(|w| w.upto > b);
        }
        // Dropping a watermark only loses a chance to release earlier, never safety.
        while self.pending.len() > MAX_PENDING {
            self.pending.remove(MAX_PENDING / 2);
        }
        self.released
    }

    /// The bound released so far.
    pub fn released(&self) -> Option<i64> {
        self.released
    }
}

/// Transactions open in this database other than Sluice's own sessions: one string
/// per transaction (pid / backend start / transaction start; prepared: gid).
pub const RUNNING_SQL: &str =
    "SELECT pid::text || '/' || coalesce(backend_start::text, '') || '/' || xact_start::text \
     FROM pg_stat_activity \
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL \
       AND application_name IS DISTINCT FROM 'sluice-jdbc-source' \
     UNION ALL SELECT 'prepared/' || gid || '/' || prepared::text FROM pg_prepared_xacts \
     WHERE database = current_database()";

/// Can this session see other users' transactions (needed for safe mode)?
pub const PRIVILEGE_SQL: &str =
    "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
     OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')";

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[&str]) -> HashSet<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn released_only_when_every_running_transaction_ended() {
        let mut s = SafeState::default();
        assert_eq!(s.observe(Some(10), &set(&[])), Some(10));
        // A long transaction is open: 20 waits.
        assert_eq!(s.observe(Some(20), &set(&["a"])), Some(10));
        // b started too; a still open: neither 20 nor 30 released.
        assert_eq!(s.observe(Some(30), &set(&["a", "b"])), Some(10));
        // a ended, b still open: 20 (needed only a) is released, 30 is not.
        assert_eq!(s.observe(Some(35), &set(&["b"])), Some(20));
        // b ended: everything observed so far is complete.
        assert_eq!(s.observe(Some(40), &set(&[])), Some(40));
        assert_eq!(s.released(), Some(40));
        // No data yet (upto None) keeps the bound.
        assert_eq!(s.observe(None, &set(&["c"])), Some(40));
    }

    #[test]
    fn pending_watermarks_stay_bounded() {
        let mut s = SafeState::default();
        for i in 0..1000 {
            s.observe(Some(i), &set(&["long"]));
        }
        assert!(s.pending.len() <= MAX_PENDING);
        assert_eq!(s.released(), None);
        assert_eq!(s.observe(Some(1000), &set(&[])), Some(1000));
    }
}
