//! `RegexRouter`: rewrites the topic when the whole topic matches a regex.

use std::collections::HashMap;
use std::sync::Arc;

use regex::{CaptureLocations, Regex};

use super::util::{compile_whole, config_error};
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig};
use crate::data::Record;

pub(super) const PLUGIN: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.RegexRouter",
    aliases: &[],
    doc: "Update the record topic using the configured regular expression and replacement string. If the regular expression matches the whole topic, the topic becomes the replacement, in which $1, $2, ... and ${name} refer to the regex's groups (Java's Matcher.replaceFirst syntax).",
    config_def,
    create,
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::string("regex")
                .importance(Importance::High)
                .doc("Regular expression to use for matching."),
        )
        .define(
            ConfigKey::string("replacement")
                .importance(Importance::High)
                .doc("Replacement string."),
        )
}

/// A piece of a replacement string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Lit(String),
    Group(usize),
}

/// Parses a replacement with Java's `Matcher.appendReplacement` rules: `\x` is a literal
/// `x`, `$n` a group (further digits are taken while the number stays a valid group),
/// `${name}` a named group.
pub(crate) fn parse_replacement(rep: &str, re: &Regex) -> Result<Vec<Part>, String> {
    let groups = re.captures_len() - 1;
    let chars: Vec<char> = rep.chars().collect();
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = chars
                    .get(i + 1)
                    .ok_or("character to be escaped is missing at the end of the replacement")?;
                lit.push(*c);
                i += 2;
            }
            '$' => {
                i += 1;
                let group = match chars.get(i) {
                    None => return Err("Illegal group reference: group index is missing".into()),
                    Some('{') => {
                        let end = chars[i..]
                            .iter()
                            .position(|c| *c == '}')
                            .ok_or("named capturing group is missing trailing '}'")?;
                        let name: String = chars[i + 1..i + end].iter().collect();
                        i += end + 1;
                        let idx = re
                            .capture_names()
                            .position(|n| n == Some(name.as_str()))
                            .ok_or_else(|| format!("No group with name {{{}}}", name))?;
                        idx
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let mut n = c.to_digit(10).unwrap_or(0) as usize;
                        if n > groups {
                            return Err(format!(
                                "No group {} (the regex has {} group{})",
                                n,
                                groups,
                                if groups == 1 { "" } else { "s" }
                            ));
                        }
                        i += 1;
                        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let next = n * 10 + d as usize;
                            if next > groups {
                                break;
                            }
                            n = next;
                            i += 1;
                        }
                        n
                    }
                    Some(c) => return Err(format!("Illegal group reference: ${}", c)),
                };
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(Part::Group(group));
            }
            c => {
                lit.push(c);
                i += 1;
            }
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

/// How many routed topics a RegexRouter remembers (it forgets them all when full).
const ROUTED_CAPACITY: usize = 1024;

struct RegexRouter {
    regex: Regex,
    locs: CaptureLocations,
    replacement: Vec<Part>,
    /// Topics already routed, and where to.
    routed: HashMap<Arc<str>, Arc<str>>,
    /// The last topic routed, and where to.
    last: Option<(Arc<str>, Arc<str>)>,
}

fn create(c: &ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors> {
    let regex = compile_whole(&c.str("regex")).map_err(|e| config_error("regex", e))?;
    let replacement = parse_replacement(&c.str("replacement"), &regex)
        .map_err(|e| config_error("replacement", format!("Invalid replacement: {}", e)))?;
    Ok(Box::new(RegexRouter {
        locs: regex.capture_locations(),
        regex,
        replacement,
        routed: HashMap::new(),
        last: None,
    }))
}

impl RegexRouter {
    /// The topic `topic` is routed to (itself when the regex does not match).
    fn route(&mut self, topic: &Arc<str>) -> Arc<str> {
        if self.regex.captures_read(&mut self.locs, topic).is_none() {
            return topic.clone();
        }
        let mut out = String::with_capacity(topic.len() + 16);
        for p in &self.replacement {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Group(g) => {
                    if let Some((a, b)) = self.locs.get(*g) {
                        out.push_str(&topic[a..b]);
                    }
                }
            }
        }
        out.into()
    }
}

