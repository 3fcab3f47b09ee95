//! Predicates: `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`.

use regex::Regex;

use super::util::{compile_whole, config_error};
use super::{Predicate, PredicatePlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, ParsedConfig, Validator};
use crate::data::Record;

pub(super) const TOPIC_NAME_MATCHES: PredicatePlugin = PredicatePlugin {
    class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    aliases: &[],
    doc: "A predicate which is true for records with a topic name that matches the configured regular expression (the whole name must match).",
    config_def: || {
        ConfigDef::new().define(
            ConfigKey::string("pattern")
                .validator(Validator::NonEmpty)
                .doc("A Java regular expression for matching against the name of a record's topic."),
        )
    },
    create: |c| {
        let re = compile_whole(&c.str("pattern")).map_err(|e| config_error("pattern", e))?;
        Ok(Box::new(TopicNameMatches(re)))
    },
};

pub(super) const HAS_HEADER_KEY: PredicatePlugin = PredicatePlugin {
    class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
    aliases: &[],
    doc: "A predicate which is true for records with at least one header with the configured name.",
    config_def: || {
        ConfigDef::new().define(
            ConfigKey::string("name")
                .validator(Validator::NonEmpty)
                .doc("The header name."),
        )
    },
    create: has_header_key,
};

pub(super) const RECORD_IS_TOMBSTONE: PredicatePlugin = PredicatePlugin {
    class: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    aliases: &[],
    doc: "A predicate which is true for records which are tombstones (i.e. have null value).",
    config_def: ConfigDef::new,
    create: |_| Ok(Box::new(RecordIsTombstone)),
};

struct TopicNameMatches(Regex);

impl Predicate for TopicNameMatches {
    fn test(&self, record: &Record) -> bool {
        self.0.is_match(&record.topic)
    }
}

struct HasHeaderKey(String);

fn has_header_key(c: &ParsedConfig) -> Result<Box<dyn Predicate>, ConfigErrors> {
    Ok(Box::new(HasHeaderKey(c.str("name"))))
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &Record) -> bool {
        record.headers.iter().any(|h| h.key == self.0)
    }
}

struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &Record) -> bool {
        record.value.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Record, SchemaAndValue, Value};

    #[test]
    fn topic_name_matches() {
        let p = try_predicate("TopicNameMatches", &[("pattern", "my-prefix-.*")]).unwrap();
        assert!(p.test(&Record::new("my-prefix-", SchemaAndValue::NULL)));
        assert!(p.test(&Record::new("my-prefix-foo", SchemaAndValue::NULL)));
        assert!(!p.test(&Record::new("x-my-prefix-", SchemaAndValue::NULL)));
        assert!(!p.test(&Record::new("your-prefix-", SchemaAndValue::NULL)));
        assert!(!p.test(&Record::new("", SchemaAndValue::NULL)));
        let e = try_predicate("TopicNameMatches", &[("pattern", "[")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "pattern");
        assert!(e.0[0].message.contains("Invalid regex"));
        let e = try_predicate("TopicNameMatches", &[("pattern", "")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "pattern");
        assert!(try_predicate("TopicNameMatches", &[]).is_err());
    }

    #[test]
    fn has_header_key() {
        let p = try_predicate("HasHeaderKey", &[("name", "foo")]).unwrap();
        let mut r = Record::new("t", SchemaAndValue::NULL);
        assert!(!p.test(&r));
        r.headers.add_string("bar", "x");
        assert!(!p.test(&r));
        r.headers.add("foo", SchemaAndValue::NULL);
        assert!(p.test(&r));
        let e = try_predicate("HasHeaderKey", &[("name", "")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "name");
    }

    #[test]
    fn record_is_tombstone() {
        let p = try_predicate("RecordIsTombstone", &[]).unwrap();
        assert!(p.test(&Record::new("t", SchemaAndValue::NULL)));
        assert!(!p.test(&Record::new(
            "t",
            SchemaAndValue::schemaless(Value::from("x"))
        )));
        assert!(!p.test(&Record::new(
            "t",
            SchemaAndValue::schemaless(Value::Map(vec![]))
        )));
    }
}
