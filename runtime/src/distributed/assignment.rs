//! Which worker runs which connector and task: sticky and balanced.
//!
//! The leader computes this from the live members (from Kafka's group coordinator), the
//! connectors and their task counts (from the config topic) and the previous
//! assignment. Rules, in order:
//! 1. A unit stays with its owner while the owner is a member (stickiness).
//! 2. A unit whose owner left is held back for `scheduled.rebalance.max.delay.ms`
//!    (the owner may come back, e.g. a rolling restart), then goes to the least loaded
//!    member.
//! 3. New units go to the least loaded member.
//! 4. Members above the fair share (ceil) give units to members below it (floor), one
//!    at a time, so only what must move moves.
//!
//! Connectors and tasks are balanced separately, as in Kafka Connect.

use std::collections::{BTreeMap, BTreeSet};

/// A unit of work: a connector instance or one of its tasks.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Unit {
    Connector(String),
    Task(String, u32),
}

impl Unit {
    pub fn connector(&self) -> &str {
        match self {
            Unit::Connector(c) | Unit::Task(c, _) => c,
        }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unit::Connector(c) => write!(f, "connector {}", c),
            Unit::Task(c, t) => write!(f, "task {}-{}", c, t),
        }
    }
}

/// Units and their owners.
pub type Assignment = BTreeMap<Unit, String>;

/// Units held back because their owner left less than the delay ago.
pub struct Held {
    pub units: BTreeSet<Unit>,
}

/// Computes the next assignment. `departed` tells, for owners that are not members,
/// whether their units may be reassigned yet.
pub fn assign(
    members: &BTreeSet<String>,
    units: &BTreeSet<Unit>,
    previous: &Assignment,
    may_reassign: impl Fn(&str) -> bool,
) -> (Assignment, Held) {
    let mut next = Assignment::new();
    let mut held = BTreeSet::new();
    let mut free: Vec<Unit> = Vec::new();
    for u in units {
        match previous.get(u) {
            Some(owner) if members.contains(owner) => {
                next.insert(u.clone(), owner.clone());
            }
            Some(owner) if !may_reassign(owner) => {
                held.insert(u.clone());
            }
            _ => free.push(u.clone()),
        }
    }
    if !members.is_empty() {
        for kind in [true, false] {
            let is_kind = |u: &Unit| matches!(u, Unit::Connector(_)) == kind;
            balance(
                members,
                &mut next,
                free.iter().filter(|u| is_kind(u)).cloned().collect(),
                &held,
                kind,
            );
        }
    }
    // Held units stay recorded with their departed owner (who runs nothing now), so the
    // next computation, whenever it happens, still holds them until the delay is over
    // instead of taking them for new units.
    for u in &held {
        next.insert(u.clone(), previous[u].clone());
    }
    (next, Held { units: held })
}

fn load(
    members: &BTreeSet<String>,
    a: &Assignment,
    connectors: bool,
) -> BTreeMap<String, Vec<Unit>> {
    let mut l: BTreeMap<String, Vec<Unit>> =
        members.iter().map(|m| (m.clone(), Vec::new())).collect();
    for (u, w) in a {
        if matches!(u, Unit::Connector(_)) == connectors {
            if let Some(v) = l.get_mut(w) {
                v.push(u.clone());
            }
        }
    }
    l
}

