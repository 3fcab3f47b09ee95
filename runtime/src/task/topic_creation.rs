//! Topic creation by source connectors (Kafka Connect's KIP-158): before a source task
//! writes its first record to a topic, it creates the topic if it is missing, with the
//! partitions, replication factor and topic configs of the first group in
//! `topic.creation.groups` whose `include` matches and `exclude` does not, else of the
//! `default` group. Enabled when the worker has `topic.creation.enable=true` (the
//! default) and the connector sets `topic.creation.default.replication.factor` and
//! `topic.creation.default.partitions`.

use std::collections::HashSet;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::ClientConfig;
use regex::Regex;

use crate::config::{split_list, ConfigIssue, RawConfig};

/// Keys of a group that are not topic configs.
const GROUP_KEYS: &[&str] = &["include", "exclude", "replication.factor", "partitions"];

/// One group of topic settings.
#[derive(Debug, Clone)]
pub struct TopicGroup {
    pub name: String,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    /// -1: the broker's default.
    pub partitions: i32,
    /// -1: the broker's default.
    pub replication: i32,
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    pub configs: Vec<(String, String)>,
}

impl TopicGroup {
    fn matches(&self, topic: &str) -> bool {
        self.include.iter().any(|r| r.is_match(topic))
            && !self.exclude.iter().any(|r| r.is_match(topic))
    }
}

/// A connector's topic creation rules: its groups, then `default`.
#[derive(Debug, Clone)]
pub struct TopicCreation {
    pub groups: Vec<TopicGroup>,
    pub default: TopicGroup,
}

/// Whether a connector config says anything about topic creation.
pub fn configured(raw: &RawConfig) -> bool {
    raw.keys().any(|k| k.starts_with("topic.creation."))
}

impl TopicCreation {
    /// Reads the rules from a connector config. `Ok(None)`: topic creation is not
    /// asked for (no `topic.creation.default.*`). Every problem is listed.
    pub fn from_config(raw: &RawConfig) -> Result<Option<TopicCreation>, Vec<ConfigIssue>> {
        let has_default = raw.keys().any(|k| k.starts_with("topic.creation.default."));
        let groups = split_list(
            raw.get("topic.creation.groups")
                .map(String::as_str)
                .unwrap_or(""),
        );
        if !has_default {
            if groups.is_empty() {
                return Ok(None);
            }
            return Err(vec![ConfigIssue::new(
                "topic.creation.default.replication.factor",
                "topic.creation.groups is set, but the default group is not: set topic.creation.default.replication.factor and topic.creation.default.partitions",
            )]);
        }
        let mut issues = Vec::new();
        let default = group(raw, "default", None, &mut issues);
        let mut out = Vec::new();
        for g in groups {
            if g == "default" {
                continue;
            }
            out.push(group(raw, &g, Some(&default), &mut issues));
        }
        if issues.is_empty() {
            Ok(Some(TopicCreation {
                groups: out,
                default,
            }))
        } else {
            Err(issues)
        }
    }

    /// The group whose settings apply to `topic`.
    pub fn group_for(&self, topic: &str) -> &TopicGroup {
        self.groups
            .iter()
            .find(|g| g.matches(topic))
            .unwrap_or(&self.default)
    }
}

/// Reads `topic.creation.<name>.*`. Other groups take the default group's partitions
/// and replication factor when they set none.
fn group(
    raw: &RawConfig,
    name: &str,
    default: Option<&TopicGroup>,
    issues: &mut Vec<ConfigIssue>,
) -> TopicGroup {
    let prefix = format!("topic.creation.{}.", name);
    let key = |k: &str| format!("{}{}", prefix, k);
    let mut number = |k: &str, fallback: Option<i32>| -> i32 {
        match raw.get(&key(k)) {
            Some(v) => match v.trim().parse::<i32>() {
                Ok(n) if n == -1 || n >= 1 => n,
                _ => {
                    issues.push(ConfigIssue::new(
                        key(k),
                        format!("Invalid value {} for configuration {}: must be -1 (the broker's default) or at least 1", v, key(k)),
                    ));
                    -1
                }
            },
            None => match fallback {
                Some(f) => f,
                None => {
                    issues.push(ConfigIssue::new(
                        key(k),
                        format!("Missing required configuration \"{}\": topic creation needs the default group's partitions and replication factor", key(k)),
                    ));
                    -1
                }
            },
        }
    };
    let replication = number("replication.factor", default.map(|d| d.replication));
    let partitions = number("partitions", default.map(|d| d.partitions));
    let regexes = |k: &str, issues: &mut Vec<ConfigIssue>| -> Vec<Regex> {
        split_list(raw.get(&key(k)).map(String::as_str).unwrap_or(""))
            .into_iter()
            .filter_map(|r| match Regex::new(&format!("^(?:{})$", r)) {
                Ok(re) => Some(re),
                Err(e) => {
                    issues.push(ConfigIssue::new(
                        key(k),
                        format!("Invalid regular expression {}: {}", r, e),
                    ));
                    None
                }
            })
            .collect()
    };
    let (include, exclude) = if default.is_none() {
        // The default group takes every topic the others do not.
        (vec![Regex::new(".*").expect("valid")], Vec::new())
    } else {
        let include = regexes("include", issues);
        if include.is_empty() && !raw.contains_key(&key("include")) {
            issues.push(ConfigIssue::new(
                key("include"),
                format!("topic creation group {} needs {} (the topics it applies to, as regular expressions)", name, key("include")),
            ));
        }
        (include, regexes("exclude", issues))
    };
    let configs = raw
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|c| (c, v)))
        .filter(|(c, _)| !GROUP_KEYS.contains(c))
        .map(|(c, v)| (c.to_string(), v.clone()))
        .collect();
    TopicGroup {
        name: name.to_string(),
        include,
        exclude,
        partitions,
        replication,
        configs,
    }
}

