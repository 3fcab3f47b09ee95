//! What a worker of the cluster should do next, decided without doing it: a pure
//! function of what runs here, what the config topic wants, the statuses and the group
//! members. The herder executes the [`Plan`] (stops first, so a unit never runs on two
//! workers at once).
//!
//! Rules:
//! 1. A worker out of the group (or shutting down) stops everything it runs.
//! 2. It stops what is no longer assigned to it, and what must restart because its
//!    config changed (a task restarts when its own or its connector's config changed).
//! 3. It applies target-state changes (pause, resume) to what keeps running.
//! 4. Once the leader's latest assignment lists it as a member, it starts what is
//!    assigned to it once the previous owner let go: the previous owner left (per the
//!    leader's latest assignment; with no previous owner on record, the status's
//!    writer left), or the unit's status, written at or after the assignment version
//!    that gave the unit to this worker, is an UNASSIGNED or this worker's own (or, for a unit nobody else
//!    held, any status of this worker's own). A unit with no status yet is free only if
//!    nobody held it before (a new unit handed over at once may already run on its
//!    first owner, whose RUNNING is not read yet). An older status proves nothing: a worker
//!    restarted under the same id may have run the unit again since it wrote it (on
//!    the way down), and another may have started it since without its status read.
//! 5. It carries out restart requests read since the last round, for units that keep
//!    running here (`only_failed`: FAILED ones only).
//! 6. It disowns what another member now holds and this worker does not run, when the
//!    unit's status is still this worker's and older than that hand-over (or not
//!    UNASSIGNED), or the unit was handed over from this worker and no status is as new
//!    as the hand-over (a status of a worker that left counts as none): it writes a fresh UNASSIGNED, which rule 4 on the new owner
//!    waits for.
//!    Without it a unit this worker stopped before the hand-over (shutdown, fencing,
//!    STOPPED) would wait forever.

use std::collections::{BTreeMap, BTreeSet};

use super::assignment::Unit;
use super::membership::Membership;
use super::records::StatusValue;
use super::state::{ConfigState, RestartRequest, StatusState};
use crate::config::files::TargetState;
use crate::config::RawConfig;
use crate::status::State;

/// A connector instance running here, as the plan sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningConnector {
    /// The config it was started with.
    pub raw: RawConfig,
    pub target: TargetState,
    pub failed: bool,
}

/// A task running here, as the plan sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningTask {
    /// The stored task config it runs with.
    pub config: RawConfig,
    /// The connector config it was started with.
    pub connector_raw: RawConfig,
    pub target: TargetState,
    pub failed: bool,
}

/// What runs on this worker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Local {
    pub connectors: BTreeMap<String, RunningConnector>,
    pub tasks: BTreeMap<(String, u32), RunningTask>,
}

/// Everything the plan depends on.
pub struct Inputs<'a> {
    /// This worker's id.
    pub me: &'a str,
    pub membership: &'a Membership,
    /// The worker is leaving the cluster.
    pub stopping: bool,
    pub config: &'a ConfigState,
    pub statuses: &'a StatusState,
    pub local: &'a Local,
    /// Restart requests up to this sequence number were handled.
    pub restarts_done: u64,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    StopConnector(String),
    StopTask(String, u32),
    SetConnectorTarget(String, TargetState),
    SetTaskTarget(String, u32, TargetState),
    StartConnector(String),
    StartTask(String, u32),
    RestartConnector(String),
    RestartTask(String, u32),
    /// Write UNASSIGNED for a unit this worker does not run (rule 6).
    Disown(Unit),
}

/// What to do, in order: every stop, then target changes, starts and restarts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// Restart requests up to this sequence number are handled by this plan.
    pub restarts_done: u64,
    /// The worker is out of the group but still runs something (worth a warning).
    pub fenced_with_work: bool,
}

