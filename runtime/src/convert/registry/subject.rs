//! Subject name strategies (`key.subject.name.strategy` / `value.subject.name.strategy`):
//! under which subject a schema is registered and looked up.

use crate::convert::ConvertError;

/// Confluent's subject name strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectStrategy {
    /// `<topic>-key` / `<topic>-value` (the default).
    TopicName,
    /// The record's fully qualified name.
    RecordName,
    /// `<topic>-<fully qualified record name>`.
    TopicRecordName,
}

/// The class names (and short names) accepted for each strategy.
pub(super) const STRATEGY_CLASSES: &[&str] = &[
    "io.confluent.kafka.serializers.subject.TopicNameStrategy",
    "io.confluent.kafka.serializers.subject.RecordNameStrategy",
    "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
];

impl SubjectStrategy {
    /// Parses a class name such as `io.confluent.kafka.serializers.subject.TopicNameStrategy`
    /// or its short form `TopicNameStrategy`.
    pub fn parse(name: &str) -> Option<SubjectStrategy> {
        let short = name.trim().rsplit('.').next().unwrap_or("");
        match short {
            "TopicNameStrategy" => Some(SubjectStrategy::TopicName),
            "RecordNameStrategy" => Some(SubjectStrategy::RecordName),
            "TopicRecordNameStrategy" => Some(SubjectStrategy::TopicRecordName),
            _ => None,
        }
    }

    /// The subject for a record of `topic` whose schema has the fully qualified name
    /// `record_name` (`None` if the schema is not a named record).
    pub fn subject(
        self,
        topic: &str,
        is_key: bool,
        record_name: Option<&str>,
    ) -> Result<String, ConvertError> {
        let named = || {
            record_name.ok_or_else(|| {
                ConvertError::new(format!(
                    "{:?} subject name strategy needs a named record schema; this {} has none (use TopicNameStrategy)",
                    self,
                    if is_key { "key" } else { "value" }
                ))
            })
        };
        Ok(match self {
            SubjectStrategy::TopicName => {
                format!("{}-{}", topic, if is_key { "key" } else { "value" })
            }
            SubjectStrategy::RecordName => named()?.to_string(),
            SubjectStrategy::TopicRecordName => format!("{}-{}", topic, named()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        let t = SubjectStrategy::parse(STRATEGY_CLASSES[0]).unwrap();
        assert_eq!(t.subject("orders", false, None).unwrap(), "orders-value");
        assert_eq!(
            t.subject("orders", true, Some("x.K")).unwrap(),
            "orders-key"
        );
        let r = SubjectStrategy::parse("RecordNameStrategy").unwrap();
        assert_eq!(
            r.subject("orders", false, Some("x.Order")).unwrap(),
            "x.Order"
        );
        assert!(r.subject("orders", false, None).is_err());
        let tr = SubjectStrategy::parse(STRATEGY_CLASSES[2]).unwrap();
        assert_eq!(
            tr.subject("o", false, Some("x.Order")).unwrap(),
            "o-x.Order"
        );
        assert_eq!(SubjectStrategy::parse("Nope"), None);
    }
}
