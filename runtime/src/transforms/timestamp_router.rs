//! `TimestampRouter`: sets the topic from a format with `${topic}` and `${timestamp}`.

use super::datefmt::DateFormat;
use super::util::config_error;
use super::{Fate, Transform, TransformPlugin};
use crate::config::{ConfigDef, ConfigErrors, ConfigKey, Importance, ParsedConfig};
use crate::data::Record;

pub(super) const PLUGIN: TransformPlugin = TransformPlugin {
    class: "org.apache.kafka.connect.transforms.TimestampRouter",
    aliases: &[],
    doc: "Update the record's topic field as a function of the original topic value and the record timestamp (in UTC). This is mainly useful for sink connectors, since the topic field is often used to determine the equivalent entity name in the destination system (e.g. database table or search index name).",
    config_def,
    create,
};

pub(super) fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::string("topic.format")
                .default("${topic}-${timestamp}")
                .importance(Importance::High)
                .doc("Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively."),
        )
        .define(
            ConfigKey::string("timestamp.format")
                .default("yyyyMMdd")
                .importance(Importance::High)
                .doc("Format string for the timestamp that is compatible with java.text.SimpleDateFormat (Sluice supports the letters y, M, d, D, E, a, H, k, h, K, m, s, S, z, Z, X and quoted literal text). Timestamps are formatted in UTC."),
        )
}

enum Part {
    Lit(String),
    Topic,
    Timestamp,
}

struct TimestampRouter {
    parts: Vec<Part>,
    format: DateFormat,
}

fn parse_topic_format(f: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = f;
    loop {
        let t = rest.find("${topic}");
        let ts = rest.find("${timestamp}");
        let (i, part, len) = match (t, ts) {
            (Some(a), Some(b)) if a < b => (a, Part::Topic, 8),
            (Some(_), Some(b)) => (b, Part::Timestamp, 12),
            (Some(a), None) => (a, Part::Topic, 8),
            (None, Some(b)) => (b, Part::Timestamp, 12),
            (None, None) => break,
        };
        if i > 0 {
            parts.push(Part::Lit(rest[..i].to_string()));
        }
        parts.push(part);
        rest = &rest[i + len..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    parts
}

fn create(c: &ParsedConfig) -> Result<Box<dyn Transform>, ConfigErrors> {
    let format = DateFormat::new(&c.str("timestamp.format"))
        .map_err(|e| config_error("timestamp.format", e))?;
    Ok(Box::new(TimestampRouter {
        parts: parse_topic_format(&c.str("topic.format")),
        format,
    }))
}

impl Transform for TimestampRouter {
    fn apply(&mut self, record: &mut Record) -> Result<Fate, String> {
        let Some(ts) = record.timestamp else {
            return Err(format!(
                "TimestampRouter: timestamp missing on record (topic {})",
                record.topic
            ));
        };
        let mut topic = String::with_capacity(record.topic.len() + 16);
        for p in &self.parts {
            match p {
                Part::Lit(s) => topic.push_str(s),
                Part::Topic => topic.push_str(&record.topic),
                Part::Timestamp => self.format.format_into(ts, &mut topic),
            }
        }
        record.topic = topic.into();
        Ok(Fate::Keep)
    }
}

#[cfg(test)]
mod tests {
    use super::super::util::testing::*;
    use crate::data::{Record, SchemaAndValue, Value};

    #[test]
    fn default_configuration() {
        let mut t = transform("TimestampRouter", &[]);
        let r = Record::new("test", SchemaAndValue::schemaless(Value::from("v")))
            .with_timestamp(Some(1_483_425_001_864)); // 2017-01-03T06:30:01.864Z
        assert_eq!(&*apply(&mut t, r).topic, "test-20170103");
    }

    #[test]
    fn custom_formats() {
        let mut t = transform(
            "TimestampRouter",
            &[
                ("topic.format", "${timestamp}_${topic}_x"),
                ("timestamp.format", "yyyy-MM-dd'T'HH"),
            ],
        );
        let r = Record::new("orders", SchemaAndValue::NULL).with_timestamp(Some(1_483_425_001_864));
        assert_eq!(&*apply(&mut t, r).topic, "2017-01-03T06_orders_x");
    }

    #[test]
    fn missing_timestamp_and_bad_format() {
        let mut t = transform("TimestampRouter", &[]);
        let e = try_apply(&mut t, Record::new("t", SchemaAndValue::NULL)).unwrap_err();
        assert!(
            e.contains("TimestampRouter") && e.contains("timestamp missing"),
            "{}",
            e
        );
        let e = try_transform("TimestampRouter", &[("timestamp.format", "yyyyMMddTHH")])
            .err()
            .unwrap();
        assert_eq!(e.0[0].key, "timestamp.format");
        assert!(e.0[0].message.contains("'T'"), "{}", e.0[0].message);
    }
}