fn balance(
    members: &BTreeSet<String>,
    a: &mut Assignment,
    free: Vec<Unit>,
    held: &BTreeSet<Unit>,
    connectors: bool,
) {
    // New and orphaned units go to the least loaded member.
    for u in free {
        let l = load(members, a, connectors);
        let target = l
            .iter()
            .min_by_key(|(w, v)| (v.len(), (*w).clone()))
            .map(|(w, _)| w.clone())
            .expect("members");
        a.insert(u, target);
    }
    // Move from members above the fair share to members below it. Held units count
    // towards the total, so the share accounts for them coming back.
    let held_count = held
        .iter()
        .filter(|u| matches!(u, Unit::Connector(_)) == connectors)
        .count();
    loop {
        let l = load(members, a, connectors);
        let total: usize = l.values().map(|v| v.len()).sum::<usize>() + held_count;
        let n = members.len();
        let ceil = total.div_ceil(n);
        let floor = total / n;
        let (max_w, max_units) = l
            .iter()
            .max_by_key(|(w, v)| (v.len(), std::cmp::Reverse((*w).clone())))
            .expect("members");
        let (min_w, min_units) = l
            .iter()
            .min_by_key(|(w, v)| (v.len(), (*w).clone()))
            .expect("members");
        if max_units.len() <= ceil && min_units.len() >= floor
            || max_units.len() <= min_units.len() + 1
        {
            break;
        }
        // Move the highest unit of the most loaded member (deterministic choice).
        let u = max_units.iter().max().expect("non-empty").clone();
        let to = min_w.clone();
        let _ = max_w;
        a.insert(u, to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(ws: &[&str]) -> BTreeSet<String> {
        ws.iter().map(|s| s.to_string()).collect()
    }
    fn tasks(c: &str, n: u32) -> BTreeSet<Unit> {
        let mut s: BTreeSet<Unit> = (0..n).map(|i| Unit::Task(c.into(), i)).collect();
        s.insert(Unit::Connector(c.into()));
        s
    }
    fn count(a: &Assignment, w: &str) -> usize {
        a.iter()
            .filter(|(u, o)| matches!(u, Unit::Task(..)) && *o == w)
            .count()
    }

    #[test]
    fn six_tasks_on_three_workers_are_two_each() {
        let m = members(&["a", "b", "c"]);
        let (a, held) = assign(&m, &tasks("x", 6), &Assignment::new(), |_| true);
        assert!(held.units.is_empty());
        for w in ["a", "b", "c"] {
            assert_eq!(count(&a, w), 2, "{:?}", a);
        }
    }

    #[test]
    fn a_fourth_worker_takes_a_share_and_only_that_moves() {
        let m3 = members(&["a", "b", "c"]);
        let units = tasks("x", 6);
        let (a3, _) = assign(&m3, &units, &Assignment::new(), |_| true);
        let m4 = members(&["a", "b", "c", "d"]);
        let (a4, _) = assign(&m4, &units, &a3, |_| true);
        let moved: Vec<_> = units.iter().filter(|u| a3.get(*u) != a4.get(*u)).collect();
        assert!(count(&a4, "d") >= 1);
        let loads: Vec<usize> = ["a", "b", "c", "d"].iter().map(|w| count(&a4, w)).collect();
        assert!(
            loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1,
            "{:?}",
            loads
        );
        // 6 tasks over 4 workers: the newcomer needs 1 or 2; nothing else moves.
        let moved_tasks = moved.iter().filter(|u| matches!(u, Unit::Task(..))).count();
        assert_eq!(
            moved_tasks,
            count(&a4, "d"),
            "only what must move moves: {:?}",
            moved
        );
        assert!(moved
            .iter()
            .all(|u| a4.get(*u).map(String::as_str) == Some("d")));
    }

    #[test]
    fn a_departed_workers_units_wait_for_the_delay_then_move() {
        let m3 = members(&["a", "b", "c"]);
        let units = tasks("x", 6);
        let (a3, _) = assign(&m3, &units, &Assignment::new(), |_| true);
        let m2 = members(&["a", "b"]);
        let (held_a, held) = assign(&m2, &units, &a3, |_| false);
        let c_units: BTreeSet<Unit> = a3
            .iter()
            .filter(|(_, w)| *w == "c")
            .map(|(u, _)| u.clone())
            .collect();
        assert_eq!(held.units, c_units, "c's units are held back");
        // Kept under their departed owner, so nobody runs them meanwhile...
        assert!(c_units
            .iter()
            .all(|u| held_a.get(u).map(String::as_str) == Some("c")));
        // ...and a second computation within the delay (another rebalance, a config
        // change) still holds them instead of taking them for new units.
        let (again, held_again) = assign(&m2, &units, &held_a, |_| false);
        assert_eq!(held_again.units, c_units);
        assert_eq!(again, held_a);
        let (after, held) = assign(&m2, &units, &held_a, |_| true);
        assert!(held.units.is_empty());
        assert_eq!(after.len(), units.len());
        assert_eq!(count(&after, "a") + count(&after, "b"), 6);
        assert_eq!(count(&after, "a"), 3);
        // a's and b's own units did not move.
        for (u, w) in &a3 {
            if w != "c" {
                assert_eq!(after.get(u), Some(w));
            }
        }
    }

    #[test]
    fn deterministic() {
        let m = members(&["w1", "w2", "w3"]);
        let mut units = tasks("x", 5);
        units.extend(tasks("y", 4));
        let (a, _) = assign(&m, &units, &Assignment::new(), |_| true);
        let (b, _) = assign(&m, &units, &Assignment::new(), |_| true);
        assert_eq!(a, b);
    }
}
