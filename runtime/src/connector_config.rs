//! A connector's full config: the common keys every connector has (Connect's
//! `ConnectorConfig`, `SinkConnectorConfig`), the plugin's own keys, the converters'
//! sub-keys and the transforms'. [`validate_connector`] checks all of them and lists
//! every problem; nothing starts half-configured.

use regex::Regex;

use crate::config::worker::WorkerConfig;
use crate::config::{
    split_list, sub_config, ConfigDef, ConfigIssue, ConfigKey, Importance, ParsedConfig, RawConfig,
    Validator,
};
use crate::connector::{ConnectorPlugin, ConnectorType};
use crate::convert::{build_converter, build_header_converter, find_converter};
use crate::errors::error_config_def;
use crate::plugins::Plugins;
use crate::transforms::{transforms_config_def, TransformChain};

/// Keys every connector has.
pub fn common_config_def(kind: Option<ConnectorType>) -> ConfigDef {
    let g = "Common";
    let mut def = ConfigDef::new()
        .define(ConfigKey::string("name").validator(Validator::Custom(check_name)).group(g).importance(Importance::High)
            .doc("Globally unique name to use for this connector."))
        .define(ConfigKey::class("connector.class").group(g).importance(Importance::High)
            .doc("Name or alias of the class for this connector (e.g. FileStreamSource, file-source, org.apache.kafka.connect.file.FileStreamSourceConnector)."))
        .define(ConfigKey::int("tasks.max").default("1").at_least(1.0).group(g).importance(Importance::High)
            .doc("Maximum number of tasks to use for this connector."))
        .define(ConfigKey::class("key.converter").optional().group(g).importance(Importance::Low)
            .doc("Converter for keys; overrides the worker's. Sub-keys under key.converter.*"))
        .define(ConfigKey::class("value.converter").optional().group(g).importance(Importance::Low)
            .doc("Converter for values; overrides the worker's. Sub-keys under value.converter.*"))
        .define(ConfigKey::class("header.converter").optional().group(g).importance(Importance::Low)
            .doc("Converter for header values; overrides the worker's."));
    if kind == Some(ConnectorType::Source) {
        let e = "Exactly Once Support";
        def = def
            .define(ConfigKey::string("exactly.once.support").default("requested").one_of(&["requested", "required"]).group(e)
                .doc("requested: use exactly-once delivery when the worker has exactly.once.source.support=enabled, else at-least-once. required: refuse to run without it."))
            .define(ConfigKey::string("transaction.boundary").default("poll").one_of(&["poll"]).group(e)
                .doc("Where transactions end: poll (each batch a task returns is one transaction). Connect's interval and connector boundaries are not supported."))
            .define(ConfigKey::long("transaction.boundary.interval.ms").optional().group(e)
                .doc("Accepted for compatibility; only transaction.boundary=poll is supported."));
    }
    if kind == Some(ConnectorType::Sink) {
        def = def
            .define(
                ConfigKey::list("topics")
                    .optional()
                    .group(g)
                    .importance(Importance::High)
                    .doc("Topics to consume, comma-separated. Set this or topics.regex."),
            )
            .define(
                ConfigKey::string("topics.regex")
                    .optional()
                    .group(g)
                    .importance(Importance::High)
                    .doc("Regular expression of topics to consume. Set this or topics."),
            );
    }
    def.merge(&error_config_def())
}

fn check_name(v: &crate::config::TypedValue) -> Result<(), String> {
    match v {
        crate::config::TypedValue::String(s) if s.trim().is_empty() => {
            Err("String may not be empty".into())
        }
        crate::config::TypedValue::String(s) if s.chars().any(|c| c.is_control()) => {
            Err("String may not contain control characters".into())
        }
        _ => Ok(()),
    }
}

/// The result of validating a connector config.
pub struct Validation<'a> {
    /// The plugin named by `connector.class`, if it was found.
    pub plugin: Option<&'a ConnectorPlugin>,
    /// Every key that applies to this config (for the REST validate body).
    pub def: ConfigDef,
    /// Every problem, keyed by config key.
    pub issues: Vec<ConfigIssue>,
}

impl Validation<'_> {
    pub fn is_ok(&self) -> bool {
        self.issues.is_empty()
    }
}

/// The converter class for `key` (`key.converter`...): the connector's if set, else the worker's.
/// Returns the class and its sub-config.
pub fn converter_settings(
    key: &str,
    connector: &RawConfig,
    worker: &WorkerConfig,
) -> (String, RawConfig) {
    let prefix = format!("{}.", key);
    match connector.get(key).filter(|v| !v.trim().is_empty()) {
        Some(class) => (class.trim().to_string(), sub_config(connector, &prefix)),
        None => {
            let class = worker.raw.get(key).cloned().unwrap_or_else(|| {
                if key == "header.converter" {
                    crate::config::worker::SIMPLE_HEADER_CONVERTER.to_string()
                } else {
                    crate::config::worker::JSON_CONVERTER.to_string()
                }
            });
            (class, sub_config(&worker.raw, &prefix))
        }
    }
}

