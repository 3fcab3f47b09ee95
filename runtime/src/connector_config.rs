//! A connector's full config: the common keys every connector has (Connect's
//! `ConnectorConfig`, `SinkConnectorConfig`), the plugin's own keys, the converters'
//! sub-keys and the transforms'. [`validate_connector`] checks all of them and lists
//! every problem; nothing starts half-configured.

use regex::Regex;

use crate::config::worker::WorkerConfig;
use crate::config::{
    split_list, sub_config, ConfigDef, ConfigIssue, ConfigKey, Importance, ParsedConfig, RawConfig,
    Validator, Width,
};
use crate::connector::{ConnectorPlugin, ConnectorType};
use crate::convert::{build_converter, build_header_converter, converter_plugins};
use crate::errors::{dlq_config_def, error_config_def};
use crate::plugins::Plugins;
use crate::transforms::{transforms_config_def, TransformChain};

/// The version of every plugin this build holds (all are built with Sluice).
pub const PLUGIN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Keys every connector has: Connect's `ConnectorConfig` (and `SinkConnectorConfig` /
/// `SourceConnectorConfig`) keys with Connect's types, defaults, groups, order and
/// labels, so that the REST `validate` and `config` bodies match Connect's.
pub fn common_config_def(kind: Option<ConnectorType>) -> ConfigDef {
    let g = "Common";
    let version = || vec![PLUGIN_VERSION.to_string()];
    let mut def = ConfigDef::new()
        .define(ConfigKey::string("name").validator(Validator::Custom(check_name)).group(g).order(1).width(Width::Medium).display("Connector name").importance(Importance::High)
            .doc("Globally unique name to use for this connector."))
        .define(ConfigKey::string("connector.class").group(g).order(2).width(Width::Long).display("Connector class").importance(Importance::High)
            .doc("Name or alias of the class for this connector (e.g. FileStreamSource, file-source, org.apache.kafka.connect.file.FileStreamSourceConnector)."))
        .define(ConfigKey::string("connector.plugin.version").default(PLUGIN_VERSION).validator(Validator::Custom(check_plugin_version)).recommend(version()).group(g).order(3).width(Width::Medium).display("Connector version")
            .doc("The version (or Maven-style range, e.g. [0.1,1.0)) of the connector plugin to use. Sluice holds one version of each plugin, its own."))
        .define(ConfigKey::int("tasks.max").default("1").at_least(1.0).group(g).order(4).width(Width::Short).display("Tasks max").importance(Importance::High)
            .doc("Maximum number of tasks to use for this connector."))
        .define(ConfigKey::boolean("tasks.max.enforce").default("true").group(g).order(5).width(Width::Short).display("Enforce tasks max").importance(Importance::Low)
            .doc("Deprecated in Connect. When false, a connector may run more tasks than tasks.max (Sluice's connectors never ask for more)."))
        .define(ConfigKey::class("key.converter").optional().group(g).order(6).width(Width::Short).display("Key converter class").importance(Importance::Low)
            .doc("Converter for keys; overrides the worker's. Sub-keys under key.converter.*"))
        .define(ConfigKey::string("key.converter.plugin.version").optional().validator(Validator::Custom(check_plugin_version)).recommend(version()).group(g).order(7).width(Width::Short).display("Key converter version").importance(Importance::Low)
            .doc("The version (or range) of the key converter plugin."))
        .define(ConfigKey::class("value.converter").optional().group(g).order(8).width(Width::Short).display("Value converter class").importance(Importance::Low)
            .doc("Converter for values; overrides the worker's. Sub-keys under value.converter.*"))
        .define(ConfigKey::string("value.converter.plugin.version").optional().validator(Validator::Custom(check_plugin_version)).recommend(version()).group(g).order(9).width(Width::Short).display("Value converter version").importance(Importance::Low)
            .doc("The version (or range) of the value converter plugin."))
        .define(ConfigKey::class("header.converter").optional().group(g).order(10).width(Width::Short).display("Header converter class").importance(Importance::Low)
            .doc("Converter for header values; overrides the worker's."))
        .define(ConfigKey::string("header.converter.plugin.version").optional().validator(Validator::Custom(check_plugin_version)).recommend(version()).group(g).order(11).width(Width::Short).display("Header converter version").importance(Importance::Low)
            .doc("The version (or range) of the header converter plugin."))
        .define(ConfigKey::list("transforms").default("").group("Transforms").order(12).width(Width::Long).display("Transforms").importance(Importance::Low)
            .doc("Aliases of the transformations to apply, in order."))
        .define(ConfigKey::list("predicates").default("").group("Predicates").order(13).width(Width::Long).display("Predicates").importance(Importance::Low)
            .doc("Aliases of the predicates used by the transformations."))
        .define(ConfigKey::string("config.action.reload").default("restart").one_of(&["restart", "none"]).recommend(vec![]).group(g).order(14).width(Width::Medium).display("Reload Action").importance(Importance::Low)
            .doc("What to do when a config provider says a value changed: restart the connector, or nothing. Sluice's providers (env, file) never announce changes; values are read again at every (re)start."))
        .merge(&error_config_def());
    match kind {
        Some(ConnectorType::Sink) => {
            def = def
                .define(
                    ConfigKey::list("topics")
                        .default("")
                        .group(g)
                        .order(4)
                        .width(Width::Long)
                        .display("Topics")
                        .importance(Importance::High)
                        .doc("Topics to consume, comma-separated. Set this or topics.regex."),
                )
                .define(
                    ConfigKey::string("topics.regex")
                        .default("")
                        .group(g)
                        .order(4)
                        .width(Width::Long)
                        .display("Topics regex")
                        .importance(Importance::High)
                        .doc("Regular expression of topics to consume. Set this or topics."),
                )
                .merge(&dlq_config_def());
        }
        Some(ConnectorType::Source) => {
            let e = "Exactly Once Support";
            def = def
                .define(ConfigKey::list("topic.creation.groups").default("").group("Topic Creation").order(1).width(Width::Long).display("Topic Creation Groups").importance(Importance::Low)
                    .doc("Groups of topic.creation.<group>.* settings (beside the default group) for topics the connector writes to; see topic.creation.default.*."))
                .define(ConfigKey::string("exactly.once.support").default("requested").one_of(&["requested", "required"]).recommend(vec![]).group(e).order(2).width(Width::Short).display("Exactly once support")
                    .doc("requested: use exactly-once delivery when the worker has exactly.once.source.support=enabled, else at-least-once. required: refuse to run without it."))
                .define(ConfigKey::string("transaction.boundary").default("poll").one_of(&["poll"]).recommend(vec![]).group(e).order(3).width(Width::Short).display("Transaction Boundary")
                    .doc("Where transactions end: poll (each batch a task returns is one transaction). Connect's interval and connector boundaries are not supported."))
                .define(ConfigKey::long("transaction.boundary.interval.ms").optional().group(e).order(4).width(Width::Short).display("Transaction boundary interval").importance(Importance::Low)
                    .doc("Accepted for compatibility; only transaction.boundary=poll is supported."))
                .define(ConfigKey::string("offsets.storage.topic").optional().validator(Validator::Custom(check_no_own_offsets_topic)).group("offsets.topic").order(1).width(Width::Long).display("Offsets topic").importance(Importance::Low)
                    .doc("A topic of its own for this connector's offsets. Not supported yet: Sluice keeps every connector's offsets in the worker's offset.storage.topic (or file)."))
                // Sluice: dead letter queues for sources too.
                .merge(&dlq_config_def());
        }
        None => {}
    }
    def
}

