//! The FileStream connectors' keys (as in Connect).

use sluice_runtime::config::{ConfigDef, ConfigKey, Importance, Validator};

/// `file`, `topic`, `batch.size`.
pub fn source_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::string("file").optional().importance(Importance::High)
            .doc("Source filename. If not specified, the standard input will be used."))
        .define(ConfigKey::string("topic").validator(Validator::NonEmpty).importance(Importance::High)
            .doc("The topic to publish data to."))
        .define(ConfigKey::int("batch.size").default("2000").at_least(1.0).importance(Importance::Low)
            .doc("The maximum number of records the source task can read from the file each time it is polled."))
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
