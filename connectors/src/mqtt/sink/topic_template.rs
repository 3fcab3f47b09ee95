//! `mqtt.topic`: a fixed MQTT topic or a template with `${topic}` (the record's Kafka
//! topic) and `${key}` (its key as text), checked once at config time and rendered per
//! record into a valid MQTT topic name.

use sluice_runtime::convert::{value_to_json, DecimalFormat};
use sluice_runtime::data::{SchemaAndValue, Value};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    KafkaTopic,
    Key,
}

/// A parsed `mqtt.topic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicTemplate {
    parts: Vec<Part>,
}

/// The most bytes of an MQTT topic name (a two-byte length prefix).
const MAX_TOPIC_BYTES: usize = 65_535;

/// Why a rendered topic is not a valid MQTT topic name, if it is not.
pub fn invalid_topic(t: &str) -> Option<String> {
    if t.is_empty() {
        Some("the MQTT topic is empty".into())
    } else if t.contains(['+', '#']) {
        Some(format!(
            "the MQTT topic {:?} contains a wildcard (+ or #), which topic names may not",
            t
        ))
    } else if t.contains('\0') {
        Some(format!("the MQTT topic {:?} contains a NUL character", t))
    } else if t.len() > MAX_TOPIC_BYTES {
        Some(format!(
            "the MQTT topic is {} bytes long; the most is {}",
            t.len(),
            MAX_TOPIC_BYTES
        ))
    } else {
        None
    }
}

impl TopicTemplate {
    /// Parses a template; unknown placeholders, wildcards and NUL in the fixed text are
    /// refused.
    pub fn parse(s: &str) -> Result<TopicTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unterminated placeholder in {:?}", s))?;
            parts.push(match &after[..end] {
                "topic" => Part::KafkaTopic,
                "key" => Part::Key,
                other => {
                    return Err(format!(
                        "unknown placeholder ${{{}}}; use ${{topic}} or ${{key}}",
                        other
                    ))
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        if parts.is_empty() {
            return Err("must not be empty".into());
        }
        for p in &parts {
            if let Part::Literal(l) = p {
                if l.contains(['+', '#', '\0']) {
                    return Err(format!(
                        "{:?} contains + , # or NUL, which MQTT topic names may not",
                        s
                    ));
                }
            }
        }
        Ok(TopicTemplate { parts })
    }

    /// Whether the template needs the record key.
    pub fn uses_key(&self) -> bool {
        self.parts.contains(&Part::Key)
    }

    /// The MQTT topic of one record, or why it has none.
    pub fn render(&self, kafka_topic: &str, key: &SchemaAndValue) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::KafkaTopic => out.push_str(kafka_topic),
                Part::Key => out.push_str(&key_text(key)?),
            }
        }
        match invalid_topic(&out) {
            Some(why) => Err(why),
            None => Ok(out),
        }
    }
}

/// A key as topic text: strings as they are, bytes as UTF-8, numbers and booleans
/// written out, anything else as JSON.
fn key_text(key: &SchemaAndValue) -> Result<String, String> {
    Ok(match &key.value {
        Value::Null => return Err("the record has no key, which mqtt.topic's ${key} needs".into()),
        Value::String(s) => s.clone(),
        Value::Bytes(b) => std::str::from_utf8(b)
            .map_err(|_| "the record key is not UTF-8 text, which mqtt.topic's ${key} needs")?
            .to_string(),
        other => value_to_json(key.schema.as_deref(), other, DecimalFormat::Numeric, true)
            .map_err(|e| format!("the record key cannot be written as text: {}", e))?
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SchemaAndValue {
        SchemaAndValue {
            schema: None,
            value: Value::String(s.into()),
        }
    }

    #[test]
    fn fixed_and_templated() {
        let t = TopicTemplate::parse("plain/topic").unwrap();
        assert!(!t.uses_key());
        assert_eq!(t.render("k", &SchemaAndValue::NULL).unwrap(), "plain/topic");
        let t = TopicTemplate::parse("out/${topic}/${key}/state").unwrap();
        assert!(t.uses_key());
        assert_eq!(
            t.render("orders", &key("dev-1")).unwrap(),
            "out/orders/dev-1/state"
        );
        let n = SchemaAndValue {
            schema: None,
            value: Value::Int64(42),
        };
        assert_eq!(t.render("o", &n).unwrap(), "out/o/42/state");
    }

    #[test]
    fn bad_templates_and_records() {
        assert!(TopicTemplate::parse("a/#").is_err());
        assert!(TopicTemplate::parse("a/+/b").is_err());
        assert!(TopicTemplate::parse("").is_err());
        assert!(TopicTemplate::parse("a/${value}")
            .unwrap_err()
            .contains("unknown placeholder"));
        assert!(TopicTemplate::parse("a/${key").is_err());
        let t = TopicTemplate::parse("${key}").unwrap();
        assert!(t
            .render("k", &SchemaAndValue::NULL)
            .unwrap_err()
            .contains("no key"));
        assert!(t.render("k", &key("a/+")).unwrap_err().contains("wildcard"));
        assert!(t.render("k", &key("")).unwrap_err().contains("empty"));
        let bad = SchemaAndValue {
            schema: None,
            value: Value::Bytes(vec![0xff, 0xfe].into()),
        };
        assert!(t.render("k", &bad).unwrap_err().contains("UTF-8"));
    }
}