/// The units the cluster must run: every connector that is not STOPPED, and its
/// committed tasks.
pub fn units(cfg: &ConfigState) -> BTreeSet<Unit> {
    let mut out = BTreeSet::new();
    for name in cfg.connectors.keys() {
        if cfg.target(name) == TargetState::Stopped {
            continue;
        }
        out.insert(Unit::Connector(name.clone()));
        for t in 0..cfg.tasks.get(name).map(|v| v.len()).unwrap_or(0) {
            out.insert(Unit::Task(name.clone(), t as u32));
        }
    }
    out
}

/// The unit's last status read from the status topic.
fn status_of<'a>(statuses: &'a StatusState, u: &Unit) -> Option<&'a StatusValue> {
    match u {
        Unit::Connector(n) => statuses.connectors.get(n),
        Unit::Task(n, t) => statuses.tasks.get(&(n.clone(), *t)),
    }
}

/// Whether the unit runs on this worker (before this round's stops).
fn runs_here(local: &Local, u: &Unit) -> bool {
    match u {
        Unit::Connector(n) => local.connectors.contains_key(n),
        Unit::Task(n, t) => local.tasks.contains_key(&(n.clone(), *t)),
    }
}

/// The assignment version from which the unit's current owner holds it (as a status
/// generation), and its previous owner.
fn handed_over<'a>(cfg: &'a ConfigState, u: &Unit) -> (i64, Option<&'a str>) {
    match cfg.assigned_since.get(u) {
        Some(h) => (h.version as i64, h.from.as_deref()),
        None => (0, None),
    }
}

