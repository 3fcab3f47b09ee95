//! Id strategies: how a document's `_id` is made (`document.id.strategy`).

use mongodb::bson::{oid::ObjectId, Binary, Bson, Document};

use super::projection::Projection;
use super::simple_name;

/// A record on its way to MongoDB: its key and value as documents, and where it came
/// from (for KafkaMetaData ids and the KafkaMetaAdder).
#[derive(Debug, Clone)]
pub struct SinkDocument {
    /// `None`: no key, or a key that is not a document (then `key_error` says why).
    pub key: Option<Document>,
    pub key_error: Option<String>,
    pub value: Option<Document>,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// (`CreateTime`|`LogAppendTime`, epoch ms).
    pub timestamp: Option<(&'static str, i64)>,
}

impl SinkDocument {
    #[cfg(test)]
    pub fn for_test(key: Option<Document>, value: Option<Document>) -> Self {
        SinkDocument {
            key,
            key_error: None,
            value,
            topic: "t".into(),
            partition: 0,
            offset: 7,
            timestamp: None,
        }
    }

    fn key_doc(&self, strategy: &str) -> Result<&Document, String> {
        self.key.as_ref().ok_or_else(|| match &self.key_error {
            Some(e) => format!("{} needs the key as a document: {}", strategy, e),
            None => format!("{} needs a key, and the record has none", strategy),
        })
    }

    fn value_doc(&self, strategy: &str) -> Result<&Document, String> {
        self.value
            .as_ref()
            .ok_or_else(|| format!("{} needs a value, and the record has none", strategy))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    BsonOid,
    FullKey,
    KafkaMetaData,
    PartialKey,
    PartialValue,
    ProvidedInKey,
    ProvidedInValue,
    Uuid,
}

/// One id strategy, ready to use.
#[derive(Debug, Clone)]
pub enum IdStrategy {
    BsonOid,
    FullKey,
    KafkaMetaData,
    PartialKey(Projection),
    PartialValue(Projection),
    ProvidedInKey,
    ProvidedInValue,
    Uuid { binary: bool },
}

impl IdStrategy {
    pub(crate) fn kind_of(name: &str) -> Result<Kind, String> {
        Ok(match simple_name(name).as_str() {
            "bsonoid" => Kind::BsonOid,
            "fullkey" => Kind::FullKey,
            "kafkametadata" => Kind::KafkaMetaData,
            "partialkey" => Kind::PartialKey,
            "partialvalue" => Kind::PartialValue,
            "providedinkey" => Kind::ProvidedInKey,
            "providedinvalue" => Kind::ProvidedInValue,
            "uuid" => Kind::Uuid,
            _ => {
                return Err(format!(
                    "unknown id strategy {}; known: BsonOidStrategy, FullKeyStrategy, KafkaMetaDataStrategy, PartialKeyStrategy, PartialValueStrategy, ProvidedInKeyStrategy, ProvidedInValueStrategy, UuidStrategy",
                    name
                ))
            }
        })
    }

    /// Builds the strategy named `name` (short or full class name).
    pub fn parse(
        name: &str,
        uuid_format: &str,
        partial_key: Option<Projection>,
        partial_value: Option<Projection>,
    ) -> Result<IdStrategy, String> {
        let missing = |which: &str| {
            format!(
                "{}Strategy needs a projection: set {}.projection.type (AllowList or BlockList) and .list, or document.id.strategy.partial.{}.projection.type and .list",
                which,
                which.to_ascii_lowercase().replace("partial", ""),
                which.to_ascii_lowercase().replace("partial", "")
            )
        };
        Ok(match Self::kind_of(name)? {
            Kind::BsonOid => IdStrategy::BsonOid,
            Kind::FullKey => IdStrategy::FullKey,
            Kind::KafkaMetaData => IdStrategy::KafkaMetaData,
            Kind::PartialKey => {
                IdStrategy::PartialKey(partial_key.ok_or_else(|| missing("PartialKey"))?)
            }
            Kind::PartialValue => {
                IdStrategy::PartialValue(partial_value.ok_or_else(|| missing("PartialValue"))?)
            }
            Kind::ProvidedInKey => IdStrategy::ProvidedInKey,
            Kind::ProvidedInValue => IdStrategy::ProvidedInValue,
            Kind::Uuid => IdStrategy::Uuid {
                binary: uuid_format.trim().eq_ignore_ascii_case("binary"),
            },
        })
    }