/// `connector.plugin.version` and the converters': Sluice's version, or a Maven-style
/// range that contains it.
fn check_plugin_version(v: &crate::config::TypedValue) -> Result<(), String> {
    let crate::config::TypedValue::String(s) = v else {
        return Ok(());
    };
    if version_matches(s.trim(), PLUGIN_VERSION) {
        Ok(())
    } else {
        Err(format!(
            "Sluice holds version {} of this plugin, which {} does not match",
            PLUGIN_VERSION, s
        ))
    }
}

/// Whether `have` satisfies `wanted`: a plain version (equal), or a Maven range such as
/// `[1.0,2.0)`, `[1.0,)`, `(,2.0]`.
pub fn version_matches(wanted: &str, have: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> {
        v.split(['.', '-'])
            .map(|p| p.parse::<u64>().unwrap_or(0))
            .collect()
    };
    if wanted.is_empty() || wanted == "latest" {
        return true;
    }
    let (open, close) = (
        wanted.chars().next().unwrap(),
        wanted.chars().last().unwrap(),
    );
    if !matches!(open, '[' | '(') || !matches!(close, ']' | ')') {
        return wanted == have;
    }
    let inner = &wanted[1..wanted.len() - 1];
    let Some((lo, hi)) = inner.split_once(',') else {
        return inner.trim() == have; // [1.0]: exactly
    };
    let h = parse(have);
    let lo_ok = lo.trim().is_empty() || {
        let l = parse(lo.trim());
        if open == '[' {
            h >= l
        } else {
            h > l
        }
    };
    let hi_ok = hi.trim().is_empty() || {
        let u = parse(hi.trim());
        if close == ']' {
            h <= u
        } else {
            h < u
        }
    };
    lo_ok && hi_ok
}

