//! `RegexRouter`: rewrites the topic when the whole topic matches a regex.

use regex::{CaptureLocations, Regex};

use super::util::{compile_whole, config_error};
use super::{Transform, TransformPlugin};
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

struct RegexRouter {
    regex: Regex,
    locs: CaptureLocations,
    replacement: Vec<Part>,
}

fn create(c: &ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors> {
    let regex = compile_whole(&c.str("regex")).map_err(|e| config_error("regex", e))?;
    let replacement = parse_replacement(&c.str("replacement"), &regex)
        .map_err(|e| config_error("replacement", format!("Invalid replacement: {}", e)))?;
    Ok(Box::new(RegexRouter {
        locs: regex.capture_locations(),
        regex,
        replacement,
    }))
}

impl Transform for RegexRouter {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>, String> {
        if self
            .regex
            .captures_read(&mut self.locs, &record.topic)
            .is_some()
        {
            let mut topic = String::with_capacity(record.topic.len() + 16);
            for p in &self.replacement {
                match p {
                    Part::Lit(s) => topic.push_str(s),
                    Part::Group(g) => {
                        if let Some((a, b)) = self.locs.get(*g) {
                            topic.push_str(&record.topic[a..b]);
                        }
                    }
                }
            }
            record.topic = topic.into();
        }
        Ok(Some(record))
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
