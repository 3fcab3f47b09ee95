//! Rules both herders apply to REST requests: the connector name in a config, what a
//! restart request restarts, and when offsets may change.

use crate::config::files::TargetState;
use crate::config::RawConfig;
use crate::herder::{ConnectorStateInfo, HerderError};
use crate::status::State;

/// The `name` in a config must match the name in the URL; a config without one gets it.
pub fn check_name(url_name: &str, config: &mut RawConfig) -> Result<(), HerderError> {
    match config.get("name") {
        Some(n) if n != url_name => Err(HerderError::BadRequest(format!(
            "Connector name configuration ({}) doesn't match connector name in the URL ({})",
            n, url_name
        ))),
        _ => {
            config.insert("name".into(), url_name.to_string());
            Ok(())
        }
    }
}

/// What a restart request (`POST /connectors/{c}/restart`) restarts, and the status
/// the API answers with (Connect's: the units to restart shown as RESTARTING).
#[derive(Debug, Clone)]
pub struct RestartPlan {
    /// Restart the connector instance.
    pub connector: bool,
    /// Restart these tasks.
    pub tasks: Vec<u32>,
    pub answer: ConnectorStateInfo,
}

impl RestartPlan {
    /// Plans a restart from the current states: with `only_failed`, only FAILED units;
    /// tasks only with `include_tasks`.
    pub fn new(current: &ConnectorStateInfo, include_tasks: bool, only_failed: bool) -> Self {
        let connector = !only_failed || current.connector.state == State::Failed;
        let tasks: Vec<u32> = if include_tasks {
            current
                .tasks
                .iter()
                .filter(|(_, s)| !only_failed || s.state == State::Failed)
                .map(|(t, _)| *t)
                .collect()
        } else {
            Vec::new()
        };
        let mut answer = current.clone();
        if connector {
            answer.connector.state = State::Restarting;
        }
        for (t, s) in answer.tasks.iter_mut() {
            if tasks.contains(t) {
                s.state = State::Restarting;
            }
        }
        RestartPlan {
            connector,
            tasks,
            answer,
        }
    }

    /// Whether the plan restarts the connector and every one of its tasks.
    pub fn everything(&self) -> bool {
        self.connector && self.tasks.len() == self.answer.tasks.len()
    }
}

/// Offsets may change only while the connector is STOPPED and none of its tasks runs
/// (as in Connect).
pub fn check_offsets_modifiable(
    name: &str,
    target: TargetState,
    tasks_running: bool,
) -> Result<(), HerderError> {
    if target != TargetState::Stopped || tasks_running {
        return Err(HerderError::BadRequest(format!(
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{}/stop' endpoint",
            name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    fn info(connector: State, tasks: &[State]) -> ConnectorStateInfo {
        ConnectorStateInfo {
            name: "c".into(),
            connector: Status::new(connector, "w"),
            tasks: tasks
                .iter()
                .enumerate()
                .map(|(i, s)| (i as u32, Status::new(*s, "w")))
                .collect(),
            kind: None,
            config_error: None,
        }
    }

    #[test]
    fn restart_plans() {
        use State::*;
        // (connector, tasks, include_tasks, only_failed) -> (restart connector, tasks)
        type Case<'a> = (State, &'a [State], bool, bool, bool, &'a [u32]);
        let cases: &[Case] = &[
            (Running, &[Running, Failed], false, false, true, &[]),
            (Running, &[Running, Failed], true, false, true, &[0, 1]),
            (Running, &[Running, Failed], true, true, false, &[1]),
            (Failed, &[Running, Running], true, true, true, &[]),
            (Failed, &[Failed], false, true, true, &[]),
            (Paused, &[], true, false, true, &[]),
        ];
        for (c, t, include, only, want_c, want_t) in cases {
            let plan = RestartPlan::new(&info(*c, t), *include, *only);
            assert_eq!(
                plan.connector, *want_c,
                "{:?} {:?} {} {}",
                c, t, include, only
            );
            assert_eq!(
                plan.tasks,
                want_t.to_vec(),
                "{:?} {:?} {} {}",
                c,
                t,
                include,
                only
            );
            assert_eq!(
                plan.answer.connector.state == Restarting,
                *want_c,
                "answer shows the connector restarting"
            );
            for (id, s) in &plan.answer.tasks {
                assert_eq!(s.state == Restarting, want_t.contains(id));
            }
        }
    }

    #[test]
    fn everything_means_connector_and_all_tasks() {
        let all = RestartPlan::new(&info(State::Running, &[State::Running]), true, false);
        assert!(all.everything());
        let some = RestartPlan::new(
            &info(State::Running, &[State::Running, State::Failed]),
            true,
            true,
        );
        assert!(!some.everything());
    }

    #[test]
    fn names_must_match() {
        let mut c = RawConfig::new();
        check_name("a", &mut c).unwrap();
        assert_eq!(c.get("name").unwrap(), "a");
        c.insert("name".into(), "b".into());
        let e = check_name("a", &mut c).unwrap_err();
        assert!(e.to_string().contains("doesn't match"), "{}", e);
    }

    #[test]
    fn offsets_need_a_stopped_connector() {
        assert!(check_offsets_modifiable("c", TargetState::Stopped, false).is_ok());
        assert!(check_offsets_modifiable("c", TargetState::Stopped, true).is_err());
        assert!(check_offsets_modifiable("c", TargetState::Paused, false).is_err());
    }
}
