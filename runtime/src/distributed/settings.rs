//! Distributed-mode worker keys (Kafka Connect's).

use std::time::Duration;

use crate::config::{millis, ConfigDef, ConfigErrors, ConfigKey, Importance, RawConfig};

/// The keys only distributed workers have.
pub fn distributed_config_def() -> ConfigDef {
    let g = "Distributed";
    ConfigDef::new()
        .define(ConfigKey::string("group.id").default("connect-cluster").group(g).importance(Importance::High)
            .doc("The cluster's name: workers with the same group.id form one cluster (the Kafka consumer group they join)."))
        .define(ConfigKey::string("config.storage.topic").default("connect-configs").group(g).importance(Importance::High)
            .doc("Topic with connector and task configs (one partition, compacted; created if missing)."))
        .define(ConfigKey::int("config.storage.replication.factor").default("3").group(g)
            .doc("Replication factor of the config topic when Sluice creates it (-1 = the broker's default.replication.factor). More than the cluster's brokers is an error at start-up."))
        .define(ConfigKey::string("status.storage.topic").default("connect-status").group(g).importance(Importance::High)
            .doc("Topic with connector and task statuses (compacted; created if missing)."))
        .define(ConfigKey::int("status.storage.partitions").default("5").at_least(1.0).group(g)
            .doc("Partitions of the status topic when Sluice creates it."))
        .define(ConfigKey::int("status.storage.replication.factor").default("3").group(g)
            .doc("Replication factor of the status topic when Sluice creates it (-1 = the broker's default.replication.factor)."))
        .define(ConfigKey::long("session.timeout.ms").default("10000").at_least(1.0).group(g)
            .doc("How long a worker may go without heartbeats before the cluster considers it gone."))
        .define(ConfigKey::long("heartbeat.interval.ms").default("3000").at_least(1.0).group(g)
            .doc("How often a worker heartbeats to the group coordinator."))
        .define(ConfigKey::long("rebalance.timeout.ms").default("60000").at_least(1.0).group(g)
            .doc("How long a rebalance may take (the group's max poll interval)."))
        .define(ConfigKey::long("scheduled.rebalance.max.delay.ms").default("300000").at_least(0.0).group(g)
            .doc("How long a departed worker's connectors and tasks wait before they are given to others (it may come back, e.g. in a rolling restart)."))
}

/// Parsed distributed settings.
#[derive(Debug, Clone)]
pub struct DistributedSettings {
    pub group_id: String,
    pub config_topic: String,
    pub config_replication: i32,
    pub status_topic: String,
    pub status_partitions: i32,
    pub status_replication: i32,
    pub offset_topic: String,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub rebalance_timeout: Duration,
    pub rebalance_delay: Duration,
}

impl DistributedSettings {
    pub fn parse(raw: &RawConfig) -> Result<Self, ConfigErrors> {
        let p = distributed_config_def().parse(raw).map_err(ConfigErrors)?;
        Ok(DistributedSettings {
            group_id: p.str("group.id"),
            config_topic: p.str("config.storage.topic"),
            config_replication: p.int("config.storage.replication.factor"),
            status_topic: p.str("status.storage.topic"),
            status_partitions: p.int("status.storage.partitions"),
            status_replication: p.int("status.storage.replication.factor"),
            offset_topic: raw
                .get("offset.storage.topic")
                .cloned()
                .unwrap_or_else(|| "connect-offsets".into()),
            session_timeout: millis(p.long("session.timeout.ms")),
            heartbeat_interval: millis(p.long("heartbeat.interval.ms")),
            rebalance_timeout: millis(p.long("rebalance.timeout.ms")),
            rebalance_delay: millis(p.long("scheduled.rebalance.max.delay.ms")),
        })
    }
}