fn check_no_own_offsets_topic(v: &crate::config::TypedValue) -> Result<(), String> {
    match v {
        crate::config::TypedValue::String(s) if !s.trim().is_empty() => Err(
            "per-connector offsets topics are not supported yet; remove offsets.storage.topic to keep this connector's offsets in the worker's offset.storage.topic"
                .into(),
        ),
        _ => Ok(()),
    }
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
    /// Keys nothing reads (see `config::unknown_keys`): reported, not refused.
    pub warnings: Vec<ConfigIssue>,
}

impl Validation<'_> {
    pub fn is_ok(&self) -> bool {
        self.issues.is_empty()
    }
}

/// The result of [`check_config`]: the problems, and the typed parts that parsed.
pub struct Checked<'a> {
    pub plugin: Option<&'a ConnectorPlugin>,
    /// Every key that applies to this config.
    pub def: ConfigDef,
    pub issues: Vec<ConfigIssue>,
    /// The common keys (`tasks.max`, errors, topics...), if they parsed.
    pub common: Option<ParsedConfig>,
    /// The plugin's own keys, if they parsed.
    pub plugin_config: Option<ParsedConfig>,
    /// Keys nothing reads.
    pub warnings: Vec<ConfigIssue>,
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
        None => (
            worker_converter(key, worker),
            sub_config(&worker.raw, &prefix),
        ),
    }
}