/// Creates missing topics for one source task, once per topic.
pub struct TopicCreator {
    rules: TopicCreation,
    admin: ClientConfig,
    known: HashSet<String>,
}

impl TopicCreator {
    pub fn new(rules: TopicCreation, admin: ClientConfig) -> Self {
        TopicCreator {
            rules,
            admin,
            known: HashSet::new(),
        }
    }

    /// Makes sure `topic` exists, creating it per the rules. Errors name the topic.
    pub async fn ensure(&mut self, topic: &str) -> Result<(), String> {
        if self.known.contains(topic) {
            return Ok(());
        }
        let g = self.rules.group_for(topic).clone();
        let client: AdminClient<DefaultClientContext> = self
            .admin
            .create()
            .map_err(|e| format!("cannot create a Kafka admin client: {}", e))?;
        let mut new = NewTopic::new(topic, g.partitions, TopicReplication::Fixed(g.replication));
        for (k, v) in &g.configs {
            new = new.set(k, v);
        }
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = client
            .create_topics([&new], &opts)
            .await
            .map_err(|e| format!("cannot create topic {}: {}", topic, e))?;
        for r in results {
            match r {
                Ok(_) => tracing::info!(
                    topic = %topic, group = %g.name, partitions = g.partitions, replication = g.replication,
                    "created topic (topic.creation.{}.*)", g.name
                ),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code))
                    if matches!(
                        code,
                        RDKafkaErrorCode::TopicAuthorizationFailed
                            | RDKafkaErrorCode::ClusterAuthorizationFailed
                    ) && exists(&self.admin, topic) => {}
                Err((_, code)) => {
                    return Err(format!(
                        "cannot create topic {} (topic.creation.{}.*: {} partitions, replication factor {}): {}",
                        topic, g.name, g.partitions, g.replication, code
                    ))
                }
            }
        }
        self.known.insert(topic.to_string());
        Ok(())
    }
}

/// Whether the topic exists (a client that never creates topics by asking).
fn exists(config: &ClientConfig, topic: &str) -> bool {
    let Ok(c) = config.create::<BaseConsumer>() else {
        return false;
    };
    c.fetch_metadata(Some(topic), Duration::from_secs(10))
        .ok()
        .and_then(|m| {
            m.topics()
                .iter()
                .find(|t| t.name() == topic)
                .map(|t| t.error().is_none() && !t.partitions().is_empty())
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn groups_match_in_order_and_default_takes_the_rest() {
        let tc = TopicCreation::from_config(&raw(&[
            ("topic.creation.default.replication.factor", "3"),
            ("topic.creation.default.partitions", "6"),
            ("topic.creation.default.compression.type", "lz4"),
            ("topic.creation.groups", "compacted,logs"),
            ("topic.creation.compacted.include", "state-.*, .*-changelog"),
            ("topic.creation.compacted.exclude", "state-tmp"),
            ("topic.creation.compacted.partitions", "1"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
            ("topic.creation.logs.include", "logs-.*"),
            ("topic.creation.logs.replication.factor", "-1"),
        ]))
        .unwrap()
        .unwrap();
        let c = tc.group_for("state-users");
        assert_eq!(
            (c.name.as_str(), c.partitions, c.replication),
            ("compacted", 1, 3)
        );
        assert_eq!(
            c.configs,
            vec![("cleanup.policy".to_string(), "compact".to_string())]
        );
        assert_eq!(tc.group_for("state-tmp").name, "default");
        assert_eq!(tc.group_for("x-changelog").name, "compacted");
        let l = tc.group_for("logs-app");
        assert_eq!((l.partitions, l.replication), (6, -1));
        let d = tc.group_for("other");
        assert_eq!((d.name.as_str(), d.partitions), ("default", 6));
        assert_eq!(
            d.configs,
            vec![("compression.type".to_string(), "lz4".to_string())]
        );
    }

    #[test]
    fn missing_and_bad_settings_are_listed() {
        assert!(TopicCreation::from_config(&raw(&[])).unwrap().is_none());
        let issues = TopicCreation::from_config(&raw(&[
            ("topic.creation.default.partitions", "0"),
            ("topic.creation.groups", "g"),
            ("topic.creation.g.exclude", "(("),
        ]))
        .unwrap_err();
        let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
        assert!(
            keys.contains(&"topic.creation.default.replication.factor"),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"topic.creation.default.partitions"),
            "{keys:?}"
        );
        assert!(keys.contains(&"topic.creation.g.include"), "{keys:?}");
        assert!(keys.contains(&"topic.creation.g.exclude"), "{keys:?}");
        let only_groups =
            TopicCreation::from_config(&raw(&[("topic.creation.groups", "g")])).unwrap_err();
        assert!(
            only_groups[0].message.contains("default group is not"),
            "{}",
            only_groups[0].message
        );
    }
}
