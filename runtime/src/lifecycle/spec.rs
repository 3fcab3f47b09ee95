//! A connector config, typed once per (re)start: [`ConnectorSpec`].

use crate::config::secrets::scrub_issues;
use crate::config::worker::WorkerConfig;
use crate::config::{split_list, sub_config, ConfigIssue, ParsedConfig, RawConfig};
use crate::connector::{ConnectorPlugin, ConnectorType};
use crate::connector_config::{check_config, converter_settings};
use crate::errors::ErrorPolicy;
use crate::plugins::Plugins;
use crate::task::sink::SinkSubscription;
use crate::task::topic_creation::TopicCreation;

/// Why a connector config cannot run. Both lists name each key and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// A config provider (`${env:..}`, `${file:..}`) could not supply a value. The
    /// messages name the key and the placeholder, never a resolved value.
    #[error("a config provider failed: {}", join(.0))]
    Providers(Vec<ConfigIssue>),
    /// The config does not validate.
    #[error("invalid connector config: {}", join(.0))]
    Invalid(Vec<ConfigIssue>),
}

impl SpecError {
    /// Every problem, keyed by config key.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            SpecError::Providers(i) | SpecError::Invalid(i) => i,
        }
    }
}

fn join(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `exactly.once.support` of a source connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnce {
    /// Use transactions when the worker enables them.
    Requested,
    /// Refuse to run without them.
    Required,
}

/// What only source connectors have.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub exactly_once: ExactlyOnce,
    /// `topic.creation.*` rules, when the worker allows topic creation and the
    /// connector sets them.
    pub topic_creation: Option<TopicCreation>,
}

/// What only sink connectors have.
#[derive(Debug, Clone)]
pub struct SinkSpec {
    /// `topics` or `topics.regex`.
    pub subscription: SinkSubscription,
    /// Records per `put` (`max.poll.records` of the consumer settings; 500).
    pub max_batch: usize,
}

/// The source- or sink-specific part of a spec.
#[derive(Debug, Clone)]
pub enum KindSpec {
    Source(SourceSpec),
    Sink(SinkSpec),
}

/// One converter: its class and its own keys (`key.converter.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConverterSpec {
    pub class: String,
    pub config: RawConfig,
}

/// The converters and transforms every task of the connector builds its pipeline
/// from (each task gets its own instances: converters and transforms keep state).
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    pub key: ConverterSpec,
    pub value: ConverterSpec,
    pub header: ConverterSpec,
    /// `transforms`, `predicates` and their `transforms.*` / `predicates.*` keys.
    pub transforms: RawConfig,
}

/// Kafka client settings the connector overrides (`producer.override.*`, ...).
#[derive(Debug, Clone, Default)]
pub struct ClientOverrides {
    pub producer: RawConfig,
    pub consumer: RawConfig,
    pub admin: RawConfig,
}

/// A connector config resolved through the config providers, checked (every declared
/// key, converters, transforms; nothing that needs the network) and typed, once per
/// (re)start. The raw map is kept only to be stored and shown.
#[derive(Debug, Clone)]
pub struct ConnectorSpec {
    pub name: String,
    pub plugin: ConnectorPlugin,
    /// As stored and shown: provider placeholders kept.
    pub raw: RawConfig,
    /// With provider placeholders replaced by their values; never stored or shown.
    resolved: RawConfig,
    /// Keys whose values came from a config provider.
    secret_keys: Vec<String>,
    pub tasks_max: usize,
    /// `tasks.max.enforce`: at most `tasks_max` task configs are run.
    pub tasks_max_enforce: bool,
    /// The plugin's own keys, typed: what the connector instance is started with.
    pub config: ParsedConfig,
    pub errors: ErrorPolicy,
    pub pipeline: PipelineSpec,
    pub clients: ClientOverrides,
    pub kind: KindSpec,
    /// Keys nothing reads (typos, keys of the peer connector Sluice lacks), logged
    /// when the connector starts.
    pub warnings: Vec<ConfigIssue>,
}

