//! Building a connector's transform chain from its config, and applying it.

use std::collections::HashMap;
use std::sync::Arc;

use super::{find_predicate, find_transform, Fate, Predicate, Transform};
use crate::config::{
    split_list, sub_config, ConfigDef, ConfigErrors, ConfigIssue, ConfigKey, RawConfig,
};
use crate::config::{Importance, Width};
use crate::data::Record;

struct Step {
    alias: String,
    class: &'static str,
    transform: Box<dyn Transform>,
    predicate: Option<Arc<dyn Predicate>>,
    negate: bool,
}

/// A transform failed on a record.
#[derive(Debug, Clone)]
pub struct TransformFailure {
    pub alias: String,
    pub class: String,
    pub message: String,
}

/// The ordered transforms of one task.
#[derive(Default)]
pub struct TransformChain {
    steps: Vec<Step>,
}

impl TransformChain {
    pub fn empty() -> Self {
        TransformChain { steps: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Builds the chain from a connector config, listing every problem.
    pub fn from_config(raw: &RawConfig) -> Result<Self, ConfigErrors> {
        let mut issues = Vec::new();
        let mut predicates: HashMap<String, Arc<dyn Predicate>> = HashMap::new();
        for alias in raw
            .get("predicates")
            .map(|s| split_list(s))
            .unwrap_or_default()
        {
            let prefix = format!("predicates.{}.", alias);
            let type_key = format!("{}type", prefix);
            let Some(class) = raw.get(&type_key) else {
                issues.push(ConfigIssue::new(
                    &type_key,
                    format!("predicate {} has no type", alias),
                ));
                continue;
            };
            let Some(plugin) = find_predicate(class) else {
                issues.push(ConfigIssue::new(
                    &type_key,
                    format!("unknown predicate type {} for predicate {}", class, alias),
                ));
                continue;
            };
            let sub = sub_config(raw, &prefix);
            match (plugin.config_def)()
                .parse(&sub)
                .map_err(ConfigErrors)
                .and_then(|p| (plugin.create)(&p))
            {
                Ok(p) => {
                    predicates.insert(alias.clone(), Arc::from(p));
                }
                Err(e) => issues.extend(prefixed(e, &prefix)),
            }
        }
        let mut steps = Vec::new();
        for alias in raw
            .get("transforms")
            .map(|s| split_list(s))
            .unwrap_or_default()
        {
            let prefix = format!("transforms.{}.", alias);
            let type_key = format!("{}type", prefix);
            let Some(class) = raw.get(&type_key) else {
                issues.push(ConfigIssue::new(
                    &type_key,
                    format!("transform {} has no type", alias),
                ));
                continue;
            };
            let Some(plugin) = find_transform(class) else {
                issues.push(ConfigIssue::new(
                    &type_key,
                    format!("unknown transform type {} for transform {}", class, alias),
                ));
                continue;
            };
            let sub = sub_config(raw, &prefix);
            let predicate = match raw.get(&format!("{}predicate", prefix)) {
                Some(p) if !p.trim().is_empty() => match predicates.get(p.trim()) {
                    Some(pred) => Some(pred.clone()),
                    None => {
                        issues.push(ConfigIssue::new(
                            format!("{}predicate", prefix),
                            format!("transform {} refers to predicate {} which is not listed in predicates", alias, p),
                        ));
                        None
                    }
                },
                _ => None,
            };
            let negate = match raw
                .get(&format!("{}negate", prefix))
                .map(|s| s.trim().to_ascii_lowercase())
            {
                None => false,
                Some(s) if s == "true" => true,
                Some(s) if s == "false" => false,
                Some(s) => {
                    issues.push(ConfigIssue::new(format!("{}negate", prefix), format!("Invalid value {} for configuration {}negate: Expected value to be either true or false", s, prefix)));
                    false
                }
            };
            match (plugin.config_def)()
                .parse(&sub)
                .map_err(ConfigErrors)
                .and_then(|p| (plugin.create)(&p))
            {
                Ok(t) => steps.push(Step {
                    alias,
                    class: plugin.class,
                    transform: t,
                    predicate,
                    negate,
                }),
                Err(e) => issues.extend(prefixed(e, &prefix)),
            }
        }
        if issues.is_empty() {
            Ok(TransformChain { steps })
        } else {
            Err(ConfigErrors(issues))
        }
    }

    /// Applies each transform in order; `Ok(None)` if one dropped the record.
    pub fn apply(&mut self, mut record: Record) -> Result<Option<Record>, TransformFailure> {
        Ok(match self.apply_in_place(&mut record)? {
            Fate::Keep => Some(record),
            Fate::Drop => None,
        })
    }

    /// Applies each transform in order to the record where it is (a record is about
    /// 200 bytes: moving it into the chain and back out, and out of and into the box
    /// it travels in, cost more than some transforms do); [`Fate::Drop`] if one
    /// dropped it, which leaves the record as that transform left it.
    pub fn apply_in_place(&mut self, record: &mut Record) -> Result<Fate, TransformFailure> {
        self.apply_observed(record, |_, _| {})
    }

    /// Like [`apply_in_place`](Self::apply_in_place), calling `seen(alias,
    /// Some(record))` after each transform that ran, or `seen(alias, None)` when one
    /// dropped the record (the live tap's view of a sampled record).
    pub fn apply_observed(
        &mut self,
        record: &mut Record,
        mut seen: impl FnMut(&str, Option<&Record>),
    ) -> Result<Fate, TransformFailure> {
        for step in &mut self.steps {
            if let Some(p) = &step.predicate {
                if p.test(record) == step.negate {
                    continue;
                }
            }
            match step.transform.apply(record) {
                Ok(Fate::Keep) => seen(&step.alias, Some(record)),
                Ok(Fate::Drop) => {
                    seen(&step.alias, None);
                    return Ok(Fate::Drop);
                }
                Err(message) => {
                    return Err(TransformFailure {
                        alias: step.alias.clone(),
                        class: step.class.to_string(),
                        message: format!("transform {} failed: {}", step.alias, message),
                    })
                }
            }
        }
        Ok(Fate::Keep)
    }
}

fn prefixed(e: ConfigErrors, prefix: &str) -> Vec<ConfigIssue> {
    e.0.into_iter()
        .map(|mut i| {
            i.key = format!("{}{}", prefix, i.key);
            i
        })
        .collect()
}

/// The declared keys of each transform and predicate alias a config names, as Connect
/// enriches a connector's config: `<prefix>type` and `<prefix>plugin.version` first,
/// then the plugin's own keys, then (transforms) `negate` and `predicate`, in a group of
/// their own (`Transforms: <alias>`). `transforms` and `predicates` themselves are
/// common connector keys.
pub fn transforms_config_def(raw: &RawConfig) -> ConfigDef {
    let version = crate::connector_config::PLUGIN_VERSION;
    let mut def = ConfigDef::new();
    let aliases = |key: &str| raw.get(key).map(|s| split_list(s)).unwrap_or_default();
    for alias in aliases("transforms") {
        let prefix = format!("transforms.{}.", alias);
        let group = format!("Transforms: {}", alias);
        let classes = super::transform_plugins()
            .iter()
            .map(|p| p.class.to_string())
            .collect();
        def.add(
            ConfigKey::class(format!("{}type", prefix))
                .group(&group)
                .order(0)
                .width(Width::Long)
                .display(format!("Transformation type for {}", alias))
                .importance(Importance::High)
                .recommend(classes)
                .doc("Class for the transformation."),
        );
        def.add(
            ConfigKey::string(format!("{}plugin.version", prefix))
                .default(version)
                .group(&group)
                .order(1)
                .width(Width::Long)
                .display(format!("Transformation version for {}", alias))
                .importance(Importance::High)
                .recommend(vec![version.to_string()])
                .doc("The version (or range) of the transformation plugin."),
        );
        let mut order = 2;
        if let Some(p) = raw
            .get(&format!("{}type", prefix))
            .and_then(|c| find_transform(c))
        {
            for k in (p.config_def)().keys() {
                let mut k = k.clone();
                k.display_name = Some(k.name.clone());
                k.name = format!("{}{}", prefix, k.name);
                k.group = Some(group.clone());
                k.order_in_group = Some(order);
                order += 1;
                def.add(k);
            }
        }
        def.add(
            ConfigKey::boolean(format!("{}negate", prefix))
                .default("false")
                .group(&group)
                .order(order)
                .display("negate")
                .doc("Whether the predicate's result is negated."),
        );
        def.add(
            ConfigKey::string(format!("{}predicate", prefix))
                .optional()
                .group(&group)
                .order(order + 1)
                .display("predicate")
                .doc(
                    "The alias of a predicate used to decide whether to apply this transformation.",
                ),
        );
    }
    for alias in aliases("predicates") {
        let prefix = format!("predicates.{}.", alias);
        let group = format!("Predicates: {}", alias);
        let classes = super::predicate_plugins()
            .iter()
            .map(|p| p.class.to_string())
            .collect();
        def.add(
            ConfigKey::class(format!("{}type", prefix))
                .group(&group)
                .order(0)
                .width(Width::Long)
                .display(format!("Predicate type for {}", alias))
                .importance(Importance::High)
                .recommend(classes)
                .doc("Class for the predicate."),
        );
        def.add(
            ConfigKey::string(format!("{}plugin.version", prefix))
                .default(version)
                .group(&group)
                .order(1)
                .width(Width::Long)
                .display(format!("Predicate version for {}", alias))
                .importance(Importance::High)
                .recommend(vec![version.to_string()])
                .doc("The version (or range) of the predicate plugin."),
        );
        if let Some(p) = raw
            .get(&format!("{}type", prefix))
            .and_then(|c| find_predicate(c))
        {
            for (i, k) in (p.config_def)().keys().iter().enumerate() {
                let mut k = k.clone();
                k.display_name = Some(k.name.clone());
                k.name = format!("{}{}", prefix, k.name);
                k.group = Some(group.clone());
                k.order_in_group = Some(2 + i as i32);
                def.add(k);
            }
        }
    }
    def
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SchemaAndValue, Value};

    fn raw(pairs: &[(&str, &str)]) -> RawConfig {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rec(topic: &str, value: Value) -> Record {
        Record::new(topic, SchemaAndValue::schemaless(value))
    }

    fn tombstone_filter(negate: Option<&str>) -> TransformChain {
        let mut pairs = vec![
            ("transforms", "dropTombstones"),
            (
                "transforms.dropTombstones.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.dropTombstones.predicate", "isTombstone"),
            ("predicates", "isTombstone"),
            (
                "predicates.isTombstone.type",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            ),
        ];
        if let Some(n) = negate {
            pairs.push(("transforms.dropTombstones.negate", n));
        }
        TransformChain::from_config(&raw(&pairs)).unwrap()
    }

    #[test]
    fn predicate_applies_transform_only_to_matching_records() {
        let mut chain = tombstone_filter(None);
        assert!(chain.apply(rec("t", Value::Null)).unwrap().is_none());
        assert!(chain.apply(rec("t", Value::from("v"))).unwrap().is_some());
        let mut chain = tombstone_filter(Some("false"));
        assert!(chain.apply(rec("t", Value::Null)).unwrap().is_none());
    }

    #[test]
    fn negated_predicate_applies_transform_to_other_records() {
        let mut chain = tombstone_filter(Some("true"));
        // Keeps only tombstones.
        assert!(chain.apply(rec("t", Value::Null)).unwrap().is_some());
        assert!(chain.apply(rec("t", Value::from("v"))).unwrap().is_none());
    }

    #[test]
    fn three_step_chain_with_topic_predicate() {
        let mut chain = TransformChain::from_config(&raw(&[
            ("transforms", "drop,insert,route"),
            ("transforms.drop.type", "ReplaceField$Value"),
            ("transforms.drop.exclude", "secret"),
            ("transforms.insert.type", "InsertField$Value"),
            ("transforms.insert.topic.field", "src"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "db\\.(.*)"),
            ("transforms.route.replacement", "$1-copy"),
            ("transforms.route.predicate", "fromDb"),
            ("predicates", "fromDb"),
            ("predicates.fromDb.type", "TopicNameMatches"),
            ("predicates.fromDb.pattern", "db\\..*"),
        ]))
        .unwrap();
        let value = || {
            Value::Map(vec![
                (Value::from("id"), Value::Int64(1)),
                (Value::from("secret"), Value::from("x")),
            ])
        };
        let out = chain.apply(rec("db.users", value())).unwrap().unwrap();
        assert_eq!(&*out.topic, "users-copy");
        assert_eq!(
            out.value.value,
            Value::Map(vec![
                (Value::from("id"), Value::Int64(1)),
                (Value::from("src"), Value::from("db.users")),
            ])
        );
        let out = chain.apply(rec("other", value())).unwrap().unwrap();
        assert_eq!(&*out.topic, "other");
    }

    #[test]
    fn failure_names_alias_and_class() {
        let mut chain = TransformChain::from_config(&raw(&[
            ("transforms", "c"),
            ("transforms.c.type", "Cast$Value"),
            ("transforms.c.spec", "int32"),
        ]))
        .unwrap();
        let f = chain.apply(rec("t", Value::from("abc"))).unwrap_err();
        assert_eq!(f.alias, "c");
        assert_eq!(f.class, "org.apache.kafka.connect.transforms.Cast$Value");
        assert!(
            f.message.contains("transform c failed") && f.message.contains("abc"),
            "{}",
            f.message
        );
    }

    /// Builds a one-transform chain and returns its single config issue.
    fn issue(pairs: &[(&str, &str)]) -> ConfigIssue {
        let e = match TransformChain::from_config(&raw(pairs)) {
            Ok(_) => panic!("config accepted: {:?}", pairs),
            Err(e) => e,
        };
        assert_eq!(e.0.len(), 1, "{}", e);
        e.0[0].clone()
    }

    #[test]
    fn bad_cast_type_is_reported_under_the_alias() {
        let i = issue(&[
            ("transforms", "c"),
            (
                "transforms.c.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            ("transforms.c.spec", "age:integer"),
        ]);
        assert_eq!(i.key, "transforms.c.spec");
        assert!(
            i.message
                .contains("Invalid type found in casting spec: integer"),
            "{}",
            i.message
        );
    }

    #[test]
    fn bad_regex_is_reported_under_the_alias() {
        let i = issue(&[
            ("transforms", "r"),
            ("transforms.r.type", "RegexRouter"),
            ("transforms.r.regex", "(unclosed"),
            ("transforms.r.replacement", "x"),
        ]);
        assert_eq!(i.key, "transforms.r.regex");
        assert!(i.message.contains("Invalid regex"), "{}", i.message);
        let i = issue(&[
            ("predicates", "p"),
            ("predicates.p.type", "TopicNameMatches"),
            ("predicates.p.pattern", "*bad"),
        ]);
        assert_eq!(i.key, "predicates.p.pattern");
        assert!(i.message.contains("Invalid regex"), "{}", i.message);
    }

    #[test]
    fn missing_required_key_is_reported_under_the_alias() {
        let i = issue(&[
            ("transforms", "e"),
            ("transforms.e.type", "ExtractField$Key"),
        ]);
        assert_eq!(i.key, "transforms.e.field");
        assert!(
            i.message
                .contains("Missing required configuration \"field\""),
            "{}",
            i.message
        );
        let i = issue(&[
            ("transforms", "h"),
            ("transforms.h.type", "InsertHeader"),
            ("transforms.h.header", "x"),
        ]);
        assert_eq!(i.key, "transforms.h.value.literal");
    }

    #[test]
    fn renames_without_colon_are_reported_under_the_alias() {
        let i = issue(&[
            ("transforms", "rf"),
            ("transforms.rf.type", "ReplaceField$Value"),
            ("transforms.rf.renames", "old:new,oops"),
        ]);
        assert_eq!(i.key, "transforms.rf.renames");
        assert!(
            i.message.contains("Invalid rename mapping: oops"),
            "{}",
            i.message
        );
    }

    #[test]
    fn other_bad_configs_are_reported_under_the_alias() {
        let i = issue(&[
            ("transforms", "ts"),
            ("transforms.ts.type", "TimestampConverter$Value"),
            ("transforms.ts.target.type", "string"),
        ]);
        assert_eq!(i.key, "transforms.ts.format");
        assert!(i.message.contains("format"), "{}", i.message);
        let i = issue(&[
            ("transforms", "hf"),
            ("transforms.hf.type", "HeaderFrom$Value"),
            ("transforms.hf.fields", "a,b"),
            ("transforms.hf.headers", "a"),
            ("transforms.hf.operation", "copy"),
        ]);
        assert_eq!(i.key, "transforms.hf.headers");
        let i = issue(&[
            ("transforms", "tr"),
            ("transforms.tr.type", "TimestampRouter"),
            ("transforms.tr.timestamp.format", "yyyyMMddTHH"),
        ]);
        assert_eq!(i.key, "transforms.tr.timestamp.format");
        assert!(i.message.contains("'T'"), "{}", i.message);
        let i = issue(&[
            ("transforms", "x"),
            ("transforms.x.type", "NoSuchTransform"),
        ]);
        assert_eq!(i.key, "transforms.x.type");
    }

    #[test]
    fn validation_def_lists_plugin_keys() {
        let def = transforms_config_def(&raw(&[
            ("transforms", "c"),
            ("transforms.c.type", "Cast$Value"),
        ]));
        assert!(def.key("transforms.c.spec").is_some());
        assert!(def.key("transforms.c.replace.null.with.default").is_some());
    }
}
