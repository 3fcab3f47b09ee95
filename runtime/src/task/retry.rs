//! How long a task retries an operation that keeps failing with a retriable error (a
//! sink's `put`, a source's `poll`): `errors.retry.timeout`, as in Connect. 0 (the
//! default) means no retries: the task fails at the first error, with the error as its
//! trace, and the worker's automatic restart (with its own backoff) takes over; -1 means
//! retry forever. Between attempts the wait doubles from `initial` up to
//! `errors.retry.delay.max.ms`, and never runs past the timeout.

use std::time::{Duration, Instant};

use super::Backoff;
use crate::errors::ErrorPolicy;

/// The retries left for one failing operation.
pub(crate) struct RetryBudget {
    /// `None`: forever.
    timeout: Option<Duration>,
    since: Option<Instant>,
    attempts: u32,
    backoff: Backoff,
}

impl RetryBudget {
    pub fn new(policy: &ErrorPolicy, initial: Duration) -> Self {
        RetryBudget {
            timeout: policy.retry_timeout,
            since: None,
            attempts: 0,
            backoff: Backoff::new(initial, policy.retry_delay_max.max(initial)),
        }
    }

    /// After a retriable failure: how long to wait before the next attempt, or `None`
    /// when `errors.retry.timeout` is spent.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let since = *self.since.get_or_insert_with(Instant::now);
        self.attempts += 1;
        let delay = self.backoff.next_delay();
        match self.timeout {
            None => Some(delay),
            Some(t) => {
                let left = t.checked_sub(since.elapsed())?;
                (!left.is_zero()).then(|| delay.min(left))
            }
        }
    }

    /// The operation succeeded: the next failure starts a new budget.
    pub fn reset(&mut self) {
        self.since = None;
        self.attempts = 0;
        self.backoff.reset();
    }

    /// For status details and traces: `attempt 3 of errors.retry.timeout=60000 ms`.
    pub fn describe(&self) -> String {
        match self.timeout {
            None => format!(
                "attempt {}, retrying forever (errors.retry.timeout=-1)",
                self.attempts
            ),
            Some(t) => format!(
                "attempt {}, errors.retry.timeout={} ms",
                self.attempts,
                t.as_millis()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(timeout_ms: i64) -> ErrorPolicy {
        ErrorPolicy {
            retry_timeout: (timeout_ms >= 0).then(|| Duration::from_millis(timeout_ms as u64)),
            retry_delay_max: Duration::from_millis(40),
            ..ErrorPolicy::default()
        }
    }

    #[test]
    fn zero_means_no_retry_and_minus_one_forever() {
        let mut none = RetryBudget::new(&policy(0), Duration::from_millis(10));
        assert_eq!(none.next_delay(), None);
        let mut forever = RetryBudget::new(&policy(-1), Duration::from_millis(10));
        for _ in 0..100 {
            assert!(forever.next_delay().is_some());
        }
        assert_eq!(forever.attempts, 100);
        assert!(forever.next_delay().unwrap() <= Duration::from_millis(40));
    }

    #[test]
    fn a_timeout_is_spent_by_time_not_attempts_and_reset_restores_it() {
        let mut b = RetryBudget::new(&policy(150), Duration::from_millis(10));
        // Measured by the clock: on a loaded machine a sleep lasts longer than asked,
        // and the budget is spent by time, so fewer delays may add up to less.
        let started = std::time::Instant::now();
        while let Some(d) = b.next_delay() {
            assert!(d <= Duration::from_millis(150));
            std::thread::sleep(d);
        }
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(140), "{:?}", waited);
        assert!(b.attempts >= 1);
        b.reset();
        assert!(b.next_delay().is_some());
    }
}