    /// The strategy's simple class name.
    pub fn name(&self) -> &'static str {
        match self {
            IdStrategy::BsonOid => "BsonOidStrategy",
            IdStrategy::FullKey => "FullKeyStrategy",
            IdStrategy::KafkaMetaData => "KafkaMetaDataStrategy",
            IdStrategy::PartialKey(_) => "PartialKeyStrategy",
            IdStrategy::PartialValue(_) => "PartialValueStrategy",
            IdStrategy::ProvidedInKey => "ProvidedInKeyStrategy",
            IdStrategy::ProvidedInValue => "ProvidedInValueStrategy",
            IdStrategy::Uuid { .. } => "UuidStrategy",
        }
    }

    /// Is the id derived from the key alone (so a tombstone can name the document)?
    pub fn is_key_based(&self) -> bool {
        matches!(
            self,
            IdStrategy::FullKey | IdStrategy::PartialKey(_) | IdStrategy::ProvidedInKey
        )
    }

    /// Does the id hold business key fields (for the business key write models)?
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            IdStrategy::PartialKey(_) | IdStrategy::PartialValue(_)
        )
    }

    /// A partial strategy needs a non-empty field list.
    pub fn check_projection(&self) -> Result<(), String> {
        match self {
            IdStrategy::PartialKey(p) | IdStrategy::PartialValue(p) if p.is_empty() => {
                Err(format!("{} needs a non-empty projection list", self.name()))
            }
            _ => Ok(()),
        }
    }

    /// Makes the `_id` for a record.
    pub fn generate(&self, doc: &SinkDocument) -> Result<Bson, String> {
        let name = self.name();
        Ok(match self {
            IdStrategy::BsonOid => Bson::ObjectId(ObjectId::new()),
            IdStrategy::FullKey => Bson::Document(doc.key_doc(name)?.clone()),
            IdStrategy::KafkaMetaData => {
                Bson::String(format!("{}#{}#{}", doc.topic, doc.partition, doc.offset))
            }
            IdStrategy::PartialKey(p) => {
                let mut k = doc.key_doc(name)?.clone();
                p.apply_with(&mut k, false);
                Bson::Document(k)
            }
            IdStrategy::PartialValue(p) => {
                let mut v = doc.value_doc(name)?.clone();
                v.remove("_id");
                p.apply_with(&mut v, false);
                Bson::Document(v)
            }
            IdStrategy::ProvidedInKey => doc
                .key_doc(name)?
                .get("_id")
                .cloned()
                .ok_or_else(|| "ProvidedInKeyStrategy: the key has no _id field".to_string())?,
            IdStrategy::ProvidedInValue => {
                doc.value_doc(name)?.get("_id").cloned().ok_or_else(|| {
                    "ProvidedInValueStrategy: the value has no _id field".to_string()
                })?
            }
            IdStrategy::Uuid { binary } => {
                let u = mongodb::bson::Uuid::new();
                if *binary {
                    Bson::Binary(Binary::from_uuid(u))
                } else {
                    Bson::String(u.to_string())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mongodb::projection::ProjectionType;
    use mongodb::bson::doc;

    #[test]
    fn each_strategy_makes_its_id() {
        let sd = SinkDocument::for_test(
            Some(doc! {"_id": "k1", "a": 1, "b": 2}),
            Some(doc! {"_id": 9, "x": 1, "y": 2}),
        );
        let p = |l: &str| Projection::new(ProjectionType::AllowList, l);
        let gen = |s: IdStrategy| s.generate(&sd).unwrap();
        assert!(matches!(gen(IdStrategy::BsonOid), Bson::ObjectId(_)));
        assert_eq!(
            gen(IdStrategy::FullKey),
            Bson::Document(doc! {"_id": "k1", "a": 1, "b": 2})
        );
        assert_eq!(gen(IdStrategy::KafkaMetaData), Bson::String("t#0#7".into()));
        assert_eq!(
            gen(IdStrategy::PartialKey(p("a"))),
            Bson::Document(doc! {"a": 1})
        );
        assert_eq!(
            gen(IdStrategy::PartialValue(p("y"))),
            Bson::Document(doc! {"y": 2})
        );
        assert_eq!(gen(IdStrategy::ProvidedInKey), Bson::String("k1".into()));
        assert_eq!(gen(IdStrategy::ProvidedInValue), Bson::Int32(9));
        match gen(IdStrategy::Uuid { binary: false }) {
            Bson::String(s) => assert_eq!(s.len(), 36),
            other => panic!("{:?}", other),
        }
        assert!(matches!(
            gen(IdStrategy::Uuid { binary: true }),
            Bson::Binary(_)
        ));
        let nokey = SinkDocument::for_test(None, Some(doc! {}));
        assert!(IdStrategy::FullKey.generate(&nokey).is_err());
        assert!(IdStrategy::ProvidedInValue.generate(&nokey).is_err());
    }
}