/// The worker's converter class for `key` (Sluice's default if the worker sets none).
fn worker_converter(key: &str, worker: &WorkerConfig) -> String {
    worker.raw.get(key).cloned().unwrap_or_else(|| {
        if key == "header.converter" {
            crate::config::worker::SIMPLE_HEADER_CONVERTER.to_string()
        } else {
            crate::config::worker::JSON_CONVERTER.to_string()
        }
    })
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Checks a connector config (already resolved through config providers) without
/// touching the network: common keys, the plugin's keys and its cross-key checks,
/// converters and transforms. Lists every problem.
pub fn check_config<'a>(
    plugins: &'a Plugins,
    raw: &RawConfig,
    worker: &WorkerConfig,
) -> Checked<'a> {
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
    let common = match def.parse(raw) {
        Ok(p) => Some(p),
        Err(mut i) => {
            // A missing connector.class was already covered above only if set.
            issues.append(&mut i);
            None
        }
    };
    if kind == Some(ConnectorType::Sink) {
        issues.extend(check_sink_topics(raw));
        issues.extend(check_assignment_strategy(
            raw,
            "consumer.override.partition.assignment.strategy",
        ));
    }
    // Kafka client security overrides that do not translate for librdkafka.
    issues.extend(worker.check_client_overrides(raw));
    if kind == Some(ConnectorType::Source) && worker.topic_creation {
        if let Err(mut i) = crate::task::topic_creation::TopicCreation::from_config(raw) {
            issues.append(&mut i);
        }
    }
    // As Connect shows them: the worker's converters are the defaults, and every
    // converter class is a recommended value. Problems in a converter's own keys
    // (key.converter.*) are reported under those keys.
    let converters: Vec<String> = converter_plugins()
        .iter()
        .filter(|c| c.create.is_some())
        .map(|c| c.class.to_string())
        .collect();
    let header_converters: Vec<String> = converter_plugins()
        .iter()
        .filter(|c| c.create_header.is_some())
        .map(|c| c.class.to_string())
        .collect();
    for key in ["key.converter", "value.converter"] {
        let (class, sub) = converter_settings(key, raw, worker);
        def.set_default(key, worker_converter(key, worker));
        def.set_recommended(key, sorted(converters.clone()));
        if let Err(e) = build_converter(key, &class, &sub, key == "key.converter") {
            issues.extend(e.0);
        }
    }
    let (hclass, hsub) = converter_settings("header.converter", raw, worker);
    def.set_default(
        "header.converter",
        worker_converter("header.converter", worker),
    );
    for key in ["key", "value", "header"] {
        // The chosen converter is known now, and so its version.
        def.set_default(&format!("{key}.converter.plugin.version"), PLUGIN_VERSION);
    }
    def.set_recommended("header.converter", sorted(header_converters));
    if let Err(e) = build_header_converter("header.converter", &hclass, &hsub) {
        issues.extend(e.0);
    }
    def = def.merge(&transforms_config_def(raw));
    if let Err(e) = TransformChain::from_config(raw) {
        issues.extend(e.0);
    }
    let mut plugin_config = None;
    if let Some(p) = plugin {
        let own = (p.config_def)();
        match own.parse(raw) {
            Ok(parsed) => plugin_config = Some(parsed),
            Err(mut i) => issues.append(&mut i),
        }
        issues.extend((p.create_connector)().validate_raw(raw));
        def = def.merge(&own);
    }
    dedup(&mut issues);
    let warnings = if plugin.is_some() {
        crate::config::unknown_keys::unknown_key_warnings(&def, raw)
    } else {
        Vec::new()
    };
    Checked {
        plugin,
        def,
        issues,
        common,
        plugin_config,
        warnings,
    }
}

/// Validates a connector config (already resolved through config providers): every
/// check of [`check_config`], then the connector's own checks, which may reach the
/// outside system (e.g. the JDBC source connects to its database).
pub async fn validate_connector<'a>(
    plugins: &'a Plugins,
    raw: &RawConfig,
    worker: &WorkerConfig,
) -> Validation<'a> {
    let checked = check_config(plugins, raw, worker);
    let mut issues = checked.issues;
    if let (Some(p), Some(parsed)) = (checked.plugin, &checked.plugin_config) {
        issues.extend((p.create_connector)().validate(parsed).await);
        dedup(&mut issues);
    }
    Validation {
        plugin: checked.plugin,
        def: checked.def,
        issues,
        warnings: checked.warnings,
    }
}

fn dedup(issues: &mut Vec<ConfigIssue>) {
    let mut seen = std::collections::HashSet::new();
    issues.retain(|i| seen.insert((i.key.clone(), i.message.clone())));
}

/// Sink consumers take part in eager rebalances only: with cooperative (incremental)
/// assignment a task would keep partitions across a rebalance while the task loop
/// treats every rebalance as a new start, so such a setting is refused.
pub fn check_assignment_strategy(raw: &RawConfig, key: &str) -> Vec<ConfigIssue> {
    match raw.get(key) {
        Some(v) if v.to_ascii_lowercase().contains("cooperative") => vec![ConfigIssue::new(
            key,
            format!(
                "{} is not supported: Sluice's sink tasks use eager rebalancing (range or roundrobin, librdkafka's default), where a task hands back every partition at each rebalance after committing what it wrote. Remove the cooperative assignor from {}",
                v.trim(),
                key
            ),
        )],
        _ => Vec::new(),
    }
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
        (false, Some(_)) => {
            for key in ["topics", "topics.regex"] {
                issues.push(ConfigIssue::new(
                    key,
                    "topics and topics.regex are mutually exclusive options, but both are set.",
                ));
            }
        }
        (true, None) => {
            // As Connect: the problem is reported under both keys.
            for key in ["topics", "topics.regex"] {
                issues.push(ConfigIssue::new(
                    key,
                    "Must configure one of topics or topics.regex",
                ));
            }
        }
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