/// Validates a connector config (already resolved through config providers): common
/// keys, the plugin's keys and its own checks, converters and transforms.
pub async fn validate_connector<'a>(
    plugins: &'a Plugins,
    raw: &RawConfig,
    worker: &WorkerConfig,
) -> Validation<'a> {
    let mut issues = Vec::new();
    let class = raw.get("connector.class").cloned();
    let plugin = match &class {
        Some(c) => match plugins.connector_or_issue(c) {
            Ok(p) => Some(p),
            Err(i) => {
                issues.push(i);
                None
            }
        },
        None => None,
    };
    let kind = plugin.map(|p| p.kind());
    let mut def = common_config_def(kind);
    if let Err(mut i) = def.parse(raw) {
        // A missing connector.class was already covered above only if set.
        issues.append(&mut i);
    }
    if kind == Some(ConnectorType::Sink) {
        issues.extend(check_sink_topics(raw));
    }
    for key in ["key.converter", "value.converter"] {
        let (class, sub) = converter_settings(key, raw, worker);
        if let Some(p) = find_converter(&class) {
            def = def.embed(&format!("{}.", key), key, &(p.config_def)());
        }
        if let Err(e) = build_converter(key, &class, &sub, key == "key.converter") {
            issues.extend(e.0);
        }
    }
    let (hclass, hsub) = converter_settings("header.converter", raw, worker);
    if let Err(e) = build_header_converter("header.converter", &hclass, &hsub) {
        issues.extend(e.0);
    }
    def = def.merge(&transforms_config_def(raw));
    if let Err(e) = TransformChain::from_config(raw) {
        issues.extend(e.0);
    }
    if let Some(p) = plugin {
        let own = (p.config_def)();
        let connector = (p.create_connector)();
        match own.parse(raw) {
            Ok(parsed) => issues.extend(connector.validate(&parsed).await),
            Err(mut i) => issues.append(&mut i),
        }
        issues.extend(connector.validate_raw(raw));
        def = def.merge(&own);
    }
    dedup(&mut issues);
    Validation {
        plugin,
        def,
        issues,
    }
}

fn dedup(issues: &mut Vec<ConfigIssue>) {
    let mut seen = std::collections::HashSet::new();
    issues.retain(|i| seen.insert((i.key.clone(), i.message.clone())));
}

/// `topics` xor `topics.regex`, a valid regex, and the DLQ topic not among the inputs.
fn check_sink_topics(raw: &RawConfig) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let topics = raw.get("topics").map(|t| split_list(t)).unwrap_or_default();
    let regex = raw
        .get("topics.regex")
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let dlq = raw
        .get("errors.deadletterqueue.topic.name")
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    match (&topics.is_empty(), &regex) {
        (false, Some(_)) => issues.push(ConfigIssue::new(
            "topics",
            "topics and topics.regex are mutually exclusive options, but both are set.",
        )),
        (true, None) => issues.push(ConfigIssue::new(
            "topics",
            "Must configure one of topics or topics.regex",
        )),
        _ => {}
    }
    if let Some(r) = &regex {
        match Regex::new(&format!("^(?:{})$", r)) {
            Ok(re) => {
                if let Some(d) = &dlq {
                    if re.is_match(d) {
                        issues.push(ConfigIssue::new(
                            "errors.deadletterqueue.topic.name",
                            format!("The DLQ topic '{}' may not be matched by the regex for the topics ('topics.regex={}') consumed by the connector", d, r),
                        ));
                    }
                }
            }
            Err(e) => issues.push(ConfigIssue::new(
                "topics.regex",
                format!("Invalid regular expression {}: {}", r, e),
            )),
        }
    }
    if let Some(d) = &dlq {
        if topics.contains(d) {
            issues.push(ConfigIssue::new(
                "errors.deadletterqueue.topic.name",
                format!("The DLQ topic '{}' may not be included in the list of topics ('topics=[{}]') consumed by the connector", d, topics.join(", ")),
            ));
        }
    }
    issues
}

/// Parses a connector config that passed validation into the plugin's typed config.
pub fn parse_plugin_config(
    plugin: &ConnectorPlugin,
    raw: &RawConfig,
) -> Result<ParsedConfig, crate::config::ConfigErrors> {
    (plugin.config_def)()
        .parse(raw)
        .map_err(crate::config::ConfigErrors)
}
