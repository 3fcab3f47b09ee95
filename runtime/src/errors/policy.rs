//! The parsed error-handling settings of a connector.

use std::time::Duration;

use crate::config::{millis, ConfigDef, ConfigKey, ParsedConfig, Width};

/// `errors.tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    None,
    All,
}

/// Error keys every connector has, with Connect's names, types, defaults, groups and
/// order. The dead letter queue keys are sink-only in Connect; Sluice offers them to
/// source connectors too.
pub fn error_config_def() -> ConfigDef {
    let g = "Error Handling";
    ConfigDef::new()
        .define(ConfigKey::long("errors.retry.timeout").default("0").validator(crate::config::Validator::Range { min: Some(-1.0), max: None }).group(g).order(1).width(Width::Medium).display("Retry Timeout for Errors")
            .doc("How long a failing call to the outside system (a sink's put, a source's poll) is retried, in ms, before the task fails: 0 = no retries (the task fails at the first error and automatic restart, if on, starts it again with its own backoff), -1 = retry forever. Retries and the budget show in the task status."))
        .define(ConfigKey::long("errors.retry.delay.max.ms").default("60000").at_least(1.0).group(g).order(2).width(Width::Medium).display("Maximum Delay Between Retries for Errors")
            .doc("The longest wait between retries (backoff doubles up to this)."))
        .define(ConfigKey::string("errors.tolerance").default("none").one_of(&["none", "all"]).recommend(vec![]).group(g).order(3).width(Width::Short).display("Error Tolerance")
            .doc("none: a record that fails conversion, transformation or writing fails the task. all: such records are logged (if enabled), skipped or sent to the dead letter queue."))
        .define(ConfigKey::boolean("errors.log.enable").default("false").group(g).order(4).width(Width::Short).display("Log Errors")
            .doc("Log each failed record (stage, class, location and error)."))
        .define(ConfigKey::boolean("errors.log.include.messages").default("false").group(g).order(5).width(Width::Short).display("Log Error Details")
            .doc("Include the record's position (never its content) in those log lines."))
}

/// The dead letter queue keys (Connect's sink-only keys, which Sluice also offers to
/// source connectors).
pub fn dlq_config_def() -> ConfigDef {
    let g = "Error Handling";
    ConfigDef::new()
        .define(ConfigKey::string("errors.deadletterqueue.topic.name").default("").group(g).order(6).width(Width::Medium).display("Dead Letter Queue Topic Name")
            .doc("Topic that receives failed records (with errors.tolerance=all). Empty: none. Sluice also supports it for source connectors."))
        .define(ConfigKey::short("errors.deadletterqueue.topic.replication.factor").default("3").group(g).order(7).width(Width::Medium).display("Dead Letter Queue Topic Replication Factor")
            .doc("Replication factor of the dead letter queue topic when Sluice creates it (-1 = broker default; capped to the brokers available)."))
        .define(ConfigKey::boolean("errors.deadletterqueue.context.headers.enable").default("false").group(g).order(8).width(Width::Medium).display("Enable Error Context Headers")
            .doc("Add __connect.errors.* headers describing the failure to dead letter queue records."))
}

/// A connector's error settings.
#[derive(Debug, Clone)]
pub struct ErrorPolicy {
    pub tolerance: Tolerance,
    /// `None` = retry forever.
    pub retry_timeout: Option<Duration>,
    pub retry_delay_max: Duration,
    pub log_enable: bool,
    pub log_include_messages: bool,
    pub dlq_topic: Option<String>,
    pub dlq_replication: i32,
    pub dlq_context_headers: bool,
}

impl Default for ErrorPolicy {
    fn default() -> Self {
        ErrorPolicy {
            tolerance: Tolerance::None,
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_secs(60),
            log_enable: false,
            log_include_messages: false,
            dlq_topic: None,
            dlq_replication: 3,
            dlq_context_headers: false,
        }
    }
}

impl ErrorPolicy {
    /// Reads the error keys from a connector config parsed with [`error_config_def`].
    pub fn from_config(p: &ParsedConfig) -> Self {
        let timeout = p.long("errors.retry.timeout");
        let dlq = p
            .str("errors.deadletterqueue.topic.name")
            .trim()
            .to_string();
        ErrorPolicy {
            tolerance: if p.str("errors.tolerance").eq_ignore_ascii_case("all") {
                Tolerance::All
            } else {
                Tolerance::None
            },
            retry_timeout: if timeout < 0 {
                None
            } else {
                Some(millis(timeout))
            },
            retry_delay_max: millis(p.long("errors.retry.delay.max.ms")),
            log_enable: p.boolean("errors.log.enable"),
            log_include_messages: p.boolean("errors.log.include.messages"),
            dlq_topic: if dlq.is_empty() { None } else { Some(dlq) },
            dlq_replication: p.int("errors.deadletterqueue.topic.replication.factor"),
            dlq_context_headers: p.boolean("errors.deadletterqueue.context.headers.enable"),
        }
    }

    pub fn tolerates_all(&self) -> bool {
        self.tolerance == Tolerance::All
    }

    /// Logs a tolerated error as Connect's LogReporter does, if enabled.
    pub fn log(&self, connector: &str, task: u32, err: &super::RecordError) {
        if !self.log_enable {
            return;
        }
        if self.log_include_messages {
            tracing::error!(
                "Error encountered in task {}-{}. Executing stage '{}' with class '{}', where record is {{{}}}: {}",
                connector, task, err.stage, err.class_name, err.location, err.message
            );
        } else {
            tracing::error!(
                "Error encountered in task {}-{}. Executing stage '{}' with class '{}': {}",
                connector,
                task,
                err.stage,
                err.class_name,
                err.message
            );
        }
    }
}
