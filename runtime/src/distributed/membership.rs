//! Cluster membership through Kafka's group coordinator.
//!
//! Each worker joins consumer group `group.id` with `client.id` set to its worker id,
//! subscribed to the config topic with the cooperative-sticky assignor, and pauses
//! what it is given (it reads the config topic separately). Kafka decides:
//! * who is in the cluster: the group's members (a member's id starts with its
//!   `client.id`), read through the group description; a worker that stops
//!   heartbeating is dropped after `session.timeout.ms`;
//! * who leads: the member assigned partition 0 of the config topic.
//!
//! Nothing else is elected or gossiped. A worker that no longer finds itself among the
//! members stops its work (it may have been cut off from the brokers).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use tokio::sync::watch;

/// What Kafka says about this worker's place in the cluster.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Membership {
    /// This worker holds config partition 0: it computes the assignment.
    pub leader: bool,
    /// Live workers (their ids), this one included once it has joined.
    pub members: BTreeSet<String>,
    /// This worker is among the members.
    pub in_group: bool,
}

/// The worker id a group member id stands for: member ids are `<client.id>-<uuid>`.
pub fn worker_of_member(member_id: &str) -> String {
    let b = member_id.as_bytes();
    if b.len() > 37 && b[b.len() - 37] == b'-' {
        let uuid = &member_id[member_id.len() - 36..];
        let looks_like_uuid = uuid.len() == 36
            && uuid.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if looks_like_uuid {
            return member_id[..member_id.len() - 37].to_string();
        }
    }
    member_id.to_string()
}

/// Group settings.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    pub group_id: String,
    pub worker_id: String,
    pub topic: String,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
}

/// Runs the membership thread; stops when the handle is dropped.
pub struct MembershipHandle {
    pub state: watch::Receiver<Membership>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MembershipHandle {
    pub fn start(base: &ClientConfig, s: GroupSettings) -> Result<MembershipHandle, String> {
        let mut cc = base.clone();
        cc.set("group.id", &s.group_id)
            .set("client.id", &s.worker_id)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set(
                "session.timeout.ms",
                s.session_timeout.as_millis().to_string(),
            )
            .set(
                "heartbeat.interval.ms",
                s.heartbeat_interval.as_millis().to_string(),
            )
            .set(
                "max.poll.interval.ms",
                s.rebalance_timeout
                    .as_millis()
                    .max(s.session_timeout.as_millis() + 1000)
                    .to_string(),
            )
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false");
        let consumer: BaseConsumer = cc
            .create()
            .map_err(|e| format!("cannot join group {}: {}", s.group_id, e))?;
        consumer
            .subscribe(&[s.topic.as_str()])
            .map_err(|e| format!("cannot join group {}: {}", s.group_id, e))?;
        let (tx, rx) = watch::channel(Membership::default());
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("membership".into())
            .spawn(move || run(consumer, s, tx, stop2))
            .map_err(|e| e.to_string())?;
        Ok(MembershipHandle {
            state: rx,
            stop,
            thread: Some(thread),
        })
    }

    /// Leaves the group (the other workers take over at once).
    pub fn leave(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MembershipHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn run(
    consumer: BaseConsumer,
    s: GroupSettings,
    tx: watch::Sender<Membership>,
    stop: Arc<AtomicBool>,
) {
    let mut state = Membership::default();
    let mut last_list = Instant::now() - Duration::from_secs(3600);
    let mut missing_since: Option<Instant> = None;
    let list_every = s.heartbeat_interval.min(Duration::from_millis(1000));
    let mut paused: Vec<i32> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        // Nothing is consumed: every assigned partition is paused.
        let _ = consumer.poll(Duration::from_millis(100));
        let mut assigned: Vec<i32> = consumer
            .assignment()
            .map(|a| a.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        assigned.sort();
        if assigned != paused {
            if let Ok(a) = consumer.assignment() {
                let _ = consumer.pause(&a);
            }
            paused = assigned.clone();
        }
        let leader = assigned.contains(&0);
        if last_list.elapsed() >= list_every {
            last_list = Instant::now();
            match consumer.fetch_group_list(Some(&s.group_id), Duration::from_secs(5)) {
                Ok(list) => {
                    let members: BTreeSet<String> = list
                        .groups()
                        .iter()
                        .filter(|g| g.name() == s.group_id)
                        .flat_map(|g| g.members().iter().map(|m| worker_of_member(m.id())))
                        .collect();
                    let present = members.contains(&s.worker_id);
                    if present {
                        missing_since = None;
                    } else if state.in_group {
                        missing_since.get_or_insert_with(Instant::now);
                    }
                    // Leave "in group" only after missing for a while: a rebalance can
                    // briefly list nobody.
                    let in_group = present
                        || (state.in_group
                            && missing_since
                                .is_some_and(|t| t.elapsed() < s.heartbeat_interval * 2));
                    state.members = members;
                    state.in_group = in_group;
                }
                Err(e) => tracing::debug!("cannot describe group {}: {}", s.group_id, e),
            }
        }
        state.leader = leader && state.in_group;
        if *tx.borrow() != state {
            tracing::info!(leader = state.leader, members = ?state.members, in_group = state.in_group, "cluster membership");
            let _ = tx.send(state.clone());
        }
    }
    consumer.unsubscribe();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_name_their_worker() {
        assert_eq!(
            worker_of_member("127.0.0.1:8083-1a7daf31-c5f6-4694-b365-ba465e601b61"),
            "127.0.0.1:8083"
        );
        assert_eq!(
            worker_of_member("http://w-1:8083-b4f70609-bdb9-465f-991d-25393a3bab6d"),
            "http://w-1:8083"
        );
        assert_eq!(worker_of_member("no-uuid-here"), "no-uuid-here");
    }
}