impl ConnectorSpec {
    /// Resolves, checks and types `raw` as the config of connector `name`.
    pub fn resolve(
        plugins: &Plugins,
        worker: &WorkerConfig,
        name: &str,
        raw: &RawConfig,
    ) -> Result<Self, SpecError> {
        let (resolved, secret_keys) = worker
            .providers
            .resolve(raw)
            .map_err(SpecError::Providers)?;
        let checked = check_config(plugins, &resolved, worker);
        if !checked.issues.is_empty() {
            return Err(SpecError::Invalid(scrub_issues(
                checked.issues,
                raw,
                &resolved,
                &secret_keys,
            )));
        }
        let (Some(plugin), Some(common)) = (checked.plugin, checked.common) else {
            return Err(SpecError::Invalid(missing_class(checked.issues)));
        };
        let config = checked
            .plugin_config
            .expect("a config without issues parsed with the plugin's keys");
        let pipeline = PipelineSpec {
            key: converter("key.converter", &resolved, worker),
            value: converter("value.converter", &resolved, worker),
            header: converter("header.converter", &resolved, worker),
            transforms: resolved
                .iter()
                .filter(|(k, _)| {
                    *k == "transforms"
                        || *k == "predicates"
                        || k.starts_with("transforms.")
                        || k.starts_with("predicates.")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let clients = ClientOverrides {
            producer: sub_config(&resolved, "producer.override."),
            consumer: sub_config(&resolved, "consumer.override."),
            admin: sub_config(&resolved, "admin.override."),
        };
        let kind = match plugin.kind() {
            ConnectorType::Source => KindSpec::Source(SourceSpec {
                exactly_once: if common
                    .str("exactly.once.support")
                    .eq_ignore_ascii_case("required")
                {
                    ExactlyOnce::Required
                } else {
                    ExactlyOnce::Requested
                },
                topic_creation: if worker.topic_creation {
                    TopicCreation::from_config(&resolved).map_err(SpecError::Invalid)?
                } else {
                    None
                },
            }),
            ConnectorType::Sink => KindSpec::Sink(SinkSpec {
                subscription: subscription(&common),
                max_batch: clients
                    .consumer
                    .get("max.poll.records")
                    .or(worker.client_config("consumer.").get("max.poll.records"))
                    .and_then(|v| v.trim().parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or(500),
            }),
        };
        Ok(ConnectorSpec {
            name: name.to_string(),
            plugin: plugin.clone(),
            raw: raw.clone(),
            tasks_max: common.int("tasks.max").max(1) as usize,
            tasks_max_enforce: common.boolean("tasks.max.enforce"),
            errors: ErrorPolicy::from_config(&common),
            config,
            pipeline,
            clients,
            kind,
            warnings: checked.warnings,
            resolved,
            secret_keys,
        })
    }

    pub fn kind(&self) -> ConnectorType {
        self.plugin.kind()
    }

    /// The connector's config with provider values resolved (for the connector's own
    /// start; never stored or shown).
    pub fn resolved(&self) -> &RawConfig {
        &self.resolved
    }

    /// The task configs a connector generated, as they are run and as they are stored:
    /// at most `tasks.max` of them (unless `tasks.max.enforce=false`), each carrying
    /// Connect's `task.class` (so that Kafka Connect can run task configs Sluice
    /// wrote), and, to store, with provider placeholders put back where the task
    /// config holds a resolved secret (Connect's `reverseTransform`).
    pub fn finish_task_configs(&self, generated: Vec<RawConfig>) -> Vec<TaskConfig> {
        let n = generated.len();
        if n > self.tasks_max && !self.tasks_max_enforce {
            tracing::warn!(
                connector = %self.name,
                "the connector generated {} task configs, more than tasks.max={}; running all of them (tasks.max.enforce=false)",
                n, self.tasks_max
            );
        }
        let keep = if self.tasks_max_enforce {
            self.tasks_max
        } else {
            n
        };
        generated
            .into_iter()
            .take(keep)
            .map(|mut run| {
                run.insert("task.class".into(), self.plugin.task_class.to_string());
                let mut stored = run.clone();
                for k in &self.secret_keys {
                    if let (Some(tv), Some(rv), Some(orig)) =
                        (run.get(k), self.resolved.get(k), self.raw.get(k))
                    {
                        if tv == rv {
                            stored.insert(k.clone(), orig.clone());
                        }
                    }
                }
                TaskConfig { run, stored }
            })
            .collect()
    }
}

/// A task config in the two forms the runtime needs.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskConfig {
    /// What the task runs with (provider values resolved).
    pub run: RawConfig,
    /// What is stored and shown (provider placeholders kept).
    pub stored: RawConfig,
}

fn converter(key: &str, resolved: &RawConfig, worker: &WorkerConfig) -> ConverterSpec {
    let (class, config) = converter_settings(key, resolved, worker);
    ConverterSpec { class, config }
}

fn subscription(common: &ParsedConfig) -> SinkSubscription {
    let regex = common.str("topics.regex");
    let regex = regex.trim();
    if regex.is_empty() {
        SinkSubscription::Topics(split_list(&common.list("topics").join(",")))
    } else {
        // librdkafka treats a subscription as a regex only when it starts with ^.
        SinkSubscription::Pattern(format!("^{}", regex.trim_start_matches('^')))
    }
}

/// A config without a (known) connector class: make sure that problem is listed.
fn missing_class(mut issues: Vec<ConfigIssue>) -> Vec<ConfigIssue> {
    if !issues.iter().any(|i| i.key == "connector.class") {
        issues.insert(
            0,
            ConfigIssue::new(
                "connector.class",
                "Missing required configuration \"connector.class\" which has no default value.",
            ),
        );
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigDef, ConfigKey};
    use crate::connector::{
        ConnectError, CopyConfigConnector, SourceBatch, SourceTask, SourceTaskContext,
        StartSourceTask, TaskFactory,
    };

    struct Idle;
    impl StartSourceTask for Idle {
        async fn start(_: ParsedConfig, _: SourceTaskContext) -> Result<Self, ConnectError> {
            Ok(Idle)
        }
    }
    #[async_trait::async_trait]
    impl SourceTask for Idle {
        async fn poll(&mut self) -> Result<SourceBatch, ConnectError> {
            Ok(SourceBatch::new())
        }
    }

    fn plugins() -> Plugins {
        Plugins::new(vec![ConnectorPlugin {
            class: "test.SplitConnector",
            aliases: &["split"],
            task_class: "test.SplitTask",
            version: "1",
            doc: "",
            config_def: || ConfigDef::new().define(ConfigKey::string("secret").optional()),
            create_connector: || Box::new(CopyConfigConnector::new(false)),
            create_task: TaskFactory::source::<Idle>(),
            dry_run: None,
        }])
    }

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn worker(extra: &[(&str, &str)]) -> WorkerConfig {
        let mut r = raw(&[("offset.storage.file.filename", "/tmp/x")]);
        r.extend(raw(extra));
        WorkerConfig::parse(r).unwrap()
    }

    #[test]
    fn tasks_max_caps_the_task_configs_unless_not_enforced() {
        let (plugins, worker) = (plugins(), worker(&[]));
        let generated = vec![RawConfig::new(); 5];
        let spec = ConnectorSpec::resolve(
            &plugins,
            &worker,
            "c",
            &raw(&[
                ("name", "c"),
                ("connector.class", "split"),
                ("tasks.max", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(spec.tasks_max, 2);
        let tasks = spec.finish_task_configs(generated.clone());
        assert_eq!(tasks.len(), 2);
        assert!(tasks
            .iter()
            .all(|t| t.run.get("task.class").map(String::as_str) == Some("test.SplitTask")));
        let loose = ConnectorSpec::resolve(
            &plugins,
            &worker,
            "c",
            &raw(&[
                ("name", "c"),
                ("connector.class", "split"),
                ("tasks.max", "2"),
                ("tasks.max.enforce", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(loose.finish_task_configs(generated).len(), 5);
        // Unset: Connect's default of 1, the same on every path.
        let default = ConnectorSpec::resolve(
            &plugins,
            &worker,
            "c",
            &raw(&[("name", "c"), ("connector.class", "split")]),
        )
        .unwrap();
        assert_eq!(default.tasks_max, 1);
    }

    #[test]
    fn a_bad_tasks_max_is_a_config_error_not_a_fallback() {
        let e = ConnectorSpec::resolve(
            &plugins(),
            &worker(&[]),
            "c",
            &raw(&[
                ("name", "c"),
                ("connector.class", "split"),
                ("tasks.max", "many"),
            ]),
        )
        .unwrap_err();
        assert!(matches!(e, SpecError::Invalid(_)), "{:?}", e);
        assert!(e.issues().iter().any(|i| i.key == "tasks.max"), "{:?}", e);
    }

    #[test]
    fn stored_task_configs_keep_provider_placeholders() {
        std::env::set_var("SLUICE_SPEC_TEST_SECRET", "s3cret");
        let worker = worker(&[
            ("config.providers", "env"),
            ("config.providers.env.class", "EnvVarConfigProvider"),
        ]);
        let spec = ConnectorSpec::resolve(
            &plugins(),
            &worker,
            "c",
            &raw(&[
                ("name", "c"),
                ("connector.class", "split"),
                ("secret", "${env:SLUICE_SPEC_TEST_SECRET}"),
            ]),
        )
        .unwrap();
        assert_eq!(spec.config.string("secret").as_deref(), Some("s3cret"));
        let tasks = spec.finish_task_configs(vec![spec.resolved().clone()]);
        assert_eq!(tasks[0].run["secret"], "s3cret");
        assert_eq!(tasks[0].stored["secret"], "${env:SLUICE_SPEC_TEST_SECRET}");
    }

    #[test]
    fn a_failing_provider_names_the_key_not_a_value() {
        let worker = worker(&[
            ("config.providers", "env"),
            ("config.providers.env.class", "EnvVarConfigProvider"),
        ]);
        let e = ConnectorSpec::resolve(
            &plugins(),
            &worker,
            "c",
            &raw(&[
                ("name", "c"),
                ("connector.class", "split"),
                ("secret", "${env:SLUICE_SPEC_TEST_UNSET_VARIABLE}"),
            ]),
        )
        .unwrap_err();
        assert!(matches!(e, SpecError::Providers(_)), "{:?}", e);
        assert_eq!(e.issues()[0].key, "secret");
    }
}
