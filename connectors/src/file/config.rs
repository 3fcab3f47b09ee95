//! The FileStream connectors' keys (as in Connect).

use sluice_runtime::config::{ConfigDef, ConfigKey, Importance, Validator};

/// The default `max.line.bytes`: 1 MiB, about the largest record Kafka's default
/// `message.max.bytes` (1,048,588) takes.
pub const DEFAULT_MAX_LINE_BYTES: &str = "1048576";

/// `file`, `topic`, `batch.size`, and Sluice's `max.line.bytes`.
pub fn source_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::string("file").optional().importance(Importance::High)
            .doc("Source filename. If not specified, the standard input will be used."))
        .define(ConfigKey::string("topic").validator(Validator::NonEmpty).importance(Importance::High)
            .doc("The topic to publish data to."))
        .define(ConfigKey::int("batch.size").default("2000").at_least(1.0).importance(Importance::Low)
            .doc("The maximum number of records the source task can read from the file each time it is polled."))
        .define(ConfigKey::int("max.line.bytes").default(DEFAULT_MAX_LINE_BYTES).at_least(1.0).importance(Importance::Low)
            .doc("Sluice: the longest line read, in bytes (terminator excluded). A longer line is a record error (errors.tolerance): with none the task fails naming the file and byte position; with all the line is skipped, never held in memory whole, and its first 1 KiB goes to the dead letter queue if one is set."))
}

/// `file` (and the common `topics` / `topics.regex`).
pub fn sink_config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::string("file")
            .optional()
            .importance(Importance::High)
            .doc("Destination filename. If not specified, the standard output will be used."),
    )
}
