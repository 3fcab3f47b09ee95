//! Kafka Connect's logger names for the parts of Sluice that do the same job, so a
//! `PUT /admin/loggers/org.apache.kafka.connect.runtime.WorkerSinkTask` written for
//! Connect (by hand, by kcctl, or replayed from a config topic as a cluster-wide level)
//! changes the matching Sluice modules. Only these exact names are translated; any
//! other dotted name is kept as a tracing target of its own.

/// Connect logger name → the tracing targets (Rust module paths) it stands for.
const CONNECT_NAMES: &[(&str, &[&str])] = &[
    (
        "org.apache.kafka",
        &[
            "sluice",
            "sluice_runtime",
            "sluice_connectors",
            "sluice_record_builders",
            "rdkafka",
            "librdkafka",
        ],
    ),
    (
        "org.apache.kafka.connect",
        &[
            "sluice",
            "sluice_runtime",
            "sluice_connectors",
            "sluice_record_builders",
        ],
    ),
    ("org.apache.kafka.clients", &["rdkafka", "librdkafka"]),
    ("org.apache.kafka.connect.runtime", &["sluice_runtime"]),
    (
        "org.apache.kafka.connect.runtime.Worker",
        &["sluice_runtime::worker"],
    ),
    (
        "org.apache.kafka.connect.runtime.WorkerTask",
        &["sluice_runtime::task"],
    ),
    (
        "org.apache.kafka.connect.runtime.WorkerSourceTask",
        &[
            "sluice_runtime::task::source",
            "sluice_runtime::task::producer",
        ],
    ),
    (
        "org.apache.kafka.connect.runtime.AbstractWorkerSourceTask",
        &[
            "sluice_runtime::task::source",
            "sluice_runtime::task::producer",
        ],
    ),
    (
        "org.apache.kafka.connect.runtime.ExactlyOnceWorkerSourceTask",
        &[
            "sluice_runtime::task::source",
            "sluice_runtime::task::producer",
        ],
    ),
    (
        "org.apache.kafka.connect.runtime.WorkerSinkTask",
        &[
            "sluice_runtime::task::sink",
            "sluice_runtime::task::sink_consumer",
        ],
    ),
    (
        "org.apache.kafka.connect.runtime.distributed",
        &["sluice_runtime::distributed"],
    ),
    (
        "org.apache.kafka.connect.runtime.distributed.DistributedHerder",
        &["sluice_runtime::distributed::herder"],
    ),
    (
        "org.apache.kafka.connect.runtime.distributed.WorkerCoordinator",
        &["sluice_runtime::distributed::membership"],
    ),
    (
        "org.apache.kafka.connect.runtime.distributed.WorkerGroupMember",
        &["sluice_runtime::distributed::membership"],
    ),
    (
        "org.apache.kafka.connect.runtime.standalone",
        &["sluice_runtime::standalone"],
    ),
    (
        "org.apache.kafka.connect.runtime.rest",
        &["sluice_runtime::rest"],
    ),
    (
        "org.apache.kafka.connect.runtime.errors",
        &["sluice_runtime::errors"],
    ),
    (
        "org.apache.kafka.connect.storage",
        &[
            "sluice_runtime::offsets",
            "sluice_runtime::distributed::topic_log",
        ],
    ),
    (
        "org.apache.kafka.connect.util.KafkaBasedLog",
        &["sluice_runtime::distributed::topic_log"],
    ),
    (
        "org.apache.kafka.connect.transforms",
        &["sluice_runtime::transforms"],
    ),
    (
        "org.apache.kafka.connect.json",
        &["sluice_runtime::convert::json"],
    ),
    (
        "org.apache.kafka.connect.file",
        &["sluice_connectors::file"],
    ),
    ("io.confluent.connect.jdbc", &["sluice_connectors::jdbc"]),
    ("com.mongodb.kafka.connect", &["sluice_connectors::mongodb"]),
];

/// The tracing targets a Connect logger name stands for, if it is one Sluice knows.
pub fn targets(name: &str) -> Option<&'static [&'static str]> {
    CONNECT_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, targets)| *targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_map_and_others_do_not() {
        assert_eq!(
            targets("org.apache.kafka.connect.runtime.WorkerSinkTask"),
            Some(
                &[
                    "sluice_runtime::task::sink",
                    "sluice_runtime::task::sink_consumer"
                ][..]
            )
        );
        assert_eq!(targets("org.apache.kafka.connect.runtime.Nope"), None);
        assert_eq!(targets("sluice_runtime"), None);
    }
}