impl Transform for RegexRouter {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        // Records of one stream share their topic: route it once, then reuse the
        // answer (and its allocation).
        if let Some((from, to)) = &self.last {
            if Arc::ptr_eq(from, &record.topic) || **from == *record.topic {
                record.topic = to.clone();
                return Ok(Fate::Keep);
            }
        }
        let to = match self.routed.get(&record.topic) {
            Some(to) => to.clone(),
            None => {
                let to = self.route(&record.topic);
                if self.routed.len() >= ROUTED_CAPACITY {
                    self.routed.clear();
                }
                self.routed.insert(record.topic.clone(), to.clone());
                to
            }
        };
        self.last = Some((std::mem::replace(&mut record.topic, to.clone()), to));
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Record, SchemaAndValue, Value};
    use bytes::Bytes;

    fn route(regex: &str, replacement: &str, topic: &str) -> String {
        let mut t = transform(
            "RegexRouter",
            &[("regex", regex), ("replacement", replacement)],
        );
        let r = Record::new(
            topic,
            SchemaAndValue::schemaless(Value::Bytes(Bytes::from_static(b"x"))),
        );
        apply(&mut t, r).topic.to_string()
    }

    #[test]
    fn remembered_routes_follow_each_topic() {
        let mut t = transform(
            "RegexRouter",
            &[("regex", "db\\.(.*)"), ("replacement", "$1-copy")],
        );
        let rec = |topic: &str| {
            Record::new(
                topic,
                SchemaAndValue::schemaless(Value::Bytes(Bytes::from_static(b"x"))),
            )
        };
        // Interleaved topics, each seen again: every record gets its own topic's route.
        for topic in ["db.a", "db.b", "db.a", "other", "db.a", "other", "db.b"] {
            let expected = match topic.strip_prefix("db.") {
                Some(rest) => format!("{}-copy", rest),
                None => topic.to_string(),
            };
            assert_eq!(&*apply(&mut t, rec(topic)).topic, expected.as_str());
        }
        // More topics than are remembered: still routed right.
        for i in 0..(super::ROUTED_CAPACITY + 10) {
            let out = apply(&mut t, rec(&format!("db.t{}", i)));
            assert_eq!(&*out.topic, format!("t{}-copy", i).as_str());
        }
    }

    #[test]
    fn connect_cases() {
        assert_eq!(route("foo", "bar", "foo"), "bar");
        assert_eq!(route("foo", "bar", "orig"), "orig");
        assert_eq!(route("foo", "bar", "foo-suffix"), "foo-suffix"); // whole-topic match only
        assert_eq!(
            route("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$1", "index-20160117"),
            "index"
        );
        assert_eq!(
            route("(.*)-(\\d\\d\\d\\d\\d\\d\\d\\d)", "$2-$1", "index-20160117"),
            "20160117-index"
        );
        assert_eq!(
            route("([^.]+)\\.([^.]+)\\.([^.]+)", "$3", "db.schema.table"),
            "table"
        );
        assert_eq!(route("(?P<x>a)(b)", "${x}-$2\\$", "ab"), "a-b$");
        // "$10" with one group is group 1 then a literal 0, as in Java.
        assert_eq!(route("(a)", "$10", "a"), "a0");
    }

    #[test]
    fn payload_untouched() {
        let mut t = transform("RegexRouter", &[("regex", "(.*)"), ("replacement", "x-$1")]);
        let payload = Bytes::from_static(b"payload");
        let r = Record::new(
            "t",
            SchemaAndValue::schemaless(Value::Bytes(payload.clone())),
        );
        let out = apply(&mut t, r);
        assert_eq!(&*out.topic, "x-t");
        match &out.value.value {
            Value::Bytes(b) => assert_eq!(b.as_ptr(), payload.as_ptr()),
            _ => panic!(),
        }
    }

    #[test]
    fn bad_config() {
        let e = try_transform(
            "RegexRouter",
            &[("regex", "(unclosed"), ("replacement", "x")],
        )
        .err()
        .unwrap();
        assert_eq!(e.0[0].key, "regex");
        assert!(
            e.0[0].message.contains("Invalid regex"),
            "{}",
            e.0[0].message
        );
        let e = try_transform("RegexRouter", &[("regex", "(a)"), ("replacement", "$2")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "replacement");
        assert!(e.0[0].message.contains("No group 2"), "{}", e.0[0].message);
        let e = try_transform("RegexRouter", &[("regex", "a")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "replacement");
    }
}