/// Decides the next round.
pub fn plan(i: &Inputs<'_>) -> Plan {
    let cfg = i.config;
    let fenced = !i.membership.in_group || i.stopping;
    let all = units(cfg);
    let mine: BTreeSet<Unit> = if fenced {
        BTreeSet::new()
    } else {
        cfg.assignment
            .assignment
            .iter()
            .filter(|(u, w)| w.as_str() == i.me && all.contains(*u))
            .map(|(u, _)| u.clone())
            .collect()
    };
    let mut plan = Plan {
        restarts_done: i.restarts_done,
        fenced_with_work: fenced && (!i.local.connectors.is_empty() || !i.local.tasks.is_empty()),
        ..Plan::default()
    };

    // 1-2. Stops.
    let mut stopped_connectors = BTreeSet::new();
    for (n, c) in &i.local.connectors {
        if !mine.contains(&Unit::Connector(n.clone())) || cfg.connectors.get(n) != Some(&c.raw) {
            plan.actions.push(Action::StopConnector(n.clone()));
            stopped_connectors.insert(n.clone());
        }
    }
    let mut stopped_tasks = BTreeSet::new();
    for ((n, t), lt) in &i.local.tasks {
        let unchanged = cfg.tasks.get(n).and_then(|v| v.get(*t as usize)) == Some(&lt.config)
            && cfg.connectors.get(n) == Some(&lt.connector_raw);
        if !mine.contains(&Unit::Task(n.clone(), *t)) || !unchanged {
            plan.actions.push(Action::StopTask(n.clone(), *t));
            stopped_tasks.insert((n.clone(), *t));
        }
    }

    // 3. Target states of what keeps running.
    for (n, c) in &i.local.connectors {
        let target = cfg.target(n);
        if !stopped_connectors.contains(n) && c.target != target {
            plan.actions
                .push(Action::SetConnectorTarget(n.clone(), target));
        }
    }
    for ((n, t), lt) in &i.local.tasks {
        let target = cfg.target(n);
        if !stopped_tasks.contains(&(n.clone(), *t)) && lt.target != target {
            plan.actions
                .push(Action::SetTaskTarget(n.clone(), *t, target));
        }
    }

    // 4. Starts, once the previous owner has let go. A worker has left when the
    // leader's latest assignment (the view the units were assigned by) lacks it; this
    // worker's own view of the group may lag behind it either way (each worker
    // describes the group on its own clock): a worker that just joined and was given
    // a unit is not in it yet.
    let departed = |w: &str| !cfg.assignment.members.iter().any(|m| m == w);
    // A worker starts nothing until the leader has published an assignment that
    // lists it as a member: until then, units the assignment still shows as its own
    // may be held for it from before a restart, and the leader may be handing them to
    // another worker at this moment, having not yet seen this one come back.
    let acknowledged = cfg.assignment.members.iter().any(|m| m == i.me);
    for u in mine.iter().filter(|_| acknowledged) {
        let running_after_stops = match u {
            Unit::Connector(n) => {
                i.local.connectors.contains_key(n) && !stopped_connectors.contains(n)
            }
            Unit::Task(n, t) => {
                let k = (n.clone(), *t);
                i.local.tasks.contains_key(&k) && !stopped_tasks.contains(&k)
            }
        };
        if running_after_stops {
            continue;
        }
        let (since, from) = handed_over(cfg, u);
        let free = match status_of(i.statuses, u) {
            // No status yet: free if nobody held it before, or its previous owner
            // left. A new unit handed over at once may already run on the previous
            // owner, whose first status is not written (or not read) yet; rule 6
            // makes that owner write an UNASSIGNED if it never ran the unit.
            None => from.is_none_or(departed),
            Some(s) => {
                let fresh = s.generation >= since;
                // The previous owner left; or, with no previous owner on record, the
                // status's writer did. A status of a departed worker proves nothing
                // while the previous owner is a live member: that one may have
                // started the unit since, its status not read yet.
                from.map_or(departed(&s.worker_id), departed)
                    || (fresh && (s.worker_id == i.me || s.state == State::Unassigned))
                    // a stale status of this worker's own, and nobody else held the
                    // unit (a new unit, e.g. a connector created again under the
                    // same name)
                    || (from.is_none() && s.worker_id == i.me)
            }
        };
        if !free {
            continue; // wait for the previous owner's UNASSIGNED
        }
        plan.actions.push(match u {
            Unit::Connector(n) => Action::StartConnector(n.clone()),
            Unit::Task(n, t) => Action::StartTask(n.clone(), *t),
        });
    }

    // 5. Restart requests, for units that keep running here.
    let keeps_connector =
        |n: &String| i.local.connectors.contains_key(n) && !stopped_connectors.contains(n);
    for (seq, req) in cfg.restarts.iter().filter(|(s, _)| *s > i.restarts_done) {
        plan.restarts_done = *seq;
        match req {
            RestartRequest::Connector {
                name,
                include_tasks,
                only_failed,
            } => {
                if keeps_connector(name) && (!*only_failed || i.local.connectors[name].failed) {
                    plan.actions.push(Action::RestartConnector(name.clone()));
                }
                if *include_tasks {
                    for ((n, t), lt) in &i.local.tasks {
                        if n == name
                            && !stopped_tasks.contains(&(n.clone(), *t))
                            && (!*only_failed || lt.failed)
                        {
                            plan.actions.push(Action::RestartTask(n.clone(), *t));
                        }
                    }
                }
            }
            RestartRequest::Task { name, task } => {
                let k = (name.clone(), *task);
                if i.local.tasks.contains_key(&k) && !stopped_tasks.contains(&k) {
                    plan.actions.push(Action::RestartTask(name.clone(), *task));
                }
            }
        }
    }

    // 6. Disown what another member holds and this worker no longer runs (a unit
    // running here is stopped above, which writes a fresh UNASSIGNED). Only once the
    // latest assignment lists this worker: its statuses carry that version then.
    if !fenced && acknowledged {
        for (u, owner) in &cfg.assignment.assignment {
            if owner == i.me || !all.contains(u) || runs_here(i.local, u) {
                continue;
            }
            let (since, from) = handed_over(cfg, u);
            let status = status_of(i.statuses, u);
            let stale_mine = status.is_some_and(|s| {
                s.worker_id == i.me && (s.state != State::Unassigned || s.generation < since)
            });
            // Handed over from this worker, which never ran it since: the new owner
            // waits for an UNASSIGNED from here as new as the hand-over.
            // (Another worker's live status is that worker's to clear.)
            // (A live status of a worker that left counts as none.)
            let owed = from == Some(i.me)
                && status.is_none_or(|s| {
                    s.generation < since
                        && (s.worker_id == i.me
                            || s.state == State::Unassigned
                            || departed(&s.worker_id))
                });
            if stale_mine || owed {
                plan.actions.push(Action::Disown(u.clone()));
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::records::{AssignmentRecord, ConfigRecord, StatusValue};

    fn raw(v: &str) -> RawConfig {
        [("connector.class".to_string(), v.to_string())].into()
    }

    /// A config topic with connector `c` (config `v`) and `tasks` tasks, assigned as
    /// given.
    fn config(v: &str, tasks: u32, assignment: &[(Unit, &str)]) -> ConfigState {
        let mut cfg = ConfigState::default();
        cfg.apply(ConfigRecord::Connector {
            name: "c".into(),
            config: Some(raw(v)),
        });
        for t in 0..tasks {
            cfg.apply(ConfigRecord::Task {
                name: "c".into(),
                task: t,
                config: raw(&format!("task{}", t)),
            });
        }
        cfg.apply(ConfigRecord::Commit {
            name: "c".into(),
            tasks,
        });
        assign(&mut cfg, 1, "w1", &["w1", "w2"], assignment);
        cfg
    }

    fn members(ms: &[&str]) -> Membership {
        Membership {
            leader: false,
            members: ms.iter().map(|s| s.to_string()).collect(),
            in_group: ms.contains(&"w1"),
        }
    }

    fn status(state: State, worker: &str) -> StatusValue {
        StatusValue {
            state,
            trace: None,
            worker_id: worker.into(),
            generation: 1,
        }
    }

    /// Connector `c` (config `v`) and its task 0 running here.
    fn running_here(v: &str) -> Local {
        let mut local = Local::default();
        local.connectors.insert(
            "c".into(),
            RunningConnector {
                raw: raw(v),
                target: TargetState::Running,
                failed: false,
            },
        );
        local.tasks.insert(
            ("c".into(), 0),
            local_task(v, 0, TargetState::Running, false),
        );
        local
    }

    fn local_task(v: &str, t: u32, target: TargetState, failed: bool) -> RunningTask {
        RunningTask {
            config: raw(&format!("task{}", t)),
            connector_raw: raw(v),
            target,
            failed,
        }
    }

    fn run(
        cfg: &ConfigState,
        m: &Membership,
        statuses: &StatusState,
        local: &Local,
        stopping: bool,
    ) -> Vec<Action> {
        plan(&Inputs {
            me: "w1",
            membership: m,
            stopping,
            config: cfg,
            statuses,
            local,
            restarts_done: 0,
        })
        .actions
    }

    fn c() -> Unit {
        Unit::Connector("c".into())
    }
    fn t(n: u32) -> Unit {
        Unit::Task("c".into(), n)
    }

    #[test]
    fn starts_what_is_assigned_when_free() {
        let cfg = config("v1", 2, &[(c(), "w1"), (t(0), "w1"), (t(1), "w2")]);
        let mut st = StatusState::default();
        // Task 0 was last run by w2, which is alive and has not let go yet.
        st.tasks
            .insert(("c".into(), 0), status(State::Running, "w2"));
        let actions = run(&cfg, &members(&["w1", "w2"]), &st, &Local::default(), false);
        assert_eq!(actions, vec![Action::StartConnector("c".into())]);

        // Once w2 wrote UNASSIGNED, or left the group, task 0 starts here.
        st.tasks
            .insert(("c".into(), 0), status(State::Unassigned, "w2"));
        let actions = run(&cfg, &members(&["w1", "w2"]), &st, &Local::default(), false);
        assert!(actions.contains(&Action::StartTask("c".into(), 0)));
        // Left: the leader's latest assignment (members w1, w2) lacks w3, whatever
        // this worker's own view of the group says.
        st.tasks
            .insert(("c".into(), 0), status(State::Running, "w2"));
        let actions = run(&cfg, &members(&["w1"]), &st, &Local::default(), false);
        assert!(!actions.contains(&Action::StartTask("c".into(), 0)));
        assert!(!actions.contains(&Action::StartTask("c".into(), 1)));
        st.tasks
            .insert(("c".into(), 0), status(State::Running, "w3"));
        let actions = run(
            &cfg,
            &members(&["w1", "w2", "w3"]),
            &st,
            &Local::default(),
            false,
        );
        assert!(actions.contains(&Action::StartTask("c".into(), 0)));
    }

    #[test]
    fn starts_nothing_until_an_assignment_lists_this_worker_as_a_member() {
        // w1 is back after a restart; the assignment still holds its units for it
        // but was published while it was away (members: w2 only).
        let mut cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w1")]);
        assign(&mut cfg, 2, "w2", &["w2"], &[(c(), "w1"), (t(0), "w1")]);
        let m = members(&["w1", "w2"]);
        assert!(run(&cfg, &m, &StatusState::default(), &Local::default(), false).is_empty());
        reassign(&mut cfg, &[(c(), "w1"), (t(0), "w1")]);
        assert_eq!(
            run(&cfg, &m, &StatusState::default(), &Local::default(), false),
            vec![
                Action::StartConnector("c".into()),
                Action::StartTask("c".into(), 0)
            ]
        );
    }

    /// Publishes an assignment.
    fn assign(
        cfg: &mut ConfigState,
        version: u64,
        leader: &str,
        members: &[&str],
        assignment: &[(Unit, &str)],
    ) {
        cfg.apply(ConfigRecord::Assignment(AssignmentRecord {
            version,
            leader: leader.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            assignment: assignment
                .iter()
                .map(|(u, w)| (u.clone(), w.to_string()))
                .collect(),
        }));
    }

    /// Publishes assignment version 2 (w1 and w2 members).
    fn reassign(cfg: &mut ConfigState, assignment: &[(Unit, &str)]) {
        assign(cfg, 2, "w1", &["w1", "w2"], assignment);
    }

    #[test]
    fn an_unassigned_older_than_the_hand_over_does_not_free_a_unit() {
        let mut cfg = config("v1", 2, &[(c(), "w1"), (t(0), "w2"), (t(1), "w2")]);
        reassign(&mut cfg, &[(c(), "w1"), (t(0), "w1"), (t(1), "w2")]);
        assert_eq!(handed_over(&cfg, &t(0)), (2, Some("w2")));
        assert_eq!(handed_over(&cfg, &t(1)), (1, None));
        let mut st = StatusState::default();
        // w2 wrote UNASSIGNED at generation 1 (say, on its way down before a restart
        // under the same id): it may be running task 0 again since.
        st.tasks
            .insert(("c".into(), 0), status(State::Unassigned, "w2"));
        let m = members(&["w1", "w2"]);
        let actions = run(&cfg, &m, &st, &Local::default(), false);
        assert!(!actions.contains(&Action::StartTask("c".into(), 0)));
        // Its UNASSIGNED written at the hand-over (or later) frees it.
        st.tasks.get_mut(&("c".into(), 0)).unwrap().generation = 2;
        let actions = run(&cfg, &m, &st, &Local::default(), false);
        assert!(actions.contains(&Action::StartTask("c".into(), 0)));
    }

    #[test]
    fn a_new_unit_handed_over_at_once_waits_for_its_first_owner() {
        // Task 0 is new (no status yet): version 1 gave it to w2, version 2 to w1.
        // w2 may have started it already, its RUNNING not written or not read yet.
        let mut cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w2")]);
        reassign(&mut cfg, &[(c(), "w1"), (t(0), "w1")]);
        let m = members(&["w1", "w2"]);
        let mut st = StatusState::default();
        let actions = run(&cfg, &m, &st, &Local::default(), false);
        assert!(actions.contains(&Action::StartConnector("c".into())));
        assert!(!actions.contains(&Action::StartTask("c".into(), 0)));
        // w2's UNASSIGNED as new as the hand-over frees it.
        st.tasks.insert(
            ("c".into(), 0),
            StatusValue {
                generation: 2,
                ..status(State::Unassigned, "w2")
            },
        );
        let actions = run(&cfg, &m, &st, &Local::default(), false);
        assert!(actions.contains(&Action::StartTask("c".into(), 0)));
        // So does w2 leaving, with no status at all.
        assign(&mut cfg, 3, "w1", &["w1"], &[(c(), "w1"), (t(0), "w1")]);
        let actions = run(&cfg, &m, &StatusState::default(), &Local::default(), false);
        assert!(actions.contains(&Action::StartTask("c".into(), 0)));
    }

    #[test]
    fn the_first_owner_of_a_new_unit_handed_over_owes_an_unassigned() {
        // As above, seen from w2 (which never started task 0): it writes the
        // UNASSIGNED w1 waits for.
        let mut cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w2")]);
        reassign(&mut cfg, &[(c(), "w2"), (t(0), "w1")]);
        let actions = plan(&Inputs {
            me: "w2",
            membership: &members(&["w1", "w2"]),
            stopping: false,
            config: &cfg,
            statuses: &StatusState::default(),
            local: &Local::default(),
            restarts_done: 0,
        })
        .actions;
        assert!(actions.contains(&Action::Disown(t(0))));
    }

    #[test]
    fn a_stale_status_of_our_own_does_not_free_a_unit_handed_over_from_another() {
        // Task 0 came from w2 at version 2; the status read is w1's own, from before
        // (say, written on its way down before a restart): w2 may be running it now.
        let mut cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w2")]);
        reassign(&mut cfg, &[(c(), "w1"), (t(0), "w1")]);
        let mut st = StatusState::default();
        st.tasks
            .insert(("c".into(), 0), status(State::Unassigned, "w1"));
        let m = members(&["w1", "w2"]);
        let actions = run(&cfg, &m, &st, &Local::default(), false);
        assert!(!actions.contains(&Action::StartTask("c".into(), 0)));
        // w2's UNASSIGNED as new as the hand-over frees it.
        st.tasks.insert(
            ("c".into(), 0),
            StatusValue {
                generation: 2,
                ..status(State::Unassigned, "w2")
            },
        );
        let actions = run(&cfg, &m, &st, &Local::default(), false);
        assert!(actions.contains(&Action::StartTask("c".into(), 0)));
    }

    #[test]
    fn a_status_of_a_departed_worker_does_not_free_a_unit_a_live_member_held() {
        // After a full restart: the status read is w3's, written before the restart
        // (w3 is not back). Version 2 gave task 0 to w2, which started it; version 3
        // moves it to w1 before w2's RUNNING is read here. w2 must let go first.
        let mut cfg = config("v1", 1, &[(c(), "w2"), (t(0), "w2")]);
        assign(&mut cfg, 2, "w2", &["w2"], &[(c(), "w2"), (t(0), "w2")]);
        assign(
            &mut cfg,
            3,
            "w2",
            &["w1", "w2"],
            &[(c(), "w2"), (t(0), "w1")],
        );
        assert_eq!(handed_over(&cfg, &t(0)), (3, Some("w2")));
        let mut st = StatusState::default();
        st.tasks
            .insert(("c".into(), 0), status(State::Unassigned, "w3"));
        let m = members(&["w1", "w2"]);
        assert!(run(&cfg, &m, &st, &Local::default(), false).is_empty());
        st.tasks
            .insert(("c".into(), 0), status(State::Running, "w3"));
        assert!(run(&cfg, &m, &st, &Local::default(), false).is_empty());
        // w2's UNASSIGNED of the hand-over frees it.
        st.tasks.insert(
            ("c".into(), 0),
            StatusValue {
                generation: 3,
                ..status(State::Unassigned, "w2")
            },
        );
        assert_eq!(
            run(&cfg, &m, &st, &Local::default(), false),
            vec![Action::StartTask("c".into(), 0)]
        );
        // So does w2 leaving.
        assign(&mut cfg, 4, "w1", &["w1"], &[(c(), "w2"), (t(0), "w1")]);
        st.tasks
            .insert(("c".into(), 0), status(State::Running, "w3"));
        assert_eq!(
            run(&cfg, &m, &st, &Local::default(), false),
            vec![Action::StartTask("c".into(), 0)]
        );
    }

    #[test]
    fn a_previous_owner_that_never_ran_a_unit_disowns_it_over_a_departed_workers_status() {
        // Seen from w1: task 0 came from w3 (gone, its RUNNING the last status) at
        // version 2, and went on to w2 at version 3 before w1 started it. w2 waits
        // for w1's word, which w1 gives.
        let mut cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w3")]);
        assign(
            &mut cfg,
            2,
            "w1",
            &["w1", "w2"],
            &[(c(), "w1"), (t(0), "w1")],
        );
        assign(
            &mut cfg,
            3,
            "w1",
            &["w1", "w2"],
            &[(c(), "w1"), (t(0), "w2")],
        );
        let mut st = StatusState::default();
        st.tasks
            .insert(("c".into(), 0), status(State::Running, "w3"));
        let local = {
            let mut l = running_here("v1");
            l.tasks.clear();
            l
        };
        assert_eq!(
            run(&cfg, &members(&["w1", "w2"]), &st, &local, false),
            vec![Action::Disown(t(0))]
        );
    }

    #[test]
    fn the_previous_owner_that_never_ran_a_unit_still_writes_its_unassigned() {
        // Task 0 went from w1 to w2 at version 2; w1 does not run it and nothing as new
        // as the hand-over was written: w2 waits for w1's word.
        let mut cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w1")]);
        reassign(&mut cfg, &[(c(), "w1"), (t(0), "w2")]);
        let m = members(&["w1", "w2"]);
        let local = {
            let mut l = running_here("v1");
            l.tasks.clear();
            l
        };
        assert_eq!(
            run(&cfg, &m, &StatusState::default(), &local, false),
            vec![Action::Disown(t(0))]
        );
    }

    #[test]
    fn disowns_what_another_member_holds_when_its_status_is_still_ours() {
        // Seen from w1: task 1 went to w2 at version 2, w1's last word on it is older.
        let mut cfg = config("v1", 2, &[(c(), "w1"), (t(0), "w1"), (t(1), "w1")]);
        reassign(&mut cfg, &[(c(), "w1"), (t(0), "w1"), (t(1), "w2")]);
        let m = members(&["w1", "w2"]);
        let mut st = StatusState::default();
        st.tasks
            .insert(("c".into(), 1), status(State::Unassigned, "w1"));
        let mut local = running_here("v1");
        assert_eq!(
            run(&cfg, &m, &st, &local, false),
            vec![Action::Disown(t(1))]
        );
        // Still running here: the stop writes the fresh UNASSIGNED, no disown.
        local.tasks.insert(
            ("c".into(), 1),
            local_task("v1", 1, TargetState::Running, false),
        );
        assert_eq!(
            run(&cfg, &m, &st, &local, false),
            vec![Action::StopTask("c".into(), 1)]
        );
        local.tasks.remove(&("c".into(), 1));
        // A fresh UNASSIGNED of ours, or w2's own status: nothing to do.
        st.tasks.get_mut(&("c".into(), 1)).unwrap().generation = 2;
        assert!(run(&cfg, &m, &st, &local, false).is_empty());
        st.tasks
            .insert(("c".into(), 1), status(State::Running, "w2"));
        assert!(run(&cfg, &m, &st, &local, false).is_empty());
        // Out of the group: no disowning (the others do not wait for us).
        st.tasks
            .insert(("c".into(), 1), status(State::Unassigned, "w1"));
        assert!(!run(&cfg, &members(&["w2"]), &st, &local, false).contains(&Action::Disown(t(1))));
    }

    #[test]
    fn stops_everything_when_out_of_the_group_or_stopping() {
        let cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w1")]);
        let local = running_here("v1");
        let st = StatusState::default();
        let both = vec![
            Action::StopConnector("c".into()),
            Action::StopTask("c".into(), 0),
        ];
        for (m, stopping) in [(members(&["w2"]), false), (members(&["w1", "w2"]), true)] {
            let p = plan(&Inputs {
                me: "w1",
                membership: &m,
                stopping,
                config: &cfg,
                statuses: &st,
                local: &local,
                restarts_done: 0,
            });
            assert_eq!(p.actions, both);
            assert!(p.fenced_with_work);
        }
        // In the group and not stopping: nothing to do.
        assert!(run(&cfg, &members(&["w1"]), &st, &local, false).is_empty());
    }

    #[test]
    fn a_changed_config_restarts_by_stop_then_start() {
        let cfg = config("v2", 1, &[(c(), "w1"), (t(0), "w1")]);
        let local = running_here("v1");
        let mut st = StatusState::default();
        st.connectors
            .insert("c".into(), status(State::Running, "w1"));
        st.tasks
            .insert(("c".into(), 0), status(State::Running, "w1"));
        assert_eq!(
            run(&cfg, &members(&["w1"]), &st, &local, false),
            vec![
                Action::StopConnector("c".into()),
                Action::StopTask("c".into(), 0),
                Action::StartConnector("c".into()),
                Action::StartTask("c".into(), 0),
            ]
        );
    }

    #[test]
    fn target_changes_apply_to_what_keeps_running() {
        let mut cfg = config("v1", 1, &[(c(), "w1"), (t(0), "w1")]);
        cfg.apply(ConfigRecord::TargetState {
            name: "c".into(),
            state: Some(TargetState::Paused),
        });
        let local = running_here("v1");
        assert_eq!(
            run(
                &cfg,
                &members(&["w1"]),
                &StatusState::default(),
                &local,
                false
            ),
            vec![
                Action::SetConnectorTarget("c".into(), TargetState::Paused),
                Action::SetTaskTarget("c".into(), 0, TargetState::Paused),
            ]
        );
        // STOPPED: the connector is no unit any more, so everything stops.
        cfg.apply(ConfigRecord::TargetState {
            name: "c".into(),
            state: Some(TargetState::Stopped),
        });
        assert_eq!(
            run(
                &cfg,
                &members(&["w1"]),
                &StatusState::default(),
                &local,
                false
            ),
            vec![
                Action::StopConnector("c".into()),
                Action::StopTask("c".into(), 0),
            ]
        );
    }

    #[test]
    fn restart_requests() {
        let mut local = running_here("v1");
        local.tasks.insert(
            ("c".into(), 1),
            local_task("v1", 1, TargetState::Running, true),
        );
        let assignment = [(c(), "w1"), (t(0), "w1"), (t(1), "w1")];
        // (include_tasks, only_failed) -> actions
        let cases = [
            (false, false, vec![Action::RestartConnector("c".into())]),
            (
                true,
                false,
                vec![
                    Action::RestartConnector("c".into()),
                    Action::RestartTask("c".into(), 0),
                    Action::RestartTask("c".into(), 1),
                ],
            ),
            (true, true, vec![Action::RestartTask("c".into(), 1)]),
        ];
        for (include_tasks, only_failed, want) in cases {
            let mut cfg = config("v1", 2, &assignment);
            cfg.apply(ConfigRecord::RestartConnector {
                name: "c".into(),
                include_tasks,
                only_failed,
            });
            let p = plan(&Inputs {
                me: "w1",
                membership: &members(&["w1"]),
                stopping: false,
                config: &cfg,
                statuses: &StatusState::default(),
                local: &local,
                restarts_done: 0,
            });
            assert_eq!(p.actions, want, "{} {}", include_tasks, only_failed);
            assert_eq!(p.restarts_done, 1);
            // Handled requests are not handled again.
            let again = plan(&Inputs {
                me: "w1",
                membership: &members(&["w1"]),
                stopping: false,
                config: &cfg,
                statuses: &StatusState::default(),
                local: &local,
                restarts_done: 1,
            });
            assert!(again.actions.is_empty());
        }
    }
}
